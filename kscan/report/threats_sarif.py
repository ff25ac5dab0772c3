"""Attack paths as SARIF 2.1.0 for GitHub code scanning: one result per path, whose code flow
walks its hops in order, so the alert shows the path step by step.

Path rules are named by what the path reaches (its last node's kind), a small fixed set:

- ``KSP001 path-to-cluster-admin``: cluster-admin or its equivalent;
- ``KSP002 path-to-node``: a node (escape from the container, or a pod the attacker creates);
- ``KSP003 path-to-identity``: another service account, user or group;
- ``KSP004 path-to-secret``: a Secret, or the secrets of a namespace;
- ``KSP005 path-to-namespace``: control of a namespace;
- ``KSP006 path-to-api-power``: an RBAC power (create pods, exec, ...) not followed further;
- ``KSP007 path-to-container``: another workload's container (lateral movement);
- ``KSP008 path-to-entry-point``: an entry point (listed for completeness; a search should
  not end there).

The tool is named ``kscan-threats``, not ``kscan``: GitHub code scanning tells uploads apart by
tool and category, so these results and the findings' can go in one upload without one run
closing the other's alerts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import sarif_om as sarif

from kscan import __version__
from kscan.report.attack_paths import (
    PathReportOptions,
    in_sentence,
    step_text,
    tactic_title,
    technique_title,
)
from kscan.report.sarif import INFORMATION_URI, artifact_location, log_text
from kscan.support.values import dataclass
from kscan.threats.analysis import RenderOptions, ThreatModel
from kscan.threats.paths import AttackPath, Evidence, NodeKind, Step
from kscan.threats.search import IMPACT

TOOL_NAME = "kscan-threats"
MAX_RELATED = 1000
"""Related locations per result that GitHub code scanning reads at most."""


@dataclass(frozen=True)
class PathRule:
    id: str
    name: str
    title: str
    help: str
    security_severity: str


_RULES: dict[NodeKind, PathRule] = {
    "cluster": PathRule(
        "KSP001",
        "path-to-cluster-admin",
        "An attack path reaches cluster-admin",
        "An attacker who starts where this path starts (an exposed workload, an upstream image "
        "or a compromised container) can chain the steps shown to act as cluster-admin: every "
        "object, secret and node of the cluster is theirs. Break the chain at the cheapest "
        "hop: do not mount the service account token where the workload does not call the "
        "API, narrow the RBAC binding, or enforce a Pod Security level in the namespace.",
        "9.5",
    ),
    "node": PathRule(
        "KSP002",
        "path-to-node",
        "An attack path reaches a node",
        "The steps shown take an attacker from the start of the path to the node: root on the "
        "host, every pod scheduled there and the kubelet's credentials. Break the chain: no "
        "privileged containers, host namespaces or writable host paths, and no RBAC power to "
        "create pods in a namespace whose Pod Security level allows them.",
        "9.0",
    ),
    "identity": PathRule(
        "KSP003",
        "path-to-identity",
        "An attack path takes over another identity",
        "The steps shown let an attacker act as another service account, user or group, and "
        "so use its RBAC powers. Do not mount tokens that the workload does not need, and do "
        "not grant powers (create pods, read secrets, impersonate, create tokens) that hand "
        "out other identities.",
        "7.5",
    ),
    "secret": PathRule(
        "KSP004",
        "path-to-secret",
        "An attack path reads secrets",
        "The steps shown let an attacker read Secrets (credentials, tokens, keys). Give "
        "workloads only the secrets they use, and bind read access to secrets to no identity "
        "an exposed workload holds.",
        "7.0",
    ),
    "namespace": PathRule(
        "KSP005",
        "path-to-namespace",
        "An attack path takes over a namespace",
        "The steps shown give an attacker control of a namespace's workloads. Narrow the "
        "bindings along the path and enforce a Pod Security level in the namespace.",
        "7.0",
    ),
    "power": PathRule(
        "KSP006",
        "path-to-api-power",
        "An attack path gains an API power",
        "The steps shown give an attacker a Kubernetes API power through RBAC. Bind the "
        "identity along the path only to the verbs and resources the workload needs.",
        "6.0",
    ),
    "container": PathRule(
        "KSP007",
        "path-to-container",
        "An attack path moves to another container",
        "The steps shown let an attacker reach another workload's container (lateral "
        "movement). Isolate pods with NetworkPolicies and do not share process namespaces.",
        "5.0",
    ),
    "entry": PathRule(
        "KSP008",
        "path-to-entry-point",
        "An attack path reaches an entry point",
        "The steps shown end at an entry point of the cluster. Review the exposure.",
        "3.0",
    ),
    "services": PathRule(
        "KSP009",
        "path-to-node-services",
        "An attack path reaches a node's local services",
        "The steps shown put an attacker in a node's network namespace: it reaches what "
        "listens on the node's loopback and addresses, which the pod network does not (the "
        "kubelet's API and read-only port, a control-plane node's etcd and API ports, other "
        "host-network pods), and NetworkPolicies do not apply to it. Run the workload without "
        "hostNetwork unless it must serve on the node's addresses.",
        "6.5",
    ),
}
"""The path rules by the kind of node a path reaches."""

IMPACT_ERROR = IMPACT["node"]
IMPACT_WARNING = IMPACT["secret"]
"""Result levels by ``AttackPath.impact`` (``kscan.threats.search.IMPACT``): ``error`` from a
node up, ``warning`` for secrets, ``note`` below."""


def path_rules() -> list[PathRule]:
    return list(_RULES.values())


def rule_for(path: AttackPath) -> PathRule:
    return _RULES[path.end.kind]


def level(impact: int) -> str:
    if impact >= IMPACT_ERROR:
        return "error"
    return "warning" if impact >= IMPACT_WARNING else "note"


def render_paths(paths: list[AttackPath], options: PathReportOptions) -> Iterator[str]:
    """One run with every path rule and one result per path (the first
    ``options.sarif_max_results`` of the ranking; paths without any evidence cannot be shown
    in a file and are left out)."""
    rules = path_rules()
    index = {rule.id: position for position, rule in enumerate(rules)}
    shown = [path for path in paths if _first_evidence(path) is not None]
    results = [
        _result(path, index, options.base_dir) for path in shown[: options.sarif_max_results]
    ]
    run = sarif.Run(
        tool=sarif.Tool(
            driver=sarif.ToolComponent(
                name=TOOL_NAME,
                semantic_version=__version__,
                information_uri=INFORMATION_URI,
                rules=[_descriptor(rule) for rule in rules],
            )
        ),
        results=results,
        invocations=[sarif.Invocation(execution_successful=True)],
        column_kind="unicodeCodePoints",
    )
    yield log_text(run, options.sarif_category)


def _descriptor(rule: PathRule) -> sarif.ReportingDescriptor:
    return sarif.ReportingDescriptor(
        id=rule.id,
        name="".join(part.capitalize() for part in rule.name.split("-")),
        short_description=sarif.MultiformatMessageString(text=rule.title),
        full_description=sarif.MultiformatMessageString(text=rule.help),
        help=sarif.MultiformatMessageString(text=rule.help, markdown=rule.help),
        default_configuration=sarif.ReportingConfiguration(level="error"),
        properties={
            "tags": ["security", "kubernetes", "attack-path"],
            "precision": "medium",
            "security-severity": rule.security_severity,
            "kscan/name": rule.name,
        },
    )


def _first_evidence(path: AttackPath) -> Evidence | None:
    return next((step.evidence[0] for step in path.steps if step.evidence), None)


def _location(
    evidence: Evidence, base_dir: str, message: str | None = None, ident: int | None = None
) -> sarif.Location:
    return sarif.Location(
        id=-1 if ident is None else ident,
        physical_location=sarif.PhysicalLocation(
            artifact_location=artifact_location(evidence.path, base_dir),
            region=sarif.Region(start_line=evidence.line, start_column=evidence.column),
        ),
        message=None if message is None else sarif.Message(text=message),
    )


def _hop_message(number: int, step: Step) -> str:
    return f"Step {number}: {step.source.label} → {step.target.label}: {step_text(step)}."


def _result(path: AttackPath, index: dict[str, int], base_dir: str) -> sarif.Result:
    rule = rule_for(path)
    first = _first_evidence(path)
    assert first is not None  # paths without evidence are left out
    hops: list[sarif.ThreadFlowLocation] = []
    related: list[sarif.Location] = []
    anchor = first
    for number, step in enumerate(path.steps, start=1):
        message = _hop_message(number, step)
        # A step no field enables (a node reaching its pods) is shown where the step before
        # it is: GitHub rejects a file with a location that has no physical location.
        anchor = step.evidence[0] if step.evidence else anchor
        location = _location(anchor, base_dir, message)
        hops.append(sarif.ThreadFlowLocation(location=location, execution_order=number))
        for evidence in step.evidence[1:]:
            related.append(
                _location(
                    evidence,
                    base_dir,
                    f"Step {number} ({step.action}) is also enabled by {evidence.field}.",
                    ident=len(related) + 1,
                )
            )
    techniques = list(dict.fromkeys(step.technique for step in path.steps))
    tactics = list(dict.fromkeys(step.tactic for step in path.steps))
    message = (
        f"{path.start.label} reaches {in_sentence(path.end.label)} in {len(path.steps)} "
        f"step{'s' if len(path.steps) != 1 else ''}: "
        + "; ".join(step.action for step in path.steps)
        + "."
    )
    properties: dict[str, Any] = {
        "tags": [
            "security",
            "attack-path",
            *(f"mitre-attack/{tactic}" for tactic in tactics),
            *(f"mitre-attack/{technique}" for technique in techniques),
        ],
        "impact": path.impact,
        "start": path.start.key,
        "end": path.end.key,
        "techniques": [technique_title(t) for t in techniques],
        "tactics": [tactic_title(t) for t in tactics],
    }
    return sarif.Result(
        rule_id=rule.id,
        rule_index=index[rule.id],
        level=level(path.impact),
        message=sarif.Message(text=message),
        locations=[_location(first, base_dir)],
        related_locations=related[:MAX_RELATED] or None,
        code_flows=[
            sarif.CodeFlow(
                message=sarif.Message(text=f"{path.start.label} → {path.end.label}"),
                thread_flows=[sarif.ThreadFlow(locations=hops)],
            )
        ],
        partial_fingerprints={"kscan-path/v1": fingerprint(path, base_dir)},
        properties=properties,
    )


def fingerprint(path: AttackPath, base_dir: str) -> str:
    """A line-independent identity: the rule, then every hop's nodes, action and technique,
    and where its evidence is by file (as its SARIF URI) and field, never by line."""
    parts = [rule_for(path).id]
    for step in path.steps:
        parts += [step.source.key, step.target.key, step.action, step.technique]
        for evidence in step.evidence:
            parts += [artifact_location(evidence.path, base_dir).uri, evidence.field]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def render(model: ThreatModel, options: RenderOptions) -> Iterator[str]:
    """The ``kscan threats --format sarif`` report of a threat model."""
    return render_paths(model.paths, PathReportOptions(base_dir=options.base_dir or "."))
