"""A scan's findings, in report order, in bounded memory: beyond ``SPILL_AT`` they wait, sorted,
in a temporary file (see ``spill``), and counts for summaries are kept as they are added."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from kscan.results.findings import Finding, Tally, flattened, unflattened
from kscan.rules.pickling import RuleIndex
from kscan.support.spill import SortedSpill

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
        """A block of findings as plain tuples, each rule as its position: pickled by C code
        alone, but for the first use of each rule and severity, and each suppression."""
        return self._rules.dumps(flattened(findings))

    def _loads(self, data: bytes) -> list[Finding]:
        return unflattened(self._rules.loads(data))

    def extend(self, findings: Iterable[Finding]) -> None:
        """Add findings (a generator is consumed in chunks, never held whole)."""
        pending = iter(findings)
        while chunk := list(islice(pending, _CHUNK)):
            self.tally.add(chunk)
            self._findings.extend(chunk)

    @property
    def spilled(self) -> bool:
        """Whether some findings wait on disk."""
        return self._findings.spilled

    def __len__(self) -> int:
        return len(self._findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._findings)
