"""Every rule has failing and passing fixtures; each fixture's findings match its markers.

A failing fixture marks each expected finding of its rule on the finding's line::

    hostNetwork: true  # expect: host-network col=7 field=/spec/template/spec/hostNetwork

A marker is ``<rule>[@<container>] [col=<column>] [field=<pointer>]``; several on one line are
separated by commas. ``col`` is the finding's 1-based column, ``field`` its JSON pointer inside
its document (``Finding.field_path``, ``~1`` for a ``/`` in a key), written without whitespace
or commas. What a marker states is asserted; a marker without ``col`` or ``field`` accepts any.
A marker that does not parse fails the test (``column=7`` is not silently ignored). Each marker
stands for exactly one finding and each finding of the rule needs a marker.

A passing fixture has no finding of its rule. A ``params.yaml`` beside the fixtures sets the
rule's params for them (for rules that do nothing until a team configures them, such as a
registry allow-list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kscan.results.findings import Finding
from kscan.rules.registry import Rule, load_rules
from kscan.scan.engine import scan
from kscan.support.values import replace

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MARKER = re.compile(r"#\s*expect:\s*(.+)$")
EXPECTATION = re.compile(
    r"(?P<rule>[a-z0-9-]+)(?:@(?P<container>[^\s,@]+))?"
    r"(?:\s+col=(?P<column>[1-9][0-9]*))?(?:\s+field=(?P<field>/[^\s,]*))?"
)
RULES = load_rules()
RULES_BY_NAME = {rule.name: rule for rule in RULES}


@dataclass(frozen=True)
class Position:
    """Where a finding is: line and column (1-based), container, field pointer."""

    line: int
    column: int
    container: str | None
    field: str

    @classmethod
    def of(cls, finding: Finding) -> Position:
        return cls(finding.span.line, finding.span.column, finding.container, finding.field_path)

    def __str__(self) -> str:
        container = f"@{self.container}" if self.container else ""
        return f"line {self.line}{container} col={self.column} field={self.field}"


@dataclass(frozen=True)
class Expectation:
    """One marker: the line it is on, its container, and the column and field if it states
    them."""

    line: int
    container: str | None
    column: int | None = None
    field: str | None = None

    def accepts(self, found: Position) -> bool:
        return (
            (found.line, found.container) == (self.line, self.container)
            and self.column in (None, found.column)
            and self.field in (None, found.field)
        )

    def __str__(self) -> str:
        container = f"@{self.container}" if self.container else ""
        column = "" if self.column is None else f" col={self.column}"
        field = "" if self.field is None else f" field={self.field}"
        return f"line {self.line}{container}{column}{field}"


def configured(rule: Rule) -> list[Rule]:
    """All rules, with ``rule`` taking the params its fixture folder sets, if any."""
    params_file = FIXTURES / rule.name / "params.yaml"
    if not params_file.exists():
        return RULES
    params = rule.template.params.model_validate(yaml.safe_load(params_file.read_text()))
    return [replace(r, params=params) if r is rule else r for r in RULES]


def fixture_files(kind: str) -> list[tuple[Rule, Path]]:
    return [
        (rule, path) for rule in RULES for path in sorted((FIXTURES / rule.name).glob(f"{kind}-*"))
    ]


def expected_markers(path: Path, rule: Rule) -> list[Expectation]:
    """The markers of a fixture; a marker naming another rule or not parsing fails."""
    expected: list[Expectation] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = MARKER.search(line)
        if not match:
            continue
        for marker in match.group(1).split(","):
            parsed = EXPECTATION.fullmatch(marker.strip())
            assert parsed, f"{path}:{number}: marker does not parse: {marker.strip()!r}"
            name, container, column, field = parsed.group("rule", "container", "column", "field")
            assert name == rule.name, f"{path}:{number}: marker names another rule: {name}"
            expected.append(
                Expectation(number, container, None if column is None else int(column), field)
            )
    return expected


def unmatched(
    expected: list[Expectation], found: list[Position]
) -> tuple[list[Expectation], list[Position]]:
    """Markers and findings left over by a maximum one-to-one matching of markers to the
    findings they accept (augmenting paths; fixtures have a handful of findings)."""
    owner: dict[int, int] = {}  # finding index -> marker index

    def assign(marker: int, seen: set[int]) -> bool:
        for index, position in enumerate(found):
            if index in seen or not expected[marker].accepts(position):
                continue
            seen.add(index)
            if index not in owner or assign(owner[index], seen):
                owner[index] = marker
                return True
        return False

    matched = {marker for marker in range(len(expected)) if assign(marker, set())}
    return (
        [e for i, e in enumerate(expected) if i not in matched],
        [p for i, p in enumerate(found) if i not in owner],
    )


def check_failing_fixture(rule: Rule, path: Path) -> None:
    """Scan a failing fixture and assert its rule's findings are exactly its markers."""
    expected = expected_markers(path, rule)
    assert expected, f"{path} has no '# expect: {rule.name}' marker"
    result = scan([str(path)], configured(rule))
    assert not result.errors, result.errors
    found = sorted(
        (Position.of(f) for f in result.findings if f.rule.name == rule.name),
        key=lambda p: (p.line, p.column, p.container or "", p.field),
    )
    missing, unexpected = unmatched(expected, found)
    assert not missing and not unexpected, (
        f"{path}:\n"
        + "".join(f"  marker without a finding: {e}\n" for e in missing)
        + "".join(f"  finding without a marker: {p}\n" for p in unexpected)
    )


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_rule_has_failing_and_passing_fixtures(rule: Rule) -> None:
    folder = FIXTURES / rule.name
    assert list(folder.glob("fail-*")), f"{rule.name}: no failing fixture in {folder}"
    assert list(folder.glob("pass-*")), f"{rule.name}: no passing fixture in {folder}"


def test_every_fixture_folder_belongs_to_a_rule() -> None:
    names = {rule.name for rule in RULES}
    strays = [p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in names]
    assert not strays


@pytest.mark.parametrize(
    ("rule", "path"), fixture_files("fail"), ids=lambda value: getattr(value, "name", "")
)
def test_failing_fixture(rule: Rule, path: Path) -> None:
    check_failing_fixture(rule, path)


@pytest.mark.parametrize(
    ("rule", "path"), fixture_files("pass"), ids=lambda value: getattr(value, "name", "")
)
def test_passing_fixture(rule: Rule, path: Path) -> None:
    assert not MARKER.search(path.read_text(encoding="utf-8")), "passing fixtures carry no markers"
    result = scan([str(path)], configured(rule))
    assert not result.errors, result.errors
    assert [f.message for f in result.findings if f.rule.name == rule.name] == []


HOST_NETWORK = """\
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: shop}}
spec:
  hostNetwork: true  # expect: {marker}
  containers:
    - {{name: web, image: web:3}}
"""
RIGHT = "host-network col=3 field=/spec/hostNetwork"


@pytest.mark.parametrize(
    "marker",
    [
        "host-network",
        "host-network col=3",
        "host-network field=/spec/hostNetwork",
        RIGHT,
    ],
)
def test_marker_matches_what_it_states(tmp_path: Path, marker: str) -> None:
    """A marker stating the finding's column and field, or neither, passes."""
    path = tmp_path / "fail-host.yaml"
    path.write_text(HOST_NETWORK.format(marker=marker), encoding="utf-8")
    check_failing_fixture(RULES_BY_NAME["host-network"], path)


@pytest.mark.parametrize(
    ("marker", "complaint"),
    [
        ("host-network col=4 field=/spec/hostNetwork", "marker without a finding"),
        ("host-network col=3 field=/spec/hostPID", "marker without a finding"),
        ("host-network col=3 field=/spec", "marker without a finding"),
        ("host-network@web col=3 field=/spec/hostNetwork", "marker without a finding"),
        (f"{RIGHT}, {RIGHT}", "marker without a finding"),
        ("host-network column=3", "does not parse"),
        ("host-network col=three", "does not parse"),
        ("host-network field=spec/hostNetwork", "does not parse"),
        ("host-network field=/spec/hostNetwork col=3", "does not parse"),
    ],
)
def test_wrong_column_or_field_fails(tmp_path: Path, marker: str, complaint: str) -> None:
    """A marker whose column, field or container is wrong, or that does not parse, fails the
    fixture test instead of matching by line."""
    path = tmp_path / "fail-host.yaml"
    path.write_text(HOST_NETWORK.format(marker=marker), encoding="utf-8")
    with pytest.raises(AssertionError, match=complaint):
        check_failing_fixture(RULES_BY_NAME["host-network"], path)


def test_matching_is_one_to_one_whatever_the_marker_order() -> None:
    """A vague marker does not take the finding a precise one needs."""
    found = [Position(5, 3, None, "/a"), Position(5, 3, None, "/b")]
    vague, precise = Expectation(5, None, 3), Expectation(5, None, 3, "/a")
    assert unmatched([vague, precise], found) == ([], [])
    assert unmatched([precise, vague], found) == ([], [])
    assert unmatched([precise, precise], found) == ([precise], [found[1]])
