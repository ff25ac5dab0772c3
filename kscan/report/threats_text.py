"""Attack paths as text: one chain per path, one hop per line with its technique and where the
fields that enable it are written."""

from __future__ import annotations

from collections.abc import Iterator

from kscan.model.taxonomy import TACTICS, TECHNIQUES
from kscan.report import printable
from kscan.threats.analysis import RenderOptions, ThreatModel
from kscan.threats.paths import AttackPath


def render(model: ThreatModel, options: RenderOptions) -> Iterator[str]:
    if not model.paths:
        yield f"No attack paths found ({model.objects} objects read).\n"
        return
    for number, path in enumerate(model.paths, 1):
        yield from _path(number, path)
    more = " (more exist: raise --max-paths)" if model.truncated else ""
    count = "1 attack path" if len(model.paths) == 1 else f"{len(model.paths)} attack paths"
    yield f"{count}{more}.\n"


def _path(number: int, path: AttackPath) -> Iterator[str]:
    yield f"{number}. {printable(path.start.label)} -> {printable(path.end.label)}"
    steps = "1 step" if len(path.steps) == 1 else f"{len(path.steps)} steps"
    yield f" ({steps}, impact {path.impact})\n"
    for step in path.steps:
        technique = TECHNIQUES[step.technique][0]
        yield (
            f"   -> {printable(step.target.label)}: {printable(step.action)}"
            f"  [{step.technique} {technique}, {TACTICS[step.tactic]}]\n"
        )
        for found in step.evidence:
            where = f"{printable(found.path)}:{found.line}:{found.column}"
            yield f"      {where} {printable(found.field)}\n"
    yield "\n"
