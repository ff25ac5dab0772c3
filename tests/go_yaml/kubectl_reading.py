"""What Kubernetes' decoder (sigs.k8s.io/yaml on go-yaml v2) and kscan each make of a YAML text,
in one comparable form: the JSON value, or ``ERROR``.

``Oracle`` runs ``oracle.go`` (built on first use with Debian's Go and its yaml packages, when
they are installed); ``kscan_reading`` parses with kscan. ``json_reading`` reads the oracle's
JSON as Kubernetes' unstructured decoding does: an integer that does not fit an int64 is a float.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from kscan.input.documents import parse
from kscan.input.sources import Source

HERE = Path(__file__).resolve().parent
GOPATH = "/usr/share/gocode"
ERROR = "ERROR"


def _int64(text: str) -> int | float:
    number = int(text)
    return number if -(2**63) <= number < 2**63 else float(text)


def json_reading(line: str) -> Any:
    """The oracle's answer as a value (``ERROR`` for a refused document)."""
    return ERROR if line.startswith("ERR") else json.loads(line, parse_int=_int64)


def plain(value: Any) -> Any:
    """kscan's position-aware data as plain dicts and lists."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def kscan_reading(text: str) -> Any:
    """kscan's reading of a one-document YAML text: its data, or ``ERROR``."""
    documents, errors = parse(Source("x.yaml", text, len(text), False))
    if errors:
        return ERROR
    return plain(documents[0].data) if documents else None


def same(first: Any, second: Any) -> bool:
    """Equal with the same JSON types (``1`` is not ``true``, ``1`` is not ``1.0``)."""
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(same(first[k], second[k]) for k in first)
    if isinstance(first, list) and isinstance(second, list):
        return len(first) == len(second) and all(map(same, first, second))
    return type(first) is type(second) and first == second


class Oracle:
    """A running ``oracle.go``: ``ask(text)`` returns Kubernetes' reading of a YAML text."""

    def __init__(self, binary: Path) -> None:
        self.process = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, text: str) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(text) + "\n")
        self.process.stdin.flush()
        return json_reading(self.process.stdout.readline().rstrip("\n"))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


def build_oracle(directory: Path) -> Path | str:
    """Build ``oracle.go`` into ``directory``; the reason as a string when it cannot be."""
    go = shutil.which("go")
    if go is None:
        return "no Go toolchain (Debian: golang-go)"
    if not (Path(GOPATH) / "src" / "sigs.k8s.io" / "yaml").is_dir():
        return f"sigs.k8s.io/yaml is not in {GOPATH} (Debian: golang-k8s-sigs-yaml-dev)"
    binary = directory / "oracle"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": GOPATH,
        "GOCACHE": str(directory / "cache"),
    }
    built = subprocess.run(
        [go, "build", "-o", str(binary), str(HERE / "oracle.go")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return binary if built.returncode == 0 else f"go build failed: {built.stderr.strip()}"
