"""Write kscan's own output files (reports, baselines) atomically: readers see the old file or
the whole new one, never a half-written report, and a failed or interrupted write leaves
nothing behind."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable

from kscan.support.paths import pure

_UNFINISHED: set[str] = set()
"""Temporary files of writes in progress, named here before they are created."""
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def write_atomically(path: str | os.PathLike[str], text: str | Iterable[str]) -> None:
    """Write ``text`` (or its pieces, as they come) to ``path`` through a temporary file in the
    same directory and a rename.

    A path that exists but is not a regular file (``/dev/stdout``, a FIFO) is written in place;
    a symbolic link is followed, so the link stays and its target is replaced. Raises OSError.
    """
    path = pure(path)  # named as ``Path(path)`` names it (``out.json/`` is ``out.json``)
    try:
        mode: int | None = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
        return
    target = os.path.realpath(path) if os.path.islink(path) else path
    descriptor, temporary = _create_temporary(target)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.writelines([text] if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        _remove(temporary)
        raise
    finally:
        _UNFINISHED.discard(temporary)


def discard_unfinished() -> None:
    """Remove the temporary files of the writes in progress (a signal is ending the run)."""
    for temporary in list(_UNFINISHED):
        _remove(temporary)


def _remove(name: str) -> None:
    """Delete a file if it is there."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)


def _create_temporary(target: str) -> tuple[int, str]:
    """A new private file ``.NAME.XXXXXXXX.tmp`` beside ``target``, recorded as unfinished
    before it exists, so that no signal can leave it behind unnoticed."""
    while True:
        folder, name = os.path.split(target)
        temporary = os.path.join(folder, f".{name}.{os.urandom(4).hex()}.tmp")
        _UNFINISHED.add(temporary)
        try:
            return os.open(temporary, _NEW_FILE, 0o600), temporary
        except BaseException as exc:
            _UNFINISHED.discard(temporary)
            if not isinstance(exc, FileExistsError):
                raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
