"""kscan as a library: ``kscan.app.run`` scans from options, without click, printing nothing
and exiting never; what the command line would show comes back as diagnostics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kscan.app import (
    EXIT_ERROR,
    EXIT_FINDINGS,
    EXIT_OK,
    ScanOptions,
    UsageProblem,
    effective_configuration,
    find_rule,
    known_rules,
    rule_table,
    run,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "examples" / "insecure-deployment.yaml")


def test_a_scan_returns_findings_and_exit_code_1(capsys: pytest.CaptureFixture[str]) -> None:
    report = run(ScanOptions((EXAMPLE,), output_format="json", isolated=True))
    assert report.exit_code == EXIT_FINDINGS
    assert len(report.result.findings) > 0
    assert report.result.errors == [] and report.diagnostics == []
    assert report.rendered is not None
    rendered = json.loads("".join(report.rendered))
    assert len(rendered["findings"]) == len(report.result.findings)
    assert capsys.readouterr() == ("", "")


def test_fail_on_never_exits_0() -> None:
    report = run(ScanOptions((EXAMPLE,), fail_on="never", isolated=True))
    assert report.exit_code == EXIT_OK
    assert report.rendered is not None and "privileged" in "".join(report.rendered)


def test_a_bad_configuration_raises_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / ".kscan.yaml"
    config.write_text("fail-on: sometimes\n", encoding="utf-8")
    with pytest.raises(UsageProblem) as raised:
        run(ScanOptions((EXAMPLE,), config_path=str(config)))
    assert raised.value.exit_code == EXIT_ERROR
    [problem] = raised.value.diagnostics
    assert problem.level == "error"
    assert problem.text.startswith(f"{config}:1:") and ": error: " in problem.text
    assert capsys.readouterr() == ("", "")


def test_a_missing_configuration_file_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(UsageProblem, match="no such configuration file") as raised:
        run(ScanOptions((EXAMPLE,), config_path=str(missing)))
    assert [d.text for d in raised.value.diagnostics] == [
        f"{missing}: error: no such configuration file"
    ]


def test_writing_the_report_over_an_input_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "deploy.yaml"
    manifest.write_text(Path(EXAMPLE).read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(UsageProblem, match="refusing to write") as raised:
        run(ScanOptions((str(manifest),), output=str(manifest), isolated=True))
    assert raised.value.exit_code == EXIT_ERROR
    assert manifest.read_text(encoding="utf-8") == Path(EXAMPLE).read_text(encoding="utf-8")


def test_an_unreadable_baseline_comes_after_the_input_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [\n", encoding="utf-8")
    baseline = tmp_path / "baseline.json"
    baseline.write_text("not json", encoding="utf-8")
    with pytest.raises(UsageProblem) as raised:
        run(ScanOptions((EXAMPLE, str(broken)), baseline=str(baseline), isolated=True))
    levels_and_starts = [(d.level, d.text.split(":")[0]) for d in raised.value.diagnostics]
    assert levels_and_starts == [("error", str(broken)), ("error", str(baseline))]
    assert "invalid baseline" in raised.value.diagnostics[-1].text


def test_a_baseline_alone_is_written_and_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    report = run(ScanOptions((EXAMPLE,), write_baseline=str(baseline), isolated=True))
    assert report.rendered is None and report.exit_code == EXIT_OK
    count = len(report.result.findings)
    [written] = report.diagnostics
    assert (written.level, written.text) == (
        "info",
        f"Wrote {count} findings to the baseline {baseline}.",
    )
    again = run(ScanOptions((EXAMPLE,), baseline=str(baseline), isolated=True))
    states = {finding.baseline_state for finding in again.result.findings}
    assert (again.exit_code, len(again.result.findings), states) == (EXIT_OK, count, {"unchanged"})
    assert again.absent == []
    assert capsys.readouterr() == ("", "")


def test_unused_suppressions_are_warnings_and_fail_the_run(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
        "  annotations:\n    kscan.io/ignore: privileged-container\n",
        encoding="utf-8",
    )
    report = run(ScanOptions((str(manifest),), warn_unused_suppressions=True, isolated=True))
    assert [d.level for d in report.diagnostics] == ["warning"] * len(report.unused)
    assert report.unused and report.exit_code == EXIT_FINDINGS
    assert "matches no finding" in report.diagnostics[0].text


def test_rules_and_configuration_without_the_command_line() -> None:
    rules = known_rules()
    found = find_rule(rules, rules[0].id.lower())
    assert found is rules[0] and find_rule(rules, "no-such-rule") is None
    table = rule_table(rules)
    assert table[0].split() == [
        "ID",
        "NAME",
        "SEVERITY",
        "STRIDE",
        "TACTIC",
        "TECHNIQUE",
        "DEFAULT",
    ]
    assert len(table) == len(rules) + 1
    lines = list(effective_configuration((EXAMPLE,), isolated=True))
    assert lines[0] == "# configuration file: none found (defaults apply)"
    assert any(line.startswith('fail-on: "low"') for line in lines)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"paths": ()}, "no paths to scan"),
        ({"output_format": "nope"}, "unknown format 'nope'"),
        ({"fail_on": "bogus"}, "unknown fail-on 'bogus'"),
        ({"color": "sometimes"}, "unknown color 'sometimes'"),
    ],
)
def test_options_a_library_caller_gets_wrong_are_refused_before_scanning(
    options: dict[str, object], problem: str
) -> None:
    with pytest.raises(UsageProblem, match=problem):
        ScanOptions(**{"paths": ("examples",), **options})  # type: ignore[arg-type]


def test_one_path_given_as_a_string_is_refused() -> None:
    """A string is a sequence of one-letter paths: never scan them (``/`` among them)."""
    with pytest.raises(TypeError, match="not one string"):
        ScanOptions(paths="/tmp/x.yaml")  # type: ignore[arg-type]
