"""FAIL and PASS examples for the rule reference, taken from the rule fixtures of a source
checkout (``tests/fixtures/<rule>/fail-*.yaml`` and ``pass-*.yaml``).

The wheel ships no fixtures (they are test data), so an installed kscan documents its rules
without examples; the checked-in docs/rules.md, generated from a checkout, has them.
"""

from __future__ import annotations

import re
from pathlib import Path

from kscan.rules.registry import Rule, builtin_rules_dir
from kscan.support.values import dataclass

MARKER = re.compile(r"[ \t]*#\s*expect:\s*(.+)$")
"""A fixture's ``# expect: <rule>[@<container>], ...`` marker, with the spaces before it."""

MAX_LINES = 30
"""A fixture longer than this is cut to its relevant documents."""

_SEPARATOR = re.compile(r"^---\s*$")


@dataclass(frozen=True)
class Example:
    """A fixture, or the part of it that shows the rule, ready to display."""

    source: str
    """Where it comes from, relative to the checkout (``tests/fixtures/<rule>/fail-x.yaml``)."""
    text: str
    part: str = ""
    """Which part of the fixture ``text`` is, when not the whole (``first failing document``)."""
    params: str | None = None
    """The params the fixtures set for the rule (``params.yaml``), as written there."""


def fixtures_dir() -> Path | None:
    """``tests/fixtures`` of the source checkout the built-in rules come from, if any."""
    rules = Path(builtin_rules_dir())
    fixtures = rules.parent / "tests" / "fixtures"
    return fixtures if rules.name == "rules" and fixtures.is_dir() else None


def show_markers(text: str) -> str:
    """Markers rewritten as ``# <- finding`` (``# <- 2 findings``) comments."""

    def comment(match: re.Match[str]) -> str:
        count = len(match.group(1).split(","))
        return f"  # <- {count} findings" if count > 1 else "  # <- finding"

    return "\n".join(MARKER.sub(comment, line) for line in text.splitlines())


def documents(text: str) -> list[str]:
    """The text of each YAML document of a fixture (split at plain ``---`` lines)."""
    parts: list[list[str]] = [[]]
    for line in text.splitlines():
        if _SEPARATOR.match(line):
            parts.append([])
        else:
            parts[-1].append(line)
    return ["\n".join(part).strip("\n") for part in parts if any(p.strip() for p in part)]


def excerpt(text: str, failing: bool) -> tuple[str, str]:
    """The whole fixture when it is short; else its first document carrying a marker (failing)
    or its first document (passing). Returns the text and which part it is (empty: all)."""
    parts = documents(text)
    if len(text.splitlines()) <= MAX_LINES or len(parts) < 2:
        return text.strip("\n"), ""
    if failing:
        marked = (part for part in parts if any(map(MARKER.search, part.splitlines())))
        return next(marked, parts[0]), "first failing document"
    return parts[0], "first document"


def example(rule: Rule, fixtures: Path, kind: str) -> Example | None:
    """The shortest ``kind`` (``fail`` or ``pass``) fixture of ``rule``, cut to what matters."""
    folder = fixtures / rule.name
    texts = {path: path.read_text(encoding="utf-8") for path in folder.glob(f"{kind}-*.yaml")}
    if not texts:
        return None
    path = min(texts, key=lambda path: (len(texts[path].splitlines()), path.name))
    if rule.template.scope in ("namespace", "inventory"):
        text, part = texts[path].strip("\n"), ""  # a cross-object rule needs every object
    else:
        text, part = excerpt(texts[path], failing=kind == "fail")
    params_file = folder / "params.yaml"
    params = params_file.read_text(encoding="utf-8").strip() if params_file.is_file() else None
    source = path.relative_to(fixtures.parent.parent).as_posix()
    return Example(source, show_markers(text), part, params)


def examples(rule: Rule, fixtures: Path | None) -> list[tuple[str, Example]]:
    """``[("FAIL", ...), ("PASS", ...)]`` for ``rule``, as far as it has fixtures."""
    if fixtures is None:
        return []
    found = ((label, example(rule, fixtures, label.lower())) for label in ("FAIL", "PASS"))
    return [(label, shown) for label, shown in found if shown is not None]
