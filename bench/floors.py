"""What a one-job scan of an input cannot go below, as kscan is built: the table behind the
README's account of why the 3x-compose goal is not met.

Each row is a fresh process, the median of ``--runs`` paired rounds (rows alternate within a
round), its wall time and its ratio to libyaml's bare compose of the same texts:

- libyaml events: ``yaml.parse`` (``CSafeLoader``) over every text, timed inside the process,
  as ``speed.py`` times the compose; the least any reader of YAML through PyYAML pays;
- libyaml compose: ``yaml.compose_all``, as in ``speed.py``;
- kscan parse: ``iter_parse`` of every source (kscan's builder over libyaml's events, keeping
  positions and go-yaml's scalar rules), timed inside the process;
- kscan, one rule: ``python -m kscan scan --format json --jobs 1 --select KS101``: start-up,
  reading, parsing, models and the report, with almost no rule work;
- kscan, object rules' violations dropped: the default rules, where every object rule runs and
  its violations are thrown away (no finding, position, store or report line);
- kscan, field violations found, not made: the same, and the ``field`` template (most of the
  findings) decides each violation but makes none (no subject, message or ``Violation``): what
  the checks cost with findings made for free. These two are experiments, not options of
  kscan: this script replaces ``FileScanner._check_objects`` (and ``fields._violation``) in its
  own process;
- kscan: the default scan, ``python -m kscan scan --format json --jobs 1``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processes import measure
from speed import COMPOSE, compose, printed_by

REPO = Path(__file__).resolve().parent.parent
_COMPOSING = "for _node in yaml.compose_all(text, Loader=yaml.CSafeLoader):"
assert _COMPOSING in COMPOSE, "speed.py's compose script changed: update EVENTS"
EVENTS = COMPOSE.replace(_COMPOSING, "for _event in yaml.parse(text, Loader=yaml.CSafeLoader):")
PARSE = """\
import gc, sys, time
sys.path.insert(0, sys.argv[1])
gc.disable()  # as a scan runs
from kscan.input.documents import iter_parse
from kscan.input.limits import DEFAULT_LIMITS
from kscan.input.sources import InputError, iter_paths, read_source
sources = [read_source(path) for path in iter_paths(sys.argv[2:])]
start = time.perf_counter()
for source in sources:
    if not isinstance(source, InputError):
        for _document in iter_parse(source, DEFAULT_LIMITS):
            pass
print(time.perf_counter() - start)
"""
DROPPED = """\
import sys
sys.path.insert(0, sys.argv[1])
from kscan.scan.file_scan import FileScanner


def check_objects(self, objects, findings):
    for obj in objects:
        for _rule, run, params in self.rules.for_object(obj):
            for _violation in run(params, obj):
                pass


FileScanner._check_objects = check_objects
if sys.argv[2] == "--unformatted":  # the field template decides its violations, makes none
    from kscan.checks import fields
    from kscan.checks.base import Violation

    placeholder = Violation((), "")  # yielded where a violation would be, then dropped
    fields._violation = lambda *args, **kwargs: placeholder
    del sys.argv[2]
from kscan.__main__ import start

sys.argv = ["kscan", "scan", "--format", "json", "--jobs", "1", *sys.argv[2:]]
start()
"""


def timed_inside(script: str, path: str) -> float:
    """Seconds a script times inside a fresh process (its first word of output)."""
    return float(printed_by(script, path)[0])


def scan(*args: str) -> float:
    """Wall seconds of a kscan process (its report thrown away)."""
    return measure([sys.executable, *args], cwd=REPO).seconds


def rows(path: str, runs: int) -> list[tuple[str, float]]:
    """Each row's median over ``runs`` rounds."""
    kscan = ["-m", "kscan", "scan", "--format", "json", "--jobs", "1"]
    contenders = {
        "libyaml events": lambda: timed_inside(EVENTS, path),
        "libyaml compose": lambda: compose(path)[0],
        "kscan parse": lambda: timed_inside(PARSE, path),
        "kscan, one rule (--select KS101)": lambda: scan(*kscan, "--select", "KS101", path),
        "kscan, field violations found, not made": lambda: scan(
            "-c", DROPPED, str(REPO), "--unformatted", path
        ),
        "kscan, object rules' violations dropped": lambda: scan("-c", DROPPED, str(REPO), path),
        "kscan": lambda: scan(*kscan, path),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, run in contenders.items():
            times[name].append(run())
    return [(name, statistics.median(seconds)) for name, seconds in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/tmp/big/multi")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "kscan")], check=True)
    measured = rows(options.path, options.runs)
    base = dict(measured)["libyaml compose"]
    print(f"{options.path}, medians of {options.runs} rounds")
    print("| stage | seconds | / compose |")
    print("|---|---:|---:|")
    for name, seconds in measured:
        print(f"| {name} | {seconds:.2f} | {seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
