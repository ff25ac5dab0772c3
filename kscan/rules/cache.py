"""A per-user cache of the built rule set: a scan of one file then loads the rules in a few
milliseconds instead of parsing and validating every rule file.

Where: ``$KSCAN_CACHE_DIR`` (an empty value turns the cache off), else ``$XDG_CACHE_HOME/kscan``,
else ``~/.cache/kscan``; never in the scanned tree. One file per rule set (the built-in rules,
or the built-in rules plus one custom directory), named after the directories it covers (a
CRC-32 of their paths: two sets that shared a name would only rebuild each other's file).

Key: kscan's version, the Python version, pydantic's (its ``version.py``, read without importing
pydantic, which a cached scan does without), the size and modification time of every
module of the ``kscan`` package, and the name and content of every rule file (and of the rule
schema) of each directory. A file whose key or checksum does not match is rebuilt silently.
Reading every rule file costs more than the rest of a cached scan, so a file also holds the
status (size, modification and change times, inode, device) of each rule file when it was
written: while none of them changed, the content key is not computed; when one did, it is,
and a file whose content key still matches is used (and written again with the new status).
A rule file cannot be written without changing its change time (``st_ctime_ns``, which
``touch`` and ``os.utime`` cannot set back). The checksum (CRC-32) catches a damaged file.

Trust: the cache is a pickle, and unpickling runs code. A file is read only if it is a regular
file owned by the current user and writable by no one else (checked on the open descriptor, not
the path; a symbolic link is not followed); its checksum must match before it is unpickled; and
the unpickler looks up only the classes a rule set is made of (rules, params, severities,
positions): any other global, such as ``os.system`` or a function of kscan, is refused. Whatever
fails (a missing, unreadable, corrupt, foreign or hostile file, a read-only directory), the
rules are built from their files, as without a cache. Where ownership cannot be checked (no
``os.geteuid``, as on Windows) there is no cache.
"""

from __future__ import annotations

import binascii
import contextlib
import importlib.machinery
import io
import os
import pickle
import stat
import struct
import sys
from typing import Any

import kscan
from kscan.checks.base import Template
from kscan.checks.catalogue import load_templates
from kscan.rules import registry
from kscan.rules.registry import Rule, load_rules, rule_file_names
from kscan.support.paths import pure

CACHE_ENV = "KSCAN_CACHE_DIR"
_MAGIC = b"kscan-rules-cache 2\n"
_DIGEST = 32
"""After the magic line: the content key (a SHA-256 digest), the CRC-32 of the rest and the
length of the status (4 bytes each, big-endian), the status, the pickled rules."""
_MAX_BYTES = 64 << 20
_ALLOWED_MODULES = (
    "kscan.checks.",
    "kscan.rules.registry",
    "kscan.rules.fixes",
    "kscan.model.taxonomy",
    "kscan.input.tree",
)
"""Where the classes of a rule set come from: the only globals the unpickler looks up."""


def cache_dir() -> str | None:
    """The directory of the cache, or ``None`` when it is turned off or has no home."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return pure(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is invalid and ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return pure(os.path.join(base, "kscan")) if os.path.isabs(base) else None


def load_cached_rules(custom: str | os.PathLike[str] | None = None) -> list[Rule]:
    """``load_rules(custom=custom)``, from the cache when it holds this rule set."""
    custom = pure(custom) if custom else None
    directory = cache_dir()
    if directory is None or not hasattr(os, "geteuid") or (custom and not os.path.isdir(custom)):
        return load_rules(custom=custom)
    roots = [pure(registry.builtin_rules_dir()), *([custom] if custom else [])]
    name = f"rules-{binascii.crc32(repr(roots).encode()):08x}.pickle"
    path = os.path.join(directory, name)
    status = _status(roots)
    found = _read(path)
    if found is not None and found[0] == status:
        rules = _unpickle(found[2])
        if rules is not None:
            return rules
    key = _key(roots)
    if found is not None and found[1] == key:
        rules = _unpickle(found[2])
        if rules is not None:
            _write(path, status, key, found[2])  # the same rules: next time by status alone
            return rules
    rules = load_rules(custom=custom)
    if _status(roots) == status and _key(roots) == key:  # no rule file changed meanwhile
        _write(path, status, key, _pickle(rules))
    return rules


def _status(roots: list[str]) -> bytes:
    """The versions, kscan's code, and the name and status of every rule file: equal while
    no file the rules are built from was changed, replaced, added or removed."""
    files: list[tuple[str, tuple[int, ...] | None]] = []
    for root in roots:
        files += ((entry.path, _known(entry)) for entry in registry.rule_file_entries(root))
        schema = os.path.join(root, "schema.json")
        files.append((schema, _known(schema)))
    files.sort()  # one order, whatever order the directories list their entries in
    return _code_key() + repr(files).encode()


def _known(file: str | os.DirEntry[str]) -> tuple[int, ...] | None:
    """What tells a file's versions apart: size, times, inode and device (None: no file)."""
    try:
        info = file.stat() if isinstance(file, os.DirEntry) else os.stat(file)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def _key(roots: list[str]) -> bytes:
    """What the built rules depend on: versions, kscan's code, every rule file's content."""
    import hashlib  # not imported by a scan whose rule files did not change

    key = hashlib.sha256(_code_key())
    for root in roots:
        key.update(f"root\0{root}\0".encode())
        skip = len(root) + 1
        for rule_file in [*rule_file_names(root), os.path.join(root, "schema.json")]:
            try:
                with open(rule_file, "rb") as handle:
                    content = handle.read()
            except OSError:
                content = b"\0unreadable"
            key.update(f"{rule_file[skip:]}\0{len(content)}\0".encode() + content)
    return key.digest()


def _code_key() -> bytes:
    """What the built rules depend on besides the rule files: versions and kscan's code."""
    modules = [
        (module, info.st_size, info.st_mtime_ns)
        for module, info in _modules(os.path.dirname(kscan.__file__))
    ]
    versions = b"\0".join([kscan.__version__.encode(), sys.version.encode(), _pydantic_version()])
    return versions + b"\0" + repr(modules).encode() + b"\0"


def _pydantic_version() -> bytes:
    """The text of pydantic's ``version.py`` (which validated the cached rules), or nothing."""
    spec = importlib.machinery.PathFinder.find_spec("pydantic")  # importlib.util: 2 modules more
    if spec is None or spec.origin is None:
        return b""
    try:
        with open(os.path.join(os.path.dirname(spec.origin), "version.py"), "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _modules(folder: str) -> list[tuple[str, os.stat_result]]:
    """Every ``.py`` file under ``folder``, with its status, sorted by path."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                found.extend(_modules(entry.path))
            elif entry.name.endswith(".py"):
                found.append((entry.path, entry.stat()))
    return sorted(found)


def _read(path: str) -> tuple[bytes, bytes, bytes] | None:
    """The status, content key and pickled rules stored at ``path``, or ``None`` for a file
    that is missing, not to be trusted or corrupt (its checksum does not match)."""
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(handle)
        trusted = stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()
        if not trusted or info.st_mode & 0o022 or info.st_size > _MAX_BYTES:
            return None
        with os.fdopen(handle, "rb", closefd=False) as stream:
            data = stream.read(_MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(handle)
    head = len(_MAGIC) + _DIGEST + 8
    if len(data) < head or data[: len(_MAGIC)] != _MAGIC:
        return None
    key = data[len(_MAGIC) : len(_MAGIC) + _DIGEST]
    checksum, length = struct.unpack_from(">II", data, head - 8)
    if binascii.crc32(memoryview(data)[head:]) != checksum:
        return None
    return data[head : head + length], key, data[head + length :]


def _unpickle(payload: bytes) -> list[Rule] | None:
    """The rules of a payload read from the cache, or ``None``."""
    try:
        rules = _Unpickler(io.BytesIO(payload), load_templates()).load()
    except Exception:  # whatever is wrong with the file, the rule files decide
        return None
    if not isinstance(rules, list) or not all(type(rule) is Rule for rule in rules):
        return None
    return rules


def _pickle(rules: list[Rule]) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer).dump(rules)
    return buffer.getvalue()


def _write(path: str, status: bytes, key: bytes, payload: bytes) -> None:
    """Store the rules, atomically; a directory that cannot be written means no cache."""
    import tempfile  # only when the cache is written

    body = status + payload
    checksum = struct.pack(">II", binascii.crc32(body), len(status))
    temporary = None
    try:
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".rules-", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(_MAGIC + key + checksum + body)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


class _Pickler(pickle.Pickler):
    """Templates are written by name and bound to the registered ones when read back."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)

    def persistent_id(self, obj: object) -> str | None:
        return obj.name if type(obj) is Template else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, templates: dict[str, Template]) -> None:
        super().__init__(file)
        self._templates = templates

    def persistent_load(self, pid: Any) -> Template:
        return self._templates[str(pid)]

    def find_class(self, module: str, name: str) -> Any:
        """Only the classes a rule set is made of: no function, nothing from elsewhere."""
        if module.startswith(_ALLOWED_MODULES):
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a rule set")
