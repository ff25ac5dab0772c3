"""Edits made in YAML text at the positions the parser reports, so that everything else (comments,
key order, quoting, indentation, flow style, document markers, line endings) stays byte for
byte: a value replaced where it is written, a key or list item inserted after the last entry
of its mapping or list, in that collection's own style, or removed with its line (a comment
on that line stays, on a line of its own)."""

from __future__ import annotations

import json
import re
from itertools import islice
from typing import Any

import yaml

from kscan.fix.plan import Edit
from kscan.rules.fixes import Scalar


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A composer that leaves tags unresolved: the edits need positions and styles only."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        return ""


_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*")
_RESERVED = re.compile(r"(?i)y|n|yes|no|on|off|true|false|null|~")


class EditError(Exception):
    """An edit that cannot be made in this text (the reason says why)."""


def compose(text: str) -> list[yaml.Node]:
    """The node trees of the documents of ``text``, with their positions."""
    return [node for node in yaml.compose_all(text, Loader=_Loader) if node is not None]


def make(text: str, root: yaml.Node, edit: Edit) -> str:
    """``text`` with ``edit`` made in the document whose node tree is ``root``; raises
    EditError."""
    newline = "\r\n" if "\r\n" in text else "\n"
    if edit.action == "remove":
        return _remove(text, root, edit.pointer)
    if edit.value is None:
        raise EditError(f"nothing to write at {_shown(edit.pointer)}")
    node, rest = _walk(root, edit.pointer)
    if not rest:
        if edit.action == "set":
            return _replace(text, node, edit.value)
        if not isinstance(node, yaml.SequenceNode):
            raise EditError(f"{_shown(edit.pointer)} is not a list")
        if any(
            isinstance(item, yaml.ScalarNode) and item.value == edit.value for item in node.value
        ):
            return text
        return _append(text, node, edit.value, newline)
    if not isinstance(node, yaml.MappingNode):
        raise EditError(f"{_shown(edit.pointer[: len(edit.pointer) - len(rest)])} is not a mapping")
    if any(_key(key) == "<<" for key, _ in node.value):
        raise EditError("the mapping takes keys from a merge (<<): edit the anchored mapping")
    return _insert(text, node, rest, edit, newline)


def _shown(pointer: tuple[str | int, ...]) -> str:
    return "".join(f"/{part}" for part in pointer)


def _key(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _walk(
    node: yaml.Node, pointer: tuple[str | int, ...]
) -> tuple[yaml.Node, tuple[str | int, ...]]:
    """The deepest node of ``pointer`` that is written, and the parts of it that are not."""
    for depth, part in enumerate(pointer):
        if isinstance(node, yaml.MappingNode):
            found = [value for key, value in node.value if _key(key) == part]
            if not found:
                return node, pointer[depth:]
            node = found[-1]  # a duplicate key: the last one counts
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                raise EditError(f"no item {part} at {_shown(pointer[:depth])}")
            node = node.value[part]
        else:
            raise EditError(f"{_shown(pointer[:depth])} is not a mapping or list")
    return node, ()


_LIBYAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
"""What libyaml counts as a line break (also inside a quoted scalar)."""


def _offset(text: str, mark: Any) -> int:
    """The character offset of a parser mark (libyaml counts lines and columns in characters,
    and NEL, U+2028 and U+2029 as line breaks)."""
    start, lines = 0, int(mark.line)
    if lines:
        found = next(islice(_LIBYAML_BREAK.finditer(text), lines - 1, None), None)
        if found is None:
            return len(text)
        start = found.end()
    return start + int(mark.column)


def render(value: Scalar, like: str = "") -> str:
    """A scalar as YAML reads it back as ``value``: plain where that is unambiguous, else
    quoted (as ``like``, the text it replaces, was quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if like.startswith("'") and "'" not in value:
        return f"'{value}'"
    if like.startswith('"') or not _PLAIN.fullmatch(value) or _RESERVED.fullmatch(value):
        return json.dumps(value)
    return value


def _replace(text: str, node: yaml.Node, value: Scalar) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.style in ("|", ">"):
        raise EditError("the value to replace is not a one-line scalar")
    start, end = _offset(text, node.start_mark), _offset(text, node.end_mark)
    written = text[start:end]
    if written.startswith(("&", "!", "*")) or "\n" in written or not written:
        raise EditError("the value to replace is anchored, tagged, empty or spans lines")
    return text[:start] + render(value, written) + text[end:]


_ANCHOR = re.compile(r"(?:![^\s]*\s+)?&([^\s,\[\]{}]+)")


def _last_end(text: str, node: yaml.Node) -> int:
    """Where the text of a block collection's last entry ends (its last scalar or flow node,
    or the alias written there: the parser gives an alias the anchored node, placed where
    the anchor is)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style:
        if not node.value:
            break
        last = node.value[-1]
        after = _offset(text, last[0].end_mark) if isinstance(last, tuple) else None
        child = last[1] if isinstance(last, tuple) else last
        if after is None and len(node.value) > 1:
            after = _offset(text, node.value[-2].end_mark)
        start = _offset(text, child.start_mark)
        if start < (_offset(text, node.start_mark) if after is None else after):
            return _alias_end(text, child, after, _offset(text, node.end_mark))
        node = child
    return _offset(text, node.end_mark)


def _alias_end(text: str, anchored: yaml.Node, after: int | None, before: int) -> int:
    """The end of the last alias of ``anchored`` written before ``before`` (and after
    ``after``); raises EditError when it cannot be found."""
    start = _offset(text, anchored.start_mark)
    anchor = _ANCHOR.match(text, start)
    if anchor is None:
        raise EditError("the last entry is an alias whose anchor cannot be found")
    found = text.rfind("*" + anchor.group(1), after or 0, before)
    if found < 0:
        raise EditError("the last entry is an alias that cannot be found")
    return found + 1 + len(anchor.group(1))


def _line_end(text: str, offset: int) -> int:
    """The end of the line ``offset`` is on (before its line break), or ``offset`` itself when
    the text before it ends a line (a block scalar keeps its line break)."""
    if offset > 0 and text[offset - 1] == "\n":
        return offset - 1 - (offset > 1 and text[offset - 2] == "\r")
    found = text.find("\n", offset)
    if found < 0:
        return len(text)
    return found - (found > 0 and text[found - 1] == "\r")


def _step(node: yaml.MappingNode) -> int:
    """The indentation step of a block mapping's nested block mappings (2 where it has none)."""
    for _, value in node.value:
        if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
            step = int(value.value[0][0].start_mark.column - node.value[0][0].start_mark.column)
            if step > 0:
                return step
    return 2


def _nested(parts: tuple[str | int, ...], edit: Edit) -> tuple[str, Any]:
    """The first missing key and what goes under it, as plain data."""
    value: Any = [edit.value] if edit.action == "add" else edit.value
    for part in reversed(parts[1:]):
        value = {part: value}
    return str(parts[0]), value


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return render(value)


def _block(key: str, value: Any, column: int, step: int, newline: str) -> str:
    pad = " " * column
    if isinstance(value, dict):
        inner = "".join(_block(k, v, column + step, step, newline) for k, v in value.items())
        return f"{newline}{pad}{render(key)}:{inner}"
    if isinstance(value, list):
        items = "".join(f"{newline}{pad}{' ' * step}- {render(item)}" for item in value)
        return f"{newline}{pad}{render(key)}:{items}"
    return f"{newline}{pad}{render(key)}: {render(value)}"


def _insert(
    text: str, node: yaml.MappingNode, rest: tuple[str | int, ...], edit: Edit, newline: str
) -> str:
    if any(isinstance(part, int) for part in rest):
        raise EditError("a missing list item cannot be made up")
    key, value = _nested(rest, edit)
    if node.flow_style or not node.value:
        return _into_flow(text, node, f"{render(key)}: {_flow(value)}", "{", "}")
    column = node.value[0][0].start_mark.column
    at = _line_end(text, _last_end(text, node))
    return text[:at] + _block(key, value, column, _step(node), newline) + text[at:]


def _append(text: str, node: yaml.SequenceNode, item: Scalar, newline: str) -> str:
    like = next((i for i in node.value if isinstance(i, yaml.ScalarNode)), None)
    quote = text[_offset(text, like.start_mark)] if like is not None and like.style else ""
    rendered = render(item, quote)
    if node.flow_style or not node.value:
        return _into_flow(text, node, rendered, "[", "]")
    first = _offset(text, node.value[0].start_mark)
    dash = text.rfind("-", 0, first)
    line_start = text.rfind("\n", 0, dash) + 1
    if dash < line_start or text[line_start:dash].strip():
        raise EditError("the list's layout is not one item per line")
    at = _line_end(text, _last_end(text, node))
    return text[:at] + f"{newline}{text[line_start:dash]}- {rendered}" + text[at:]


def _into_flow(text: str, node: yaml.Node, entry: str, opening: str, closing: str) -> str:
    """``entry`` added at the end of a flow collection (``{a: 1}`` -> ``{a: 1, entry}``)."""
    start, end = _offset(text, node.start_mark), _offset(text, node.end_mark)
    start = text.find(opening, start, end)  # after an anchor or a tag, if any
    if start < 0 or text[end - 1 : end] != closing:
        raise EditError("the collection is not written as a flow collection")
    if not node.value:
        return text[: start + 1] + entry + text[start + 1 :]
    last = node.value[-1]
    after = _offset(text, (last[1] if isinstance(last, tuple) else last).end_mark)
    return text[:after] + ", " + entry + text[after:]


def _remove(text: str, root: yaml.Node, pointer: tuple[str | int, ...]) -> str:
    """``text`` without the key or list item at ``pointer``."""
    parent, rest = _walk(root, pointer[:-1])
    last = pointer[-1]
    if rest:
        raise EditError(f"{_shown(pointer)} is not written")
    if isinstance(parent, yaml.MappingNode) and isinstance(last, str):
        entries = [(key, value) for key, value in parent.value]
        found = [i for i, (key, _) in enumerate(entries) if _key(key) == last]
        if not found:
            raise EditError(f"{_shown(pointer)} is not written")
        if len(entries) == 1:
            raise EditError(f"removing {_shown(pointer)} would leave its mapping empty")
        at = found[-1]  # a duplicate key: the last one counts
        starts = [key.start_mark for key, _ in entries]
        ends = [value.end_mark for _, value in entries]
        return _cut(text, parent, at, starts, ends, entries[at][1])
    if isinstance(parent, yaml.SequenceNode) and isinstance(last, int):
        if last >= len(parent.value):
            raise EditError(f"no item {last} at {_shown(pointer[:-1])}")
        if len(parent.value) == 1 and not parent.flow_style:
            return _empty_block_list(text, root, pointer[:-1], parent)
        starts = [item.start_mark for item in parent.value]
        ends = [item.end_mark for item in parent.value]
        return _cut(text, parent, last, starts, ends, parent.value[last])
    raise EditError(f"{_shown(pointer[:-1])} is not a mapping or list")


def _cut(
    text: str,
    parent: yaml.MappingNode | yaml.SequenceNode,
    at: int,
    starts: list[Any],
    ends: list[Any],
    node: yaml.Node,
) -> str:
    """``text`` without entry ``at`` of a collection with more than one entry (or a flow list
    with one), whose entries start and end at ``starts`` and ``ends``."""
    low, high = _offset(text, parent.start_mark), _offset(text, parent.end_mark)
    if not all(low <= _offset(text, mark) <= high for mark in (*starts, *ends)):
        raise EditError("an entry of the collection is an alias: edit the anchored value")
    if parent.flow_style:
        if at > 0:  # ", entry" after the one before it
            start, end = _offset(text, ends[at - 1]), _offset(text, ends[at])
        elif len(starts) > 1:  # "entry, " before the next one
            start, end = _offset(text, starts[0]), _offset(text, starts[1])
        else:  # the one entry, and the comma after it if any ("[\n  x,\n]")
            start, end = _offset(text, starts[0]), _offset(text, ends[0])
            after = len(text[end:]) - len(text[end:].lstrip())
            if text[end + after : end + after + 1] == ",":
                end += after + 1
        if "#" in text[start:end]:
            raise EditError("the entry to remove shares its text with a comment")
        line_start = text.rfind("\n", 0, start) + 1
        line_end = _line_end(text, end)
        if not text[line_start:start].strip() and not text[end:line_end].strip():
            newline = text.find("\n", line_end)  # the entry's lines hold nothing else
            start, end = line_start, len(text) if newline < 0 else newline + 1
        return text[:start] + text[end:]
    start = _offset(text, starts[at])
    end = _last_end(text, node)
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    if isinstance(parent, yaml.SequenceNode):
        dash = text.rfind("-", line_start, start)
        if dash < 0 or text[line_start:dash].strip() or text[dash + 1 : start].strip():
            raise EditError("the list's layout is not one item per line")
        before = text[line_start:dash]
    line_end = _line_end(text, end)
    trailing = text[end:line_end].strip()
    spans_lines = "\n" in text[start:end]
    if trailing and not trailing.startswith("#"):
        raise EditError("the entry to remove shares its last line with other text")
    if before.strip():  # the first key of a list item, on the item's line
        if spans_lines:
            raise EditError("the entry to remove shares its lines with a list dash")
        if trailing:  # its comment stays after the dash: "- # comment", the next key below
            return text[:start] + trailing + text[line_end:]
        following = _offset(text, starts[at + 1])
        if "#" in text[end:following]:
            return text[:start] + text[line_end:].lstrip(" ")
        return text[:start] + text[following:]  # the next key moves up
    return _drop_lines(text, line_start, line_end, before)


_COMMENT = re.compile(r"(?:^|[ \t])(#.*)$")


def _drop_lines(text: str, line_start: int, line_end: int, indent: str) -> str:
    """``text`` without the lines from ``line_start`` to the line break after ``line_end``,
    but for their comments, each kept on a line of its own at ``indent`` (a ``#`` in a quoted
    value may pass for one: kept too, it changes no value)."""
    newline = text.find("\n", line_end)
    cut_end = len(text) if newline < 0 else newline + 1
    line_break = text[line_end:cut_end] or ("\r\n" if "\r\n" in text else "\n")
    comments = [
        found.group(1).rstrip("\r")
        for line in text[line_start:line_end].split("\n")
        if (found := _COMMENT.search(line.rstrip("\r")))
    ]
    kept = "".join(f"{indent}{comment}{line_break}" for comment in comments)
    return text[:line_start] + kept + text[cut_end:]


def _empty_block_list(
    text: str, root: yaml.Node, pointer: tuple[str | int, ...], node: yaml.SequenceNode
) -> str:
    """``text`` with the one item of a block list removed, and ``[]`` written after its key
    (``add:`` -> ``add: []``): an empty block list cannot be written."""
    owner, rest = _walk(root, pointer[:-1])
    if rest or not isinstance(owner, yaml.MappingNode):
        raise EditError("the list to empty is not the value of a key")
    key = next((k for k, v in owner.value if v is node), None)
    if key is None:
        raise EditError("the list to empty is not the value of a key")
    colon = _offset(text, key.end_mark)
    while colon < len(text) and text[colon] in " \t":
        colon += 1
    if text[colon : colon + 1] != ":":
        raise EditError("the key of the list to empty is not followed by ':'")
    item = node.value[0]
    start = _offset(text, item.start_mark)
    line_start = text.rfind("\n", 0, start) + 1
    dash = text.rfind("-", line_start, start)
    end = _last_end(text, item)
    line_end = _line_end(text, end)
    trailing = text[end:line_end].strip()
    if dash < 0 or text[line_start:dash].strip() or line_start <= colon:
        raise EditError("the list's layout is not one item per line")
    if trailing and not trailing.startswith("#"):
        raise EditError("the entry to remove shares its line with other text")
    shorter = _drop_lines(text, line_start, line_end, text[line_start:dash])
    return shorter[: colon + 1] + " []" + shorter[colon + 1 :]
