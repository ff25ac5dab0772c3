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
        "--c": (("command", 4), "true"),
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
