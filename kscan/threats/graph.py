"""The attack graph: nodes by key, and the steps leaving and entering each node (the adjacency
index the path search walks). Steps are made by the edge functions of ``edges.py``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kscan.model.taxonomy import TECHNIQUES
from kscan.model.threat_facts import Spot, ThreatFacts
from kscan.threats.paths import Evidence, Node, Step

INTERNET = Node("entry", "internet", "The internet")
NODE = Node("node", "node", "A node (root on the host, and every pod it runs)")
CLUSTER = Node("cluster", "cluster", "The cluster (cluster-admin)")
POD_NETWORK = Node("namespace", "pod-network", "The pod network")
NODE_TOKENS = Node("namespace", "node-tokens", "The service account token of every pod on a node")
NODE_SERVICES = Node(
    "services",
    "node-services",
    "A node's local services (its loopback and addresses: the kubelet, host-network pods)",
)


class Graph:
    """Nodes and steps, indexed both ways; a step is kept once however often it is found."""

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.out: dict[str, list[Step]] = defaultdict(list)
        self.into: dict[str, list[Step]] = defaultdict(list)
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, step: Step) -> None:
        technique = TECHNIQUES.get(step.technique)
        if technique is None or step.tactic not in technique[1]:
            raise ValueError(f"{step.technique} is not a technique of {step.tactic}")
        key = (step.source.key, step.target.key, step.action)
        if step.source.key == step.target.key or key in self._seen:
            return
        self._seen.add(key)
        self.nodes.setdefault(step.source.key, step.source)
        self.nodes.setdefault(step.target.key, step.target)
        self.out[step.source.key].append(step)
        self.into[step.target.key].append(step)

    def steps(self) -> Iterable[Step]:
        for steps in self.out.values():
            yield from steps


def evidence(obj: ThreatFacts, *spots: Spot | None) -> tuple[Evidence, ...]:
    """The spots of one object as evidence (None left out)."""
    return tuple(
        Evidence(obj.path, spot.line, spot.column, spot.field) for spot in spots if spot is not None
    )
