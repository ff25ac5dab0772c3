"""Real processes with closed standard streams, closed pipes and signals, and the colour
decision: exit codes, one-line messages, and nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from example_counts import ExampleCounts

from kscan.app import ScanOptions, use_color

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "insecure-deployment.yaml"
KSCAN = [sys.executable, "-m", "kscan"]


def shell(redirections: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m kscan ARGS REDIRECTIONS`` through a shell, which closes the descriptors."""
    return subprocess.run(
        ["sh", "-c", f'"$@" {redirections}', "sh", *KSCAN, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_closed_stdin_is_an_error_for_dash_only_and_the_other_inputs_are_scanned(
    example_counts: ExampleCounts,
) -> None:
    run = shell("<&-", "--format", "json", EXAMPLE, "-")
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines() == ["<stdin>: error: cannot read: standard input is closed"]
    report = json.loads(run.stdout)
    assert report["summary"]["findings"] == example_counts.total
    assert [error["path"] for error in report["errors"]] == ["<stdin>"]


def test_closed_stdout_is_a_one_line_error() -> None:
    run = shell(">&-", EXAMPLE)
    assert (run.returncode, run.stderr) == (
        2,
        "kscan: error: standard output is closed (-o FILE writes the report to a file)\n",
    )
    run = shell(">&-", "rules")  # explain and config show too
    assert run.returncode == 2 and run.stderr.startswith("kscan: error: standard output is")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((EXAMPLE,), "kscan: error: cannot write the report: No space left on device\n"),
        (("rules",), "kscan: error: standard output: No space left on device\n"),
        (("explain", "KS101"), "kscan: error: standard output: No space left on device\n"),
    ],
)
def test_a_full_disk_under_standard_output_is_a_one_line_error(
    args: tuple[str | Path, ...], message: str
) -> None:
    """Every command, not only the scan: no traceback, exit 2 (``rules`` ended with Python's
    traceback and exit 120)."""
    run = shell(">/dev/full", *args)
    assert (run.returncode, run.stderr) == (2, message)


def test_closed_stdout_and_stderr_exit_2_silently() -> None:
    assert shell(">&- 2>&-", EXAMPLE).returncode == 2


def test_closed_stdout_does_not_matter_when_the_report_goes_to_a_file(
    tmp_path: Path, example_counts: ExampleCounts
) -> None:
    report = tmp_path / "report.json"
    run = shell(">&-", "--format", "json", "-o", report, EXAMPLE)
    assert (run.returncode, run.stderr) == (1, "")
    assert json.loads(report.read_text())["summary"]["findings"] == example_counts.total


@pytest.mark.parametrize(
    "args",
    [
        (str(EXAMPLE),),
        ("--write-baseline", "{tmp}/baseline.json", str(EXAMPLE)),
        ("rules",),
        ("scan", "--help"),
        ("--version",),
        ("--help",),
    ],
)
def test_a_closed_pipe_ends_quietly_with_141(tmp_path: Path, args: tuple[str, ...]) -> None:
    """The reader of the output went away before kscan wrote (``kscan ... | head``): exit
    128 + SIGPIPE, as shells report for programs a closed pipe stops, without a word; also
    for ``--version`` and ``--help``, which click prints before any command runs (they
    exited 1)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [*KSCAN, *(arg.format(tmp=tmp_path) for arg in args)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (141, "")


def _wait_until(condition: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.005)


def _waiting_in(pid: int) -> str:
    """The kernel function the process sleeps in (``/proc/PID/wchan``), or '' once it is gone."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return ""


def _reading_a_pipe(pid: int) -> bool:
    return "pipe" in _waiting_in(pid)


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_the_run_with_128_plus_its_number(signum: int, code: int) -> None:
    """Waiting for stdin that never comes: Ctrl-C (or kill) exits at once, 128 + the signal,
    with no traceback and no 'Aborted!'."""
    proc = subprocess.Popen(
        [*KSCAN, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _wait_until(lambda: _reading_a_pipe(proc.pid))
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert (proc.returncode, stdout, stderr) == (code, b"", b"")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 documents in 334 files (13 MB): enough for two workers, and a report of
    some 60 MB whose writing lasts a few tenths of a second: the test, which looks for its
    temporary file every 5 ms, interrupts it there."""
    out = tmp_path_factory.mktemp("corpus") / "repo"
    generator = REPO / "bench" / "gen_scale_corpus.py"
    subprocess.run(
        [sys.executable, generator, out, "--docs", "20000", "--per-file", "40"],
        check=True,
        capture_output=True,
    )
    return out


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _temporaries(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def _waiting_for_a_writer(pid: int) -> bool:
    """Whether the process is blocked opening a FIFO that nothing writes to."""
    return _waiting_in(pid) == "wait_for_partner"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_ctrl_c_stops_the_workers_at_once(corpus: Path, tmp_path: Path) -> None:
    """One worker is stuck opening a FIFO no one writes to (so the scan cannot end before the
    signal, however fast it gets), the other scans the corpus: Ctrl-C ends both at once."""
    target = tmp_path / "out" / "report.json"
    target.parent.mkdir()
    fifo = tmp_path / "never-written.yaml"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [*KSCAN, "--jobs", "2", "--format", "json", "-o", target, fifo, corpus],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until(lambda: len(_children(proc.pid)) == 2)
        workers = _children(proc.pid)
        _wait_until(lambda: any(_waiting_for_a_writer(pid) for pid in workers))
        assert proc.poll() is None
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        elapsed = time.monotonic() - start
    finally:
        proc.kill()
    assert (proc.returncode, stderr) == (130, b"")
    assert elapsed < 1.5, elapsed
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert os.listdir(target.parent) == []


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sigterm_while_the_report_is_written_leaves_the_old_report(
    corpus: Path, tmp_path: Path
) -> None:
    target = tmp_path / "report.json"
    target.write_text("the previous report\n")
    proc = subprocess.Popen(
        [*KSCAN, "--jobs", "2", "--format", "json", "-o", target, corpus],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until(lambda: _temporaries(tmp_path) or proc.poll() is not None, timeout=120)
        assert proc.poll() is None, "the report was written before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert (proc.returncode, stderr) == (143, b"")
    assert _temporaries(tmp_path) == []
    assert target.read_text() == "the previous report\n"


def test_an_empty_no_color_does_not_disable_colour() -> None:
    """https://no-color.org: NO_COLOR disables colour 'when present and not an empty string'."""

    def on_a_terminal(**given: str) -> bool:
        return use_color(ScanOptions(("deploy",), terminal=True, **given))

    assert on_a_terminal(no_color="")
    assert not on_a_terminal(no_color="1")
    assert on_a_terminal(color="always", no_color="1")
    assert on_a_terminal()
    assert not on_a_terminal(output="report.txt")
