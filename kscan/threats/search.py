"""Attack paths: from every entry point and every container to the high-value targets (the
cluster, a node, secrets), shortest first within the most damaging target, deduplicated and
bounded.

One breadth-first search per target over the steps entering each node (the graph's reverse
index) gives every node its shortest way to that target; each start then reads its path off by
following those steps. The cost is (targets) x (nodes + steps), never starts x objects."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from kscan.threats.graph import Graph
from kscan.threats.paths import AttackPath, Node, Step

DEFAULT_MAX_PATHS = 50

IMPACT = {
    "cluster": 100,
    "node": 80,
    "secrets:*": 60,
    "secrets": 50,
    "own-secrets": 20,
    "secret": 10,
}
"""How damaging each target is: the cluster, a node, the secrets of every namespace, of another
namespace, of its own namespace, one Secret."""


def impact(target: Node, start: Node, first: Step) -> int | None:
    """How damaging reaching ``target`` from ``start`` is (None: not a target)."""
    if target.kind in ("cluster", "node"):
        return IMPACT[target.kind]
    if target.kind != "secret":
        return None
    if target.key == "secrets:*":
        return IMPACT["secrets:*"]
    if target.key.startswith("secret:"):
        return IMPACT["secret"]
    namespace = target.key.removeprefix("secrets:")
    own = _namespace_of(start) or _namespace_of(first.target)
    return IMPACT["own-secrets"] if own == namespace else IMPACT["secrets"]


def _namespace_of(node: Node) -> str | None:
    if node.kind == "container":
        return node.key.removeprefix("container:").split("/", 1)[0]
    return None


def targets(graph: Graph) -> list[Node]:
    return [node for node in graph.nodes.values() if node.kind in ("cluster", "node", "secret")]


def toward(graph: Graph, target: Node) -> dict[str, Step]:
    """Node key -> the first step of one of its shortest ways to ``target``."""
    nearest: dict[str, Step] = {}
    queue = deque([target.key])
    seen = {target.key}
    while queue:
        key = queue.popleft()
        for step in graph.into.get(key, ()):
            source = step.source.key
            if source not in seen:
                seen.add(source)
                nearest[source] = step
                queue.append(source)
    return nearest


def path_to(nearest: dict[str, Step], start: str, target: Node) -> tuple[Step, ...]:
    """The steps from ``start`` to ``target`` read off ``toward(graph, target)``."""
    steps: list[Step] = []
    key = start
    while key != target.key:
        step = nearest[key]
        steps.append(step)
        key = step.target.key
    return tuple(steps)


Observer = Callable[[Node, dict[str, Step]], None]
"""Told each target with its ``toward`` map, so other views (a workload's blast radius) read
the same breadth-first searches instead of repeating them."""


def search(
    graph: Graph, max_paths: int = DEFAULT_MAX_PATHS, observe: Observer | None = None
) -> list[AttackPath]:
    """The ``max_paths`` most damaging paths, shortest first among equals. A path that is the
    tail of another kept path to the same target (a container's, when an entry point reaches
    that container) is left out: the longer one shows it."""
    starts = [node for node in graph.nodes.values() if node.kind in ("entry", "container")]
    found: list[AttackPath] = []
    for target in targets(graph):
        nearest = toward(graph, target)
        if observe is not None:
            observe(target, nearest)
        for start in starts:
            if start.key not in nearest:
                continue
            steps = path_to(nearest, start.key, target)
            score = impact(target, start, steps[0])
            if score is not None:
                found.append(AttackPath(steps, score))
    found.sort(key=_rank)
    kept: list[AttackPath] = []
    tails: set[tuple[tuple[str, str, str], ...]] = set()
    for path in found:
        signature = tuple((s.source.key, s.target.key, s.action) for s in path.steps)
        if signature in tails:
            continue
        for cut in range(1, len(signature)):
            tails.add(signature[cut:])
        kept.append(path)
    kept = [path for path in kept if _signature(path) not in tails]
    return kept[:max_paths]


def _signature(path: AttackPath) -> tuple[tuple[str, str, str], ...]:
    return tuple((s.source.key, s.target.key, s.action) for s in path.steps)


def _rank(path: AttackPath) -> tuple[int, int, int, str, str]:
    entry = 0 if path.start.kind == "entry" else 1
    return (-path.impact, len(path.steps), entry, path.start.label, path.end.label)
