"""One condition language for field values, command-line flags and capability lists.

A condition's tests mean the same in every template that takes them:

- ``required``: the value must be set (``null``, ``""``, ``[]`` and ``{}`` count as not set);
- ``absent``: the value must not be set;
- ``allowed`` / ``forbidden``: the value must (not) be one of these;
- ``minimum`` / ``maximum``: a number must not be below / above this;
- ``pattern`` / ``forbidden-pattern``: a string must (not) match this regular expression;
- ``contains`` / ``not-contains``: the value's items must (not) include this one;
- ``must-include``: the value's items must include each of these (``ALL`` includes any);
- ``allowed-items``: each of the value's items must be one of these (a list with an item
  outside them fails, an empty one passes).

What differs between templates is how values are *spelled*, which a ``Spelling`` decides: what
the program that consumes a value reads (``forbidden`` compares that, so that no spelling the
consumer accepts slips through), what a policy admits as written (``allowed`` compares that),
and how the items of a list are compared (``contains``, ``not-contains``, ``must-include``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar, Literal, get_args

from kscan.checks.base import Params
from kscan.support.declared import field_validator, model_validator
from kscan.support.values import dataclass

Test = Literal[
    "required",
    "absent",
    "allowed",
    "forbidden",
    "minimum",
    "maximum",
    "pattern",
    "forbidden-pattern",
    "contains",
    "not-contains",
    "must-include",
    "allowed-items",
]


@dataclass(frozen=True)
class Spelling:
    """How the values a condition compares are written and read."""

    name: str
    read: Callable[[Any], Any]
    """The value as its consumer reads it."""
    admitted: Callable[[Any], Any]
    """The value as a policy compares it."""
    item: Callable[[Any], Any]
    """An item of a list value, as compared with the items a condition names."""
    number: Callable[[Any], float | None]
    """The value as a number (None: not a number)."""
    items: Callable[[Any], list[Any]]
    """The items of a list value."""
    not_a_number_fails: bool = False
    """Whether ``minimum``/``maximum`` reject a value that is not a number."""


def _same_type_and_value(value: Any) -> Any:
    """Compared with its type, so that ``runAsUser: 1`` is not ``true`` (``True == 1``)."""
    return (type(value), value) if isinstance(value, (bool, int, float, str)) else value


def _json_number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _list_items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


EXACT = Spelling(
    "exact",
    _same_type_and_value,
    _same_type_and_value,
    _same_type_and_value,
    _json_number,
    _list_items,
)
"""Field values as the API server decodes them: typed JSON values, compared exactly."""

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
"""The spellings ``strconv.ParseBool`` accepts."""
_GO_INTEGER = re.compile(r"[+-]?[0-9]+")
"""What ``strconv.ParseInt(value, 10, ...)`` reads (ASCII digits only)."""


def go_flag_item(value: Any) -> str:
    """A flag value or list item as Go programs read it: booleans as ``strconv.ParseBool``
    does (``1``, ``t``, ``TRUE`` are ``true``; ``0``, ``f`` are ``false``), also in
    ``Key=value`` items (``--feature-gates``); other words as written (``Node``, ``RBAC``)."""
    key, equals, setting = str(value).rpartition("=")
    if setting in _GO_TRUE or setting in _GO_FALSE:
        setting = "true" if setting in _GO_TRUE else "false"
    return f"{key}{equals}{setting}"


def go_flag_value(value: Any) -> str:
    """A whole flag value, compared without regard to case (``AlwaysAllow``, ``alwaysallow``)."""
    return go_flag_item(value).lower()


def _flag_number(value: Any) -> float | None:
    return int(value) if isinstance(value, str) and _GO_INTEGER.fullmatch(value) else None


def _comma_items(value: Any) -> list[Any]:
    return [item.strip() for item in str(value).split(",")]


GO_FLAG = Spelling(
    "go-flag",
    go_flag_value,
    go_flag_value,
    go_flag_item,
    _flag_number,
    _comma_items,
    not_a_number_fails=True,
)
"""Command-line flag values of Kubernetes components (Go programs): strings, comma lists."""


def normalize_capability(name: Any) -> str:
    """Container runtimes accept ``sys_admin`` and ``CAP_SYS_ADMIN`` for ``SYS_ADMIN``."""
    upper = str(name).upper()
    return upper[4:] if upper.startswith("CAP_") else upper


CAPABILITY = Spelling(
    "capability",
    normalize_capability,
    lambda name: name,
    lambda name: name,
    lambda name: None,
    _list_items,
)
"""Linux capability names: the runtime reads any case, with or without ``CAP_``; Pod Security
admission compares the exact spelling (``NET_BIND_SERVICE``, ``ALL``)."""


def runtime_dropped_capability(name: Any) -> str:
    """A name in ``capabilities.drop`` as every CRI runtime drops it: upper-cased (containerd and
    CRI-O compare ``ALL`` without regard to case and upper-case the other names), but with a
    ``CAP_`` prefix kept, since containerd prepends ``CAP_`` unconditionally (``CAP_NET_RAW``
    becomes ``CAP_CAP_NET_RAW`` there, which drops nothing)."""
    return str(name).upper()


CAPABILITY_AT_RUNTIME = Spelling(
    "capability-at-runtime",
    normalize_capability,
    lambda name: name,
    runtime_dropped_capability,
    lambda name: None,
    _list_items,
)
"""Linux capability names as the container runtime applies a ``drop`` list, for the rules that
are about what a running container holds rather than what Pod Security admission accepts."""


class Conditions(Params):
    """The tests of one condition (see the module docstring). A template's params declare the
    tests they take in ``tests``; any other is refused when the rule loads."""

    tests: ClassVar[frozenset[Test]] = frozenset()
    spelling: ClassVar[Spelling] = EXACT

    required: bool = False
    """The value must be set (``null``, ``""``, ``[]`` and ``{}`` count as unset)."""
    absent: bool = False
    """The value must not be set."""
    allowed: list[Any] | None = None
    """A set value must be one of these, as a policy compares them (``1`` is not ``true``)."""
    forbidden: list[Any] | None = None
    """A set value must not be one of these, in any spelling its consumer reads as one."""
    minimum: int | float | None = None
    """A set number must be at least this."""
    maximum: int | float | None = None
    """A set number must be at most this."""
    pattern: str | None = None
    """A set value must be a string this regular expression finds a match in."""
    forbidden_pattern: str | None = None
    """A set string must not contain a match of this regular expression."""
    contains: str | None = None
    """An item the value's list (a comma list for flags) must hold."""
    not_contains: str | None = None
    """An item the value's list must not hold."""
    must_include: list[str] | None = None
    """Items the value's list must all hold (``ALL`` holds every one)."""
    allowed_items: list[str] | None = None
    """Items the value's list may hold: any other item fails."""

    @field_validator("pattern", "forbidden_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return regular_expression(value)

    @model_validator(mode="after")
    def _tests_taken(self) -> Conditions:
        given = self.given_tests()
        refused = sorted(given - self.tests)
        if refused:
            raise ValueError(f"this template does not take {', '.join(refused)}")
        if not given:
            raise ValueError(f"a condition needs at least one test ({', '.join(self._listed())})")
        return self

    def _listed(self) -> list[str]:
        return [test for test in get_args(Test) if test in self.tests]

    def given_tests(self) -> frozenset[Test]:
        """The tests this condition makes."""
        return frozenset(
            test
            for test in get_args(Test)
            if getattr(self, test.replace("-", "_")) not in _NOT_GIVEN
        )

    def reading(self) -> Spelling:
        """The spelling this condition compares with (the template's, unless its params let a
        rule choose another)."""
        return self.spelling

    def failed(self, value: Any) -> Test | None:
        """The first test that a value which is set fails, or None (``required`` is left to
        the caller, which knows whether the value is set)."""
        spelling = self.reading()
        if self.absent:
            return "absent"
        if self.forbidden is not None and spelling.read(value) in self._forbidden_read:
            return "forbidden"
        if self.allowed is not None and spelling.admitted(value) not in self._allowed_admitted:
            return "allowed"
        if self.minimum is not None or self.maximum is not None:
            number = spelling.number(value)
            if number is None and spelling.not_a_number_fails:
                return "minimum" if self.minimum is not None else "maximum"
            if self.minimum is not None and number is not None and number < self.minimum:
                return "minimum"
            if self.maximum is not None and number is not None and number > self.maximum:
                return "maximum"
        text = value if isinstance(value, str) else None
        if self.pattern is not None and not (text is not None and re.search(self.pattern, text)):
            return "pattern"
        forbidden_pattern = self.forbidden_pattern
        if (
            forbidden_pattern is not None
            and text is not None
            and re.search(forbidden_pattern, text)
        ):
            return "forbidden-pattern"
        if self.contains is not None or self.not_contains is not None:
            items = [spelling.item(item) for item in spelling.items(value)]
            if self.contains is not None and spelling.item(self.contains) not in items:
                return "contains"
            if self.not_contains is not None and spelling.item(self.not_contains) in items:
                return "not-contains"
        if self.missing(value):
            return "must-include"
        if self.outside(value):
            return "allowed-items"
        return None

    @cached_property
    def _forbidden_read(self) -> list[Any]:
        """The ``forbidden`` values as their consumer reads them (computed once, not per value)."""
        return [self.reading().read(option) for option in self.forbidden or ()]

    @cached_property
    def _allowed_admitted(self) -> list[Any]:
        """The ``allowed`` values as a policy compares them."""
        return [self.reading().admitted(option) for option in self.allowed or ()]

    def missing(self, value: Any) -> list[str]:
        """The ``must-include`` items that the value's items lack (none when they hold ``ALL``)."""
        if not self.must_include:
            return []
        spelling = self.reading()
        written = [spelling.item(item) for item in spelling.items(value)]
        if "ALL" in written:
            return []
        return [name for name in self.must_include if spelling.item(name) not in written]

    def outside(self, value: Any) -> list[int]:
        """The positions (from 0) of the value's items that ``allowed-items`` does not list."""
        if self.allowed_items is None:
            return []
        allowed = {self.spelling.item(item) for item in self.allowed_items}
        return [
            index
            for index, item in enumerate(self.spelling.items(value))
            if self.spelling.item(item) not in allowed
        ]


class _NotGiven:
    """The values that mean a test is not made (identity, not equality: ``maximum: 0`` is)."""

    def __contains__(self, value: Any) -> bool:
        return value is None or value is False


_NOT_GIVEN = _NotGiven()


def regular_expression(value: str | None) -> str | None:
    """A param that must be a regular expression (None: not given)."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
    return value


def is_empty(value: Any) -> bool:
    """``null``, ``""``, ``[]`` and ``{}`` say nothing: they count as not set."""
    return value is None or (isinstance(value, (str, list, dict)) and not value)
