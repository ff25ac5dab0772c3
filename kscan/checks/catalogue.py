"""Every check template, by name: importing a template module registers its templates."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from kscan.checks.base import TEMPLATES, Template

MODULE_NAMES = (
    "capabilities",
    "control_plane",
    "document",
    "fields",
    "host",
    "service_accounts",
    "images",
    "namespaces",
    "network",
    "rbac",
    "schema",
    "secrets",
    "suppressions",
)
"""The template modules of ``kscan.checks``, in the order of the template reference."""

MODULES: tuple[ModuleType, ...] = tuple(
    import_module(f"kscan.checks.{name}") for name in MODULE_NAMES
)


def load_templates() -> dict[str, Template]:
    """Every registered template by name."""
    return TEMPLATES
