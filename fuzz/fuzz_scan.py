"""Coverage-guided fuzz target (atheris) for kscan's loader, models and rules.

Each input is fed to a whole scan as stdin: decoding, limits, YAML composition, the position-
aware data, pydantic models and every rule (all of them enabled). A crash is any exception,
and any "internal error" kscan records instead of crashing (it catches bugs per document so
that a scan goes on; the fuzzer must see them). Usage: see fuzz/README.md.
"""

from __future__ import annotations

import io
import sys

from kscan.engine import scan
from kscan.registry import load_rules

RULES = load_rules()  # every rule, including those off by default


def scan_bytes(data: bytes) -> None:
    """Scan ``data`` as a manifest on stdin; raise if kscan met an internal error."""
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    result = scan(["-"], RULES, stdin_name="fuzz.yaml")
    for error in result.errors:
        if "internal error" in error.message:
            raise AssertionError(str(error))
    for finding in result.findings:  # every finding points inside the input
        assert finding.span.line >= 1 and finding.span.column >= 1, finding


def main() -> None:
    import atheris  # only the fuzzer needs it; the regression tests import scan_bytes alone

    atheris.instrument_all()
    atheris.Setup(sys.argv, scan_bytes)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
