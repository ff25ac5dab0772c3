"""Secrets never leave the manifest: canary secrets planted in every free-form string field of
generated manifests (env values, args, commands, annotations, ConfigMap and Secret data,
scripts, lines that fail to parse) appear in no output of any format, on stderr, or in a
baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kscan.cli import cli
from kscan.report import FORMATS
from kscan.support.disclosure import quotable, shown

CANARY = "CANARY"
_SECRET_SHAPES = (
    "{c}",  # token-shaped: only the field it is in keeps it out
    "AWS_SECRET_ACCESS_KEY={c}",
    "postgres://admin:{c}@{{{{ .Values.db.host }}}}",
    "--password={c}",
    "sudo env TOKEN={c} run",
    "Bearer {c}",
    "eyJhbGciOiJIUzI1NiJ9.eyJ{c}.{c}",
    "-----BEGIN PRIVATE KEY-----\\n{c}\\n-----END PRIVATE KEY-----",
    "{c}\u001b[31m\u0007",
)


@st.composite
def canaries(draw: st.DrawFn) -> str:
    """A secret-looking value around a unique canary token."""
    token = CANARY + draw(st.text("0123456789abcdef", min_size=8, max_size=8))
    return draw(st.sampled_from(_SECRET_SHAPES)).format(c=token)


_BROKEN = (
    "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {q[1]}: [\n",
    "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: {c[2]}\n\tb: {c[3]}\n",
    "apiVersion: v1\nkind: ConfigMap\ndata:\n  url: {c[4]} {{{{ .Values.x }}}}\n",
    'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "{c[5]}\n',
    "apiVersion: v1\nkind: Pod\nspec:\n  containers: {q[6]}\n",
    "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  hostPID: {q[7]}\n",
)
"""Documents that fail to parse or to validate, with canaries in the failing lines."""


def _quoted(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


@st.composite
def manifests(draw: st.DrawFn) -> str:
    """A file of several documents with canaries in every free-form field."""
    values = [draw(canaries()) for _ in range(12)]
    kind = draw(st.sampled_from(["Pod", "Deployment", "CronJob"]))
    return manifest(kind, values, draw(st.integers(0, len(_BROKEN) - 1)))


def manifest(kind: str, c: list[str], broken: int) -> str:
    """A workload of ``kind``, a ConfigMap, a Secret and a broken document, with the values
    ``c`` in their free-form fields."""
    q = [_quoted(value) for value in c]
    containers = (
        "- name: app\n"
        "  image: nginx:1.27\n"
        f"  command: [sh, -c, {q[0]}]\n"
        f"  args: [{q[1]}, --token, {q[2]}]\n"
        "  securityContext: {privileged: true}\n"
        f"  env:\n  - {{name: DB_PASSWORD, value: {q[3]}}}\n"
        f"  - {{name: GIT_SYNC_GIT, value: {q[4]}}}\n"
        f"  - {{name: OTHER, value: {q[5]}}}\n"
        f"  livenessProbe: {{exec: {{command: [{q[6]}]}}}}\n"
    )
    pod_spec = f"hostNetwork: true\ncontainers:\n{containers}"

    def indented(text: str, spaces: int) -> str:
        return "".join(" " * spaces + line + "\n" for line in text.splitlines())

    if kind == "Pod":
        body = f"spec:\n{indented(pod_spec, 2)}"
    elif kind == "Deployment":
        body = f"spec:\n  template:\n    spec:\n{indented(pod_spec, 6)}"
    else:
        body = (
            "spec:\n  schedule: '*/5 * * * *'\n  jobTemplate:\n    spec:\n"
            f"      template:\n        spec:\n{indented(pod_spec, 10)}"
        )
    api = {"Pod": "v1", "Deployment": "apps/v1", "CronJob": "batch/v1"}[kind]
    workload = (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: web\n  namespace: shop\n"
        f"  annotations: {{note: {q[7]}, kscan.io/ignore: {q[8]}}}\n{body}"
    )
    data = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n"
        f"data: {{password: {q[9]}, config.yaml: {q[10]}}}\n"
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: shop}\n"
        f"stringData: {{password: {q[11]}}}\n"
        f"data: {{token: {q[0]}}}\n"
    )
    return f"{workload}\n---\n{data}---\n{_BROKEN[broken].format(c=c, q=q)}"


def _outputs(tmp_path: Path, manifest: Path) -> dict[str, str]:
    """Every format's report (stdout and stderr), and a baseline file."""
    runner = CliRunner()
    seen = {}
    for name in FORMATS:
        result = runner.invoke(cli, ["scan", "--enable", "all", "--format", name, str(manifest)])
        assert result.exit_code in (1, 2), result.output
        seen[name] = result.output + result.stderr
    baseline = tmp_path / "baseline.json"
    result = runner.invoke(cli, ["scan", "--write-baseline", str(baseline), str(manifest)])
    seen["baseline"] = baseline.read_text() + result.output + result.stderr
    return seen


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=manifests())
def test_no_canary_secret_reaches_any_output(tmp_path: Path, text: str) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(text, encoding="utf-8")
    for name, output in _outputs(tmp_path, manifest).items():
        assert CANARY not in output, f"{name} output leaks a planted secret"


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "CronJob"])
@pytest.mark.parametrize("broken", range(len(_BROKEN)))
def test_the_planted_manifests_are_reported(tmp_path: Path, kind: str, broken: int) -> None:
    """The property is not vacuous: every document parses as intended (but the broken one),
    and the workload's problems are found."""
    path = tmp_path / "manifest.yaml"
    path.write_text(manifest(kind, [f"{CANARY}{n:08d}" for n in range(12)], broken))
    result = CliRunner().invoke(cli, ["scan", "--format", "json", str(path)])
    report = json.loads(result.stdout)
    rules = {finding["rule_name"] for finding in report["findings"]}
    wanted = {"privileged-container", "host-network", "env-secret-literal"}
    assert wanted | {"configmap-secret-literal"} <= rules, rules
    assert len(report["errors"]) == 1, "the broken document is reported"


def test_sudo_in_command_names_the_field_not_the_command(tmp_path: Path) -> None:
    """The case the issue reported: the whole command line went into every format and twice
    into a baseline (in the message and in the stable field path)."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        '  - {name: c, image: nginx:1, command: [sh, -c, "AWS_SECRET_ACCESS_KEY=CANARYx sudo go"]}'
        "\n"
    )
    baseline = tmp_path / "baseline.json"
    CliRunner().invoke(cli, ["scan", "--write-baseline", str(baseline), str(manifest)])
    entries = json.loads(baseline.read_text())
    text = json.dumps(entries)
    assert "CANARY" not in text
    assert "/spec/containers[c]/command[2]" in text


@pytest.mark.parametrize(
    "value, pointer, expected",
    [
        ("Unconfined", ("spec", "securityContext", "seccompProfile", "type"), "Unconfined"),
        ("nginx:1.27@sha256:abc", ("spec", "containers", 0, "image"), "nginx:1.27@sha256:abc"),
        ("/var/run/docker.sock", ("spec", "volumes", 0, "hostPath", "path"), None),
        (True, (), "true"),
        (22, (), "22"),
        ("hunter2", ("spec", "containers", 0, "env", 0, "value"), None),
        ("hunter2", ("spec", "containers", 0, "args", 1), None),
        ("a b", ("spec", "host"), None),
        ("KEY=value", ("spec", "x"), None),
        ("x" * 256, ("spec", "x"), None),
        ({"a": "b"}, ("spec",), None),
    ],
)
def test_only_values_safe_by_construction_are_quoted(
    value: object, pointer: tuple[object, ...], expected: str | None
) -> None:
    if value == "/var/run/docker.sock":
        expected = value  # a path is a token, in a field that is not free-form
    assert quotable(value, pointer) == (expected is not None)
    said = shown(value, pointer)
    assert said == expected if expected is not None else "not shown" in said


@pytest.mark.parametrize(
    "text",
    [
        # a value written as a key by mistake (flow style: '=' for ':')
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "  - name: app\n    image: nginx\n"
        "    env:\n    - {name: DB_PASSWORD, value=p@ss=CANARYzz92!}\n",
        # keys of data that hold a secret, and a duplicate one
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: x}\n"
        'stringData: {"DB_PASSWORD=p@ss=CANARYzz92!": "1"}\n---\n'
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: x}\n"
        'data:\n  "password: p@ss=CANARYzz93!": "password=hunter2hunter2"\n  "u:CANARYzz94": x\n'
        '  "u:CANARYzz94": y\n',
        # flag values on a control-plane command line: a credential URL, an unknown mode
        "apiVersion: v1\nkind: Pod\n"
        "metadata: {name: kube-apiserver, namespace: kube-system}\nspec:\n"
        "  containers:\n  - name: kube-apiserver\n"
        "    image: registry.k8s.io/kube-apiserver:v1.30.0\n"
        "    command: [kube-apiserver, --audit-log-maxage, CANARYzz91a,\n"
        '      "--anonymous-auth=https://admin:CANARYzz91b@etcd:2379",\n'
        '      "--authorization-mode=AlwaysAllow,CANARYzz91c"]\n',
    ],
    ids=["value-written-as-a-key", "secret-keys", "flag-values"],
)
def test_keys_and_flag_values_that_hold_secrets_are_not_shown(tmp_path: Path, text: str) -> None:
    """Found by a hostile review: keys were quoted as written (in messages, field paths and
    baselines), and a command line's flag values whenever they looked like tokens."""
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text)
    for name, output in _outputs(tmp_path, manifest).items():
        assert CANARY not in output, f"{name} output leaks a planted secret"
    report = CliRunner().invoke(cli, ["scan", "--format", "json", str(manifest)]).stdout
    assert json.loads(report)["findings"], "the manifest is still reported"
