"""Run a command and measure it as a user sees it: wall time, and memory from /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measured:
    seconds: float
    own_mb: float
    """Peak resident memory of the process itself (its VmHWM)."""
    together_mb: float
    """Peak resident memory of the process and its children together (sampled every 20 ms)."""
    exit_code: int
    timed_out: bool = False
    """Stopped at the timeout: ``seconds`` is a lower bound."""


def measure(command: list[str], cwd: Path | None = None, timeout: float | None = None) -> Measured:
    """Run ``command`` (output discarded) and measure it; past ``timeout`` seconds it and its
    children are stopped."""
    own = together = 0
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=timeout is not None,
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal own, together
        while not done.wait(0.02):
            high, total = memory_kb(process.pid)
            own, together = max(own, high), max(together, total)

    sampler = threading.Thread(target=sample)
    sampler.start()
    timed_out = False
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)  # its own session: it and its children only
        process.wait()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    together_mb = max(together, own) / 1024
    return Measured(seconds, own / 1024, together_mb, process.returncode, timed_out)


def memory_kb(root: int) -> tuple[int, int]:
    """(VmHWM of ``root``, VmRSS of ``root`` and its descendants together), from /proc.

    VmHWM is the kernel's own high-water mark of the process's resident memory since it started
    the program. ``wait4``'s ``ru_maxrss`` is not used: Linux carries the high-water mark of the
    process that forked over into the child's figure, which here is this benchmark, holding the
    whole corpus in memory. Parents and resident sizes come from each process's one-line
    ``stat`` (a sample every 20 ms of every ``status`` file took 7% of a core, taken from the
    process being measured on a 2-core machine).
    """
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])  # after the command's name: state, ppid, ...
        rss[pid] = int(fields[21]) * _PAGE_KB  # field 24 of stat: resident pages
    high = 0
    try:
        with open(f"/proc/{root}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    high = int(line.split()[1])
    except OSError:
        pass
    family = {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                changed = True
    return high, sum(rss.get(pid, 0) for pid in family)


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
