"""Field paths into raw object data, and conditions on the values found there.

A path is dotted (``securityContext.capabilities.add``) with four extras: ``*`` walks every item of
a list (or value of a mapping), a number picks one list item, ``a|b`` tries several keys
(``livenessProbe|readinessProbe``), and ``["a.b/c"]`` or ``['a.b/c']`` is one key holding
dots. Selecting a path yields each value found, or, where the path stops early, the pointer of
the missing field, so that a ``required`` condition can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache, cached_property
from typing import Any, ClassVar, Literal, get_args

from kscan.checks.base import yaml_value
from kscan.checks.conditions import Conditions, Test, is_empty, regular_expression
from kscan.input.documents import Pointer
from kscan.model.taxonomy import Severity
from kscan.support.declared import field_validator
from kscan.support.disclosure import KEY_NOT_SHOWN, shown, shown_key
from kscan.support.values import Record

MISSING = object()
"""The value of a field that is not there."""
_MEMO_SIZE = 4096
"""Values whose verdict a condition remembers (``Condition.meets``), at most."""
_MEMO_TEXT = 256
"""Longer strings are judged each time, not remembered."""


class Match(Record):
    """One place a path leads to: its pointer and its value (``MISSING`` when absent)."""

    pointer: Pointer
    value: Any
    base_length: int = 0
    """How many leading parts of ``pointer`` lead to the data the path was walked in."""
    walked: Pointer | None = None
    """The path within that data, when ``pointer`` was located elsewhere (a LayeredPod)."""

    @property
    def present(self) -> bool:
        return self.value is not MISSING

    @property
    def relative(self) -> Pointer:
        """The pointer within the data the path was walked in (for messages)."""
        return self.walked if self.walked is not None else self.pointer[self.base_length :]


_QUOTED = re.compile(r"""\["([^"]+)"\]|\['([^']+)'\]""")
_PLAIN = re.compile(r"""[^.\[\]'"|]+(?:\|[^.\[\]'"|]+)*""")


class PathError(ValueError):
    """A field path that does not follow the grammar, with the 1-based character it fails at."""

    def __init__(self, path: str, position: int, problem: str) -> None:
        super().__init__(f"'{path}' is not a field path: {problem} at character {position + 1}")
        self.position = position + 1


@cache
def parse_path(path: str) -> tuple[tuple[str, ...], ...]:
    """``a.b|c.*.0`` -> ``(("a",), ("b", "c"), ("*",), ("0",))``; a key holding dots is quoted
    in brackets: ``metadata.labels["pod-security.kubernetes.io/enforce"]``. Every character
    belongs to a segment: a plain key (alternatives joined by ``|``), or a quoted one in
    brackets, after a plain key, a ``.`` or at the start; anything else raises ``PathError``."""
    segments: list[tuple[str, ...]] = []
    position = 0
    while True:
        quoted = _QUOTED.match(path, position)
        plain = None if quoted else _PLAIN.match(path, position)
        if quoted:
            segments.append((quoted.group(1) or quoted.group(2),))
            position = quoted.end()
        elif plain:
            segments.append(tuple(plain.group().split("|")))
            position = plain.end()
        elif path.startswith(("[", "'", '"'), position):
            raise PathError(path, position, "a bracket that is not a whole [\"key\"] or ['key']")
        else:
            raise PathError(path, position, "a key expected")
        while position < len(path) and path[position] == "[":
            quoted = _QUOTED.match(path, position)
            if not quoted:
                raise PathError(
                    path, position, "a bracket that is not a whole [\"key\"] or ['key']"
                )
            segments.append((quoted.group(1) or quoted.group(2),))
            position = quoted.end()
        if position == len(path):
            return tuple(segments)
        if path[position] != ".":
            raise PathError(path, position, "'.' or '[' expected")
        position += 1


def select(
    data: Any,
    path: str,
    base: Pointer = (),
    key_pattern: str | None = None,
    locate: Callable[[Pointer], Pointer] | None = None,
) -> Iterator[Match]:
    """Every match of ``path`` in ``data``, at ``base``; ``key_pattern`` filters the keys a
    ``*`` walks. ``locate`` turns a relative pointer into where it is written, for data
    gathered from several places (a LayeredPod)."""
    names = plain_names(path)
    keys = re.compile(key_pattern) if key_pattern else None
    if locate is None:
        if names is not None:  # the common case, without wildcards or alternatives
            yield lookup(data, names, base)
        else:
            yield from _walk(data, parse_path(path), base, keys, len(base))
        return
    found = (
        [lookup(data, names, ())]
        if names is not None
        else _walk(data, parse_path(path), (), keys, 0)
    )
    for match in found:
        yield Match(locate(match.pointer), match.value, walked=match.pointer)


@cache
def plain_names(path: str) -> tuple[str, ...] | None:
    """The keys of a path without wildcards, alternatives or indexes (None for any other)."""
    segments = parse_path(path)
    if any(len(names) > 1 or names[0] == "*" or names[0].isdigit() for names in segments):
        return None
    return tuple(names[0] for names in segments)


def value_of(data: Any, names: tuple[str, ...]) -> Any:
    """The value at the plain path ``names`` in ``data`` (``MISSING`` where it stops)."""
    for name in names:
        if not isinstance(data, dict) or name not in data:
            return MISSING
        data = data[name]
    return data


def lookup(data: Any, names: tuple[str, ...], base: Pointer) -> Match:
    """The match of the plain path ``names`` in ``data``, at ``base``."""
    return Match((*base, *names), value_of(data, names), len(base))


def reached(
    data: Any, segments: tuple[tuple[str, ...], ...], keys: re.Pattern[str] | None
) -> tuple[list[Any], bool]:
    """The values ``_walk`` would match, without their pointers, and whether it would match a
    missing field too: one pass per segment, no generators (for judging, not reporting)."""
    values = [data]
    missing = False
    for depth, head in enumerate(segments):
        found: list[Any] = []
        if head == ("*",):
            for item in values:
                if isinstance(item, list):
                    found += item
                elif isinstance(item, dict):
                    found += (v for k, v in item.items() if keys is None or keys.search(str(k)))
        else:
            stops = len(head) == 1 and not any("*" in segment for segment in segments[depth + 1 :])
            for item in values:
                hit = False
                for name in head:
                    if isinstance(item, dict) and name in item:
                        hit = True
                        found.append(item[name])
                    elif isinstance(item, list) and name.isdigit() and int(name) < len(item):
                        hit = True
                        found.append(item[int(name)])
                missing = missing or (stops and not hit)
        values = found
    return values, missing


def _walk(
    data: Any, segments: tuple[tuple[str, ...], ...], pointer: Pointer, keys: Any, base: int
) -> Iterator[Match]:
    if not segments:
        yield Match(pointer, data, base)
        return
    head, rest = segments[0], segments[1:]
    if head == ("*",):
        if isinstance(data, list):
            for index, item in enumerate(data):
                yield from _walk(item, rest, (*pointer, index), keys, base)
        elif isinstance(data, dict):
            for key, item in data.items():
                if keys is None or keys.search(str(key)):
                    yield from _walk(item, rest, (*pointer, key), keys, base)
        return
    found = False
    for name in head:
        if isinstance(data, dict) and name in data:
            found = True
            yield from _walk(data[name], rest, (*pointer, name), keys, base)
        elif isinstance(data, list) and name.isdigit() and int(name) < len(data):
            found = True
            yield from _walk(data[int(name)], rest, (*pointer, int(name)), keys, base)
    if not found and len(head) == 1 and "*" not in (part for segment in rest for part in segment):
        yield Match((*pointer, head[0], *(segment[0] for segment in rest)), MISSING, base)


FIELD_TESTS: frozenset[Test] = frozenset(get_args(Test)) - {
    "contains",
    "not-contains",
    "must-include",
}
"""Field values are single values: the tests of item lists do not apply."""


class Condition(Conditions):
    """What the value at ``path`` must (not) be, in the condition language of ``conditions``;
    the first condition a target fails is reported."""

    tests: ClassVar[frozenset[Test]] = FIELD_TESTS

    path: str
    """A field path relative to the target: keys joined by dots, ``*`` for every item of a list
    or map, ``a|b`` for either key, a number for a list index, ``["a.b"]`` for a key holding
    dots."""
    key_pattern: str | None = None
    """Only the map keys this regular expression matches are walked by a ``*``."""
    inherit: bool = False
    """Container target only: a container that does not set the path takes its pod spec's value."""
    overridden: Literal["report", "info"] = "report"
    """With ``inherit``: how a bad pod-level value that every container of the pod overrides is
    reported: as any other (``report``: Pod Security admission rejects the pod-level value
    itself), or at ``info`` level (only containers added later, such as ephemeral debug
    containers, would inherit it)."""
    severity: Severity | None = None
    """The severity of findings from this condition (unset: the rule's)."""

    @field_validator("path")
    @classmethod
    def _parses(cls, value: str) -> str:
        parse_path(value)  # raises PathError, which names the character it fails at
        return value

    @field_validator("key_pattern")
    @classmethod
    def _key_pattern_compiles(cls, value: str | None) -> str | None:
        return regular_expression(value)

    def met_by(self, data: Any) -> bool:
        """Whether every match of the path in ``data`` (``select``'s) meets this condition,
        judged without building the matches."""
        names = self.plain
        if names is not None:
            return self.meets(value_of(data, names))
        spread = self.spread
        if spread is not None:
            return self._met_by_spread(data, *spread)
        values, missing = reached(data, parse_path(self.path), self._keys)
        return not (missing and not self.meets(MISSING)) and all(map(self.meets, values))

    @cached_property
    def spread(self) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """The keys before and after the one ``*`` of a path that has no other wildcard,
        alternative or index (``volumes.*.hostPath.path``); None for any other path."""
        segments = parse_path(self.path)
        if segments.count(("*",)) != 1:
            return None
        at = segments.index(("*",))
        others = segments[:at] + segments[at + 1 :]
        if any(len(names) > 1 or names[0].isdigit() for names in others):
            return None
        return tuple(names[0] for names in segments[:at]), tuple(names[0] for names in others[at:])

    def _met_by_spread(self, data: Any, before: tuple[str, ...], after: tuple[str, ...]) -> bool:
        """``met_by`` for a ``spread`` path, as ``reached`` walks it: the items of the list or
        map at ``before`` (map keys filtered by ``key_pattern``), each followed down ``after``;
        an item lacking ``after`` is a missing field."""
        items = value_of(data, before)
        if isinstance(items, list):
            found: Iterable[Any] = items
        elif isinstance(items, dict):
            keys = self._keys
            found = (
                items.values()
                if keys is None
                else [value for key, value in items.items() if keys.search(str(key))]
            )
        else:
            return True
        if not after:
            return all(map(self.meets, found))
        meets = self.meets
        return all(meets(value_of(item, after)) for item in found)

    @cached_property
    def _keys(self) -> re.Pattern[str] | None:
        return re.compile(self.key_pattern) if self.key_pattern else None

    def meets(self, value: Any) -> bool:
        """Whether a value (``MISSING`` when absent) meets this condition: ``problem`` is None
        for it. A scalar's answer is remembered (bounded), since targets repeat values."""
        if value is MISSING or is_empty(value):
            return not self.required
        if not isinstance(value, (str, int, float)) or (
            isinstance(value, str) and len(value) > _MEMO_TEXT
        ):
            return self.failed(value) is None
        memo = self._memo_meets
        key = (type(value), value)  # typed: true is not 1
        known = memo.get(key)
        if known is None:
            known = self.failed(value) is None
            if len(memo) < _MEMO_SIZE:
                memo[key] = known
        return known

    @cached_property
    def _memo_meets(self) -> dict[tuple[type, Any], bool]:
        return {}

    @cached_property
    def plain(self) -> tuple[str, ...] | None:
        """The keys of the path when it is a plain one (``plain_names``)."""
        return plain_names(self.path)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the memo of ``meets`` (rules are pickled for the cache and workers)."""
        return {key: value for key, value in self.__dict__.items() if key != "_memo_meets"}

    def problem(self, match: Match) -> str | None:
        """Why the value at ``match`` fails this condition (``is not set``, ``is 0``), or None."""
        value = match.value
        if value is MISSING or is_empty(value):
            return "is not set" if self.required else None
        failed = self.failed(value)
        if failed is None:
            return None
        return "is set" if failed == "absent" else f"is {shown(match.value, match.pointer)}"

    @cached_property
    def expectation(self) -> str:
        """``; expected true`` or empty (worked out once per condition)."""
        if self.allowed:
            return "; expected " + " or ".join(yaml_value(v) for v in self.allowed)
        if self.minimum is not None:
            return f"; expected at least {self.minimum:g}"
        if self.maximum is not None:
            return f"; expected at most {self.maximum:g}"
        return ""


def dotted(pointer: Pointer) -> str:
    """``("ports", 0, "hostPort")`` -> ``ports[0].hostPort``; a key holding dots is quoted as
    in paths: ``data[".dockerconfigjson"]``. Short ones are remembered (bounded; a text that
    shows every key holds nothing long): messages repeat fields."""
    key = (pointer, tuple(map(type, pointer)))  # typed: the key True is not the index 1
    text = _DOTTED.get(key)
    if text is None:
        text = _dotted(pointer)
        short = len(text) <= _MEMO_TEXT and KEY_NOT_SHOWN not in text
        if short and len(_DOTTED) < _MEMO_SIZE:
            _DOTTED[key] = text
    return text


_DOTTED: dict[tuple[Pointer, tuple[type, ...]], str] = {}


def _dotted(pointer: Pointer) -> str:
    text = ""
    for part in (shown_key(part) if isinstance(part, str) else part for part in pointer):
        if isinstance(part, int):
            text += f"[{part}]"
        elif "." in part or "/" in part:
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else part
    return text
