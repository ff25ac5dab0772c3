"""Container images: where they come from."""

from __future__ import annotations

from collections.abc import Iterator

from kscan.checks.base import PodParams, Violation, template
from kscan.model import KubeObject
from kscan.support.disclosure import shown


class RegistryParams(PodParams):
    """``allowed``: image name prefixes (``registry.example.com/``, ``docker.io/library/``);
    empty means no restriction, so the rule reports nothing until a team lists its registries."""

    allowed: tuple[str, ...] = ()
    """Allowed prefixes of full image names (``docker.io/library/`` for ``nginx``); empty: no
    restriction."""


def full_name(image: str) -> str:
    """``nginx:1`` and ``docker.io/nginx:1`` -> ``docker.io/library/nginx:1``; ``bitnami/redis``
    -> ``docker.io/bitnami/redis``; ``ghcr.io/a/b`` stays as it is."""
    first, _, rest = image.partition("/")
    if not rest:
        return f"docker.io/library/{image}"
    if first in ("docker.io", "index.docker.io"):
        return full_name(rest) if "/" not in rest else f"docker.io/{rest}"
    if "." in first or ":" in first or first == "localhost":
        return image
    return f"docker.io/{image}"


def under_prefix(name: str, prefix: str) -> bool:
    """Whether the full image ``name`` is under the trusted ``prefix``, at a boundary of the
    reference: ``registry.example.com`` (or ``ghcr.io/org``) trusts ``registry.example.com/app``
    and ``registry.example.com:5000/app``, not ``registry.example.com.evil.io/app`` (another
    host, anyone's) nor ``ghcr.io/org-evil/app``; a prefix ending in ``/`` is a boundary
    itself."""
    if not name.startswith(prefix):
        return False
    return prefix.endswith("/") or name[len(prefix) : len(prefix) + 1] in ("", "/", ":", "@")


@template("image-registry", scope="object", params=RegistryParams)
def image_registry(params: RegistryParams, obj: KubeObject) -> Iterator[Violation]:
    """Every container image must come from one of the allowed registries (or repositories)."""
    if not params.allowed:
        return
    for _pod, ref in obj.containers():
        image = ref.data.get("image")
        if not isinstance(image, str) or not image:
            continue
        name = full_name(image)
        if not any(under_prefix(name, prefix) for prefix in params.allowed):
            message = (
                f"{ref.subject(obj.display)} uses image {shown(image)}, which is not "
                f"from an allowed registry ({', '.join(params.allowed)})."
            )
            yield Violation((*ref.pointer, "image"), message, obj, ref.name)
