#!/usr/bin/env python3
"""What the threat model costs next to a scan, and its memory on large inputs.

Usage (from the repository root, with the dev virtualenv)::

    python bench/threats.py [--sizes 10000,100000] [--corpus DIR] [--repeat N]
                            [--workdir /tmp/kscan-scale]

Inputs: the generated monorepos of ``bench/gen_scale_corpus.py`` (the ones ``scale.py`` uses:
RBAC, NetworkPolicies, Services and workloads of every kind) at each size, and ``--corpus DIR``
trees (``../shared/tools/gen_big_corpus.py`` output, the real corpus).

For each input, whole processes as a user runs them, one job, medians of ``--repeat`` paired
runs: ``kscan --format json -o FILE DIR`` (the default rules) and ``kscan threats --format F
-o FILE DIR`` for the text and SARIF reports, with wall time and peak RSS (``processes.py``).

Then, in this process, in CPU seconds (steadier than wall time on a shared machine), what the
threat model adds to a scan: the same files scanned with no rule (parse and the objects only),
with threat facts kept, the graph and path search (``analyse``), and the SARIF rendering.
"adds" is (facts + analysis + rendering) over the whole scan's time: what computing the paths
in the scan's own pass would cost on top of it.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

from processes import measure
from scale import corpus_for

from bench import REPO
from kscan.app import ScanOptions, run
from kscan.report import threats_sarif
from kscan.scan.engine import scan
from kscan.threats.analysis import RenderOptions, analyse


def whole(command: list[str], repeat: int) -> tuple[float, float]:
    """Median seconds and the largest peak RSS (MB, with workers) of ``repeat`` runs."""
    runs = [measure([sys.executable, "-m", "kscan", *command], cwd=REPO) for _ in range(repeat)]
    return statistics.median(r.seconds for r in runs), max(r.together_mb for r in runs)


def timed(action):  # type: ignore[no-untyped-def]
    """CPU seconds of ``action()`` (steadier than wall time on a shared machine) and its value."""
    gc.collect()
    start = time.process_time()
    value = action()
    return time.process_time() - start, value


def measure_input(folder: Path, repeat: int, workdir: Path) -> None:
    out = workdir / "threats-bench.out"
    scan_s, scan_mb = whole(
        ["--jobs", "1", "--format", "json", "-o", str(out), str(folder)], repeat
    )
    rows = [("kscan (default rules, JSON)", scan_s, scan_mb)]
    for report in ("text", "sarif"):
        command = ["threats", "--jobs", "1", "--format", report, "-o", str(out), str(folder)]
        seconds, mb = whole(command, repeat)
        rows.append((f"kscan threats --format {report}", seconds, mb))
    out.unlink(missing_ok=True)

    options = ScanOptions(paths=(str(folder),), output_format="json", jobs=1)
    scanned, _ = timed(lambda: sum(map(len, run(options).rendered)))
    bare, _ = timed(lambda: scan([str(folder)], [], jobs=1))
    kept, result = timed(lambda: scan([str(folder)], [], jobs=1, threats=True))
    analysis, model = timed(lambda: analyse(result.threat_facts))
    rendering, _ = timed(lambda: sum(map(len, threats_sarif.render(model, RenderOptions()))))
    facts = max(kept - bare, 0.0)
    added = facts + analysis + rendering

    print(
        f"\n{folder}: {model.objects} objects, {len(model.graph.nodes)} nodes, "
        f"{sum(len(s) for s in model.graph.out.values())} steps, {len(model.paths)} paths shown"
    )
    print("| run | seconds | x scan | peak RSS |")
    print("|---|---:|---:|---:|")
    for name, seconds, mb in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / scan_s:.2f} | {mb:.0f} MB |")
    print(
        f"CPU: threat facts {facts:.2f} s + graph and search {analysis:.2f} s + SARIF "
        f"{rendering:.2f} s = {added:.2f} s, adds {added / scanned:.0%} to the scan's "
        f"{scanned:.2f} s (default rules, JSON report)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--corpus", action="append", default=[], type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kscan-scale"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    folders = [corpus_for(int(size), args.workdir) for size in args.sizes.split(",") if size]
    for folder in [*folders, *args.corpus]:
        measure_input(folder.resolve(), args.repeat, args.workdir)


if __name__ == "__main__":
    main()
