"""Reporters: one module per output format, each ``render(result, rules, options)`` yielding the
report in pieces, so that a large report is written as it is made rather than held whole."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kscan.baseline import Entry

FORMATS = ("text", "json", "sarif", "github", "junit", "markdown")
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
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


@dataclass(frozen=True)
class ReportOptions:
    """What reporters need besides the findings."""

    color: bool = False
    base_dir: str = "."
    sarif_category: str | None = None
    show_suppressed: bool = False
    sarif_max_results: int = SARIF_MAX_RESULTS
    absent: tuple[Entry, ...] = ()
    """Baseline entries no longer found (fixed since the baseline)."""
