"""Signals that end a run (Ctrl-C, ``kill``, a closed terminal): kscan stops at once, with
exit code 128 + the signal's number as shells report it, and leaves nothing behind: worker
processes are killed and reaped, and half-written output files removed."""

from __future__ import annotations

import os
import sys
from types import FrameType
from typing import TYPE_CHECKING

from kscan.support.files import discard_unfinished

if TYPE_CHECKING:
    import signal
else:  # the C module under ``signal``, the same calls without building its three enum classes
    import _signal as signal  # (about 1% of the instructions of a one-file scan)

STOPPING = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
EXIT_CLOSED_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a program whose reader went away (``| head``)."""


def exit_code(signum: int) -> int:
    """The exit code of a run ended by a signal."""
    return 128 + signum


def install() -> None:
    """Stop at once on the signals that end a run. Worker processes forked later inherit the
    handler, so a Ctrl-C sent to the whole process group ends them quietly too."""
    owner = os.getpid()

    def stop(signum: int, frame: FrameType | None) -> None:
        if os.getpid() == owner:
            discard_unfinished()
            _stop_workers()
        os._exit(exit_code(signum))  # no clean-up that could wait on busy workers

    for signum in STOPPING:
        signal.signal(signum, stop)


def _stop_workers() -> None:
    """Kill and reap the worker processes (``--jobs``), so that none outlives kscan."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:  # no worker was ever started
        return
    children = multiprocessing.active_children()
    for child in children:
        child.kill()
    for child in children:
        child.join()
