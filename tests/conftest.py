"""Shared fixtures: the built-in rules, and scanning YAML text in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kscan.engine import ScanResult, scan
from kscan.registry import Rule, load_rules


@pytest.fixture(scope="session")
def rules() -> list[Rule]:
    return load_rules()


@pytest.fixture
def scan_text(tmp_path: Path, rules: list[Rule]) -> Callable[..., ScanResult]:
    """``scan_text(text, name="manifest.yaml")``: write the text to a file and scan it."""

    def run(text: str, name: str = "manifest.yaml") -> ScanResult:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return scan([str(path)], rules)

    return run
