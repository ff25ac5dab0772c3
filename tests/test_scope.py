"""What a scanned repository may decide: each file is judged under the configuration that
governs it (the nearest one, as ruff does), ``--isolated`` and ``--config`` put every file under
one policy, a configuration never chooses what kscan writes, and nothing is skipped silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kscan.cli import cli
from kscan.scan import parallel

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: shop}}
spec:
  containers:
    - name: c
      image: busybox:1.36
      securityContext: {{privileged: true}}
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def kscan(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def report(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = kscan("--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def privileged(data: dict) -> list[str]:  # type: ignore[type-arg]
    return sorted(f["name"] for f in data["findings"] if f["rule_name"] == "privileged-container")


# --- configuration scope (case 8) --------------------------------------------------------------


def test_a_configuration_governs_only_the_files_below_it(repo: Path) -> None:
    """``kscan aaa/a.yaml prod/b.yaml``: aaa's ``ignore: [all]`` silences aaa, never prod."""
    write(repo / "aaa" / ".kscan.yaml", "ignore: [all]\n")
    write(repo / "aaa" / "a.yaml", POD.format(name="a"))
    write(repo / "prod" / "b.yaml", POD.format(name="b"))
    code, data = report("aaa/a.yaml", "prod/b.yaml")
    assert privileged(data) == ["b"] and code == 1
    code, data = report("prod/b.yaml", "aaa/a.yaml")
    assert privileged(data) == ["b"] and code == 1


def test_the_nearest_configuration_wins_and_sets_the_threshold_of_its_files(repo: Path) -> None:
    write(repo / ".kscan.yaml", "fail-on: never\n")
    write(repo / "team" / ".kscan.yaml", "fail-on: critical\nignore: [KS103]\n")
    write(repo / "lax.yaml", POD.format(name="lax"))
    code, data = report("lax.yaml")
    assert privileged(data) == ["lax"] and code == 0  # fail-on: never at the root
    write(repo / "team" / "strict.yaml", POD.format(name="strict"))
    code, data = report(".")
    assert privileged(data) == ["lax", "strict"] and code == 1  # team's file fails the run
    rules = {(f["name"], f["rule_name"]) for f in data["findings"]}
    assert ("lax", "run-as-non-root") in rules and ("strict", "run-as-non-root") not in rules


def test_isolated_ignores_every_configuration(repo: Path) -> None:
    write(repo / "aaa" / ".kscan.yaml", "ignore: [all]\nfail-on: never\n")
    write(repo / "aaa" / "a.yaml", POD.format(name="a"))
    code, data = report("--isolated", "aaa")
    assert privileged(data) == ["a"] and code == 1


def test_an_explicit_configuration_governs_every_file(repo: Path) -> None:
    write(repo / "aaa" / ".kscan.yaml", "ignore: [all]\n")
    write(repo / "aaa" / "a.yaml", POD.format(name="a"))
    write(repo / "central.yaml", "select: [KS101]\n")
    _code, data = report("--config", "central.yaml", "aaa")
    assert {f["rule_name"] for f in data["findings"]} == {"privileged-container"}


def test_configured_suppressions_and_excludes_apply_only_below_their_file(repo: Path) -> None:
    write(
        repo / "aaa" / ".kscan.yaml",
        "exclude: [skip.yaml]\nsuppressions:\n  - {rules: [KS101], reason: lab cluster only}\n",
    )
    write(repo / "aaa" / "a.yaml", POD.format(name="a"))
    write(repo / "aaa" / "skip.yaml", POD.format(name="skipped"))
    write(repo / "prod" / "skip.yaml", POD.format(name="prod-skip"))
    _code, data = report(".")
    found = {f["name"]: f["suppressed"] for f in data["findings"] if f["rule_id"] == "KS101"}
    assert set(found) == {"a", "prod-skip"}
    assert found["a"]["reason"] == "lab cluster only" and found["prod-skip"] is None


def test_cross_object_findings_follow_the_configuration_of_their_file(repo: Path) -> None:
    """The namespace-wide default-deny finding lands in the first workload's file; that file's
    configuration decides whether it is reported."""
    write(repo / "quiet" / ".kscan.yaml", "ignore: [default-deny-network-policy]\n")
    write(repo / "quiet" / "a.yaml", POD.format(name="a").replace("shop", "one"))
    write(repo / "loud" / "b.yaml", POD.format(name="b").replace("shop", "two"))
    _code, data = report(".")
    namespaces = {
        f["name"] for f in data["findings"] if f["rule_name"] == "default-deny-network-policy"
    }
    assert namespaces == {"two"}


def test_a_broken_nested_configuration_stops_the_run(repo: Path) -> None:
    write(repo / "team" / ".kscan.yaml", "ignore: [no-such-rule]\n")
    write(repo / "team" / "a.yaml", POD.format(name="a"))
    result = kscan(".")
    assert result.exit_code == 2
    assert "team/.kscan.yaml" in result.stderr and "no-such-rule" in result.stderr


def test_config_show_names_the_configuration_of_each_path(repo: Path) -> None:
    write(repo / ".kscan.yaml", "fail-on: high\n")
    write(repo / "team" / ".kscan.yaml", "fail-on: critical\n")
    shown = kscan("config", "show", "team", ".").stdout
    assert 'fail-on: "critical"' in shown and 'fail-on: "high"' in shown


# --- outputs (case 9) ---------------------------------------------------------------------------


def test_a_configuration_cannot_choose_an_output_file(repo: Path) -> None:
    write(repo / ".kscan.yaml", "output: pod.yaml\nformat: json\n")
    pod = write(repo / "pod.yaml", POD.format(name="p"))
    result = kscan("pod.yaml")
    assert result.exit_code == 2 and "'output' cannot be set" in result.stderr
    assert pod.read_text() == POD.format(name="p")


def test_the_report_may_not_overwrite_an_input(repo: Path) -> None:
    pod = write(repo / "deploy" / "pod.yaml", POD.format(name="p"))
    for target in ("deploy/pod.yaml", "./deploy/../deploy/pod.yaml"):
        for option in ("--output", "--write-baseline"):
            result = kscan(option, target, "deploy/pod.yaml")
            assert result.exit_code == 2 and "refusing to write" in result.stderr
            result = kscan(option, target, "deploy")
            assert result.exit_code == 2 and "refusing to write" in result.stderr
    assert pod.read_text() == POD.format(name="p")


def test_a_previous_report_in_a_scanned_folder_is_replaced_not_scanned(repo: Path) -> None:
    write(repo / "deploy" / "pod.yaml", POD.format(name="p"))
    assert kscan("--format", "json", "-o", "deploy/kscan.json", "deploy").exit_code == 1
    assert kscan("--format", "json", "-o", "deploy/kscan.json", "deploy").exit_code == 1
    data = json.loads((repo / "deploy" / "kscan.json").read_text())
    assert data["summary"]["files"] == 1 and data["errors"] == []


# --- skipped directories (case 10) --------------------------------------------------------------


def test_directories_skipped_by_default_are_named_and_can_be_scanned(repo: Path) -> None:
    """``kubectl apply -R`` applies manifests under node_modules too: kscan skips it by default,
    says so, and scans it with --no-default-excludes; .git is never scanned."""
    write(repo / "node_modules" / "chart" / "pod.yaml", POD.format(name="hidden"))
    write(repo / ".venv" / "pod.yaml", POD.format(name="venv"))
    write(repo / ".git" / "pod.yaml", POD.format(name="git"))
    write(repo / "app.yaml", POD.format(name="app"))
    result = kscan("--format", "json", ".")
    data = json.loads(result.stdout)
    assert privileged(data) == ["app"]
    assert data["summary"]["skipped"] == [".venv", "node_modules"]
    assert "skipped 2 directories by default (.venv, node_modules)" in result.stderr
    assert "--no-default-excludes" in result.stderr
    _code, data = report("--no-default-excludes", ".")
    assert privileged(data) == ["app", "hidden", "venv"]


def test_profiles_reach_worker_processes(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --jobs, each worker judges its files under their own configuration too."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)  # workers even for small inputs
    write(repo / "quiet" / ".kscan.yaml", "ignore: [all]\n")
    for folder in ("quiet", "loud"):
        for part in range(3):
            write(repo / folder / f"{part}.yaml", POD.format(name=f"{folder}{part}"))
    one = report("--jobs", "1", ".")
    two = report("--jobs", "2", ".")
    assert one == two
    assert {f["path"].split("/")[0] for f in one[1]["findings"]} == {"loud"}


def test_unused_suppressions_are_judged_with_the_rules_of_their_own_configuration(
    repo: Path,
) -> None:
    """A comment suppressing a rule its folder's configuration ignores is not 'unused' just
    because the rule ran for another folder."""
    write(repo / "quiet" / ".kscan.yaml", "ignore: [privileged-container]\n")
    text = POD.format(name="q").replace(
        "      securityContext:",
        "      # kscan: ignore[privileged-container] lab node\n      securityContext:",
    )
    write(repo / "quiet" / "a.yaml", text)
    write(repo / "loud" / "b.yaml", POD.format(name="b"))
    result = kscan("--warn-unused-suppressions", ".")
    assert "matches no finding" not in result.stderr


def test_a_planted_manifest_that_looks_like_a_report_is_not_skipped(repo: Path) -> None:
    planted = (
        '{\n  "findings": [],\n  "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}\n'
    )
    write(repo / "deploy" / "kscan.json", planted)
    result = kscan("--format", "json", "-o", "deploy/kscan.json", "deploy")
    assert result.exit_code == 2 and "refusing to write" in result.stderr


def test_isolated_with_config_applies_only_the_central_policy(repo: Path) -> None:
    write(repo / "aaa" / ".kscan.yaml", "ignore: [all]\n")
    write(repo / "aaa" / "a.yaml", POD.format(name="a"))
    write(repo.parent / "policy.yaml", "select: [KS101]\n")
    _code, data = report("--isolated", "--config", str(repo.parent / "policy.yaml"), "aaa")
    assert {f["rule_name"] for f in data["findings"]} == {"privileged-container"}


def test_the_report_is_not_written_through_a_link_in_the_scanned_tree(repo: Path) -> None:
    victim = write(repo.parent / "victim.txt", "keep me\n")
    (repo / "kscan.sarif").symlink_to(victim)
    write(repo / "pod.yaml", POD.format(name="p"))
    result = kscan("--format", "sarif", "-o", "kscan.sarif", ".")
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert victim.read_text() == "keep me\n"
