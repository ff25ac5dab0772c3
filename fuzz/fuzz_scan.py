"""Coverage-guided fuzz target (atheris) for kscan's loader, models and rules.

Each input is fed to a whole scan as stdin: decoding, limits, YAML composition, the position-
aware data, pydantic models and every rule (all of them enabled), then rendered in every format
(JSON and SARIF parsed back, JUnit parsed as XML, the others free of raw control characters).
``fuzz/kscan.dict`` seeds libFuzzer with YAML and Kubernetes words. A crash is any exception,
and any "internal error" kscan records instead of crashing (it catches bugs per document so
that a scan goes on; the fuzzer must see them). Usage: see fuzz/README.md.
"""

from __future__ import annotations

import gc
import io
import json
import re
import sys
import types
from importlib import import_module
from xml.etree import ElementTree

from kscan.report import FORMATS, ReportOptions
from kscan.rules.registry import load_rules
from kscan.scan.engine import scan

RULES = load_rules()  # every rule, including those off by default
OPTIONS = ReportOptions(show_suppressed=True)
REPORTERS = {name: import_module(f"kscan.report.{name}") for name in FORMATS}
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def scan_bytes(data: bytes) -> None:
    """Scan ``data`` as a manifest on stdin and render every report format; raise if kscan met
    an internal error or wrote a report its consumer cannot read."""
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    result = scan(["-"], RULES, stdin_name="fuzz.yaml")
    for error in result.errors:
        if "internal error" in error.message:
            raise AssertionError(str(error))
    for finding in result.findings:  # every finding points inside the input
        assert finding.span.line >= 1 and finding.span.column >= 1, finding
    reported = list({id(finding.rule): finding.rule for finding in result.findings}.values())
    for name, reporter in REPORTERS.items():  # with the rules reported: SARIF lists each rule
        text = "".join(reporter.render(result, reported, OPTIONS))
        if name in ("json", "sarif"):
            json.loads(text)
        elif name == "junit":
            ElementTree.fromstring(text.encode("utf-8"))
        else:
            assert not _RAW_CONTROL.search(text), f"{name}: a raw control character"


def _ours(obj: object) -> bool:
    """kscan's functions and PyYAML's: what coverage should guide. ``atheris.instrument_all``
    would also instrument the standard library, pydantic and click (8,700 functions: minutes
    of start-up on two cores)."""
    module = getattr(obj, "__module__", None)
    return (
        isinstance(obj, types.FunctionType)
        and isinstance(module, str)
        and module.split(".")[0] in ("kscan", "yaml")
    )


def main() -> None:
    import atheris  # only the fuzzer needs it; the regression tests import scan_bytes alone

    for function in [obj for obj in gc.get_objects() if _ours(obj)]:
        atheris.instrument_func(function)
    atheris.Setup(sys.argv, scan_bytes)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
