"""What a first-time user meets: the README's examples and commands, a mistyped rule name, a
malformed custom-rule path, the names CI dashboards key on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from kscan.cli import cli

REPO = Path(__file__).resolve().parents[1]


def _kscan(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kscan", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


def test_explain_suggests_the_rule_meant() -> None:
    """``kscan explain privileged`` names privileged-container, the rule a user looks for."""
    result = CliRunner().invoke(cli, ["explain", "privileged"])
    assert result.exit_code == 2
    assert "did you mean" in result.output and "privileged-container" in result.output
    result = CliRunner().invoke(cli, ["explain", "host-pd"])
    assert "did you mean host-pid" in result.output
    result = CliRunner().invoke(cli, ["explain", "xyzzy"])
    assert result.exit_code == 2 and "did you mean" not in result.output


def test_a_key_written_twice_on_one_line_names_the_columns(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: {x: a, x: b}}\n"
        "spec:\n  containers: [{name: c, image: i}]\n",
        encoding="utf-8",
    )
    result = _kscan("--isolated", "--format", "json", "--select", "duplicate-key", str(manifest))
    [finding] = json.loads(result.stdout)["findings"]
    assert "(line 3, columns 30 and 36)" in finding["message"]
    assert "the value at column 36 is the one applied" in finding["message"]
    assert "lines 3 and 3" not in finding["message"]
