"""The threat model per workload (a pod-bearing object): what a shell in one of its containers
holds (its token, its secrets), what that identity may do, where it can move, and its blast
radius, the worst target reachable from any of its containers (the cluster, a node, other
namespaces' secrets, its own namespace's), so a team knows which workload to harden first; and
the escalations from each identity to a node or the cluster.

Both read the path search's breadth-first searches (``search.Observer``): one per target over
the graph's reverse index, never one per workload."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from kscan.model.threat_facts import ThreatFacts
from kscan.support.values import dataclass
from kscan.threats.edges import account_node, container_node
from kscan.threats.graph import NODE_SERVICES, NODE_TOKENS, POD_NETWORK, Graph
from kscan.threats.paths import AttackPath, Node, Step
from kscan.threats.search import (
    IMPACT,
    Reach,
    highest_impact,
    impact,
    impact_in,
    namespace_of,
    rank,
    targets,
    tier,
    way_from,
)


@dataclass(frozen=True)
class WorkloadThreats:
    """One workload as the three scenarios read it; the steps are the graph's own."""

    obj: ThreatFacts
    containers: tuple[Node, ...]
    identities: tuple[Node, ...]
    """The service accounts its pods run as."""
    worst: AttackPath | None
    """The shortest path to the most damaging target any container reaches (None: nothing)."""
    targets: int
    """How many targets (the cluster, a node, secrets) its containers reach."""
    tokens: tuple[Step, ...]
    """A container holding its service account's token."""
    secrets: tuple[Step, ...]
    """A container reading a Secret in its environment or a volume."""
    powers: tuple[Step, ...]
    """RBAC powers granted to an identity whose token a container holds."""
    escapes: tuple[Step, ...]
    """A container taking its node."""
    network: tuple[Step, ...]
    """A container reaching the pod network (no policy isolates its egress)."""
    images: tuple[Step, ...]
    """An upstream image (by mutable tag, or from outside the trusted registries) reaching a
    container."""
    exposed: tuple[Step, ...]
    """An entry point (the internet, the nodes' network) reaching a container."""
    on_node: tuple[Step, ...] = ()
    """A container reaching what is on its node without taking it: the node's local services
    (``hostNetwork``), the tokens of the node's pods (a read-only kubelet pods mount)."""

    @property
    def impact(self) -> int:
        return self.worst.impact if self.worst is not None else 0


class BlastRadius:
    """Collects, as the search reports each target with its ``toward`` map, the worst path of
    each workload and of each identity to a node or the cluster."""

    def __init__(self, graph: Graph, records: Iterable[ThreatFacts]) -> None:
        self.graph = graph
        self.workloads: list[tuple[ThreatFacts, tuple[Node, ...], tuple[Node, ...]]] = []
        for obj in records:
            if not obj.pods or not obj.reported:
                continue
            containers: dict[str, Node] = {}
            identities: dict[str, Node] = {}
            for pod in obj.pods:
                account = account_node(obj.effective_namespace, pod.service_account)
                identities.setdefault(account.key, account)
                for container in pod.containers:
                    node = container_node(obj, pod, container)
                    containers.setdefault(node.key, node)
            self.workloads.append((obj, tuple(containers.values()), tuple(identities.values())))
        self.best: list[AttackPath | None] = [None] * len(self.workloads)
        self.identities = [node for node in graph.nodes.values() if node.kind == "identity"]
        self.escalation: dict[str, AttackPath] = {}
        self.reach = Reach(graph, targets(graph))
        self.counts: list[int] = []
        self.waiting: dict[str, list[int]] = defaultdict(list)
        """Target key -> the workloads whose worst target it may be (not searched yet)."""
        for index, (_obj, nodes, _ids) in enumerate(self.workloads):
            reached = 0
            for node in nodes:
                reached |= self.reach.of(node.key)
            self.counts.append(reached.bit_count())
            for key in self._worst_targets(nodes):
                self.waiting[key].append(index)

    def _worst_targets(self, containers: tuple[Node, ...]) -> set[str]:
        """The reachable targets of the most damaging impact for these containers. Targets
        are numbered most damaging first, so the walk over each set stops early."""
        worst, keys = 0, set()
        for container in containers:
            reached = self.reach.of(container.key)
            namespace = namespace_of(container)
            while reached:
                lowest = reached & -reached
                reached ^= lowest
                target = self.reach.targets[lowest.bit_length() - 1]
                if highest_impact(target) < worst:
                    break
                score = impact_in(target, namespace) or 0
                if score > worst:
                    worst, keys = score, {target.key}
                elif score == worst:
                    keys.add(target.key)
        return keys

    def wants(self, target: Node) -> bool:
        return bool(self.waiting.get(target.key)) or (
            target.kind in ("node", "cluster") and bool(self.identities)
        )

    def reads(self, target: Node) -> frozenset[str]:
        """The containers of the workloads waiting for ``target`` and, for a node or the
        cluster, the identities: those of them that reach it."""
        bit = self.reach.bit.get(target.key, 0)
        nodes = [
            container
            for index in self.waiting.get(target.key, ())
            for container in self.workloads[index][1]
        ]
        if target.kind in ("node", "cluster"):
            nodes += self.identities
        return frozenset(node.key for node in nodes if self.reach.of(node.key) & bit)

    def __call__(self, target: Node, ways: list[dict[str, Step]]) -> None:
        for index in self.waiting.pop(target.key, ()):
            _obj, containers, _ids = self.workloads[index]
            for container in containers:
                steps = way_from(ways, container.key, target)
                if steps is None:
                    continue
                score = impact(target, container, steps[0])
                best = self.best[index]
                if score is None or (best is not None and score < best.impact):
                    continue
                path = AttackPath(steps, score)
                if best is None or rank(path) < rank(best):
                    self.best[index] = path
        if target.kind not in ("node", "cluster"):
            return
        for identity in self.identities:
            steps = way_from(ways, identity.key, target)
            if steps is not None:
                path = AttackPath(steps, IMPACT[target.kind])
                held = self.escalation.get(identity.key)
                if held is None or rank(path) < rank(held):
                    self.escalation[identity.key] = path

    def results(self) -> tuple[list[WorkloadThreats], list[AttackPath]]:
        """The workloads, worst blast radius first (then the most direct way to it, the shortest,
        the most targets),
        and the escalations, most damaging and shortest first."""
        found = [
            self._workload(obj, containers, identities, self.best[i], self.counts[i])
            for i, (obj, containers, identities) in enumerate(self.workloads)
        ]
        found.sort(
            key=lambda w: (
                -w.impact,
                tier(w.worst) if w.worst else 0,
                len(w.worst.steps) if w.worst else 0,
                -w.targets,
                w.obj.display,
                w.obj.path,
                w.obj.spot.line,
            )
        )
        escalations = sorted(self.escalation.values(), key=rank)
        return found, escalations

    def _workload(
        self,
        obj: ThreatFacts,
        containers: tuple[Node, ...],
        identities: tuple[Node, ...],
        worst: AttackPath | None,
        targets: int,
    ) -> WorkloadThreats:
        out, into = self.graph.out, self.graph.into
        leaving = [step for node in containers for step in out.get(node.key, ())]
        entering = [step for node in containers for step in into.get(node.key, ())]
        tokens = tuple(step for step in leaving if step.target.kind == "identity")
        held = {step.target.key for step in tokens}
        powers = tuple(
            step for key in sorted(held) for step in out.get(key, ()) if step.target.kind == "power"
        )
        return WorkloadThreats(
            obj=obj,
            containers=containers,
            identities=identities,
            worst=worst,
            targets=targets,
            tokens=tokens,
            secrets=tuple(step for step in leaving if step.target.kind == "secret"),
            powers=powers,
            escapes=tuple(step for step in leaving if step.target.kind == "node"),
            network=tuple(step for step in leaving if step.target.key == POD_NETWORK.key),
            images=tuple(s for s in entering if s.source.key.startswith("image:")),
            exposed=tuple(
                s
                for s in entering
                if s.source.kind == "entry" and not s.source.key.startswith("image:")
            ),
            on_node=tuple(
                step for step in leaving if step.target.key in (NODE_SERVICES.key, NODE_TOKENS.key)
            ),
        )
