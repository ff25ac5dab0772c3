"""The threat model of a scan: its attack graph and ranked paths, what every threat reporter
(``kscan/report/threats_<format>.py``) renders."""

from __future__ import annotations

from collections.abc import Iterable

from kscan.model.threat_facts import ThreatFacts
from kscan.support.values import dataclass, field
from kscan.threats.edges import build
from kscan.threats.graph import Graph
from kscan.threats.paths import AttackPath
from kscan.threats.search import DEFAULT_MAX_PATHS, search
from kscan.threats.workloads import BlastRadius, WorkloadThreats


@dataclass(frozen=True)
class ThreatModel:
    graph: Graph
    paths: list[AttackPath]
    """Ranked: most damaging target first, then shortest."""
    objects: int
    """The objects the graph was built from."""
    truncated: bool
    """More paths were found than ``max_paths``."""
    workloads: list[WorkloadThreats] = field(default_factory=list)
    """Every reported workload, worst blast radius first."""
    escalations: list[AttackPath] = field(default_factory=list)
    """From each identity that reaches one, its shortest path to a node or the cluster, the
    cluster first."""
    lateral: bool = True
    """Pod-to-pod steps were made (``--no-lateral`` leaves them out)."""


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    base_dir: str | None = None


def analyse(
    records: Iterable[ThreatFacts],
    max_paths: int = DEFAULT_MAX_PATHS,
    lateral: bool = True,
    trusted_registries: tuple[str, ...] = (),
) -> ThreatModel:
    """The graph of the records and its ``max_paths`` top paths (``trusted_registries``: the
    configuration's ``trusted-registries``)."""
    records = list(records)
    graph = build(records, lateral, trusted_registries)
    blast = BlastRadius(graph, records)
    paths = search(graph, max_paths + 1, blast)
    workloads, escalations = blast.results()
    return ThreatModel(
        graph,
        paths[:max_paths],
        len(records),
        len(paths) > max_paths,
        workloads,
        escalations,
        lateral,
    )
