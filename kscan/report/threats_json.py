"""Attack paths as JSON: the graph's nodes and steps, and the ranked paths (steps by index)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kscan.report import json_text
from kscan.threats.analysis import RenderOptions, ThreatModel
from kscan.threats.paths import Evidence, Node, Step


def render(model: ThreatModel, options: RenderOptions) -> Iterator[str]:
    steps = list(model.graph.steps())
    index = {id(step): at for at, step in enumerate(steps)}
    document = {
        "nodes": [_node(node) for node in model.graph.nodes.values()],
        "steps": [_step(step) for step in steps],
        "paths": [
            {
                "start": path.start.key,
                "end": path.end.key,
                "impact": path.impact,
                "steps": [index[id(step)] for step in path.steps],
            }
            for path in model.paths
        ],
        "truncated": model.truncated,
    }
    yield json_text(document, indent=2) + "\n"


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
