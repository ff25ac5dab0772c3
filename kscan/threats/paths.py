"""What an attack path is: nodes of the attack graph, the steps between them with their ATT&CK
tactic and technique and the evidence (where each enabling field is written), and paths as
ranked chains of steps. The graph builder makes them; the reporters only read them."""

from __future__ import annotations

from typing import Literal

from kscan.support.values import dataclass

NodeKind = Literal[
    "entry",  # the internet through a Service, an Ingress or a host port; an upstream image
    "container",  # a container of a workload
    "identity",  # a ServiceAccount, user or group
    "power",  # what an identity may do through RBAC (read secrets, create pods, ...)
    "secret",  # a Secret (or the secrets of a namespace)
    "namespace",
    "node",  # a node the pod runs on
    "services",  # what listens on a node's own addresses (its loopback, the kubelet's ports)
    "cluster",  # cluster-admin
]


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the attack graph. ``key`` identifies it; ``label`` is what users read
    (``Container 'web' of Deployment 'shop/web'``)."""

    kind: NodeKind
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """A field that enables a step, where it is written."""

    path: str
    line: int
    column: int
    field: str
    """The field's JSON pointer in its document (``/spec/template/spec/hostPID``)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One attack step from ``source`` to ``target``."""

    source: Node
    target: Node
    action: str
    """What the attacker does, in a few words (``mounts the service account token``)."""
    tactic: str
    """ATT&CK tactic id (``TA0004``)."""
    technique: str
    """ATT&CK technique id (``T1611``)."""
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class AttackPath:
    """A chain of steps from an entry point or a container to a high-value target."""

    steps: tuple[Step, ...]
    impact: int
    """How damaging the target is (higher is worse: the cluster above a node above a secret)."""

    @property
    def start(self) -> Node:
        return self.steps[0].source

    @property
    def end(self) -> Node:
        return self.steps[-1].target
