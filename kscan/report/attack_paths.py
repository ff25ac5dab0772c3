"""What the attack-path reporters share: their options and how a hop is named. Each of them
(``threats_sarif``, ``threats_navigator``, ``threats_markdown``) is a ``render(paths, options)``
yielding text, like the findings reporters; ``paths`` come ranked from the threats stage."""

from __future__ import annotations

from kscan.model.taxonomy import TACTICS, TECHNIQUES
from kscan.report import SARIF_MAX_RESULTS
from kscan.results.findings import Finding
from kscan.support.locations import relative_to_base
from kscan.support.values import dataclass
from kscan.threats.paths import Evidence, NodeKind, Step

TOP_PATHS = 10
"""Paths the Markdown report draws and tabulates by default (a step summary is for reading)."""


@dataclass(frozen=True)
class PathReportOptions:
    """What the attack-path reporters need besides the paths."""

    base_dir: str = "."
    """Repository root: file names are shown, and SARIF URIs written, relative to it."""
    top: int = TOP_PATHS
    """Paths the Markdown report shows (its table and its diagram)."""
    findings: tuple[Finding, ...] = ()
    """Findings of the same scan: the Navigator layer scores their techniques too."""
    sarif_category: str | None = None
    sarif_max_results: int = SARIF_MAX_RESULTS


TARGET_NAMES: dict[NodeKind, str] = {
    "cluster": "cluster-admin",
    "node": "node",
    "identity": "identity",
    "secret": "secret",
    "namespace": "namespace",
    "power": "API power",
    "container": "container",
    "entry": "entry point",
}
"""How a path's end is named in rule names and summaries, by its node kind."""


def technique_title(technique: str) -> str:
    """``T1611 Escape to Host``; the bare id for a technique kscan's table does not name."""
    known = TECHNIQUES.get(technique)
    return f"{technique} {known[0]}" if known else technique


def tactic_title(tactic: str) -> str:
    name = TACTICS.get(tactic)
    return f"{tactic} {name}" if name else tactic


def step_text(step: Step) -> str:
    """The hop as a sentence: ``mounts the service account token (T1528 Steal Application
    Access Token)``."""
    return f"{step.action} ({technique_title(step.technique)})"


def where(evidence: Evidence, base_dir: str) -> str:
    """``deploy/web.yaml:12:9``, the file relative to the repository root when it is under it."""
    path = relative_to_base(evidence.path, base_dir) or evidence.path
    return f"{path}:{evidence.line}:{evidence.column}"


def in_sentence(label: str) -> str:
    """A node's label inside a sentence: ``A node (...)`` -> ``a node (...)``; names keep their
    case."""
    for article in ("A ", "The "):
        if label.startswith(article):
            return article.lower() + label[len(article) :]
    return label
