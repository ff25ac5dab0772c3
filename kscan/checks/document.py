"""Templates about how a document is written rather than what it configures."""

from __future__ import annotations

from collections.abc import Iterator

from kscan.checks import Params, Violation, template
from kscan.documents import Document


class NoParams(Params):
    pass


@template("duplicate-key", scope="document", params=NoParams)
def duplicate_key(params: NoParams, document: Document) -> Iterator[Violation]:
    """A key written twice in one mapping: Kubernetes keeps the last value, while reviewers and
    some tools read the first, so the two disagree about what is deployed."""
    identity = _document_identity(document)
    for duplicate in document.duplicates:
        field = ".".join(str(part) for part in duplicate.pointer)
        message = (
            f"Key '{field}' is written twice (lines {duplicate.first.line} and "
            f"{duplicate.last.line}); the value on line {duplicate.last.line} is the one applied."
        )
        yield Violation(document, duplicate.pointer, message, identity=identity)


def _document_identity(document: Document) -> tuple[str, str | None, str] | None:
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return None
    meta = data.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name, namespace = meta.get("name"), meta.get("namespace")
    return (
        data["kind"],
        namespace if isinstance(namespace, str) else None,
        name if isinstance(name, str) else "<unnamed>",
    )
