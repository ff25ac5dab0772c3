"""Pickle scan results with each rule written as an index into a shared list of rules, so that
findings cross process and file boundaries without copying their rule."""

from __future__ import annotations

import copyreg
import io
import pickle
from collections.abc import Callable
from typing import Any

from kscan.rules.registry import Rule


class RuleIndex:
    """Rules by position; a rule not listed yet is appended when first pickled."""

    def __init__(self, rules: list[Rule] | None = None) -> None:
        self.rules: list[Rule] = list(rules or [])
        self._positions = {id(rule): index for index, rule in enumerate(self.rules)}

    def position(self, rule: Rule) -> int:
        key = id(rule)
        if key not in self._positions:
            self._positions[key] = len(self.rules)
            self.rules.append(rule)
        return self._positions[key]

    def reduce(self, rule: Rule) -> tuple[Callable[[int], Rule], tuple[int]]:
        """How a rule is pickled: as its position."""
        return _rule_at, (self.position(rule),)

    def dumps(self, value: object) -> bytes:
        buffer = io.BytesIO()
        _Pickler(buffer, self).dump(value)
        return buffer.getvalue()

    def loads(self, data: bytes) -> Any:
        return _Unpickler(io.BytesIO(data), self.rules).load()


def _rule_at(position: int) -> Rule:
    """How a pickle names a rule: ``_rule_at(position)``. ``RuleIndex.loads`` resolves the name
    to its own list of rules; any other unpickler gets this, which refuses."""
    raise pickle.UnpicklingError(f"rule {position} read outside RuleIndex.loads")


class _Pickler(pickle.Pickler):
    """Rules become ``_rule_at(position)``; every other object is pickled as usual. A dispatch
    table entry, not ``persistent_id``: only rules cost a Python call, not every object."""

    def __init__(self, file: io.BytesIO, index: RuleIndex) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = {**copyreg.dispatch_table, Rule: index.reduce}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, rules: list[Rule]) -> None:
        super().__init__(file)
        self._rules = rules

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == _rule_at.__name__:
            return self._rules.__getitem__
        return super().find_class(module, name)
