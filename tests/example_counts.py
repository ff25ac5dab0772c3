"""How many findings examples/insecure-deployment.yaml has, counted once through the library.

Tests of reports and of the command line compare with these counts instead of writing the
number down; ``test_output.test_example_counts_are_pinned`` is the one place that states them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kscan.rules.registry import Rule
from kscan.scan.engine import scan

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "insecure-deployment.yaml"
HARDENED = REPO / "examples" / "hardened-deployment.yaml"
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class ExampleCounts:
    """The example's findings under the rules on by default."""

    total: int
    by_severity: dict[str, int]
    """Severity -> count, most severe first, severities without findings left out."""
    beside_hardened: int
    """The example's findings when scanned together with examples/hardened-deployment.yaml,
    whose namespace objects (LimitRange, quota, policies) answer some namespace-wide rules."""

    @property
    def split(self) -> str:
        """``1 critical, 3 high, ...``, as reports write it."""
        return ", ".join(f"{count} {severity}" for severity, count in self.by_severity.items())

    @classmethod
    def of(cls, rules: list[Rule]) -> ExampleCounts:
        """Scan the example (alone, and beside the hardened one) with the rules on by default."""
        default_on = [rule for rule in rules if rule.enabled]
        alone = scan([str(EXAMPLE)], default_on)
        together = scan([str(EXAMPLE), str(HARDENED)], default_on)
        assert not alone.errors and not together.errors
        severities = Counter(f.severity.value for f in alone.findings)
        return cls(
            total=len(alone.findings),
            by_severity={s: severities[s] for s in SEVERITIES if severities[s]},
            beside_hardened=sum(f.path == str(EXAMPLE) for f in together.findings),
        )
