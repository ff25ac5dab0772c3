"""Attack paths as JSON: the graph's nodes and steps, and the ranked paths (steps by index)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from kscan.report import json_text
from kscan.threats.analysis import RenderOptions, ThreatModel
from kscan.threats.paths import Evidence, Node, Step


def render(model: ThreatModel, options: RenderOptions) -> Iterator[str]:
    """One JSON document, written a node and a step at a time (one per line), so a large
    graph is never held twice as text."""
    index: dict[int, int] = {}
    yield '{\n"nodes": [\n'
    yield from _items(_node(node) for node in model.graph.nodes.values())
    yield '],\n"steps": [\n'
    yield from _items(_numbered(model.graph.steps(), index))
    yield '],\n"paths": [\n'
    yield from _items(
        {
            "start": path.start.key,
            "end": path.end.key,
            "impact": path.impact,
            "steps": [index[id(step)] for step in path.steps],
        }
        for path in model.paths
    )
    yield f'],\n"truncated": {json_text(model.truncated)}\n}}\n'


def _numbered(steps: Iterable[Step], index: dict[int, int]) -> Iterator[dict[str, Any]]:
    """The steps as JSON values, each one's position recorded for the paths."""
    for at, step in enumerate(steps):
        index[id(step)] = at
        yield _step(step)


def _items(values: Iterable[Any]) -> Iterator[str]:
    separator = ""
    for value in values:
        yield separator + json_text(value)
        separator = ",\n"
    if separator:
        yield "\n"


def _node(node: Node) -> dict[str, Any]:
    return {"key": node.key, "kind": node.kind, "label": node.label}


def _step(step: Step) -> dict[str, Any]:
    return {
        "source": step.source.key,
        "target": step.target.key,
        "action": step.action,
        "tactic": step.tactic,
        "technique": step.technique,
        "evidence": [_evidence(found) for found in step.evidence],
    }


def _evidence(found: Evidence) -> dict[str, Any]:
    return {"path": found.path, "line": found.line, "column": found.column, "field": found.field}
