"""Path globs of ``exclude`` settings and suppression scopes, written relative to a folder."""

from __future__ import annotations

import os
import re

from kscan.support.paths import relative_to


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A path glob: ``*`` within a directory, ``**`` across directories, ``?`` one character.
    A pattern without ``/`` matches a file or directory name at any depth; one starting with
    ``/`` or ``./`` is anchored where the pattern was written."""
    if pattern.startswith(("/", "./")):
        pattern = pattern[2:] if pattern.startswith("./") else pattern.lstrip("/")
    elif "/" not in pattern.rstrip("/"):
        pattern = "**/" + pattern
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            regex += ".*"
            i += 2
        elif pattern[i] == "*":
            regex += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            regex += "[^/]"
            i += 1
        else:
            regex += re.escape(pattern[i])
            i += 1
    return re.compile(regex.rstrip("/") + "(?:/.*)?$")


def path_matches(path: str, pattern: str, root: str | os.PathLike[str]) -> bool:
    """True if ``path`` (as given) matches a glob written relative to ``root``."""
    absolute = os.path.abspath(path)
    relative = relative_to(os.path.realpath(absolute), os.path.realpath(root))
    return glob_to_regex(pattern).match(absolute if relative is None else relative) is not None
