"""File names as plain strings, with the semantics of ``pathlib`` that the scan relies on.

Importing ``pathlib`` (and the ``urllib.parse``, ``ipaddress`` and ``fnmatch`` it pulls in)
costs an ordinary one-file scan about 4% of its instructions, so the modules on the path of a
scan handle names with ``os.path`` and these helpers instead."""

from __future__ import annotations

import os
from collections.abc import Iterator


def pure(path: str | os.PathLike[str]) -> str:
    """``str(PurePosixPath(path))``: empty and ``.`` parts and trailing slashes dropped, ``..``
    kept, ``""`` -> ``"."``; a leading ``//`` (exactly two) kept, as POSIX allows."""
    text = os.fspath(path)
    if text.startswith("/"):
        root = "//" if text.startswith("//") and not text.startswith("///") else "/"
    else:
        root = ""
    parts = [part for part in text.split("/") if part and part != "."]
    return root + "/".join(parts) if root or parts else "."


def ancestors(directory: str) -> Iterator[str]:
    """``directory`` (absolute and normalised) and every folder above it, up to the root:
    ``(path, *path.parents)``."""
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def resolved(path: str | os.PathLike[str]) -> str:
    """``Path(os.path.abspath(path)).resolve()``: made absolute, then symlinks resolved."""
    return os.path.realpath(os.path.abspath(path))


def relative_to(path: str, base: str) -> str | None:
    """``path`` relative to ``base`` (both absolute and normalised, e.g. ``resolved``), as
    ``PurePath.relative_to(...).as_posix()`` gives it (``.`` for ``base`` itself); None if it
    does not lie under ``base`` (``is_relative_to`` is false)."""
    if path == base:
        return "."
    prefix = base if base.endswith("/") else base + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None
