"""The fuzz target (fuzz/fuzz_scan.py): the inputs in tests/fuzz_regressions/ (everything the
fuzzer or a review found that broke, or nearly broke, kscan) replayed as regression tests, and
a short coverage-guided run when atheris is installed (the long run is by hand: fuzz/README.md).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REGRESSIONS = sorted((REPO / "tests" / "fuzz_regressions").iterdir())
SHORT_RUN_SECONDS = int(os.environ.get("KSCAN_FUZZ_SECONDS", "45"))

sys.path.insert(0, str(REPO / "fuzz"))
from fuzz_scan import scan_bytes  # noqa: E402


@pytest.mark.parametrize("regression", REGRESSIONS, ids=[path.name for path in REGRESSIONS])
def test_hostile_input_stays_harmless(regression: Path) -> None:
    scan_bytes(regression.read_bytes())


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
@pytest.mark.slow
def test_short_fuzzing_run_finds_nothing(tmp_path: Path) -> None:
    """libFuzzer runs every seed before its clock starts (476 rule fixtures: about a minute
    instrumented on two cores): every regression seeds it, and a quarter of the fixtures."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    fixtures = sorted(path for path in (REPO / "tests" / "fixtures").rglob("*") if path.is_file())
    for number, fixture in enumerate(fixtures[::4]):
        (seeds / f"{number:03d}-{fixture.name}").write_bytes(fixture.read_bytes())
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "fuzz" / "fuzz_scan.py"),
            f"-max_total_time={SHORT_RUN_SECONDS}",
            "-rss_limit_mb=2048",
            "-timeout=20",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
            str(REPO / "tests" / "fuzz_regressions"),
            str(seeds),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=SHORT_RUN_SECONDS + 240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done" in proc.stderr, proc.stderr[-3000:]
