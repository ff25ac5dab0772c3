"""Resource limits that keep a scan bounded whatever it is fed; each has a command-line flag."""

from __future__ import annotations

import re

from kscan.support.values import Record

_SIZE = r"(\d+)\s*([KMG]i?B?|B)?"
_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30}

MAX_FILE_BYTES = 4 * 2**30
"""The largest ``--max-file-size``: a manifest file beyond it is no manifest, and its text alone
would take more memory than a scan should ever ask for."""
LIBYAML_MAX_DEPTH = 1000
"""libyaml's own nesting cap: deeper input is invalid YAML whatever --max-depth says."""


class Limits(Record):
    """Upper bounds on one input file and on each of its documents (a named tuple: cheaper to
    define at start-up than a frozen dataclass)."""

    file_bytes: int = 64 * 2**20
    """Bytes read from one file (or stdin)."""
    documents: int = 10_000
    """Documents in one file; the documents after the limit are not scanned."""
    depth: int = 200
    """Nesting of mappings and sequences in one document (real manifests stay under 40)."""
    nodes: int = 2_000_000
    """Nodes of one document after alias expansion (stops YAML alias bombs)."""


DEFAULT_LIMITS = Limits()


def parse_size(text: str) -> int:
    """Bytes from ``123``, ``64K``, ``64M``, ``1G`` (binary units; ``MiB``/``MB`` accepted)."""
    match = re.fullmatch(_SIZE, text.strip(), re.IGNORECASE)
    if match is None:
        raise ValueError(f"'{text}' is not a size such as 65536, 512K, 64M or 1G")
    number, unit = match.groups()
    # more digits than any size below the cap has: refused before converting them
    size = int(number) * _UNITS[(unit or "")[:1].upper()] if len(number) <= 20 else None
    if size is None or size > MAX_FILE_BYTES:
        raise ValueError(f"'{text}' is larger than {describe_size(MAX_FILE_BYTES)}")
    return size


def describe_size(size: int) -> str:
    """``64 MiB``, ``512 KiB`` or ``1000 bytes``: the largest binary unit that divides it."""
    for unit, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"
