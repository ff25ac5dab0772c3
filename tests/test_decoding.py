"""kscan judges the object a Kubernetes client sends: YAML scalars, tags and merge keys as
go-yaml v2 (kubectl, the API server) decodes them, kustomize's reading where it differs, and JSON
as JSON. Facts are cited from the decoders' sources; ``go_yaml/scalars.jsonl`` was written by
the real decoder (``go_yaml/oracle.go``), and the property test asks it directly where Go is
installed."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kscan.results.scan_result import ScanResult

sys.path.insert(0, str(Path(__file__).resolve().parent / "go_yaml"))
from kubectl_reading import ERROR, Oracle, build_oracle, kscan_reading, same

Scan = Callable[..., ScanResult]
TABLE = Path(__file__).resolve().parent / "go_yaml" / "scalars.jsonl"


def table() -> list[dict[str, object]]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if not line.startswith("//")]


def found(result: ScanResult, rule: str) -> list[tuple[int, str | None]]:
    return sorted((f.span.line, f.container) for f in result.findings if f.rule.name == rule)


def rules_hit(result: ScanResult) -> set[str]:
    return {f.rule.name for f in result.findings}


# --- scalars ---------------------------------------------------------------------------------


@pytest.mark.parametrize("row", table(), ids=lambda row: repr(row["spelling"]))
def test_scalars_read_as_go_yaml_v2_and_sigs_yaml_write_them(row: dict[str, object]) -> None:
    """Every spelling of the table, as a value and as a key, gives what sigs.k8s.io/yaml's
    YAMLToJSON gave (or is refused where it refused): ``08`` is 8.0, ``0o17`` is 15, ``1:20`` a
    string, ``y`` true, ``1.0`` the integer 1, a ``yes`` key is ``"true"``, ``!!int abc`` an
    error."""
    spelling = row["spelling"]
    assert same(kscan_reading(f"v: {spelling}\n"), row["value"])
    if row["key"] is not None:
        assert same(kscan_reading(f"{spelling}: x\n"), row["key"])


@pytest.mark.parametrize(
    "spelling, value",
    [
        ("9" * 5000, "9" * 5000),  # ParseInt, ParseUint: ErrRange; ParseFloat: +Inf, ErrRange
        ("-" + "9" * 5000, "-" + "9" * 5000),
        ("0x" + "f" * 3600, "0x" + "f" * 3600),  # hex: no float form without a 'p' exponent
        ("0b" + "1" * 65, "0b" + "1" * 65),
        ("0" * 5000 + "17", 15),  # leading zeros: octal, whatever their number
        ("1" + "0" * 400, "1" + "0" * 400),  # 1e400: beyond float64
        ("1" + "0" * 300, 1e300),
    ],
    ids=lambda item: repr(item)[:12] if isinstance(item, str) else repr(item),
)
def test_huge_number_literals_read_as_go_yaml_v2_reads_them(spelling: str, value: object) -> None:
    """go-yaml v2's ``resolve`` tries ``strconv.ParseInt(plain, 0, 64)``, then ``ParseUint``,
    then ``ParseFloat`` (only where the text has a float's form), and keeps the string when all
    fail (``ParseFloat`` fails with ErrRange beyond float64). No digit is converted beyond what
    64 bits hold, so thousands of digits neither crash nor slow the decoding."""
    assert same(kscan_reading(f"v: {spelling}\n"), {"v": value})


def test_a_huge_number_in_a_field_is_an_input_error_on_that_field(scan_text: Scan) -> None:
    result = scan_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - {name: c, image: nginx:1, ports: [{containerPort: 80, hostPort: "
        + "9" * 5000
        + "}]}\n"
    )
    assert [(e.line, e.message) for e in result.errors] == [
        (6, "Pod 'p' is invalid: spec.containers[0].ports[0].hostPort: expected an integer")
    ]


def test_a_huge_json_number_is_out_of_range(scan_text: Scan) -> None:
    """Kubernetes' JSON decoding reads an integer that no int64 holds as a float64, and fails
    where no float64 holds it either."""
    result = scan_text(
        '{"kind": "ConfigMap", "data": {"a": "b"}, "n": ' + "9" * 5000 + "}", "a.json"
    )
    assert [e.message for e in result.errors] == ["invalid JSON: a number out of range"]


def test_the_table_covers_the_spellings_the_issue_names() -> None:
    spellings = {row["spelling"] for row in table()}
    needed = {"0o0", "0x0", "0b0", "1_000", "+12", "-0", "1:20", "0.0", "0e0", "22.0", "y", "n"}
    assert needed - spellings == set()


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oracle]:
    binary = build_oracle(tmp_path_factory.mktemp("oracle"))
    if isinstance(binary, str):
        pytest.skip(f"the go-yaml oracle cannot be built here: {binary}")
    running = Oracle(binary)
    yield running
    running.close()


SCALAR_CHARACTERS = "0123456789+-._:eExXoObBpPaAfFyYnNtTlLsSuU~ "
WORDS = ["0x", "0o", "0b", "1e", ".inf", ".nan", "yes", "no", "on", "off", "null", "true", "<<"]
TAGS = ["", "", "", "!!int ", "!!float ", "!!bool ", "!!str ", "!!null ", "!!timestamp ", "! "]


@st.composite
def spellings(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(
            st.one_of(st.text(SCALAR_CHARACTERS, min_size=1, max_size=6), st.sampled_from(WORDS)),
            min_size=1,
            max_size=3,
        )
    )
    return draw(st.sampled_from(TAGS)) + "".join(parts).strip()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spelling=spellings())
def test_generated_spellings_read_as_go_yaml_reads_them(oracle: Oracle, spelling: str) -> None:
    """A property test against the real decoder: any generated spelling, tagged or not, as a
    value and as a key, gives kscan the JSON value sigs.k8s.io/yaml gives (or both refuse it)."""
    for text in (f"v: {spelling}\n", f"{spelling}: x\n"):
        expected = oracle.ask(text)
        assert same(kscan_reading(text), expected), (text, expected)


# --- tags ------------------------------------------------------------------------------------

BINARY_POD = """\
apiVersion: v1
kind: !!binary UG9k
metadata: {name: b, namespace: ns}
spec:
  containers:
  - name: c
    image: nginx:1.25
    securityContext:
      !!binary cHJpdmlsZWdlZA==: true
      capabilities: {add: [!!binary U1lTX0FETUlO]}
  volumes:
  - name: sock
    hostPath: {path: !!binary L3Zhci9ydW4vZG9ja2VyLnNvY2s=}
"""


def test_binary_tags_are_decoded_in_keys_and_values(scan_text: Scan) -> None:
    """go-yaml v2 (decode.go, ``scalar``) base64-decodes ``!!binary`` into a string, keys
    included: this is a Pod with a privileged container adding SYS_ADMIN and mounting the docker
    socket (UG9k = Pod, cHJpdmlsZWdlZA== = privileged, U1lTX0FETUlO = SYS_ADMIN)."""
    result = scan_text(BINARY_POD)
    assert not result.errors
    assert found(result, "privileged-container") == [(9, "c")]
    assert found(result, "cap-sys-admin") == [(10, "c")]
    assert found(result, "host-path-docker-socket") == [(13, None)]


def test_invalid_base64_is_an_error_not_an_unknown_object(scan_text: Scan) -> None:
    result = scan_text("apiVersion: v1\nkind: !!binary UG9\nmetadata: {name: x}\n")
    assert [(e.line, "base64" in e.message) for e in result.errors] == [(2, True)]


def test_custom_and_python_tags_are_their_text(scan_text: Scan) -> None:
    """An unknown tag leaves the scalar's text (go-yaml's ``resolve`` returns unresolvable tags
    as they are): ``!foo true`` is the string "true", which the API refuses for a boolean; the
    object's other fields are still checked."""
    result = scan_text(
        "apiVersion: v1\nkind: !Pod Pod\nmetadata: {name: t, namespace: ns}\nspec:\n"
        "  containers: [{name: c, image: i:1, securityContext: {privileged: !foo true}}]\n"
    )
    assert [(e.line, e.message) for e in result.errors] == [
        (5, "Pod 't' is invalid: spec.containers[0].securityContext.privileged: expected a boolean")
    ]
    assert "privileged-container" not in rules_hit(result)
    assert "run-as-non-root" in rules_hit(result)


# --- numbers ---------------------------------------------------------------------------------

NUMBERS_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: nums, namespace: ns}
spec:
  securityContext:
    runAsGroup: 0.0
    fsGroup: 0e0
    supplementalGroups: [0x0]
  containers:
  - name: c
    image: nginx:1.25
    ports: [{containerPort: 22.0}]
    securityContext: {runAsUser: 0o0, runAsNonRoot: y}
"""


def test_integral_floats_and_go_integer_spellings_are_the_integers_kubernetes_gets(
    scan_text: Scan,
) -> None:
    """``0.0`` and ``0e0`` reach the API as 0 (json.Marshal writes an integral float64 as its
    digits); ``0o0`` and ``0x0`` are ParseInt base-0 integers; ``y`` is true (resolveMap), so
    only the root UID is reported, not a missing runAsNonRoot."""
    result = scan_text(NUMBERS_POD)
    assert not result.errors
    assert found(result, "run-as-group-root") == [(6, None)]
    assert found(result, "fs-group-root") == [(7, None)]
    assert found(result, "supplemental-groups-root") == [(8, None)]
    assert found(result, "ssh-port") == [(12, "c")]
    messages = [f.message for f in result.findings if f.rule.name == "run-as-non-root"]
    assert messages == ["Container 'c' of Pod 'ns/nums': securityContext.runAsUser is 0."]


def test_sexagesimal_is_a_string_not_a_number(scan_text: Scan) -> None:
    """go-yaml v2 does not read YAML 1.1 base-60 (``1:20`` is the string "1:20"), so a UID
    written that way is a wrong type, never UID 80."""
    result = scan_text(NUMBERS_POD.replace("runAsUser: 0o0", "runAsUser: 1:20"))
    assert [e.message for e in result.errors] == [
        "Pod 'nums' is invalid: spec.containers[0].securityContext.runAsUser: expected an integer"
    ]
    # the wrong field hides nothing else: the root group and the SSH port are still reported
    assert {"run-as-group-root", "ssh-port", "fs-group-root"} <= rules_hit(result)


# --- merge keys ------------------------------------------------------------------------------

MERGE_POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: m, namespace: ns}}
spec:
  containers:
  - name: c
    image: nginx:1.25
    securityContext:
{context}
"""


def merge_pod(*lines: str) -> str:
    return MERGE_POD.format(context="\n".join(f"      {line}" for line in lines))


def test_a_merge_after_an_explicit_key_wins_for_kubectl(scan_text: Scan) -> None:
    """go-yaml v2 applies ``<<`` where it is written (decode.go ``mapping``/``merge``), so the
    merged ``privileged: true`` overrides the explicit ``false`` above it; kustomize (kyaml
    ``DeAnchor``) lets the explicit key win. The clients disagree: reported, and the dangerous
    reading is checked."""
    result = scan_text(merge_pod("privileged: false", "<<: {privileged: true}"))
    assert found(result, "privileged-container") == [(10, "c")]
    assert found(result, "merge-key-conflict") == [(10, None)]


def test_a_merge_before_an_explicit_key_loses_for_both_clients(scan_text: Scan) -> None:
    result = scan_text(merge_pod("<<: {privileged: true}", "privileged: false"))
    assert found(result, "privileged-container") == []
    assert found(result, "merge-key-conflict") == []
    result = scan_text(merge_pod("<<: {privileged: false}", "privileged: true"))
    assert found(result, "privileged-container") == [(10, "c")]
    assert found(result, "merge-key-conflict") == []


def test_an_explicit_key_wins_for_kustomize_whatever_the_order(scan_text: Scan) -> None:
    """Here kubectl applies the merged ``false`` and kustomize the explicit ``true``: the
    finding comes from kustomize's reading, at the explicit key."""
    result = scan_text(merge_pod("privileged: true", "<<: {privileged: false}"))
    assert found(result, "privileged-container") == [(9, "c")]
    assert found(result, "merge-key-conflict") == [(10, None)]


def test_a_merge_tag_on_another_key_is_a_plain_key_to_kubectl(scan_text: Scan) -> None:
    """go-yaml v2's ``isMerge`` needs the text ``<<``: ``!!merge foo:`` is a key named foo (an
    unknown field). kyaml's ``isMerge`` looks at the tag alone and merges its mapping: that
    reading runs privileged, so it is reported."""
    result = scan_text(merge_pod("!!merge foo: {privileged: true}"))
    assert found(result, "privileged-container") == [(9, "c")]
    assert found(result, "merge-key-conflict") == [(9, None)]


def test_a_quoted_merge_key_is_an_ordinary_key(scan_text: Scan) -> None:
    result = scan_text(merge_pod('"<<": {privileged: true}'))
    assert found(result, "privileged-container") == []
    assert found(result, "merge-key-conflict") == []


def test_two_merge_keys_apply_in_order_for_kubectl(scan_text: Scan) -> None:
    """Both ``<<`` apply in order with go-yaml v2; kyaml refuses a second merge key
    ("duplicate merge key"), so kubectl's reading is the only one."""
    result = scan_text(merge_pod("<<: {privileged: false}", "<<: {privileged: true}"))
    assert found(result, "privileged-container") == [(10, "c")]
    assert found(result, "merge-key-conflict") == []


def test_in_a_merged_list_the_first_mapping_wins(scan_text: Scan) -> None:
    result = scan_text(merge_pod("<<: [{privileged: true}, {privileged: false}]"))
    assert found(result, "privileged-container") == [(9, "c")]


def test_merge_conflict_messages_name_lines_not_values(scan_text: Scan) -> None:
    result = scan_text(merge_pod("privileged: false", "<<: {privileged: true}"))
    (conflict,) = [f for f in result.findings if f.rule.name == "merge-key-conflict"]
    assert "line 10" in conflict.message and "line 9" in conflict.message
    assert "true" not in conflict.message and "false" not in conflict.message


# --- JSON ------------------------------------------------------------------------------------

JSON_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "caf\u00e9-\U0001f600", "namespace": "ns"},
    "spec": {
        "containers": [{"name": "c", "image": "i:1", "securityContext": {"privileged": True}}]
    },
}


def test_json_with_surrogate_pair_escapes_scans(scan_text: Scan) -> None:
    """``json.dumps`` escapes non-ASCII as ``\\ud83d\\ude00`` pairs, which libyaml refuses;
    kubectl reads such a file as JSON, and so does kscan."""
    result = scan_text(json.dumps(JSON_POD), "pod.json")
    assert not result.errors
    (finding,) = [f for f in result.findings if f.rule.name == "privileged-container"]
    assert finding.name == "caf\u00e9-\U0001f600"


def test_json_with_a_newline_before_a_colon_and_a_stream_of_objects(scan_text: Scan) -> None:
    """encoding/json allows whitespace between any tokens and kubectl decodes a stream of
    concatenated objects; the second object's finding points at its line."""
    first = json.dumps(JSON_POD).replace('"privileged":', '"privileged"\n:')
    second = json.dumps({**JSON_POD, "metadata": {"name": "two", "namespace": "ns"}})
    result = scan_text(first + second, "pods.json")
    assert not result.errors
    hits = [(f.name, f.span.line) for f in result.findings if f.rule.name == "privileged-container"]
    assert hits == [("caf\u00e9-\U0001f600", 1), ("two", 2)]


def test_a_yaml_file_that_starts_with_a_brace_is_read_as_json(scan_text: Scan) -> None:
    result = scan_text(json.dumps(JSON_POD), "pod.yaml")
    assert not result.errors and found(result, "privileged-container") == [(1, "c")]


def test_a_lone_surrogate_escape_becomes_the_replacement_character(scan_text: Scan) -> None:
    text = json.dumps(JSON_POD).replace("caf\\u00e9", "caf\\ud800")
    result = scan_text(text, "pod.json")
    assert not result.errors
    assert {f.name for f in result.findings if f.rule.name == "privileged-container"} == {
        "caf\ufffd-\U0001f600"
    }


def test_bad_json_gets_a_json_error(scan_text: Scan) -> None:
    result = scan_text('{"apiVersion": "v1",\n "kind": "Pod",}\n', "pod.json")
    ((line, message),) = [(e.line, e.message) for e in result.errors]
    assert line == 2 and message.startswith("invalid JSON") and "YAML" not in message


def test_json_reading_agrees_with_the_oracle_on_the_corpus_json(oracle: Oracle) -> None:
    corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"
    files = sorted(corpus.rglob("*.json"))
    if not files:
        pytest.skip(f"{corpus} has no JSON files")
    for path in files:
        text = path.read_text(encoding="utf-8")
        expected = oracle.ask(text)
        if expected == ERROR:  # a stream of several objects: sigs.k8s.io/yaml reads one
            continue
        assert same(kscan_reading(text), expected), path


FLOW_CHARACTERS = SCALAR_CHARACTERS + "'\"!#&*[]{},|>%@`\\?"


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spelling=st.text(FLOW_CHARACTERS, min_size=1, max_size=10))
def test_no_text_reads_as_another_value_than_kubectl_reads(oracle: Oracle, spelling: str) -> None:
    """Wider than scalars: any short text in block and flow positions. libyaml and go-yaml's
    port of it disagree on some syntax (``?`` inside flow scalars, junk in tags, text after a
    complete root node), so one of them may refuse a text the other reads; but whenever both
    read it, they read the same value."""
    for text in (
        f"v: {spelling}\n",
        f"{spelling}: x\n",
        f"v: [{spelling}]\n",
        f"{{k: {spelling}}}\n",
    ):
        expected, got = oracle.ask(text), kscan_reading(text)
        assert ERROR in (expected, got) or same(got, expected), (text, expected, got)


# --- unknown and misspelled fields -------------------------------------------------------------

SNAKE_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: s, namespace: ns}
spec:
  init_containers:
    - {name: setup, image: i:1, securityContext: {privileged: true}}
  containers:
    - name: c
      image: i:1
      security_context: {capabilities: {add: [SYS_ADMIN]}, run_as_non_root: true}
      securityContext:
        Privileged: true
        runAsNonRoot: true
        capabilities: {Add: [NET_ADMIN]}
"""


def test_unknown_fields_are_never_read_as_the_field_they_resemble(scan_text: Scan) -> None:
    """The API server decodes case-sensitively (sigs.k8s.io/json) and drops unknown fields:
    nothing here adds a capability, runs privileged or runs an init container; each unknown key
    is reported once, at its line, with the field it resembles."""
    result = scan_text(SNAKE_POD)
    assert not result.errors
    hit = rules_hit(result)
    assert not {"privileged-container", "cap-sys-admin", "cap-net-admin"} & hit
    unknown = sorted(
        (f.span.line, f.message.split(": ", 1)[1])
        for f in result.findings
        if f.rule.name == "unknown-field"
    )
    assert [line for line, _ in unknown] == [5, 10, 12, 14]
    assert "did you mean 'initContainers'?" in unknown[0][1]
    assert "did you mean 'securityContext'?" in unknown[1][1]
    assert "did you mean 'privileged'?" in unknown[2][1]
    assert "did you mean 'add'?" in unknown[3][1]


def test_cross_object_rules_see_kustomize_s_reading_too(scan_text: Scan) -> None:
    """kyaml lets the explicit ``resources: [secrets]`` win over the merge below it, so under
    kustomize the role can read secrets: RBAC rules check that reading as well."""
    text = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
  - apiGroups: [""]
    verbs: [get]
    resources: [secrets]
    <<: {resources: [configmaps]}
"""
    result = scan_text(text)
    assert "rbac-read-secrets" in rules_hit(result)
    assert "merge-key-conflict" in rules_hit(result)


def test_a_merge_source_is_itself_read_as_kustomize_reads_it(scan_text: Scan) -> None:
    """A merged anchor with its own merge: kustomize merges its kustomize reading."""
    result = scan_text(
        merge_pod("x-defaults: &m {privileged: true, <<: {privileged: false}}", "<<: *m")
    )
    assert "privileged-container" in rules_hit(result)


def test_json_numbers_are_read_as_kubernetes_reads_them(scan_text: Scan) -> None:
    """Unstructured decoding: an integer beyond int64 is a float; ``1e400`` cannot be read."""
    big = kscan_reading('{"a": 9223372036854775808, "b": 22.0, "c": 1e20}')
    assert same(big, {"a": 9.223372036854776e18, "b": 22, "c": 1e20})  # 1e20 > int64: float
    result = scan_text('{"apiVersion": "v1", "kind": "Pod", "a": 1e400}', "pod.json")
    assert [e.message for e in result.errors] == ["invalid JSON: a number out of range"]


def test_a_yaml_file_that_only_starts_like_json_is_read_as_yaml(scan_text: Scan) -> None:
    text = '{"apiVersion": "v1", "kind": "Pod"}\n---\n' + NUMBERS_POD
    result = scan_text(text)
    assert not result.errors and "ssh-port" in rules_hit(result)


def test_a_duplicate_after_a_merge_names_the_explicit_first_line(scan_text: Scan) -> None:
    result = scan_text(
        merge_pod("privileged: false", "<<: {runAsNonRoot: true}", "privileged: true")
    )
    (duplicate,) = [f for f in result.findings if f.rule.name == "duplicate-key"]
    assert "lines 9 and 11" in duplicate.message


def test_keys_that_only_become_the_same_json_key_are_reported_as_a_coin_toss(
    scan_text: Scan,
) -> None:
    """sigs.k8s.io/yaml turns the int key 1 and the string key "1" into one JSON key, writing
    them from a Go map in random order: neither value can be said to win."""
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  1: first\n  '1': second\n"
    )
    (duplicate,) = [f for f in scan_text(text).findings if f.rule.name == "duplicate-key"]
    assert "left to chance" in duplicate.message
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: first\n  'a': second\n"
    )
    (duplicate,) = [f for f in scan_text(text).findings if f.rule.name == "duplicate-key"]
    assert "line 6 is the one applied" in duplicate.message


# --- documents as kubectl splits them ----------------------------------------------------------


def test_any_object_with_items_is_a_list_and_its_items_inherit_the_kind(scan_text: Scan) -> None:
    """apimachinery's unstructured decoding reads any object with ``items`` as a List (only the
    items are applied); an item with neither kind nor apiVersion takes the List's kind without
    ``List`` and its apiVersion (``decodeToList``)."""
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: decoy, namespace: shop}
items:
- metadata: {name: evil, namespace: shop}
  spec:
    template:
      spec:
        hostPID: true
        containers: [{name: evil, image: busybox:1.36, securityContext: {privileged: true}}]
---
apiVersion: v1
kind: PodList
items:
- metadata: {name: listed, namespace: shop}
  spec:
    containers: [{name: c, image: busybox:1.36, securityContext: {privileged: true}}]
"""
    result = scan_text(text)
    assert found(result, "privileged-container") == [(10, "evil"), (17, "c")]
    assert {f.name for f in result.findings if f.rule.name == "privileged-container"} == {
        "evil",
        "listed",
    }
    assert found(result, "host-pid") == [(9, None)]


@pytest.mark.parametrize("after", ["\u00a0", "\u2003", "#note", "\u3000 # note"])
def test_separators_only_kubectl_sees_split_documents_as_kubectl_does(
    scan_text: Scan, after: str
) -> None:
    """apimachinery's YAMLReader ends a document at a line starting with ``---`` whose rest is
    empty or a comment once trimmed (``strings.TrimSpace``, Unicode spaces too); libyaml would
    read the object below as a string of the ConfigMap above."""
    pod = (
        '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"evil","namespace":"shop"},'
        '"spec":{"hostPID":true,"containers":[{"name":"x","image":"busybox:1.36"}]}}'
    )
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\n---{after}\n{pod}\n"
    result = scan_text(text)
    assert found(result, "host-pid") == [(5, None)]
    assert found(result, "kubectl-only-separator") == [(4, None)]


def test_a_leading_separator_line_does_not_split(scan_text: Scan) -> None:
    """With nothing read yet, kubectl keeps the line in the document (and go-yaml reads a
    string there, as libyaml does)."""
    result = scan_text("---\u00a0\nplain text\n")
    assert not result.errors and list(result.findings) == []


def test_an_annotation_only_kubectl_reads_does_not_suppress_what_kustomize_applies(
    scan_text: Scan,
) -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: shop
  annotations: {}
  <<: {annotations: {kscan.io/ignore: "all: reviewed"}}
spec:
  containers:
  - name: c
    image: busybox:1.36
    securityContext:
      privileged: true
      <<: {privileged: false}
"""
    result = scan_text(text)
    (finding,) = [f for f in result.findings if f.rule.name == "privileged-container"]
    assert finding.suppression is None and finding.span.line == 13
