"""Scan files in worker processes (``--jobs``), or in this process when that is quicker.

Files are cut into batches of consecutive paths of similar total size; workers scan a batch
with their own ``FileScanner`` and send back its ``FileResult``s pickled, rules replaced by their
index, so no rule is copied, and the batch's findings as one sorted run of pickled blocks, which
goes to the sink's store as it is. Results are consumed in path order, which makes the scan's
output the same as with one job.
"""

from __future__ import annotations

import gc
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from kscan.input.sources import STDIN
from kscan.model.inventory import ObjectFacts
from kscan.results.store import FindingRun, sorted_run
from kscan.rules.pickling import RuleIndex
from kscan.scan.file_scan import FileResult, FileScanner, ScanSetup, Sink

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from kscan.model.threat_facts import ThreatFacts

PARALLEL_MIN_BYTES = 1 << 20
"""Inputs smaller than this are scanned in-process: starting workers would cost more."""
_BATCHES_PER_JOB = 8
_MIN_BATCH_BYTES = 256 << 10
_MAX_BATCH_BYTES = 8 << 20
"""A worker holds one batch's results at a time: this bounds its memory on huge inputs."""
_AHEAD = 3
"""Batches in flight per worker: enough to keep it busy, few enough that results never pile up."""


class Workers:
    """Runs ``FileScanner``s over files: in this process, or in ``jobs`` worker processes
    where that pays off."""

    def __init__(self, setup: ScanSetup, jobs: int, sink: Sink | None = None) -> None:
        self.rules = setup.assignment.every_rule_object()
        self.setup = setup
        self.jobs = jobs
        self.sink = sink
        """Where files scanned in this process put their findings and facts as they go."""
        self._local: FileScanner | None = None

    def scan(self, paths: list[str]) -> Iterator[FileResult]:
        """The result of every file, in order."""
        sizes = [] if STDIN in paths else [_size(path) for path in paths]  # stdin: read here
        if not self._worth_workers(sizes):
            local = self._scanner()
            return (local.scan(path) for path in paths)
        return self._in_workers(_scan_batch, self._read_batch, _batches(paths, sizes, self.jobs))

    def context(self, paths: list[str]) -> Iterator[ObjectFacts | ThreatFacts]:
        """The facts of every context file, in order."""
        sizes = [_size(path) for path in paths]
        if not self._worth_workers(sizes):
            local = self._scanner()
            return (facts for path in paths for facts in local.context(path))
        batches = _batches(paths, sizes, self.jobs)
        return (
            facts
            for part in self._in_workers(_context_batch, RuleIndex.loads, batches)
            for facts in part
        )

    def _read_batch(self, index: RuleIndex, data: bytes) -> list[FileResult]:
        """The results ``_scan_batch`` sent; their findings go to the sink as one run."""
        results: list[FileResult]
        run: FindingRun | None
        results, run = index.loads(data)
        if run is not None:
            assert self.sink is not None, "a scan in workers gathers findings in a sink"
            self.sink.add_run(run, index)
        return results

    def _scanner(self) -> FileScanner:
        if self._local is None:
            self._local = FileScanner(self.setup, sink=self.sink)
        return self._local

    def _worth_workers(self, sizes: list[int]) -> bool:
        """Several files, of enough bytes in all, and more than one core to run workers on (on
        one core, workers only add the cost of sending results back)."""
        several = self.jobs > 1 and len(sizes) > 1 and sum(sizes) >= PARALLEL_MIN_BYTES
        return several and available_cores() > 1

    def _in_workers(
        self,
        task: Callable[[list[str]], bytes],
        read: Callable[[RuleIndex, bytes], list[Any]],
        listed: list[list[str]],
    ) -> Iterator[Any]:
        from concurrent.futures.process import BrokenProcessPool  # only when workers are used

        batches = iter(listed)
        index = RuleIndex(self.rules)
        jobs = min(self.jobs, len(listed), available_cores())  # more would share cores
        with _pool(jobs, self.setup) as pool:
            pending = deque(pool.submit(task, b) for b in islice(batches, jobs * _AHEAD))
            try:
                while pending:
                    encoded = pending.popleft().result()
                    pending.extend(pool.submit(task, b) for b in islice(batches, 1))
                    yield from read(index, encoded)
            except BrokenProcessPool:
                raise RuntimeError("a worker process stopped unexpectedly") from None


def available_cores() -> int:
    """The cores this process may use: the CPUs it may run on (its affinity, as ``taskset`` or
    a scheduler sets it), and no more than its cgroup's CPU quota (a container's ``--cpus``)."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0)) or 1
    else:
        cores = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return min(cores, quota) if quota is not None else cores


def _cgroup_cpu_quota(path: str = "/sys/fs/cgroup/cpu.max") -> int | None:
    """Whole CPUs the cgroup v2 quota allows (at least 1); None without a quota or cgroup v2."""
    try:
        with open(path, encoding="ascii") as handle:
            quota, period = handle.read().split()[:2]
        return max(1, int(quota) // int(period)) if quota != "max" else None
    except (OSError, ValueError):
        return None


def _pool(jobs: int, setup: ScanSetup) -> Executor:
    """Worker processes; forked where the platform allows (no re-import, rules inherited)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    method = "fork" if "fork" in methods and sys.platform == "linux" else None
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(setup,),
    )


def _batches(paths: list[str], sizes: list[int], jobs: int) -> list[list[str]]:
    """Consecutive runs of paths, about ``_BATCHES_PER_JOB`` per job by size (within bounds), so
    that one large file does not leave the other workers idle at the end. A batch ends where the
    input's running total passes the next multiple of the target size (at a file's middle), so
    that their sizes even out instead of each falling short by part of a file: 50 equal files in
    16 batches make 16, not 17 whose last leaves a worker idle."""
    share = sum(sizes) // (jobs * _BATCHES_PER_JOB)
    target = min(max(_MIN_BATCH_BYTES, share), _MAX_BATCH_BYTES)
    batches: list[list[str]] = [[]]
    total = filled = 0  # bytes before this file: in all, and in the current batch
    cut = target  # where the current batch ends
    for path, size in zip(paths, sizes, strict=True):
        passes = total + size // 2 > cut or filled + size > _MAX_BATCH_BYTES
        if batches[-1] and passes:
            batches.append([])
            filled = 0
            while cut < total + size // 2:
                cut += target
        batches[-1].append(path)
        filled += size
        total += size
    return batches


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


_worker: tuple[FileScanner, RuleIndex] | None = None


def _start_worker(setup: ScanSetup) -> None:
    global _worker
    gc.disable()  # as in the parent: the scan's objects are acyclic
    _worker = (FileScanner(setup), RuleIndex(setup.assignment.every_rule_object()))


def _scan_batch(paths: list[str]) -> bytes:
    """The batch's results without their findings, and its findings as one sorted run (see
    ``sorted_run``): the parent adds them to its store without reading them."""
    assert _worker is not None
    scanner, index = _worker
    results = [scanner.scan(path) for path in paths]
    run: FindingRun | None = sorted_run([result.findings for result in results], index)
    for result in results:
        result.findings = []
    return index.dumps((results, run))


def _context_batch(paths: list[str]) -> bytes:
    assert _worker is not None
    scanner, index = _worker
    return index.dumps([scanner.context(path) for path in paths])
