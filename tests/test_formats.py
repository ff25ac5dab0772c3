"""CI report formats: GitHub workflow commands, JUnit XML, Markdown summaries, SARIF caps."""

from __future__ import annotations

import inspect
import json
import re
import xml.etree.ElementTree as ET
from importlib import import_module
from pathlib import Path

import jsonschema
import junitparser
import pytest
from click.testing import CliRunner, Result
from example_counts import ExampleCounts

from kscan.cli import cli
from kscan.input.sources import InputError
from kscan.report import FORMATS, STABLE_FIELD_FORMATS, ReportOptions, printable
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule
from kscan.scan.engine import scan

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json"
EXAMPLE = REPO / "examples" / "insecure-deployment.yaml"
HARDENED = REPO / "examples" / "hardened-deployment.yaml"
ANNOTATION = re.compile(
    r"^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+),endLine=\d+,endColumn=\d+,"
    r"title=(CRITICAL|HIGH|MEDIUM|LOW|INFO) (KS\d{3}) ([a-z0-9-]+)::(.+)$"
)


def kscan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--base-dir", str(REPO), *args])


def test_github_annotations(example_counts: ExampleCounts) -> None:
    result = kscan("--format", "github", str(EXAMPLE))
    assert result.exit_code == 1
    *annotations, summary = result.stdout.splitlines()
    assert summary.startswith(f"Found {example_counts.total} findings")
    parsed = [ANNOTATION.match(line) for line in annotations]
    assert all(parsed) and len(parsed) == example_counts.total
    privileged = next(m for m in parsed if m and m.group(6) == "KS101")
    assert privileged.groups()[:5] == (
        "error",
        "examples/insecure-deployment.yaml",
        "26",
        "13",
        "CRITICAL",
    )
    assert (
        "Elevation of Privilege; TA0004 Privilege Escalation; T1611 Escape to Host"
        in privileged.group(8)
    )


def test_github_annotations_escape_data_and_properties(tmp_path: Path) -> None:
    manifest = tmp_path / "a,b:c.yaml"
    manifest.write_text(
        'apiVersion: v1\nkind: Pod\nmetadata: {name: "x%y\\nz"}\n'
        "spec: {containers: [{name: c, securityContext: {privileged: true}}]}\n"
    )
    result = kscan("--format", "github", "--select", "KS101", str(manifest))
    line = result.stdout.splitlines()[0]
    assert "file=" in line and "a%2Cb%3Ac.yaml" in line
    assert "x%25y%0Az" in line and "\n" not in line


def test_junit_is_valid_and_counts_findings(tmp_path: Path, example_counts: ExampleCounts) -> None:
    out = tmp_path / "kscan.xml"
    kscan("--format", "junit", "-o", str(out), str(EXAMPLE), str(HARDENED))
    xml = junitparser.JUnitXml.fromfile(str(out))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {str(EXAMPLE), str(HARDENED)}
    failing = suites[str(EXAMPLE)]
    # the hardened file's Namespace objects (LimitRange, quota, policies) answer some findings
    assert failing.tests == failing.failures == example_counts.beside_hardened
    case = next(c for c in failing if c.classname == "KS101 privileged-container")
    assert case.name == (
        "Deployment shop/web / web /spec/template/spec/containers[web]/securityContext/privileged"
        " (set)"
    )
    assert isinstance(case.result[0], junitparser.Failure) and case.result[0].type == "critical"
    clean = suites[str(HARDENED)]
    assert clean.tests == 1 and clean.failures == 0


def test_junit_marks_suppressed_findings_skipped_and_errors(tmp_path: Path) -> None:
    manifest = tmp_path / "p.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\n"
        'metadata: {name: p, annotations: {kscan.io/ignore: "KS101: lab"}}\n'
        "spec: {containers: [{name: c, securityContext: {privileged: true}}]}\n"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [\n")
    out = tmp_path / "r.xml"
    kscan("--format", "junit", "--select", "KS101", "-o", str(out), str(manifest), str(broken))
    suites = {suite.name: suite for suite in junitparser.JUnitXml.fromfile(str(out))}
    assert suites[str(manifest)].skipped == 1 and suites[str(manifest)].failures == 0
    assert suites[str(broken)].errors == 1


def test_markdown_summary_tables_then_findings(example_counts: ExampleCounts) -> None:
    text = kscan("--format", "markdown", str(EXAMPLE)).stdout
    assert text.startswith(
        f"## kscan\n\nFound {example_counts.total} findings ({example_counts.split})"
    )
    severities = "".join(f"| {s} | {n} |\n" for s, n in example_counts.by_severity.items())
    assert f"| Severity | Findings |\n|---|---:|\n{severities}\n" in text
    assert "| STRIDE | Findings |" in text and "| Elevation of Privilege |" in text
    assert "| ATT&CK tactic | Findings |" in text and "| TA0004 Privilege Escalation |" in text
    rows = [line for line in text.splitlines() if line.startswith("| critical | KS101")]
    assert rows == [
        "| critical | KS101 `privileged-container` | `examples/insecure-deployment.yaml:26:13` "
        "| Deployment shop/web / web | Container 'web' of Deployment 'shop/web': "
        "securityContext.privileged is true. |"
    ]


def test_sarif_results_are_capped_most_severe_first(example_counts: ExampleCounts) -> None:
    result = kscan("--format", "sarif", "--sarif-max-results", "5", str(EXAMPLE))
    log = json.loads(result.stdout)
    levels = [r["level"] for r in log["runs"][0]["results"]]
    severe = sum(example_counts.by_severity.get(s, 0) for s in ("critical", "high"))
    assert len(levels) == 5 and levels.count("error") == min(5, severe)  # critical, high first
    assert f"keeps the 5 most severe of {example_counts.total} findings" in result.stderr


def _render_all(result: ScanResult, rules: list[Rule]) -> dict[str, str]:
    options = ReportOptions(base_dir=".")
    return {
        name: "".join(import_module(f"kscan.report.{name}").render(result, rules, options))
        for name in FORMATS
    }


def test_errors_with_a_line_alone_or_no_position_in_every_format(rules: list[Rule]) -> None:
    """An error knows its line but not its column, or nothing of its position: column 1 of the
    line, or no position at all, in every format."""
    result = ScanResult(
        errors=[InputError("a.yaml", "too many documents", 4), InputError("gone.yaml", "gone")],
        files=1,
        paths=["a.yaml"],
    )
    shown = _render_all(result, rules)
    assert json.loads(shown["json"])["errors"] == [
        {"path": "a.yaml", "line": 4, "column": 1, "message": "too many documents"},
        {"path": "gone.yaml", "message": "gone"},
    ]
    assert shown["github"].splitlines()[:2] == [
        "::error file=a.yaml,line=4,col=1,title=kscan input error::too many documents",
        "::error file=gone.yaml,title=kscan input error::gone",
    ]
    suites = {suite.name: suite for suite in junitparser.JUnitXml.fromstring(shown["junit"])}
    texts = [next(iter(suites[path])).result[0].text for path in ("a.yaml", "gone.yaml")]
    assert texts == ["a.yaml:4:1: error: too many documents", "gone.yaml: error: gone"]
    assert shown["markdown"].endswith(
        "### Input errors\n\n- `a.yaml:4:1: error: too many documents`\n"
        "- `gone.yaml: error: gone`\n"
    )
    log = json.loads(shown["sarif"])
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    (invocation,) = log["runs"][0]["invocations"]
    assert [n["message"]["text"] for n in invocation["toolExecutionNotifications"]] == texts
    assert shown["text"].endswith("2 input errors (see above).\n")


HOSTILE = r"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: "web\e[2J\a\0\x7f\x9b\r\ufffe"
  namespace: "ns\e]0;title\a"
spec:
  template:
    spec:
      containers:
        - name: "c\e[31m\0"
          image: nginx
          securityContext: {privileged: true, runAsUser: "\e[5m"}
        - name: "d\x01\x1f"
          image: nginx
"""
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters but tab and newline."""
WORKFLOW_COMMAND = re.compile(r"^::(?P<command>[a-z]+) (?P<properties>[^:]*)::(?P<message>.*)$")


def _hostile_tree(tmp_path: Path) -> tuple[Path, str, str]:
    """A manifest whose object and container names carry control characters, and a broken file,
    both under names that carry some too where the file system allows."""
    names = ["ev\x1b[31m\x07il.yaml", "bad\x1b.yaml"]
    try:
        (tmp_path / names[0]).write_text(HOSTILE)
    except OSError:  # a file system that refuses such names
        names = ["evil.yaml", "bad.yaml"]
        (tmp_path / names[0]).write_text(HOSTILE)
    (tmp_path / names[1]).write_text("a: [\n")
    return tmp_path, names[0], names[1]


def _runner() -> CliRunner:
    """A runner that keeps stderr apart (the default from click 8.2)."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


def _unescape_property(value: str) -> str:
    """A workflow command property as GitHub's runner reads it."""
    for escaped, raw in (("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        value = value.replace(escaped, raw)
    return value


def test_control_characters_reach_no_consumer_raw(tmp_path: Path) -> None:
    """Names and messages from a hostile manifest, in every format: each consumer's own parser
    reads the report, and no control character reaches a terminal, a log or an XML parser."""
    tree, manifest, broken = _hostile_tree(tmp_path)
    runner = _runner()
    outputs = {}
    for name in FORMATS:
        result = runner.invoke(cli, ["--format", name, "--base-dir", str(tree), str(tree)])
        assert result.exit_code == 2, result.output
        assert not CONTROL.search(result.stderr), result.stderr
        assert len(result.stderr.splitlines()) == 2  # the broken file, the invalid runAsUser
        outputs[name] = result.stdout
    for name in ("json", "sarif"):  # JSON escapes them: \u001b, and DEL, C1, U+2028 too
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]", outputs[name])
    for name in ("text", "github", "junit", "markdown"):
        assert not CONTROL.search(outputs[name]), name

    report = json.loads(outputs["json"])
    assert {f["name"] for f in report["findings"] if f["kind"] == "Deployment"} == {
        "web\x1b[2J\x07\x00\x7f\x9b\r\ufffe"
    }
    assert sorted(Path(e["path"]).name for e in report["errors"]) == sorted([broken, manifest])
    log = json.loads(outputs["sarif"])
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)

    xml = junitparser.JUnitXml.fromstring(outputs["junit"])
    assert ET.fromstring(outputs["junit"]).tag == "testsuites"
    suites = {Path(suite.name).name for suite in xml}
    assert suites == {printable(manifest), printable(broken)}
    assert sum(suite.errors for suite in xml) == 2 and sum(suite.failures for suite in xml) > 0

    *commands, summary = outputs["github"].splitlines()
    assert summary.startswith("Found ")
    for line in commands:
        parsed = WORKFLOW_COMMAND.match(line)
        assert parsed, line
        properties = dict(item.split("=", 1) for item in parsed["properties"].split(","))
        assert set(properties) >= {"file", "title"}
        assert Path(_unescape_property(properties["file"])).name in suites
    assert any("web\\x1b[2J\\x07\\x00\\x7f\\x9b%0D" in line for line in commands)

    assert "web\\\\x1b[2J" in outputs["markdown"]  # a table cell: the backslash escaped
    assert "web\\x1b[2J\\x07\\x00\\x7f\\x9b\\x0d" in outputs["text"]


def test_sarif_survives_a_scalar_where_a_fix_expects_a_mapping(tmp_path: Path) -> None:
    """``capabilities: false`` is an input error (a mapping is expected); SARIF's fixes must
    not crash on it (AttributeError: 'bool' object has no attribute 'get' in fix.plan.apply),
    as JSON and text do not: the input error gives exit code 2, as in any format."""
    manifest = tmp_path / "caps.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n"
        "  - name: c\n    image: nginx:1\n    securityContext:\n      capabilities: false\n"
    )
    arguments = ["scan", "--base-dir", str(tmp_path), "--format", "sarif", str(manifest)]
    result = CliRunner().invoke(cli, arguments)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2 and json.loads(result.stdout)["runs"]


def test_only_the_formats_that_read_stable_fields_need_them(rules: list[Rule]) -> None:
    """A scan for any other format leaves the stable fields of findings in files empty (they
    cost some 4% of a scan with many findings; cross-object findings keep theirs): every such
    report is the same, and SARIF's and JUnit's are not."""
    with_fields, without = (
        scan([str(REPO / "examples")], rules, stable_fields=stable) for stable in (True, False)
    )
    assert all(finding.stable_field for finding in with_fields.findings)
    in_files = [f for f in without.findings if f.rule.template.scope in ("object", "document")]
    assert in_files and not any(finding.stable_field for finding in in_files)
    full, empty = _render_all(with_fields, rules), _render_all(without, rules)
    assert {name for name in FORMATS if full[name] != empty[name]} == STABLE_FIELD_FORMATS


@pytest.mark.parametrize("output", ["json", "text"])
def test_a_baseline_written_beside_any_format_holds_stable_fields(
    tmp_path: Path, output: str
) -> None:
    baseline = tmp_path / "baseline.json"
    written = kscan("--format", output, "--write-baseline", str(baseline), str(EXAMPLE))
    assert written.exit_code == 0, written.output
    entries = json.loads(baseline.read_text())["findings"]
    assert entries and all(entry["field"] for entry in entries)
    compared = kscan("--format", output, "--baseline", str(baseline), str(EXAMPLE))
    assert compared.exit_code == 0, compared.output
