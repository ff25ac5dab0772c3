"""Bounded memory: a file's documents are parsed, checked and freed one at a time, limits
reserve nothing up front, and the text is handed to the YAML parser without a copy of it."""

from __future__ import annotations

import gc
import io
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kscan.cli import cli
from kscan.input.documents import iter_parse, kubectl_separators
from kscan.input.limits import DEFAULT_LIMITS, parse_size
from kscan.input.sources import InputError, Source, read_at_most
from kscan.model.directives import CommentLines
from kscan.model.inventory import ObjectFacts
from kscan.results.findings import Finding
from kscan.results.suppression import Suppressor
from kscan.rules.profiles import Profiles
from kscan.rules.registry import load_rules
from kscan.scan.file_scan import FileScanner, ScanSetup

DEPLOYMENT = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{n}, namespace: team-{team}}}
spec:
  selector: {{matchLabels: {{app: app-{n}}}}}
  template:
    metadata: {{labels: {{app: app-{n}}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.{n}
        env: [{{name: A, value: "1"}}, {{name: B, value: "2"}}]
      - name: sidecar
        image: envoy:{n}
"""


class Discard:
    """A sink that counts what it is given and keeps nothing."""

    def __init__(self) -> None:
        self.findings = 0
        self.facts = 0

    def add_findings(self, findings: list[Finding]) -> None:
        self.findings += len(findings)

    def add_facts(self, facts: list[ObjectFacts]) -> None:
        self.facts += len(facts)


def _peak_while_scanning(path: Path, documents: int) -> tuple[int, int]:
    """tracemalloc's peak while one file is scanned into a discarding sink, and the findings."""
    path.write_text("".join(DEPLOYMENT.format(n=n, team=n // 40) for n in range(documents)))
    rules = load_rules()
    profiles = Profiles.single(rules)
    sink = Discard()
    setup = ScanSetup(profiles.assign([str(path)]), Suppressor(), DEFAULT_LIMITS, "-")
    scanner = FileScanner(setup, sink)
    gc.collect()
    tracemalloc.start()
    try:
        result = scanner.scan(str(path))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.documents == documents and result.findings == [] and result.facts == []
    assert sink.facts == documents
    return peak, sink.findings


@pytest.mark.slow  # several seconds: CI runs it with the slow tests
def test_a_files_documents_are_checked_and_freed_one_at_a_time(tmp_path: Path) -> None:
    """Four times the documents cost about four times the text, not four times the parsed
    documents, findings and facts (which held everything at once: some 20 times the text)."""
    small, small_findings = _peak_while_scanning(tmp_path / "small.yaml", 60)
    large, large_findings = _peak_while_scanning(tmp_path / "large.yaml", 240)
    assert large_findings == 4 * small_findings > 0
    text_growth = (tmp_path / "large.yaml").stat().st_size - (
        tmp_path / "small.yaml"
    ).stat().st_size
    assert large - small < 3 * text_growth, (small, large, text_growth)


def test_documents_come_out_before_the_rest_of_the_file_is_parsed() -> None:
    text = "a: 1\n---\nb: 2\n---\nc: [\n"
    items = iter_parse(Source("x.yaml", text, len(text), False))
    first = next(items)
    assert not isinstance(first, InputError) and first.data == {"a": 1}
    rest = list(items)
    assert [type(item).__name__ for item in rest] == ["Document", "InputError"]


def test_a_size_limit_reserves_nothing_up_front() -> None:
    """``read(limit)`` would allocate the whole limit before reading a byte."""
    gc.collect()
    tracemalloc.start()
    try:
        data = read_at_most(io.BytesIO(b"kind: Pod\n"), 3 * 2**30)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == b"kind: Pod\n" and peak < 2**20


def test_a_huge_max_file_size_is_accepted_and_an_absurd_one_is_a_usage_error(
    tmp_path: Path,
) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")
    runner = CliRunner()
    accepted = runner.invoke(cli, ["scan", "--max-file-size", "4G", str(pod)])
    assert accepted.exit_code in (0, 1), accepted.output
    for absurd in ("200G", "5G", "9" * 5000):
        refused = runner.invoke(cli, ["scan", "--max-file-size", absurd, str(pod)])
        assert refused.exit_code == 2 and "--max-file-size" in refused.output
        assert "Traceback" not in refused.output and "internal error" not in refused.output
    assert parse_size("4G") == 4 * 2**30
    with pytest.raises(ValueError, match="larger than 4 GiB"):
        parse_size("4097M")


def _separators_by_lines(text: str) -> tuple[str, list[int]]:
    """The reference: kubectl's separator lines found by splitting the text into lines (what
    ``kubectl_separators`` did before it learnt to look only at lines starting with ``---``)."""
    lines = text.split("\n")
    moved = []
    previous_separates = True
    for number, line in enumerate(lines):
        rest = line[3:] if line.startswith("---") else None
        trimmed = rest.strip() if rest is not None else None
        separates = trimmed is not None and (not trimmed or trimmed.startswith("#"))
        if separates and rest and rest[0] not in " \t\r" and not previous_separates:
            lines[number] = f"--- {trimmed}" if trimmed else "---"
            moved.append(number + 1)
        previous_separates = separates
    return ("\n".join(lines), moved) if moved else (text, [])


@given(
    st.lists(
        st.sampled_from(
            [
                "---",
                "--- ",
                "---\u00a0",
                "---#x",
                "--- #x",
                "---\t",
                "----",
                "---a",
                "a: 1",
                "",
                " ---",
                "---\r",
                "---\u2003# c",
                "- x",
            ]
        ),
        max_size=12,
    )
)
def test_kubectl_separators_match_the_line_by_line_reading(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert kubectl_separators(text) == _separators_by_lines(text)


@given(
    st.lists(
        st.sampled_from(["a", "kscan:", "\n", "\r\n", "\r", "\u2028", "x kscan: y", "\x0c", "#"]),
        max_size=16,
    )
)
def test_a_files_comment_lines_are_its_lines_holding_kscan(parts: list[str]) -> None:
    """Suppression comments keep only the lines that hold ``kscan:`` (numbered as
    ``str.splitlines`` numbers them), never a list of every line of the file."""
    text = "".join(parts)
    expected = [(n, line) for n, line in enumerate(text.splitlines(), 1) if "kscan:" in line]
    assert list(CommentLines.of(text).between(1, len(text) + 1)) == expected


def test_pods_that_share_many_fields_are_bounded(tmp_path: Path) -> None:
    """An Argo workflow gives its volumes to each of its templates' pods: n templates and n
    volumes would cost n * n in every pod rule (a 223 KB workflow took 52 s and 730 MB). Past
    ``MAX_POD_FIELDS`` the remaining pods are reported unchecked, as an input error."""
    n = 700
    volumes = "".join(f"  - {{name: v{i}, emptyDir: {{}}}}\n" for i in range(n))
    templates = "".join(f"  - name: t{i}\n    container: {{image: alpine:3}}\n" for i in range(n))
    path = tmp_path / "workflow.yaml"
    path.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w, namespace: x}\n"
        f"spec:\n  entrypoint: t0\n  volumes:\n{volumes}  templates:\n{templates}"
    )
    result = CliRunner().invoke(cli, ["scan", "--format", "json", str(path)])
    errors = [e["message"] for e in __import__("json").loads(result.stdout)["errors"]]
    assert len(errors) == 1 and "pods are not checked" in errors[0], errors
