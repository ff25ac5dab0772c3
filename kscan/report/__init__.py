"""Reporters: one module per output format, each ``render(result, rules, options)`` yielding the
report in pieces, so that a large report is written as it is made rather than held whole."""

from __future__ import annotations

import re
from json import JSONEncoder, dumps  # not 'import json': the json submodule would shadow it
from typing import TYPE_CHECKING

from kscan.support.values import Record

if TYPE_CHECKING:
    from kscan.results.baseline import Entry

FORMATS = ("text", "concise", "json", "sarif", "github", "junit", "markdown")
STABLE_FIELD_FORMATS = frozenset(("sarif", "junit"))
"""The formats that read ``Finding.stable_field`` (in fingerprints and test names)."""
SARIF_MAX_RESULTS = 1000
"""Results in one SARIF run by default: the limit GitHub's SARIF tooling checks (GH1004)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters but tab and newline: C0 (ESC, BEL, NUL, CR...), DEL and C1."""


def printable(text: str) -> str:
    """Text safe for one terminal line: control characters (newlines, ESC) shown as escapes, so
    a manifest cannot break the one-line format or send codes to the terminal."""
    return without_controls(text.replace("\n", "\\n"))


def without_controls(text: str) -> str:
    """Control characters but tab and newline shown as ``\\xNN`` escapes: none reaches a
    terminal, an XML parser or a log viewer raw."""
    if text.isprintable():
        return text  # no control character (nor tab or newline): the regex is not needed
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029]")
"""What ``json.dumps(ensure_ascii=False)`` leaves raw that a terminal or a script acts on: DEL,
the C1 controls (``\\x9b`` starts a terminal escape) and the Unicode line separators."""


_COMPACT = JSONEncoder(ensure_ascii=False)
"""One encoder for every compact dump (``json.dumps`` with options builds a new one each call)."""


def json_text(value: object, indent: int | None = None) -> str:
    """JSON of ``value``, UTF-8 kept readable, with no control character left raw (they can only
    stand inside strings, so an escape such as ``\\u009b`` keeps the JSON the same)."""
    text = (
        _COMPACT.encode(value)
        if indent is None
        else dumps(value, ensure_ascii=False, indent=indent)
    )
    if text.isascii() and "\x7f" not in text:
        return text  # the common case, told without the (slower) regular expression
    return _RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class ReportOptions(Record):
    """What reporters need besides the findings (a named tuple: cheaper to define at start-up
    than a frozen dataclass)."""

    color: bool = False
    base_dir: str = "."
    sarif_category: str | None = None
    show_suppressed: bool = False
    sarif_max_results: int = SARIF_MAX_RESULTS
    absent: tuple[Entry, ...] = ()
    """Baseline entries no longer found (fixed since the baseline)."""
