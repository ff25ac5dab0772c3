"""Pods inside custom resources are checked like any pod, with findings at their lines. Where
each project keeps its pods is a fact of its API types (cited per test); anything else shaped
like a pod spec (``containers`` as a list of mappings with an image) is found by its shape."""

from __future__ import annotations

from collections.abc import Callable

from kscan.results.scan_result import ScanResult

Scan = Callable[..., ScanResult]


def hits(result: ScanResult, rule: str) -> list[tuple[int, str | None]]:
    assert not result.errors, result.errors
    return sorted((f.span.line, f.container) for f in result.findings if f.rule.name == rule)


def messages(result: ScanResult, rule: str) -> list[str]:
    return [f.message for f in result.findings if f.rule.name == rule]


ARGO_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ci, namespace: ci}
spec:
  entrypoint: main
  hostNetwork: true
  securityContext: {runAsNonRoot: true}
  templates:
    - name: build
      container:
        image: golang:1.22
        securityContext: {privileged: true}
    - name: test
      securityContext: {fsGroup: 1000}
      script:
        image: python:3.12
        source: print("hi")
      initContainers:
        - {name: fetch, image: git:2, securityContext: {capabilities: {add: [SYS_ADMIN]}}}
      sidecars:
        - {name: db, image: postgres:16, securityContext: {privileged: true}}
    - name: set
      containerSet:
        containers:
          - {name: a, image: a:1, securityContext: {privileged: true}}
    - name: flow
      steps:
        - - name: inner
            inline:
              container: {image: busybox:1.36, securityContext: {privileged: true}}
"""


def test_argo_templates_are_pods_with_all_their_containers(scan_text: Scan) -> None:
    """workflow_types.go: Template.container and .script (ScriptTemplate inlines Container),
    initContainers and sidecars ([]UserContainer), containerSet.containers ([]ContainerNode),
    and WorkflowStep.inline (a Template) all run as containers of the template's pod."""
    result = scan_text(ARGO_WORKFLOW)
    assert hits(result, "privileged-container") == [
        (12, "main"),
        (21, "db"),
        (25, "a"),
        (30, "main"),
    ]
    assert hits(result, "cap-sys-admin") == [(19, "fetch")]
    assert any("(template 'build')" in m for m in messages(result, "privileged-container"))


def test_argo_workflow_fields_apply_to_every_template_pod(scan_text: Scan) -> None:
    """WorkflowSpec.hostNetwork and .securityContext apply to the pods of templates that do not
    set their own; a template's securityContext replaces the workflow's (test sets only fsGroup,
    so its containers are not runAsNonRoot)."""
    result = scan_text(ARGO_WORKFLOW)
    assert hits(result, "host-network") == [(6, None)]  # reported once, where it is written
    non_root = hits(result, "run-as-non-root")
    assert [c for _line, c in non_root] == ["main", "fetch", "db"]  # the test template's pod
    assert [line for line, _c in non_root] == [15, 19, 21]


def test_a_cron_workflow_keeps_its_workflow_in_workflow_spec(scan_text: Scan) -> None:
    """cron_workflow_types.go: CronWorkflowSpec.workflowSpec is a WorkflowSpec."""
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly, namespace: ci}
spec:
  schedule: "0 2 * * *"
  workflowSpec:
    hostNetwork: true
    templates:
      - name: job
        container: {image: busybox:1.36, securityContext: {privileged: true}}
"""
    result = scan_text(text)
    assert hits(result, "privileged-container") == [(10, "main")]
    assert hits(result, "host-network") == [(7, None)]


def test_keda_scaled_job_and_kubeflow_replica_specs(scan_text: Scan) -> None:
    """keda.sh ScaledJob.spec.jobTargetRef is a batch/v1 JobSpec; kubeflow.org TFJob keeps a
    PodTemplateSpec per replica type in spec.tfReplicaSpecs (a map)."""
    text = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: {name: worker, namespace: jobs}
spec:
  jobTargetRef:
    template:
      spec:
        containers: [{name: w, image: w:1, securityContext: {privileged: true}}]
---
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: train, namespace: ml}
spec:
  tfReplicaSpecs:
    Chief:
      template:
        spec:
          containers: [{name: tf, image: tf:2, securityContext: {privileged: true}}]
    Worker:
      template:
        spec:
          hostPID: true
          containers: [{name: tf, image: tf:2}]
"""
    result = scan_text(text)
    assert hits(result, "privileged-container") == [(8, "w"), (18, "tf")]
    assert hits(result, "host-pid") == [(22, None)]
    assert any("spec.tfReplicaSpecs.Worker" in m for m in messages(result, "host-pid"))


def test_openshift_knative_and_rollouts(scan_text: Scan) -> None:
    """apps.openshift.io DeploymentConfig and argoproj.io Rollout keep spec.template; a Knative
    Service (serving.knative.dev, not the core Service) keeps a RevisionTemplateSpec there."""
    text = """\
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata: {name: dc, namespace: app}
spec:
  template:
    spec:
      containers: [{name: dc, image: dc:1, securityContext: {privileged: true}}]
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello, namespace: app}
spec:
  template:
    spec:
      containerConcurrency: 10
      containers: [{name: kn, image: kn:1, securityContext: {privileged: true}}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: ro, namespace: app}
spec:
  template:
    spec:
      containers: [{name: ro, image: ro:1, securityContext: {privileged: true}}]
"""
    result = scan_text(text)
    assert hits(result, "privileged-container") == [(7, "dc"), (16, "kn"), (24, "ro")]
    assert hits(result, "unknown-field") == []  # containerConcurrency is a RevisionSpec field


def test_anything_shaped_like_a_pod_spec_is_checked(scan_text: Scan) -> None:
    text = """\
apiVersion: example.com/v1
kind: Runner
metadata: {name: r, namespace: ci}
spec:
  pool:
    podSpec:
      hostNetwork: true
      containers:
        - name: runner
          image: runner:1
          securityContext: {privileged: true}
"""
    result = scan_text(text)
    assert hits(result, "privileged-container") == [(11, "runner")]
    assert hits(result, "host-network") == [(7, None)]
    # seen in part, such a pod is reported for what it sets, not for what it lacks (whatever
    # runs it may complete it), and it is left out of cross-object rules
    assert hits(result, "run-as-non-root") == [] and hits(result, "capabilities-drop-all") == []
    assert hits(result, "default-deny-network-policy") == []


def test_policy_patterns_are_not_pods(scan_text: Scan) -> None:
    """A Kyverno policy's pattern is shaped like a pod spec but runs nothing."""
    text = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: no-latest}
spec:
  rules:
    - name: tag
      validate:
        pattern:
          spec:
            containers:
              - image: "!*:latest"
"""
    result = scan_text(text)
    assert [f.rule.name for f in result.findings] == []


def test_a_volcano_job_is_not_a_batch_job(scan_text: Scan) -> None:
    """batch.volcano.sh Job keeps its pods in spec.tasks[].template, not spec.template."""
    text = """\
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: vj, namespace: hpc}
spec:
  tasks:
    - name: t
      template:
        spec:
          containers: [{name: mpi, image: mpi:1, securityContext: {privileged: true}}]
"""
    assert hits(scan_text(text), "privileged-container") == [(9, "mpi")]


def test_argo_template_defaults_merge_into_every_template(scan_text: Scan) -> None:
    """Argo merges spec.templateDefaults into each template, key by key (SetTemplateDefault, a
    strategic merge): a template's own securityContext keeps the defaults' other fields, and a
    default container field applies to every template's container, reported where written."""
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf, namespace: ci}
spec:
  templateDefaults:
    securityContext: {runAsUser: 0}
    container:
      securityContext: {privileged: true}
  templates:
    - name: a
      securityContext: {runAsNonRoot: true}
      container: {image: a:1}
    - name: b
      container: {image: b:1, securityContext: {privileged: false}}
"""
    result = scan_text(text)
    assert hits(result, "privileged-container") == [(8, "main")]  # template a inherits it
    assert hits(result, "run-as-non-root") == [(6, None), (14, "main")]
    assert any("(template 'a')" in m for m in messages(result, "privileged-container"))


def test_operator_resources_and_partial_containers(scan_text: Scan) -> None:
    """Prometheus Operator merges spec.containers (image-less, by name) into the pods it runs,
    and spec.hostNetwork applies to them; one image-less container does not hide the others,
    and a pod template nested in a pod-shaped mapping is found too."""
    text = """\
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec:
  hostNetwork: true
  containers:
    - {name: prometheus, securityContext: {privileged: true}}
---
apiVersion: example.com/v1
kind: BatchRunner
metadata: {name: r, namespace: shop}
spec:
  containers:
    - {name: main, image: main:1}
    - {name: sidecar, imageFrom: registry}
  workers:
    template:
      spec:
        containers: [{name: worker, image: w:1, securityContext: {privileged: true}}]
"""
    result = scan_text(text)
    assert hits(result, "host-network") == [(5, None)]
    assert hits(result, "privileged-container") == [(7, "prometheus"), (19, "worker")]


def test_argo_pod_spec_patches_and_resource_manifests(scan_text: Scan) -> None:
    """Argo applies the workflow's, then the template's podSpecPatch (a strategic merge patch,
    written as a YAML or JSON string) to each pod, containers merged by name; a resource
    template's manifest is an object Argo creates. Findings point at the strings."""
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf, namespace: ci}
spec:
  podSpecPatch: '{"hostPID": true}'
  templates:
    - name: main
      podSpecPatch: |
        containers:
          - name: main
            securityContext: {privileged: true}
      container: {image: alpine:3.19, securityContext: {privileged: false}}
    - name: res
      resource:
        action: create
        manifest: |
          apiVersion: v1
          kind: Pod
          metadata: {name: made, namespace: ci}
          spec:
            containers: [{name: x, image: busybox:1.36, securityContext: {privileged: true}}]
"""
    result = scan_text(text)
    assert hits(result, "host-pid") == [(5, None)]
    assert hits(result, "privileged-container") == [(8, "main"), (16, "x")]
    assert any("Pod 'ci/made'" in m for m in messages(result, "privileged-container"))


def test_a_pod_spec_patch_that_does_not_parse_is_an_error(scan_text: Scan) -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf, namespace: ci}
spec:
  templates:
    - name: main
      podSpecPatch: '{"hostPID": tru'
      container: {image: alpine:3.19}
"""
    result = scan_text(text)
    assert [(e.line, "pod spec patch" in e.message) for e in result.errors] == [(7, True)]
