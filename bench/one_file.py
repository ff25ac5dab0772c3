#!/usr/bin/env python3
"""Start-up: kscan on a 13-line Pod against ``python -c "import yaml, click"``, whole processes.

Usage::

    python bench/one_file.py [--runs 21] [--file POD.yaml] [--no-cache]

Each round runs, in turn, ``python -c pass``, ``python -c "import yaml, click"`` (the floor: the
two libraries kscan's command line cannot do without) and ``python -m kscan FILE`` from the
repository root (so this checkout's kscan runs), output discarded, after one warm-up run of each
(which also fills the rule cache). The goal of the speed issue is a kscan run that takes at most
1.5x the floor. The table gives, per command, the median wall time, CPU time (user + system) and
peak resident memory (``ru_maxrss`` from ``wait4``) over the rounds, and kscan's ratio to the
floor: the median of the per-round ratios (paired runs, which cancels most of the drift of a
shared machine), and the ratio of the medians. ``--no-cache`` runs kscan with
``KSCAN_CACHE_DIR=`` (no rule cache: every rule file parsed and validated).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from speed import POD  # the Pod of the speed table

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    wall: float
    cpu: float
    max_rss_mb: float
    exit_code: int


def run(command: list[str], env: dict[str, str]) -> Run:
    """One process, output discarded: wall time, CPU time and peak RSS from ``wait4``."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds of paired runs [21]")
    parser.add_argument("--file", type=Path, help="the file to scan [a 13-line Pod]")
    parser.add_argument("--no-cache", action="store_true", help="kscan without its rule cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kscan-one-file-") as folder:
        target = args.file
        if target is None:
            target = Path(folder, "pod.yaml")
            target.write_text(POD)
        env = dict(os.environ)
        if args.no_cache:
            env["KSCAN_CACHE_DIR"] = ""
        scanned = str(target.absolute())
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import yaml, click'": [sys.executable, "-c", "import yaml, click"],
            f"python -m kscan {target.name}": [sys.executable, "-m", "kscan", scanned],
        }
        runs: dict[str, list[Run]] = {label: [] for label in commands}
        for command in commands.values():
            run(command, env)  # warm-up: page cache, byte code, rule cache
        for _round in range(args.runs):
            for label, command in commands.items():
                runs[label].append(run(command, env))
    floor, kscan = (runs[label] for label in list(commands)[1:])
    state = "off" if args.no_cache else "on"
    print(f"{args.runs} rounds, Python {sys.version.split()[0]}, rule cache {state}")
    print("| command | wall ms | CPU ms | peak RSS MB | exit |")
    print("|---|---:|---:|---:|---:|")
    for label, measured in runs.items():
        print(
            f"| {label} | {statistics.median(r.wall for r in measured) * 1000:.1f} | "
            f"{statistics.median(r.cpu for r in measured) * 1000:.1f} | "
            f"{statistics.median(r.max_rss_mb for r in measured):.1f} | "
            f"{measured[-1].exit_code} |"
        )
    paired = statistics.median(k.wall / f.wall for k, f in zip(kscan, floor, strict=True))
    medians = statistics.median(r.wall for r in kscan) / statistics.median(r.wall for r in floor)
    pairs = list(zip(kscan, floor, strict=True))
    paired_cpu = statistics.median(k.cpu / f.cpu for k, f in pairs if f.cpu)
    print(
        f"kscan / floor: {paired:.2f}x (median of paired wall ratios), {medians:.2f}x (ratio of "
        f"median walls), {paired_cpu:.2f}x (median of paired CPU ratios); goal: at most 1.5x"
    )


if __name__ == "__main__":
    main()
