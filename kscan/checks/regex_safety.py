"""Refuse regular expressions that Python's backtracking engine can run in super-linear time.

Rule files and configurations supply patterns that kscan applies to manifest text with
``re.search``; a hostile or careless pattern must not let one long value stall a scan. The
check walks the pattern's syntax tree (the standard library's parser) and rejects:

- backreferences and conditionals (matching them is not linear in general);
- two unbounded repeats that can match the same text with nothing between them that only one
  of them can match (``\\s*\\S*\\s*``, ``.*x.*``, ``a+a+``): the engine tries every split;
- repeats nested under a repeat that can hand the same text from one iteration to the next
  (``(a+)+``, ``(\\w+\\s?)*``, ``(a{1,2})+``), and alternatives under an unbounded repeat that
  can start with the same character (``(a|aa)+``);
- lookarounds holding an unbounded repeat, except a lookahead evaluated once, at the start of
  an anchored pattern (``^(?!.*@)``);
- unanchored patterns whose search, retried at every start position, can scan the same text
  again from each of them (``[a-z]+=``), unless the repeat ends the pattern (it then matches).

Character sets are compared on a sample of characters (ASCII, Latin-1, a few of each Unicode
category, and every literal of the pattern), which is exact for ASCII patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from kscan.support.values import dataclass

try:  # Python 3.11+
    from re import _constants as _sre  # type: ignore[attr-defined]
    from re import _parser as _syntax  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _sre
    import sre_parse as _syntax

_MAXREPEAT = _sre.MAXREPEAT
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)}
_GROUPS = {getattr(_sre, "ATOMIC_GROUP", None)}
_SAMPLE = "".join(map(chr, range(256))) + "\u0660\u0969\u0436\u4e2d\u2003\u3000\u2028\U0001f600"
"""Characters tried against each set: Latin-1, and Unicode digits, letters and spaces."""
_CATEGORIES: dict[Any, Callable[[str], bool]] = {
    _sre.CATEGORY_DIGIT: str.isdecimal,
    _sre.CATEGORY_SPACE: str.isspace,
    _sre.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    _sre.CATEGORY_LINEBREAK: lambda c: c == "\n",
}
_NEGATED = {
    _sre.CATEGORY_NOT_DIGIT: _sre.CATEGORY_DIGIT,
    _sre.CATEGORY_NOT_SPACE: _sre.CATEGORY_SPACE,
    _sre.CATEGORY_NOT_WORD: _sre.CATEGORY_WORD,
    _sre.CATEGORY_NOT_LINEBREAK: _sre.CATEGORY_LINEBREAK,
}

_WIDE = 16
"""A repeat whose count may vary more than this backtracks like an unbounded one
(``(a{1,100}){1,100}`` is as bad as ``(a+)+``)."""

Chars = frozenset[str]


class _Unsafe(Exception):
    """A construct that can backtrack super-linearly; the message says which."""


@dataclass(frozen=True)
class _Edge:
    """A repeat that can begin (or end) what a node matches: its characters, the characters
    of the required items between it and the node's edge, and whether it is unbounded."""

    chars: Chars
    between: tuple[Chars, ...]
    unbounded: bool


@dataclass(frozen=True)
class _Node:
    """What the check needs to know of a node of the syntax tree."""

    nullable: bool
    chars: Chars
    first: Chars
    unbounded: bool = False
    leads: tuple[_Edge, ...] = ()
    trails: tuple[_Edge, ...] = ()


_EMPTY = _Node(True, frozenset(), frozenset())


def require_linear(pattern: str | None) -> str | None:
    """A validator: the pattern, or ValueError saying why it can backtrack super-linearly."""
    if pattern is not None:
        problem = linear_problem(pattern)
        if problem is not None:
            raise ValueError(
                f"regular expression {pattern!r} can take super-linear time: {problem}"
            )
    return pattern


@cache
def linear_problem(pattern: str) -> str | None:
    """Why ``re.search(pattern, text)`` can take super-linear time in ``len(text)``, or None.
    A pattern that does not compile is not judged here (None)."""
    try:
        parsed = _syntax.parse(pattern)
    except re.error:
        return None
    sample = frozenset(_SAMPLE + "".join(chr(v) for v in _literals(parsed)))
    try:
        _Walker(sample).top(list(parsed), parsed.state.flags)
    except _Unsafe as exc:
        return str(exc)
    return None


def _literals(items: Any) -> list[int]:
    """Every literal code point of a parsed pattern (range ends too), so the sample holds them."""
    found = []
    for op, av in items:
        if op in (_sre.LITERAL, _sre.NOT_LITERAL):
            found.append(av)
        elif op is _sre.RANGE:
            found += av
        elif op is _sre.IN:
            found += _literals(av)
        else:
            for child in _children(op, av):
                found += _literals(child)
    return found


def _children(op: Any, av: Any) -> list[Any]:
    """The item lists inside a node of the syntax tree."""
    if op in _REPEATS:
        return [av[2]]
    if op is _sre.SUBPATTERN:
        return [av[3]]
    if op is _sre.BRANCH:
        return list(av[1])
    if op in (_sre.ASSERT, _sre.ASSERT_NOT):
        return [av[1]]
    if op in _GROUPS:
        return [av]
    return []


class _Walker:
    def __init__(self, sample: Chars) -> None:
        self.sample = sample

    def top(self, items: list[Any], flags: int) -> None:
        anchored = _anchored(items, flags)
        node = self.sequence(items, flags, looped=False, top=anchored)
        if anchored:
            return
        if items and items[-1][0] in _REPEATS:  # a repeat that ends the pattern: once it has
            op, (low, _high, body) = items[-1]  # its minimum, the search has its match
            node = self.sequence([*items[:-1], (op, (low, low, body))], flags, looped=False)
        if any(lead.unbounded for lead in node.leads):
            raise _Unsafe(
                "an unbounded repeat that a search, retried at every start position, can scan "
                "again from each of them (anchor the pattern with ^, or bound the repeat)"
            )

    def sequence(self, items: list[Any], flags: int, looped: bool, top: bool = False) -> _Node:
        parts = []
        at_start = top
        for op, av in items:
            parts.append(self.node(op, av, flags, looped, at_start))
            at_start = at_start and op is _sre.AT
        for i, left in enumerate(parts):
            middle: list[Chars] = []
            for right in parts[i + 1 :]:
                for trail in left.trails:
                    for lead in right.leads:
                        if trail.unbounded and lead.unbounded:
                            _ambiguous(
                                trail, (*trail.between, *middle, *lead.between), lead, "in a row"
                            )
                if not right.nullable:
                    middle.append(right.chars)
        leads: list[_Edge] = []
        before: tuple[Chars, ...] = ()
        for part in parts:
            leads += _reachable(part.leads, before, lead=True)
            if not part.nullable:
                before += (part.chars,)
        trails: list[_Edge] = []
        after: tuple[Chars, ...] = ()
        for part in reversed(parts):
            trails += _reachable(part.trails, after, lead=False)
            if not part.nullable:
                after = (part.chars, *after)
        first: set[str] = set()
        for part in parts:
            first |= part.first
            if not part.nullable:
                break
        return _Node(
            all(p.nullable for p in parts),
            frozenset().union(*(p.chars for p in parts)),
            frozenset(first),
            any(p.unbounded for p in parts),
            tuple(leads),
            tuple(trails),
        )

    def node(self, op: Any, av: Any, flags: int, looped: bool, at_start: bool) -> _Node:
        if op in _REPEATS:
            return self.repeat(av, flags, looped)
        if op is _sre.SUBPATTERN:
            _group, add, remove, items = av
            return self.sequence(list(items), (flags | add) & ~remove, looped)
        if op in _GROUPS:
            return self.sequence(list(av), flags, looped)
        if op is _sre.BRANCH:
            return self.branch(av[1], flags, looped)
        if op in (_sre.ASSERT, _sre.ASSERT_NOT):
            inner = self.sequence(list(av[1]), flags, looped)
            if inner.unbounded and not (at_start and av[0] == 1 and not looped):
                raise _Unsafe("a lookaround holding an unbounded repeat")
            return _EMPTY
        if op in (_sre.GROUPREF, _sre.GROUPREF_EXISTS):
            raise _Unsafe("a backreference")
        if op is _sre.AT:
            return _EMPTY
        chars = self.chars(op, av, flags)
        return _Node(False, chars, chars)

    def repeat(self, av: Any, flags: int, looped: bool) -> _Node:
        low, high, items = av
        unbounded = high == _MAXREPEAT or high - low > _WIDE
        body = self.sequence(list(items), flags, looped or unbounded)
        if high > 1:  # where one iteration ends, the next begins
            for trail in body.trails:
                for lead in body.leads:
                    if unbounded or (trail.unbounded and lead.unbounded):
                        _ambiguous(trail, (*trail.between, *lead.between), lead, "nested")
        edges = body.leads, body.trails
        if high > low:
            own = _Edge(body.chars, (), unbounded)
            edges = (own, *body.leads), (own, *body.trails)
        return _Node(
            low == 0 or body.nullable,
            body.chars,
            body.first,
            unbounded or body.unbounded,
            *edges,
        )

    def branch(self, alternatives: list[Any], flags: int, looped: bool) -> _Node:
        nodes = [self.sequence(list(items), flags, looped) for items in alternatives]
        if looped:
            for i, one in enumerate(nodes):
                for other in nodes[i + 1 :]:
                    if one.first & other.first or one.nullable or other.nullable:
                        raise _Unsafe(
                            "alternatives under an unbounded repeat that can match the same text"
                        )
        return _Node(
            any(n.nullable for n in nodes),
            frozenset().union(*(n.chars for n in nodes)),
            frozenset().union(*(n.first for n in nodes)),
            any(n.unbounded for n in nodes),
            tuple(e for n in nodes for e in n.leads),
            tuple(e for n in nodes for e in n.trails),
        )

    def chars(self, op: Any, av: Any, flags: int) -> Chars:
        """The sample characters one single-character item matches."""
        fold = bool(flags & re.IGNORECASE)
        if op is _sre.ANY:
            return frozenset(c for c in self.sample if c != "\n" or flags & re.DOTALL)
        items = av if op is _sre.IN else [(op, av)]
        negate = bool(items) and items[0][0] is _sre.NEGATE
        return frozenset(
            c
            for c in self.sample
            if any(_member(items, v, flags) for v in _variants(c, fold)) != negate
        )


def _variants(char: str, fold: bool) -> set[str]:
    if not fold:
        return {char}
    return {v for v in (char, char.lower(), char.upper(), char.swapcase()) if len(v) == 1}


def _member(items: list[Any], char: str, flags: int) -> bool:
    code = ord(char)
    for op, av in items:
        if op is _sre.LITERAL and av == code:
            return True
        if op is _sre.NOT_LITERAL and av != code:
            return True
        if op is _sre.RANGE and av[0] <= code <= av[1]:
            return True
        if op is _sre.CATEGORY:
            test = _CATEGORIES.get(_NEGATED.get(av, av))
            hit = test is not None and test(char) and not (flags & re.ASCII and code > 127)
            if hit != (av in _NEGATED):
                return True
    return False


def _reachable(edges: tuple[_Edge, ...], between: tuple[Chars, ...], lead: bool) -> list[_Edge]:
    """The edges of a part seen from the edge of its sequence, past ``between``; an edge stays
    only while each required item on the way could be text its repeat matches too."""
    found = []
    for edge in edges:
        way = (*between, *edge.between) if lead else (*edge.between, *between)
        if all(chars & edge.chars for chars in way):
            found.append(_Edge(edge.chars, way, edge.unbounded))
    return found


def _ambiguous(left: _Edge, between: tuple[Chars, ...], right: _Edge, how: str) -> None:
    both = left.chars & right.chars
    if both and all(chars & both for chars in between):
        message = (
            "repeats nested in a repeat that can match the same text"
            if how == "nested"
            else "two unbounded repeats in a row that can match the same text"
        )
        raise _Unsafe(message)


def _anchored(items: list[Any], flags: int) -> bool:
    """Whether every match starts at the start of the text (a search tries one position)."""
    if not items:
        return False
    op, av = items[0]
    if op is _sre.AT:
        return av is _sre.AT_BEGINNING_STRING or (
            av is _sre.AT_BEGINNING and not flags & re.MULTILINE
        )
    if op is _sre.BRANCH:
        return all(_anchored(list(branch), flags) for branch in av[1])
    if op is _sre.SUBPATTERN:
        return _anchored(list(av[3]), (flags | av[1]) & ~av[2])
    return False
