"""Allow ``python -m kscan``."""

from kscan.cli import main

main()
