#!/usr/bin/env python3
"""How each regular expression and walk kscan applies to manifests grows with its input.

Usage (from the repository root, with the dev virtualenv)::

    python bench/linear.py [--sizes 1,2,4,8,16] [--only TEXT] [--runs N]

Runs the adversarial cases of ``tests/test_linear_time.py`` at n, 2n, 4n, 8n and 16n (n is each
case's own base size), best of ``--runs`` timings each, and prints per case the time at each
size and the growth exponent (log of the time ratio over log of the size ratio: 1 is linear,
2 quadratic), from n to the largest size and between consecutive sizes. The last line names the
worst case: the largest exponent from n to the largest size.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_linear_time import CASES, best_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,2,4,8,16", help="multiples of each case's n")
    parser.add_argument("--only", default="", help="run only the cases whose name holds this")
    parser.add_argument("--runs", type=int, default=3, help="timings per size (best kept)")
    args = parser.parse_args()
    factors = [int(f) for f in args.sizes.split(",")]
    worst = ("", 0.0)
    header = "".join(f"{f:>8}n" for f in factors)
    print(f"{'case':<58}{header}   exponent n..{factors[-1]}n (per step); 1 = linear")
    for case in CASES:
        if args.only not in case.name:
            continue
        times = [best_time(case, case.n * f, args.runs) for f in factors]
        exponents = [
            math.log(max(times[i + 1], 1e-6) / max(times[i], 1e-6))
            / math.log(factors[i + 1] / factors[i])
            for i in range(len(factors) - 1)
        ]
        overall = math.log(max(times[-1], 1e-6) / max(times[0], 1e-6)) / math.log(
            factors[-1] / factors[0]
        )
        shown = "".join(f"{t * 1000:>8.1f}ms" for t in times)
        steps = " ".join(f"{e:.2f}" for e in exponents)
        print(f"{case.name[:57]:<58}{shown}   {overall:.2f} ({steps})")
        if times[-1] >= 1e-3 and overall > worst[1]:  # sub-millisecond runs are noise
            worst = (case.name, overall)
    print(f"\nworst case: {worst[0]} (growth exponent {worst[1]:.2f} from n to {factors[-1]}n)")


if __name__ == "__main__":
    main()
