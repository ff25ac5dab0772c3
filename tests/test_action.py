"""The GitHub Action (action.yml): its shell steps run here, as the runner would run them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def step(name: str) -> dict:  # type: ignore[type-arg]
    return next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)


def evaluate(text: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """The few expressions the action uses: inputs.*, github.action_path, steps.*.outputs.*."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            name = expression.removeprefix("inputs.")
            return inputs.get(name, ACTION["inputs"][name].get("default", ""))
        if expression == "github.action_path":
            return str(REPO)
        if expression.startswith("steps.scan.outputs."):
            return outputs[expression.removeprefix("steps.scan.outputs.")]
        raise AssertionError(f"unexpected expression {expression}")

    return EXPRESSION.sub(value, text)


def run_step(name: str, workspace: Path, inputs: dict[str, str], outputs: dict[str, str]) -> int:
    spec = step(name)
    assert spec["shell"] == "bash"
    env = {
        **os.environ,
        **{k: evaluate(str(v), inputs, outputs) for k, v in spec.get("env", {}).items()},
    }
    env["PATH"] = f"{workspace / 'bin'}{os.pathsep}{env['PATH']}"
    env["GITHUB_OUTPUT"] = str(workspace / "github-output")
    env["GITHUB_STEP_SUMMARY"] = str(workspace / "step-summary.md")
    proc = subprocess.run(
        ["bash", "-e", "-c", spec["run"]], cwd=workspace, env=env, capture_output=True, text=True
    )
    (workspace / f"{name}.log").write_text(proc.stdout + proc.stderr)
    return proc.returncode


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checkout with one insecure manifest, and ``kscan`` on PATH running this source tree."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.yaml").write_text(
        (REPO / "examples" / "insecure-deployment.yaml").read_text()
    )
    (tmp_path / "bin").mkdir()
    shim = tmp_path / "bin" / "kscan"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m kscan "$@"\n')
    shim.chmod(0o755)
    return tmp_path


def outputs_of(workspace: Path) -> dict[str, str]:
    lines = (workspace / "github-output").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_action_metadata() -> None:
    assert ACTION["runs"]["using"] == "composite"
    uses = [s["uses"] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert "github/codeql-action/upload-sarif@v4" in uses
    upload = next(s for s in ACTION["runs"]["steps"] if s.get("name") == "Upload SARIF")
    assert "always()" in upload["if"]


def test_scan_step_writes_sarif_summary_and_annotations(workspace: Path) -> None:
    inputs = {"paths": "deploy", "annotate": "true", "args": "--fail-on high"}
    assert run_step("Scan", workspace, inputs, {}) == 0  # the step itself never fails
    assert outputs_of(workspace) == {"exit-code": "1"}
    log = json.loads((workspace / "kscan.sarif").read_text())
    results = log["runs"][0]["results"]
    assert (
        results
        and results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "deploy/app.yaml"
    )
    summary = (workspace / "step-summary.md").read_text()
    assert summary.startswith("## kscan")
    # attack paths by default in the summary, after the findings, and not uploaded
    assert summary.index("## kscan attack paths") > summary.index("## kscan")
    assert "```mermaid\nflowchart LR" in summary and "deploy/app.yaml:26:13" in summary
    assert not (workspace / "kscan-threats.sarif").exists()
    annotations = (workspace / "Scan.log").read_text()
    assert "::error file=deploy/app.yaml,line=26,col=13" in annotations
    assert run_step("Fail on findings", workspace, inputs, outputs_of(workspace)) == 1


def test_scan_step_passes_a_clean_repository(workspace: Path) -> None:
    (workspace / "deploy" / "app.yaml").write_text(
        (REPO / "examples" / "hardened-deployment.yaml").read_text()
    )
    assert run_step("Scan", workspace, {"paths": "deploy"}, {}) == 0
    assert outputs_of(workspace) == {"exit-code": "0"}
    assert run_step("Fail on findings", workspace, {}, outputs_of(workspace)) == 0


def test_input_errors_are_printed_once_and_the_summary_points_at_them(workspace: Path) -> None:
    """The step runs kscan once per format; each run printed the same input errors, so a bad
    file was reported two or three times. The Markdown summary lists errors below its first
    line, which said "see above"."""
    (workspace / "deploy" / "broken.yaml").write_text("a: [\n")
    inputs = {"paths": "deploy", "annotate": "true"}
    assert run_step("Scan", workspace, inputs, {}) == 0
    assert outputs_of(workspace) == {"exit-code": "2"}
    log = (workspace / "Scan.log").read_text()
    assert log.count("deploy/broken.yaml:2:1: error:") == 1, log
    summary = (workspace / "step-summary.md").read_text()
    assert "1 input error (see below)." in summary and "see above" not in summary
    assert summary.index("### Input errors") > summary.index("see below")


@pytest.mark.parametrize("recorded", ["", "x"])
def test_the_fail_step_says_why_without_an_exit_code(workspace: Path, recorded: str) -> None:
    """A scan step that died before writing its output left ``exit: : numeric argument
    required`` (bash's exit code 2, by chance) in the log."""
    assert run_step("Fail on findings", workspace, {}, {"exit-code": recorded}) == 2
    log = (workspace / "Fail on findings.log").read_text()
    assert "numeric argument required" not in log
    assert "::error::kscan did not finish" in log


def test_attack_paths_as_sarif_are_uploaded_under_their_own_category(workspace: Path) -> None:
    inputs = {"paths": "deploy", "threats": "sarif", "threats-args": "--max-paths 5"}
    assert run_step("Scan", workspace, inputs, {}) == 0
    log = json.loads((workspace / "kscan-threats.sarif").read_text())
    flows = [result["codeFlows"] for result in log["runs"][0]["results"]]
    assert flows and all(flow[0]["threadFlows"][0]["locations"] for flow in flows)
    upload = step("Upload attack paths")
    assert upload["with"]["sarif_file"] == "kscan-threats.sarif"
    assert evaluate(upload["with"]["category"], inputs, {}) == "kscan-threats"
    assert "inputs.threats == 'sarif'" in upload["if"] and "always()" in upload["if"]


def test_attack_paths_left_out(workspace: Path) -> None:
    assert run_step("Scan", workspace, {"paths": "deploy", "threats": "off"}, {}) == 0
    assert "attack paths" not in (workspace / "step-summary.md").read_text()
