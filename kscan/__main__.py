"""``python -m kscan``, and the ``kscan`` console script (``start``)."""

import gc


def start() -> None:
    """Run the command line. The cyclic garbage collector stays off while kscan's modules are
    imported (they create thousands of objects, none of them garbage), and what they made is
    then frozen out of later collections (and out of the pages forked workers would copy)."""
    gc.disable()
    from kscan.cli import main

    gc.enable()
    gc.freeze()
    main()


if __name__ == "__main__":
    start()
