"""Every check template, by name: importing a template module registers its templates."""

from __future__ import annotations

from kscan.checks import (
    capabilities,
    control_plane,
    document,
    fields,
    host,
    identity,
    images,
    namespaces,
    network,
    rbac,
    schema,
    secrets,
    suppressions,
)
from kscan.checks.base import TEMPLATES, Template

MODULES = (
    capabilities,
    control_plane,
    document,
    fields,
    host,
    identity,
    images,
    namespaces,
    network,
    rbac,
    schema,
    secrets,
    suppressions,
)
"""The template modules, in the order of the template reference."""


def load_templates() -> dict[str, Template]:
    """Every registered template by name."""
    return TEMPLATES
