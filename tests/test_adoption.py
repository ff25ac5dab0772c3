"""Adoption controls: configuration, suppressions with reasons, baselines, and custom rules."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from kscan.cli import cli
from kscan.config import files as config_files
from kscan.config.files import discover_for

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json"

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  annotations: {annotations}
spec:
  containers:
    - name: a
      image: busybox:1.36
      securityContext:
        privileged: true{comment_a}
    - name: b
      image: busybox:1.36
      securityContext:
        privileged: true
"""


def pod(name: str = "p", annotations: str = "{}", comment_a: str = "") -> str:
    return POD.format(name=name, annotations=annotations, comment_a=comment_a)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository (a .git folder) as the current directory."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def kscan(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def report(*args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(kscan("--format", "json", *args).stdout)  # type: ignore[no-any-return]


def privileged(data: dict) -> list[tuple[str | None, str | None, str | None]]:  # type: ignore[type-arg]
    """(name, container, suppression kind) of the privileged-container findings."""
    return sorted(
        (f["name"], f["container"], (f["suppressed"] or {}).get("kind"))
        for f in data["findings"]
        if f["rule_name"] == "privileged-container"
    )


# --- configuration -------------------------------------------------------------------------


def test_config_is_discovered_upwards_and_cli_flags_win(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text("fail-on: critical\nselect: [KS1]\nignore: [cap-*]\n")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "p.yaml").write_text(pod())
    data = report("deploy/p.yaml")
    assert {f["rule_id"][:3] for f in data["findings"]} == {"KS1"}
    assert not any(f["rule_name"].startswith("cap-") for f in data["findings"])
    assert kscan("deploy/p.yaml").exit_code == 1  # critical findings
    assert kscan("--select", "read-only-root-filesystem", "deploy/p.yaml").exit_code == 0
    assert (
        kscan(
            "--fail-on", "low", "--select", "read-only-root-filesystem", "deploy/p.yaml"
        ).exit_code
        == 1
    )


def test_pyproject_tool_section(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.kscan]\nselect = ["privileged-container"]\n'
    )
    (repo / "p.yaml").write_text(pod())
    data = report("p.yaml")
    assert {f["rule_name"] for f in data["findings"]} == {"privileged-container"}
    shown = kscan("config", "show").stdout
    assert 'select: ["privileged-container"]  # ' in shown and "pyproject.toml" in shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[project]\nname = "x"\nversion =\n', ":3:10: error: invalid TOML: Invalid value"),
        (
            '[tool.kscan]\nfail-on = "high"\n[tool.kscan]\n',
            ":3:12: error: invalid TOML: Cannot declare ('tool', 'kscan') twice",
        ),
        ('[tool.kscan]\nselect = ["KS1"', ":2:16: error: invalid TOML: Unclosed array"),
        (b"name = '\xff'\n", ": error: invalid TOML: not UTF-8 text"),
    ],
)
@pytest.mark.parametrize("where", [".", "sub"])
def test_a_pyproject_kscan_cannot_read_stops_the_run(
    repo: Path, text: str | bytes, expected: str, where: str
) -> None:
    """It may hold [tool.kscan], so it is never skipped: the run stops as for a broken
    .kscan.yaml, with one line naming the file and line, before any report is written."""
    (repo / "sub").mkdir()
    (repo / "p.yaml").write_text(pod())
    (repo / "sub" / "q.yaml").write_text(pod("q"))
    config = repo / where / "pyproject.toml"
    config.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = kscan("--format", "json", "p.yaml", "sub/q.yaml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"{config}{expected}\n"
    assert kscan("--isolated", "p.yaml", "sub/q.yaml").exit_code == 1


def test_a_pyproject_without_a_kscan_table_is_ignored(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text("select: [privileged-container]\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (repo / "sub" / "q.yaml").write_text(pod("q"))
    data = report("sub/q.yaml")
    assert {f["rule_name"] for f in data["findings"]} == {"privileged-container"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fail-on: high\nselec: [KS1]\n", ".kscan.yaml:2:1: error: unknown setting 'selec'"),
        ("fail-on: severe\n", ".kscan.yaml:1:1: error: fail-on: 'severe' is not one of"),
        ("severity: {nope: high}\n", ".kscan.yaml:1:12: error: severity: no rule 'nope'"),
        ("select: [zzz-*]\n", ".kscan.yaml:1:10: error: select: no rule matches 'zzz-*'"),
        ("params: {host-path-etc: {paths: 3}}\n", "error: params.host-path-etc.paths"),
        (
            "suppressions: [{rules: [KS101]}]\n",
            "error: suppressions.0: 'reason' is a required property",
        ),
    ],
)
def test_config_errors_name_file_key_and_line(repo: Path, text: str, expected: str) -> None:
    (repo / ".kscan.yaml").write_text(text)
    (repo / "p.yaml").write_text(pod())
    result = kscan("p.yaml")
    assert result.exit_code == 2
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_config_show_names_the_origin_of_each_value(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text("format: json\nexclude: [vendor/**]\n")
    shown = kscan("config", "show").stdout.splitlines()
    assert shown[0].endswith(".kscan.yaml")
    assert any(
        line.startswith('format: "json"  # ') and line.endswith(".kscan.yaml:1") for line in shown
    )
    assert 'fail-on: "low"  # default' in shown


def test_explicit_config_file_and_severity_and_params(repo: Path) -> None:
    config = repo / "ci.yaml"
    config.write_text(
        "select: [privileged-container, image-registry-allowlist]\n"
        "severity: {KS101: low}\n"
        "params: {image-registry-allowlist: {allowed: [registry.example.com/]}}\n"
    )
    (repo / "p.yaml").write_text(pod())
    data = report("--config", str(config), "p.yaml")
    severities = {(f["rule_name"], f["severity"]) for f in data["findings"]}
    assert severities == {("privileged-container", "low"), ("image-registry-allowlist", "medium")}
    assert kscan("--config", "missing.yaml", "p.yaml").exit_code == 2


def test_exclude_globs(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text("exclude: [vendor/**, '*.generated.yaml']\n")
    for name in ("vendor/chart/a.yaml", "deploy/b.generated.yaml", "deploy/c.yaml"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(pod())
    data = report(".")
    assert {f["path"] for f in data["findings"]} == {"deploy/c.yaml"}
    assert (
        report("vendor/chart/a.yaml")["findings"] == []
    )  # named explicitly (pre-commit): still excluded


# --- suppressions --------------------------------------------------------------------------


def test_object_annotation_suppresses_only_that_object(repo: Path) -> None:
    annotated = pod("p", '{kscan.io/ignore: "privileged-container: lab cluster only"}')
    (repo / "p.yaml").write_text(annotated + "---\n" + pod("q"))
    assert privileged(report("p.yaml")) == [
        ("p", "a", "inSource"),
        ("p", "b", "inSource"),
        ("q", "a", None),
        ("q", "b", None),
    ]


def test_per_container_annotation_does_not_leak_to_other_containers(repo: Path) -> None:
    (repo / "p.yaml").write_text(pod("p", '{kscan.io/ignore.a: "KS101: needs /dev/fuse"}'))
    assert privileged(report("p.yaml")) == [("p", "a", "inSource"), ("p", "b", None)]


def test_pod_template_annotation(repo: Path) -> None:
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n"
        "    metadata:\n      annotations:\n"
        '        kscan.io/ignore: "privileged-container, cap-*: vendor chart, tracked in SEC-9"\n'
        "    spec:\n      containers:\n"
        "        - {name: c, image: x, securityContext: {privileged: true}}\n"
    )
    (repo / "d.yaml").write_text(deployment)
    data = report("d.yaml")
    suppressed = {f["rule_name"] for f in data["findings"] if f["suppressed"]}
    assert suppressed == {"privileged-container", "cap-net-raw"}
    assert all(
        f["suppressed"]["reason"] == "vendor chart, tracked in SEC-9"
        for f in data["findings"]
        if f["suppressed"]
    )


def test_inline_comment_on_the_line_or_the_line_above(repo: Path) -> None:
    text = pod(comment_a="  # kscan: ignore[KS101] needs raw devices")
    text = text.replace(
        "      securityContext:\n        privileged: true\n",
        "      securityContext:\n"
        "        # kscan: ignore[privileged-container] build container\n"
        "        privileged: true\n",
    )
    (repo / "p.yaml").write_text(text)
    assert privileged(report("p.yaml")) == [("p", "a", "inSource"), ("p", "b", "inSource")]
    # A trailing comment of another line above does not reach down.
    (repo / "q.yaml").write_text(
        pod().replace("  name: p\n", "  name: p  # kscan: ignore[KS101] x\n")
    )
    assert privileged(report("q.yaml")) == [("p", "a", None), ("p", "b", None)]


def test_config_entries_match_rule_path_and_object(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text(
        "suppressions:\n"
        "  - rules: [privileged-container]\n"
        "    path: 'vendor/**'\n"
        "    name: p\n"
        "    container: b\n"
        "    reason: vendor chart we cannot change\n"
    )
    (repo / "vendor").mkdir()
    (repo / "vendor" / "p.yaml").write_text(pod())
    (repo / "mine.yaml").write_text(pod())
    data = report(".")
    rows = sorted(
        (f["path"], f["container"], (f["suppressed"] or {}).get("kind"))
        for f in data["findings"]
        if f["rule_name"] == "privileged-container"
    )
    assert rows == [
        ("mine.yaml", "a", None),
        ("mine.yaml", "b", None),
        ("vendor/p.yaml", "a", None),
        ("vendor/p.yaml", "b", "external"),
    ]


def test_suppression_without_reason_is_reported_and_still_applies(repo: Path) -> None:
    (repo / "p.yaml").write_text(pod("p", '{kscan.io/ignore: "privileged-container"}'))
    data = report("p.yaml")
    assert [
        f["line"] for f in data["findings"] if f["rule_name"] == "suppression-without-reason"
    ] == [6]
    assert privileged(data) == [("p", "a", "inSource"), ("p", "b", "inSource")]


def test_unused_suppressions_are_reported_on_request(repo: Path) -> None:
    (repo / "p.yaml").write_text(pod("p", '{kscan.io/ignore: "host-network: not used"}'))
    quiet = kscan("--select", "host-network", "p.yaml")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    loud = kscan("--select", "host-network", "--warn-unused-suppressions", "p.yaml")
    assert loud.exit_code == 1
    assert "p.yaml:6:17: warning: suppression of host-network matches no finding" in loud.stderr


def test_suppressed_findings_do_not_fail_and_are_hidden_unless_asked(repo: Path) -> None:
    (repo / "p.yaml").write_text(pod("p", '{kscan.io/ignore: "all: a lab"}'))
    result = kscan("--select", "privileged-container", "p.yaml")
    assert result.exit_code == 0 and "CRITICAL" not in result.stdout
    assert "(2 suppressed)" in result.stdout
    shown = kscan("--select", "privileged-container", "--show-suppressed", "p.yaml").stdout
    assert shown.count("(suppressed at p.yaml:6: a lab)") == 2


def test_sarif_carries_suppressions(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text(
        "suppressions: [{rules: [KS101], container: b, reason: vetted}]\n"
    )
    (repo / "p.yaml").write_text(pod("p", '{kscan.io/ignore.a: "KS101: lab"}'))
    log = json.loads(kscan("--format", "sarif", "--select", "KS101", "p.yaml").stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    kinds = sorted(
        r["suppressions"][0]["kind"] + ":" + r["suppressions"][0]["justification"]
        for r in log["runs"][0]["results"]
    )
    assert kinds == ["external:vetted", "inSource:lab"]


# --- baseline ------------------------------------------------------------------------------


def test_baseline_workflow(repo: Path) -> None:
    manifest = repo / "p.yaml"
    manifest.write_text(pod())
    written = kscan("--write-baseline", "baseline.json", "p.yaml")
    assert written.exit_code == 0 and "Wrote" in written.stdout
    assert kscan("--baseline", "baseline.json", "p.yaml").exit_code == 0
    # Edits elsewhere in the file (lines move) do not bring accepted findings back.
    manifest.write_text("# a comment\n# another\n" + pod())
    again = report("--baseline", "baseline.json", "p.yaml")
    assert again["summary"]["findings"] == 0 and again["summary"]["unchanged"] > 0
    # A new problem is reported; a fixed one is counted as absent.
    manifest.write_text(
        pod().replace(
            "busybox:1.36\n      securityContext:\n        privileged: true\n    - name: b",
            "busybox:1.36\n      securityContext:\n        privileged: false\n"
            "        allowPrivilegeEscalation: true\n    - name: b",
        )
    )
    changed = report("--baseline", "baseline.json", "p.yaml")
    new = [
        (f["rule_name"], f["container"])
        for f in changed["findings"]
        if f["baseline_state"] == "new"
    ]
    assert new == [("allow-privilege-escalation", "a")]
    assert sorted(a["rule"] for a in changed["absent"]) == ["KS101", "KS102"]  # KS102 got worse
    assert kscan("--baseline", "baseline.json", "p.yaml").exit_code == 1


def test_write_baseline_with_an_output_writes_both(repo: Path) -> None:
    """The report shows the findings as they are; the exit code is the baseline's (0, or 2 for
    an input error), since writing a baseline accepts the findings."""
    (repo / "p.yaml").write_text(pod())
    (repo / "broken.yaml").write_text("a: [\n")
    old = repo / "old.json"
    kscan("--write-baseline", str(old), "p.yaml")
    for paths, code in ((["p.yaml"], 0), (["p.yaml", "broken.yaml"], 2)):
        args = ["--baseline", str(old), "--write-baseline", "b.json", "-o", "r.json", *paths]
        run = kscan("--format", "json", *args)
        assert run.exit_code == code, run.output
        accepted = len(json.loads((repo / "b.json").read_text())["findings"])
        assert run.stdout == f"Wrote {accepted} findings to the baseline b.json.\n"
        written = json.loads((repo / "r.json").read_text())
        findings = written["findings"]
        assert written["summary"]["findings"] == len(findings) == accepted > 0
        assert {finding["baseline_state"] for finding in findings} == {None}
    assert [error["path"] for error in written["errors"]] == ["broken.yaml"]


def test_baseline_in_sarif(repo: Path) -> None:
    (repo / "p.yaml").write_text(pod())
    kscan("--select", "KS101", "--write-baseline", "b.json", "p.yaml")
    (repo / "p.yaml").write_text(
        pod().replace(
            "    - name: b\n      image: busybox:1.36\n"
            "      securityContext:\n        privileged: true\n",
            "",
        )
    )
    (repo / "q.yaml").write_text(pod("q"))
    log = json.loads(
        kscan(
            "--format", "sarif", "--select", "KS101", "--baseline", "b.json", "p.yaml", "q.yaml"
        ).stdout
    )
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    states = sorted(r["baselineState"] for r in log["runs"][0]["results"])
    # the fixed finding is no result: GitHub ignores baselineState and would show it as an
    # alert at 1:1; it closes the alert itself when the fingerprint is gone
    assert states == ["new", "new", "unchanged"]


def test_bad_baseline_file(repo: Path) -> None:
    (repo / "b.json").write_text("{}")
    (repo / "p.yaml").write_text(pod())
    result = kscan("--baseline", "b.json", "p.yaml")
    assert result.exit_code == 2 and "b.json: error: invalid baseline" in result.stderr


# --- custom rules --------------------------------------------------------------------------

OWNER_RULE = """\
id: ACME001
name: owner-label
title: Workload has no owner label
severity: low
stride: repudiation
mitre: {tactic: TA0005, technique: T1070}
check:
  template: field
  params:
    target: object
    pod-bearing: true
    conditions:
      - {path: 'metadata.labels["acme.io/owner"]', required: true}
description: Every workload names the team that owns it, so incidents reach the right people.
remediation:
  text: Add the acme.io/owner label with your team's name.
  example: |
    metadata:
      labels:
        acme.io/owner: payments
references: [https://wiki.example.com/labels]
"""


def test_custom_rules_dir(repo: Path) -> None:
    (repo / "kscan-rules").mkdir()
    (repo / "kscan-rules" / "owner-label.yaml").write_text(OWNER_RULE)
    (repo / "kscan-rules" / "no-default-workloads.yaml").write_text(
        OWNER_RULE.replace("ACME001", "ACME002")
        .replace("owner-label", "no-default-workloads")
        .replace(
            "  template: field\n  params:\n    target: object\n    pod-bearing: true\n"
            "    conditions:\n"
            "      - {path: 'metadata.labels[\"acme.io/owner\"]', required: true}\n",
            "  template: kind-in-namespace\n  params:\n    kinds: [Pod, Deployment]\n"
            "    namespaces: [default, kube-*]\n",
        )
    )
    (repo / ".kscan.yaml").write_text("rules-dir: kscan-rules\nselect: [ACME]\n")
    (repo / "p.yaml").write_text(
        pod() + "---\n" + pod("d").replace("namespace: shop", "namespace: default")
    )
    data = report("p.yaml")
    assert sorted((f["rule_id"], f["name"]) for f in data["findings"]) == [
        ("ACME001", "d"),
        ("ACME001", "p"),
        ("ACME002", "d"),
    ]
    explained = kscan("explain", "owner-label")
    assert explained.exit_code == 0 and explained.stdout.startswith("ACME001 owner-label:")
    assert "ACME001" in kscan("rules").stdout


def test_custom_rule_errors_name_file_and_line(repo: Path) -> None:
    rules = repo / "rules"
    rules.mkdir()
    (rules / "owner-label.yaml").write_text(OWNER_RULE.replace("required: true", "requird: true"))
    result = kscan("rules", "--rules-dir", "rules")
    assert result.exit_code == 2
    assert (
        "owner-label.yaml:13:52: error: check.params.conditions.0.requird" in result.stderr
        and "requird" in result.stderr
    )


def test_custom_rule_clashing_with_a_builtin_is_an_error(repo: Path) -> None:
    rules = repo / "rules"
    rules.mkdir()
    (rules / "owner-label.yaml").write_text(OWNER_RULE.replace("ACME001", "KS101"))
    result = kscan("rules", "--rules-dir", "rules")
    assert result.exit_code == 2 and "rule KS101 is already defined" in result.stderr


# --- regressions from review -----------------------------------------------------------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: d, namespace: shop}}
spec:
  template:
    spec:
      volumes:
{volumes}        - {{name: host, hostPath: {{path: /var/lib/data}}}}
      containers:
{containers}        - name: a
          image: x
          securityContext:
            privileged: true
            capabilities: {{add: [{caps}SYS_ADMIN]}}
"""


def deployment(volumes: str = "", containers: str = "", caps: str = "") -> str:
    return DEPLOYMENT.format(volumes=volumes, containers=containers, caps=caps)


def test_baseline_survives_inserted_list_items(repo: Path) -> None:
    (repo / "d.yaml").write_text(deployment())
    kscan("--write-baseline", "b.json", "d.yaml")
    (repo / "d.yaml").write_text(
        deployment(
            volumes="        - {name: cache, emptyDir: {}}\n",
            containers="        - {name: first, image: y, securityContext: {privileged: false}}\n",
            caps="NET_BIND_SERVICE, ",
        )
    )
    data = report("--baseline", "b.json", "d.yaml")
    new = {
        (f["rule_name"], f["container"]) for f in data["findings"] if f["baseline_state"] == "new"
    }
    assert new and all(container == "first" for _, container in new)  # only the new container
    assert data["absent"] == []


def test_unused_suppressions_are_judged_per_selector_and_only_where_possible(repo: Path) -> None:
    annotations = '{kscan.io/ignore: "privileged-container, host-network: lab"}'
    (repo / "p.yaml").write_text(pod("p", annotations))
    (repo / ".kscan.yaml").write_text(
        "suppressions: [{rules: [KS101], path: 'vendor/**', reason: vendor chart}]\n"
    )
    result = kscan("--warn-unused-suppressions", "--context", ".", "p.yaml")
    assert "suppression of host-network matches no finding" in result.stderr
    assert "privileged-container matches" not in result.stderr
    assert ".kscan.yaml" not in result.stderr  # its path scope matches no scanned file
    quiet = kscan("--warn-unused-suppressions", "--select", "KS2", "p.yaml")
    assert "privileged-container" not in quiet.stderr  # KS101 did not run: nothing to judge


def test_baseline_absent_only_for_what_was_scanned(repo: Path) -> None:
    (repo / "p.yaml").write_text(pod())
    (repo / "q.yaml").write_text(pod("q"))
    kscan("--write-baseline", "b.json", ".")
    only_p = report("--baseline", "b.json", "--ignore", "KS105", "p.yaml")
    assert only_p["absent"] == []
    assert report("--baseline", "b.json", ".")["summary"]["absent"] == 0


def test_configured_severity_wins_over_special_cases(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text("severity: {KS102: info}\n")
    (repo / "p.yaml").write_text(
        pod().replace(
            "privileged: true\n    - name: b",
            "privileged: false\n        allowPrivilegeEscalation: true\n    - name: b",
        )
    )
    severities = {f["severity"] for f in report("p.yaml")["findings"] if f["rule_id"] == "KS102"}
    assert severities == {"info"}


def test_namespace_findings_follow_the_namespace_object(repo: Path) -> None:
    namespace = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n"
        '    kscan.io/ignore: "KS316, KS317: quotas live in the cluster policy"\n'
    )
    (repo / "p.yaml").write_text(pod("p", '{kscan.io/ignore: "all: legacy"}') + "---\n" + pod("q"))
    data = report("--select", "KS316", "p.yaml")
    assert [f["suppressed"] for f in data["findings"]] == [None]  # not the first workload's
    (repo / "ns.yaml").write_text(namespace)
    data = report("--select", "KS316", "p.yaml", "ns.yaml")
    assert [f["suppressed"]["reason"] for f in data["findings"]] == [
        "quotas live in the cluster policy"
    ]


@pytest.mark.parametrize(
    "content",
    [
        '{"version": 1, "findings": [{"rule": ["x"]}]}',
        '{"version": 1, "findings": [{"rule": "KS101"}]}',
        '{"version": 1, "findings": "x"}',
        "[]",
    ],
)
def test_malformed_baselines(repo: Path, content: str) -> None:
    (repo / "b.json").write_text(content)
    (repo / "p.yaml").write_text(pod())
    result = kscan("--format", "sarif", "--baseline", "b.json", "p.yaml")
    assert result.exit_code == 2 and "invalid baseline" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_reasonless_suppression_cannot_hide_itself(repo: Path) -> None:
    (repo / "p.yaml").write_text(pod(comment_a="  # kscan: ignore[all]"))
    data = report("p.yaml")
    reasons = [f for f in data["findings"] if f["rule_name"] == "suppression-without-reason"]
    assert len(reasons) == 1 and reasons[0]["suppressed"] is None


def test_cli_lists_add_to_the_file_and_cli_globs_are_relative_to_the_cwd(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / ".kscan.yaml").write_text("ignore: [KS105]\nexclude: [vendor/**]\n")
    for name in ("vendor/v.yaml", "deploy/sub/s.yaml", "deploy/d.yaml"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(pod())
    monkeypatch.chdir(repo / "deploy")
    data = report("--ignore", "KS101", "--exclude", "sub/**", "..")
    rules = {f["rule_id"] for f in data["findings"]}
    assert "KS101" not in rules and "KS105" not in rules
    assert {f["path"] for f in data["findings"]} == {"d.yaml"} or {
        Path(f["path"]).name for f in data["findings"]
    } == {"d.yaml"}


def test_config_suppression_namespace_default_matches_objects_without_one(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text(
        "suppressions: [{rules: [KS101], namespace: default, reason: dev}]\n"
    )
    (repo / "p.yaml").write_text(pod().replace("  namespace: shop\n", ""))
    assert all(f["suppressed"] for f in report("--select", "KS101", "p.yaml")["findings"])


def test_kind_in_namespace_skips_cluster_scoped_objects(repo: Path) -> None:
    (repo / "rules").mkdir()
    (repo / "rules" / "nothing-in-default.yaml").write_text(
        OWNER_RULE.replace("owner-label", "nothing-in-default").replace(
            "  template: field\n  params:\n    target: object\n    pod-bearing: true\n"
            "    conditions:\n"
            "      - {path: 'metadata.labels[\"acme.io/owner\"]', required: true}\n",
            "  template: kind-in-namespace\n  params: {kinds: ['*'], namespaces: [default]}\n",
        )
    )
    (repo / "x.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    )
    data = report("--rules-dir", "rules", "--select", "ACME001", "x.yaml")
    assert [f["kind"] for f in data["findings"]] == ["ConfigMap"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "select: [KS1]\nselect: [KS2]\n",
            ".kscan.yaml:2:1: error: 'select' is set twice (lines 1 and 2)",
        ),
        ("severity: {KS101: low, privileged-container: high}\n", "are the same rule"),
        (
            "suppressions: [{rules: [zzz], reason: why not}]\n",
            "suppressions: no rule matches 'zzz'",
        ),
        ("params: {KS221: {nope: 3}}\n", "params.KS221.nope"),
    ],
)
def test_more_config_mistakes_are_errors(repo: Path, text: str, expected: str) -> None:
    (repo / ".kscan.yaml").write_text(text)
    (repo / "p.yaml").write_text(pod())
    for args in (("p.yaml",), ("config", "show")):
        result = kscan(*args)
        assert result.exit_code == 2 and expected in result.stderr, (args, result.stderr)


def test_anchored_exclude_globs_and_quoted_label_paths(repo: Path) -> None:
    (repo / ".kscan.yaml").write_text("exclude: [./vendor/**, /build/*.yaml]\n")
    for name in ("vendor/a.yaml", "build/b.yaml", "src/vendor/c.yaml"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(pod())
    assert {f["path"] for f in report("--select", "KS101", ".")["findings"]} == {
        "src/vendor/c.yaml"
    }


def test_comment_text_inside_a_block_scalar_is_not_a_suppression(repo: Path) -> None:
    script = (
        "      args:\n        - |\n          # kscan: ignore[all] not a YAML comment\n"
        "          run\n      securityContext:"
    )
    (repo / "p.yaml").write_text(pod().replace("      securityContext:", script, 1))
    assert privileged(report("p.yaml")) == [("p", "a", None), ("p", "b", None)]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            '  - {name: a, image: "x # kscan: ignore[all] ok",'
            " securityContext: {privileged: true}}\n",
            id="double-quoted",
        ),
        pytest.param(
            "  - {name: a, image: 'x # kscan: ignore[all] ok',"
            " securityContext: {privileged: true}}\n",
            id="single-quoted",
        ),
        pytest.param(
            '  - {name: a, env: [{name: E, value: " # kscan: ignore[all] ok"}], image: x,'
            " securityContext: {privileged: true}}\n",
            id="quoted-env-value",
        ),
        pytest.param(
            '  - {name: a, image: x, securityContext: {privileged: true}, args: ["a\n'
            '      # kscan: ignore[all] ok"]}\n',
            id="multi-line-quoted",
        ),
        pytest.param(
            "  - name: a\n    image: x\n    args: [\"#\", '# kscan: ignore[all] ok']\n"
            "    securityContext: {privileged: true}\n",
            id="quoted-item-on-the-line-above",
        ),
    ],
)
def test_comment_text_inside_a_quoted_scalar_is_not_a_suppression(repo: Path, text: str) -> None:
    """Only a real YAML comment suppresses: the text ``# kscan: ignore[all]`` inside a quoted
    value is data, even on the line a finding points at (or the line above)."""
    head = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
    (repo / "p.yaml").write_text(head + text)
    assert privileged(report("p.yaml")) == [("p", "a", None)]


def test_a_real_comment_after_a_quoted_fake_one_still_suppresses(repo: Path) -> None:
    head = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n"
    line = (
        '  - {name: a, image: "# kscan: ignore[KS999] fake", securityContext: {privileged: true}}'
        "  # kscan: ignore[KS101] lab node\n"
    )
    (repo / "p.yaml").write_text(head + line)
    data = report("p.yaml")
    assert privileged(data) == [("p", "a", "inSource")]
    (finding,) = [f for f in data["findings"] if f["rule_name"] == "privileged-container"]
    assert finding["suppressed"]["reason"] == "lab node"


def test_json_has_no_comments_so_no_suppression(repo: Path) -> None:
    pod_json = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {
            "containers": [
                {
                    "name": "a",
                    "image": "x # kscan: ignore[all] ok",
                    "securityContext": {"privileged": True},
                }
            ]
        },
    }
    (repo / "p.json").write_text(json.dumps(pod_json))
    assert privileged(report("p.json")) == [("p", "a", None)]


def test_a_comment_alone_above_a_document_s_first_key_suppresses_it(repo: Path) -> None:
    text = (
        "# kscan: ignore[naked-pod] a debugging pod\n"
        "metadata: {name: p, namespace: shop}\napiVersion: v1\nkind: Pod\n"
        "spec:\n  containers: [{name: a, image: busybox:1.36}]\n"
    )
    (repo / "p.yaml").write_text(text)
    data = report("--select", "naked-pod", "p.yaml")
    assert [(f["rule_name"], (f["suppressed"] or {}).get("reason")) for f in data["findings"]] == [
        ("naked-pod", "a debugging pod")
    ]


def test_enable_never_widens_a_selection(repo: Path) -> None:
    """``--enable`` turns on rules that are off by default; a ``--select`` (or a configuration's
    ``select``) already runs every rule it names, so ``--select X --enable all`` runs X alone
    (kscan/rules/selection.py ``configure``; README, Usage)."""
    (repo / "p.yaml").write_text(pod())
    ids = {
        f["rule_id"] for f in report("--select", "KS101", "--enable", "all", "p.yaml")["findings"]
    }
    assert ids == {"KS101"}
    widened = report("--enable", "image-digest", "p.yaml")["findings"]
    assert "image-digest" in {f["rule_name"] for f in widened}  # without select, enable adds
    assert {f["rule_name"] for f in report("--select", "image-digest", "p.yaml")["findings"]} == {
        "image-digest"
    }
    (repo / ".kscan.yaml").write_text("select: [KS101]\n")
    ids = {f["rule_id"] for f in report("--enable", "image-digest", "p.yaml")["findings"]}
    assert ids == {"KS101"}
    assert kscan("--enable", "no-such-rule", "p.yaml").exit_code == 2


def test_discovery_remembers_directories_without_changing_answers(tmp_path: Path) -> None:
    """``discover_for`` with a memo answers as without one, in any order of directories: the
    nearest configuration wins, a repository root stops the search."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / ".kscan.yaml").write_text("{}\n")
    (tmp_path / "repo" / "team" / "a" / "deep").mkdir(parents=True)
    (tmp_path / "repo" / "team" / "b").mkdir(parents=True)
    (tmp_path / "repo" / "team" / "b" / ".kscan.yaml").write_text("{}\n")
    (tmp_path / "bare" / ".git").mkdir(parents=True)
    (tmp_path / "bare" / "x").mkdir()
    directories = [
        str(tmp_path / "repo" / "team" / "a" / "deep"),
        str(tmp_path / "repo" / "team" / "b"),
        str(tmp_path / "repo" / "team" / "a"),
        str(tmp_path / "repo" / "team"),
        str(tmp_path / "bare" / "x"),
        str(tmp_path / "repo" / "team" / "b"),
    ]
    fresh = [discover_for(directory) for directory in directories]
    assert fresh[0] == fresh[2] == fresh[3] == str(tmp_path / "repo" / ".kscan.yaml")
    assert fresh[1] == str(tmp_path / "repo" / "team" / "b" / ".kscan.yaml") and fresh[4] is None
    assert discover_for(tmp_path / "repo" / "team" / "b") == fresh[1]  # a Path is taken too
    for order in (directories, directories[::-1]):
        known: dict[str, str | None] = {}
        answers = {directory: discover_for(directory, known) for directory in order}
        assert [answers[directory] for directory in directories] == fresh


def deny_search(monkeypatch: pytest.MonkeyPatch, *folders: Path) -> None:
    """``os.stat`` and ``os.lstat`` of an absolute name below one of ``folders`` fail with
    EACCES, as they do when a folder on the way may not be searched (a scan started in a
    folder under one it may not enter: names relative to it still work). Root bypasses
    permission bits, so the tests simulate them."""
    denied = tuple(f"{folder}/" for folder in folders)
    for name in ("stat", "lstat"):
        real = getattr(os, name)

        def refusing(path: Any, *args: Any, real: Any = real, **kwargs: Any) -> Any:
            text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else ""
            if text.startswith(denied):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), text)
            return real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, refusing)


@pytest.mark.parametrize("command", [(), ("config", "show"), ("threats",)])
def test_a_configuration_kscan_cannot_look_for_stops_the_run(
    repo: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    """Started in a folder below one it may not search, kscan cannot tell whether a
    configuration governs the files (``os.path.isfile`` would answer False): one line naming
    the file, exit 2, rather than a scan under no configuration; ``--config`` or
    ``--isolated`` sets discovery aside."""
    (repo / ".kscan.yaml").write_text("ignore: [all]\n")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "p.yaml").write_text(pod())
    deny_search(monkeypatch, repo)
    result = kscan(*command, "deploy/p.yaml")
    config = repo / "deploy" / ".kscan.yaml"
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"{config}: error: cannot tell whether this configuration file exists (Permission "
        "denied); --config FILE names the configuration instead\n"
    )
    for aside in ("--config", ".kscan.yaml"), ("--isolated",):
        if aside != ("--isolated",) or command != ("threats",):  # threats has no --isolated
            result = kscan(*command, *aside, "deploy/p.yaml")
            assert result.exit_code in (0, 1) and result.stderr == ""


def test_a_repository_root_kscan_cannot_look_for_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a folder holds ``.git`` decides whether the configuration above it applies."""
    (tmp_path / ".kscan.yaml").write_text("{}\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    real = os.stat

    def refusing(path: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(path) == str(tmp_path / "repo" / ".git"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", refusing)
    with pytest.raises(config_files.ConfigError) as raised:
        discover_for(str(tmp_path / "repo"))
    assert str(raised.value) == (
        f"{tmp_path / 'repo' / '.git'}: error: cannot tell whether it exists (Permission "
        "denied), which ends configuration discovery; --config FILE names the configuration "
        "instead"
    )


def test_folders_above_the_configuration_or_the_repository_root_are_not_looked_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder discovery never reaches, such as one above the repository, may be one kscan
    cannot search: the scan goes on."""
    repo = tmp_path / "outer" / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "team" / "a").mkdir(parents=True)
    (repo / "team" / ".kscan.yaml").write_text("{}\n")
    real_stat, real_lstat = os.stat, os.lstat
    outer = tmp_path / "outer"
    seen: list[str] = []

    def watched(real: Any) -> Any:
        def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(os.fspath(path))
            if os.path.dirname(os.fspath(path)) in (str(outer), str(tmp_path)):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
            return real(path, *args, **kwargs)

        return stat

    monkeypatch.setattr(os, "stat", watched(real_stat))
    monkeypatch.setattr(os, "lstat", watched(real_lstat))
    assert discover_for(str(repo / "team" / "a")) == str(repo / "team" / ".kscan.yaml")
    assert discover_for(str(repo)) is None
    assert all(path.startswith(f"{repo}/") for path in seen)


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        (".kscan.yaml", "dangling link", "cannot read: No such file or directory"),
        (".kscan.yml", "looping link", "cannot read: Too many levels of symbolic links"),
        (".kscan.yaml", "folder", "cannot read: not a regular file"),
        ("pyproject.toml", "folder", "cannot read: not a regular file"),
        ("pyproject.toml", "dangling link", "cannot read: No such file or directory"),
    ],
)
def test_a_configuration_name_kscan_cannot_read_stops_the_run(
    repo: Path, name: str, make: str, expected: str
) -> None:
    """A configuration's name that is there but names nothing kscan can read (a link to a
    shared policy that was not checked out, a folder) is not taken for no configuration."""
    (repo / ".kscan.yaml").write_text("{}\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "p.yaml").write_text(pod())
    config = repo / "sub" / name
    if make == "folder":
        config.mkdir()
    else:
        config.symlink_to(config if make == "looping link" else repo / "missing.yaml")
    result = kscan("sub/p.yaml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"{config}: error: {expected}\n"


@pytest.mark.parametrize("name", [".kscan.yaml", "pyproject.toml"])
def test_a_configuration_file_kscan_may_not_open_stops_the_run(
    repo: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A configuration file there that kscan may not read (EACCES on open) stops the run."""
    (repo / ".kscan.yaml").write_text("{}\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "p.yaml").write_text(pod())
    config = repo / "sub" / name
    config.write_text("[tool.kscan]\n" if name == "pyproject.toml" else "{}\n")
    real = open

    def refusing(path: Any, *args: Any, **kwargs: Any) -> Any:
        if os.fspath(path) == str(config):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing)
    result = kscan("sub/p.yaml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"{config}: error: cannot read: Permission denied\n"


_VALUES = st.one_of(
    st.sampled_from(["", "x", "ab", "abc", "high", "never", "json", "info", "KS1", "*.yaml"]),
    st.none(),
    st.booleans(),
    st.integers(-1, 3),
)
_LEAVES = st.one_of(_VALUES, st.lists(_VALUES, max_size=3), st.dictionaries(_VALUES, _VALUES))
_SUPPRESSION = st.dictionaries(
    st.sampled_from(["rules", "reason", "path", "kind", "namespace", "name", "container", "x"]),
    st.one_of(_VALUES, st.lists(_VALUES, max_size=2)),
)
_SETTING = st.sampled_from([*config_files.DEFAULTS, "unknown", 1])


@given(
    st.dictionaries(
        _SETTING,
        st.one_of(
            _LEAVES,
            st.lists(_SUPPRESSION, max_size=3),
            st.dictionaries(_VALUES, st.one_of(_VALUES, st.dictionaries(_VALUES, _VALUES))),
        ),
        max_size=5,
    )
)
@settings(max_examples=400, deadline=None)
def test_a_config_passed_without_jsonschema_is_valid(data: dict[object, object]) -> None:
    """The hand check that spares a valid file jsonschema never passes what the schema
    refuses (a file it does not pass is checked by the schema, which names the problem)."""
    from kscan.support.json_schema import first_error

    if config_files._plainly_valid(data):
        assert first_error(config_files.CONFIG_SCHEMA, data) is None


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"select": ["KS1", "host-path-*"], "enable": [], "ignore": ["all"], "fail-on": "never"},
        {"severity": {"KS101": "info"}, "params": {"image-digest": {}}, "format": "sarif"},
        {"exclude": ["vendor/**"], "rules-dir": "r", "base-dir": ".", "trusted-registries": []},
        {"suppressions": [{"rules": ["KS1"], "reason": "why", "path": "a/**", "kind": "Pod"}]},
        {"suppressions": [{"rules": [], "reason": "abc", "namespace": "", "name": "x"}]},
        {"suppressions": [{"rules": ["all"], "reason": "abc", "container": "c"}]},
    ],
)
def test_a_valid_config_is_passed_without_jsonschema(data: dict[str, object]) -> None:
    from kscan.support.json_schema import first_error

    assert first_error(config_files.CONFIG_SCHEMA, data) is None
    assert config_files._plainly_valid(data)


def _keywords(node: object) -> set[str]:
    """Every keyword used in a schema, at any depth (``$defs`` and ``properties`` hold names)."""
    if isinstance(node, list):
        return set().union(*map(_keywords, node))
    if not isinstance(node, dict):
        return set()
    found = set(node)
    for keyword, argument in node.items():
        values = argument.values() if keyword in ("$defs", "properties") else [argument]
        found |= set().union(*map(_keywords, values))
    return found


def test_the_hand_check_knows_every_keyword_of_the_schema() -> None:
    """A keyword added to ``schema.json`` that the hand check does not know makes it refuse
    every file setting what that keyword constrains: each valid file would import jsonschema
    again. The hand check must learn the keyword (``_holds``)."""
    with open(config_files.CONFIG_SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    understood = {
        *config_files._ANNOTATIONS,
        *("$ref", "type", "enum", "minLength", "required", "items", "properties"),
        "additionalProperties",
    }
    assert _keywords(schema) <= understood
    assert set(schema["properties"]) == set(config_files.DEFAULTS)


def test_the_hand_check_reads_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand check keeps no copy of the schema's values (enums, severities, the keys and
    reason length of suppressions): it reads ``schema.json``, so an edit to the schema is an
    edit to the hand check."""
    with open(config_files.CONFIG_SCHEMA, encoding="utf-8") as handle:
        schema = json.load(handle)
    assert config_files._schema() == schema
    assert config_files._plainly_valid({"fail-on": "never", "severity": {"KS101": "info"}})
    entry = {"rules": ["KS1"], "reason": "abc", "kind": "Pod"}
    assert config_files._plainly_valid({"suppressions": [entry]})
    properties = schema["properties"]
    properties["fail-on"]["enum"].remove("never")
    properties["format"]["enum"].append("yaml")
    properties["severity"]["additionalProperties"]["enum"].remove("info")
    suppression = properties["suppressions"]["items"]
    suppression["properties"]["reason"]["minLength"] = 4
    del suppression["properties"]["kind"]
    suppression["properties"]["team"] = {"type": "string"}
    monkeypatch.setattr(config_files, "_schema", lambda: schema)
    assert not config_files._plainly_valid({"fail-on": "never"})
    assert config_files._plainly_valid({"format": "yaml"})
    assert not config_files._plainly_valid({"severity": {"KS101": "info"}})
    assert not config_files._plainly_valid({"suppressions": [entry]})
    assert not config_files._plainly_valid({"suppressions": [{**entry, "reason": "abcd"}]})
    team = {"rules": ["KS1"], "reason": "abcd", "team": "x"}
    assert config_files._plainly_valid({"suppressions": [team]})
