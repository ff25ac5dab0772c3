"""Rules that overlap (``refines``, ``implied-by``) and the grouped text report built on them:
one root cause reads as one problem, while JSON and SARIF keep one result per rule."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kscan.cli import cli
from kscan.report import FORMATS
from kscan.report.text import WIDTH
from kscan.rules.docs import as_text
from kscan.rules.registry import RuleError, load_rules

REPO = Path(__file__).resolve().parents[1]
REPO_RULES = REPO / "rules"
FIXTURES = REPO / "tests" / "fixtures"
GOOD = (REPO_RULES / "pod" / "cap-net-raw.yaml").read_text()

NGINX = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.25
          ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""

AGENT = """\
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops}
spec:
  containers:
    - name: agent
      image: agent:1
      securityContext:
        privileged: true
        capabilities: {add: [NET_ADMIN, SYS_TIME]}
  volumes:
    - {name: proc, hostPath: {path: /proc}}
    - {name: sys, hostPath: {path: /sys}}
"""


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def load_with(tmp_path: Path, text: str) -> str:
    """Load the built-in rules plus one custom rule file; return the error text."""
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "acme-net-raw.yaml").write_text(text)
    with pytest.raises(RuleError) as caught:
        load_rules(custom=custom)
    return str(caught.value)


CUSTOM = GOOD.replace("id: KS115", "id: ACME115").replace("name: cap-net-raw", "name: acme-net-raw")


def test_unknown_rule_in_refines_is_an_error_at_its_position(tmp_path: Path) -> None:
    text = CUSTOM.replace("refines: [KS106]", "refines: [KS106, KS999]")
    error = load_with(tmp_path, text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("refines:"))
    column = text.splitlines()[line - 1].index("KS999") + 1
    assert f"acme-net-raw.yaml:{line}:{column}: error: refines.1: unknown rule KS999" in error


def test_implied_by_naming_itself_or_a_string_is_an_error(tmp_path: Path) -> None:
    error = load_with(tmp_path, CUSTOM.replace("refines: [KS106]", "implied-by: [ACME115]"))
    assert "implied-by.0: a rule cannot name itself" in error
    shutil.rmtree(tmp_path / "custom")
    error = load_with(tmp_path, CUSTOM.replace("refines: [KS106]", "refines: KS106"))
    assert "acme-net-raw.yaml:" in error and "refines: 'KS106' is not of type 'array'" in error


def test_a_custom_rule_may_refine_a_builtin_one(tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "acme-net-raw.yaml").write_text(CUSTOM)
    (rule,) = [r for r in load_rules(custom=custom) if r.id == "ACME115"]
    assert rule.refines == ("KS106",) and rule.general == ("KS106",)


def test_explain_shows_the_overlaps() -> None:
    rules = {rule.id: rule for rule in load_rules()}
    assert "A special case of KS106" in as_text(rules["KS115"])
    assert "Follows from KS113" in as_text(rules["KS102"])
    assert "special case" not in as_text(rules["KS101"])
    reference = (REPO / "docs" / "rules.md").read_text()
    assert "**Overlaps:** A special case of `KS204`" in reference


def _windows_objects(path: Path) -> set[str | None]:
    names: set[str | None] = set()
    text = path.read_text()
    if "windows" not in text:
        return names
    for document in yaml.safe_load_all(text):
        if not isinstance(document, dict):
            continue
        spec = document.get("spec") or {}
        pod = (spec.get("template") or {}).get("spec") or spec
        if isinstance(pod, dict) and (pod.get("os") or {}).get("name") == "windows":
            names.add((document.get("metadata") or {}).get("name"))
    return names


def _related(one: str, other: str) -> bool:
    strip = re.compile(r"/\d+$")
    one, other = strip.sub("", one), strip.sub("", other)
    return one == other or one.startswith(other + "/") or other.startswith(one + "/")


def test_declared_overlaps_hold_on_every_fixture() -> None:
    """``refines: [G]`` claims that G (default params) reports wherever the rule does, and
    ``implied-by: [G]`` that the rule reports wherever G does (Windows pods are exempt from the
    Linux-only controls, so there the claim does not apply). Every rule's fixtures, scanned
    with every rule on, must bear the claims out, field by field."""
    data = json.loads(run("--enable", "all", "--format", "json", str(FIXTURES)))
    rules = {rule.id: rule for rule in load_rules()}
    by_place = defaultdict(list)
    for finding in data["findings"]:
        key = (finding["path"], finding["kind"], finding["namespace"], finding["name"])
        by_place[(*key, finding["container"])].append(finding)
    windows = {path: _windows_objects(Path(path)) for path in {k[0] for k in by_place}}
    checked, wrong = 0, []
    for (path, _kind, _ns, name, _container), findings in by_place.items():
        for finding in findings:
            for general in rules[finding["rule_id"]].refines:
                checked += 1
                if not any(
                    other["rule_id"] == general and _related(other["field"], finding["field"])
                    for other in findings
                ):
                    wrong.append((path, finding["rule_id"], "refines", general))
            if name in windows[path]:
                continue
            for rule in rules.values():
                if finding["rule_id"] in rule.implied_by:
                    checked += 1
                    if not any(
                        other["rule_id"] == rule.id and _related(other["field"], finding["field"])
                        for other in findings
                    ):
                        wrong.append((path, rule.id, "implied-by", finding["rule_id"]))
    assert wrong == []
    assert checked > 100


def test_one_missing_security_context_reads_as_one_problem(tmp_path: Path) -> None:
    manifest = tmp_path / "nginx.yaml"
    manifest.write_text(NGINX)
    text = run(str(manifest))
    block = text.split("  Container 'web' of Deployment 'shop/web'\n")[1]
    group = block.split("\n\n")[0]
    (head,) = [line for line in group.splitlines() if line.startswith(f"    {manifest}:")]
    assert head.endswith("LOW KS113 security-context-missing")  # the others are indented
    rules = [line.split()[-1] for line in group.splitlines() if f"{manifest}:" in line]
    assert rules[1:] == [
        "allow-privilege-escalation",
        "run-as-non-root",
        "seccomp-profile",
        "capabilities-drop-all",
        "read-only-root-filesystem",
        "cap-net-raw",
    ]
    assert group.count("Fix:") == 1 and "(kscan explain KS113)" in group
    assert "One change fixes all 7 findings" in group and 'drop: ["ALL"]' in group
    assert "Reported with it, as special cases or consequences:" in group
    # the same findings, one per rule, everywhere else
    data = json.loads(run("--format", "json", str(manifest)))
    assert len([f for f in data["findings"] if f["container"] == "web"]) == 9


def test_capabilities_and_host_paths_go_under_their_general_rule(tmp_path: Path) -> None:
    manifest = tmp_path / "agent.yaml"
    manifest.write_text(AGENT)
    text = run(str(manifest))
    groups = text.split("\n\n")
    (capabilities,) = [g for g in groups if "KS107 dangerous-capabilities" in g]
    assert "KS116 cap-net-admin" in capabilities and "KS125 cap-sys-time" in capabilities
    (host_paths,) = [g for g in groups if "KS204 host-path-volume" in g]
    assert "KS208 host-path-proc" in host_paths and "KS209 host-path-sys" in host_paths
    assert host_paths.index("KS204") < host_paths.index("KS208")
    assert not any("KS116" in g and "KS107" not in g for g in groups)
    # the summary names the critical and high problems, most severe first
    fix_first = text.split("Fix first:\n")[1]
    assert fix_first.startswith("  critical: Container 'agent' of Pod 'ops/agent': ")
    assert "privileged-container" in fix_first.splitlines()[0]
    assert "dangerous-capabilities, with cap-net-admin" in fix_first


def test_lines_are_wrapped_but_a_location_is_never_cut(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name " * 4).strip()
    deep.mkdir()
    manifest = deep / "nginx.yaml"
    manifest.write_text(NGINX)
    text = run(str(manifest))
    for line in text.splitlines():
        if len(line) > WIDTH:
            assert str(manifest) in line, line  # only where a path must stay whole
    assert re.search(rf"\({re.escape(str(manifest))}:\d+:\d+\)", text)  # fix first, unbroken
    concise = run("--format", "concise", str(manifest))
    assert max(len(line) for line in concise.splitlines()) > 200  # one line per finding


def test_nothing_critical_or_high_names_the_medium_problems(tmp_path: Path) -> None:
    manifest = tmp_path / "nginx.yaml"
    manifest.write_text(NGINX)
    summary = run(str(manifest)).split("\nFound ")[1]
    assert "Fix first (nothing critical or high):\n" in summary
    assert "  medium: Container 'web' of Deployment 'shop/web': security-context-missing" in summary


def test_colour_as_before(tmp_path: Path) -> None:
    manifest = tmp_path / "agent.yaml"
    manifest.write_text(AGENT)
    coloured = run("--color", "always", str(manifest))
    assert "\x1b[35m\x1b[1mCRITICAL\x1b[0m" in coloured
    assert "\x1b[" not in run("--color", "never", str(manifest))
    result = CliRunner().invoke(cli, [str(manifest)], env={"NO_COLOR": "1"})
    assert "\x1b[" not in result.stdout


def test_concise_is_a_format() -> None:
    assert FORMATS[:2] == ("text", "concise")


def _readme_block(heading: str) -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split(heading, 1)[1]
    return section.split("```\n", 2)[1]


def test_readme_example_output_is_the_real_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each part of the README's example between ``...`` lines is a run of the real report,
    in order, and its last part ends the report: counts and the summary cannot drift."""
    monkeypatch.chdir(REPO)
    shown = _readme_block("### Text output")
    real = run("examples/insecure-deployment.yaml")
    parts = shown.split("...\n")
    position = 0
    for part in parts:
        found = real.find(part, position)
        assert found >= 0, part
        position = found + len(part)
    assert real.endswith(parts[-1])
    concise = run("--format", "concise", "examples/insecure-deployment.yaml")
    shown_concise = _readme_block("`--format concise`").splitlines()
    (line,) = [row for row in shown_concise if "KS101" in row]
    assert line in concise.splitlines() and shown_concise[-1] == concise.splitlines()[-1]
