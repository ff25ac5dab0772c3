"""Control-plane flags: both spellings, Go booleans, and --config files kscan cannot read."""

from __future__ import annotations

from collections.abc import Callable

from kscan.model.command_line import parse_flags, program
from kscan.results.scan_result import ScanResult

Scan = Callable[..., ScanResult]


def static_pod(component: str, *flags: str) -> str:
    lines = "".join(f"    - {flag}\n" for flag in flags)
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {component}, namespace: kube-system}}\n"
        f"spec:\n  containers:\n  - name: {component}\n"
        f"    image: registry.k8s.io/{component}:v1.31.0\n"
        f"    command:\n    - {component}\n{lines}"
    )


def rule_hits(result: ScanResult, name: str) -> int:
    assert not result.errors, result.errors
    return sum(f.rule.name == name for f in result.findings)


def test_flag_forms() -> None:
    container = {
        "command": ["/usr/local/bin/kube-apiserver", "--a=1", "--b", "2", "--c"],
        "args": ["--d"],
    }
    assert program(container) == "kube-apiserver"
    assert parse_flags(container) == {
        "--a": (("command", 1), "1"),
        "--b": (("command", 2), "2"),
        "--c": (("command", 4), "--d"),  # a flag of unknown type: both readings
        "--d": (("args", 0), "true"),
    }
    assert program({"command": ["hyperkube", "kube-scheduler"]}) == "kube-scheduler"
    assert program({"image": "registry.k8s.io/etcd:3.5.15-0", "args": []}) == "etcd"


def test_go_booleans(scan_text: Scan) -> None:
    assert (
        rule_hits(scan_text(static_pod("kube-apiserver", "--profiling=0")), "apiserver-profiling")
        == 0
    )
    assert (
        rule_hits(scan_text(static_pod("kube-apiserver", "--profiling=T")), "apiserver-profiling")
        == 1
    )
    gates = "--feature-gates=RotateKubeletServerCertificate=False"
    result = scan_text(static_pod("kube-controller-manager", gates))
    assert rule_hits(result, "controller-manager-rotate-kubelet-certificate") == 1


def test_kubelet_defaults_do_not_apply_with_a_config_file(scan_text: Scan) -> None:
    assert rule_hits(scan_text(static_pod("kubelet")), "kubelet-anonymous-auth") == 1
    result = scan_text(static_pod("kubelet", "--config=/var/lib/kubelet/config.yaml"))
    assert rule_hits(result, "kubelet-anonymous-auth") == 0


def test_flags_are_read_as_pflag_reads_them() -> None:
    """spf13/pflag ``parseLongArg``: ``--flag=arg`` is ``arg`` (empty too); a flag with a
    ``NoOptDefVal`` (booleans: ``true``) takes no next word; any other flag takes the next
    argument whatever it is (``value = a[0]; a = a[1:]``), even one that starts with ``-``.
    Go's ``flag`` (etcd) does the same for non-boolean flags. ``--`` ends the flags, and the
    kubelet runs ``command`` followed by ``args``."""
    container = {
        "command": ["kube-apiserver", "--tls-cert-file", "--tls-private-key-file=k"],
        "args": ["--anonymous-auth", "false", "--audit-log-path=", "--profiling", "--v", "-", "--"],
    }
    assert parse_flags(container) == {
        "--tls-cert-file": (("command", 1), "--tls-private-key-file=k"),
        "--anonymous-auth": (("args", 0), "true"),
        "--audit-log-path": (("args", 2), ""),
        "--profiling": (("args", 3), "true"),
        "--v": (("args", 4), "-"),
    }
    split = {"command": ["kube-apiserver", "--audit-log-path"], "args": ["--profiling=false"]}
    assert parse_flags(split) == {"--audit-log-path": (("command", 1), "--profiling=false")}
    ended = {"command": ["etcd", "--", "--auto-tls=true"]}
    assert parse_flags(ended) == {}


def test_every_flag_a_rule_checks_has_a_known_type() -> None:
    """A bare flag is read by its type (booleans take no next word), so every flag a rule
    checks must be listed as a boolean or as a flag that takes a value, and not as both."""
    from kscan.model.command_line import BOOLEAN_FLAGS, VALUE_FLAGS
    from kscan.rules.registry import load_rules

    assert not BOOLEAN_FLAGS & VALUE_FLAGS
    checked = {
        rule.params.flag  # type: ignore[attr-defined]
        for rule in load_rules()
        if rule.template.name == "component-flag"
    }
    assert checked <= BOOLEAN_FLAGS | VALUE_FLAGS, sorted(checked - BOOLEAN_FLAGS - VALUE_FLAGS)
