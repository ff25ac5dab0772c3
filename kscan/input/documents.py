"""Parse YAML/JSON text into plain data that remembers where every key and item was written,
judged as Kubernetes' clients decode it.

A file whose first character (after whitespace) is ``{`` is JSON to kubectl and is read as JSON
(``json_reader``); a ``.json`` file that does not parse gets a JSON error, unless its text shows
no sign of a Kubernetes object (``NotAManifest``: JSON with comments, such as tsconfig.json).
Everything else is YAML, read from libyaml's event stream (through PyYAML; ruamel.yaml's C
parser where PyYAML was built without libyaml) by an iterative builder that decodes as go-yaml
v2 does, which kubectl and the API server use (``scalars`` has the scalar rules): tags are never
constructed as objects; ``!!binary`` keys and values are decoded; keys become JSON keys; ``<<``
merges apply where they are written; a duplicate key keeps its last value and is recorded. Where
go-yaml v3 (kustomize) reads a merge differently, the conflict is recorded and its reading is
kept as ``alternate``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import yaml

from kscan.input.document import Document, EmbeddedDocument, Located, plain_path
from kscan.input.json_reader import JsonReader, looks_like_json
from kscan.input.limits import DEFAULT_LIMITS, Limits
from kscan.input.parse_errors import parse_error, too_many_documents, yaml_error
from kscan.input.sources import InputError, Source, read_source
from kscan.input.tree import (
    DuplicateKey,
    MergeConflict,
    ParseError,
    Pointer,
    PosDict,
    PosList,
    SeparatorLine,
    Span,
)
from kscan.input.yaml_builder import Builder, duplicate_keys
from kscan.input.yaml_events import (
    DOCUMENT_END,
    DOCUMENT_START,
    END,
    event_code,
    event_stream,
    kubectl_separators,
    line_column,
)
from kscan.support.values import dataclass

__all__ = [
    "Document",
    "DuplicateKey",
    "EmbeddedDocument",
    "Located",
    "MergeConflict",
    "NotAManifest",
    "ParseError",
    "Pointer",
    "PosDict",
    "PosList",
    "Span",
    "parse",
    "plain_path",
    "read_documents",
]

_FRAMES_PER_LEVEL = 3


"""Python frames per nesting level that recursive walkers of parsed data use, with a margin."""


def read_documents(path: str) -> list[Document] | InputError:
    """The documents of one of kscan's own small files (a configuration or rule file), or its
    first problem: unreadable, undecodable or invalid YAML."""
    source = read_source(path)
    if isinstance(source, InputError):
        return source
    documents, errors = parse(source)
    return errors[0] if errors else documents


@dataclass(frozen=True, slots=True)
class NotAManifest:
    """A ``.json`` file that is not JSON (JSON with comments or trailing commas: tsconfig.json,
    ``.vscode/*.json``, devcontainer.json) and whose text shows no sign of a Kubernetes object:
    a note, where a file that could hold one gets an error (``could_hold_an_object``)."""

    path: str
    message: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: note: {self.message}"


_OBJECT_SIGNS = re.compile(r"kind|apiversion|!", re.IGNORECASE)
"""Text a Kubernetes object needs, however a client reads it: the keys ``kind`` and
``apiVersion`` (in any case, for decoders that match keys loosely), or a YAML tag (``!!binary``
keys are base64, and tags take %-escapes)."""
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
"""A backslash and the character it escapes, read left to right as in a quoted string."""


def could_hold_an_object(text: str) -> bool:
    """Whether a text that no reader of kscan's accepts might still be a Kubernetes object to
    some client (kustomize reads a .json file as YAML; go-yaml and libyaml differ on corners):
    it holds ``kind``, ``apiVersion`` or a tag, or an escape that could spell them (``\\u006b``,
    ``\\x6b``, a backslash that joins two lines). Linear in the text."""
    if _OBJECT_SIGNS.search(text):
        return True
    return any(match.group(1) in "uUxX\r\n" for match in _ESCAPE.finditer(text))


def parse(
    source: Source, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[Document], list[InputError]]:
    """All documents of a source, and the errors met (see ``iter_parse``); notes are dropped."""
    documents: list[Document] = []
    errors: list[InputError] = []
    for item in iter_parse(source, limits):
        if isinstance(item, InputError):
            errors.append(item)
        elif isinstance(item, Document):
            documents.append(item)
    return documents, errors


def iter_parse(
    source: Source, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Document | InputError | NotAManifest]:
    """The documents of a source one at a time, in order, with the errors met where they are
    met, so that a file's documents can be checked and freed one by one. A document that cannot
    be turned into data is reported and skipped; a syntax error, or more documents than
    ``limits.documents``, ends the stream (documents before it are kept). A ``.json`` file
    whose first value is not JSON, in a text that cannot hold an object, is ``NotAManifest``."""
    if sys.getrecursionlimit() < _FRAMES_PER_LEVEL * limits.depth + 200:
        sys.setrecursionlimit(_FRAMES_PER_LEVEL * limits.depth + 200)  # for recursive walkers
    if source.is_json:
        yield from _parse_json_file(source, limits)
    elif looks_like_json(source.text) and _json_parses(source, limits):
        yield from _parse_json(source, limits)
    else:
        # kubectl reads a file that looks like JSON as JSON, and fails where it is not; kustomize
        # and Helm read it as YAML, the reading that can be applied (or whose error a YAML
        # author understands).
        yield from _parse_yaml(source, limits)


def _parse_json_file(
    source: Source, limits: Limits
) -> Iterator[Document | InputError | NotAManifest]:
    read_any = False
    for item in _parse_json(source, limits):
        if (
            isinstance(item, InputError)
            and not read_any
            and item.message.startswith("invalid JSON: ")  # a syntax error, not a limit
            and not could_hold_an_object(source.text)
        ):
            message = (
                f"skipped: not JSON ({item.message.removeprefix('invalid JSON: ')}; comments?) "
                "and no Kubernetes object in sight (no apiVersion or kind)"
            )
            yield NotAManifest(item.path, message, item.line, item.column or 1)
            return
        read_any = True
        yield item


def _json_parses(source: Source, limits: Limits) -> bool:
    """Whether text that looks like JSON reads as JSON to its end: one value at a time is
    held, so that the decision costs a second pass, not the memory of every document."""
    return not any(isinstance(item, InputError) for item in _parse_json(source, limits))


def _parse_json(source: Source, limits: Limits) -> Iterator[Document | InputError]:
    reader = JsonReader(source.text, limits.depth, limits.nodes)
    try:
        for index, (data, span) in enumerate(reader.values()):
            if index == limits.documents:
                yield too_many_documents(source, limits, span.line, span.column)
                return
            duplicates = duplicate_keys(data, reader.duplicates)
            yield Document(source, index, data, span, duplicates, is_json=True)
    except ParseError as exc:
        yield InputError(source.path, str(exc), exc.line, exc.column)


def _parse_yaml(source: Source, limits: Limits) -> Iterator[Document | InputError]:
    text, moved = kubectl_separators(source.text)
    separators = set(moved)
    events = event_stream(text)
    index = 0
    try:
        for event in events:
            if event_code(event) != DOCUMENT_START:
                continue
            if index == limits.documents:
                first = next(events, event)  # the document's first node, if it has one
                mark = (first if event_code(first) < END else event).start_mark
                yield too_many_documents(source, limits, *line_column(mark))
                return
            builder = Builder(limits, source)
            document: Document | InputError | None
            try:
                if event.version not in (None, (1, 1)):
                    raise ParseError(
                        "a %YAML directive other than 1.1: kubectl's decoder (go-yaml v2) "
                        "refuses the document",
                        *line_column(event.start_mark),
                    )
                document = builder.document(events, index)
            except ParseError as exc:
                _skip_document(events)  # a syntax error further on is reported instead
                document = parse_error(source, exc)
            if isinstance(document, Document):
                line = event.start_mark.line + 1
                if line in separators:
                    document.kubectl_separator = SeparatorLine(Span(line, 1, line, 4))
            if document is not None:
                yield document
            index += 1
    except yaml.YAMLError as exc:
        yield yaml_error(source, text, exc)


def _skip_document(events: Iterator[Any]) -> None:
    for event in events:
        if event_code(event) == DOCUMENT_END:
            return
