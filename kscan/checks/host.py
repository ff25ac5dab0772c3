"""hostPath volumes: any, writable, or exposing a sensitive path of the node."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from kscan.checks.base import PodParams, Violation, template
from kscan.model import KubeObject, PodView
from kscan.support.disclosure import shown


class HostPathParams(PodParams):
    """``paths``: node paths that must not be reachable (None: any hostPath). A volume reaches a
    path when it mounts the path itself or a directory above it, or, with ``include-children``,
    anything below it. ``writable-only``: only volumes some container mounts read-write."""

    paths: list[str] | None = None
    """Node paths no hostPath volume may reach (unset: any hostPath volume is reported)."""
    include_children: bool = False
    """A volume mounting a directory below one of ``paths`` reaches it too."""
    writable_only: bool = False
    """Only volumes that some container mounts read-write."""

    def names_containers(self) -> bool:
        return False  # a volume is the pod's, whichever containers mount it


def normalize(path: str) -> str:
    """``/var/run/`` and ``//var//run`` are ``/var/run``."""
    return posixpath.normpath("/" + path.strip()).replace("//", "/")


def reaches(mounted: str, sensitive: str, include_children: bool) -> bool:
    """True when mounting ``mounted`` exposes ``sensitive`` (or, optionally, part of it)."""
    if sensitive == "/":
        return mounted == "/"
    if mounted == sensitive or mounted == "/" or sensitive.startswith(mounted + "/"):
        return True
    return include_children and mounted.startswith(sensitive + "/")


@template("host-path", scope="object", params=HostPathParams)
def host_path(params: HostPathParams, obj: KubeObject) -> Iterator[Violation]:
    """hostPath volumes of each pod that match the params, reported at their ``path``."""
    for pod in obj.pods:
        yield from _host_paths(params, obj, pod)


def _host_paths(params: HostPathParams, obj: KubeObject, pod: PodView) -> Iterator[Violation]:
    volumes = pod.data.get("volumes")
    if not isinstance(volumes, list):
        return
    writers: dict[Any, list[str]] | None = None  # worked out at the first hostPath volume
    for index, volume in enumerate(volumes):
        source = volume.get("hostPath") if isinstance(volume, dict) else None
        if not isinstance(source, dict) or not isinstance(source.get("path"), str):
            continue
        if writers is None:
            writers = _writers(pod)
        mounted = normalize(source["path"])
        name = volume.get("name")
        writable_by = writers.get(name, [])
        if params.writable_only and not writable_by:
            continue
        hit = None
        if params.paths is not None:
            hit = next(
                (
                    p
                    for p in params.paths
                    if reaches(mounted, normalize(p), params.include_children)
                ),
                None,
            )
            if hit is None:
                continue
        how = (
            f"writable by {', '.join(repr(c) for c in writable_by)}" if writable_by else "read-only"
        )
        exposes = f", which exposes {hit}" if hit is not None and hit != mounted else ""
        pointer = pod.pointer_of(("volumes", index, "hostPath", "path"))
        own = pointer[: len(pod.pointer)] == pod.pointer
        subject = pod.subject(obj.display) if own else obj.display
        message = f"{subject} mounts host path {shown(mounted)}{exposes} (volume '{name}', {how})."
        yield Violation(pointer, message, obj)


def _writers(pod: PodView) -> dict[Any, list[str]]:
    """Volume name -> the containers that mount it without ``readOnly: true``."""
    writers: dict[Any, list[str]] = {}
    for ref in pod.containers():
        mounts = ref.data.get("volumeMounts")
        for mount in mounts if isinstance(mounts, list) else []:
            if isinstance(mount, dict) and mount.get("readOnly") is not True:
                writers.setdefault(mount.get("name"), []).append(ref.name)
    return writers
