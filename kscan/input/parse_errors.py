"""One-line input errors from parser failures, with a hint for unrendered Helm templates."""

from __future__ import annotations

import re

from kscan.input.limits import Limits
from kscan.input.sources import InputError, Source
from kscan.input.tree import (
    ParseError,
)

HELM_EXPRESSION = re.compile(
    r"\{\{-?\s*(\.Values|\.Release|\.Chart|\.Capabilities|\.Files|include\b|tpl\b)"
)


HELM_HINT = " (the file looks like an unrendered Helm/Go template; render it first)"


def too_many_documents(source: Source, limits: Limits, line: int, column: int) -> InputError:
    message = (
        f"more than {limits.documents:,} documents in one file; the rest are not scanned "
        "(--max-documents raises the limit)"
    )
    return InputError(source.path, message, line, column)


def parse_error(source: Source, exc: ParseError) -> InputError:
    message = str(exc)
    if source.has_braces and "template" not in message:
        message += HELM_HINT
    return InputError(source.path, message, exc.line, exc.column)


def yaml_error(source: Source, text: str, exc: Exception) -> InputError:
    """One-line error from a PyYAML or ruamel.yaml exception (marked, or a reader error)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    if problem is None:  # reader errors (bad characters) carry a character position instead
        line, column = _position_of(text, getattr(exc, "position", 0) or 0)
        reason = _one_line(str(exc)).split(' in "')[0]
        return InputError(source.path, f"invalid YAML: {reason}", line, column)
    context = getattr(exc, "context", None)
    if context:
        problem = f"{context}, {problem}"
    if source.has_braces:
        problem += HELM_HINT
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    return InputError(source.path, f"invalid YAML: {_one_line(problem)}", line, column)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _position_of(text: str, index: int) -> tuple[int, int]:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1
