"""Start-up: what an ordinary one-file scan loads, in a fresh process. Code only other commands
or options need stays unimported, and a second run takes its rules from the rule cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys
import kscan.rules.cache as cache
built = []
load_rules = cache.load_rules
cache.load_rules = lambda *args, **kwargs: built.append(1) or load_rules(*args, **kwargs)
from kscan.cli import main
try:
    main(sys.argv[2:])
except SystemExit as exit:
    code = exit.code
with open(sys.argv[1], "w") as out:
    json.dump({"modules": sorted(sys.modules), "built": len(built), "code": code}, out)
"""

NOT_FOR_A_SCAN = (
    "kscan.model.threat_facts",  # kscan threats
    "kscan.threats",
    "kscan.results.baseline",  # --baseline, --write-baseline
    "kscan.rules.docs",  # kscan rules, kscan explain
    "kscan.rules.template_docs",
    "kscan.report.sarif",  # reporters other than the one asked for
    "kscan.report.json",
    "jsonschema",  # validating rule and configuration files: rules done once, then cached
    "pydantic",  # validating params and fixes: rules done once, then cached
    "kscan.checks.regex_safety",  # validating the patterns of params
    "pydantic_core",
    "annotated_types",
    "importlib.metadata",  # pydantic's plugin loader
    "email",
    "tomllib",  # only when a TOML file is met
    "tempfile",  # only when findings spill to disk or the rule cache is written
    "decimal",  # only for an integral float of 2**53 or more
    "difflib",  # only for an unknown rule or field
    "dataclasses",  # kscan's value classes are kscan.support.values, cheaper to define
    "kscan.support.json_schema",  # only for a configuration file or rule files being read
    "importlib.util",  # the rule cache finds pydantic's version with importlib.machinery
)


POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n"
    "  containers:\n  - name: web\n    image: nginx:1.25\n"
)


def probe(
    tmp_path: Path, cache: Path, *args: str, cwd: Path | None = None, stdin: Path | None = None
) -> dict[str, object]:
    """Run ``kscan ARGS`` (default: a scan of a pod manifest) in a fresh process; what it
    imported, whether it built the rules, its exit code."""
    if not args:
        manifest = tmp_path / "pod.yaml"
        manifest.write_text(POD)
        args = (str(manifest),)
    out = tmp_path / "probe.json"
    env = {**os.environ, "KSCAN_CACHE_DIR": str(cache)}
    with open(stdin or os.devnull, "rb") as given:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, str(out), *args],
            stdin=given,
            capture_output=True,
            cwd=cwd or tmp_path,
            env=env,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(out.read_text())
    return result


def test_an_ordinary_scan_imports_only_what_it_needs(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = probe(tmp_path, cache)
    assert first["code"] == 1 and first["built"] == 1  # findings; the rules built, then cached
    second = probe(tmp_path, cache)
    assert second["code"] == 1 and second["built"] == 0  # read from the cache
    modules = set(second["modules"])  # type: ignore[call-overload]
    assert "kscan.report.text" in modules and "kscan.rules.cache" in modules
    loaded = [name for name in NOT_FOR_A_SCAN if name in modules]
    assert loaded == []


NOT_FOR_FILE_NAMES = ("pathlib", "urllib.parse", "ipaddress", "jsonschema")
"""Names are str handled with os.path (kscan.support.paths): pathlib and what it imports cost
a one-file scan about 3% of its instructions; a valid configuration needs no jsonschema."""


def test_a_scan_with_a_configuration_found_upwards_imports_no_pathlib(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".kscan.yaml").write_text(
        'exclude: ["vendor/**"]\nfail-on: high\n'
        'suppressions:\n  - rules: [KS1]\n    path: "deploy/**"\n    reason: reviewed\n'
    )
    (repo / "deploy").mkdir()
    (repo / "deploy" / "pod.yaml").write_text(POD)
    (repo / "vendor").mkdir()
    (repo / "vendor" / "pod.yaml").write_text(POD)
    cache = tmp_path / "cache"
    for args in (["deploy/pod.yaml"], ["--format", "json", "."], ["--format", "json", "deploy"]):
        first = probe(tmp_path, cache, *args, cwd=repo)
        second = probe(tmp_path, cache, *args, cwd=repo)
        assert second["built"] == 0 and first["code"] == second["code"] in (0, 1)
        modules = set(second["modules"])  # type: ignore[call-overload]
        assert "kscan.config.files" in modules and "kscan.config.globs" in modules
        assert [name for name in NOT_FOR_FILE_NAMES if name in modules] == [], args


def test_a_scan_of_standard_input_imports_no_pathlib(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    probe(tmp_path, cache)  # the rules built and cached
    (tmp_path / "stdin.yaml").write_text(POD)
    scanned = probe(tmp_path, cache, "-", stdin=tmp_path / "stdin.yaml")
    assert scanned["code"] == 1 and scanned["built"] == 0  # findings in the piped manifest
    modules = set(scanned["modules"])  # type: ignore[call-overload]
    assert [name for name in NOT_FOR_FILE_NAMES if name in modules] == []


def _leaving(body: str) -> subprocess.CompletedProcess[str]:
    """Run ``body`` in a fresh interpreter, then ``kscan.__main__.leave(3)``."""
    script = f"import sys\nfrom kscan.__main__ import leave\n{body}\nleave(3)\nprint('returned')\n"
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # so flushes count
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env=buffered,
    )


def test_leaving_runs_exit_handlers_and_flushes_the_streams() -> None:
    """The process ends with the code given, without the interpreter's tear-down (``leave``),
    but what is buffered and what exit handlers write still come out."""
    left = _leaving(
        "import atexit\n"
        "atexit.register(lambda: print('handler ran'))\n"
        "sys.stdout.write('buffered ')\n"
        "sys.stderr.write('to stderr')"
    )
    assert (left.returncode, left.stdout, left.stderr) == (3, "buffered handler ran\n", "to stderr")


def test_leaving_waits_for_a_running_thread() -> None:
    """With another thread still running, ``leave`` returns: the interpreter's own exit waits
    for the thread, as it would have."""
    left = _leaving(
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done'))).start()"
    )
    assert left.returncode == 0 and left.stdout == "returned\nthread done\n"


def test_leaving_lets_a_profiler_write_its_results(tmp_path: Path) -> None:
    """Under ``python -m cProfile -o FILE``, the run ends as usual, so the profile is written."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD)
    profile = tmp_path / "kscan.prof"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "kscan", str(manifest)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert "memory-limit" in done.stdout  # (cProfile swallows the exit code)
    assert profile.stat().st_size > 0


def test_a_scan_process_ends_with_its_exit_code_and_whole_report(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD)
    for args, code in (([], 1), (["--format", "json"], 1), (["--select", "KS999"], 2)):
        done = subprocess.run(
            [sys.executable, "-m", "kscan", *args, str(manifest)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
        assert done.returncode == code, done.stderr
        if args == ["--format", "json"]:
            assert json.loads(done.stdout)["summary"]["findings"] > 0
