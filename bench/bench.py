#!/usr/bin/env python3
"""Benchmark a whole kscan scan against the bare C-backed YAML composers on the same bytes.

Usage (from the repository root, with the dev virtualenv)::

    python bench/bench.py PATH... [--repeat N] [--profile]

Timed, best of ``--repeat`` runs, interleaved so that drift hits every contender alike:

1. ruamel.yaml bare compose: ``YAML(typ="safe", pure=False).compose_all(text)`` (ruamel.yaml.clib)
2. PyYAML bare compose: ``yaml.compose_all(text, Loader=yaml.CSafeLoader)`` (libyaml)
3. kscan: ``scan(paths, rules, stable_fields=False)`` + the JSON report (read, decode, parse,
   models, rules, render), with the rules the CLI runs by default (``--all-rules``: those off
   by default too)

and, to split kscan's time, three of its stages on their own: read + decode, ``parse()`` (compose
and build the position-aware data), and rendering the JSON report of the scan's result; "rest" is
what remains (objects, rules, findings, and the extra GC of a heap that holds every object). The
"gc s" column is the part of each time spent in CPython's cyclic garbage collector.

What each timing includes (disk I/O is excluded from all of them):

- Every file is read and decoded once up front, before any timing, exactly as kscan does it
  (``kscan.input.sources.read_source``: BOM sniffing, UTF-8/16/32, tabs in ``.json`` replaced).
  The bare composers get that in-memory text, i.e. exactly the text kscan's composer sees.
- ``scan()`` reads and decodes the files itself; after the up-front pass they are in the page
  cache, so kscan's figure includes reading from memory and decoding (shown as its own row).
- Loading the rules (``load_rules()``) happens once, outside the timings, and is shown on its own.
- A ``gc.collect()`` precedes every timed run, and no scan result outlives the run that needs it:
  a large live heap makes every later collection slower, which would tax the next contender.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelYAMLError

# Import the checkout's kscan (``python bench/bench.py`` puts bench/, not the repo, on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processes import measure

from kscan.input.documents import parse
from kscan.input.sources import InputError, Source, iter_paths, read_source
from kscan.report import ReportOptions
from kscan.report import json as json_report
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import Rule, load_rules
from kscan.scan.engine import collector_paused, scan

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 3.0
"""The issue's target: a whole kscan scan within 3x libyaml's bare compose (PyYAML's
CSafeLoader) of the same text."""

RUAMEL = 'ruamel.yaml compose_all (typ="safe", C)'
PYYAML = "PyYAML compose_all (CSafeLoader, libyaml)"
RUAMEL_NOGC = "  the same, cyclic GC paused"
PYYAML_NOGC = "  the same, cyclic GC paused "
KSCAN = "kscan scan() + JSON report"
READ = "  kscan stage: read + decode (page cache)"
PARSE = "  kscan stage: parse() (compose + build)"
RENDER = "  kscan stage: JSON report render"
REST = "  rest: objects, rules, findings (derived)"
BASELINES = (RUAMEL, RUAMEL_NOGC, PYYAML, PYYAML_NOGC)
ROWS = (RUAMEL, RUAMEL_NOGC, PYYAML, PYYAML_NOGC, KSCAN, READ, PARSE, RENDER, REST)


@dataclass(frozen=True)
class Corpus:
    """The manifest files under the given paths, read and decoded into memory."""

    paths: list[str]
    files: list[str]
    sources: list[Source]
    n_bytes: int

    @property
    def texts(self) -> list[str]:
        """What kscan hands to its composer (``.json`` tabs become spaces, as in ``parse()``)."""
        return [s.text.replace("\t", " ") if s.is_json else s.text for s in self.sources]


@dataclass(frozen=True)
class Outcome:
    """What one pass over the corpus produced (counts only, so runs can be compared)."""

    documents: int = 0
    errors: int = 0
    findings: int = 0
    report_bytes: int = 0
    files: int = 0
    objects: int = 0


@dataclass(frozen=True)
class Timing:
    """The best wall time of one contender over all repeats, with the outcome of that pass."""

    name: str
    seconds: float
    gc_seconds: float
    outcome: Outcome


class GcClock:
    """Wall time spent in CPython's cyclic garbage collector, measured with ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)


def collect(paths: Sequence[str]) -> Corpus:
    """Expand ``paths`` the way kscan does and read every manifest into memory."""
    files: list[str] = []
    sources: list[Source] = []
    for path in iter_paths(paths):
        if isinstance(path, InputError):
            sys.exit(f"bench: {path}")
        files.append(path)
        source = read_source(path)
        if not isinstance(source, InputError):  # kscan reports it as an error; nothing to parse
            sources.append(source)
    if not files:
        sys.exit("bench: no .yaml/.yml/.json files found")
    return Corpus(list(paths), files, sources, sum(s.size for s in sources))


def ruamel_compose(texts: list[str]) -> Outcome:
    """Compose every document of every text with ruamel.yaml's C parser (no construction)."""
    loader = YAML(typ="safe", pure=False)
    documents = errors = 0
    for text in texts:
        try:
            for _node in loader.compose_all(text):
                documents += 1
        except (RuamelYAMLError, RecursionError):
            errors += 1  # like kscan, keep the documents before the error and go on
    return Outcome(documents, errors)


def pyyaml_compose(texts: list[str]) -> Outcome:
    """Compose every document of every text with PyYAML's libyaml-backed CSafeLoader."""
    documents = errors = 0
    for text in texts:
        try:
            for _node in yaml.compose_all(text, Loader=yaml.CSafeLoader):
                documents += 1
        except (yaml.YAMLError, RecursionError):
            errors += 1
    return Outcome(documents, errors)


def kscan_scan(corpus: Corpus, rules: list[Rule]) -> tuple[Outcome, ScanResult]:
    """The whole kscan run as the CLI does it: scan the paths, render the JSON report, with the
    cyclic GC paused throughout (``kscan.cli.main`` does the same), without the stable field
    paths that the JSON report does not read (as ``kscan --format json`` runs)."""
    with collector_paused():
        result = scan(corpus.paths, rules, stable_fields=False)
        report = "".join(json_report.render(result, rules, ReportOptions()))
    outcome = Outcome(
        result.documents,
        len(result.errors),
        len(result.findings),
        len(report),
        result.files,
        result.objects,
    )
    return outcome, result


def kscan_read(corpus: Corpus) -> Outcome:
    """kscan's stage 1: read and decode every file again (from the page cache)."""
    for path in corpus.files:
        read_source(path)
    return Outcome()


def kscan_parse(corpus: Corpus) -> Outcome:
    """kscan's stage 2: ``parse()`` every source; each file's documents are dropped after it.

    ``scan()`` keeps the documents of every Kubernetes object alive until the end (for the
    cross-object rules), which makes its collections slower: that extra GC lands in "rest".
    """
    documents = errors = 0
    for source in corpus.sources:
        parsed, parse_errors = parse(source)
        documents += len(parsed)
        errors += len(parse_errors)
    return Outcome(documents, errors)


def kscan_render(result: ScanResult, rules: list[Rule]) -> Outcome:
    """kscan's last stage: the JSON report of an existing scan result."""
    return Outcome(report_bytes=sum(map(len, json_report.render(result, rules, ReportOptions()))))


def gc_paused(run: Callable[[], Outcome]) -> Callable[[], Outcome]:
    """``run`` with the cyclic collector paused, as ``kscan.scan.engine.scan`` runs."""

    def paused() -> Outcome:
        gc.disable()
        try:
            return run()
        finally:
            gc.enable()

    return paused


def best_of(repeat: int, contenders: dict[str, Callable[[], Outcome]]) -> dict[str, Timing]:
    """Run every contender ``repeat`` times, interleaved; keep each one's fastest run."""
    best: dict[str, Timing] = {}
    for _ in range(repeat):
        for name, run in contenders.items():
            gc.collect()
            with GcClock() as gc_clock:
                start = time.perf_counter()
                outcome = run()
                seconds = time.perf_counter() - start
            if name not in best or seconds < best[name].seconds:
                best[name] = Timing(name, seconds, gc_clock.seconds, outcome)
    return best


def profile_kscan(corpus: Corpus, rules: list[Rule], top: int = 20) -> str:
    """cProfile of one kscan run: the ``top`` functions by cumulative and by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    kscan_scan(corpus, rules)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    for key in ("cumulative", "tottime"):
        out.write(f"--- cProfile of one kscan run, top {top} by {key} ---\n")
        stats.sort_stats(key).print_stats(top)
    return out.getvalue()


def kscan_revision() -> str:
    """The checkout's commit, and whether kscan/ or rules/ differ from it."""
    try:
        git = ["git", "-C", str(REPO)]
        quiet: dict[str, Any] = {"capture_output": True, "text": True}
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], **quiet)
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "kscan", "rules"], **quiet)
    except OSError:
        return "unknown (no git)"
    changed = " + uncommitted changes in kscan/ or rules/" if dirty.stdout.strip() else ""
    return (head.stdout.strip() or "unknown") + changed


def render_header(
    corpus: Corpus, kscan: Timing, rules: list[Rule], selection: str, revision: str
) -> str:
    """Corpus size, kscan's own counts, and what the timings include."""
    out = kscan.outcome
    return "\n".join(
        [
            f"inputs:   {' '.join(corpus.paths)}",
            f"corpus:   {len(corpus.files)} files, {out.documents} documents (kscan), "
            f"{corpus.n_bytes / 1e6:.2f} MB ({corpus.n_bytes:,} bytes)",
            f"kscan:    {out.findings} findings, {out.errors} errors, {out.objects} objects, "
            f"{len(rules)} rules ({selection}), JSON report {out.report_bytes:,} bytes",
            f"revision: {revision}; Python {sys.version.split()[0]}",
            "I/O:      all files are read + decoded into memory before any timing; the composers",
            "          parse that text. scan() reads the files itself, from the page cache (warm",
            "          after the first pass): kscan's time includes read + decode (own row below).",
            "          No disk I/O is timed.",
        ]
    )


def render_table(corpus: Corpus, timings: dict[str, Timing]) -> str:
    """One row per contender: seconds (and of them in GC), docs/s, MB/s, kscan's time over it."""
    megabytes = corpus.n_bytes / 1e6
    kscan_seconds = timings[KSCAN].seconds
    head = ("seconds", "gc s", "docs", "docs/s", "MB/s", "errors", "kscan/this")
    lines = ["{:42} {:>8} {:>6} {:>6} {:>7} {:>6} {:>6} {:>10}".format("", *head)]
    for t in (timings[name] for name in ROWS):
        docs, baseline = t.outcome.documents, t.name in BASELINES
        rate = f"{docs / t.seconds:7,.0f}" if docs else f"{'-':>7}"
        errors = f"{t.outcome.errors:6}" if baseline else f"{'-':>6}"
        ratio = f"{kscan_seconds / t.seconds:9.2f}x" if baseline else ""
        share = "" if baseline or t.name == KSCAN else f"{t.seconds / kscan_seconds:9.0%} of kscan"
        lines.append(
            f"{t.name:42} {t.seconds:8.3f} {t.gc_seconds:6.2f} {docs or '-':>6} {rate} "
            f"{megabytes / t.seconds:6.1f} {errors} {ratio}{share}".rstrip()
        )
    return "\n".join(lines)


def timed_process(command: list[str]) -> tuple[float, float, int]:
    """Run a command with its output discarded: (wall seconds, peak RSS in MB, exit code)."""
    measured = measure(command)
    return measured.seconds, measured.together_mb, measured.exit_code


def compare_with_checkov(checkov: str, paths: Sequence[str]) -> str:
    """checkov's Kubernetes framework and the kscan CLI on the same paths, each a fresh process
    writing a JSON report (start-up included, as a user sees it)."""
    kscan_seconds, kscan_mb, _ = timed_process(
        [sys.executable, "-m", "kscan", "--format", "json", *paths]
    )
    lines = [f"{'whole process, JSON report':42} {'seconds':>8} {'peak MB':>8} {'exit':>5}"]
    lines.append(f"{'kscan':42} {kscan_seconds:8.2f} {kscan_mb:8.0f}")
    for path in paths:
        flag = "-d" if Path(path).is_dir() else "-f"
        command = [checkov, flag, path, "--framework", "kubernetes", "-o", "json", "--quiet"]
        seconds, megabytes, code = timed_process(command)
        lines.append(
            f"{'checkov ' + flag + ' ' + path:42} {seconds:8.2f} {megabytes:8.0f} {code:5}"
        )
        if len(paths) == 1:
            lines.append(
                f"checkov / kscan: {seconds / kscan_seconds:.1f}x the time, "
                f"{megabytes / kscan_mb:.1f}x the memory"
            )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="manifest files or directories (recursive)")
    parser.add_argument("--repeat", type=int, default=3, help="runs each; the best is reported")
    parser.add_argument("--profile", action="store_true", help="cProfile one kscan run (top 20)")
    parser.add_argument(
        "--all-rules",
        action="store_true",
        help="run every rule, those off by default too (default: the CLI's default rules)",
    )
    parser.add_argument(
        "--checkov",
        default=shutil.which("checkov"),
        help="checkov executable to compare with, whole process against whole process "
        "(default: checkov on PATH; skipped when there is none)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Collect, time, print; optionally profile."""
    args = parse_args(argv)
    c_ruamel = YAML(typ="safe", pure=False).Parser.__name__ == "CParser"
    if not c_ruamel or not getattr(yaml, "__with_libyaml__", False):
        sys.exit("bench: needs ruamel.yaml.clib and PyYAML built with libyaml")
    revision = kscan_revision()  # now: kscan is imported already, and may be edited meanwhile
    corpus = collect(args.paths)
    texts = corpus.texts

    start = time.perf_counter()
    every_rule = load_rules()
    rules_seconds = time.perf_counter() - start
    # what the CLI runs without a configuration: the rules on by default (--all: every rule)
    rules = every_rule if args.all_rules else [rule for rule in every_rule if rule.enabled]

    handoff: list[ScanResult] = []  # kscan's result, for the render stage only, then dropped

    def run_kscan() -> Outcome:
        outcome, result = kscan_scan(corpus, rules)
        handoff.append(result)
        return outcome

    timings = best_of(  # order matters: no scan result may stay alive into the other runs
        args.repeat,
        {
            RUAMEL: lambda: ruamel_compose(texts),
            RUAMEL_NOGC: gc_paused(lambda: ruamel_compose(texts)),
            PYYAML: lambda: pyyaml_compose(texts),
            PYYAML_NOGC: gc_paused(lambda: pyyaml_compose(texts)),
            READ: gc_paused(lambda: kscan_read(corpus)),
            PARSE: gc_paused(lambda: kscan_parse(corpus)),
            KSCAN: run_kscan,
            RENDER: gc_paused(lambda: kscan_render(handoff.pop(), rules)),
        },
    )
    kscan = timings[KSCAN]
    if kscan.outcome.files != len(corpus.files):
        sys.exit(
            f"bench: kscan scanned {kscan.outcome.files} files, the bench found {len(corpus.files)}"
        )
    stages = [timings[name] for name in (READ, PARSE, RENDER)]
    timings[REST] = Timing(
        REST,
        kscan.seconds - sum(t.seconds for t in stages),
        kscan.gc_seconds - sum(t.gc_seconds for t in stages),
        Outcome(),
    )

    selection = "every rule" if args.all_rules else "on by default, as the CLI runs"
    print(render_header(corpus, kscan, rules, selection, revision))
    print(f"rules:    load_rules() once, outside the table: {rules_seconds:.3f} s")
    print(f"runs:     best of {args.repeat}, interleaved; the 'rest' row is kscan minus its stages")
    print(
        "gc s:     of those seconds, time inside CPython's cyclic garbage collector (gc.callbacks)"
    )
    print()
    print(render_table(corpus, timings))
    print()
    ratio = kscan.seconds / timings[PYYAML].seconds
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"target:   kscan <= {TARGET_RATIO:g}x libyaml compose: {ratio:.2f}x ({verdict} it)")

    if args.checkov:
        print()
        print(compare_with_checkov(args.checkov, args.paths))

    if args.profile:
        print()
        print(profile_kscan(corpus, rules))


if __name__ == "__main__":
    main()
