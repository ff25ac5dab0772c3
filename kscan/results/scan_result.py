"""What one scan found: the findings, the input errors and the counts for the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kscan.input.documents import NotAManifest
from kscan.input.sources import InputError
from kscan.results.store import FindingStore
from kscan.support.values import dataclass, field

if TYPE_CHECKING:  # loaded by kscan threats only
    from kscan.model.threat_facts import ThreatFacts


@dataclass
class ScanResult:
    """Everything one scan found, with counts for the summary."""

    findings: FindingStore = field(default_factory=FindingStore)
    errors: list[InputError] = field(default_factory=list)
    notes: list[NotAManifest] = field(default_factory=list)
    """Files skipped with a note (a .json file that is not JSON and cannot hold an object)."""
    files: int = 0
    documents: int = 0
    objects: int = 0
    paths: list[str] = field(default_factory=list)
    """The files scanned, as shown in findings."""
    profile_of: dict[str, int] = field(default_factory=dict)
    """Each scanned file (as shown) -> the profile (configuration) it was judged under."""
    skipped: list[str] = field(default_factory=list)
    """Directories left out because kscan skips them by default (``node_modules``...)."""
    threat_facts: list[ThreatFacts] = field(default_factory=list)
    """What the threat graph reads of every object, scanned or context (only when asked)."""
