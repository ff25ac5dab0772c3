"""What a first-time user meets: the README's examples and commands, a mistyped rule name, a
malformed custom-rule path, the names CI dashboards key on."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import junitparser
import pytest
import yaml
from click.testing import CliRunner

from kscan.cli import cli

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def _kscan(*args: str, stdin: str | None = None, cwd: Path = REPO) -> Run:
    """kscan's command line, in this process (a subprocess per run would cost a second)."""
    before = os.getcwd()
    os.chdir(cwd)  # not contextlib.chdir: kscan supports Python 3.10
    try:
        result = CliRunner().invoke(cli, list(args), input=stdin)
    finally:
        os.chdir(before)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def test_explain_suggests_the_rule_meant() -> None:
    """``kscan explain privileged`` names privileged-container, the rule a user looks for."""
    result = CliRunner().invoke(cli, ["explain", "privileged"])
    assert result.exit_code == 2
    assert "did you mean" in result.output and "privileged-container" in result.output
    result = CliRunner().invoke(cli, ["explain", "host-pd"])
    assert "did you mean host-pid" in result.output
    result = CliRunner().invoke(cli, ["explain", "ks10"])
    assert "did you mean privileged-container (KS101)" in result.output
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


def _readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def _owner_rule(tmp_path: Path, path: str) -> Path:
    """The README's worked custom rule, with its condition's path replaced by ``path``."""
    text = _readme().split("A worked example, `kscan-rules/owner-label.yaml`:\n\n```yaml\n")[1]
    text = text.split("```")[0]
    rules = tmp_path / "kscan-rules"
    rules.mkdir()
    good = "'metadata.labels[\"acme.io/owner\"]'"
    assert good in text
    (rules / "owner-label.yaml").write_text(text.replace(good, repr(path)), encoding="utf-8")
    return rules


@pytest.mark.parametrize(
    ("path", "character"),
    [
        ('metadata.labels["acme.io/owner', 16),  # the closing "] left out
        ("metadata.labels[acme.io/owner]", 16),
        ("metadata..labels", 10),
        ("metadata.labels.", 17),
        ('metadata.labels"x"', 16),
        ("metadata.labels|", 16),
    ],
)
def test_a_malformed_custom_rule_path_is_refused_with_its_position(
    tmp_path: Path, path: str, character: int
) -> None:
    """Before, ``metadata.labels["acme.io/owner`` loaded as ``metadata.labels.acme.io/owner``
    (the bracket and quote dropped), a label no workload has: the rule fired on every one."""
    rules = _owner_rule(tmp_path, path)
    result = _kscan("--isolated", "--rules-dir", str(rules), "examples/hardened-deployment.yaml")
    assert result.returncode == 2, result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{rules / 'owner-label.yaml'}:13:")
    assert "is not a field path: " in line and f"at character {character}" in line


def test_the_worked_custom_rule_loads_and_checks_the_label(tmp_path: Path) -> None:
    rules = _owner_rule(tmp_path, 'metadata.labels["acme.io/owner"]')
    result = _kscan(
        "--isolated",
        "--rules-dir",
        str(rules),
        "--select",
        "owner-label",
        "--format",
        "json",
        "examples/hardened-deployment.yaml",
    )
    assert result.returncode == 1, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert (
        finding["rule_name"] == "owner-label"
        and finding["field"] == "/metadata/labels/acme.io~1owner"
    )


def _junit_cases(path: Path) -> list[tuple[str, str, int]]:
    result = _kscan("--isolated", "--format", "junit", str(path))
    assert result.returncode == 1, result.stderr
    xml = junitparser.JUnitXml.fromstring(result.stdout)
    return [(case.classname, case.name, int(case._elem.get("line"))) for s in xml for case in s]


def test_junit_test_names_are_unique_and_do_not_move_with_lines(tmp_path: Path) -> None:
    """GitLab matches JUnit test cases across pipelines by (classname, name): a line number in
    the name made an edit above a finding look like a fixed finding and a new one, and the two
    KS501 findings of one namespace (ingress, egress) had the same pair."""
    text = (REPO / "examples" / "insecure-deployment.yaml").read_text(encoding="utf-8")
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: open}\nspec:\n"
    pod += "  containers:\n  - {name: c, image: i:1}\n"
    before, after = tmp_path / "before.yaml", tmp_path / "after.yaml"
    before.write_text(text + "---\n" + pod, encoding="utf-8")
    after.write_text("# a comment\n# and another\n" + text + "---\n" + pod, encoding="utf-8")
    cases = _junit_cases(before)
    names = [(classname, name) for classname, name, _ in cases]
    assert len(names) == len(set(names)) > 20
    assert (
        "KS501 default-deny-network-policy",
        "Namespace open /metadata/namespace (Egress)",
    ) in names
    assert (
        "KS501 default-deny-network-policy",
        "Namespace open /metadata/namespace (Ingress)",
    ) in names
    moved = _junit_cases(after)
    assert sorted((c, n) for c, n, _ in moved) == sorted(names)
    assert sorted(line for *_, line in moved) == sorted(line + 2 for *_, line in cases)


def test_junit_names_two_unnamed_objects_apart(tmp_path: Path) -> None:
    manifest = tmp_path / "pods.yaml"
    pod = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - {name: c, image: i:1}\n"
    manifest.write_text(pod + "---\n" + pod, encoding="utf-8")
    names = [(classname, name) for classname, name, _ in _junit_cases(manifest)]
    assert len(names) == len(set(names))
    assert any(name.endswith(" #2") for _, name in names)


PRIVILEGED = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  containers:\n"
    "  - name: c\n    image: i:1\n    securityContext:\n      privileged: true{comment}\n"
)


def test_sarif_leaves_out_findings_fixed_since_the_baseline(tmp_path: Path) -> None:
    """GitHub code scanning's SARIF support lists the result properties it reads, and
    ``baselineState`` is not one: an ``absent`` result (at 1:1, where kscan put it) would be
    uploaded as one more alert. GitHub closes the alert of a fixed finding when its
    fingerprint is missing from the next upload."""
    manifest = tmp_path / "p.yaml"
    manifest.write_text(PRIVILEGED.replace("{comment}", ""), encoding="utf-8")
    baseline = tmp_path / "b.json"
    common = ("--isolated", "--select", "KS101", "--base-dir", str(tmp_path))
    assert _kscan(*common, "--write-baseline", str(baseline), str(manifest)).returncode == 0
    manifest.write_text(
        PRIVILEGED.replace("{comment}", "").replace("true", "false"), encoding="utf-8"
    )
    result = _kscan(*common, "--format", "sarif", "--baseline", str(baseline), str(manifest))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["runs"][0]["results"] == []
    result = _kscan(*common, "--format", "json", "--baseline", str(baseline), str(manifest))
    assert [entry["rule"] for entry in json.loads(result.stdout)["absent"]] == ["KS101"]


def test_a_suppression_without_reason_has_no_made_up_justification(tmp_path: Path) -> None:
    manifest = tmp_path / "p.yaml"
    manifest.write_text(
        PRIVILEGED.replace("{comment}", "  # kscan: ignore[KS101]"), encoding="utf-8"
    )
    result = _kscan("--isolated", "--select", "KS101", "--format", "sarif", str(manifest))
    [found] = json.loads(result.stdout)["runs"][0]["results"]
    assert found["suppressions"] == [{"kind": "inSource"}]
    manifest.write_text(
        PRIVILEGED.replace("{comment}", "  # kscan: ignore[KS101] lab only"), encoding="utf-8"
    )
    result = _kscan("--isolated", "--select", "KS101", "--format", "sarif", str(manifest))
    [found] = json.loads(result.stdout)["runs"][0]["results"]
    assert found["suppressions"] == [{"kind": "inSource", "justification": "lab only"}]


def test_sarif_from_stdin_without_a_name_warns_once() -> None:
    manifest = PRIVILEGED.replace("{comment}", "")
    args = ("--isolated", "--select", "KS101", "--format", "sarif")
    result = _kscan(*args, "-", stdin=manifest)
    assert result.returncode == 1
    [warning] = result.stderr.splitlines()
    assert "warning:" in warning and "%3Cstdin%3E" in warning and "--stdin-filename" in warning
    result = _kscan(*args, "--stdin-filename", "deploy/p.yaml", "-", stdin=manifest)
    assert result.returncode == 1 and result.stderr == ""
    uri = json.loads(result.stdout)["runs"][0]["results"][0]["locations"][0]
    assert uri["physicalLocation"]["artifactLocation"]["uri"] == "deploy/p.yaml"
    result = _kscan("--isolated", "--select", "KS101", "-", stdin=manifest)
    assert "stdin-filename" not in result.stderr  # other formats name it <stdin>, as is


NODE_EXPORTER = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: monitoring}
spec:
  selector: {matchLabels: {app: node-exporter}}
  template:
    metadata: {labels: {app: node-exporter}}
    spec:
      hostPID: true
      containers:
      - name: node-exporter
        image: quay.io/prometheus/node-exporter:v1.8.2
        args: [--path.procfs=/host/proc, --path.sysfs=/host/sys]
        volumeMounts:
        - {name: proc, mountPath: /host/proc, readOnly: true}
        - {name: sys, mountPath: /host/sys, readOnly: true}
      volumes:
      - name: proc
        hostPath: {path: /proc}
      - name: sys
        hostPath: {path: /sys}
"""


def _readme_config() -> dict[str, object]:
    block = _readme().split("```yaml\n# .kscan.yaml\n")[1].split("```")[0]
    loaded = yaml.safe_load(block)
    assert isinstance(loaded, dict)
    return loaded


def _node_exporter(tmp_path: Path, suppressions: object) -> Run:
    (tmp_path / "vendor" / "monitoring").mkdir(parents=True, exist_ok=True)
    (tmp_path / "vendor" / "monitoring" / "node-exporter.yaml").write_text(NODE_EXPORTER, "utf-8")
    config = yaml.safe_dump({"suppressions": suppressions}, sort_keys=False)
    (tmp_path / ".kscan.yaml").write_text(config, encoding="utf-8")
    return _kscan("--format", "json", ".", cwd=tmp_path)


def test_the_readme_suppression_example_suppresses_what_it_says(tmp_path: Path) -> None:
    """The example's entry once scoped pod-level rules (hostPID, hostPath volumes) to the
    container node-exporter: their findings name no container, so it suppressed nothing, and
    left out /proc, /sys and the restricted volume types its reason is about."""
    [entry] = _readme_config()["suppressions"]  # type: ignore[misc]
    result = _node_exporter(tmp_path, [entry])
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    meant = {"host-pid", "host-path-volume", "host-path-proc", "host-path-sys"}
    meant.add("restricted-volume-types")
    suppressed = {f["rule_name"] for f in findings if f["suppressed"]}
    assert suppressed == meant
    for finding in findings:
        if finding["rule_name"] in meant:
            assert finding["suppressed"]["reason"] == entry["reason"]
    # the entry is no blanket: the container's own findings still count
    assert any(f["container"] == "node-exporter" and not f["suppressed"] for f in findings)


def test_a_container_scope_on_rules_without_containers_is_a_config_error(
    tmp_path: Path,
) -> None:
    entry = {"rules": ["host-path-volume", "host-pid"], "kind": "DaemonSet"}
    entry |= {"container": "node-exporter", "reason": "reads /proc"}
    result = _node_exporter(tmp_path, [entry])
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    config = (tmp_path / ".kscan.yaml").read_text(encoding="utf-8").splitlines()
    where = next(n for n, text in enumerate(config, 1) if text.strip().startswith("container:"))
    column = config[where - 1].index("container:") + 1
    assert line.startswith(f"{tmp_path / '.kscan.yaml'}:{where}:{column}: error: suppressions: ")
    assert "'host-path-volume'" in line and "never one container" in line
    # a glob none of whose rules report a container: the same
    entry["rules"] = ["host-path-*"]
    result = _node_exporter(tmp_path, [entry])
    assert result.returncode == 2 and "the findings of the " in result.stderr


@pytest.mark.parametrize(
    "rules", [["read-only-root-filesystem"], ["all"], ["KS2", "read-only-root-filesystem"]]
)
def test_a_container_scope_on_container_rules_loads_and_applies(
    tmp_path: Path, rules: list[str]
) -> None:
    """Rules that report containers (the container target of ``field``, capabilities, images)
    take a container scope; so do selectors that match one such rule at least (``all``)."""
    entry = {"rules": rules, "container": "node-exporter", "reason": "reviewed"}
    result = _node_exporter(tmp_path, [entry])
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    rofs = [f for f in findings if f["rule_name"] == "read-only-root-filesystem"]
    assert rofs and all(f["suppressed"] for f in rofs)
    assert all(not f["suppressed"] for f in findings if f["container"] is None)


def test_which_templates_name_containers() -> None:
    """The templates that report a container are those whose violations carry one."""
    from kscan.rules.registry import load_rules

    rules = {rule.name: rule for rule in load_rules()}

    def names(rule: str) -> bool:
        return rules[rule].template.names_containers(rules[rule].params)

    assert not any(map(names, ["host-pid", "host-path-proc", "restricted-volume-types"]))
    assert not any(map(names, ["default-deny-network-policy", "duplicate-key"]))
    assert all(map(names, ["read-only-root-filesystem", "cap-net-raw", "run-as-non-root"]))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tsconfig.json", '{\n  // TypeScript\n  "compilerOptions": {"strict": true},\n}\n'),
        ("settings.json", '{\n  /* editor */ "files.exclude": {"C:\\\\Users": true}\n}\n'),
        ("devcontainer.json", '{"name": "dev", // the image\n "image": "x"}\n'),
    ],
)
def test_json_with_comments_that_cannot_hold_an_object_is_a_note(
    tmp_path: Path, name: str, text: str
) -> None:
    """The pre-commit hook passes every staged .json file: JSON with comments (tsconfig.json,
    .vscode, devcontainer files) made each commit fail with an input error."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = _kscan("--isolated", str(path))
    assert result.returncode == 0, result.stderr
    [note] = result.stderr.splitlines()
    assert note.startswith(f"{path}:") and ": note: skipped: not JSON" in note
    assert result.stdout.startswith("No findings in 1 file, 0 documents")


@pytest.mark.parametrize(
    "text",
    [
        '{"apiVersion": "v1", "kind": "Pod", // a comment\n}',
        '{"KIND": "Pod", // a comment\n}',  # a decoder that matches keys loosely
        '{"\\u006bind": "Pod", "apiVersion": "v1", // c\n}',  # an escape spells kind
        '{"\\x6bind": "Pod", // c\n}',
        '{"ki\\\n nd": "Pod", // c\n}',  # a backslash joins the lines of a quoted key
        "{? !!binary a2luZA==: Pod, // c\n}",  # a tag decodes to kind
        '{"a": 1}\n{"b": 2, // the second value\n}',  # something read before the error
    ],
)
def test_a_json_file_that_could_hold_an_object_stays_an_error(tmp_path: Path, text: str) -> None:
    """A hostile file must not pass for JSON with comments: a text that holds kind or
    apiVersion, in any case or spelled with escapes or tags, keeps its error (exit 2)."""
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    result = _kscan("--isolated", str(path))
    assert result.returncode == 2, result.stderr
    assert ": error: invalid JSON" in result.stderr and "note" not in result.stderr


def test_a_json_file_over_a_limit_stays_an_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 50 + "]" * 50, encoding="utf-8")
    result = _kscan("--isolated", "--max-depth", "10", str(path))
    assert result.returncode == 2 and "nested more than 10 levels" in result.stderr
