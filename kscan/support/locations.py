"""File names as reports and baselines need them: relative to the repository root."""

from __future__ import annotations

import os

from kscan.support.paths import ancestors, relative_to, resolved


def is_under(path: str, base_dir: str) -> bool:
    """True if ``path`` (symlinks resolved) lies inside ``base_dir``."""
    return relative_to(resolved(path), resolved(base_dir)) is not None


def relative_to_base(path: str, base_dir: str) -> str | None:
    """``deploy/web.yaml`` for a file under ``base_dir`` however it was named (``./deploy/...``,
    an absolute path, a path from a subdirectory); None outside it."""
    return relative_to(resolved(path), resolved(base_dir))


def repository_root(paths: tuple[str, ...] | list[str] = ()) -> str:
    """The nearest directory holding ``.git`` above the first scanned path (the current
    directory for stdin or no path), else the current directory."""
    first = next((p for p in paths if p != "-"), ".")
    start = os.path.abspath(first)
    start = start if os.path.isdir(start) else os.path.dirname(start)
    for directory in ancestors(start):
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
    return os.getcwd()
