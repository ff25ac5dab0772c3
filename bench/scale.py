#!/usr/bin/env python3
"""How kscan's time and memory grow with the input, with one job and with several.

Usage (from the repository root, with the dev virtualenv)::

    python bench/scale.py [--sizes 1000,10000,100000] [--jobs 1,2] [--format json]
                          [--workdir /tmp/kscan-scale] [--corpus DIR]

For each size, ``bench/gen_scale_corpus.py`` writes a generated monorepo of that many documents
into ``--workdir`` (kept between runs; rewritten when missing). ``--corpus DIR`` measures an
existing tree instead (e.g. ``../shared/tools/gen_big_corpus.py`` output, or 1 GB of manifests).

Each kscan run is a fresh ``python -m kscan --jobs J --format F -o FILE DIR`` process, as a user
runs it, start-up included; the report goes to a file in ``--workdir``, which is deleted after
the run. Two memory figures: the peak RSS of the kscan process itself (its ``VmHWM``), and the peak
of the sum over it and its worker processes, sampled from ``/proc`` every 20 ms.

The baseline is the fastest C-backed YAML composer on the same bytes: PyYAML's
``compose_all(text, Loader=CSafeLoader)`` (libyaml), in this process, on text read and decoded
beforehand, GC paused: parsing only, one core, no I/O.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from processes import measure

from bench import REPO, collect, pyyaml_compose


@dataclass
class Run:
    seconds: float
    process_rss_mb: float
    total_rss_mb: float
    exit_code: int


def corpus_for(size: int, workdir: Path) -> Path:
    """The generated corpus of ``size`` documents, written on first use."""
    folder = workdir / f"docs-{size}"
    if not (folder / ".complete").exists():
        generator = REPO / "bench" / "gen_scale_corpus.py"
        subprocess.run(
            [sys.executable, str(generator), str(folder), "--docs", str(size)], check=True
        )
        (folder / ".complete").touch()
    return folder


def libyaml_compose(folder: Path) -> tuple[float, int, float]:
    """Seconds to compose every document under ``folder`` with libyaml (GC paused, text read
    beforehand, as in ``bench.py``), the documents, and the megabytes of text."""
    corpus = collect([str(folder)])
    texts = corpus.texts
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        documents = pyyaml_compose(texts).documents
        return time.perf_counter() - start, documents, corpus.n_bytes / 1e6
    finally:
        gc.enable()


def run_kscan(folder: Path, jobs: int, output_format: str, workdir: Path) -> Run:
    report = workdir / f"report.{output_format}"
    command = [sys.executable, "-m", "kscan", "--jobs", str(jobs), "--format", output_format]
    command += ["-o", str(report), str(folder)]
    measured = measure(command, cwd=REPO)
    report.unlink(missing_ok=True)
    return Run(measured.seconds, measured.own_mb, measured.together_mb, measured.exit_code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="documents per corpus")
    parser.add_argument("--jobs", default="1,2", help="--jobs values to compare")
    parser.add_argument("--format", default="json", help="report format (json: the largest)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kscan-scale"))
    parser.add_argument("--corpus", type=Path, action="append", help="measure this tree instead")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    jobs = [int(j) for j in args.jobs.split(",")]
    folders = args.corpus or [corpus_for(int(s), args.workdir) for s in args.sizes.split(",")]
    header = f"{'documents':>10} {'MB':>7} {'libyaml s':>9}"
    for j in jobs:
        header += f" | {'j' + str(j) + ' s':>8} {'docs/s':>7} {'x libyaml':>9} {'RSS MB':>13}"
    print(header + (" | speed-up" if len(jobs) > 1 else ""))
    for folder in folders:
        compose, documents, megabytes = libyaml_compose(folder)
        row = f"{documents:>10,} {megabytes:>7.1f} {compose:>9.2f}"
        runs = [run_kscan(folder, j, args.format, args.workdir) for j in jobs]
        for run in runs:
            memory = f"{run.process_rss_mb:.0f}/{run.total_rss_mb:.0f}"
            row += (
                f" | {run.seconds:>8.2f} {documents / run.seconds:>7,.0f}"
                f" {run.seconds / compose:>8.1f}x {memory:>13}"
            )
            if run.exit_code not in (0, 1):
                row += f" (exit {run.exit_code})"
        if len(runs) > 1:
            row += f" | {runs[0].seconds / runs[-1].seconds:.2f}x"
        print(row, flush=True)
    print(
        "RSS MB: kscan process / kscan and its workers together (peak). "
        f"Report format: {args.format}, written to a file."
    )


if __name__ == "__main__":
    main()
