"""Reporters and the command line: formats, exit codes, SARIF validity, rule listing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from example_counts import ExampleCounts

from kscan.cli import cli

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "insecure-deployment.yaml"
HARDENED = REPO / "examples" / "hardened-deployment.yaml"
SARIF_SCHEMA = REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json"
TEXT_LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>CRITICAL|HIGH|MEDIUM|LOW|INFO) "
    r"(?P<id>KS\d{3}) (?P<name>[a-z0-9-]+) (?P<message>.+\.) \[(?P<threat>.+)\]$"
)


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=env)


def test_example_counts_are_pinned(example_counts: ExampleCounts) -> None:
    """The single place to update when rules change: what examples/insecure-deployment.yaml
    finds under the rules on by default (every other test compares with ``example_counts``)."""
    assert example_counts.total == 33
    assert example_counts.by_severity == {"critical": 1, "high": 3, "medium": 17, "low": 12}
    assert example_counts.beside_hardened == 30


def test_concise_output_one_line_per_finding_with_threat_tags(
    example_counts: ExampleCounts,
) -> None:
    """``--format concise`` is the one-line format scripts read (the text report before it
    grouped findings)."""
    result = run("--format", "concise", str(EXAMPLE))
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line]
    *findings, summary = lines
    assert findings and all(TEXT_LINE.match(line) for line in findings), findings
    privileged = next(line for line in findings if "privileged-container" in line)
    assert privileged.startswith(f"{EXAMPLE}:26:13: CRITICAL KS101 privileged-container ")
    assert (
        "[Elevation of Privilege | TA0004 Privilege Escalation / T1611 Escape to Host]"
        in privileged
    )
    assert summary.startswith(f"Found {example_counts.total} findings ({example_counts.split})")
    assert len(findings) == example_counts.total
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_color_only_when_asked_or_on_a_tty() -> None:
    assert "\x1b[" in run("--color", "always", str(EXAMPLE)).stdout
    assert "\x1b[" not in run("--color", "never", str(EXAMPLE)).stdout


def test_no_color_environment_is_honoured_on_a_tty(tmp_path: Path) -> None:
    script = (
        "import os, pty, sys\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    os.execv(sys.executable, [sys.executable, '-m', 'kscan', sys.argv[1]])\n"
        "out = b''\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 65536)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk:\n"
        "        break\n"
        "    out += chunk\n"
        "os.waitpid(pid, 0)\n"
        "sys.stdout.write(repr(out))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "NO_COLOR"}
    colored = subprocess.run(
        [sys.executable, "-c", script, str(EXAMPLE)], capture_output=True, text=True, env=env
    ).stdout
    plain = subprocess.run(
        [sys.executable, "-c", script, str(EXAMPLE)],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
    ).stdout
    empty = subprocess.run(  # no-color.org: only a non-empty value disables colour
        [sys.executable, "-c", script, str(EXAMPLE)],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": ""},
    ).stdout
    assert "\\x1b[" in colored
    assert "\\x1b[" not in plain and "privileged-container" in plain
    assert "\\x1b[" in empty and "privileged-container" in empty


def test_json_output_fields(example_counts: ExampleCounts) -> None:
    result = run("--format", "json", str(EXAMPLE))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert set(report) == {"findings", "absent", "errors", "summary"}
    finding = next(f for f in report["findings"] if f["rule_name"] == "privileged-container")
    assert finding == finding | {
        "rule_id": "KS101",
        "severity": "critical",
        "stride": "Elevation of Privilege",
        "mitre_tactic": "TA0004",
        "mitre_technique": "T1611",
        "path": str(EXAMPLE),
        "line": 26,
        "column": 13,
        "kind": "Deployment",
        "namespace": "shop",
        "name": "web",
        "container": "web",
        "field": "/spec/template/spec/containers/0/securityContext/privileged",
    }
    assert "securityContext.privileged" in finding["message"]
    assert report["summary"]["findings"] == len(report["findings"]) == example_counts.total
    assert report["errors"] == []


def test_hardened_example_is_clean() -> None:
    result = run(str(HARDENED))
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("No findings")


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [("critical", 1), ("high", 1), ("low", 1), ("info", 1), ("never", 0)],
)
def test_fail_on_threshold(fail_on: str, code: int) -> None:
    assert run("--fail-on", fail_on, str(EXAMPLE)).exit_code == code


def test_fail_on_above_every_finding(tmp_path: Path) -> None:
    manifest = tmp_path / "low.yaml"
    manifest.write_text(
        HARDENED.read_text().replace(
            "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"
        )
    )
    assert run(str(manifest)).exit_code == 1  # default threshold: low
    assert run("--fail-on", "medium", str(manifest)).exit_code == 0


def test_output_file(tmp_path: Path, example_counts: ExampleCounts) -> None:
    out = tmp_path / "report.json"
    result = run("--format", "json", "--output", str(out), str(EXAMPLE))
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(out.read_text())["summary"]["findings"] == example_counts.total


def sarif_for(*paths: Path, base_dir: Path = REPO) -> dict:  # type: ignore[type-arg]
    result = run("--format", "sarif", "--base-dir", str(base_dir), *map(str, paths))
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_sarif_validates_against_the_official_schema() -> None:
    schema = json.loads(SARIF_SCHEMA.read_text())
    log = sarif_for(EXAMPLE, HARDENED)
    jsonschema.validators.validator_for(schema)(schema).validate(log)


def test_sarif_rules_results_and_locations(example_counts: ExampleCounts) -> None:
    log = sarif_for(EXAMPLE)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    default_on = [row for row in run("rules").stdout.splitlines()[1:] if row.endswith("yes")]
    assert len(rules) == len(default_on)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert 0 < float(rule["properties"]["security-severity"]) <= 10
        tags = rule["properties"]["tags"]
        assert tags[0] == "security" and len(tags) <= 10
        assert any(t.startswith("stride/") for t in tags)
        assert sum(t.startswith("mitre-attack/") for t in tags) == 2
        assert rule["name"] != rule["id"]
    assert len(run_["results"]) == example_counts.total
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {
            "uri": "examples/insecure-deployment.yaml",
            "uriBaseId": "%SRCROOT%",
        }
        region = location["region"]
        assert {"startLine", "startColumn", "endLine", "endColumn"} <= set(region)
        assert result["message"]["text"].endswith(".")
    privileged = next(r for r in run_["results"] if r["ruleId"] == "KS101")
    assert privileged["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 26,
        "startColumn": 13,
        "endLine": 26,
        "endColumn": 29,
    }
    assert "automationDetails" not in run_


def test_sarif_category_and_stable_fingerprints() -> None:
    first = run("--format", "sarif", "--sarif-category", "k8s", str(EXAMPLE))
    second = run("--format", "sarif", "--sarif-category", "k8s", str(EXAMPLE))
    assert first.stdout == second.stdout
    log = json.loads(first.stdout)
    assert log["runs"][0]["automationDetails"] == {"id": "k8s/"}
    prints = [r["partialFingerprints"]["kscan/v1"] for r in log["runs"][0]["results"]]
    assert len(set(prints)) == len(prints)


def test_sarif_path_outside_base_dir_is_an_absolute_file_uri(tmp_path: Path) -> None:
    log = sarif_for(EXAMPLE, base_dir=tmp_path)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri == {"uri": EXAMPLE.resolve().as_uri()}


def test_rules_command_lists_every_rule() -> None:
    result = run("rules")
    assert result.exit_code == 0
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "SEVERITY", "STRIDE", "TACTIC", "TECHNIQUE", "DEFAULT"]
    names = {row.split()[1] for row in rows}
    assert {
        "privileged-container",
        "allow-privilege-escalation",
        "run-as-non-root",
        "seccomp-profile",
        "read-only-root-filesystem",
        "capabilities-drop-all",
        "dangerous-capabilities",
        "default-deny-network-policy",
        "duplicate-key",
    } <= names


@pytest.mark.parametrize("key", ["KS101", "ks101", "privileged-container"])
def test_explain(key: str) -> None:
    result = run("explain", key)
    assert result.exit_code == 0
    assert result.stdout.startswith("KS101 privileged-container: Container runs in privileged mode")
    assert "How to fix it:" in result.stdout and "privileged: false" in result.stdout


def test_explain_unknown_rule_is_a_usage_error() -> None:
    result = run("explain", "nope")
    assert result.exit_code == 2 and "no rule 'nope'" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert run().exit_code == 2
    assert run("--format", "xml", str(EXAMPLE)).exit_code == 2


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kscan", "--fail-on", "never", str(HARDENED)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stdout.startswith("No findings")


def test_context_option(tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    first, *others = HARDENED.read_text().split("\n---\n")
    app.write_text(first + "\n")
    (tmp_path / "namespace.yaml").write_text("\n---\n".join(others))
    assert run(str(app)).exit_code == 1  # default-deny missing as far as app.yaml alone shows
    result = run("--context", str(tmp_path), str(app))
    assert result.exit_code == 0, result.stdout


def test_unwritable_output_file_is_a_one_line_error(tmp_path: Path) -> None:
    result = run("--output", str(tmp_path / "missing" / "r.json"), str(HARDENED))
    assert result.exit_code == 2
    assert (
        result.stderr.startswith("kscan: error: cannot write ") and "Traceback" not in result.stderr
    )


@pytest.mark.slow  # 5 s: CI runs it with the slow tests
def test_sarif_fingerprints_are_stable_across_spellings_of_a_path(tmp_path: Path) -> None:
    manifest = tmp_path / "deploy" / "app.yaml"
    manifest.parent.mkdir()
    manifest.write_text(EXAMPLE.read_text())

    def prints(path: str, cwd: Path) -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "kscan", "--format", "sarif", "--base-dir", str(tmp_path), path],
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
        )
        results = json.loads(proc.stdout)["runs"][0]["results"]
        return [r["partialFingerprints"]["kscan/v1"] for r in results]

    relative = prints("deploy/app.yaml", tmp_path)
    assert relative == prints("./deploy/app.yaml", tmp_path) == prints(str(manifest), REPO)
    assert relative == prints("app.yaml", manifest.parent)
    assert len(set(relative)) == len(relative)  # ingress and egress default-deny differ too


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    manifest = tmp_path / "x.yaml"
    manifest.write_text(
        'apiVersion: v1\nkind: Pod\nmetadata: {name: "a\\nb\\x1b[31m"}\n'
        "spec: {containers: [{name: c, securityContext: {privileged: true}}]}\n"
    )
    concise = run("--format", "concise", "--color", "never", str(manifest)).stdout
    line = next(line for line in concise.splitlines() if "privileged-container" in line)
    assert "\\x1b" in line and "a\\nb" in line and "\x1b" not in concise
    grouped = run("--color", "never", str(manifest)).stdout
    subject = next(line for line in grouped.splitlines() if line.startswith("  Container 'c'"))
    assert "\\x1b" in subject and "a\\nb" in subject and "\x1b" not in grouped


def test_readme_documents_every_scan_option_and_subcommand() -> None:
    """The README's options table and command list stay in step with the CLI."""
    import click

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = "\n".join(line for line in readme.splitlines() if line.startswith("| `-"))
    scan = cli.commands["scan"]  # type: ignore[attr-defined]
    options = [p for p in scan.params if isinstance(p, click.Option) and "--help" not in p.opts]
    for option in options:
        assert option.help, f"{option.opts} has no help text"
        assert any(re.search(rf"(`|, ){opt}[ `]", table) for opt in option.opts), (
            f"{option.opts} is missing from the README options table"
        )
    for name in cli.commands:  # type: ignore[attr-defined]
        assert f"kscan {name}" in readme, f"subcommand {name} is not in the README"


REPORT_SCHEMA = REPO / "docs" / "report-schema.json"


def _validate_report(text: str) -> dict:  # type: ignore[type-arg]
    schema = json.loads(REPORT_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    report = json.loads(text)
    jsonschema.Draft202012Validator(schema).validate(report)
    return report  # type: ignore[no-any-return]


def test_json_reports_follow_their_schema(tmp_path: Path) -> None:
    """docs/report-schema.json describes every report: findings, suppressed and baseline ones,
    absent entries, and errors with and without a position."""
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(EXAMPLE.read_text())
    baseline = tmp_path / "baseline.json"
    assert run("--write-baseline", str(baseline), str(manifest)).exit_code == 0
    manifest.write_text(
        EXAMPLE.read_text()
        .replace("privileged: true", "privileged: false")
        .replace("  name: web\n", "  name: web\n  annotations: {kscan.io/ignore: 'KS1: lab'}\n", 1)
    )
    compared = _validate_report(
        run("--format", "json", "--baseline", str(baseline), str(manifest)).stdout
    )
    assert compared["absent"] and compared["summary"]["suppressed"]
    assert {f["baseline_state"] for f in compared["findings"]} == {"unchanged"}
    (tmp_path / "two.yaml").write_text(
        "kind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\n"
    )
    (tmp_path / "bad.yaml").write_text("a: [\n")
    names = ("two.yaml", "bad.yaml", "missing.yaml")
    errors = run("--format", "json", "--max-documents", "1", *(str(tmp_path / n) for n in names))
    positions = [
        {key: error[key] for key in ("path", "line", "column") if key in error}
        for error in _validate_report(errors.stdout)["errors"]
    ]
    assert positions == [
        {"path": str(tmp_path / "two.yaml"), "line": 4, "column": 1},  # the line alone is known
        {"path": str(tmp_path / "bad.yaml"), "line": 2, "column": 1},
        {"path": str(tmp_path / "missing.yaml")},  # about the whole input: no position
    ]
