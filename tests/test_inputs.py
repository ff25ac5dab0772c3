"""Bad and unusual inputs through the command line: one clean error line each, never a traceback.

The contract: unparsable input (bad YAML, bad encoding, binary data, Helm templates, alias bombs,
deep nesting, files over the size limit) gives ONE line ``path:line:col: error: ...`` on stderr
(line and column where known), the other inputs are still scanned and reported, and the exit code
is 2. Most tests run the CLI in-process with click's CliRunner; stdin and "no traceback from a
real process" use a subprocess.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import kscan.input.sources
import kscan.scan.file_scan
from kscan.cli import cli
from kscan.input import documents, yaml_events

REPO = Path(__file__).resolve().parents[1]

GOOD_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: good
spec:
  containers:
    - name: app
      image: nginx
      securityContext:
        privileged: true
"""
GOOD_PRIVILEGED_LINE = 10  # the line of "privileged: true" above

ERROR_LINE = re.compile(
    r"^(?P<path>.+?)(?::(?P<line>\d+):(?P<column>\d+))?: error: (?P<message>\S.*)$"
)


# --------------------------------------------------------------------------------------------
# helpers


def _runner() -> CliRunner:
    """A runner with stderr apart from stdout (the default from click 8.2 on)."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:  # click < 8.2
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.stdout)

    def findings(self, rule: str | None = None, path: Path | str | None = None) -> list[dict]:
        return [
            f
            for f in self.report["findings"]
            if (rule is None or f["rule_name"] == rule) and (path is None or f["path"] == str(path))
        ]

    def errors(self, path: Path | str) -> list[dict]:
        return [e for e in self.report["errors"] if e["path"] == str(path)]


def scan(*args: str | Path, stdin: bytes | None = None) -> Run:
    """``kscan --format json ARGS`` in-process."""
    result = _runner().invoke(cli, ["--format", "json", *map(str, args)], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"kscan raised {result.exception!r}") from result.exception
    run = Run(result.exit_code, result.stdout, result.stderr)
    assert_no_traceback(run)
    return run


def scan_process(*args: str | Path, stdin: bytes | None = None, timeout: float = 60) -> Run:
    """``python -m kscan --format json ARGS`` in a real process."""
    proc = subprocess.run(
        [sys.executable, "-m", "kscan", "--format", "json", *map(str, args)],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        cwd=REPO,
        timeout=timeout,
    )
    run = Run(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
    assert_no_traceback(run)
    return run


def assert_no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr, run.stderr
    assert "Traceback" not in run.stdout
    assert "internal error" not in run.stderr, run.stderr


def assert_error_lines_well_formed(run: Run) -> None:
    """Every stderr line is one ``path[:line:col]: error: message`` line."""
    for line in run.stderr.splitlines():
        assert ERROR_LINE.match(line), f"not a one-line error: {line!r}\n{run.stderr}"
    for error in run.report["errors"]:
        assert "\n" not in error["message"], error


def assert_one_error(
    run: Run,
    path: Path | str,
    line: int | tuple[int, ...] | None = None,
    words: tuple[str, ...] = (),
    line_required: bool = True,
) -> dict:
    """Exactly one error for ``path``, one line on stderr, at ``line`` (when given; a tuple: one
    of these lines), exit 2."""
    assert run.code == 2, (run.code, run.stderr)
    assert_error_lines_well_formed(run)
    stderr_lines = [
        text for text in run.stderr.splitlines() if ERROR_LINE.match(text)["path"] == str(path)
    ]
    assert len(stderr_lines) == 1, run.stderr
    match = ERROR_LINE.match(stderr_lines[0])
    assert match is not None
    (error,) = run.errors(path)
    if line is not None and (line_required or "line" in error):
        lines = line if isinstance(line, tuple) else (line,)
        assert error["line"] in lines, error
        assert match["line"] == str(error["line"]), stderr_lines[0]
        assert match["column"] == str(error["column"]), error
    elif line is None:
        assert "line" not in error and "column" not in error and match["line"] is None, error
    message = error["message"].lower()
    for word in words:
        assert word.lower() in message, error
    assert match["message"] == error["message"]
    return error


def assert_good_scanned(run: Run, good: Path) -> None:
    """The good manifest passed alongside the bad input was still scanned and reported."""
    found = run.findings("privileged-container", good)
    assert [(f["line"], f["container"]) for f in found] == [(GOOD_PRIVILEGED_LINE, "app")], (
        run.report["findings"]
    )
    assert run.errors(good) == []


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD_POD, encoding="utf-8")
    return path


@pytest.fixture(params=["libyaml", "ruamel"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each YAML composer kscan can use (libyaml via PyYAML, ruamel.yaml)."""
    composer = getattr(yaml_events, f"events_with_{request.param}")
    monkeypatch.setattr(documents, "event_stream", composer)
    return request.param


def _billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# malformed inputs: one case each


@dataclass(frozen=True)
class Bad:
    name: str
    data: bytes
    line: (
        int | tuple[int, ...] | None
    )  # the line the error names (a tuple: one of them); None: none
    words: tuple[str, ...] = ()
    line_required: bool = True  # False: a backend may not know the line (then none is shown)


MALFORMED = [
    Bad(
        "bad-indentation.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n bad: y\nspec: {}\n",
        5,
        ("invalid YAML",),
    ),
    Bad(
        "unclosed-flow.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: {a: b\nspec: {}\n",
        6,
        ("invalid YAML",),
    ),
    Bad(
        "latin1.yaml",  # invalid UTF-8 in the middle of the file
        b'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n    a: "caf\xe9"\n',
        6,
        ("UTF-8",),
    ),
    Bad(
        "image.yaml",  # binary data: a PNG header and NUL bytes
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06" + bytes(64),
        1,
        ("binary",),
    ),
    Bad(
        "helm-value.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n"
        b"spec:\n  containers: []\n",
        4,
        ("template",),
    ),
    Bad(
        "helm-quoted-value.yaml",
        b'apiVersion: v1\nkind: Pod\nmetadata:\n  name: "{{ .Values.name }}"\n'
        b"spec:\n  containers: []\n",
        4,
        ("template",),
    ),
    Bad(
        "helm-if.yaml",
        b"{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n"
        b"spec:\n  containers: []\n{{- end }}\n",
        1,
        ("template",),
    ),
    Bad(
        "helm-if-inside.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n{{- if .Values.enabled }}\n"
        b"data:\n  a: b\n{{- end }}\n",
        (5, 6),  # the template line, or the next one where libyaml looked for the ':'
        ("template",),
    ),
    Bad(
        "nested.yaml",  # a 10,000-level nested flow sequence
        b"[" * 10_000 + b"]" * 10_000 + b"\n",
        1,
        ("nest",),
        line_required=False,
    ),
    Bad("billion-laughs.yaml", _billion_laughs().encode(), 7, ("alias",)),
    Bad("recursive-alias.yaml", b"a: &a [1, *a]\n", 1, ("alias",), line_required=False),
    Bad(
        "control-char.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\x01y\n",
        4,
        ("character",),
    ),
]


@pytest.mark.parametrize("bad", MALFORMED, ids=lambda bad: bad.name)
def test_malformed_input_is_one_clean_error(
    bad: Bad, backend: str, tmp_path: Path, good: Path
) -> None:
    path = tmp_path / bad.name
    path.write_bytes(bad.data)
    started = time.monotonic()
    run = scan(path, good)
    assert time.monotonic() - started < 10
    assert_one_error(run, path, bad.line, bad.words, bad.line_required)
    assert_good_scanned(run, good)
    assert run.findings(path=path) == []


def test_alias_bomb_fails_fast(tmp_path: Path, good: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_billion_laughs() + "j: [*i, *i, *i, *i, *i, *i, *i, *i, *i]\n")
    started = time.monotonic()
    run = scan(path, good)
    assert time.monotonic() - started < 10
    assert_one_error(run, path, words=("alias",), line=7)  # the alias that passes the budget
    assert_good_scanned(run, good)


def test_file_over_the_size_limit(tmp_path: Path, good: Path) -> None:
    limit = 4096
    big = tmp_path / "big.yaml"
    big.write_text(GOOD_POD + "# padding\n" * 500)
    assert big.stat().st_size > limit
    at_limit = tmp_path / "at-limit.yaml"
    text = GOOD_POD + "#" * (limit - len(GOOD_POD) - 1) + "\n"
    at_limit.write_text(text)
    assert at_limit.stat().st_size == limit

    run = scan("--max-file-size", "4K", big, good, at_limit)
    error = assert_one_error(run, big, None, ("larger than 4 KiB", "--max-file-size"))
    assert error
    assert run.findings(path=big) == []
    assert_good_scanned(run, good)
    assert run.errors(at_limit) == []
    assert [f["line"] for f in run.findings("privileged-container", at_limit)] == [10]
    assert scan("--max-file-size", "8K", big).errors(big) == []


def test_default_size_limit_is_64_mib(tmp_path: Path, good: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(64 * 2**20 + 1)
    run = scan(huge, good)
    assert_one_error(run, huge, None, ("larger than 64 MiB",))
    assert_good_scanned(run, good)


def test_document_count_limit(tmp_path: Path, good: Path) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("---\n".join([GOOD_POD] * 5))
    run = scan("--max-documents", "3", many, good)
    fourth = 3 * (GOOD_POD.count("\n") + 1) + 1  # each document and its "---" line
    assert_one_error(run, many, fourth, ("more than 3 documents", "--max-documents"))
    assert len(run.findings("privileged-container", many)) == 3
    assert_good_scanned(run, good)
    assert run.report["summary"]["documents"] == 3 + 1
    assert scan("--max-documents", "5", many).errors(many) == []


def _nested(levels: int) -> str:
    """A ConfigMap whose data holds ``levels`` nested flow sequences."""
    return GOOD_POD + "  extra: " + "[" * levels + "]" * levels + "\n"


def test_depth_limit(tmp_path: Path, good: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(_nested(30))
    assert scan(deep).errors(deep) == []  # the default (200) leaves room for real manifests
    run = scan("--max-depth", "20", deep, good)
    extra_line = GOOD_POD.count("\n") + 1
    assert_one_error(run, deep, extra_line, ("nested more than 20 levels", "--max-depth"))
    assert_good_scanned(run, good)


def test_depth_up_to_libyaml_cap_in_a_real_process(tmp_path: Path) -> None:
    """Python's recursion limit must not turn a deep but allowed document into an error."""
    deep = tmp_path / "deep.yaml"
    deep.write_text(_nested(990))
    run = scan_process("--max-depth", "1000", deep)
    assert run.code == 1 and json.loads(run.stdout)["errors"] == []
    assert "nested more than 200" in scan_process(deep).stderr


def test_node_limit(tmp_path: Path, good: Path) -> None:
    wide = tmp_path / "wide.yaml"
    wide.write_text(GOOD_POD + "  extra: [" + ", ".join(["x"] * 100) + "]\n")
    run = scan("--max-nodes", "50", wide, good)
    extra_line = GOOD_POD.count("\n") + 1
    assert_one_error(run, wide, extra_line, ("more than 50 nodes", "--max-nodes"))
    assert_good_scanned(run, good)
    assert scan(wide).errors(wide) == []


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--max-file-size", "0"),
        ("--max-file-size", "lots"),
        ("--max-documents", "0"),
        ("--max-depth", "1001"),
        ("--max-nodes", "-1"),
    ],
)
def test_bad_limit_values_are_usage_errors(flag: str, value: str, good: Path) -> None:
    run = scan(flag, value, good)
    assert run.code == 2 and flag in run.stderr and run.stdout == ""


def test_missing_path(tmp_path: Path, good: Path) -> None:
    missing = tmp_path / "nope.yaml"
    run = scan(missing, good)
    assert_one_error(run, missing, None, ("no such file",))
    assert_good_scanned(run, good)


# --------------------------------------------------------------------------------------------
# objects with wrong types in the fields kscan checks

GOOD_SAME_FILE = """\
apiVersion: v1
kind: Pod
metadata:
  name: also-good
spec:
  containers:
    - name: web
      image: nginx
      securityContext:
        privileged: true
"""

WRONG_TYPES = {
    "containers-string": (
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers: "x"\n',
        "containers:",
        "spec.containers",
    ),
    "privileged-quoted": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers:\n"
        '    - name: a\n      image: nginx\n      securityContext:\n        privileged: "yes"\n',
        "privileged:",
        "securityContext.privileged",
    ),
    "security-context-list": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  containers:\n"
        "    - name: a\n      image: nginx\n      securityContext: []\n",
        "securityContext:",
        "spec.containers[0].securityContext",
    ),
    "deployment-security-context-list": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: a\n          image: nginx\n"
        "          securityContext: []\n",
        "securityContext:",
        "spec.template.spec.containers[0].securityContext",
    ),
}


@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_a_wrong_type_is_reported_and_the_rest_of_the_object_is_still_checked(
    case: str, tmp_path: Path, good: Path
) -> None:
    """The API server refuses the object, so the bad field is an input error (exit 2), named at
    its line; but it never hides the object's other findings, nor those of the next object."""
    bad_text, marker, field = WRONG_TYPES[case]
    text = bad_text + "---\n" + GOOD_SAME_FILE
    path = tmp_path / "mixed.yaml"
    path.write_text(text)
    lines = text.splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if line.strip().startswith(marker))
    good_line = next(i for i, line in enumerate(lines, 1) if "privileged: true" in line)

    run = scan(path, good)
    error = assert_one_error(run, path, bad_line, (field.lower(), "bad"))
    assert "invalid" in error["message"]
    found = run.findings("privileged-container", path)
    assert [(f["line"], f["name"], f["container"]) for f in found] == [
        (good_line, "also-good", "web")
    ]
    assert any(f["name"] == "bad" for f in run.findings(path=path))
    assert_good_scanned(run, good)


# --------------------------------------------------------------------------------------------
# inputs that are fine


def test_unknown_kinds_and_documents_without_kind_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
        'spec: {containers: "x", securityContext: []}\n'
        "---\napiVersion: v1\nmetadata: {name: no-kind}\n"
        "spec:\n  containers:\n    - {name: a, image: x, securityContext: {privileged: true}}\n"
        "---\njust: data\n"
        "---\n- a\n- b\n"
        "---\nplain scalar\n"
        "---\nkind: 5\napiVersion: v1\n"
    )
    run = scan(path)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    assert run.report["errors"] == []
    assert run.report["findings"] == []


def test_duplicate_key_is_reported_and_last_value_wins(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: dup\nspec:\n  containers:\n"
        "    - name: app\n      image: nginx\n      securityContext:\n"
        "        privileged: false\n        privileged: true\n"
    )
    run = scan(path)
    assert run.code == 1
    assert run.report["errors"] == []
    (dup,) = run.findings("duplicate-key")
    assert dup["line"] == 11
    assert "10" in dup["message"] and "11" in dup["message"]
    (privileged,) = run.findings("privileged-container")
    assert (privileged["line"], privileged["container"]) == (11, "app")


def test_duplicate_key_in_json(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "apiVersion": "v1"\n}\n')
    run = scan(path)
    (dup,) = run.findings("duplicate-key")
    assert dup["line"] == 4 and "2" in dup["message"] and "4" in dup["message"]


def test_list_kinds_are_flattened_with_item_lines(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(
        """\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata:
      name: one
    spec:
      containers:
        - name: a
          image: nginx
          securityContext:
            privileged: true
  - apiVersion: apps/v1
    kind: DeploymentList
    items:
      - apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: two
        spec:
          template:
            spec:
              containers:
                - name: b
                  image: nginx
                  securityContext:
                    privileged: true
---
apiVersion: v1
kind: PodList
items:
  - apiVersion: v1
    kind: Pod
    metadata:
      name: three
    spec:
      containers:
        - name: c
          image: nginx
          securityContext:
            privileged: true
"""
    )
    run = scan(path)
    assert run.code == 1
    assert run.report["errors"] == []
    found = run.findings("privileged-container")
    assert [(f["line"], f["column"], f["kind"], f["name"], f["container"]) for f in found] == [
        (13, 13, "Pod", "one", "a"),
        (28, 21, "Deployment", "two", "b"),
        (42, 13, "Pod", "three", "c"),
    ]
    assert run.report["summary"]["objects"] == 3


def test_merge_keys_are_applied(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        """\
apiVersion: v1
kind: Pod
metadata:
  name: merged
spec:
  containers:
    - &base
      name: base
      image: nginx
      securityContext:
        privileged: true
    - <<: *base
      name: child
    - <<: [*base]
      name: overridden
      securityContext:
        privileged: false
"""
    )
    run = scan(path)
    assert run.code == 1
    assert run.report["errors"] == []
    found = run.findings("privileged-container")
    assert sorted(f["container"] for f in found) == ["base", "child"]


def test_merge_key_from_defaults_mapping(tmp_path: Path) -> None:
    path = tmp_path / "defaults.yaml"
    path.write_text(
        """\
apiVersion: v1
kind: Pod
metadata:
  name: defaults
spec:
  securityContext: &defaults
    runAsNonRoot: true
  containers:
    - name: app
      image: nginx
      securityContext:
        <<: *defaults
        privileged: true
"""
    )
    run = scan(path)
    assert run.report["errors"] == []
    assert [f["container"] for f in run.findings("privileged-container")] == ["app"]
    assert run.findings("run-as-non-root") == []


def test_equals_sign_scalar_is_a_string(tmp_path: Path) -> None:
    path = tmp_path / "equals.yaml"
    path.write_text(GOOD_POD.replace("name: good", "name: =\n  labels:\n    op: ="))
    run = scan(path)
    assert run.code == 1
    assert run.report["errors"] == []  # labels must be strings: "=" is one
    assert [f["name"] for f in run.findings("privileged-container")] == ["="]


def test_custom_tags_are_never_constructed(tmp_path: Path) -> None:
    touched = tmp_path / "pwned-system"
    opened = tmp_path / "pwned-open"
    path = tmp_path / "tags.yaml"
    path.write_text(
        f"""\
apiVersion: v1
kind: Pod
metadata:
  name: !Ref web
  labels:
    app: !GetAtt Web.Name
spec:
  x-run: !!python/object/apply:os.system ["touch {touched}"]
  x-open: !!python/object/apply:builtins.open ["{opened}", "w"]
  x-name: !!python/name:os.system
  containers:
    - name: app
      image: nginx
      securityContext:
        privileged: true
--- !!python/object/apply:os.system
- touch {touched}
"""
    )
    run = scan(path)
    assert not touched.exists()
    assert not opened.exists()
    assert run.report["errors"] == []
    assert run.code == 1
    assert [f["name"] for f in run.findings("privileged-container")] == ["web"]


def test_json_with_tabs_has_correct_lines(tmp_path: Path) -> None:
    path = tmp_path / "pod.json"
    path.write_text(
        '{\n\t"apiVersion": "v1",\n\t"kind": "Pod",\n\t"metadata": {\n\t\t"name": "j"\n\t},\n'
        '\t"spec": {\n\t\t"containers": [\n\t\t\t{\n\t\t\t\t"name": "c",\n'
        '\t\t\t\t"image": "nginx",\n\t\t\t\t"securityContext": {\n'
        '\t\t\t\t\t"privileged": true\n\t\t\t\t}\n\t\t\t}\n\t\t]\n\t}\n}\n'
    )
    run = scan(path)
    assert run.code == 1
    assert run.report["errors"] == []
    (found,) = run.findings("privileged-container")
    assert (found["line"], found["column"], found["container"]) == (13, 6, "c")


def test_multi_document_file_with_empty_documents_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "multi.yaml"
    text = "# leading comment\n---\n---\n# only a comment\n---\n" + GOOD_POD + "---\n\n...\n---\n"
    text += "# trailing comment\n---\n" + GOOD_POD.replace("name: good", "name: second")
    path.write_text(text)
    run = scan(path)
    assert run.code == 1
    assert run.report["errors"] == []
    found = run.findings("privileged-container")
    assert [(f["line"], f["name"]) for f in found] == [(15, "good"), (31, "second")]


@pytest.mark.parametrize(
    "encoding",
    [
        pytest.param(lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"), id="utf-8-bom"),
        pytest.param(lambda text: b"\xff\xfe" + text.encode("utf-16-le"), id="utf-16-le-bom"),
        pytest.param(lambda text: b"\xfe\xff" + text.encode("utf-16-be"), id="utf-16-be-bom"),
    ],
)
def test_byte_order_marks_are_decoded(encoding: Any, tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(encoding(GOOD_POD.replace("name: good", "name: caf\u00e9")))
    run = scan(path)
    assert run.code == 1
    assert run.report["errors"] == []
    (found,) = run.findings("privileged-container")
    assert (found["line"], found["column"], found["name"]) == (10, 9, "caf\u00e9")


def test_directory_is_walked_recursively(tmp_path: Path) -> None:
    top = tmp_path / "manifests"
    (top / "a" / "b").mkdir(parents=True)
    (top / "c").mkdir()
    (top / "top.yaml").write_text(GOOD_POD)
    (top / "a" / "b" / "deep.yml").write_text(GOOD_POD.replace("name: good", "name: deep"))
    (top / "c" / "pod.json").write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "json"},
                "spec": {
                    "containers": [
                        {"name": "j", "image": "x", "securityContext": {"privileged": True}}
                    ]
                },
            },
            indent=2,
        )
    )
    (top / "notes.txt").write_text("{{ .Values.broken }}\n: not: yaml: [\n")
    (top / "a" / "README.md").write_text("# readme\n")
    (top / "a" / "b" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))

    run = scan(top)
    assert run.code == 1
    assert run.stderr == ""
    assert run.report["errors"] == []
    assert run.report["summary"]["files"] == 3
    found = run.findings("privileged-container")
    assert sorted((Path(f["path"]).name, f["name"]) for f in found) == [
        ("deep.yml", "deep"),
        ("pod.json", "json"),
        ("top.yaml", "good"),
    ]


# --------------------------------------------------------------------------------------------
# real processes: stdin, and no traceback whatever the input


def test_stdin_with_stdin_filename(good: Path) -> None:
    run = scan_process("--stdin-filename", "piped.yaml", "-", good, stdin=GOOD_POD.encode())
    assert run.code == 1
    assert run.report["errors"] == []
    found = run.findings("privileged-container")
    assert sorted((f["path"], f["line"]) for f in found) == sorted(
        [("piped.yaml", 10), (str(good), 10)]
    )


def test_stdin_default_name() -> None:
    run = scan_process("-", stdin=GOOD_POD.encode())
    assert run.code == 1
    assert [f["path"] for f in run.findings("privileged-container")] == ["<stdin>"]


def test_stdin_json_with_tabs() -> None:
    text = '{\n\t"apiVersion": "v1",\n\t"kind": "Pod",\n\t"metadata": {"name": "j"},\n'
    text += '\t"spec": {"containers": [{"name": "c", "image": "x",\n'
    text += '\t\t"securityContext": {"privileged": true}}]}\n}\n'
    run = scan_process("--stdin-filename", "pod.json", "-", stdin=text.encode())
    assert run.report["errors"] == []
    assert [(f["path"], f["line"]) for f in run.findings("privileged-container")] == [
        ("pod.json", 6)
    ]


def test_bad_stdin_names_the_stdin_filename(good: Path) -> None:
    helm = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n"
    run = scan_process("--stdin-filename", "chart/pod.yaml", "-", good, stdin=helm)
    assert_one_error(run, "chart/pod.yaml", 4, ("template",))
    assert_good_scanned(run, good)


def test_binary_stdin(good: Path) -> None:
    run = scan_process("-", good, stdin=b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert_one_error(run, "<stdin>", 1)
    assert_good_scanned(run, good)


def test_all_bad_inputs_in_one_process(tmp_path: Path, good: Path) -> None:
    """Every malformed input at once in a real process: one error line each, exit 2."""
    paths = []
    for bad in MALFORMED:
        path = tmp_path / bad.name
        path.write_bytes(bad.data)
        paths.append(path)
    missing = tmp_path / "missing.yaml"
    started = time.monotonic()
    run = scan_process(*paths, missing, good)
    assert time.monotonic() - started < 30
    assert run.code == 2
    assert_error_lines_well_formed(run)
    named = sorted(ERROR_LINE.match(line)["path"] for line in run.stderr.splitlines())
    assert named == sorted(map(str, [*paths, missing]))
    assert_good_scanned(run, good)


# --------------------------------------------------------------------------------------------
# regressions for problems found while writing these tests


@pytest.mark.parametrize("value", ["0x_", "0b_", "0o_", "1:20", "0x1p3"])
def test_scalars_go_yaml_leaves_as_strings_do_not_abort_the_scan(
    value: str, tmp_path: Path, good: Path
) -> None:
    """Spellings go-yaml v2 does not read as numbers stay strings (a wrong type only where a
    checked field holds one), never a crash that stops the other inputs."""
    path = tmp_path / "scalar.yaml"
    path.write_text(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: s\nx-extra: {value}\n")
    run = scan(path, good)
    assert_good_scanned(run, good)
    assert run.code == 1 and run.errors(path) == []


@pytest.mark.parametrize("value", ["!!int abc", "!!float abc", "!!int 1.5", "!!bool 1"])
def test_a_tag_that_contradicts_its_scalar_is_an_error(
    value: str, tmp_path: Path, good: Path
) -> None:
    """go-yaml v2 refuses the whole document ("cannot decode !!str `abc` as a !!int"), so
    kubectl sends nothing: one error at the scalar, without quoting it; other files scanned."""
    path = tmp_path / "scalar.yaml"
    path.write_text(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: s\nx-extra: {value}\n")
    run = scan(path, good)
    error = assert_one_error(run, path, 5, ("cannot decode",))
    assert value.split()[1] not in error["message"]
    assert_good_scanned(run, good)


def test_duplicate_keys_next_to_large_alias_expansion_are_fast(tmp_path: Path) -> None:
    """Duplicate keys are located without walking the alias-expanded tree once per duplicate."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "dups:"]
    lines += [f"  m{i}: {{k: 1, k: 2}}" for i in range(300)]
    lines.append('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    previous = "a"
    for name in "bcdef":  # 9**6 (about 530,000) leaves: under the alias budget
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    lines.append("g: [*f, *f]")
    path = tmp_path / "dups.yaml"
    path.write_text("\n".join(lines) + "\n")
    try:
        run = scan_process(path, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("kscan took more than 15 s on a 20 kB file with 300 duplicate keys")
    assert run.report["errors"] == []
    assert len(run.findings("duplicate-key")) == 300


def test_go_template_text_in_rendered_manifest_is_not_an_error(tmp_path: Path) -> None:
    """Alertmanager (and other Go-template users) write ``{{ template "name" . }}`` in strings of
    perfectly valid, rendered manifests; only Helm-specific expressions mean "unrendered chart"."""
    path = tmp_path / "alertmanagerconfig.yaml"
    path.write_text(
        """\
apiVersion: monitoring.coreos.com/v1alpha1
kind: AlertmanagerConfig
metadata:
  name: slack
spec:
  receivers:
    - name: slack
      slackConfigs:
        - title: '{{ template "slack.default.title" . }}'
          text: "{{ range .Alerts }}{{ .Annotations.description }}{{ end }}"
"""
    )
    run = scan(path)
    assert run.report["errors"] == [], run.stderr
    assert run.code == 0


def test_fifos_in_directories_are_skipped_not_read(tmp_path: Path, good: Path) -> None:
    """A FIFO found by walking a directory would block forever; named explicitly it is read."""
    folder = tmp_path / "d"
    folder.mkdir()
    os.mkfifo(folder / "pipe.yaml")
    (folder / "UPPER.YAML").write_text(good.read_text())
    run = scan_process(folder, timeout=20)
    assert run.report["summary"]["files"] == 1


# --------------------------------------------------------------------------------------------
# File-system oddities: clear errors, no hang, the other files still scanned


def test_symlink_loops_and_broken_links(tmp_path: Path, good: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.yaml").symlink_to("b.yaml")
    (tree / "b.yaml").symlink_to("a.yaml")
    (tree / "gone.yaml").symlink_to("nowhere.yaml")
    (tree / "up").symlink_to("..")  # a directory loop: links to directories are not followed
    (tree / "notes.txt").symlink_to("notes.txt")  # not a manifest name: ignored
    run = scan_process(tree, good, timeout=20)
    assert run.code == 2
    assert [e["message"] for e in run.errors(tree / "a.yaml")] == ["symbolic link loop"]
    assert [e["message"] for e in run.errors(tree / "b.yaml")] == ["symbolic link loop"]
    assert "broken symbolic link" in run.errors(tree / "gone.yaml")[0]["message"]
    assert len(run.report["errors"]) == 3
    assert_good_scanned(run, good)
    named = scan(tree / "a.yaml", good)
    assert_one_error(named, tree / "a.yaml", None, ("symbolic link loop",))


def test_problems_inside_context_paths_are_not_errors(tmp_path: Path, good: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.yaml").symlink_to("a.yaml")
    run = scan("--context", tree, good)
    assert run.report["errors"] == []
    assert_good_scanned(run, good)


def test_directory_named_like_a_manifest_is_walked(tmp_path: Path, good: Path) -> None:
    folder = tmp_path / "charts.yaml"
    folder.mkdir()
    shutil.copy(good, folder / "pod.yaml")
    run = scan(folder)
    assert run.report["errors"] == []
    assert len(run.findings("privileged-container", folder / "pod.yaml")) == 1


def test_sockets_are_skipped_in_walks_and_an_error_when_named(tmp_path: Path, good: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tree / "s.yaml"))
        walked = scan_process(tree, good, timeout=20)
        assert walked.report["errors"] == [] and walked.report["summary"]["files"] == 1
        named = scan_process(tree / "s.yaml", good, timeout=20)
        assert_one_error(named, tree / "s.yaml", None, ("cannot read",))
        assert_good_scanned(named, good)
    finally:
        server.close()


def test_unreadable_file_and_directory(
    tmp_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated: the tests may run as root, which ignores permission bits."""
    tree = tmp_path / "tree"
    (tree / "locked").mkdir(parents=True)
    shutil.copy(good, tree / "locked" / "inside.yaml")
    shutil.copy(good, tree / "secret.yaml")
    real_scandir, real_open = os.scandir, open

    def scandir(path: Any = ".") -> Any:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("secret.yaml"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(kscan.input.sources, "open", guarded_open, raising=False)
    run = scan(tree, good)
    assert run.code == 2
    assert run.errors(tree / "locked")[0]["message"] == "cannot read directory: Permission denied"
    assert run.errors(tree / "secret.yaml")[0]["message"] == "cannot read: Permission denied"
    assert_good_scanned(run, good)


def test_file_that_vanishes_mid_scan(
    tmp_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copy(good, tree / "a.yaml")
    shutil.copy(good, tree / "b.yaml")
    real_read = kscan.scan.file_scan.read_source

    def read_after_deleting_a(path: str, *args: Any) -> Any:
        if path.endswith("a.yaml"):
            os.unlink(path)
        return real_read(path, *args)

    monkeypatch.setattr(kscan.scan.file_scan, "read_source", read_after_deleting_a)
    run = scan(tree)
    assert_one_error(run, tree / "a.yaml", None, ("No such file",))
    assert len(run.findings("privileged-container", tree / "b.yaml")) == 1


@pytest.mark.slow  # several seconds: CI runs it with the slow tests
def test_non_utf8_file_names_give_valid_utf8_reports(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.yaml")
    try:
        (tmp_path / name).write_text(GOOD_POD)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system rejects file names that are not UTF-8")
    shown = str(tmp_path / "caf\\xe9.yaml")
    for output in ("json", "sarif", "junit", "text", "github", "markdown"):
        proc = subprocess.run(
            [sys.executable, "-m", "kscan", "--format", output, "--base-dir", tmp_path, tmp_path],
            capture_output=True,
            cwd=REPO,
            timeout=60,
        )
        assert proc.returncode == 1, proc.stderr
        text = proc.stdout.decode("utf-8")  # raises if a report is not valid UTF-8
        assert "xe9.yaml" in text, (output, text[:300])  # escaped as \xe9 (in SARIF: %5Cxe9)
    report = json.loads(scan_process(tmp_path).stdout)
    assert {f["path"] for f in report["findings"]} == {shown}
