#!/usr/bin/env python3
"""One table: kscan as users run it, against the bare YAML parse and checkov, on three inputs.

Usage (from the repository root, with the dev virtualenv)::

    python bench/speed.py [--runs N] [--real DIR] [--big DIR] [--checkov PATH]

Inputs: a 13-line Pod (what a pre-commit hook feels), the real corpus (``../shared/corpus/real``)
and the 10,000-document generated corpus (``--big``, default ``/tmp/big/multi``, written by
``python ../shared/tools/gen_big_corpus.py /tmp/big --docs 10000 --files 50 --single 10``); an
input that is absent is left out with a note.

Every figure is a fresh process, as a user runs it; each is the median of ``--runs`` paired
rounds (at least ``POD_RUNS`` on the Pod; the contenders take turns, so drift on a shared machine
hits them alike):

- kscan: ``python -m kscan scan --format json PATH`` with its default rules (what the CLI runs
  without a configuration), ``--jobs 1`` and ``--jobs 2``; wall time, and the peak resident
  memory of kscan and its workers together;
- compose: libyaml's bare ``yaml.compose_all(text, Loader=yaml.CSafeLoader)`` over every
  document of the same texts (read and decoded as kscan reads them, before the clock starts), in
  a fresh process; the parse no scanner that reads YAML can skip;
- ``python -c "import yaml, click"``: the floor of any Python tool of this kind;
- checkov (``checkov -d DIR --framework kubernetes --quiet -o json``; ``-f FILE`` for the Pod),
  once per input, when a checkov executable is found (``--checkov``, default one on ``PATH`` or in
  ``/tmp/checkov-venv``); its column says "not installed" otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processes import Measured, measure

REPO = Path(__file__).resolve().parent.parent
MEANINGFUL_COMPOSE = 0.01
"""Below this (one small file), kscan's time is start-up: compare it with the import line."""
POD_RUNS = 21
"""Paired rounds on the Pod, at least: its figures are tenths of a second, where a few
milliseconds of noise move the ratio by a tenth (three rounds gave 1.4x and 1.6x in two runs)."""
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: web
      image: nginx:1.27
      ports:
        - containerPort: 80
      securityContext:
        privileged: true
"""
COMPOSE = """\
import sys, time, yaml
sys.path.insert(0, sys.argv[1])
from kscan.input.sources import InputError, iter_paths, read_source
texts, files, documents = [], 0, 0
for path in iter_paths(sys.argv[2:]):
    files += 1
    source = read_source(path)
    if not isinstance(source, InputError):
        texts.append(source.text.replace("\\t", " ") if source.is_json else source.text)
start = time.perf_counter()
for text in texts:
    try:
        for _node in yaml.compose_all(text, Loader=yaml.CSafeLoader):
            documents += 1
    except (yaml.YAMLError, RecursionError):
        pass
seconds = time.perf_counter() - start
print(seconds, files, documents, sum(len(text.encode("utf-8", "replace")) for text in texts))
"""


@dataclass
class Row:
    """The medians of one input."""

    name: str
    size: str
    """Files, documents and megabytes."""
    kscan: dict[int, Measured]
    compose: float
    imports: float
    checkov: Measured | None


def median_run(runs: list[Measured]) -> Measured:
    """The run of median wall time (its memory with it)."""
    ordered = sorted(runs, key=lambda run: run.seconds)
    return ordered[len(ordered) // 2]


def compose(path: str) -> tuple[float, str]:
    """The bare libyaml compose of the input's texts, timed inside a fresh process, and the
    input's size."""
    seconds, files, documents, size = printed_by(COMPOSE, path)
    megabytes = int(size) / 1e6
    return float(seconds), f"{int(files):,} files, {int(documents):,} docs, {megabytes:.2f} MB"


def printed_by(script: str, path: str) -> list[str]:
    """The words a script prints, run in a fresh process with the checkout and ``path`` as its
    arguments (the scripts here time their own work, after reading the input)."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO), path], capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def kscan_command(path: str, jobs: int) -> list[str]:
    return [sys.executable, "-m", "kscan", "scan", "--format", "json", "--jobs", str(jobs), path]


def checkov_command(checkov: str, path: str) -> list[str]:
    flag = "-d" if Path(path).is_dir() else "-f"
    return [checkov, flag, path, "--framework", "kubernetes", "--quiet", "-o", "json"]


def measure_input(
    name: str, path: str, runs: int, checkov: str | None, checkov_timeout: float
) -> Row:
    """Paired rounds of every contender on one input, then checkov once."""
    kscan: dict[int, list[Measured]] = {1: [], 2: []}
    composes: list[float] = []
    imports: list[float] = []
    size = ""
    if Path(path).is_file():
        runs = max(runs, POD_RUNS)
    for _ in range(runs):
        for jobs in (1, 2):
            kscan[jobs].append(measure(kscan_command(path, jobs), cwd=REPO))
        seconds, size = compose(path)
        composes.append(seconds)
        imports.append(measure([sys.executable, "-c", "import yaml, click"]).seconds)
    checked = measure(checkov_command(checkov, path), timeout=checkov_timeout) if checkov else None
    return Row(
        name,
        size,
        {jobs: median_run(measured) for jobs, measured in kscan.items()},
        statistics.median(composes),
        statistics.median(imports),
        checked,
    )


def render(rows: list[Row], left_out: bool) -> str:
    """The table, in Markdown."""
    head = (
        "| input | size | kscan --jobs 1 | kscan --jobs 2 | jobs 2 / jobs 1 | libyaml compose "
        "| kscan / compose (jobs 1, jobs 2) | `import yaml, click` | kscan / import "
        "| checkov | checkov / kscan |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        one, two = row.kscan[1], row.kscan[2]
        if row.checkov is None:
            checkov_cells = ["left out" if left_out else "not installed", "-"]
        else:
            checked = row.checkov
            failed = "" if checked.exit_code in (0, 1) else f" (exit {checked.exit_code})"
            over = "> " if checked.timed_out else ""  # stopped: the time is a lower bound
            if checked.timed_out:
                failed = " (stopped)"
            checkov_cells = [
                f"{over}{checked.seconds:.1f} s, {checked.together_mb:,.0f} MB{failed}",
                f"{over}{ratio(checked.seconds / one.seconds)}",
            ]
        vs_compose = (
            f"{one.seconds / row.compose:.1f}x, {two.seconds / row.compose:.1f}x"
            if row.compose >= MEANINGFUL_COMPOSE
            else "-"
        )
        cells = [
            row.name,
            row.size,
            f"{one.seconds:.2f} s, {one.together_mb:.0f} MB",
            f"{two.seconds:.2f} s, {two.together_mb:.0f} MB",
            f"{two.seconds / one.seconds:.2f}",
            f"{row.compose:.3f} s",
            vs_compose,
            f"{row.imports:.2f} s",
            f"{one.seconds / row.imports:.1f}x",
            *checkov_cells,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio(value: float) -> str:
    """``3.4x``, or ``54x`` from 10 on."""
    return f"{value:.1f}x" if value < 10 else f"{value:,.0f}x"


def find_checkov(given: str | None) -> str | None:
    if given:
        return given
    found = shutil.which("checkov")
    venv = Path("/tmp/checkov-venv/bin/checkov")
    return found or (str(venv) if venv.exists() else None)


def write_bytecode() -> None:
    """Write the checkout's bytecode caches first, as an installed kscan has them: with
    ``PYTHONDONTWRITEBYTECODE`` set (or after an edit), a module whose ``.pyc`` is stale is
    compiled from source in every timed process (about 20 M instructions of a one-file run
    for two such modules)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "kscan")], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="paired rounds; medians shown")
    parser.add_argument("--real", default=str(REPO.parent / "shared" / "corpus" / "real"))
    parser.add_argument("--big", default="/tmp/big/multi")
    parser.add_argument("--checkov", help="checkov executable (default: on PATH or the venv)")
    parser.add_argument("--no-checkov", action="store_true", help="leave checkov out")
    parser.add_argument(
        "--checkov-timeout",
        type=float,
        default=1800,
        help="stop checkov after this many seconds on one input (its time is then a lower bound)",
    )
    args = parser.parse_args()
    write_bytecode()
    checkov = None if args.no_checkov else find_checkov(args.checkov)
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kscan-speed-") as scratch:
        pod = Path(scratch) / "pod.yaml"
        pod.write_text(POD, encoding="utf-8")
        inputs = [
            ("one 13-line Pod", str(pod)),
            ("real corpus", args.real),
            ("generated corpus", args.big),
        ]
        for name, path in inputs:
            if not Path(path).exists():
                notes.append(f"{name}: {path} is absent, left out")
                continue
            rows.append(measure_input(name, path, args.runs, checkov, args.checkov_timeout))
            print(f"measured: {name}", file=sys.stderr)
    revision = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    pod_runs = max(args.runs, POD_RUNS)
    python = sys.version.split()[0]
    print(f"kscan {revision or 'unknown'}, Python {python}, medians of {args.runs} runs", end="")
    absent = "left out" if args.no_checkov else "not installed (pip install checkov, own venv)"
    print(f" ({pod_runs} on the Pod); checkov: {checkov or absent}")
    print()
    print(render(rows, args.no_checkov))
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
