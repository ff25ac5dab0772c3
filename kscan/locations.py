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


def repository_root() -> Path:
    """The nearest directory upwards holding ``.git``, else the current directory."""
    cwd = Path.cwd()
    for directory in (cwd, *cwd.parents):
        if (directory / ".git").exists():
            return directory
    return cwd
