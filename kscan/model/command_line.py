"""What a container runs: its program and its command-line flags."""

from __future__ import annotations

import posixpath
from typing import Any

from kscan.input.documents import Pointer

BOOLEAN_FLAGS = frozenset(
    {
        # kube-apiserver
        "--allow-privileged",
        "--anonymous-auth",
        "--contention-profiling",
        "--enable-aggregator-routing",
        "--enable-bootstrap-token-auth",
        "--enable-garbage-collector",
        "--enable-logs-handler",
        "--enable-priority-and-fairness",
        "--kubelet-https",
        "--profiling",
        "--service-account-extend-token-expiration",
        "--service-account-lookup",
        # kube-controller-manager and kube-scheduler
        "--allocate-node-cidrs",
        "--configure-cloud-routes",
        "--enable-dynamic-provisioning",
        "--enable-hostpath-provisioner",
        "--enable-leader-migration",
        "--enable-taint-manager",
        "--leader-elect",
        "--use-service-account-credentials",
        # kubelet
        "--cgroups-per-qos",
        "--enable-controller-attach-detach",
        "--enable-debugging-handlers",
        "--enable-server",
        "--exit-on-lock-contention",
        "--fail-swap-on",
        "--kernel-memcg-notification",
        "--keep-terminated-pod-volumes",
        "--make-iptables-util-chains",
        "--protect-kernel-defaults",
        "--register-node",
        "--register-schedulable",
        "--rotate-certificates",
        "--rotate-server-certificates",
        "--serialize-image-pulls",
        # etcd
        "--auto-tls",
        "--client-cert-auth",
        "--debug",
        "--enable-grpc-gateway",
        "--enable-pprof",
        "--enable-v2",
        "--force-new-cluster",
        "--peer-auto-tls",
        "--peer-client-cert-auth",
        "--pre-vote",
        "--strict-reconfig-check",
        # every component: klog and component-base
        "--add-dir-header",
        "--alsologtostderr",
        "--help",
        "--logtostderr",
        "--one-output",
        "--skip-headers",
        "--skip-log-headers",
        "--version",
    }
)
"""Boolean flags of the components kscan checks (pflag ``BoolVar``, Go ``flag.Bool``, and
component-base's ``--version``, whose ``NoOptDefVal`` is ``true``). A bare one is ``true`` and
never takes the next word as its value."""


VALUE_FLAGS = frozenset(
    {
        # kube-apiserver
        "--advertise-address",
        "--audit-log-maxage",
        "--audit-log-maxbackup",
        "--audit-log-maxsize",
        "--audit-log-path",
        "--audit-policy-file",
        "--authorization-mode",
        "--basic-auth-file",
        "--disable-admission-plugins",
        "--enable-admission-plugins",
        "--encryption-provider-config",
        "--etcd-cafile",
        "--etcd-certfile",
        "--etcd-keyfile",
        "--etcd-servers",
        "--insecure-bind-address",
        "--insecure-port",
        "--kubelet-certificate-authority",
        "--kubelet-client-certificate",
        "--kubelet-client-key",
        "--secure-port",
        "--service-account-issuer",
        "--service-account-key-file",
        "--service-account-signing-key-file",
        "--token-auth-file",
        # kube-controller-manager and kube-scheduler
        "--bind-address",
        "--kubeconfig",
        "--root-ca-file",
        "--service-account-private-key-file",
        "--terminated-pod-gc-threshold",
        # kubelet
        "--config",
        "--hostname-override",
        "--read-only-port",
        "--streaming-connection-idle-timeout",
        # etcd
        "--cert-file",
        "--key-file",
        "--peer-cert-file",
        "--peer-key-file",
        "--trusted-ca-file",
        "--peer-trusted-ca-file",
        # several components
        "--client-ca-file",
        "--feature-gates",
        "--tls-cert-file",
        "--tls-cipher-suites",
        "--tls-min-version",
        "--tls-private-key-file",
        "--v",
    }
)
"""Flags of these components that take a value (strings, numbers, durations, lists): a bare
one always takes the next word, as pflag's ``parseLongArg`` does for a flag without
``NoOptDefVal``, and Go's ``flag`` (etcd) for a flag that is not a boolean. Every flag a
rule checks is in this table or in ``BOOLEAN_FLAGS`` (tests/test_control_plane.py)."""


def program(container: dict[str, Any]) -> str | None:
    """The program a container runs: the base name of ``command[0]`` (the subcommand for
    hyperkube), or, with no command, the image's name (``registry/kube-apiserver:v1`` ->
    ``kube-apiserver``)."""
    command = container.get("command")
    if isinstance(command, list) and command and isinstance(command[0], str):
        words = [posixpath.basename(str(word)) for word in command[:2]]
        return words[1] if words[0] == "hyperkube" and len(words) > 1 else words[0]
    image = container.get("image")
    if isinstance(image, str) and image:
        return image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    return None


def parse_flags(container: dict[str, Any]) -> dict[str, tuple[Pointer, str]]:
    """The flags of command and args, as spf13/pflag (and Go's ``flag``, for etcd) read them;
    each flag maps to where its last occurrence is written and its value.

    ``--flag=value`` is ``value`` (an empty one too). A bare boolean flag (``BOOLEAN_FLAGS``)
    is ``true``, and the next word is not its value (``--anonymous-auth false`` is ``true``,
    followed by an argument the component refuses). A bare flag that takes a value
    (``VALUE_FLAGS``) takes the next word, whatever it is: pflag's ``parseLongArg`` consumes
    it even when it starts with ``-``, so ``--tls-cert-file --tls-private-key-file=k`` sets no
    private key. A bare flag kscan knows neither way takes the next word too, but a next word
    that starts with ``--`` is also read as a flag of its own, in case the bare one is a
    boolean: both readings are checked. A bare flag at the end is ``true``; ``--`` ends the
    flags. The words are ``command`` followed by ``args``, the argument list the kubelet
    starts."""
    words: list[tuple[Pointer, str]] = []  # the kubelet runs command followed by args
    for key in ("command", "args"):
        tokens = container.get(key)
        if isinstance(tokens, list):
            words += [((key, index), str(token)) for index, token in enumerate(tokens)]
    flags: dict[str, tuple[Pointer, str]] = {}
    consumed = False
    for index, (where, word) in enumerate(words):
        if consumed:
            consumed = False
            continue
        if word == "--":
            break
        if not word.startswith("--"):
            continue
        name, has_value, value = word.partition("=")
        if not has_value:
            if name in BOOLEAN_FLAGS or index + 1 == len(words):
                value = "true"
            else:
                value = words[index + 1][1]
                consumed = name in VALUE_FLAGS or not value.startswith("--")
        flags[name] = (where, value)
    return flags
