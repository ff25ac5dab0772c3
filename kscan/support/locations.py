"""File names as reports and baselines need them: relative to the repository root."""

from __future__ import annotations

import os
from pathlib import Path


def is_under(path: str, base_dir: str) -> bool:
    """True if ``path`` (symlinks resolved) lies inside ``base_dir``."""
    return (
        Path(os.path.abspath(path))
        .resolve()
        .is_relative_to(Path(os.path.abspath(base_dir)).resolve())
    )


def relative_to_base(path: str, base_dir: str) -> str | None:
    """``deploy/web.yaml`` for a file under ``base_dir`` however it was named (``./deploy/...``,
    an absolute path, a path from a subdirectory); None outside it."""
    if not is_under(path, base_dir):
        return None
    absolute = Path(os.path.abspath(path)).resolve()
    return absolute.relative_to(Path(os.path.abspath(base_dir)).resolve()).as_posix()


def repository_root(paths: tuple[str, ...] | list[str] = ()) -> Path:
    """The nearest directory holding ``.git`` above the first scanned path (the current
    directory for stdin or no path), else the current directory."""
    first = next((p for p in paths if p != "-"), ".")
    start = Path(os.path.abspath(first))
    start = start if start.is_dir() else start.parent
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return Path.cwd()
