"""Linear time, whatever the input: every regular expression kscan applies to manifest text and
every walk over parsed documents, timed on an adversarial input of size n and of 4n.

Each case builds the input that made (or would make) a backtracking pattern or an alias-
expanding walk super-linear: long runs of what a repeat accepts, then what makes it fail. The
time ratio must stay near 4 (below ``LIMIT``): a quadratic implementation gives 16. Times are
the best of a few runs, and n is chosen so a run takes milliseconds, not microseconds, so noise
stays small. ``bench/linear.py`` runs the same cases at more sizes.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from kscan.checks import paths, secrets
from kscan.checks.regex_safety import linear_problem
from kscan.input.documents import Document, could_hold_an_object, parse
from kscan.input.json_reader import JsonReader
from kscan.input.scalars import ScalarError, resolve
from kscan.input.sources import Source
from kscan.input.tree import PosDict, PosList, pointers_to
from kscan.model import api, workloads
from kscan.results.suppression import Suppressor
from kscan.rules.registry import Rule, load_rules
from kscan.scan.engine import collector_paused, scan

LIMIT = 8.0
"""The largest time ratio accepted between inputs of size 4n and n (linear: 4)."""
BUDGET = 2.0
"""Seconds a case may take at size n."""
TIMED = 0.01
"""Seconds each timing lasts at least (runs are repeated until they do)."""


@dataclass(frozen=True)
class Case:
    """One pattern or walk: ``make(n)`` builds an input of size about n, ``run`` uses it."""

    name: str
    make: Callable[[int], Any]
    run: Callable[[Any], object]
    n: int


def best_time(case: Case, size: int, runs: int = 3) -> float:
    """Seconds per run of the case on an input of ``size``: the best of ``runs`` timings, each
    of enough runs in a row to last ``TIMED`` (inputs stay small enough for the processor's
    caches, whose edge would otherwise show as a jump in time), with the cyclic garbage
    collector paused, as ``kscan.scan.engine.scan`` runs."""
    data = case.make(size)
    best, number = float("inf"), 1
    with collector_paused():
        while True:
            start = time.perf_counter()
            for _ in range(number):
                case.run(data)
            elapsed = time.perf_counter() - start
            if elapsed >= TIMED or number >= 1024:
                break
            number *= 2
        for _ in range(runs):
            start = time.perf_counter()
            for _ in range(number):
                case.run(data)
            best = min(best, elapsed, time.perf_counter() - start)
    return best / number


# --- regular expressions ------------------------------------------------------------------


def _secret(value: str) -> object:
    return secrets.secret_kind("PASSWORD_TOKEN", value, 8)


_SECRET_INPUTS: dict[str, Callable[[int], str]] = {
    "a private key": lambda n: "-----BEGIN " + "A" * n,
    "an AWS access key": lambda n: "AKIA" * (n // 4),
    "a GitHub token": lambda n: "ghp_" + "a" * n + "_",
    "a Slack token": lambda n: "xoxb-aaaaaaaa " * (n // 14),
    "a Google API key": lambda n: "AIza" * (n // 4),
    "a JSON Web Token": lambda n: "eyJ-" * (n // 4),
    "a password assignment": lambda n: "password" + " " * n + ":",
}
_SECRET_CASES = [
    Case(f"secret: {label}", make, secrets.SECRET_VALUES[label], 50_000)
    for label, make in _SECRET_INPUTS.items()
] + [
    Case("secret: JWT runs", lambda n: "eyJxxxxxxxx.eyJ-" * (n // 16), _secret, 50_000),
    Case("secret: password= runs", lambda n: "token=" * (n // 6), _secret, 50_000),
    Case(
        "secret: secret-sounding name",
        lambda n: "passwor" * (n // 7) + "_file",
        lambda name: secrets.secret_kind(name, "x" * 20, 8),
        50_000,
    ),
    Case(
        "secret: names ending in key words",
        lambda n: "public_key_content" * (n // 18) + "_",
        lambda name: secrets.secret_kind(name, "xy" * 10, 8, 6),
        50_000,
    ),
    Case(
        "secret: names of pass and pwd runs",
        lambda n: "_passpwd" * (n // 8) + "-",
        lambda name: secrets.secret_kind(name, "xy" * 10, 8, 6),
        50_000,
    ),
]


@pytest.mark.parametrize(
    "pattern",
    [
        secrets.SECRET_NAME,
        secrets.NOT_A_SECRET_NAME,
        secrets.NOT_A_SECRET_KEY,
        secrets.PASSWORD_NAME,
        secrets.PLACEHOLDER,
    ],
)
def test_secret_name_patterns_pass_the_load_time_check(pattern: str) -> None:
    assert linear_problem(pattern) is None


def _comment_document(line: str) -> Document:
    text = f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n{line}\n"
    documents, errors = parse(Source("c.yaml", text, len(text), False))
    assert not errors
    return documents[0]


def _see(document: Document) -> object:
    suppressor = Suppressor()
    suppressor.see(document, [])
    return suppressor.take()


def _see_all(documents: list[Document]) -> object:
    suppressor = Suppressor()
    for document in documents:
        suppressor.see(document, [])
    return suppressor.take()


def _commented_documents(count: int) -> list[Document]:
    text = "".join(
        f"---\napiVersion: v1  # kscan: ignore[KS101] r\nkind: Pod\nmetadata:\n  name: p{i}\n"
        for i in range(count)
    )
    documents, errors = parse(Source("d.yaml", text, len(text), False))
    assert not errors
    return documents


_SUPPRESSION_CASES = [
    Case(
        "suppression: kscan: ignore x x x",
        lambda n: _comment_document("# kscan: ignore" + " x" * (n // 2)),
        _see,
        50_000,
    ),
    Case(
        "suppression: unclosed ignore[ repeated",
        lambda n: _comment_document("# kscan: ignore[" * (n // 16)),
        _see,
        50_000,
    ),
    Case(
        "suppression: ignore[ after x#",
        lambda n: _comment_document("# c" + " x#kscan: ignore[" * (n // 17) + "]"),
        _see,
        50_000,
    ),
    Case("suppression: many documents", _commented_documents, _see_all, 500),
]


@cache
def _shipped_rules() -> list[Rule]:
    return load_rules()


def _rule_patterns() -> list[tuple[str, str]]:
    """(rule name and param, pattern) of every pattern param of the shipped rules."""
    found = []
    for rule in _shipped_rules():
        for group in ("when", "conditions"):
            for index, condition in enumerate(getattr(rule.params, group, ())):
                for field in ("pattern", "forbidden_pattern", "key_pattern"):
                    value = getattr(condition, field)
                    if value is not None:
                        found.append((f"{rule.name}.{group}.{index}.{field}", value))
    return found


def _adversarial(pattern: str) -> Callable[[int], list[str]]:
    """Runs of each character a pattern names (and of its short literal words), each then
    broken by a character it cannot expect."""
    letters = sorted({c for c in re.sub(r"\\.", "", pattern) if c.isprintable()} | {"a", "0"})
    words = re.findall(r"[A-Za-z0-9:/.-]{2,}", pattern.replace("\\.", "."))

    def make(n: int) -> list[str]:
        runs = [c * n + "\x00" for c in letters]
        runs += [(w * (n // len(w) + 1))[:n] + "\x00" for w in words]
        return runs

    return make


def _search_all(pattern: str) -> Callable[[list[str]], object]:
    compiled = re.compile(pattern)
    return lambda texts: [compiled.search(text) for text in texts]


_RULE_CASES = [
    Case(f"rule: {name}", _adversarial(pattern), _search_all(pattern), 20_000)
    for name, pattern in _rule_patterns()
]


def _parse_error(parse: Callable[[str], object], text: str) -> object:
    try:
        return parse(text)
    except ValueError as exc:
        return exc


def _resolved(tag: str | None) -> Callable[[str], object]:
    def run(text: str) -> object:
        try:
            return resolve(text, tag, tag is None)
        except ScalarError as exc:  # refused: what matters is how long that took
            return exc

    return run


_CODE_CASES = [
    Case(
        "scalars: Go integer",
        lambda n: "0" * n + "x",
        _resolved(None),
        50_000,
    ),
    Case("scalars: YAML float", lambda n: "1" * n + ".e", _resolved(None), 50_000),
    Case(
        "scalars: point float",
        lambda n: "." + "1_" * (n // 2) + "_",
        _resolved(None),
        50_000,
    ),
    Case(
        "scalars: timestamp",
        lambda n: "2024-01-01T01:01:01." + "1" * n,
        _resolved(None),
        50_000,
    ),
    Case(
        "scalars: base64",
        lambda n: "QUFB" * (n // 4) + "=",
        _resolved("tag:yaml.org,2002:binary"),
        50_000,
    ),
    Case(
        "json: spaces and numbers",
        lambda n: "[" + " " * n + "1.5e3, " * (n // 7) + "1]",
        lambda t: list(JsonReader(t, 200, 10**9).values()),
        20_000,
    ),
    Case(
        "json file: signs of an object in backslash runs",
        lambda n: "{" + "\\\\" * (n // 2) + "kin apiversio " * (n // 14) + "}",
        could_hold_an_object,
        50_000,
    ),
    Case(
        "paths: a long path to parse",
        lambda n: ".".join(["a|b", '["c.d"]'] * (n // 12)) + "[x",
        lambda text: _parse_error(paths.parse_path, text),
        20_000,
    ),
    Case(
        "paths: key-pattern on many keys",
        lambda n: PosDict({f"nginx.ingress.kubernetes.io/{'a-' * 8}{i}": i for i in range(n)}),
        lambda data: list(paths.select(data, "*", (), r"^nginx\.[a-z-]+-snippet$")),
        10_000,
    ),
]


# --- walks --------------------------------------------------------------------------------


def _shared_list(n: int) -> PosDict:
    """A mapping of n keys that all alias one list of n mappings: 2n nodes written, n * n once
    aliases are expanded, so a walk without memory of what it visited is quadratic."""
    item = PosDict({"name": "x", "image": "nginx"})
    items = PosList([item] * n)
    return PosDict({f"k{i}": items for i in range(n)})


def _shared_containers(n: int) -> PosDict:
    env = PosList([PosDict({"name": "A", "value": "b"})] * n)
    container = PosDict({"name": "c", "image": "nginx", "env": env})
    return PosDict({"containers": PosList([container] * n)})


_WALK_CASES = [
    Case("walk: tree.pointers_to", _shared_list, lambda d: pointers_to(d, {id(None)}), 10_000),
    Case(
        "walk: api.check",
        _shared_containers,
        lambda d: api.check(d, "PodSpec", (), api.Findings()),
        10_000,
    ),
    Case(
        "walk: workloads pod-shaped search",
        lambda n: PosDict({"spec": _shared_list(n)}),
        lambda d: list(workloads.pods_of("example.com/v1", "Thing", d)),
        20_000,
    ),
]


# --- whole scans --------------------------------------------------------------------------

_POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\nspec:\n  containers:\n  - name: c\n"


def _alias_documents(count: int) -> str:
    """Documents whose values alias one another, each line with a suppression comment."""
    documents = []
    for i in range(count):
        lines = [_POD.format(i=i) + "    image: &img nginx  # kscan: ignore[KS101] r"]
        lines.append("    env: &env  # kscan: ignore[KS102] r")
        lines += [f"    - {{name: &n{k} V{k}, value: *img}}  # kscan: ignore x" for k in range(8)]
        lines.append("    args: [*img, *n1, *n2, *img]  # kscan: ignore[x] y")
        lines.append("  initContainers:\n  - {name: i, image: *img, env: *env}  # kscan: ignore")
        documents.append("\n".join(lines) + "\n")
    return "---\n".join(documents)


_SCAN_INPUTS = tempfile.TemporaryDirectory(prefix="kscan-linear-")
"""Where the whole-scan cases write their inputs; removed when the test run ends."""


def _scan_case(name: str, make: Callable[[int], str], n: int) -> Case:
    slug = "".join(c if c.isalnum() else "-" for c in name)

    def write(size: int) -> str:
        path = Path(_SCAN_INPUTS.name) / f"{slug}-{size}.yaml"
        path.write_text(make(size), encoding="utf-8")
        return str(path)

    return Case(f"scan: {name}", write, lambda path: scan([path], _shipped_rules()), n)


_SCAN_CASES = [
    _scan_case(
        "30 KB comment line",
        lambda n: _POD.format(i=0) + "    image: x  # kscan: ignore" + " x" * (n // 2) + "\n",
        30_000,
    ),
    _scan_case(
        "unclosed ignore[ comment line",
        lambda n: _POD.format(i=0) + "    image: x  # kscan: ignore[" * (n // 24) + "\n",
        60_000,
    ),
    _scan_case(
        "200 KB env value",
        lambda n: (
            _POD.format(i=0)
            + "    image: x\n    env:\n    - {name: T, value: '"
            + "eyJ-" * (n // 4)
            + "'}\n"
        ),
        200_000,
    ),
    _scan_case("alias-heavy documents", _alias_documents, 10),
]

CASES = [
    *_SECRET_CASES,
    *_SUPPRESSION_CASES,
    *_RULE_CASES,
    *_CODE_CASES,
    *_WALK_CASES,
    *_SCAN_CASES,
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_time_grows_linearly(case: Case) -> None:
    """Four times the input takes about four times as long (a quadratic case: sixteen)."""
    ratios = []
    for _attempt in range(2):  # a second chance when the machine was busy
        small = best_time(case, case.n)
        if small > BUDGET:  # super-linear already: 4n could take minutes
            pytest.fail(f"{case.name}: n took {small:.1f}s (a linear case takes milliseconds)")
        large = best_time(case, 4 * case.n)
        ratios.append(large / max(small, 1e-4))
        if ratios[-1] < LIMIT:
            return
    pytest.fail(f"{case.name}: 4x the input took {min(ratios):.1f}x the time")


@pytest.mark.parametrize("name, pattern", _rule_patterns(), ids=[n for n, _ in _rule_patterns()])
def test_shipped_patterns_pass_the_load_time_check(name: str, pattern: str) -> None:
    assert linear_problem(pattern) is None


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",
        r"(a|aa)+$",
        r"(\w+\s?)*$",
        r"(a{1,2})+$",
        r"^\s*\S*\s*$",
        r"^.*x.*y",
        r"^a+a+$",
        r"[A-Za-z0-9]+=",
        r"(a)\1",
        r"x(?!.*a)",
        r"(?i)^(A+a+)$",
        r"^(?:a+){2}$",
        r"(?:a{1,100}){1,100}$",
        r"^a{1,256}a{1,256}$",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ],
)
def test_backtracking_patterns_are_refused(pattern: str) -> None:
    assert linear_problem(pattern) is not None


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[a-z-]+-[a-z]+$",
        r"^(?!.*@)(?:.*/)?[^/:]+(?::latest)?$",
        r"password=\S+",
        r"^(-[a-z0-9]+)*$",
        r"(^|[\s;&|(`/])sudo(\s|$)",
        r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    ],
)
def test_linear_patterns_are_accepted(pattern: str) -> None:
    assert linear_problem(pattern) is None


def test_a_rule_with_a_backtracking_pattern_does_not_load(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[1] / "rules" / "images" / "image-digest.yaml"
    text = shipped.read_text(encoding="utf-8")
    text = text.replace("id: KS", "id: ACME").replace("name: image-digest", "name: slow")
    text = re.sub(r"pattern: '[^']*'", "pattern: '(a+)+$'", text)
    (tmp_path / "slow.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(Exception, match="super-linear time: repeats nested"):
        load_rules(custom=tmp_path)


_OLD_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


@pytest.mark.parametrize(
    "value",
    [
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "Bearer-eyJaaaaaaaa.eyJbbbbbbbb.cccccccc",
        "x" * 5000 + " eyJaaaaaaaa.eyJbbbbbbbb.cccccccc",
        "a.eyJxxxxxxxx.eyJyyyyyyyy.zzzzzzzz",
        "eyJ-" * 1000 + "aaaaaaaa.eyJbbbbbbbb.cccccccc",
        "éeyJaaaaaaaa.eyJbbbbbbbb.cccccccc",
        "eyJaaaaaaa.eyJbbbbbbbb.cccccccc",
        "eyJaaaaaaaa.eyJbbbbbbbb.ccccccc",
        "eyJ-eyJ-eyJ-",
    ],
)
def test_jwt_finder_agrees_with_the_regular_expression(value: str) -> None:
    """The linear JWT finder finds what the single (quadratic) expression found, wherever the
    token is in the value."""
    assert secrets.has_jwt(value) == (_OLD_JWT.search(value) is not None)
