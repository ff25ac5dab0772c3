"""``python -m kscan``, and the ``kscan`` console script (``start``)."""

import gc
import os
import sys


def start() -> None:
    """Run the command line. The cyclic garbage collector stays off while kscan's modules are
    imported (they create thousands of objects, none of them garbage), and what they made is
    then frozen out of later collections (and out of the pages forked workers would copy)."""
    gc.disable()
    from kscan.cli import main

    gc.enable()
    gc.freeze()
    try:
        main()
    except SystemExit as done:
        code = 0 if done.code is None else done.code
        if type(code) is int and 0 <= code <= 255:  # others: as the interpreter exits with them
            leave(code)
        raise


def leave(code: int) -> None:
    """End the process with ``code`` without tearing the interpreter down: freeing every module,
    rule and object one by one took some 6 ms (8%) of a one-file scan, and the system frees the
    memory at once. Exit handlers run and the standard streams are flushed first; by then the
    report is written, output files are closed and renamed, workers are reaped and temporary
    files have no name. It returns, and the interpreter exits as usual (and reports what it
    reports then), where a flush fails, another thread still runs, or a tracer or profiler
    (``python -m cProfile``, ``pdb``, coverage) would write its results at exit."""
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return
    threading = sys.modules.get("threading")
    if threading is not None:
        main_thread = threading.main_thread()
        if any(not t.daemon for t in threading.enumerate() if t is not main_thread):
            return
    import atexit

    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe or stream: let the interpreter say so
        return
    os._exit(code)


if __name__ == "__main__":
    start()
