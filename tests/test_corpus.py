"""The real-world corpus (manifests from public projects): everything parses, nothing crashes."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kscan.cli import cli
from kscan.input.sources import MANIFEST_SUFFIXES

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"
DUPLICATE_KEY_FILES = 5  # files of the corpus that write a key twice in one mapping

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")


def _runner() -> CliRunner:
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:  # click < 8.2
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


def _manifests() -> list[Path]:
    return [p for p in CORPUS.rglob("*") if p.is_file() and p.name.endswith(MANIFEST_SUFFIXES)]


@pytest.fixture(scope="module")
def corpus_report() -> tuple[int, dict, str]:
    """One in-process scan of the whole corpus: (exit code, JSON report, stderr)."""
    result = _runner().invoke(cli, ["--format", "json", "--fail-on", "low", str(CORPUS)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"kscan raised {result.exception!r}") from result.exception
    return result.exit_code, json.loads(result.stdout), result.stderr


def test_corpus_has_no_errors(corpus_report: tuple[int, dict, str]) -> None:
    code, report, stderr = corpus_report
    assert report["errors"] == [], "\n".join(
        f"{e['path']}:{e.get('line', '-')}:{e.get('column', '-')}: {e['message']}"
        for e in report["errors"]
    )
    assert stderr == ""
    assert code in (0, 1)


def test_every_corpus_manifest_is_scanned(corpus_report: tuple[int, dict, str]) -> None:
    _code, report, _stderr = corpus_report
    assert report["summary"]["files"] == len(_manifests())
    assert report["summary"]["documents"] > 0 and report["summary"]["objects"] > 0


def test_corpus_duplicate_keys(corpus_report: tuple[int, dict, str]) -> None:
    _code, report, _stderr = corpus_report
    duplicates = [f for f in report["findings"] if f["rule_name"] == "duplicate-key"]
    assert len(duplicates) == DUPLICATE_KEY_FILES, [
        (f["path"], f["line"], f["message"]) for f in duplicates
    ]
    assert len({f["path"] for f in duplicates}) == DUPLICATE_KEY_FILES
    for finding in duplicates:
        assert "written twice" in finding["message"] and finding["line"] > 0


def test_corpus_in_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kscan", str(CORPUS)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
