"""Items added in any order and read back sorted, in bounded memory.

Up to ``limit`` items are held in memory. Beyond that, they are sorted and pickled as a run of
blocks; runs can also be added already pickled (``add_run``: a worker process sorts and pickles
its own, so the process that gathers them does neither). Pickled blocks are held in memory up to
``HELD_BYTES``, then written to an anonymous temporary file (in the system's temporary
directory; it has no name and is gone when closed or when kscan exits). Reading merges the runs
back in order, one block at a time; consecutive runs that do not overlap (a scan's files come in
order) are read one after the other, with no merge. Small inputs never touch the disk.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")
_BLOCK = 1024
"""Items per pickled block of a run."""
HELD_BYTES = 8 << 20
"""Pickled blocks held in memory, at most, before they are written to the temporary file."""
FAN_IN = 16
"""Sources merged at once, at most: a read holds a block of each. Beyond it (many runs that
overlap, such as worker batches of files given out of order), runs are merged into fewer first,
16 at a time, and the spill keeps the merged runs."""


def _pickled(items: list[Any]) -> bytes:
    return pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)


def pickled_blocks(items: Iterable[T], dumps: Callable[[list[T]], bytes]) -> Iterator[bytes]:
    """``items`` (a list, or an iterator consumed as it goes) in blocks of ``_BLOCK``, pickled
    with ``dumps``."""
    pending = iter(items)
    while block := list(islice(pending, _BLOCK)):
        yield dumps(block)


class _Run:
    """Sorted items in pickled blocks, each held (bytes) or in the file (offset, length); the
    keys of its first and last items, and how its blocks are read."""

    __slots__ = ("blocks", "first", "last", "loads")

    def __init__(self, first: Any, last: Any, loads: Callable[[bytes], list[Any]]) -> None:
        self.blocks: list[bytes | tuple[int, int]] = []
        self.first = first
        self.last = last
        self.loads = loads


class SortedSpill(Generic[T]):
    """Items read back sorted by ``key``; items with equal keys in the order they were added.
    It can be read any number of times. Blocks are written with ``dumps`` and read with
    ``loads`` (pickle by default; a store of findings passes its own, see ``RuleIndex``)."""

    def __init__(
        self,
        key: Callable[[T], Any],
        limit: int,
        dumps: Callable[[list[T]], bytes] | None = None,
        loads: Callable[[bytes], list[T]] = pickle.loads,
    ) -> None:
        self.key = key
        self.limit = limit
        self._dumps = dumps or _pickled
        self._loads = loads
        self._memory: list[T] = []
        self._sorted = True
        self._runs: list[_Run] = []
        self._held: list[tuple[list[bytes | tuple[int, int]], int]] = []
        """The blocks held in memory: each as its run's list of blocks and its place there."""
        self._held_bytes = 0
        self._file: IO[bytes] | None = None
        self._count = 0
        """Items in runs."""

    def extend(self, items: Iterable[T]) -> None:
        self._memory.extend(items)
        self._sorted = False
        if len(self._memory) >= self.limit:
            self._spill()

    def add_run(
        self,
        blocks: list[bytes],
        count: int,
        first: Any,
        last: Any,
        loads: Callable[[bytes], list[T]] | None = None,
    ) -> None:
        """Add ``count`` items already sorted and pickled in ``blocks`` (read with ``loads``, or
        the spill's own), whose first and last keys are ``first`` and ``last``."""
        if not count:
            return
        if self._memory:  # items added before the run stay before it among equal keys
            self._spill()
        self._runs.append(self._kept(first, last, blocks, loads or self._loads))
        self._count += count

    @property
    def spilled(self) -> bool:
        """Whether some items were pickled out of memory (held as bytes, or on disk)."""
        return bool(self._runs)

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def __len__(self) -> int:
        return self._count + len(self._memory)

    def __iter__(self) -> Iterator[T]:
        if not self._runs:
            return iter(self._sorted_memory())
        sources = self._sources()
        if len(sources) == 1:
            return sources[0]
        return _merge(sources, self.key)

    def _sources(self) -> list[Iterator[T]]:
        """The runs and the items in memory as at most ``FAN_IN`` + 1 sorted iterators, in
        the order added: chains of runs (see ``_chains``), then the items in memory, which join
        the last chain when they follow on from it."""
        chains = self._chains()
        if len(chains) > FAN_IN:  # a read holds a block per source: merge some first
            self._compact(chains)
            chains = self._chains()
        sources: list[Iterator[T]] = [self._chained(runs) for runs in chains]
        memory = self._sorted_memory()
        if memory:
            if self.key(memory[0]) >= chains[-1][-1].last:
                sources[-1] = chain(sources[-1], memory)
            else:
                sources.append(iter(memory))
        return sources

    def _compact(self, chains: list[list[_Run]]) -> None:
        """Merge chains ``FAN_IN`` at a time into runs until at most ``FAN_IN`` remain."""
        while len(chains) > FAN_IN:
            groups = _groups(chains, FAN_IN)
            self._runs = [run for group in groups for run in self._merged(group)]
            chains = self._chains()
        live = {id(run.blocks) for run in self._runs}  # blocks of replaced runs are let go
        self._held = [(blocks, at) for blocks, at in self._held if id(blocks) in live]
        self._held_bytes = sum(len(blocks[at]) for blocks, at in self._held)

    def _chains(self) -> list[list[_Run]]:
        """The runs in the order they were added, those whose keys follow on from the run
        before them (a scan's files come in order) grouped together: each group reads as one
        sorted source, with no merge."""
        chains: list[list[_Run]] = []
        for run in self._runs:
            if chains and chains[-1][-1].last <= run.first:
                chains[-1].append(run)
            else:
                chains.append([run])
        return chains

    def _chained(self, runs: list[_Run]) -> Iterator[T]:
        return chain.from_iterable(map(self._read, runs))

    def _merged(self, chains: list[list[_Run]]) -> list[_Run]:
        """The runs of ``chains`` (consecutive, in the order added) as one run, merged and
        pickled again; the runs of a single chain stay as they are."""
        if len(chains) == 1:
            return chains[0]
        items = _merge([self._chained(runs) for runs in chains], self.key)
        first = min(runs[0].first for runs in chains)
        last = max(runs[-1].last for runs in chains)
        return [self._kept(first, last, pickled_blocks(items, self._dumps), self._loads)]

    def _sorted_memory(self) -> list[T]:
        if not self._sorted:
            self._memory.sort(key=self.key)
            self._sorted = True
        return self._memory

    def _spill(self) -> None:
        memory = self._memory
        memory.sort(key=self.key)
        first, last = self.key(memory[0]), self.key(memory[-1])
        blocks = pickled_blocks(memory, self._dumps)
        self._runs.append(self._kept(first, last, blocks, self._loads))
        self._count += len(memory)
        self._memory = []
        self._sorted = True

    def _kept(
        self, first: Any, last: Any, blocks: Iterable[bytes], loads: Callable[[bytes], list[Any]]
    ) -> _Run:
        """A run of ``blocks`` (consumed as they come, each kept as it is made)."""
        run = _Run(first, last, loads)
        for block in blocks:
            self._keep(run, block)
        return run

    def _keep(self, run: _Run, block: bytes) -> None:
        """Add a block to ``run``, held in memory; beyond ``HELD_BYTES`` held, the held blocks
        are written out."""
        self._held.append((run.blocks, len(run.blocks)))
        run.blocks.append(block)
        self._held_bytes += len(block)
        if self._held_bytes <= HELD_BYTES:
            return
        if self._file is None:
            import tempfile  # only a scan that spills needs it (with shutil, random...)

            # lives as long as the spill; the system deletes it when it is closed or kscan exits
            self._file = tempfile.TemporaryFile(prefix="kscan-")  # noqa: SIM115
        file = self._file
        offset = file.seek(0, io.SEEK_END)
        for blocks, index in self._held:
            data = blocks[index]
            assert isinstance(data, bytes)
            file.write(data)
            blocks[index] = (offset, len(data))
            offset += len(data)
        self._held, self._held_bytes = [], 0

    def _read(self, run: _Run) -> Iterator[T]:
        loads = run.loads
        for block in run.blocks:
            if isinstance(block, tuple):
                assert self._file is not None
                offset, length = block
                self._file.seek(offset)
                block = self._file.read(length)
            yield from loads(block)


def _groups(chains: list[list[_Run]], size: int) -> Iterator[list[list[_Run]]]:
    for start in range(0, len(chains), size):
        yield chains[start : start + size]


def _merge(sources: list[Iterator[T]], key: Callable[[T], Any]) -> Iterator[T]:
    """The sources merged by ``key``; equal keys in the order of the sources."""
    import heapq  # only overlapping runs need it

    return heapq.merge(*sources, key=key)
