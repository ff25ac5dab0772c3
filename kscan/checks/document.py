"""Templates about how a document is written rather than what it configures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kscan.checks.base import NoParams, Violation, template
from kscan.input.documents import Document, Pointer
from kscan.model.extract import is_cluster_scoped
from kscan.support.disclosure import shown_key


@template("duplicate-key", scope="document", params=NoParams)
def duplicate_key(params: NoParams, document: Document) -> Iterator[Violation]:
    """A key written twice in one mapping of a Kubernetes manifest: Kubernetes keeps the last
    value, while reviewers and some tools read the first, so the two disagree about what is
    deployed. Documents without apiVersion and kind (CI files, Helm values) are not manifests."""
    if not _is_manifest(document.data):
        return
    for duplicate in document.duplicates:
        pointer = duplicate.pointer or ()
        field = ".".join(map(shown_key, pointer)) if duplicate.pointer else "a key"
        first, last = duplicate.first, duplicate.last
        lines = (
            f"line {first.line}, columns {first.column} and {last.column}"
            if first.line == last.line
            else f"lines {first.line} and {last.line}"
        )
        if duplicate.spelled_alike:
            same_line = first.line == last.line
            where = f"at column {last.column}" if same_line else f"on line {last.line}"
            applied = f"the value {where} is the one applied"
            message = f"Key '{field}' is written twice ({lines}); {applied}."
        else:
            message = (
                f"Two keys become the JSON key '{field}' ({lines}, spelled differently, such "
                'as 1 and "1"); which value Kubernetes applies is left to chance.'
            )
        about = _holder(document, pointer)
        yield Violation(pointer, message, about=about, record=duplicate)


@template("merge-key-conflict", scope="document", params=NoParams)
def merge_key_conflict(params: NoParams, document: Document) -> Iterator[Violation]:
    """A key whose value depends on the client because of a ``<<`` merge: kubectl (go-yaml v2)
    applies merges where they are written, kustomize (kyaml) lets explicit keys win and also
    merges ``!!merge``-tagged keys. Both readings are checked by the other rules; this says
    which lines each client applies, never the values."""
    if not _is_manifest(document.data):
        return
    for conflict in document.merge_conflicts:
        pointer = conflict.pointer or ()
        field = ".".join(map(shown_key, pointer)) if conflict.pointer else "a key"
        kubectl = f"line {conflict.kubectl.line}" if conflict.kubectl else "no value"
        kustomize = f"line {conflict.kustomize.line}" if conflict.kustomize else "no value"
        message = (
            f"Key '{field}' depends on the client because of a '<<' merge: kubectl (go-yaml v2) "
            f"applies {kubectl}, kustomize (kyaml) {kustomize}; both readings are checked."
        )
        yield Violation(pointer, message, about=_holder(document, pointer), record=conflict)


@template("kubectl-separator", scope="document", params=NoParams)
def kubectl_separator(params: NoParams, document: Document) -> Iterator[Violation]:
    """A document that starts at a ``---`` line only kubectl reads as a separator (followed by
    invisible Unicode spaces, or by ``#`` without a space): other YAML readers, and reviewers,
    see the text below as part of the document above."""
    separator = document.kubectl_separator
    if separator is None or not _is_manifest(document.data):
        return
    message = (
        f"Line {separator.span.line} is a document separator to kubectl only ('---' followed by "
        "invisible spaces or a '#' without a space): other YAML readers see this object as "
        "text of the document above; kscan checks it as kubectl applies it."
    )
    yield Violation((), message, about=_holder(document, ()), record=separator)


def _is_manifest(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("kind"), str) and "apiVersion" in data


def _holder(document: Document, pointer: Pointer) -> tuple[str, str | None, str]:
    """(kind, namespace, name) of the innermost object (a List item, or the document itself)
    that holds the pointer."""
    holders = (document.get(pointer[:depth]) for depth in range(len(pointer) + 1))
    best = [node for node in holders if _is_manifest(node)][-1]
    meta = best.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name, namespace = meta.get("name"), meta.get("namespace")
    if is_cluster_scoped(best.get("apiVersion"), best["kind"]):
        namespace = None  # the API server clears it
    return (
        best["kind"],
        namespace if isinstance(namespace, str) else None,
        name if isinstance(name, str) else "<unnamed>",
    )
