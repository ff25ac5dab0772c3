"""What kscan guarantees about itself: it never constructs objects from YAML tags, opens no
network connection, runs nothing, writes only its own output, and writes that atomically."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kscan.support.files import write_atomically

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"

WATCHED = r"""
import json, os, sys

FORBIDDEN = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
             "os.fork", "ctypes.dlopen", "urllib.", "http.", "webbrowser.")
if os.environ.get("WATCH_ALLOW_FORK"):  # --jobs: workers are forked copies of kscan itself
    FORBIDDEN = tuple(event for event in FORBIDDEN if event != "os.fork")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

class Changes(list):  # each change also goes to stderr at once: forked workers report theirs
    def append(self, path):
        super().append(path)
        os.write(2, f"CHANGE {path}\n".encode())

changes = Changes()

def audit(event, args):
    if event.startswith(FORBIDDEN):
        os.write(2, f"FORBIDDEN {event} {args!r}\n".encode())
        os._exit(99)
    if event == "open":
        path, mode, flags = args
        writing = any(c in (mode or "") for c in "wax+") or (flags or 0) & WRITE_FLAGS
        if writing and isinstance(path, (str, bytes)):
            changes.append(os.fsdecode(path))
    elif event in ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.truncate",
                   "os.symlink", "os.link", "os.utime", "shutil.rmtree", "os.chown"):
        changes.append(os.fsdecode(args[0]) if isinstance(args[0], (str, bytes)) else repr(args[0]))
        if event == "os.rename":
            changes.append(os.fsdecode(args[1]))

sys.addaudithook(audit)
from kscan.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
os._exit(code or 0)
"""


def run_watched(
    *args: str | Path, cwd: Path, allow_fork: bool = False
) -> tuple[int, list[str], str]:
    """kscan ARGS in a process whose audit hook kills it on network or process events (fork
    excepted with ``allow_fork``) and records every file it, or a worker, writes, renames or
    removes."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO)}
    if allow_fork:
        env["WATCH_ALLOW_FORK"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", WATCHED, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
    assert "FORBIDDEN" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    changes = [line.removeprefix("CHANGE ") for line in lines if line.startswith("CHANGE ")]
    return proc.returncode, changes, proc.stderr


# A custom kind: a ConfigMap whose data holds mappings is refused by the API (an input error).
TAGS = """\
apiVersion: example.com/v1
kind: Settings
metadata:
  name: tags
data:
  a: !!python/object/apply:os.system ["touch {marker}"]
  b: !!python/name:os.system
  c: !!python/object/new:subprocess.Popen [["touch", "{marker}"]]
  d: !custom {{x: 1}}
  e: !!binary aGVsbG8=
"""


@pytest.fixture(autouse=True, scope="module")
def _rule_cache_written() -> None:
    """The watched scans below may write only their reports: the rule-set cache in the user's
    cache directory (here the tests' own) is written beforehand, whichever test runs first."""
    subprocess.run(
        [sys.executable, "-m", "kscan", str(REPO / "examples" / "hardened-deployment.yaml")],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
    )


def test_scan_writes_only_its_report_and_touches_no_network_or_process(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    shutil.copytree(REPO / "examples", tree / "examples")
    marker = tmp_path / "pwned"
    (tree / "tags.yaml").write_text(TAGS.format(marker=marker))
    if CORPUS.is_dir():
        shutil.copytree(CORPUS / "kubernetes__examples", tree / "corpus", dirs_exist_ok=True)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tree.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    out.mkdir()

    code, changes, stderr = run_watched(
        "--format", "sarif", "-o", out / "kscan.sarif", "--base-dir", tree, tree, cwd=tree
    )
    assert code == 1, stderr
    assert changes and all(Path(path).parent == out for path in changes), changes
    assert [p.name for p in out.iterdir()] == ["kscan.sarif"]  # no temporary file left
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tree.rglob("*") if p.is_file()}
    assert after == before
    assert not marker.exists()

    code, changes, stderr = run_watched(
        "--write-baseline", out / "baseline.json", "--base-dir", tree, tree, cwd=tree
    )
    assert code == 0 and all(Path(path).parent == out for path in changes), (changes, stderr)


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")
def test_workers_write_nothing_and_run_nothing(tmp_path: Path) -> None:
    """With --jobs, workers are forked copies of kscan: no program is run, and they write
    nothing (the corpus is large enough for workers to be used)."""
    tree = tmp_path / "repo"
    shutil.copytree(CORPUS, tree)
    marker = tmp_path / "pwned"
    (tree / "tags.yaml").write_text(TAGS.format(marker=marker))
    before = {p: p.stat().st_mtime_ns for p in tree.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    out.mkdir()
    args = ("--jobs", "2", "--format", "json", "-o", out / "kscan.json", tree)
    code, changes, stderr = run_watched(*args, cwd=tree, allow_fork=True)
    assert code == 1, stderr
    assert changes and all(Path(path).parent == out for path in changes), changes
    assert json.loads((out / "kscan.json").read_text())["summary"]["files"] > 600
    assert {p: p.stat().st_mtime_ns for p in tree.rglob("*") if p.is_file()} == before
    assert not marker.exists()


def test_tags_are_data_never_objects(tmp_path: Path) -> None:
    from kscan.input.documents import parse
    from kscan.input.sources import read_source

    path = tmp_path / "tags.yaml"
    marker = tmp_path / "pwned"
    path.write_text(TAGS.format(marker=marker))
    source = read_source(str(path))
    assert not isinstance(source, Exception)
    (document,), errors = parse(source)
    assert errors == []
    values = document.data["data"]
    assert values["b"] == "" and values["e"] == "hello"  # unknown tags: the text; binary: decoded
    assert values["a"] == [f"touch {marker}"] and values["d"] == {"x": 1}
    assert not marker.exists()
    leaves = [*values.values(), *values["a"], *values["c"]]
    assert all(isinstance(v, (str, list, dict)) for v in leaves)


def test_write_atomically_replaces_whole_file_and_keeps_mode_and_links(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text("old")
    report.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(report.name)

    write_atomically(link, "new")
    assert link.is_symlink() and report.read_text() == "new"
    assert stat.S_IMODE(report.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "report.json"]


def test_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report.json"
    report.write_text("old")

    def no_rename(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError):
        write_atomically(report, "new")
    assert report.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_new_output_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    report = tmp_path / "new.json"
    previous = os.umask(0o022)
    try:
        write_atomically(report, "{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(report.stat().st_mode) == 0o644


def test_the_suite_tests_the_working_tree(tmp_path: Path) -> None:
    """``pip install '.[test]' && pytest`` installs a copy of kscan; the tests must still run
    this checkout's code, in this process and in the processes they start from elsewhere."""
    import kscan

    assert Path(kscan.__file__).resolve().is_relative_to(REPO)
    started = subprocess.run(
        [sys.executable, "-c", "import kscan; print(kscan.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert Path(started.stdout.strip()).resolve().is_relative_to(REPO)
