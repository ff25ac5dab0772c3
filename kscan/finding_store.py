"""A scan's findings, in report order, in bounded memory.

Up to ``SPILL_AT`` findings are held in memory. Beyond that, they are sorted and written as a
run to an anonymous temporary file (in the system's temporary directory, deleted on close), and
reading the store merges the runs back in order. A scan with millions of findings thus holds a
few hundred thousand at a time; one with fewer never touches the disk.
"""

from __future__ import annotations

import heapq
import io
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from kscan.findings import Finding, Tally
from kscan.rule_pickle import RuleIndex

SPILL_AT = 100_000
"""Findings held in memory before a sorted run is written out (some 80 MB)."""
_BLOCK = 1024
"""Findings per pickled block of a run: one block is read at a time."""


class FindingStore:
    """Findings added in any order, read back sorted by ``Finding.sort_key`` (file, line,
    column, rule). It can be read any number of times."""

    def __init__(self, findings: Iterable[Finding] = ()) -> None:
        self.tally = Tally()
        self._memory: list[Finding] = []
        self._sorted = False
        self._runs: list[list[tuple[int, int]]] = []
        """Per spilled run, its blocks as (offset, length) in ``_file``."""
        self._file: IO[bytes] | None = None
        self._spilled = 0
        self._rules = RuleIndex()
        self.extend(findings)

    def extend(self, findings: Iterable[Finding]) -> None:
        added = len(self._memory)
        self._memory.extend(findings)
        for finding in self._memory[added:]:
            self.tally.add(finding)
        self._sorted = False
        if len(self._memory) >= SPILL_AT:
            self._spill()

    def __len__(self) -> int:
        return self._spilled + len(self._memory)

    def __iter__(self) -> Iterator[Finding]:
        if not self._sorted:
            self._memory.sort(key=Finding.sort_key)
            self._sorted = True
        if not self._runs:
            return iter(self._memory)
        runs = [self._read(blocks) for blocks in self._runs]
        return heapq.merge(*runs, self._memory, key=Finding.sort_key)

    def _spill(self) -> None:
        self._memory.sort(key=Finding.sort_key)
        if self._file is None:
            # lives as long as the store; the system deletes it when it is closed or kscan exits
            self._file = tempfile.TemporaryFile(prefix="kscan-findings-")  # noqa: SIM115
        blocks = []
        for start in range(0, len(self._memory), _BLOCK):
            data = self._rules.dumps(self._memory[start : start + _BLOCK])
            offset = self._file.seek(0, io.SEEK_END)
            self._file.write(data)
            blocks.append((offset, len(data)))
        self._runs.append(blocks)
        self._spilled += len(self._memory)
        self._memory = []

    def _read(self, blocks: list[tuple[int, int]]) -> Iterator[Finding]:
        assert self._file is not None
        for offset, length in blocks:
            self._file.seek(offset)
            data = self._file.read(length)
            yield from self._rules.loads(data)
