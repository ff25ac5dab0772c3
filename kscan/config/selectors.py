"""Rule selectors, as ``select``, ``ignore`` and suppressions write them."""

from __future__ import annotations

import fnmatch
import re


def matches_selector(selector: str, rule_id: str, rule_name: str) -> bool:
    """ruff-style selectors: an id or name, an id prefix (``KS2``), or a glob (``host-path-*``)."""
    upper = selector.upper()
    if upper == rule_id or selector == rule_name or selector == "all":
        return True
    if re.fullmatch(r"[A-Z]+[0-9]*", upper) and rule_id.startswith(upper):
        return True
    return fnmatch.fnmatchcase(rule_name, selector) or fnmatch.fnmatchcase(rule_id, upper)
