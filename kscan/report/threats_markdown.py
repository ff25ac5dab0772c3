"""Attack paths as Markdown for ``$GITHUB_STEP_SUMMARY`` and pull-request comments: a table of
the top paths, a Mermaid ``flowchart LR`` of them (GitHub renders Mermaid blocks), then each
path hop by hop with where its evidence is.

The diagram's node ids are generated (``n1``, ``n2``...), never taken from manifest text, and
every label character outside a small safe set is written as a Mermaid entity code (``#35;``),
so no object name can end a label, open a link or inject HTML. Labels are the nodes' labels
(object names) and the steps' actions and techniques: the paths hold no field values."""

from __future__ import annotations

import re
from collections.abc import Iterator

from kscan.report.attack_paths import (
    TARGET_NAMES,
    PathReportOptions,
    in_sentence,
    step_text,
    technique_title,
    where,
)
from kscan.report.markdown import _cell
from kscan.threats.analysis import RenderOptions, ThreatModel
from kscan.threats.paths import AttackPath, Node

_UNSAFE = re.compile(r"[^A-Za-z0-9 .,:/_'()=@+-]")
"""Characters written as entity codes in a Mermaid label: all but letters, digits and plain
punctuation (so quotes, brackets, pipes, backticks, ``#``, ``;``, ``<``, ``&``, line breaks and
all non-ASCII)."""
MAX_LABEL = 80
"""Label characters drawn at most; longer labels end with ``...``."""
_TARGET_CLASSES = {"cluster": "target", "node": "target", "entry": "entry"}
_MARKUP = re.compile(r"[`*_\[\]~]")
"""Markdown punctuation that would make a name code, emphasis or a link."""


def cell(text: str) -> str:
    """Text safe in a table cell or a list item, shown as written: no pipes, line breaks,
    control characters or HTML (see ``markdown._cell``), and no Markdown markup."""
    return _MARKUP.sub(lambda match: "\\" + match.group(), _cell(text))


def mermaid_text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label (``n1["..."]``, ``-->|"..."|``)."""
    if len(text) > MAX_LABEL:
        text = text[: MAX_LABEL - 3] + "..."
    return _UNSAFE.sub(lambda match: f"#{ord(match.group())};", text)


def render_paths(paths: list[AttackPath], options: PathReportOptions) -> Iterator[str]:
    """The summary of the first ``options.top`` paths of the ranking."""
    top = paths[: max(options.top, 0)]
    lines = ["## kscan attack paths", ""]
    if not paths:
        lines.append("No attack path found.")
        yield "\n".join(lines) + "\n"
        return
    worst = paths[0]
    lines += [
        f"{len(paths)} attack path{'s' if len(paths) != 1 else ''}"
        + (f", the first {len(top)} shown" if len(top) < len(paths) else "")
        + f". The worst reaches {cell(in_sentence(worst.end.label))} from "
        f"{cell(worst.start.label)}.",
        "",
        "| # | Impact | From | Reaches | Target | Steps | Techniques |",
        "|---:|---:|---|---|---|---:|---|",
    ]
    for number, path in enumerate(top, start=1):
        techniques = ", ".join(dict.fromkeys(step.technique for step in path.steps))
        lines.append(
            f"| {number} | {path.impact} | {cell(path.start.label)} | {cell(path.end.label)} "
            f"| {TARGET_NAMES[path.end.kind]} | {len(path.steps)} | {cell(techniques)} |"
        )
    if top:
        lines += ["", "```mermaid", *diagram(top), "```"]
    for number, path in enumerate(top, start=1):
        lines += ["", f"### {number}. {cell(path.start.label)} → {cell(path.end.label)}", ""]
        for step in path.steps:
            located = ", ".join(
                f"{cell(where(e, options.base_dir))} ({cell(e.field)})" for e in step.evidence
            )
            lines.append(
                f"1. {cell(step.source.label)} → {cell(step.target.label)}: "
                f"{cell(step.action)} ({cell(technique_title(step.technique))})"
                + (f" at {located}" if located else "")
            )
    yield "\n".join(lines) + "\n"


def diagram(paths: list[AttackPath]) -> list[str]:
    """The lines of a ``flowchart LR`` of ``paths``: one box per node (shared by the paths
    through it), one arrow per distinct step, labelled with its action and technique."""
    ids: dict[str, str] = {}
    nodes: list[Node] = []
    edges: dict[tuple[str, str, str], None] = {}

    def ident(node: Node) -> str:
        if node.key not in ids:
            ids[node.key] = f"n{len(ids) + 1}"
            nodes.append(node)
        return ids[node.key]

    for path in paths:
        for step in path.steps:
            edges.setdefault((ident(step.source), ident(step.target), step_text(step)))
    lines = ["flowchart LR"]
    for node in nodes:
        lines.append(f'  {ids[node.key]}["{mermaid_text(node.label)}"]')
    for source, target, text in edges:
        lines.append(f'  {source} -->|"{mermaid_text(text)}"| {target}')
    lines += [
        "  classDef target fill:#f8d7da,stroke:#b02a37",
        "  classDef entry fill:#fff3cd,stroke:#997404",
    ]
    for kind, name in _TARGET_CLASSES.items():
        members = [ids[node.key] for node in nodes if node.kind == kind]
        if members:
            lines.append(f"  class {','.join(members)} {name}")
    return lines


def render(model: ThreatModel, options: RenderOptions) -> Iterator[str]:
    """The ``kscan threats --format markdown`` report of a threat model."""
    return render_paths(model.paths, PathReportOptions(base_dir=options.base_dir or "."))
