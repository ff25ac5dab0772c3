"""A scan's findings, in report order, in bounded memory: beyond ``SPILL_AT`` they wait, sorted
and pickled, in memory and then in a temporary file (see ``spill``), and counts for summaries
are kept as they are added."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from itertools import islice, pairwise

from kscan.results.findings import Finding, Tally, flattened, unflattened
from kscan.rules.pickling import RuleIndex
from kscan.support.spill import SortedSpill, pickled_blocks
from kscan.support.values import Record

SPILL_AT = 100_000
"""Findings held in memory before a sorted run is written out (some 80 MB)."""
_CHUNK = 10_000


class FindingStore:
    """Findings added in any order, read back sorted by ``Finding.sort_key`` (file, line,
    column, rule). It can be read any number of times."""

    def __init__(self, findings: Iterable[Finding] = ()) -> None:
        self.tally = Tally()
        self._rules = RuleIndex()  # findings carry rules: spilled as indexes into this list
        self._findings: SortedSpill[Finding] = SortedSpill(
            Finding.sort_key, SPILL_AT, self._dumps, self._loads
        )
        self.extend(findings)

    def _dumps(self, findings: list[Finding]) -> bytes:
        return _dumps(self._rules, findings)

    def _loads(self, data: bytes) -> list[Finding]:
        return _loads(self._rules, data)

    def add_run(self, run: FindingRun, rules: RuleIndex) -> None:
        """Add the findings of ``run`` (made by ``sorted_run`` with ``rules``) as they are:
        counted by their tally, kept in their pickled blocks."""
        self.tally.merge(run.tally)
        self._findings.add_run(run.blocks, run.size, run.first, run.last, partial(_loads, rules))

    def extend(self, findings: Iterable[Finding]) -> None:
        """Add findings (a generator is consumed in chunks, never held whole)."""
        pending = iter(findings)
        while chunk := list(islice(pending, _CHUNK)):
            self.tally.add(chunk)
            self._findings.extend(chunk)

    @property
    def spilled(self) -> bool:
        """Whether some findings wait pickled (held in memory or on disk)."""
        return self._findings.spilled

    def __len__(self) -> int:
        return len(self._findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._findings)


def _dumps(rules: RuleIndex, findings: list[Finding]) -> bytes:
    """A block of findings as plain tuples, each rule as its position: pickled by C code alone,
    but for the first use of each rule and severity, and each suppression."""
    return rules.dumps(flattened(findings))


def _loads(rules: RuleIndex, data: bytes) -> list[Finding]:
    return unflattened(rules.loads(data))


class FindingRun(Record):
    """Sorted findings pickled in blocks, with their tally: what a worker process sends, so that
    the process gathering a scan's findings neither reads, counts nor sorts them one by one."""

    blocks: list[bytes]
    size: int
    """How many findings it holds."""
    first: tuple[str, int, int, str]
    last: tuple[str, int, int, str]
    """The sort keys of the first and last findings."""
    tally: Tally


def sorted_run(parts: list[list[Finding]], rules: RuleIndex) -> FindingRun | None:
    """The findings of ``parts`` (each sorted, as a file's are) as one run, rules pickled as their
    positions in ``rules`` (None: there are none). Parts in order (consecutive files) are joined
    without a sort."""
    keys = [(part[0].sort_key(), part[-1].sort_key()) for part in parts if part]
    findings = [finding for part in parts for finding in part]
    if not findings:
        return None
    tally = Tally()
    tally.add(findings)
    if any(before[1] > after[0] for before, after in pairwise(keys)):
        findings.sort(key=Finding.sort_key)
    blocks = list(pickled_blocks(findings, partial(_dumps, rules)))
    first, last = findings[0].sort_key(), findings[-1].sort_key()
    return FindingRun(blocks, len(findings), first, last, tally)
