"""Findings and facts beyond their in-memory limits go to a temporary file and come back in the
same order: the reports do not change."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kscan.cli import cli
from kscan.input.tree import Span
from kscan.model import inventory
from kscan.model.taxonomy import Severity
from kscan.results import store as finding_store
from kscan.results.findings import (
    Finding,
    Suppression,
    Tally,
    flattened,
    new_finding,
    unflattened,
)
from kscan.results.store import FindingStore, sorted_run
from kscan.rules.pickling import RuleIndex
from kscan.rules.registry import load_rules
from kscan.scan.engine import scan
from kscan.support import spill

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = [str(rule_dir) for rule_dir in sorted(FIXTURES.iterdir())[::4]]
"""The fixtures of every fourth rule: thousands of findings of every template for the
end-to-end runs below, at a quarter of the cost of all of them (each runs the CLI twice)."""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def fixture_findings() -> list[Finding]:
    return list(scan([str(FIXTURES)], [r for r in load_rules() if r.enabled]).findings)


@pytest.fixture
def to_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spilled blocks go to the temporary file at once (none held in memory)."""
    monkeypatch.setattr(spill, "HELD_BYTES", 0)


HELD = [spill.HELD_BYTES, 0, 20_000]
"""All blocks held in memory; each written out at once; several written out together."""


@pytest.mark.parametrize("held", HELD)
def test_a_spilled_store_reads_back_in_order(
    fixture_findings: list[Finding], monkeypatch: pytest.MonkeyPatch, held: int
) -> None:
    monkeypatch.setattr(finding_store, "SPILL_AT", 100)
    on_disk = held < spill.HELD_BYTES
    monkeypatch.setattr(spill, "HELD_BYTES", held)
    store = FindingStore()
    shuffled = fixture_findings[1::2] + fixture_findings[::2]
    for start in range(0, len(shuffled), 37):
        store.extend(shuffled[start : start + 37])
    assert store.spilled and len(store._findings._runs) > 3  # several pickled runs
    assert store._findings.on_disk == on_disk
    assert len(store) == len(fixture_findings)
    expected = sorted(shuffled, key=Finding.sort_key)  # ties keep the order they were added in
    assert list(store) == expected
    assert list(store) == expected  # it can be read again
    assert {f.rule.id for f in store} == {f.rule.id for f in fixture_findings}


def test_a_finding_made_from_parts_is_the_named_one() -> None:
    """``new_finding`` builds the tuple by position: it must put every part in its field."""
    rule = load_rules()[0]
    suppression = Suppression("external", "why", ".kscan.yaml")
    made = new_finding(
        rule,
        Severity.LOW,
        "p.yaml",
        Span(1, 2, 3, 4),
        ("spec", 0),
        ("Pod", "ns", "web"),
        "c",
        "message",
        "/spec/0",
        "detail",
        suppression,
    )
    named = Finding(
        rule=rule,
        severity=Severity.LOW,
        path="p.yaml",
        line=1,
        column=2,
        end_line=3,
        end_column=4,
        pointer=("spec", 0),
        kind="Pod",
        namespace="ns",
        name="web",
        container="c",
        message="message",
        stable_field="/spec/0",
        detail="detail",
        suppression=suppression,
        baseline_state=None,
    )
    assert type(made) is Finding and made == named and made._asdict() == named._asdict()
    assert made.span == Span(1, 2, 3, 4) and type(made.span) is Span


def test_flat_findings_are_plain_tuples_and_read_back(fixture_findings: list[Finding]) -> None:
    rows = flattened(fixture_findings)
    assert {type(row) for row in rows} == {tuple}  # pickled without a Python call per finding
    back = unflattened(rows)
    assert back == fixture_findings and {type(f) for f in back} == {Finding}


def _by_file(findings: list[Finding]) -> list[list[Finding]]:
    """The findings of each file, in file order, each file's sorted (as a scan makes them)."""
    files: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        files.setdefault(finding.path, []).append(finding)
    return list(files.values())


@pytest.mark.parametrize("held", HELD)
def test_runs_from_workers_read_back_in_order(
    fixture_findings: list[Finding], monkeypatch: pytest.MonkeyPatch, held: int
) -> None:
    """Runs made as a worker makes them (files in order, or not: then the run is sorted), with
    findings added one by one between them, read back as one sorted store; equal keys keep the
    order they were added in."""
    on_disk = held < spill.HELD_BYTES
    monkeypatch.setattr(spill, "HELD_BYTES", held)
    files = _by_file(fixture_findings)
    assert len(files) > 20
    rules = RuleIndex(load_rules())
    store = FindingStore()
    added: list[Finding] = []
    batches = [files[0:5], files[5:9][::-1], files[12:20], files[9:12], files[20:]]
    for number, batch in enumerate(batches):
        # findings with the keys of findings in the next run, added before it
        loose = [f._replace(message=f"before run {number}") for f in batch[0][:2]]
        store.extend(loose if number % 2 else [])
        added += loose if number % 2 else []
        run = sorted_run(batch, rules)
        assert run is not None and run.size == sum(map(len, batch))
        store.add_run(run, rules)
        added += [finding for part in batch for finding in part]
    assert store._findings.on_disk == on_disk
    assert len(store) == len(added)
    expected = sorted(added, key=Finding.sort_key)
    assert list(store) == expected
    assert list(store) == expected  # it can be read again
    whole = Tally()
    whole.add(added)
    assert store.tally == whole


def test_runs_in_file_order_are_read_one_after_another(fixture_findings: list[Finding]) -> None:
    """Runs whose keys do not overlap are chained, with no merge; an overlapping run or loose
    findings that belong before the last run are merged."""
    files = _by_file(fixture_findings)
    rules = RuleIndex(load_rules())
    spilled = FindingStore()
    for start in range(0, len(files), 7):
        run = sorted_run(files[start : start + 7], rules)
        assert run is not None
        spilled.add_run(run, rules)
    assert len(spilled._findings._runs) > 3 and len(spilled._findings._sources()) == 1
    spilled.extend(files[-1][-1:])  # sorts last: chained after the runs
    assert len(spilled._findings._sources()) == 1
    spilled.extend(files[0][:1])  # sorts first: merged
    assert len(spilled._findings._sources()) == 2
    expected = [f for part in files for f in part]
    assert list(spilled) == sorted([*expected, files[-1][-1], files[0][0]], key=Finding.sort_key)


@pytest.mark.parametrize("held", HELD)
def test_many_overlapping_runs_are_merged_into_few_first(
    fixture_findings: list[Finding], monkeypatch: pytest.MonkeyPatch, held: int
) -> None:
    """Runs of files out of order (a worker's batches of shuffled arguments) overlap, and a
    read holds a block of each: beyond ``FAN_IN`` of them, they are merged into fewer first,
    and the store reads back the same, again and after more is added."""
    monkeypatch.setattr(spill, "HELD_BYTES", held)
    monkeypatch.setattr(spill, "FAN_IN", 3)
    files = _by_file(fixture_findings)
    rules = RuleIndex(load_rules())
    store = FindingStore()
    added: list[Finding] = []
    for start in reversed(range(20)):  # 20 runs, each of files from all over
        batch = files[start::20]
        run = sorted_run(batch, rules)
        assert run is not None
        store.add_run(run, rules)
        added += [finding for part in batch for finding in part]
    store.extend(files[0][:1])
    added += files[0][:1]
    expected = sorted(added, key=Finding.sort_key)
    assert list(store) == expected
    spilled = store._findings
    assert len(spilled._runs) <= 3
    for merged in spilled._runs:  # each knows its first and last keys, for chaining later
        items = list(spilled._read(merged))
        assert (merged.first, merged.last) == (items[0].sort_key(), items[-1].sort_key())
    assert list(store) == expected
    more = [f._replace(message="added after a read") for f in files[5]]
    store.extend(more)
    run = sorted_run([files[7]], rules)
    assert run is not None
    store.add_run(run, rules)
    expected = sorted([*added, *more, *files[7]], key=Finding.sort_key)
    assert list(store) == expected


def test_two_reads_at_once_share_the_file(
    fixture_findings: list[Finding], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finding_store, "SPILL_AT", 100)
    monkeypatch.setattr(spill, "HELD_BYTES", 0)
    store = FindingStore(fixture_findings[::-1])
    assert store._findings.on_disk
    first, second = iter(store), iter(store)
    pairs = list(zip(first, second, strict=True))  # the two reads take turns block by block
    expected = sorted(fixture_findings[::-1], key=Finding.sort_key)
    assert [a for a, _ in pairs] == [b for _, b in pairs] == expected


def test_a_run_of_no_findings_is_none() -> None:
    assert sorted_run([[], []], RuleIndex()) is None


def test_tallies_add_up(fixture_findings: list[Finding]) -> None:
    marked = [
        f._replace(suppression=Suppression("external", "why", ".kscan.yaml")) if i % 5 == 0 else f
        for i, f in enumerate(fixture_findings)
    ]
    marked = [f.with_baseline_state("unchanged") if i % 7 == 0 else f for i, f in enumerate(marked)]
    whole, first, second = Tally(), Tally(), Tally()
    whole.add(marked)
    first.add(marked[::2])
    second.add(marked[1::2])
    first.merge(second)
    assert first == whole and whole.suppressed and whole.unchanged and whole.compared


def test_a_small_store_stays_in_memory(fixture_findings: list[Finding]) -> None:
    store = FindingStore(fixture_findings[:10])
    assert list(store) == sorted(fixture_findings[:10], key=Finding.sort_key)
    assert not store.spilled


@pytest.mark.parametrize("output_format", ["json", "sarif", "text", "junit", "markdown", "github"])
@pytest.mark.slow
@pytest.mark.usefixtures("to_disk")
def test_reports_are_the_same_when_findings_spill(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, output_format: str
) -> None:
    args = ["--format", output_format, "--enable", "all", "--jobs", "2", *SAMPLE]
    in_memory = run(*args)
    monkeypatch.setattr(finding_store, "SPILL_AT", 50)
    spilled = run(*args)
    assert in_memory.exit_code == spilled.exit_code == 1
    assert in_memory.stdout == spilled.stdout


@pytest.mark.slow
@pytest.mark.usefixtures("to_disk")
def test_a_baseline_is_the_same_when_findings_spill(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    assert run("--write-baseline", str(baseline), *SAMPLE).exit_code == 0
    expected = run("--format", "json", "--baseline", str(baseline), *SAMPLE)
    monkeypatch.setattr(finding_store, "SPILL_AT", 50)
    spilled = run("--format", "json", "--baseline", str(baseline), *SAMPLE)
    assert '"baseline_state": "unchanged"' in spilled.stdout
    assert expected.stdout == spilled.stdout
    assert expected.exit_code == spilled.exit_code == 0


@pytest.mark.slow
@pytest.mark.usefixtures("to_disk")
def test_reports_are_the_same_when_facts_spill(monkeypatch: pytest.MonkeyPatch) -> None:
    """Namespace rules read the facts back namespace by namespace, from disk here."""
    args = ["--format", "json", "--enable", "all", *SAMPLE]
    in_memory = run(*args)
    spilled_stores = []
    real_extend = inventory.FactStore.extend

    def extend(self: inventory.FactStore, facts: object) -> None:
        real_extend(self, facts)  # type: ignore[arg-type]
        spilled_stores.append(self._grouped.spilled)

    monkeypatch.setattr(inventory, "FACTS_SPILL_AT", 7)
    monkeypatch.setattr(inventory.FactStore, "extend", extend)
    spilled = run(*args)
    assert any(spilled_stores)
    assert in_memory.exit_code == spilled.exit_code == 1
    assert in_memory.stdout == spilled.stdout
    assert "default-deny-network-policy" in spilled.stdout
