"""The YAML/JSON loader: values as Kubernetes reads them, positions, duplicates, both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from kscan.input import documents, yaml_events
from kscan.input.documents import PosDict, PosList, Span, parse
from kscan.input.sources import Source

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"
BACKENDS = [yaml_events.events_with_libyaml, yaml_events.events_with_ruamel]


def load(text: str, name: str = "x.yaml"):  # type: ignore[no-untyped-def]
    docs, errors = parse(Source(name, text, len(text), name.endswith(".json")))
    assert errors == [], errors
    return docs


@pytest.fixture(params=BACKENDS, ids=lambda f: f.__name__)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(documents, "event_stream", request.param)
    return request.param


def test_scalars_resolve_as_go_yaml_v2_does(backend: object) -> None:
    (doc,) = load(
        "a: yes\nb: Off\nc: 0x1F\nd: 017\ne: 1_000\nf: .5\ng: ~\nh: =\ni: '0'\nj: 1:30\n"
        "k: -0.5\nl: 2024-01-02\nm: !!str 5\nnn: !custom 7\n"
    )
    data = doc.data
    assert data["a"] is True and data["b"] is False
    assert data["c"] == 31 and data["d"] == 15 and data["e"] == 1000 and data["j"] == "1:30"
    assert data["f"] == 0.5 and data["g"] is None and data["h"] == "="
    assert data["i"] == "0" and data["k"] == -0.5 and data["l"] == "2024-01-02"
    assert data["m"] == "5" and data["nn"] == "7"


def test_custom_tags_are_never_constructed(backend: object, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (doc,) = load(f"x: !!python/object/apply:os.system ['touch {marker}']\nz: !Ref Thing\n")
    assert doc.data == {"x": [f"touch {marker}"], "z": "Thing"}
    assert not marker.exists()


def test_positions_are_one_based_code_points(backend: object) -> None:
    (doc,) = load(
        "metadata:\n  name: \u00e9t\u00e9\n  labels: {app: web}\nlist:\n  - a\n  - {b: 1}\n"
    )
    data = doc.data
    assert isinstance(data, PosDict) and isinstance(data["list"], PosList)
    assert data["metadata"].pos["name"] == Span(2, 3, 2, 12)
    assert data["metadata"]["labels"].pos["app"] == Span(3, 12, 3, 20)
    assert doc.locate(("list", 0)) == (Span(5, 5, 5, 6), True)
    assert doc.locate(("list", 1)) == (Span(6, 6, 6, 10), True)  # a mapping item: its first key


def test_an_alias_key_spans_from_the_alias(backend: object) -> None:
    (doc,) = load("&k name: a\nother: b\nm:\n  *k : c\n  l:\n    *k : [d]\n")
    data = doc.data
    assert data["m"] == {"name": "c", "l": {"name": ["d"]}}
    assert data["m"].pos["name"] == Span(4, 3, 4, 9)  # the alias to the value's end
    assert data["m"]["l"].pos["name"] == Span(6, 5, 6, 7)  # a collection value: the key alone


def test_a_key_written_over_several_lines_spans_them(backend: object) -> None:
    """An explicit key (``? ...``) may be a quoted or block scalar over several lines: its span
    ends where the scalar does (a block scalar's at the start of the line after it), so that a
    span on one line always holds the whole key (it once ended a column after the quote)."""
    (doc,) = load(
        "a:\n  ? '\n\n    '\n  : []\nb:\n  ? |\n    k\n  : []\nc:\n  ? >-\n    k\n  : 1\n"
    )
    data = doc.data
    assert data["a"].pos["\n"] == Span(2, 5, 4, 6)  # a collection value: the key alone
    assert data["b"].pos["k\n"] == Span(7, 5, 9, 1)
    assert data["c"].pos["k"] == Span(11, 5, 13, 6)  # from the key to its value's end


def test_locate_falls_back_to_the_nearest_parent(backend: object) -> None:
    (doc,) = load("spec:\n  containers:\n  - name: web\n    securityContext: {}\n")
    span, exact = doc.locate(("spec", "containers", 0, "securityContext", "privileged"))
    assert (span.line, span.column, exact) == (4, 5, False)
    span, exact = doc.locate(("spec", "containers", 0, "resources", "limits"))
    assert (span.line, span.column, exact) == (3, 5, False)  # the container's first key


def test_duplicate_keys_keep_the_last_value(backend: object) -> None:
    (doc,) = load("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert doc.data == {"a": 3, "b": {"c": 2}}
    found = {(d.pointer, d.first.line, d.last.line) for d in doc.duplicates}
    assert found == {(("a",), 1, 5), (("b", "c"), 3, 4)}


def test_merge_keys(backend: object) -> None:
    (doc,) = load("base: &b {x: 1, w: 2}\nother: &o {z: 3}\nm:\n  <<: [*b, *o]\n  w: 9\n")
    assert doc.data["m"] == {"x": 1, "w": 9, "z": 3}
    assert doc.data["m"].pos["x"].line == 1  # a merged key points where it is written


def test_json_with_tab_indentation_and_duplicates(backend: object) -> None:
    text = '{\n\t"kind": "Pod",\n\t"metadata": {\n\t\t"name": "a",\n\t\t"name": "b"\n\t}\n}\n'
    (doc,) = load(text, "pod.json")
    assert doc.data == {"kind": "Pod", "metadata": {"name": "b"}}
    assert doc.data["metadata"].pos["name"] == Span(5, 3, 5, 14)
    assert [(d.first.line, d.last.line) for d in doc.duplicates] == [(4, 5)]


def test_empty_documents_are_skipped(backend: object) -> None:
    docs = load("---\n# only a comment\n---\na: 1\n---\n")
    assert [d.data for d in docs] == [{"a": 1}]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: [1\n", 2, "did not find expected"),
        ("a: b: c\n", 1, "mapping values are not allowed"),
        ("a: \x07\n", 1, "unacceptable character"),
        ("name: {{ .Values.name }}\n", 1, "template"),
        ("image: 'repo/{{ .Values.image }}'\n", 1, "template"),
        ("a: &a [*a]\n", 1, "alias"),
    ],
)
def test_parse_errors_have_positions(backend: object, text: str, line: int, words: str) -> None:
    _docs, errors = parse(Source("bad.yaml", text, len(text), False))
    assert len(errors) == 1, errors
    assert errors[0].line == line and words in errors[0].message
    assert "\n" not in str(errors[0])


def test_template_text_in_block_scalars_is_data(backend: object) -> None:
    (doc,) = load("data:\n  tpl: |\n    {{ .Values.x }}\n  alert: '{{ $labels.instance }} down'\n")
    assert doc.data["data"]["alert"] == "{{ $labels.instance }} down"


def test_alias_bomb_is_stopped(backend: object, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    _docs, errors = parse(Source("bomb.yaml", "\n".join(lines), 1, False))
    assert len(errors) == 1 and "alias bomb" in errors[0].message


def test_backends_agree_on_the_real_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is missing")
    files = sorted(CORPUS.glob("kubernetes__examples/**/*.y*ml"))[:150]
    files += sorted(CORPUS.glob("istio__istio/**/*.yaml"))[:50]
    for path in files:
        text = path.read_text(encoding="utf-8")
        source = Source(str(path), text, len(text), False)
        results = []
        for compose in BACKENDS:
            documents.event_stream = compose
            try:
                docs, errors = parse(source)
            finally:
                documents.event_stream = BACKENDS[0]
            results.append(([(d.data, _positions(d.data), d.duplicates) for d in docs], errors))
        assert results[0] == results[1], path


def _positions(node: object) -> object:
    if isinstance(node, PosDict):
        return {key: (node.pos[key], _positions(value)) for key, value in node.items()}
    if isinstance(node, PosList):
        return [(span, _positions(value)) for span, value in zip(node.pos, node, strict=True)]
    return None


def test_ruamel_fallback_uses_its_c_parser() -> None:
    """The fallback is only worth having when it is C-backed (a declared dependency on CPython)."""
    from ruamel.yaml import YAML

    assert YAML(typ="safe", pure=False).Parser.__name__ == "CParser"


def test_merge_keys_apply_in_document_order_like_kubernetes(backend: object) -> None:
    """go-yaml v2 (Kubernetes' decoder) applies ``<<`` where it is written."""
    (doc,) = load("a: {privileged: false, <<: {privileged: true}}\nb: {<<: {x: 1}, x: 2}\n")
    assert doc.data == {"a": {"privileged": True}, "b": {"x": 2}}
    assert doc.duplicates == []


def test_plain_y_and_n_are_booleans_like_kubernetes(backend: object) -> None:
    (doc,) = load("a: y\nb: N\nc: 'y'\n")
    assert doc.data == {"a": True, "b": False, "c": "y"}


def test_a_bad_document_does_not_hide_the_next_ones(backend: object) -> None:
    text = "a: 1\n---\n? [x]\n: 1\n---\nb: '{{ .Values.x }}'\n---\nc: 3\n"
    docs, errors = parse(Source("x.yaml", text, len(text), False))
    assert [d.data for d in docs] == [{"a": 1}, {"c": 3}]
    assert [e.line for e in errors] == [3, 6]


def test_duplicate_inside_an_overwritten_mapping(backend: object) -> None:
    (doc,) = load("spec: {a: 1, a: 2}\nspec: {b: 1}\n")
    assert doc.data == {"spec": {"b": 1}}
    assert [(d.pointer, d.first.line, d.last.line) for d in doc.duplicates] == [
        (None, 1, 1),
        (("spec",), 1, 2),
    ]


def test_stable_paths_name_items_by_content_whatever_was_asked_before() -> None:
    """``stable_path`` remembers the prefixes it has worked out; the answers do not depend on
    which pointers were asked first."""
    text = (
        "spec:\n  containers:\n  - name: web\n    args: [--a, 'p@ss word']\n"
        "    securityContext: {capabilities: {add: [SYS_ADMIN, 'x y']}}\n"
        "  - image: nginx\n"
    )
    pointers = [
        ("spec", "containers", 0, "securityContext", "capabilities", "add", 0),
        ("spec", "containers", 0, "securityContext", "capabilities", "add", 1),
        ("spec", "containers", 0, "args", 1),
        ("spec", "containers", 1, "image"),
        ("spec", "containers", 0),
        ("spec", "containers", 5, "image"),
        ("spec", "missing", 0, "x"),
    ]
    expected = [
        "/spec/containers[web]/securityContext/capabilities/add[SYS_ADMIN]",
        "/spec/containers[web]/securityContext/capabilities/add[1]",
        "/spec/containers[web]/args[1]",
        "/spec/containers[1]/image",
        "/spec/containers[web]",
        "/spec/containers/5/image",  # no such item: the pointer as written
        "/spec/missing/0/x",
    ]
    forwards = load(text)[0]
    assert [forwards.stable_path(pointer) for pointer in pointers] == expected
    backwards = load(text)[0]
    assert [backwards.stable_path(pointer) for pointer in reversed(pointers)] == expected[::-1]


def test_kustomize_reading_keeps_the_keys_written_order() -> None:
    """kustomize's reading of a mapping with a merge key lists its explicit keys in the order
    they are written, whatever PYTHONHASHSEED is (they were taken from a set: the reading, and
    the findings reported on it, changed from run to run)."""
    keys = [f"k{i}" for i in range(8)]
    text = "".join(f"{key}: {i}\n" for i, key in enumerate(keys)) + "! <<: {m: 1}\n"
    (doc,) = load(text)
    assert list(doc.data) == [*keys, "m"]
    alternate = doc.alternate_reading()
    assert alternate is not None
    assert list(alternate.data) == [*keys, "<<"]
    text = "".join(f"{key}: {i}\n" for i, key in enumerate(keys)) + "<<: {m: 1}\nz: 2\n"
    (doc,) = load(text)
    reading = doc.alternate_reading()
    assert list(doc.data) == [*keys, "m", "z"]
    assert reading is None or list(reading.data) == ["m", *keys, "z"]


def test_stable_paths_keep_a_true_part_apart_from_the_index_1() -> None:
    """The prefix memo of ``stable_path`` is keyed by pointer tuples, where ``True == 1``: a
    pointer holding ``True`` must get the answer it got before the memo (``[True]``)."""
    text = "items:\n- {a: 1}\n- {a: 2}\n"  # items without a name: shown by their index
    asked_alone = load(text)[0].stable_path(("items", True))
    doc = load(text)[0]
    doc.stable_path(("items", 1))
    assert doc.stable_path(("items", True)) == asked_alone


def test_kustomize_reading_of_a_list_is_its_own_after_a_merge_of_a_list_of_aliases() -> None:
    """``alternates`` names values by ``id``; the list of a ``<<: [*a]`` merge, whose item has
    a reading of its own, is not kept in the tree, so once it is freed a list made later can
    take its id, and kustomize's reading of that list became the merged one
    (``x: [{app: web, <<: ...}]`` for ``x: [1]``)."""
    (doc,) = load(
        "metadata:\n  labels: &b\n    app: web\n    ! <<: {tier: x}\n"
        "spec:\n  containers:\n  - name: c\n    securityContext:\n      <<: [*b]\n"
        "      privileged: false\n      x: [1]\n"
    )
    reading = doc.alternate_reading()
    assert reading is not None
    assert reading.data["spec"]["containers"][0]["securityContext"]["x"] == [1]
    base = "a: &a0\n  p: &a3 {t: 0}\n  ! <<: *a3\n"
    entries = "".join(f"m{i}:\n  <<: [*a0]\n  env: [{i}]\n  e2: [x{i}, z]\n" for i in range(40))
    text = ("---\n" + base + entries) * 5
    for doc in load(text):
        reading = doc.alternate_reading()
        assert reading is not None
        for i in range(40):
            assert reading.data[f"m{i}"]["env"] == [i]
            assert reading.data[f"m{i}"]["e2"] == [f"x{i}", "z"]
