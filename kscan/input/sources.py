"""Find input files and read them as text: paths and stdin in, Source objects or InputErrors out."""

from __future__ import annotations

import codecs
import errno
import os
import sys
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import BinaryIO

from kscan.input.limits import DEFAULT_LIMITS, describe_size
from kscan.support.values import dataclass

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"
STDIN_DISPLAY = "<stdin>"
VCS_DIRS = frozenset({".git", ".hg", ".svn"})
"""Version-control internals: never manifests, always skipped."""
DEFAULT_SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", ".venv", ".tox"})
"""Skipped unless asked otherwise (``--no-default-excludes``), and every skip is reported:
``kubectl apply -R`` would apply manifests inside them."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Source:
    """The text of one input, with the path to show users (as given on the command line)."""

    path: str
    text: str
    size: int
    is_json: bool

    @cached_property
    def has_braces(self) -> bool:
        """Whether it holds ``{{``, as unrendered templates do (looked up once per source)."""
        return "{{" in self.text


@dataclass(frozen=True)
class InputError:
    """An input that could not be read or parsed; line and column are 1-based, 0 when unknown."""

    path: str
    message: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: error: {self.message}"


def iter_paths(
    paths: Iterable[str], skipped: list[str] | None = None, default_skips: bool = True
) -> Iterator[str | InputError]:
    """Expand directories recursively into manifest files, in a stable (sorted) order; a file
    named twice (or reached twice) is read once. Problems found on the way (a missing path, a
    broken or looping symbolic link, an unreadable directory) come out as InputErrors.
    Directories skipped by default are appended to ``skipped`` (unless ``default_skips`` is
    False: then only version-control folders are skipped)."""
    seen: set[str] = set()
    for given in paths:
        if given == STDIN:
            yield STDIN
            continue
        found: Iterable[str | InputError]
        if os.path.isdir(given):
            found = _walk(given, skipped if skipped is not None else [], default_skips)
        elif os.path.exists(given):
            found = [given]  # named explicitly: read whatever it is (a FIFO from <(helm ...) too)
        else:
            yield _missing(given)
            continue
        for path in found:
            if isinstance(path, InputError):
                yield path
                continue
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                yield path


def _walk(top: str, skipped: list[str], default_skips: bool) -> Iterator[str | InputError]:
    """Regular files with a manifest suffix (any case); never FIFOs, sockets or devices, which
    block or cannot be read. Symbolic links to directories are not followed (no loops)."""
    problems: list[OSError] = []
    for root, dirs, files in os.walk(top, onerror=problems.append):
        yield from (_unreadable_directory(problem) for problem in problems)
        problems.clear()
        kept = []
        for name in sorted(dirs):
            if name in VCS_DIRS:
                continue
            if default_skips and name in DEFAULT_SKIPPED_DIRS:
                skipped.append(display_path(os.path.normpath(os.path.join(root, name))))
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if not name.lower().endswith(MANIFEST_SUFFIXES):
                continue
            path = os.path.normpath(os.path.join(root, name))  # "./a.yaml" -> "a.yaml"
            if os.path.isfile(path):
                yield path
            elif os.path.islink(path) and not os.path.exists(path):
                yield _missing(path)
    yield from (_unreadable_directory(problem) for problem in problems)


def _missing(path: str) -> InputError:
    """The error for a path that does not lead to a file: absent, a broken link, or a loop."""
    if not os.path.islink(path):
        return InputError(display_path(path), "no such file or directory")
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return InputError(display_path(path), "symbolic link loop")
    return InputError(display_path(path), "broken symbolic link (its target does not exist)")


def _unreadable_directory(problem: OSError) -> InputError:
    where = display_path(os.fsdecode(problem.filename or "?"))
    return InputError(where, f"cannot read directory: {problem.strerror or problem}")


def display_path(path: str) -> str:
    """The path as reported: bytes that are not UTF-8 in a file name become ``\\xff`` escapes,
    so reports stay valid UTF-8 (JSON, SARIF, XML) while the file is still opened by its name."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


def read_source(
    path: str, stdin_name: str = STDIN_DISPLAY, max_bytes: int = DEFAULT_LIMITS.file_bytes
) -> Source | InputError:
    """Read one file (or stdin for ``-``) of at most ``max_bytes`` and decode it; never raises
    for bad input."""
    display = stdin_name if path == STDIN else display_path(path)
    try:
        if path == STDIN:
            if sys.stdin is None:  # started with its standard input closed (``<&-``)
                return InputError(display, "cannot read: standard input is closed")
            data = read_at_most(sys.stdin.buffer, max_bytes + 1)
        else:
            with open(path, "rb") as handle:
                data = read_at_most(handle, max_bytes + 1)
    except OSError as exc:
        return InputError(display, f"cannot read: {exc.strerror or exc}")
    if len(data) > max_bytes:
        limit = describe_size(max_bytes)
        return InputError(
            display, f"file is larger than {limit} (--max-file-size raises the limit)"
        )
    decoded = decode(data)
    if isinstance(decoded, tuple):
        line, column, message = decoded
        return InputError(display, message, line, column)
    return Source(display, decoded, len(data), display.lower().endswith(".json"))


_CHUNK = 1 << 20


def read_at_most(handle: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes of a stream, in chunks: memory follows what the stream holds, never
    the limit (``read(limit)`` would reserve all of it at once)."""
    chunks = []
    total = 0
    while total < limit:
        chunk = handle.read(min(_CHUNK, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode(data: bytes) -> str | tuple[int, int, str]:
    """Decode bytes as YAML allows (UTF-8, or UTF-16/32 with a BOM); on failure (line, col, msg)."""
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding = name
            break
    else:
        if b"\x00" in data[:8192]:
            return 1, 1, "binary file (contains NUL bytes), not YAML or JSON"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        good = data[: exc.start]
        line = good.count(b"\n") + 1
        column = len(good[good.rfind(b"\n") + 1 :].decode(encoding, "replace")) + 1
        return line, column, f"not valid {encoding.upper()} text (byte 0x{data[exc.start]:02x})"
