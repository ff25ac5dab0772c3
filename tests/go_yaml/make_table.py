"""Write ``scalars.jsonl``: scalar spellings and what Kubernetes' decoder makes of each, as a
value (``v: SPELLING``) and as a mapping key (``SPELLING: x``).

The answers come from ``oracle.go`` (sigs.k8s.io/yaml on go-yaml v2), so the table records the
real decoder's behaviour; ``test_decoding.py`` checks kscan against it on every run, with or
without Go. Regenerate after changing the spellings (needs Debian's golang-go,
golang-gopkg-yaml.v2-dev and golang-k8s-sigs-yaml-dev):

    python tests/go_yaml/make_table.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from itertools import product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kubectl_reading import Oracle, build_oracle

TABLE = Path(__file__).resolve().parent / "scalars.jsonl"

WORDS = [
    *("y", "yes", "true", "on", "n", "no", "false", "off", "null", "~", "nan", "inf"),
    *(".inf", ".nan", "+.inf", "-.inf", "infinity", ".infinity", "<<", "=", "-", "+", ".", ".."),
]
INTEGERS = [
    *("0", "00", "07", "08", "09", "010", "0777", "0778", "1", "12", "123", "1_000", "1__0"),
    *("0x0", "0o0", "0b0", "0X0", "-0x0", "+0o0"),
    *("_1", "1_", "0_7", "0_8", "0x", "0x1F", "0X1f", "0xg", "0x_1F", "0o", "0o17", "0O17"),
    *("0o18", "0b", "0b101", "0B101", "0b102", "0b_1", "9223372036854775807"),
    *("9223372036854775808", "18446744073709551615", "18446744073709551616"),
    *("0x8000000000000000", "0xFFFFFFFFFFFFFFFF", "0x10000000000000000"),
]
FLOATS = [
    *("1.", ".5", "1.5", "0.0", "0.", "00.5", "1e3", "1E+3", "1e-3", "1.5e3", "1.e3", "1e"),
    *("e3", ".e3", "1_0.5", ".5_5", "._5", ".5_", "1e1_0", "1e400", "1e-400", "1e21", "1e20"),
    *("1e-7", "0e0", "22.0", "0.5e1", "1,000", "1 000", "0x1p3", "0x1.8p1", "1d3", "1f"),
]
SEXAGESIMAL_AND_DATES = [
    *("1:20", "190:20:30", "1:20.5", "1:2:3:4", "12:30:00"),
    *("2001-12-14", "2001-1-2", "2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43Z"),
    *("2001-12-14 21:59:43.10", "2001-13-14", "2001-02-30", "99-12-14", "2001-12-14x"),
]
TAGS = ["!!int", "!!float", "!!bool", "!!null", "!!str", "!!timestamp", "!", "!custom", "!!map"]
BINARY = [
    *("!!binary UG9k", "!!binary cHJpdmlsZWdlZA==", "!!binary gIGC", "!!binary 'UG9k'"),
    *('!!binary "UG9k"', "!!binary UG9", "!!binary UG9k=", "!!binary UG9k====", "!!binary U*9k"),
    *("!!binary ''", "!!binary", "!!binary |\n  UG9k\n  UG9k", "!!binary dHJ1ZQ=="),
]


def _cases(word: str) -> list[str]:
    return sorted({word, word.lower(), word.upper(), word.title(), word.swapcase()})


def spellings() -> list[str]:
    """Every spelling in the table, in a stable order."""
    found: list[str] = [""]
    found += [variant for word in WORDS for variant in _cases(word)]
    numbers = INTEGERS + FLOATS
    found += [sign + body for sign, body in product(("", "+", "-"), numbers)]
    found += [variant for text in numbers for variant in _cases(text) if variant != text]
    found += SEXAGESIMAL_AND_DATES
    tagged = ["1", "0", "1.5", "1.0", "abc", "yes", "true", "~", "", "0x1F", "2001-12-14"]
    found += [f"{tag} {text}" for tag, text in product(TAGS, tagged)]
    found += [f"{tag} '{text}'" for tag, text in product(TAGS, ("1", "true"))]
    found += [f"'{text}'" for text in ("1", "yes", "0x1F", "~", "")]
    found += [f'"{text}"' for text in ("1", "yes", "\\x41", "\\u00e9")]
    found += BINARY
    return list(dict.fromkeys(found))


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        binary = build_oracle(Path(directory))
        if isinstance(binary, str):
            sys.exit(f"cannot build the oracle: {binary}")
        oracle = Oracle(binary)
        rows = []
        for spelling in spellings():
            value = oracle.ask(f"v: {spelling}\n")
            key = oracle.ask(f"{spelling}: x\n") if "\n" not in spelling else None
            rows.append({"spelling": spelling, "value": value, "key": key})
        oracle.close()
    with TABLE.open("w", encoding="utf-8") as handle:
        handle.write(
            "// sigs.k8s.io/yaml YAMLToJSON of 'v: SPELLING' (value) and 'SPELLING: x' (key),"
            " written by make_table.py\n"
        )
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} spellings to {TABLE}")


if __name__ == "__main__":
    main()
