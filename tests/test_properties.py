"""Property-based tests (hypothesis) over generated and mutated manifests.

- the scanner never raises, and never records an internal error;
- every finding lies inside its file, and a finding at an existing field points at that field;
- a file scanned alone or together with others gets the same findings, cross-object rules aside.

CI runs the ``ci`` profile; ``KSCAN_HYPOTHESIS_PROFILE=long pytest tests/test_properties.py``
runs many more examples by hand.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kscan.input.documents import parse
from kscan.input.sources import Source
from kscan.results.findings import Finding
from kscan.results.scan_result import ScanResult
from kscan.rules.registry import load_rules
from kscan.scan.engine import scan

settings.register_profile(
    "ci", max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("KSCAN_HYPOTHESIS_PROFILE", "ci"))

RULES = load_rules()  # every rule, including those off by default
CROSS_OBJECT = {
    rule.id for rule in RULES if rule.template.scope in ("namespace", "inventory", "suppressions")
}

# ---------------------------------------------------------------------------------------------
# Strategies: manifests that are mostly well formed, with wrong types and odd values mixed in

names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
anything = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def sometimes_wrong(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, sometimes anything at all (wrong types included)."""
    return st.one_of(valid, valid, valid, anything)


capabilities = st.lists(
    st.sampled_from(["ALL", "all", "NET_RAW", "SYS_ADMIN", "NET_BIND_SERVICE", "CAP_SYS_PTRACE"]),
    max_size=3,
)
security_context = st.fixed_dictionaries(
    {},
    optional={
        "privileged": sometimes_wrong(st.booleans()),
        "allowPrivilegeEscalation": sometimes_wrong(st.booleans()),
        "runAsNonRoot": sometimes_wrong(st.booleans()),
        "runAsUser": sometimes_wrong(st.integers(0, 70000)),
        "runAsGroup": sometimes_wrong(st.integers(0, 70000)),
        "readOnlyRootFilesystem": sometimes_wrong(st.booleans()),
        "procMount": sometimes_wrong(st.sampled_from(["Default", "Unmasked"])),
        "seccompProfile": sometimes_wrong(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["RuntimeDefault", "Unconfined", "Localhost"])}
            )
        ),
        "capabilities": sometimes_wrong(
            st.fixed_dictionaries({}, optional={"add": capabilities, "drop": capabilities})
        ),
    },
)
container = st.fixed_dictionaries(
    {
        "name": names,
        "image": st.sampled_from(["nginx", "nginx:latest", "r.io/a@sha256:" + "a" * 64]),
    },
    optional={
        "securityContext": sometimes_wrong(security_context),
        "ports": sometimes_wrong(
            st.lists(
                st.fixed_dictionaries(
                    {"containerPort": st.integers(1, 65535)},
                    optional={"hostPort": st.integers(0, 65535)},
                ),
                max_size=2,
            )
        ),
        "resources": sometimes_wrong(
            st.fixed_dictionaries(
                {}, optional={"limits": st.fixed_dictionaries({}, optional={"memory": names})}
            )
        ),
        "env": sometimes_wrong(
            st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["PASSWORD", "API_TOKEN", "MODE"]), "value": names}
                ),
                max_size=2,
            )
        ),
    },
)
pod_spec = st.fixed_dictionaries(
    {"containers": sometimes_wrong(st.lists(container, min_size=1, max_size=2))},
    optional={
        "initContainers": st.lists(container, max_size=1),
        "ephemeralContainers": st.lists(container, max_size=1),
        "securityContext": sometimes_wrong(security_context),
        "hostNetwork": sometimes_wrong(st.booleans()),
        "hostPID": sometimes_wrong(st.booleans()),
        "automountServiceAccountToken": sometimes_wrong(st.booleans()),
        "volumes": sometimes_wrong(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "name": names,
                        "hostPath": st.fixed_dictionaries(
                            {"path": st.sampled_from(["/", "/var/run/docker.sock", "/data"])}
                        ),
                    }
                ),
                max_size=2,
            )
        ),
    },
)
namespaces = st.sampled_from([None, "default", "shop", "kube-system"])


def metadata(kind_name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda name, namespace: (
            {"name": f"{kind_name.lower()}-{name}"}
            | ({"namespace": namespace} if namespace else {})
        ),
        names,
        namespaces,
    )


def workload(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    def wrap(meta: dict[str, Any], spec: Any) -> dict[str, Any]:
        template = {"metadata": {"labels": {"app": meta["name"]}}, "spec": spec}
        body: Any = {"template": template}
        if kind == "CronJob":
            body = {"schedule": "* * * * *", "jobTemplate": {"spec": body}}
        api = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
        return {
            "apiVersion": api,
            "kind": kind,
            "metadata": meta,
            "spec": spec if kind == "Pod" else body,
        }

    return st.builds(wrap, metadata(kind), pod_spec)


network_policy = st.builds(
    lambda meta, selector, types, rules: {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {"podSelector": selector, "policyTypes": types, **rules},
    },
    metadata("NetworkPolicy"),
    sometimes_wrong(st.sampled_from([{}, {"matchLabels": {"app": "x"}}])),
    sometimes_wrong(st.lists(st.sampled_from(["Ingress", "Egress"]), unique=True)),
    st.fixed_dictionaries({}, optional={"ingress": st.just([{}]), "egress": st.just([])}),
)
role = st.builds(
    lambda meta, kind, rules: {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "rules": rules,
    },
    metadata("Role"),
    st.sampled_from(["Role", "ClusterRole"]),
    sometimes_wrong(
        st.lists(
            st.fixed_dictionaries(
                {
                    "apiGroups": st.just([""]),
                    "resources": st.lists(
                        st.sampled_from(["*", "pods", "secrets", "pods/exec"]),
                        min_size=1,
                        max_size=2,
                    ),
                    "verbs": st.lists(
                        st.sampled_from(["*", "get", "create", "escalate"]), min_size=1, max_size=2
                    ),
                }
            ),
            max_size=2,
        )
    ),
)
other = st.builds(
    lambda kind, meta, extra: {"apiVersion": "v1", "kind": kind, "metadata": meta, **extra},
    st.sampled_from(["Namespace", "ConfigMap", "Secret", "Service", "Widget"]),
    metadata("Other"),
    st.dictionaries(st.sampled_from(["data", "spec", "stringData", "type"]), anything, max_size=2),
)
manifest = st.one_of(
    *(
        workload(kind)
        for kind in ("Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
    ),
    network_policy,
    role,
    other,
)
manifests = st.lists(manifest, min_size=1, max_size=4)


def render(documents: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A rendered manifest with a few byte-level edits: YAML that may be broken in any way."""
    data = bytearray(render(draw(manifests)).encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "delete", "truncate", "duplicate"]))
        if edit == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b":",
                        b"- ",
                        b"{",
                        b"[",
                        b"&a ",
                        b"*a",
                        b"!!",
                        b"\t",
                        b"\n  ",
                        b"\xff",
                        b"'",
                        b"<<: ",
                    ]
                )
            )
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        elif edit == "truncate":
            del data[at:]
        else:
            line_start = data.rfind(b"\n", 0, at) + 1
            line_end = data.find(b"\n", at)
            line_end = len(data) if line_end < 0 else line_end + 1
            data[line_start:line_start] = data[line_start:line_end]
    return bytes(data)


# ---------------------------------------------------------------------------------------------
# Helpers


def scan_files(folder: Path, contents: dict[str, bytes]) -> ScanResult:
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return scan([str(folder / name) for name in contents], RULES)


def assert_no_internal_error(result: ScanResult) -> None:
    problems = [str(e) for e in result.errors if "internal error" in e.message]
    assert not problems, problems


def assert_inside(finding: Finding, lines: list[str]) -> None:
    span = finding.span
    assert 1 <= span.line <= len(lines), (finding.rule.name, span, len(lines))
    assert 1 <= span.column <= len(lines[span.line - 1]) + 1, (finding.rule.name, span)


def per_file(result: ScanResult, path: str) -> Counter[tuple[Any, ...]]:
    return Counter(
        (f.rule.id, f.span, f.pointer, f.message, f.container)
        for f in result.findings
        if f.path == path and f.rule.id not in CROSS_OBJECT
    )


# ---------------------------------------------------------------------------------------------
# Properties


@given(data=mutated())
def test_mutated_manifests_never_break_the_scanner(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        result = scan_files(Path(folder), {"m.yaml": data})
    assert_no_internal_error(result)
    lines = data.decode("utf-8", "replace").split("\n")
    for finding in result.findings:
        assert_inside(finding, lines)


@given(documents=manifests)
def test_findings_point_at_the_field_they_name(documents: list[dict[str, Any]]) -> None:
    text = render(documents)
    lines = text.split("\n")
    with tempfile.TemporaryDirectory() as folder:
        result = scan_files(Path(folder), {"m.yaml": text.encode()})
    assert_no_internal_error(result)
    assert result.errors == [] or all(e.line for e in result.errors)
    parsed, _ = parse(Source("m.yaml", text, len(text), False))
    for finding in result.findings:
        assert_inside(finding, lines)
        document = next(d for d in parsed if d.span.line <= finding.span.line <= d.span.end_line)
        span, exact = document.locate(finding.pointer)
        key = finding.pointer[-1] if finding.pointer else None
        if exact and isinstance(key, str) and finding.span == span and span.end_line == span.line:
            written = lines[span.line - 1][span.column - 1 : span.end_column - 1]
            keys = _keys_written(written)  # read as a key, as Kubernetes reads keys
            assert keys == [key], (finding.rule.name, finding.pointer, written)


def _keys_written(text: str) -> list[Any]:
    """The key a span holds (``key`` or ``key: value``), resolved as kscan resolves keys (``Y``
    is the key ``"true"``, quotes and escapes undone)."""
    snippet = text if ":" in text and not text.rstrip().endswith(":") else text + ": x"
    parsed, errors = parse(Source("k.yaml", snippet, len(snippet), False))
    if errors or not parsed or not isinstance(parsed[0].data, dict):
        snippet = text + ": x"
        parsed, errors = parse(Source("k.yaml", snippet, len(snippet), False))
    data = parsed[0].data if parsed and not errors else None
    return list(data) if isinstance(data, dict) else [data]


@pytest.mark.slow  # 14 s: CI runs it with the slow tests
@given(first=manifests, others=st.lists(manifests, min_size=1, max_size=3))
def test_a_file_gets_the_same_findings_alone_or_with_others(
    first: list[dict[str, Any]], others: list[list[dict[str, Any]]]
) -> None:
    contents = {"a.yaml": render(first).encode()}
    contents |= {f"o{i}.yaml": render(docs).encode() for i, docs in enumerate(others)}
    with tempfile.TemporaryDirectory() as folder:
        alone = scan_files(Path(folder), {"a.yaml": contents["a.yaml"]})
        together = scan_files(Path(folder), contents)
        path = str(Path(folder) / "a.yaml")
    assert_no_internal_error(together)
    assert per_file(alone, path) == per_file(together, path)
