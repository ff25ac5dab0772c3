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
    main([sys.argv[1]])
except SystemExit as exit:
    code = exit.code
with open(sys.argv[2], "w") as out:
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


def probe(tmp_path: Path, cache: Path) -> dict[str, object]:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n"
        "  containers:\n  - name: web\n    image: nginx:1.25\n"
    )
    out = tmp_path / "probe.json"
    env = {**os.environ, "KSCAN_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(manifest), str(out)],
        capture_output=True,
        cwd=tmp_path,
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
