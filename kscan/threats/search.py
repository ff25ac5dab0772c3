"""Attack paths: from every entry point and every container to the high-value targets (the
cluster, a node, secrets, a node's local services), most damaging target first, then the most
direct way, then the shortest; deduplicated and bounded.

One breadth-first search per target over the steps entering each node (the graph's reverse
index) gives every node its shortest way to that target; each start then reads its path off by
following those steps. Targets are searched most damaging first, and the search stops as soon
as no later target can change what is reported: the kept paths outrank everything a less
damaging target could give, and every workload's worst target (known beforehand from
``Reach``) has been searched. The cost is at most (targets) x (nodes + steps), never
starts x objects."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Protocol

from kscan.threats.graph import NODE, NODE_SERVICES, POD_NETWORK, Graph
from kscan.threats.paths import AttackPath, Node, Step

DEFAULT_MAX_PATHS = 50

IMPACT = {
    "cluster": 100,
    "node": 80,
    "secrets:*": 60,
    "secrets": 50,
    "services": 30,
    "own-secrets": 20,
    "secret": 10,
}
"""How damaging each target is: the cluster, a node, the secrets of every namespace, of another
namespace, a node's local services (what listens on its loopback and addresses: reached, not
yet taken), the secrets of its own namespace, one Secret."""
_FIXED = ("cluster", "node", "services")
"""Target kinds whose impact does not depend on where the attacker starts."""


def impact(target: Node, start: Node, first: Step) -> int | None:
    """How damaging reaching ``target`` from ``start`` is (None: not a target)."""
    return impact_in(target, namespace_of(start) or namespace_of(first.target))


def impact_in(target: Node, namespace: str | None) -> int | None:
    """How damaging reaching ``target`` is for an attacker in ``namespace`` (None: not a
    target): its own namespace's secrets count less than another's."""
    if target.kind in _FIXED:
        return IMPACT[target.kind]
    if target.kind != "secret":
        return None
    if target.key == "secrets:*":
        return IMPACT["secrets:*"]
    if target.key.startswith("secret:"):
        return IMPACT["secret"]
    own = target.key.removeprefix("secrets:") == namespace
    return IMPACT["own-secrets"] if own else IMPACT["secrets"]


def highest_impact(target: Node) -> int:
    """The most damaging ``impact`` reaching ``target`` can have, from any start."""
    if target.kind in _FIXED:
        return IMPACT[target.kind]
    if target.key == "secrets:*":
        return IMPACT["secrets:*"]
    if target.key.startswith("secret:"):
        return IMPACT["secret"]
    return IMPACT["secrets"]


def namespace_of(node: Node) -> str | None:
    if node.kind == "container":
        return node.key.removeprefix("container:").split("/", 1)[0]
    return None


def targets(graph: Graph) -> list[Node]:
    """The targets, most damaging first (by key among equals, so runs are repeatable)."""
    found = [node for node in graph.nodes.values() if node.kind in (*_FIXED, "secret")]
    return sorted(found, key=lambda node: (-highest_impact(node), node.key))


HUBS = frozenset({POD_NETWORK.key, NODE_SERVICES.key})
"""Where lateral movement goes through: the pod network, and a node's local services (from a
host-network container to the other listeners on the node)."""


def toward(
    graph: Graph, target: Node, lateral: bool = True, wanted: frozenset[str] | None = None
) -> dict[str, Step]:
    """Node key -> the first step of one of its shortest ways to ``target`` (``lateral``
    False: ways that do not pass through the pod network or a node's local services). Given
    ``wanted`` keys, the search stops once it has found them all: breadth first, every node on
    their ways was found before them, so their ways are those of the whole search."""
    nearest: dict[str, Step] = {}
    remaining = None if wanted is None else set(wanted)
    if remaining is not None and not remaining:
        return nearest
    queue = deque([target.key])
    seen = {target.key} if lateral else {target.key, *HUBS}
    while queue:
        key = queue.popleft()
        for step in graph.into.get(key, ()):
            source = step.source.key
            if source not in seen:
                seen.add(source)
                nearest[source] = step
                queue.append(source)
                if remaining is not None:
                    remaining.discard(source)
                    if not remaining:
                        return nearest
    return nearest


def ways_to(
    graph: Graph, target: Node, wanted: frozenset[str] | None = None
) -> list[dict[str, Step]]:
    """``toward`` maps to ``target``, the most direct first: without lateral movement
    (``HUBS``), then with it (when the graph has a hub). A start takes its way from the first
    map that has it, so a container's own way is never replaced by a shorter one through
    other pods. ``wanted``: the keys whose ways are read (None: every node's)."""
    direct = toward(graph, target, lateral=False, wanted=wanted)
    ways = [direct]
    if not HUBS.isdisjoint(graph.nodes):
        missing = None if wanted is None else wanted.difference(direct)
        if missing is None or missing:
            ways.append(toward(graph, target, wanted=missing))
    return ways


def way_from(ways: list[dict[str, Step]], start: str, target: Node) -> tuple[Step, ...] | None:
    """The steps from ``start`` to ``target`` by the first of ``ways`` that has it."""
    for nearest in ways:
        if start in nearest:
            return path_to(nearest, start, target)
    return None


def path_to(nearest: dict[str, Step], start: str, target: Node) -> tuple[Step, ...]:
    """The steps from ``start`` to ``target`` read off ``toward(graph, target)``."""
    steps: list[Step] = []
    key = start
    while key != target.key:
        step = nearest[key]
        steps.append(step)
        key = step.target.key
    return tuple(steps)


class Reach:
    """Which targets each node reaches in one or more steps, as a bit set over ``targets``.

    Computed once over the strongly connected components (Tarjan's algorithm, iterative):
    every node of a component reaches what the component reaches, and a component reaches
    what its steps lead to, components finished before it. The pod network makes one large
    component of the containers it links, so the sets are shared, not built per node."""

    def __init__(self, graph: Graph, ordered_targets: list[Node]) -> None:
        self.bit = {node.key: 1 << index for index, node in enumerate(ordered_targets)}
        self.targets = ordered_targets
        self._component: dict[str, int] = {}
        self._reached: list[int] = []
        self._tarjan(graph)

    def of(self, key: str) -> int:
        """The targets ``key`` reaches (0: none, or not in the graph)."""
        component = self._component.get(key)
        return 0 if component is None else self._reached[component]

    def _tarjan(self, graph: Graph) -> None:
        out = graph.out
        order: dict[str, int] = {}
        low: dict[str, int] = {}
        on_stack: set[str] = set()
        stack: list[str] = []
        for root in graph.nodes:
            if root in order:
                continue
            work: list[tuple[str, Iterable[Step]]] = [(root, iter(out.get(root, ())))]
            order[root] = low[root] = len(order)
            stack.append(root)
            on_stack.add(root)
            while work:
                key, steps = work[-1]
                for step in steps:
                    successor = step.target.key
                    if successor not in order:
                        order[successor] = low[successor] = len(order)
                        stack.append(successor)
                        on_stack.add(successor)
                        work.append((successor, iter(out.get(successor, ()))))
                        break
                    if successor in on_stack:
                        low[key] = min(low[key], order[successor])
                else:
                    work.pop()
                    if work:
                        parent = work[-1][0]
                        low[parent] = min(low[parent], low[key])
                    if low[key] == order[key]:
                        self._finish(graph, key, stack, on_stack)

    def _finish(self, graph: Graph, root: str, stack: list[str], on_stack: set[str]) -> None:
        members: list[str] = []
        while True:
            key = stack.pop()
            on_stack.discard(key)
            members.append(key)
            if key == root:
                break
        component = len(self._reached)
        for key in members:
            self._component[key] = component
        reached = 0
        for key in members:
            for step in graph.out.get(key, ()):
                successor = step.target.key
                reached |= self.bit.get(successor, 0)
                other = self._component[successor]
                if other != component:
                    reached |= self._reached[other]
        self._reached.append(reached)


class Observer(Protocol):
    """Told each searched target with its ``ways_to`` maps, so other views (a workload's blast
    radius) read the same breadth-first searches instead of repeating them."""

    def wants(self, target: Node) -> bool:
        """Whether this target's search can still change what the observer reports."""
        ...

    def reads(self, target: Node) -> frozenset[str]:
        """The keys whose ways to ``target`` it reads."""
        ...

    def __call__(self, target: Node, ways: list[dict[str, Step]]) -> None: ...


def search(
    graph: Graph, max_paths: int = DEFAULT_MAX_PATHS, observe: Observer | None = None
) -> list[AttackPath]:
    """The ``max_paths`` highest ranked paths (``rank``). A path that is the tail of another
    kept path to the same target, as direct as it or more, is left out: the longer one shows
    it (a container's, when the internet reaches that container); of the paths that go on the
    same way from the pod network (or a node's local services), only the first is kept (every
    pod's way into it is alike), and so is only the first of those that go on the same way
    from the node."""
    starts = [node for node in graph.nodes.values() if node.kind in ("entry", "container")]
    ordered = targets(graph)
    found: list[AttackPath] = []
    settled = False
    for index, target in enumerate(ordered):
        later = highest_impact(ordered[index + 1]) if index + 1 < len(ordered) else 0
        wanted = observe is not None and observe.wants(target)
        if settled and not wanted:
            continue
        # once the paths are settled, only the observer's keys need their ways
        reads = observe.reads(target) if settled and observe is not None else None
        ways = ways_to(graph, target, reads)
        if observe is not None and wanted:
            observe(target, ways)
        if settled:
            continue
        for start in starts:
            steps = way_from(ways, start.key, target)
            if steps is None:
                continue
            score = impact(target, start, steps[0])
            if score is not None:
                found.append(AttackPath(steps, score))
        if later < highest_impact(target):
            found = _deduplicated(found)
            settled = sum(path.impact > later for path in found) >= max_paths
    return _deduplicated(found)[:max_paths]


def _deduplicated(paths: list[AttackPath]) -> list[AttackPath]:
    paths = sorted(paths, key=rank)
    kept: list[AttackPath] = []
    tails: dict[tuple[tuple[str, str, str], ...], int] = {}
    """A tail of a kept path -> the best tier of the paths it is a tail of."""
    lateral: set[tuple[tuple[str, str, str], ...]] = set()
    """What follows the pod network in a kept lateral path: one start shows it for all."""
    beyond: set[tuple[tuple[str, str, str], ...]] = set()
    """What follows the node in a kept path that goes on from it: one start shows it for all
    the containers that take the node (each keeps its own path to the node)."""
    for path in paths:
        signature = _signature(path)
        level = tier(path)
        if tails.get(signature, _TIERS) <= level:
            continue
        sources = [s.source.key for s in path.steps]
        if level == 3:
            hub = next(index for index, key in enumerate(sources) if key in HUBS)
            if signature[hub:] in lateral:
                continue
            lateral.add(signature[hub:])
        if NODE.key in sources[1:]:
            onward = signature[sources.index(NODE.key) :]
            if onward in beyond:
                continue
            beyond.add(onward)
        for cut in range(1, len(signature)):
            tail = signature[cut:]
            tails[tail] = min(tails.get(tail, _TIERS), level)
        kept.append(path)
    return [path for path in kept if tails.get(_signature(path), _TIERS) > tier(path)]


def _signature(path: AttackPath) -> tuple[tuple[str, str, str], ...]:
    return tuple((s.source.key, s.target.key, s.action) for s in path.steps)


_TIERS = 4


def tier(path: AttackPath) -> int:
    """How direct a path is: 0 from the internet or the nodes' network (an attack anyone can
    start), 1 a compromised container's own way, 2 from an upstream image (the supply chain),
    3 through the pod network or a node's local services to other containers (lateral
    movement, the weakest assumption)."""
    if any(step.source.key in HUBS for step in path.steps):
        return 3
    if path.start.key.startswith("image:"):
        return 2
    return 0 if path.start.kind == "entry" else 1


def rank(path: AttackPath) -> tuple[int, int, int, str, str]:
    """Most damaging first, then the most direct (``tier``), then the shortest, then by name."""
    return (-path.impact, tier(path), len(path.steps), path.start.label, path.end.label)
