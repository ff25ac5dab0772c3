"""Items added in any order and read back sorted, in bounded memory.

Up to ``limit`` items are held in memory. Beyond that, they are sorted and written as a run to an
anonymous temporary file (in the system's temporary directory; it has no name and is gone when
closed or when kscan exits), and reading merges the runs back in order, one block at a time.
Small inputs never touch the disk.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")
_BLOCK = 1024
"""Items per pickled block of a run."""


def _pickled(items: list[Any]) -> bytes:
    return pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)


class SortedSpill(Generic[T]):
    """Items read back sorted by ``key``; items with equal keys in the order they were added.
    It can be read any number of times. Spilled blocks are written with ``dumps`` and read with
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
        self._runs: list[list[tuple[int, int]]] = []
        """Per spilled run, its blocks as (offset, length) in ``_file``."""
        self._file: IO[bytes] | None = None
        self._spilled = 0

    def extend(self, items: Iterable[T]) -> None:
        self._memory.extend(items)
        self._sorted = False
        if len(self._memory) >= self.limit:
            self._spill()

    @property
    def spilled(self) -> bool:
        return bool(self._runs)

    def __len__(self) -> int:
        return self._spilled + len(self._memory)

    def __iter__(self) -> Iterator[T]:
        if not self._sorted:
            self._memory.sort(key=self.key)
            self._sorted = True
        if not self._runs:
            return iter(self._memory)
        import heapq  # only a scan that spilled needs it

        runs = [self._read(blocks) for blocks in self._runs]
        return heapq.merge(*runs, self._memory, key=self.key)

    def _spill(self) -> None:
        self._memory.sort(key=self.key)
        if self._file is None:
            import tempfile  # only a scan that spills needs it (with shutil, random...)

            # lives as long as the spill; the system deletes it when it is closed or kscan exits
            self._file = tempfile.TemporaryFile(prefix="kscan-")  # noqa: SIM115
        blocks = []
        for start in range(0, len(self._memory), _BLOCK):
            data = self._dumps(self._memory[start : start + _BLOCK])
            offset = self._file.seek(0, io.SEEK_END)
            self._file.write(data)
            blocks.append((offset, len(data)))
        self._runs.append(blocks)
        self._spilled += len(self._memory)
        self._memory = []
        self._sorted = True

    def _read(self, blocks: list[tuple[int, int]]) -> Iterator[T]:
        assert self._file is not None
        for offset, length in blocks:
            self._file.seek(offset)
            data = self._file.read(length)
            yield from self._loads(data)
