"""Stage 6, scan: run the rules over files (in this process or in workers), then the rules
that look across files, filling the results."""
