"""The three scenarios and the blast radius per workload: the shop fixture scenario by scenario
(the frontend's token -> create pods -> a node), a workload with nothing reachable, the ranking,
the supply chain, the STRIDE table; lines under 100 columns, no secret value printed."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner

from kscan.cli import cli
from kscan.report.threats_scenarios import render
from kscan.scan.engine import scan
from kscan.threats.analysis import RenderOptions, ThreatModel, analyse

HERE = Path(__file__).parent
SHOP = str(HERE / "shop.yaml")


def analysed(*paths: str) -> ThreatModel:
    result = scan(list(paths), [], threats=True)
    assert not result.errors
    return analyse(result.threat_facts)


def rendered(found: ThreatModel) -> str:
    return "".join(render(found, RenderOptions()))


def section(text: str, title: str) -> str:
    """The part of the report from the line starting with ``title`` to the next blank line
    followed by a scenario or workload heading, its wrapped lines joined (spaces collapsed)."""
    start = text.index(title)
    ends = [text.find(mark, start + 1) for mark in ("\n\nScenario ", "\n\n== ")]
    ends = [end for end in ends if end != -1]
    return " ".join(text[start : min(ends) if ends else len(text)].split())


def test_shop_blast_radius_is_the_node() -> None:
    found = analysed(SHOP)
    (frontend,) = found.workloads
    assert frontend.obj.display == "Deployment 'shop/frontend'"
    assert frontend.impact == 80
    assert frontend.worst is not None
    assert [(s.target.key, s.technique) for s in frontend.worst.steps] == [
        ("sa:shop/deployer", "T1528"),
        ("power:create-pods:shop", "T1078"),
        ("node", "T1611"),
    ]
    assert [s.target.key for s in frontend.tokens] == ["sa:shop/deployer"]
    assert [s.target.key for s in frontend.powers] == ["power:create-pods:shop"]
    assert frontend.secrets == frontend.escapes == frontend.network == frontend.images == ()
    (escalation,) = found.escalations
    assert escalation.start.key == "sa:shop/deployer"
    assert [s.target.key for s in escalation.steps] == ["power:create-pods:shop", "node"]


def test_shop_scenario_by_scenario() -> None:
    text = rendered(analysed(SHOP))
    ranking = section(text, "Blast radius per workload")
    assert "1. Deployment 'shop/frontend' (" in ranking
    assert "a node (3 steps from Container 'web')" in ranking
    shell = section(text, "== Deployment 'shop/frontend'")
    assert "- the token of ServiceAccount 'shop/deployer' (Container 'web')" in shell
    assert "shop.yaml:53:7 /spec/template/spec/serviceAccountName" in shell
    assert "- no Secret in its environment or volumes" in shell
    assert "- Create pods or workloads in namespace 'shop': is granted it by RoleBinding" in shell
    assert "- no pod through the pod network (a NetworkPolicy isolates its egress)" in shell
    assert "Blast radius: a node (3 steps from Container 'web')" in shell
    assert "enforces no Pod Security level) [T1611 Escape to Host]" in shell
    assert "Spoofing: a shell acts as ServiceAccount 'shop/deployer' with its token" in shell
    assert "Repudiation: nothing found by manifest" in shell
    assert "Denial of service: not modelled by the attack graph" in shell
    assert "Elevation of privilege: its identity may: Create pods or workloads" in shell
    assert "Tampering: nothing found" in shell  # the frontend's image is pinned by digest
    supply = section(text, "Scenario 2:")
    assert "No image is named by a mutable tag" in supply
    escalation = section(text, "Scenario 3:")
    assert "- ServiceAccount 'shop/deployer' -> a node (2 steps)" in escalation
    assert "shop.yaml:64:5 /rules/0" in escalation


WORKLOADS = """\
apiVersion: v1
kind: Pod
metadata: {name: quiet, namespace: app, labels: {app: quiet}}
spec:
  automountServiceAccountToken: false
  containers: [{name: c, image: "i@sha256:0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: loud, namespace: app, labels: {app: loud}}
spec:
  automountServiceAccountToken: false
  volumes: [{name: root, hostPath: {path: /}}]
  containers:
    - name: c
      image: registry.example.com/loud:1.0
      env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}]
      volumeMounts: [{name: root, mountPath: /host}]
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: app}
stringData: {password: hunter2-very-secret-value}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: app}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"""


def test_a_workload_with_no_paths_shows_nothing_reachable(tmp_path: Path) -> None:
    path = tmp_path / "pods.yaml"
    path.write_text(WORKLOADS)
    found = analysed(str(path))
    assert [w.obj.name for w in found.workloads] == ["loud", "quiet"]
    loud, quiet = found.workloads
    assert quiet.worst is None and quiet.targets == 0
    assert loud.impact == 80 and loud.targets == 2  # the node and Secret 'app/db'
    text = rendered(found)
    ranking = section(text, "Blast radius per workload")
    assert "2. Pod 'app/quiet' (" in ranking and "): nothing reachable" in ranking
    shell = section(text, "== Pod 'app/quiet'")
    assert "- no service account token (ServiceAccount 'app/default': not mounted)" in shell
    assert "- nothing (no token)" in shell
    assert "Blast radius: nothing reachable" in shell
    assert "Elevation of privilege: nothing found" in shell
    loud_text = section(text, "== Pod 'app/loud'")
    assert "- Secret 'app/db': Container 'c' reads it in its environment" in loud_text
    assert "Information disclosure: Container 'c' takes its node, and with it the tokens" in (
        " ".join(loud_text.split())
    )
    # the node's root holds the runtime socket: the mount deploys containers, read-only or not
    assert "Tampering: Container 'c' reaches the runtime socket /run/docker.sock" in loud_text
    assert "fix: drop the hostPath volume: a readOnly mount of a runtime socket" in loud_text
    assert "Information disclosure: Container 'c' reads it in its environment" in loud_text
    supply = section(text, "Scenario 2:")
    assert "Upstream image 'registry.example.com/loud:1.0' runs in Container 'c'" in supply
    assert "blast radius: a node (1 step from Container 'c', 2 targets)" in supply
    assert "Pod 'app/quiet'" not in supply
    assert "No identity reaches a node or the cluster" in section(text, "Scenario 3:")
    assert "hunter2" not in text
    assert max(len(line) for line in text.splitlines()) < 100


def test_command_scenarios_format() -> None:
    result = CliRunner().invoke(cli, ["threats", "--format", "scenarios", SHOP])
    assert result.exit_code == 1
    assert result.output.startswith("Threat scenarios (8 objects read, 1 workloads)")
    without = CliRunner().invoke(cli, ["threats", "--format", "scenarios", "--no-lateral", SHOP])
    assert "- the pod network: not modelled (--no-lateral)" in without.output


def test_scenarios_wrap_long_labels(tmp_path: Path) -> None:
    """Lines wrap under 100 columns; only a word longer than that (an object's name, up to 253
    characters) is left whole, alone on its line."""
    name = "a-very-long-deployment-name-" + "x" * 30
    path = tmp_path / "long.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}, namespace: a-long-namespace-name-for-wrapping}}
        spec:
          selector: {{matchLabels: {{app: x}}}}
          template:
            metadata: {{labels: {{app: x}}}}
            spec:
              containers:
                - {{name: container-with-a-long-name, image: "i:1",
                    securityContext: {{privileged: true}}}}
        """)
    )
    text = rendered(analysed(str(path)))
    long_lines = [line for line in text.splitlines() if len(line) >= 100]
    assert long_lines  # the label below does not fit: it stands alone on its line
    assert all(" " not in line.strip() for line in long_lines)


ON_NODE = """\
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: app}
spec:
  hostNetwork: true
  automountServiceAccountToken: false
  containers:
  - name: c
    image: i@sha256:0
    volumeMounts: [{name: pods, mountPath: /pods, readOnly: true}]
  volumes:
  - {name: pods, hostPath: {path: /var/lib/kubelet/pods}}
"""


def test_where_it_can_move_names_what_is_on_its_node(tmp_path: Path) -> None:
    """A host-network container reaches its node's local services and a read-only mount of
    the kubelet's pods directory the tokens of the node's pods, without taking the node:
    scenario 1 lists both where it can move, with their fields."""
    path = tmp_path / "pods.yaml"
    path.write_text(ON_NODE)
    shell = section(rendered(analysed(str(path))), "== Pod 'app/agent'")
    assert "- a node's local services (its loopback and addresses: the kubelet" in shell
    assert "Container 'c' shares the node's network namespace (hostNetwork)" in shell
    assert "/spec/hostNetwork" in shell
    assert "- the service account token of every pod on a node: Container 'c' reads" in shell
    assert "/spec/volumes/0/hostPath/path" in shell
