"""Credentials written into manifests: secret-looking env values and ConfigMap data, repeated env.

Values are matched but never reported: messages name the field and the kind of secret only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Literal

from kscan.checks.base import NoParams, Params, Violation, template
from kscan.input.documents import Pointer
from kscan.model import KubeObject
from kscan.support.disclosure import shown_key
from kscan.support.values import Record

SECRET_NAME = (
    r"(?i)(passw(or)?d|passphrase|secret|token|bearer|credential|api[_-]?key|private[_-]?key"
    r"|access[_-]?key|pwd$|(^|[_.-])pass$|(?:[_.-]key|(?-i:[a-z]Key))(?:[_.-]?contents?)?$)"
)
"""Names that suggest a secret: a password word anywhere (``DB_PASSWORD``), one at the end
(``DB_PASS``, ``MYSQLPWD``), a bearer token, or a last word ``key`` (``AZURE_STORAGE_KEY``,
``tls.key``, ``storageKey``, ``SA_KEY_CONTENT``), but not ``MONKEY`` or ``KEYCLOAK_URL``."""
NOT_A_SECRET_NAME = (
    r"(?i)(_file|_path|_dir|_url|_uri|_name|_ref|_id|_ttl|_timeout|_length|_size|_enabled|_type)$"
)
NOT_A_SECRET_KEY = (
    r"(?i)(^(old)?pwd$|(public|primary|foreign|partition|sort|range|routing|cache|lock|hash"
    r"|shard|idempotency|dedup|label|annotation|selector|taint|topology|header|object|row"
    r"|column|group|lookup|index|config|query|bucket|gpg|pgp)[_.-]?key([_.-]?contents?)?$)"
)
"""Names that end in ``key`` without being a secret (the public half of a key pair, a
database, cache or label key, a GPG key's fingerprint as official images set ``GPG_KEY``),
and the shell's working directories ``PWD`` and ``OLDPWD``."""
PASSWORD_NAME = r"(?i)(passw(or)?d|pwd|(^|[_.-])pass)$"
"""Names whose last word is a password: their values count from ``password_min_length``."""
PLACEHOLDER = r"(?i)^(insert|replace|change|your|example|dummy|placeholder|todo|<|xxx)"
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_JWT_REST = re.compile(r"\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8}")
_JWT_HEADER = re.compile(r"\beyJ")


def has_jwt(value: str) -> bool:
    """Whether a value holds a JSON Web Token, ``eyJ<8+>.eyJ<8+>.<8+>`` in base64url, the first
    ``eyJ`` at a word boundary. Found from each ``.eyJ`` (the payload's start): its payload and
    signature follow it, its header is the base64url run before it. A run is read as a header
    for one ``.eyJ`` only, and as a payload for one only, so this is linear where the single
    regular expression (``\\beyJ[...]{8,}\\.eyJ...``) rescanned a run from every ``-eyJ`` in it."""
    at = value.find(".eyJ")
    while at >= 0:
        if _JWT_REST.match(value, at):
            start = at
            while start > 0 and value[start - 1] in _BASE64URL:
                start -= 1
            if _JWT_HEADER.search(value, start, at - 8):  # eyJ and 8 more before the dot
                return True
        at = value.find(".eyJ", at + 1)
    return False


SECRET_VALUES: dict[str, Callable[[str], object]] = {
    "a private key": re.compile(r"-----BEGIN ([A-Z]+ )?PRIVATE KEY( BLOCK)?-----").search,
    "an AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b").search,
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b").search,
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}").search,
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b").search,
    "a JSON Web Token": has_jwt,
    "a password assignment": re.compile(
        r"(?i)\b(password|passwd|secret|token)[\"']?\s*[:=]\s*[\"']?(?![$<{%])[^\s\"',;]{8,}"
    ).search,
}
"""What each known kind of secret looks like; each finder runs in time linear in the value
(``tests/test_linear_time.py``)."""


class SecretLiteralParams(Params):
    """``source``: container ``env`` values or ``configmap`` data."""

    source: Literal["env", "configmap"]
    """Where to look: container ``env`` values or ConfigMap ``data``."""
    min_length: int = 8
    """The shortest value reported for its secret-sounding name alone."""
    password_min_length: int = 6
    """The shortest value reported under a name whose last word is a password (``password``,
    ``DB_PASS``)."""


def secret_kind(
    name: str, value: Any, min_length: int, password_min_length: int | None = None
) -> str | None:
    """What kind of secret a name/value pair looks like, or None."""
    if not isinstance(value, str):
        return None
    for label, found in SECRET_VALUES.items():
        if found(value):
            return label
    if (
        re.search(SECRET_NAME, name)
        and not re.search(NOT_A_SECRET_NAME, name)
        and not re.search(NOT_A_SECRET_KEY, name)
        and len(value) >= _floor(name, min_length, password_min_length)
        and len(set(value)) > 1  # a mask: ******
        and not value.startswith(("/", "$(", "${"))
        and not re.match(PLACEHOLDER, value)
        and "{{" not in value
        and "\n" not in value
    ):
        return "a literal secret (by its name)"
    return None


def _floor(name: str, min_length: int, password_min_length: int | None) -> int:
    """The shortest value reported under this name: shorter for a password."""
    if password_min_length is not None and re.search(PASSWORD_NAME, name):
        return min(min_length, password_min_length)
    return min_length


@template("secret-literal", scope="object", params=SecretLiteralParams)
def secret_literal(params: SecretLiteralParams, obj: KubeObject) -> Iterator[Violation]:
    """Env values or ConfigMap data that look like credentials: known key and token formats
    anywhere, or a long literal under a secret-sounding name."""
    for candidate in _candidates(params, obj):
        kind = secret_kind(
            candidate.name, candidate.value, params.min_length, params.password_min_length
        )
        if kind is not None:
            where = shown_key(candidate.name)
            message = f"{candidate.subject} holds {kind} in '{where}'; value not shown."
            yield Violation(candidate.pointer, message, obj, candidate.container)


class _Candidate(Record):
    pointer: Pointer
    name: str
    value: Any
    subject: str
    container: str | None


def _candidates(params: SecretLiteralParams, obj: KubeObject) -> Iterator[_Candidate]:
    if params.source == "configmap":
        data = obj.data.get("data") if obj.kind == "ConfigMap" else None
        for key, value in data.items() if isinstance(data, dict) else []:
            subject = f"{obj.display} data"
            yield _Candidate((*obj.pointer, "data", key), str(key), value, subject, None)
        return
    for _pod, ref in obj.containers():
        env = ref.data.get("env")
        for index, item in enumerate(env if isinstance(env, list) else []):
            if isinstance(item, dict) and "value" in item:
                pointer = (*ref.pointer, "env", index, "value")
                subject = f"{ref.subject(obj.display)} env"
                yield _Candidate(pointer, str(item.get("name")), item["value"], subject, ref.name)


@template("duplicate-env", scope="object", params=NoParams)
def duplicate_env(params: NoParams, obj: KubeObject) -> Iterator[Violation]:
    """An env variable set twice in one container: the last one wins, which hides the first."""
    for _pod, ref in obj.containers():
        env = ref.data.get("env")
        seen: dict[str, int] = {}
        for index, item in enumerate(env if isinstance(env, list) else []):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            if name in seen:
                message = (
                    f"{ref.subject(obj.display)} sets env '{name}' twice "
                    f"(env[{seen[name]}] and env[{index}]); the last one wins."
                )
                yield Violation((*ref.pointer, "env", index, "name"), message, obj, ref.name)
            seen[name] = index
