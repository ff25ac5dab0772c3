"""Reporters: one module per output format, each ``render(result, rules, options) -> str``."""

from __future__ import annotations

from dataclasses import dataclass

FORMATS = ("text", "json", "sarif")


@dataclass(frozen=True)
class ReportOptions:
    """What reporters need besides the findings."""

    color: bool = False
    base_dir: str = "."
    sarif_category: str | None = None
