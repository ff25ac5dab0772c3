"""What of a manifest kscan may repeat in its output: never a free-form value.

Messages, errors, stable field paths, details and fingerprints quote a value from a scanned
file only when it is safe by construction: a number or a boolean, or a short token of the
characters that names, kinds, image references, paths, enum values and flag names are made of,
in a field that does not hold free-form text. Anything else (a command line, an env value, an
annotation, ConfigMap or Secret data, a value with spaces, ``=`` or punctuation, or a very long
one) is described, never shown: ``(a value not shown, 41 characters)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

FREE_FORM_KEYS = frozenset(
    {
        "command",
        "args",
        "value",
        "data",
        "stringData",
        "binaryData",
        "annotations",
        "script",
        "source",
        "manifest",
        "podSpecPatch",
        "description",
        "message",
        "content",
        "token",
        "password",
        "secret",
    }
)
"""Keys whose values are free-form text (a pointer through one of them is never quoted)."""

_TOKEN = re.compile(r"[A-Za-z0-9._:/@+-]{1,255}")
"""Names, kinds, images (``registry:5000/team/app@sha256:...``), paths, enum values, numbers."""
_USERINFO = re.compile(r"//[^/@]*@")
"""A URL with credentials (``https://user:password@host``): never quoted, token or not."""


_KEY_LENGTH = 253
_KEY = re.compile(rf"[A-Za-z0-9._/<-]{{1,{_KEY_LENGTH}}}")
"""Keys as manifests write them: field names, ``app.kubernetes.io/name``, ``.dockerconfigjson``,
``<<``."""
KEY_NOT_SHOWN = "(key not shown)"


def shown_key(key: object) -> str:
    """A mapping key (or a list index) as output may show it: a key made of what field names,
    label keys and file names are made of, else a placeholder (a key ``password=hunter2``,
    written by mistake for a value, is not shown)."""
    if isinstance(key, str) and len(key) > _KEY_LENGTH:
        return KEY_NOT_SHOWN  # and not remembered: the cache holds short keys only
    return _shown_short_key(key)


@lru_cache(maxsize=4096, typed=True)  # typed: the key True is not the index 1
def _shown_short_key(key: object) -> str:
    if isinstance(key, int) or (isinstance(key, str) and _KEY.fullmatch(key)):
        return str(key)
    return KEY_NOT_SHOWN


def is_free_form(pointer: Iterable[object]) -> bool:
    """Whether a field at this pointer holds free-form text (it passes through such a key)."""
    return any(isinstance(part, str) and part in FREE_FORM_KEYS for part in pointer)


def quotable(value: Any, pointer: Iterable[object] = ()) -> bool:
    """Whether ``value``, read at ``pointer``, may be repeated in kscan's output."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if not isinstance(value, str) or is_free_form(pointer) or not _TOKEN.fullmatch(value):
        return False
    return not _USERINFO.search(value)


def shown(value: Any, pointer: Iterable[object] = ()) -> str:
    """The value as YAML writes it (``true``, ``0``, ``Unconfined``) where it may be quoted,
    else a description of it that quotes nothing."""
    if quotable(value, pointer):
        if isinstance(value, bool):
            return "true" if value else "false"
        return "null" if value is None else str(value)
    if isinstance(value, str):
        return f"(a value not shown, {len(value)} characters)"
    return f"(a {_kind(value)} not shown)"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return "value"
