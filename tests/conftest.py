"""Shared fixtures: the built-in rules, scanning YAML text in-process, and the finding counts
of the insecure example.

The suite tests the working tree, whatever kscan is installed: pytest puts the repository first
on ``sys.path`` (``pythonpath`` in pyproject.toml), and processes the tests start inherit it
through ``PYTHONPATH``, so ``python -m kscan`` in a temporary directory runs this checkout too.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
)

_RULE_CACHE = tempfile.mkdtemp(prefix="kscan-test-cache-")
os.environ["KSCAN_CACHE_DIR"] = _RULE_CACHE  # kscan processes of the tests share it, not ~/.cache
atexit.register(shutil.rmtree, _RULE_CACHE, True)

from example_counts import ExampleCounts  # noqa: E402

from kscan.results.scan_result import ScanResult  # noqa: E402
from kscan.rules.registry import Rule, load_rules  # noqa: E402
from kscan.scan.engine import scan  # noqa: E402


@pytest.fixture(scope="session")
def rules() -> list[Rule]:
    return load_rules()


@pytest.fixture(scope="session")
def example_counts(rules: list[Rule]) -> ExampleCounts:
    """The finding counts of examples/insecure-deployment.yaml (see ``example_counts``)."""
    return ExampleCounts.of(rules)


@pytest.fixture
def scan_text(tmp_path: Path, rules: list[Rule]) -> Callable[..., ScanResult]:
    """``scan_text(text, name="manifest.yaml")``: write the text to a file and scan it."""

    def run(text: str, name: str = "manifest.yaml") -> ScanResult:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return scan([str(path)], rules)

    return run
