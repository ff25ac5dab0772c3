"""``kscan fix``: before/after fixture pairs for every fixable rule and every layout the edits
must keep, the diff (applied with ``patch -p0``), files it must not touch, fixes it must
refuse, and fixes as rule data."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kscan.app import ScanOptions, run
from kscan.cli import cli
from kscan.fix.network_policies import missing_policies
from kscan.fix.plan import DocumentIndex
from kscan.fix.token_use import BoundAccounts, token_unused
from kscan.input.documents import parse
from kscan.input.sources import Source
from kscan.model.inventory import BindingOutline
from kscan.model.threat_facts import BindingFacts, Spot, ThreatFacts
from kscan.rules.registry import RuleError, builtin_rules_dir, load_rules

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "fix_fixtures"
EXAMPLE = REPO / "examples" / "insecure-deployment.yaml"
SARIF_VALIDATE = REPO.parent / "shared" / "tools" / "sarif-validate"
OLD = 1_000_000_000  # an mtime (2001) no write of the test run can give a file

HARDENED = """\
apiVersion: v1
kind: Pod
metadata:
  name: ok
  namespace: shop
spec:
  securityContext:
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: ok
      image: registry.example.com/ok:1.0
      securityContext:
        allowPrivilegeEscalation: false   # already fixed
"""


def _kscan(*args: str) -> Result:
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:  # click < 8.2
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    else:
        runner = CliRunner()
    result = runner.invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"kscan raised {result.exception!r}") from result.exception
    return result


def _aged(path: Path) -> Path:
    os.utime(path, (OLD, OLD))
    return path


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_fixture_pair(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixing ``before.yaml`` with the case's arguments (and ``context.yaml`` read as context,
    if the case has one) gives ``after.yaml`` byte for byte; a second fix changes nothing and
    does not write the file."""
    args = (CASES / case / "args").read_text(encoding="utf-8").split()
    target = tmp_path / f"{case}.yaml"
    shutil.copyfile(CASES / case / "before.yaml", target)
    if (CASES / case / "context.yaml").is_file():
        shutil.copyfile(CASES / case / "context.yaml", tmp_path / "context.yaml")
        args += ["--context", "context.yaml"]
    monkeypatch.chdir(tmp_path)
    result = _kscan("fix", "--isolated", "--fail-on", "never", *args, target.name)
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes() == (CASES / case / "after.yaml").read_bytes()
    _aged(target)
    again = _kscan("fix", "--isolated", "--fail-on", "never", *args, target.name)
    assert again.exit_code == 0 and "Fixed 0 fields in 0 files" in again.stderr
    assert target.stat().st_mtime == OLD
    assert target.read_bytes() == (CASES / case / "after.yaml").read_bytes()


def test_every_fixable_rule_has_a_fixture_pair() -> None:
    fixable = [rule.name for rule in load_rules() if rule.fix is not None]
    assert len(fixable) >= 10
    missing = [name for name in fixable if not (CASES / name / "after.yaml").is_file()]
    assert missing == []


def test_a_case_selects_its_rule() -> None:
    """A case named after a rule runs that rule (its pair shows the rule's own fix)."""
    for rule in load_rules():
        if rule.fix is not None:
            assert rule.id in (CASES / rule.name / "args").read_text(encoding="utf-8")


def test_diff_applies_with_patch_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("patch") is None:
        pytest.skip("patch is not installed")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    shown = tmp_path / "deploy" / "app.yaml"
    shutil.copyfile(EXAMPLE, shown)
    _aged(shown)
    result = _kscan("fix", "--isolated", "--diff", "--unsafe-fixes", "deploy")
    assert result.exit_code == 1  # findings remain: nothing was written
    assert shown.read_bytes() == EXAMPLE.read_bytes() and shown.stat().st_mtime == OLD
    assert result.stdout.startswith("--- deploy/app.yaml\n+++ deploy/app.yaml\n@@ ")
    patch = subprocess.run(
        ["patch", "-p0", "--forward", "--batch"], input=result.stdout.encode(), capture_output=True
    )
    assert patch.returncode == 0, patch.stderr.decode() + patch.stdout.decode()
    patched = shown.read_bytes()
    shutil.copyfile(EXAMPLE, shown)
    _kscan("fix", "--isolated", "--unsafe-fixes", "deploy")
    assert patched == shown.read_bytes() != EXAMPLE.read_bytes()


def test_files_it_must_not_touch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing to fix, a file that does not parse, a Helm template, and a file outside the
    paths given keep their content and modification time."""
    monkeypatch.chdir(tmp_path)
    scanned = tmp_path / "scanned"
    scanned.mkdir()
    files = {
        scanned / "hardened.yaml": HARDENED,
        scanned / "broken.yaml": "kind: Pod\nspec: [unclosed\n",
        scanned / "chart.yaml": EXAMPLE.read_text().replace("web:1.4.2", "{{ .Values.tag }}"),
        tmp_path / "outside.yaml": EXAMPLE.read_text(),
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        _aged(path)
    result = _kscan("fix", "--isolated", "--select", "KS102,KS104", "scanned")
    assert result.exit_code == 2  # the broken file is an input error, as in a scan
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text and path.stat().st_mtime == OLD, path
    assert "Fixed 0 fields in 0 files" in result.stderr


def test_a_fix_that_would_not_read_back_is_refused_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The container's securityContext is also the pod's (one anchor): the field added for
    the container would appear in the pod too, so the fix is not applied."""
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "shared.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
        "  securityContext: &sc\n    runAsUser: 1000\n  containers:\n"
        "    - name: c\n      image: registry.example.com/c:1.0\n      securityContext: *sc\n",
        encoding="utf-8",
    )
    before = manifest.read_text(encoding="utf-8")
    result = _kscan("fix", "--isolated", "--select", "KS102", "shared.yaml")
    assert result.exit_code == 1
    assert manifest.read_text(encoding="utf-8") == before
    assert (
        "shared.yaml: warning: fix of KS102 at /spec/containers/0/securityContext/"
        "allowPrivilegeEscalation not applied: the fixed text would not read back as the "
        "objects expected" in result.stderr
    )


@pytest.mark.parametrize(
    ("security", "args", "unwanted"),
    [
        # privileged false cannot be written over a tagged value: allowPrivilegeEscalation
        # false beside privileged true is refused by the API server
        ('privileged: !!bool "true"', ["--unsafe-fixes"], "allowPrivilegeEscalation: false"),
        # allowPrivilegeEscalation stays true: drop ALL is no longer safe (runs-unprivileged)
        ('allowPrivilegeEscalation: !!bool "true"', [], "ALL"),
    ],
)
def test_no_fix_is_made_on_the_strength_of_one_the_text_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str, args: list[str], unwanted: str
) -> None:
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
        "  securityContext: {runAsUser: 1000}\n  containers:\n"
        "    - name: c\n      image: registry.example.com/c:1.0\n"
        f"      securityContext:\n        {security}\n",
        encoding="utf-8",
    )
    result = _kscan("fix", "--isolated", *args, "pod.yaml")
    assert "not applied: the value to replace is anchored, tagged" in result.stderr
    assert unwanted not in manifest.read_text(encoding="utf-8")


def test_a_volume_stays_while_a_mount_of_it_cannot_be_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mount is an alias, which the text cannot lose: removing the volume alone would
    leave a mount the API server refuses (``volumeMounts[0].name: Not found``)."""
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "pod.yaml"
    before = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n"
        "x-mount: &m {name: h, mountPath: /h}\nspec:\n  containers:\n"
        "    - name: c\n      image: registry.example.com/c:1.0\n      volumeMounts: [*m]\n"
        "  volumes:\n    - name: h\n      hostPath: {path: /var/log}\n"
    )
    manifest.write_text(before, encoding="utf-8")
    result = _kscan("fix", "--isolated", "--unsafe-fixes", "--select", "KS204", "pod.yaml")
    assert "volumes/0 not applied: another edit of the same fix was not applied" in result.stderr
    assert manifest.read_text(encoding="utf-8") == before


def test_a_field_goes_after_an_alias_that_ends_its_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parser places an alias at its anchor: the pod's seccompProfile goes after the
    ``*sc`` that ends the pod spec, not after the anchored mapping."""
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "pod.yaml"
    before = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
        "  automountServiceAccountToken: false\n  containers:\n"
        "    - name: c\n      image: registry.example.com/c:1.0\n"
        "      securityContext: &sc\n        allowPrivilegeEscalation: false\n"
        "    - name: d\n      image: registry.example.com/d:1.0\n"
        "      securityContext: *sc  # the same\n"
    )
    manifest.write_text(before, encoding="utf-8")
    result = _kscan("fix", "--isolated", "--select", "KS104", "pod.yaml")
    assert "warning" not in result.stderr
    after = "  securityContext:\n    seccompProfile:\n      type: RuntimeDefault\n"
    assert manifest.read_text(encoding="utf-8") == before + after


def test_exit_code_says_whether_findings_remain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(CASES / "allow-privilege-escalation" / "before.yaml", "app.yaml")
    assert _kscan("fix", "--isolated", "--select", "KS102", "app.yaml").exit_code == 0
    shutil.copyfile(CASES / "allow-privilege-escalation" / "before.yaml", "app.yaml")
    remaining = _kscan("fix", "--isolated", "--select", "KS102,KS105", "app.yaml")
    assert remaining.exit_code == 1  # KS105's fix is unsafe: its findings remain
    assert "more findings with an unsafe fix (--unsafe-fixes applies them)" in remaining.stderr
    assert "KS105" in remaining.stdout and "KS102" not in remaining.stdout


def test_standard_input_cannot_be_fixed() -> None:
    result = _kscan("fix", "-")
    assert result.exit_code == 2
    assert "cannot fix standard input" in result.stderr


def test_explain_shows_the_fix_and_why() -> None:
    text = _kscan("explain", "KS102").stdout
    assert "kscan fix: set securityContext.allowPrivilegeEscalation: false [safe]" in text
    assert "no_new_privs" in text
    unsafe = _kscan("explain", "KS105").stdout
    assert "kscan fix with --unsafe-fixes: set securityContext.readOnlyRootFilesystem" in unsafe
    assert "kscan fix: none" in _kscan("explain", "KS310").stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("path: securityContext.*", "fix.path: a plain dotted path"),
        ("action: delete", "fix.action"),
        ("safety: maybe", "fix.safety"),
        ("action: remove", "fix.value: 'set' and 'add' take a value, 'remove' none"),
        ("safe-when: token-unused", "fix.safe-when: only an unsafe fix has a condition"),
        ("safe-when: sometimes", "fix.safe-when"),
    ],
)
def test_a_bad_fix_fails_to_load(tmp_path: Path, change: str, message: str) -> None:
    source = (Path(builtin_rules_dir()) / "pod" / "allow-privilege-escalation.yaml").read_text()
    key = change.split(":")[0]
    if f"\n  {key}:" not in source:  # a key the fix lacks: added after its safety
        source = source.replace("\n  safety: safe\n", f"\n  safety: safe\n  {key}: x\n")
    lines = [
        f"  {change}" if line.startswith(f"  {key}:") and not line.startswith("    ") else line
        for line in source.splitlines()
    ]
    text = "\n".join(lines).replace("id: KS102", "id: KS9102")
    text = text.replace("name: allow-privilege-escalation", "name: custom-escalation")
    (tmp_path / "custom-escalation.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as raised:
        load_rules(custom=tmp_path)
    assert "custom-escalation.yaml:" in str(raised.value) and message in str(raised.value)


def test_network_policies_go_to_new_files_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A default-deny policy per namespace without one, in a new file of DIR; a file already
    there is never replaced; the policies written count in the rescan."""
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(EXAMPLE, "app.yaml")
    other = EXAMPLE.read_text().replace("namespace: shop", "namespace: billing")
    Path("billing.yaml").write_text(other, encoding="utf-8")
    Path("policies").mkdir()
    taken = Path("policies/billing-default-deny.yaml")
    taken.write_text("# mine\n", encoding="utf-8")
    _aged(taken)
    args = ("fix", "--isolated", "--select", "KS501", "--write-network-policies", "policies")
    result = _kscan(*args, "app.yaml", "billing.yaml")
    written = Path("policies/shop-default-deny.yaml").read_text(encoding="utf-8")
    assert "namespace: shop" in written and "policyTypes: [Ingress, Egress]" in written
    assert taken.read_text(encoding="utf-8") == "# mine\n" and taken.stat().st_mtime == OLD
    assert "billing-default-deny.yaml: warning: not written: the file exists" in result.stderr
    assert result.exit_code == 1 and "Namespace 'billing'" in result.stdout
    assert "Namespace 'shop'" not in result.stdout
    assert sorted(p.name for p in Path("policies").iterdir()) == [
        "billing-default-deny.yaml",
        "shop-default-deny.yaml",
    ]
    assert _kscan(*args, "app.yaml").exit_code == 0  # the policy written is read as context


def test_no_policy_file_for_a_name_no_namespace_can_have() -> None:
    rule = next(r for r in load_rules() if r.name == "default-deny-network-policy")
    finding = type("F", (), {"rule": rule, "suppression": None, "name": "../../etc/x"})()
    policies, invalid = missing_policies([finding], Path("policies"))  # type: ignore[list-item]
    assert policies == [] and invalid == ["../../etc/x"]


def _apply(text: str, replacements: list[dict]) -> str:  # type: ignore[type-arg]
    """SARIF replacements made in a text (lines and columns 1-based, end exclusive, each
    region of the original text), from the last one."""
    lines = text.splitlines(keepends=True)

    def offset(line: int, column: int) -> int:
        return sum(len(item) for item in lines[: line - 1]) + column - 1

    for replacement in reversed(replacements):
        region = replacement["deletedRegion"]
        inserted = replacement.get("insertedContent", {}).get("text", "")
        start = offset(region["startLine"], region["startColumn"])
        text = text[:start] + inserted + text[offset(region["endLine"], region["endColumn"]) :]
    return text


@pytest.mark.parametrize(
    "source",
    [
        EXAMPLE,
        CASES / "dangerous-capabilities" / "before.yaml",
        CASES / "host-path-docker-socket" / "before.yaml",
        CASES / "host-port" / "before.yaml",
    ],
    ids=lambda path: path.parent.name,
)
def test_sarif_results_carry_fixes_that_fix(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each result with a fix has its replacements (one per list item or mount a removal takes
    out); made in the file, they fix that finding, and the file still reads."""
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(source, "app.yaml")
    log = json.loads(
        _kscan("--isolated", "--format", "sarif", "--base-dir", ".", "app.yaml").stdout
    )
    results = log["runs"][0]["results"]
    with_fix = [r for r in results if "fixes" in r]
    fixable = {rule.id for rule in load_rules() if rule.fix is not None}
    if source == EXAMPLE:
        # not KS103: the init container runs as user 0, so no pod of it gets runAsNonRoot
        unfixed = {"KS103"}
        (removal,) = [r for r in with_fix if r["ruleId"] == "KS116"]  # NET_ADMIN removed
        (deleted,) = removal["fixes"][0]["artifactChanges"][0]["replacements"]
        assert "insertedContent" not in deleted
    else:
        unfixed = set()
    assert {r["ruleId"] for r in with_fix} == fixable & {r["ruleId"] for r in results} - unfixed
    original = source.read_text(encoding="utf-8")
    for result in with_fix:
        (change,) = result["fixes"][0]["artifactChanges"]
        assert change["artifactLocation"]["uri"] == "app.yaml"
        Path("app.yaml").write_text(_apply(original, change["replacements"]), encoding="utf-8")
        field = result["properties"]["field"]
        again = json.loads(_kscan("--isolated", "--format", "json", "app.yaml").stdout)
        assert again["errors"] == [], (result["ruleId"], Path("app.yaml").read_text())
        assert not any(
            f["rule_id"] == result["ruleId"] and f["field"] == field for f in again["findings"]
        ), (result["ruleId"], field)


def test_sarif_fixes_of_later_documents_fix_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a file of many documents (a comment before them), each result's replacements are
    placed in the file, not in its document's own lines: made in the file, they fix that
    finding (one fewer of its rule, field and object) and the file still reads. Replacements
    are worked out in the text of the finding's document alone."""
    monkeypatch.chdir(tmp_path)
    cases = ("dangerous-capabilities", "host-path-docker-socket", "host-port", "cap-all-added")
    texts = [(CASES / case / "before.yaml").read_text(encoding="utf-8") for case in cases]
    original = "# several documents\n" + "".join(
        text if text.startswith("---") else "---\n" + text for text in texts * 2
    )
    Path("app.yaml").write_text(original, encoding="utf-8")

    def found() -> Counter[tuple[object, ...]]:
        report = json.loads(_kscan("--isolated", "--format", "json", "app.yaml").stdout)
        assert report["errors"] == [], Path("app.yaml").read_text()
        keys = ("rule_id", "field", "kind", "namespace", "name", "container")
        return Counter(tuple(f[key] for key in keys) for f in report["findings"])

    before = found()
    log = json.loads(
        _kscan("--isolated", "--format", "sarif", "--base-dir", ".", "app.yaml").stdout
    )
    with_fix = [r for r in log["runs"][0]["results"] if "fixes" in r]
    last_line = original.count("\n") // 2  # the second copy of the documents
    assert any(
        r["locations"][0]["physicalLocation"]["region"]["startLine"] > last_line for r in with_fix
    )
    assert any(len(r["fixes"][0]["artifactChanges"][0]["replacements"]) > 1 for r in with_fix)
    for result in with_fix:
        (change,) = result["fixes"][0]["artifactChanges"]
        Path("app.yaml").write_text(_apply(original, change["replacements"]), encoding="utf-8")
        props = result["properties"]
        container = props.get("container")
        key = (
            result["ruleId"],
            props["field"],
            props["kind"],
            props.get("namespace"),
            props["name"],
            container,
        )
        assert found()[key] == before[key] - 1, (key, change["replacements"])


def test_a_finding_is_placed_in_the_document_it_was_made_in(tmp_path: Path) -> None:
    """``DocumentIndex`` (a search by where documents start) finds, for every finding of a
    file of many documents, the document that a look at every document in turn finds."""
    text = "".join(
        "---\n" + (CASES / case / "before.yaml").read_text(encoding="utf-8").lstrip("-\n")
        for case in sorted(p.name for p in CASES.iterdir())[:12]
    )
    path = tmp_path / "app.yaml"
    path.write_text(text, encoding="utf-8")
    documents, errors = parse(Source(str(path), text, len(text.encode()), False))
    assert errors == [] and len(documents) >= 12
    report = run(ScanOptions((str(path),), fail_on="never", isolated=True))
    findings = list(report.result.findings)
    assert len({f.span.line for f in findings}) > 20
    located = DocumentIndex(documents)
    for finding in findings:
        first = next(
            (
                index
                for index, document in enumerate(documents)
                if document.locate(finding.pointer)[0] == finding.span
            ),
            None,
        )
        assert located.of(finding) == first, finding
    for line, column in ((1, 1), (text.count("\n"), 99)):  # "---"; past the last line's end
        nowhere = findings[0]._replace(
            line=line, column=column, end_line=line, end_column=column + 1
        )
        assert located.of(nowhere) is None


@pytest.mark.slow  # the validator starts the SARIF multitool: half a minute
def test_sarif_fixes_pass_githubs_ingestion_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not SARIF_VALIDATE.is_file() or shutil.which("npm") is None:
        pytest.skip("../shared/tools/sarif-validate (and npm) are needed for GitHub's rules")
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(EXAMPLE, "app.yaml")
    sarif = _kscan("--isolated", "--format", "sarif", "--base-dir", ".", "app.yaml").stdout
    assert '"fixes"' in sarif
    Path("app.sarif").write_text(sarif, encoding="utf-8")
    done = subprocess.run([str(SARIF_VALIDATE), "--strict", "app.sarif"], capture_output=True)
    if done.returncode == 2:
        pytest.skip(f"sarif-validate could not run: {done.stderr.decode()[-300:]}")
    assert done.returncode == 0, done.stdout.decode()


def test_a_link_out_of_the_paths_given_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outside = tmp_path / "outside.yaml"
    shutil.copyfile(CASES / "allow-privilege-escalation" / "before.yaml", outside)
    _aged(outside)
    Path("scanned").mkdir()
    Path("scanned/link.yaml").symlink_to(outside)
    result = _kscan("fix", "--isolated", "--select", "KS102", "scanned")
    assert "not fixed: it leads outside the paths given" in result.stderr
    assert outside.stat().st_mtime == OLD
    assert (
        outside.read_bytes() == (CASES / "allow-privilege-escalation" / "before.yaml").read_bytes()
    )


def _binding(kind: str, namespace: str | None, *subjects: tuple[str, str | None, str]) -> Any:
    """A binding's threat facts, as a scan with threats keeps them."""
    outline = BindingOutline("ClusterRole", "some-role", tuple(subjects))
    spot = Spot(1, 1, "")
    detail = BindingFacts(outline, spot, tuple(spot for _ in subjects))
    return ThreatFacts(kind, "b", namespace, "rbac.yaml", spot, detail)


@pytest.mark.parametrize(
    ("binding", "namespace", "bound"),
    [
        # a RoleBinding's subject without a namespace is in the binding's (appliesToUser)
        (_binding("RoleBinding", "shop", ("ServiceAccount", None, "web")), "shop", True),
        (_binding("RoleBinding", "billing", ("ServiceAccount", None, "web")), "shop", False),
        # a workload without a namespace may be applied in billing
        (_binding("RoleBinding", "billing", ("ServiceAccount", None, "web")), None, True),
        # a RoleBinding without a namespace may be applied in shop
        (_binding("RoleBinding", None, ("ServiceAccount", None, "web")), "shop", True),
        (_binding("RoleBinding", "shop", ("ServiceAccount", None, "api")), "shop", False),
        (_binding("ClusterRoleBinding", None, ("ServiceAccount", "shop", "web")), "shop", True),
        # refused by the API server (ValidateRoleBindingSubject): it binds nothing
        (_binding("ClusterRoleBinding", None, ("ServiceAccount", None, "web")), "shop", False),
        (
            _binding("ClusterRoleBinding", None, ("User", None, "system:serviceaccount:shop:web")),
            "shop",
            True,
        ),
        (
            _binding("ClusterRoleBinding", None, ("User", None, "system:serviceaccount:x:web")),
            "shop",
            False,
        ),
        (
            _binding("ClusterRoleBinding", None, ("User", None, "system:serviceaccount:x:web")),
            None,
            True,
        ),
        (
            _binding("ClusterRoleBinding", None, ("Group", None, "system:serviceaccounts")),
            "shop",
            True,
        ),
        (
            _binding("ClusterRoleBinding", None, ("Group", None, "system:authenticated")),
            "shop",
            True,
        ),
        (
            _binding("RoleBinding", "x", ("Group", None, "system:serviceaccounts:shop")),
            "shop",
            True,
        ),
        (
            _binding("RoleBinding", "x", ("Group", None, "system:serviceaccounts:billing")),
            "shop",
            False,
        ),
        (
            _binding("RoleBinding", "x", ("Group", None, "system:serviceaccounts:billing")),
            None,
            True,
        ),
        (_binding("RoleBinding", "x", ("Group", None, "system:unauthenticated")), None, False),
    ],
)
def test_which_bindings_name_an_account(binding: Any, namespace: str | None, bound: bool) -> None:
    assert BoundAccounts([binding]).bound(namespace, "web") is bound


def test_the_token_is_used_where_the_pod_asks_for_it() -> None:
    """``automountServiceAccountToken: true`` is someone asking for the token: kscan does not
    call that fix safe, bound or not, nor for a pod whose fields are not all in one mapping;
    the account is the deprecated ``serviceAccount`` when ``serviceAccountName`` is empty
    (``pkg/apis/core/v1/conversion.go``), else ``default``."""
    nothing = BoundAccounts([])
    pod = {"containers": []}
    assert token_unused({**pod, "serviceAccountName": "web"}, "shop", nothing)
    assert not token_unused({**pod, "automountServiceAccountToken": True}, "shop", nothing)
    assert not token_unused({"container": {}}, "shop", nothing)  # an Argo template's pod
    bound = BoundAccounts([_binding("RoleBinding", "shop", ("ServiceAccount", None, "old"))])
    deprecated = {**pod, "serviceAccountName": "", "serviceAccount": "old"}
    assert not token_unused(deprecated, "shop", bound)
    assert token_unused({**deprecated, "serviceAccountName": "new"}, "shop", bound)
    default = BoundAccounts([_binding("RoleBinding", "shop", ("ServiceAccount", None, "default"))])
    assert not token_unused(pod, "shop", default)


@pytest.mark.parametrize("case", ["token-bound-group", "token-bound-elsewhere"])
def test_a_bound_account_keeps_its_token_unless_unsafe_fixes_are_asked_for(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(CASES / case / "before.yaml", "app.yaml")
    extra = ["--context", "context.yaml"] if (CASES / case / "context.yaml").is_file() else []
    if extra:
        shutil.copyfile(CASES / case / "context.yaml", "context.yaml")
    kept = _kscan("fix", "--isolated", "--select", "KS401", *extra, "app.yaml")
    assert kept.exit_code == 1 and "with an unsafe fix (--unsafe-fixes applies them)" in kept.stderr
    assert Path("app.yaml").read_bytes() == (CASES / case / "before.yaml").read_bytes()
    forced = _kscan("fix", "--isolated", "--select", "KS401", "--unsafe-fixes", *extra, "app.yaml")
    assert forced.exit_code == 0, forced.stdout
    assert "automountServiceAccountToken: false" in Path("app.yaml").read_text(encoding="utf-8")


def test_explain_shows_when_an_unsafe_fix_is_safe() -> None:
    text = _kscan("explain", "KS401").stdout
    assert (
        "kscan fix with --unsafe-fixes: set automountServiceAccountToken: false [unsafe; safe "
        "where no binding of the scan names the pod's service account]" in text
    )
    assert "remove securityContext.capabilities.add.* [unsafe]" in _kscan("explain", "KS107").stdout


def test_a_token_is_not_called_unused_when_the_scan_missed_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file kscan could not read may hold the binding: the token's fix stays unsafe."""
    monkeypatch.chdir(tmp_path)
    before = (CASES / "token-unused" / "before.yaml").read_bytes()
    Path("app.yaml").write_bytes(before)
    Path("rbac.yaml").write_text("kind: RoleBinding\nsubjects: [unclosed\n", encoding="utf-8")
    result = _kscan("fix", "--isolated", "--select", "KS401", "app.yaml", "rbac.yaml")
    assert result.exit_code == 2 and "2 more findings with an unsafe fix" in result.stderr
    assert Path("app.yaml").read_bytes() == before
    Path("rbac.yaml").unlink()
    assert _kscan("fix", "--isolated", "--select", "KS401", "app.yaml").exit_code == 0
    assert Path("app.yaml").read_bytes() == (CASES / "token-unused" / "after.yaml").read_bytes()


def test_a_host_path_volume_goes_with_every_mount_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mounts of the volume in containers, init and ephemeral containers go too (the API
    server refuses a mount of a missing volume); where the pod spec holds no containers (an
    Argo workflow's volumes serve its templates' containers) nothing is removed."""
    monkeypatch.chdir(tmp_path)
    Path("pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ops}\nspec:\n"
        "  containers:\n    - name: c\n      image: registry.example.com/c:1.0\n"
        "      volumeMounts: [{name: logs, mountPath: /logs}, {name: host, mountPath: /h}]\n"
        "  ephemeralContainers:\n    - name: debug\n      image: registry.example.com/d:1.0\n"
        "      volumeMounts: [{name: host, mountPath: /h}]\n"
        "  volumes:\n    - {name: host, hostPath: {path: /var/log}}\n"
        "    - {name: logs, emptyDir: {}}\n",
        encoding="utf-8",
    )
    workflow = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: ops}\n"
        "spec:\n  entrypoint: main\n  volumes:\n    - {name: host, hostPath: {path: /var/log}}\n"
        "  templates:\n    - name: main\n      container:\n"
        "        image: registry.example.com/m:1.0\n"
        "        volumeMounts: [{name: host, mountPath: /h}]\n"
    )
    Path("workflow.yaml").write_text(workflow, encoding="utf-8")
    args = ("fix", "--isolated", "--select", "KS204", "--unsafe-fixes")
    result = _kscan(*args, "pod.yaml", "workflow.yaml")
    assert result.exit_code == 1 and "workflow.yaml" in result.stdout
    assert "pod.yaml" not in result.stdout
    fixed = Path("pod.yaml").read_text(encoding="utf-8")
    assert "host" not in fixed and "volumeMounts: []" in fixed
    assert "volumeMounts: [{name: logs, mountPath: /logs}]" in fixed
    assert Path("workflow.yaml").read_text(encoding="utf-8") == workflow


@pytest.mark.parametrize(
    ("container", "pod", "expected"),
    [
        ({"runAsUser": 1000, "allowPrivilegeEscalation": False}, {}, True),
        ({"allowPrivilegeEscalation": False}, {"runAsNonRoot": True}, True),
        ({"allowPrivilegeEscalation": False}, {"runAsUser": 7}, True),
        # the container's value takes precedence over the pod's (SecurityContext's doc)
        ({"runAsUser": 0, "allowPrivilegeEscalation": False}, {"runAsNonRoot": True}, False),
        ({"runAsNonRoot": False, "allowPrivilegeEscalation": False}, {"runAsNonRoot": True}, False),
        # an explicit null is unset: the pod's value holds
        ({"runAsNonRoot": None, "allowPrivilegeEscalation": False}, {"runAsNonRoot": True}, True),
        ({"runAsUser": True, "allowPrivilegeEscalation": False}, {}, False),  # not a user ID
        ({"runAsUser": 1000}, {}, False),  # no no_new_privs: set-user-ID binaries still work
        ({"runAsUser": 1000, "allowPrivilegeEscalation": False, "privileged": True}, {}, False),
        ({"allowPrivilegeEscalation": False}, {}, False),  # the image's user may be root
    ],
)
def test_a_container_holds_no_capability_only_as_non_root_without_escalation(
    container: dict[str, object], pod: dict[str, object], expected: bool
) -> None:
    from kscan.fix.unprivileged import runs_unprivileged

    spec = {"securityContext": container}
    assert runs_unprivileged(spec, {"securityContext": pod}) is expected


def test_each_document_keeps_its_own_fix_and_a_refused_one_spares_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deployments with the same field at the same pointer: each SARIF result's fix edits its
    own document only. The last one's container shares the pod's securityContext (one
    anchor), so its fix cannot read back and is refused: the edits are then made one at a time,
    each read back in its own document, and the others still apply."""
    monkeypatch.chdir(tmp_path)
    deployment = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\n"
        "spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
        "    metadata: {{labels: {{app: {name}}}}}\n    spec:\n{pod}      containers:\n"
        "        - name: c\n          image: registry.example.com/c:1.0\n"
        "          securityContext: {security}\n"
    )
    shared = "      securityContext: &sc\n        runAsUser: 1000\n"
    documents = [
        deployment.format(name=name, pod=pod, security=security)
        for name, pod, security in (("a", "", "{}"), ("b", "", "{}"), ("c", shared, "*sc"))
    ]
    Path("app.yaml").write_text("---\n".join(documents[:2]), encoding="utf-8")
    sarif = _kscan(
        "--isolated", "--select", "KS102", "--format", "sarif", "--base-dir", ".", "app.yaml"
    )
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert len(results) == 2
    for result in results:
        line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        (change,) = result["fixes"][0]["artifactChanges"]
        (replacement,) = change["replacements"]  # not the other document's too
        assert abs(replacement["deletedRegion"]["startLine"] - line) <= 1
    Path("app.yaml").write_text("---\n".join(documents), encoding="utf-8")
    fixed = _kscan("fix", "--isolated", "--select", "KS102", "app.yaml")
    assert "fix of KS102" in fixed.stderr and "not applied" in fixed.stderr
    assert "Fixed 2 fields in 1 file" in fixed.stderr
    after = Path("app.yaml").read_text(encoding="utf-8").split("---\n")
    assert ["allowPrivilegeEscalation: false" in part for part in after] == [True, True, False]


@pytest.mark.parametrize("security", ["oops", "false", "[]", "{capabilities: false}"])
def test_no_field_is_added_inside_a_scalar(
    security: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A securityContext (or its capabilities) written as a scalar is a wrong type, reported
    as an input error: fixes leave it alone instead of failing on it, in SARIF and in fix."""
    monkeypatch.chdir(tmp_path)
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n"
        "  containers:\n    - name: c\n      image: registry.example.com/c:1.0\n"
        f"      securityContext: {security}\n"
    )
    Path("pod.yaml").write_text(text, encoding="utf-8")
    sarif = _kscan("--isolated", "--format", "sarif", "--base-dir", ".", "pod.yaml")
    assert sarif.exit_code in (1, 2) and json.loads(sarif.stdout)["runs"]
    fixed = _kscan("fix", "--isolated", "--diff", "pod.yaml")
    assert fixed.exit_code in (1, 2)
    assert Path("pod.yaml").read_text(encoding="utf-8") == text


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1c"])
def test_fix_diff_survives_a_line_separator_inside_a_quoted_string(
    tmp_path: Path, separator: str
) -> None:
    """YAML reads U+2028, U+2029, NEL and the like inside a quoted scalar as text, while
    ``str.splitlines`` ends a line there: ``fix --diff`` crashed (IndexError in
    ``fix.text._line_end``) on such a file."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "kind: Pod\nspec:\n  containers:\n  - name: c2\n    resources:\n"
        f"      env: [1000, '{separator}']\n",
        encoding="utf-8",
    )
    result = _kscan("fix", "--diff", str(manifest))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.stderr
