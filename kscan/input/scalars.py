"""YAML scalars as Kubernetes reads them: go-yaml v2's resolver, then sigs.k8s.io/yaml's JSON.

``kubectl``, the API server and most controllers turn YAML into JSON with sigs.k8s.io/yaml,
which decodes with (a fork of) go-yaml v2. These functions reproduce what that pipeline gives
for one scalar, from its text, its tag and whether it was written plain:

- an untagged plain scalar is resolved by go-yaml v2's rules (``resolve.go``): a table of
  booleans and nulls (YAML 1.1 spellings, ``y`` and ``n`` included), Go's ``strconv.ParseInt``
  with base 0 once underscores are removed (``0x1F``, ``0o17``, ``017``, ``0b101``, signs),
  ``ParseUint``, then floats of the form ``[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?``.
  Everything else is a string, sexagesimal ``1:20`` and timestamps included;
- quoted and block scalars, ``!!str`` and unknown tags (``!foo``, ``!!python/...``, ``!``) are
  strings; ``!!binary`` is base64-decoded to a string; ``!!int``, ``!!float``, ``!!bool``,
  ``!!null`` and ``!!timestamp`` resolve the text and must agree with it (``!!float 1`` is
  allowed and is a float);
- JSON then carries numbers as text: a float with an integral value (``0.0``, ``0e0``,
  ``22.0``) reaches the API server as that integer, so it becomes a Python ``int`` here;
- mapping keys are resolved like values, then written as JSON object keys: ``1.0`` becomes
  ``"1"``, ``yes`` becomes ``"true"``; a null key cannot be converted.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from datetime import date
from functools import cache
from typing import Any

TAG = "tag:yaml.org,2002:"
STR, BINARY, MERGE = TAG + "str", TAG + "binary", TAG + "merge"
_BOOL, _INT, _FLOAT, _NULL, _TIMESTAMP = (
    TAG + "bool",
    TAG + "int",
    TAG + "float",
    TAG + "null",
    TAG + "timestamp",
)
_RESOLVED_TAGS = frozenset({STR, _BOOL, _INT, _FLOAT, _NULL, _TIMESTAMP})
"""The tags go-yaml resolves (``resolvableTag``); any other tag leaves the text a string."""

_HINTS = {
    **dict.fromkeys("+-", "S"),
    **dict.fromkeys("0123456789", "D"),
    **dict.fromkeys("yYnNtTfFoO~", "M"),
    ".": ".",
}
"""go-yaml v2's ``resolveTable``: the first character says what a plain scalar may be."""

_KNOWN: dict[str, tuple[str, Any]] = {
    **{text: (_BOOL, True) for text in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE")},
    **{text: (_BOOL, True) for text in ("on", "On", "ON")},
    **{text: (_BOOL, False) for text in ("n", "N", "no", "No", "NO", "false", "False", "FALSE")},
    **{text: (_BOOL, False) for text in ("off", "Off", "OFF")},
    **{text: (_NULL, None) for text in ("", "~", "null", "Null", "NULL")},
    **{text: (_FLOAT, math.nan) for text in (".nan", ".NaN", ".NAN")},
    **{text: (_FLOAT, math.inf) for text in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{text: (_FLOAT, -math.inf) for text in ("-.inf", "-.Inf", "-.INF")},
}
"""go-yaml v2's ``resolveMap`` (its ``<<`` entry only matters for mapping keys)."""

_GO_INT = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
"""``strconv.ParseInt(s, 0, 64)``'s syntax (underscores already removed)."""


@cache
def _yaml_float() -> re.Pattern[str]:
    """go-yaml v2's ``yamlStyleFloat``, tried on the text without underscores (compiled when
    first needed, as the two below: most files hold no float and no timestamp)."""
    return re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


@cache
def _point_float() -> re.Pattern[str]:
    """What ``strconv.ParseFloat`` accepts of a scalar starting with ``.`` (go-yaml hands those
    to it as written): digits, underscores only between digits, an optional exponent."""
    return re.compile(r"\.[0-9](?:_?[0-9])*(?:[eE][-+]?[0-9](?:_?[0-9])*)?")


@cache
def _timestamp_forms() -> re.Pattern[str]:
    """The layouts go-yaml v2's ``parseTimestamp`` accepts (RFC 3339 with short fields, a space
    separated date and time, a date)."""
    return re.compile(
        r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
        r"(?:(?:[Tt](?P<H>[0-9]{1,2}):(?P<M>[0-9]{1,2}):(?P<S>[0-9]{1,2})(?:\.[0-9]+)?"
        r"(?:Z|[-+][0-9]{2}:[0-9]{2}))"
        r"|(?: (?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:\.[0-9]+)?))?"
    )


_INT64 = (-(1 << 63), (1 << 63) - 1)
_UINT64_MAX = (1 << 64) - 1
_JSON_EXACT_LIMIT = 1e21
"""Go's ``json.Marshal`` writes floats below this magnitude without an exponent, so an integral
one reads back as an integer."""


class ScalarError(ValueError):
    """A scalar Kubernetes' decoder rejects; the message never quotes the scalar's text."""


def resolve(text: str, tag: str | None, plain: bool) -> Any:
    """The value go-yaml v2 and sigs.k8s.io/yaml give a scalar: ``tag`` is its explicit tag
    (None when it has none), ``plain`` whether it was written without quotes or block style.
    Integral floats come back as ints, as they reach the API server."""
    if tag is None:
        return json_number(_resolve_plain(text)[1]) if plain else text
    if tag == STR:
        return text
    if tag == BINARY:
        return decode_binary(text)
    if tag not in _RESOLVED_TAGS:
        return text  # custom tags, "!", !!python/..., !!map on a scalar: the text itself
    resolved_tag, value = _resolve_plain(text, timestamps=tag == _TIMESTAMP)
    if resolved_tag == tag:
        return text if tag == _TIMESTAMP else json_number(value)
    if tag == _FLOAT and resolved_tag == _INT:
        return json_number(float(value))
    raise ScalarError(f"cannot decode a !!{_short(resolved_tag)} value as !!{_short(tag)}")


def is_merge_key(text: str, tag: str | None, plain: bool) -> bool:
    """go-yaml v2's ``isMerge``: the text ``<<``, written plain or tagged ``!!merge``. A
    ``!!merge`` tag on any other key (``!!merge foo:``) makes no merge: the key is ``foo``."""
    return text == "<<" and ((plain and tag in (None, "!")) or tag == MERGE)


def key_text(value: Any) -> str:
    """A resolved mapping key as sigs.k8s.io/yaml writes it into JSON (``convertToJSONableObject``):
    strings as they are, booleans as ``true``/``false``, integers in decimal, floats with Go's
    ``FormatFloat(key, 'g', -1, 32)``. Raises ScalarError for a null key, which has no JSON form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ScalarError("a mapping key beyond the int64 range cannot be converted to JSON")
        return str(value)
    if isinstance(value, float):
        return format_float32_g(value)
    raise ScalarError("a null mapping key cannot be converted to JSON")


def key_value(text: str, tag: str | None, plain: bool) -> Any:
    """The Go value go-yaml v2 gives a mapping key, before it becomes a JSON key (``1`` is an
    int, ``"1"`` a string: both become the key ``"1"``, in an order Go leaves to chance)."""
    if tag is None and plain:
        return _resolve_plain(text)[1]
    if tag in (_INT, _FLOAT, _BOOL, _NULL):
        resolved_tag, value = _resolve_plain(text)
        if resolved_tag == tag:
            return value
        if tag == _FLOAT and resolved_tag == _INT:
            return float(value)
    return resolve(text, tag, plain)


def decode_binary(text: str) -> str:
    """``!!binary``: standard base64 with padding; line breaks are ignored, anything else
    outside the alphabet is an error (Go's ``base64.StdEncoding.DecodeString``). The bytes
    become a string as JSON carries it: invalid UTF-8 turns into U+FFFD."""
    compact = text.replace("\n", "").replace("\r", "")
    if len(compact) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", compact):
        raise ScalarError("!!binary value contains invalid base64 data")
    try:
        data = base64.b64decode(compact, validate=True)
    except binascii.Error:
        raise ScalarError("!!binary value contains invalid base64 data") from None
    return data.decode("utf-8", "replace")


def format_float32_g(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 32)``, with sigs.k8s.io/yaml's names for the
    infinities and NaN (``.inf``, ``-.inf``, ``.nan``)."""
    if math.isnan(value):
        return ".nan"
    single = _float32(value)
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    digits, exponent = _shortest_float32_digits(abs(single))
    sign = "-" if single < 0 else ""
    point = exponent + 1  # the position of the decimal point in the digits
    if exponent < -4 or exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _float32(value: float) -> float:
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def _shortest_float32_digits(value: float) -> tuple[str, int]:
    """The fewest significant digits that read back as the same float32, and the decimal
    exponent of the first one."""
    for precision in range(1, 10):
        text = f"{value:.{precision - 1}e}"
        if _float32(float(text)) == value:
            break
    mantissa, _, exponent = text.partition("e")
    return mantissa.replace(".", "").rstrip("0") or "0", int(exponent)


def _resolve_plain(text: str, timestamps: bool = False) -> tuple[str, Any]:
    """(tag, value) of go-yaml v2's ``resolve`` for a plain scalar (or a tagged one whose tag
    is then checked); values not known to be anything else are strings."""
    hint = _HINTS.get(text[0]) if text else "M"
    if hint is None:
        return STR, text
    known = _KNOWN.get(text)
    if known is not None:
        return known
    if hint == ".":
        if _point_float().fullmatch(text):
            number = _finite_float(text.replace("_", ""))
            if number is not None:
                return _FLOAT, number
    elif hint in "DS":
        if timestamps and _is_timestamp(text):
            return _TIMESTAMP, text
        bare = text.replace("_", "")
        if _GO_INT.fullmatch(bare):
            number = _go_int(bare)
            if _INT64[0] <= number <= _INT64[1]:
                return _INT, number
            if number <= _UINT64_MAX and bare[0] not in "+-":
                return _INT, number  # ParseUint: unsigned, up to 2**64 - 1
        if _yaml_float().fullmatch(bare):
            number = _finite_float(bare)
            if number is not None:
                return _FLOAT, number
    return STR, text


_INT_DIGITS = 64
"""More significant digits than this (binary's 64 for 2**64) cannot fit 64 bits in any base."""


def _go_int(text: str) -> int:
    """``strconv.ParseInt(text, 0, 64)``'s reading, as a Python int (range checked by the
    caller); a literal with more digits than any 64-bit number has reads as ``2**64``, out of
    range, without converting thousands of digits."""
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    prefix = digits[:2].lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(prefix)
    if base is not None:
        digits = digits[2:]
    elif len(digits) > 1 and digits[0] == "0":
        base = 8
    if len(digits.lstrip("0")) > _INT_DIGITS:
        return sign * 2**64
    return sign * int(digits, base or 10)


def _finite_float(text: str) -> float | None:
    """``strconv.ParseFloat``: a float, or None where Go reports it out of range."""
    number = float(text)
    return None if math.isinf(number) else number


def _is_timestamp(text: str) -> bool:
    match = _timestamp_forms().fullmatch(text)
    if match is None:
        return False
    try:
        date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return False
    hour, minute = (match["H"] or match["h"]), (match["M"] or match["mi"])
    second = match["S"] or match["s"]
    if hour is None:
        return True
    return int(hour) < 24 and int(minute) < 60 and int(second) < 60


def json_number(value: Any) -> Any:
    """What a number is once JSON has carried it: Go writes an integral float below 1e21 as
    digits (its shortest decimal form), which read back as an integer where they fit in an
    int64 (a larger integer reads back as a float); NaN and infinities have no JSON form, so
    kubectl cannot send the document."""
    if type(value) is int:
        return value if _INT64[0] <= value <= _INT64[1] else float(value)  # a uint64
    if type(value) is not float:
        return value
    if not math.isfinite(value):
        raise ScalarError("a .inf or .nan value has no JSON form: kubectl cannot send it")
    if value.is_integer() and abs(value) < _JSON_EXACT_LIMIT:
        number = int(value) if abs(value) < 2**53 else _exact_integer(value)
        if _INT64[0] <= number <= _INT64[1]:
            return number
    return value


def _short(tag: str) -> str:
    return tag[len(TAG) :] if tag.startswith(TAG) else tag


def _exact_integer(value: float) -> int:
    """An integral float of 2**53 or more as the integer its shortest decimal form writes."""
    from decimal import Decimal  # rare: not imported on every scan

    return int(Decimal(repr(value)))
