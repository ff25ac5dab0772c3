"""What a container runs: its program and its command-line flags."""

from __future__ import annotations

import posixpath
from typing import Any

from kscan.input.documents import Pointer


def program(container: dict[str, Any]) -> str | None:
    """The program a container runs: the base name of ``command[0]`` (the subcommand for
    hyperkube), or, with no command, the image's name (``registry/kube-apiserver:v1`` ->
    ``kube-apiserver``)."""
    command = container.get("command")
    if isinstance(command, list) and command and isinstance(command[0], str):
        words = [posixpath.basename(str(word)) for word in command[:2]]
        return words[1] if words[0] == "hyperkube" and len(words) > 1 else words[0]
    image = container.get("image")
    if isinstance(image, str) and image:
        return image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    return None


def parse_flags(container: dict[str, Any]) -> dict[str, tuple[Pointer, str]]:
    """``--flag=value``, ``--flag value`` and bare ``--flag`` (true) from command and args;
    each flag maps to where its last occurrence is written and its value."""
    flags: dict[str, tuple[Pointer, str]] = {}
    for key in ("command", "args"):
        tokens = container.get(key)
        if not isinstance(tokens, list):
            continue
        words = [str(token) for token in tokens]
        for index, word in enumerate(words):
            if not word.startswith("--"):
                continue
            name, has_value, value = word.partition("=")
            if not has_value:
                following = words[index + 1] if index + 1 < len(words) else ""
                value = following if following and not following.startswith("-") else "true"
            flags[name] = ((key, index), value)
    return flags
