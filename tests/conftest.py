"""Shared helpers: scan files or text in-process with the built-in rules."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from kscan.engine import ScanResult, scan
from kscan.registry import Rule, load_rules

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def rules() -> list[Rule]:
    return load_rules()


@pytest.fixture
def scan_text(tmp_path: Path, rules: list[Rule]):  # type: ignore[no-untyped-def]
    """Write YAML text to a file and scan it: ``scan_text(text, name="x.yaml") -> ScanResult``."""

    def run(text: str, name: str = "manifest.yaml") -> ScanResult:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return scan([str(path)], rules)

    return run


def by_rule(result: ScanResult, name: str) -> list[tuple[int, str | None]]:
    """(line, container) of the findings of one rule, sorted."""
    return sorted((f.span.line, f.container) for f in result.findings if f.rule.name == name)


def scan_paths(paths: Iterable[Path], rules: list[Rule]) -> ScanResult:
    return scan([str(path) for path in paths], rules)
