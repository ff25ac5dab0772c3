"""Pickle scan results with each rule written as an index into a shared list of rules, so that
findings cross process and file boundaries without copying their rule."""

from __future__ import annotations

import io
import pickle
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

    def dumps(self, value: object) -> bytes:
        buffer = io.BytesIO()
        _Pickler(buffer, self).dump(value)
        return buffer.getvalue()

    def loads(self, data: bytes) -> Any:
        return _Unpickler(io.BytesIO(data), self.rules).load()


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, index: RuleIndex) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._index = index

    def persistent_id(self, obj: object) -> int | None:
        return self._index.position(obj) if type(obj) is Rule else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, rules: list[Rule]) -> None:
        super().__init__(file)
        self._rules = rules

    def persistent_load(self, pid: Any) -> Rule:
        return self._rules[int(pid)]
