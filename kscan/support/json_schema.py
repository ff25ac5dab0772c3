"""JSON Schema checks of kscan's own files (configuration, rule files): the first error in a
stable order. jsonschema is imported only when a file is actually checked (start-up cost)."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError


def first_error(schema: str | os.PathLike[str], data: Any) -> ValidationError | None:
    """The first violation of ``schema`` in ``data``, ordered by field path; None if valid."""
    errors = _validator(os.fspath(schema)).iter_errors(data)
    return min(errors, key=lambda error: list(map(str, error.absolute_path)), default=None)


@cache
def _validator(schema: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    with open(schema, encoding="utf-8") as handle:
        return Draft202012Validator(json.loads(handle.read()))
