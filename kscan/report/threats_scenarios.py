"""The threat model as the three attack scenarios (``kscan threats --format scenarios``):

1. a compromised container: per workload, what a shell finds (its token, the Secrets in its
   environment and volumes), what the API lets it do (its identity's RBAC powers), where it can
   move (the pod network, the node), its blast radius, and a STRIDE table (threat, what applies,
   evidence, fix) read off the graph's steps;
2. the supply chain: the workloads an upstream image compromise reaches (images by mutable
   tag, or from outside the trusted registries), each with its blast radius;
3. privilege escalation: from each identity to a node or the cluster through RBAC.

Workloads come worst blast radius first. Lines stay under 100 columns (a file path longer
than that is not broken); Secrets are named, their values are never read."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

from kscan.model.taxonomy import TECHNIQUES
from kscan.report import printable
from kscan.threats.analysis import RenderOptions, ThreatModel
from kscan.threats.graph import POD_NETWORK
from kscan.threats.paths import AttackPath, Evidence, Step
from kscan.threats.workloads import WorkloadThreats

WIDTH = 99

_TARGETS = {
    100: "the cluster",
    80: "a node",
    60: "the secrets of every namespace",
    50: "another namespace's secrets",
    30: "a node's local services",
    20: "its own namespace's secrets",
    10: "a Secret",
}


def render(model: ThreatModel, options: RenderOptions) -> Iterator[str]:
    yield f"Threat scenarios ({model.objects} objects read, {len(model.workloads)} workloads)\n"
    yield "\n"
    yield from _ranking(model.workloads)
    yield "\nScenario 1: a compromised container (a shell in each workload)\n"
    if not model.workloads:
        yield "  No workloads.\n"
    lateral = {step.target.key for step in model.graph.out.get(POD_NETWORK.key, ())}
    for workload in model.workloads:
        yield "\n"
        yield from _compromised(workload, lateral if model.lateral else None)
    yield "\nScenario 2: the supply chain (an upstream image compromise)\n"
    yield from _supply_chain(model.workloads)
    yield "\nScenario 3: privilege escalation through RBAC (identity to node or cluster)\n"
    yield from _escalations(model.escalations)


def _line(text: str, indent: int = 0, hang: int = 2) -> Iterator[str]:
    if text and indent + len(text) <= WIDTH and text.isprintable() and text.strip() == text:
        yield " " * indent + text + "\n"  # what wrapping gives a short plain line, faster
        return
    for wrapped in textwrap.wrap(
        printable(text),
        WIDTH,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hang),
        break_long_words=False,
        break_on_hyphens=False,
    ):
        yield wrapped + "\n"


def _where(found: Evidence) -> str:
    return f"{found.path}:{found.line}:{found.column} {found.field}"


def _evidence(step: Step, indent: int) -> Iterator[str]:
    for found in step.evidence:
        yield from _line(_where(found), indent, 4)


def _radius(workload: WorkloadThreats) -> str:
    worst = workload.worst
    if worst is None:
        return "nothing reachable"
    count = f", {workload.targets} targets" if workload.targets > 1 else ""
    return (
        f"{_TARGETS.get(worst.impact, worst.end.label)} ({_steps(worst)} from "
        f"{_short(worst.start.label)}{count})"
    )


def _steps(path: AttackPath) -> str:
    return "1 step" if len(path.steps) == 1 else f"{len(path.steps)} steps"


def _short(label: str) -> str:
    """``Container 'web'`` of ``Container 'web' of Deployment 'shop/frontend'``."""
    return label.split(" of ", 1)[0] if label.startswith("Container ") else label


def _ranking(workloads: list[WorkloadThreats]) -> Iterator[str]:
    yield "Blast radius per workload, harden the first ones first\n"
    if not workloads:
        yield "  No workloads.\n"
    for number, workload in enumerate(workloads, 1):
        obj = workload.obj
        head = f"{number:>3}. {obj.display} ({obj.path}:{obj.spot.line}): "
        yield from _line(head + _radius(workload), 0, 7)


def _path(path: AttackPath, indent: int) -> Iterator[str]:
    for step in path.steps:
        technique = TECHNIQUES[step.technique][0]
        text = f"-> {step.target.label}: {step.action} [{step.technique} {technique}]"
        yield from _line(text, indent, 3)
        yield from _evidence(step, indent + 3)


def _compromised(workload: WorkloadThreats, lateral: set[str] | None) -> Iterator[str]:
    """Scenario 1 for one workload; ``lateral``: the containers the pod network reaches (None:
    not modelled)."""
    obj = workload.obj
    yield from _line(f"== {obj.display} ({obj.path}:{obj.spot.line})", 0, 3)
    yield "  A shell finds:\n"
    if not workload.tokens:
        accounts = ", ".join(node.label for node in workload.identities)
        yield from _line(f"- no service account token ({accounts}: not mounted)", 4)
    for step in workload.tokens:
        yield from _line(f"- the token of {step.target.label} ({_short(step.source.label)})", 4)
        yield from _evidence(step, 8)
    if not workload.secrets:
        yield "    - no Secret in its environment or volumes\n"
    for step in workload.secrets:
        yield from _line(f"- {step.target.label}: {_short(step.source.label)} {step.action}", 4)
        yield from _evidence(step, 8)
    yield "  The API lets it:\n"
    if not workload.powers:
        why = "no RBAC power is granted" if workload.tokens else "no token"
        yield from _line(f"- nothing ({why})", 4)
    for step in workload.powers:
        yield from _line(f"- {step.target.label}: {step.action}", 4)
        yield from _evidence(step, 8)
    yield "  It can move to:\n"
    if workload.network:
        own = {node.key for node in workload.containers}
        others = len(lateral - own) if lateral is not None else 0
        yield from _line(
            f"- the pod network: {others} serving containers of other pods no policy isolates",
            4,
        )
    elif lateral is not None:
        yield "    - no pod through the pod network (a NetworkPolicy isolates its egress)\n"
    else:
        yield "    - the pod network: not modelled (--no-lateral)\n"
    for step in workload.escapes:
        yield from _line(f"- a node: {_short(step.source.label)} {step.action}", 4)
        yield from _evidence(step, 8)
    for step in workload.on_node:
        target = step.target.label[0].lower() + step.target.label[1:]
        yield from _line(f"- {target}: {_short(step.source.label)} {step.action}", 4)
        yield from _evidence(step, 8)
    yield from _line(f"Blast radius: {_radius(workload)}", 2)
    if workload.worst is not None and not (
        len(workload.worst.steps) == 1 and workload.worst.steps[0] in workload.escapes
    ):
        yield from _path(workload.worst, 4)
    yield "  STRIDE (threat: what applies; evidence; fix)\n"
    for threat, rows, none in _stride(workload):
        if not rows:
            yield from _line(f"{threat}: {none}", 4, 4)
        for applies, step, fix in rows:
            yield from _line(f"{threat}: {applies}", 4, 4)
            yield from _evidence(step, 8)
            yield from _line(f"fix: {fix}", 8, 4)


Row = tuple[str, Step, str]


def _stride(workload: WorkloadThreats) -> list[tuple[str, list[Row], str]]:
    spoofing = [
        (
            f"a shell acts as {s.target.label} with its token ({_short(s.source.label)})",
            s,
            "automountServiceAccountToken: false where the workload does not call the API",
        )
        for s in workload.tokens
    ]
    host_writes = [s for s in workload.escapes if _host_mount(s)]
    tampering = [
        (f"{_short(s.source.label)} {s.action}", s, _escape_fix(s)) for s in host_writes
    ] + [
        (f"{s.source.label} alters {_short(s.target.label)}", s, "pin the image by digest")
        for s in workload.images
    ]
    disclosure = (
        [
            (f"{_short(s.source.label)} {s.action}: {s.target.label}", s, _secret_fix(s))
            for s in workload.secrets
        ]
        + [
            (f"its identity may: {s.target.label}", s, _power_fix(s))
            for s in workload.powers
            if s.target.key.startswith(("power:read-secrets:", "power:cluster-admin:"))
        ]
        + [
            (
                f"{_short(s.source.label)} takes its node, and with it the tokens and Secrets of "
                "every pod there",
                s,
                _escape_fix(s),
            )
            for s in workload.escapes
        ]
    )
    elevation = [
        (f"{_short(s.source.label)} {s.action}", s, _escape_fix(s)) for s in workload.escapes
    ] + [(f"its identity may: {s.target.label}", s, _power_fix(s)) for s in workload.powers]
    return [
        ("Spoofing", spoofing, "nothing found (no service account token mounted)"),
        ("Tampering", tampering, "nothing found (no writable host mount, images by digest)"),
        (
            "Repudiation",
            [],
            "nothing found by manifest (audit logging is an API server setting git does not show)",
        ),
        (
            "Information disclosure",
            disclosure,
            "nothing found (no Secret in its containers, no power to read secrets, no escape)",
        ),
        ("Denial of service", [], "not modelled by the attack graph"),
        ("Elevation of privilege", elevation, "nothing found (no escape, no RBAC power)"),
    ]


def _host_mount(step: Step) -> bool:
    return any("/hostPath/" in found.field for found in step.evidence)


def _escape_fix(step: Step) -> str:
    fields = [found.field for found in step.evidence]
    if any(field.endswith("/privileged") for field in fields):
        return "drop securityContext.privileged"
    if step.technique == "T1610":
        return "drop the hostPath volume: a readOnly mount of a runtime socket still connects"
    if any("/hostPath/" in field for field in fields):
        return "drop the hostPath volume, or mount it readOnly where only writing escapes"
    if any("/capabilities/add/" in field for field in fields):
        return "drop the capability from securityContext.capabilities.add"
    return "drop hostPID"


def _secret_fix(step: Step) -> str:
    return "give the Secret only to the containers that use it, as a file rather than env"


def _power_fix(step: Step) -> str:
    return "narrow the bound role, or run the workload as an account without this binding"


def _supply_chain(workloads: list[WorkloadThreats]) -> Iterator[str]:
    reached = [workload for workload in workloads if workload.images]
    if not reached:
        yield (
            "  No image is named by a mutable tag: every image is pinned by digest (and from\n"
            "  a trusted registry, where they are configured).\n"
        )
    for workload in reached:
        obj = workload.obj
        yield from _line(f"- {obj.display} ({obj.path}:{obj.spot.line})", 2, 4)
        for step in workload.images:
            yield from _line(f"{step.source.label} runs in {_short(step.target.label)}", 6)
            yield from _evidence(step, 10)
        yield from _line(f"blast radius: {_radius(workload)}", 6)


def _escalations(paths: list[AttackPath]) -> Iterator[str]:
    if not paths:
        yield "  No identity reaches a node or the cluster through RBAC.\n"
    for path in paths:
        target = _TARGETS.get(path.impact, path.end.label)
        yield from _line(f"- {path.start.label} -> {target} ({_steps(path)})", 2, 4)
        yield from _path(path, 6)
