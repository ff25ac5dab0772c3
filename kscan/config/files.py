"""Configuration: ``.kscan.yaml`` or ``[tool.kscan]`` in ``pyproject.toml``, found upwards from the
scanned paths (or named with ``--config``), validated with a JSON Schema, overridden by the
command line. Every effective value remembers where it came from."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from functools import cache
from types import ModuleType
from typing import Any, cast

from kscan.input.documents import Pointer, read_documents
from kscan.input.sources import InputError, Source
from kscan.support.paths import ancestors, pure

CONFIG_SCHEMA = os.path.join(os.path.dirname(__file__), "schema.json")


CONFIG_NAMES = (".kscan.yaml", ".kscan.yml")
DEFAULTS: dict[str, Any] = {
    "select": None,
    "enable": [],
    "ignore": [],
    "fail-on": "low",
    "severity": {},
    "params": {},
    "exclude": [],
    "rules-dir": None,
    "format": "text",
    "base-dir": None,
    "suppressions": [],
    "trusted-registries": [],
}
PATH_SETTINGS = ("rules-dir", "base-dir")
"""Settings holding a path, which is relative to the file that sets it."""


class ConfigError(Exception):
    """A configuration that cannot be used; ``problem`` is one ``path:line:col: error:`` line."""

    def __init__(self, problem: InputError) -> None:
        super().__init__(str(problem))
        self.problem = problem


class ConfigFile:
    """The settings one file sets, with the position of each (for messages). (The classes of
    this module are plain ones: cheaper to define at start-up than dataclasses.)"""

    __slots__ = ("locate", "path", "values")

    def __init__(self, path: str, values: dict[str, Any], locate: Any) -> None:
        self.path = path
        """Named as ``str(Path(...))`` names it (messages quote it)."""
        self.values = values
        self.locate = locate  # Callable[[Pointer], tuple[int, int]]

    def where(self, pointer: Pointer) -> str:
        line, _column = self.locate(pointer)
        return f"{self.path}:{line}" if line else str(self.path)


class Config:
    """Effective settings: ``values`` by key, ``origins`` saying where each came from; the
    defaults, until ``resolve`` applies a file."""

    __slots__ = ("exclude_roots", "file", "origins", "values")

    def __init__(self, file: ConfigFile | None = None) -> None:
        self.values: dict[str, Any] = dict(DEFAULTS)
        self.origins: dict[str, str] = dict.fromkeys(DEFAULTS, "default")
        self.file = file
        self.exclude_roots: list[tuple[str, str]] = []
        """Each exclude glob with the folder it is relative to."""

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def root(self) -> str:
        """The directory relative paths in the file are resolved against."""
        return (os.path.dirname(self.file.path) or ".") if self.file else os.getcwd()

    def override(self, key: str, value: Any) -> None:
        """A command-line value, which wins over the file."""
        self.values[key] = value
        self.origins[key] = "command line"


def discover(paths: tuple[str, ...] | list[str]) -> str | None:
    """The configuration governing the first scanned path (the current directory for stdin)."""
    first = next((p for p in paths if p != "-"), ".")
    start = os.path.abspath(first)
    return discover_for(start if os.path.isdir(start) else os.path.dirname(start))


def discover_for(
    directory: str | os.PathLike[str], known: dict[str, str | None] | None = None
) -> str | None:
    """The nearest ``.kscan.yaml`` or ``pyproject.toml`` with ``[tool.kscan]`` in ``directory``
    or above it, stopping at the repository root. A ``pyproject.toml`` that cannot be read
    counts too: it may hold the policy, so loading it reports the problem. Raises ConfigError
    for a name on the way that kscan cannot tell is there or not (a folder it may not search),
    and for a configuration file's name that is there but names nothing kscan can read (a
    broken link, a folder): either could hide the configuration that applies. ``known``: the
    answers for directories already looked in, used and filled (sibling directories share
    their parents' answer instead of asking the file system again). ``directory``: absolute
    and normalised (as ``os.path.abspath`` gives it)."""
    known = {} if known is None else known
    walked: list[str] = []
    found: str | None = None
    for candidate_dir in ancestors(os.fspath(directory)):
        if candidate_dir in known:
            found = known[candidate_dir]
            break
        walked.append(candidate_dir)
        found = _own_config(candidate_dir)
        if found is not None or _exists(os.path.join(candidate_dir, ".git")):
            break
    for walked_dir in walked:
        known[walked_dir] = found
    return found


def _own_config(directory: str) -> str | None:
    """The configuration file in ``directory`` itself, if any."""
    for name in CONFIG_NAMES:
        candidate = os.path.join(directory, name)
        if _is_file(candidate):
            return candidate
    pyproject = os.path.join(directory, "pyproject.toml")
    if _is_file(pyproject) and _may_configure_kscan(pyproject):
        return pyproject
    return None


_CONFIG_INSTEAD = "--config FILE names the configuration instead"


def _exists(path: str) -> bool:
    """``os.path.exists(path)``, but raising ConfigError where that answers False because the
    file system cannot tell (EACCES on a folder on the way, ELOOP, ENAMETOOLONG)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        reason = exc.strerror or exc
        message = f"cannot tell whether it exists ({reason}), which ends configuration discovery"
        raise ConfigError(InputError(path, f"{message}; {_CONFIG_INSTEAD}")) from None
    return True


def _is_file(path: str) -> bool:
    """Whether a configuration file is named ``path``: False if no such name is there, True
    for a regular file (or a link to one). Raises ConfigError if the file system cannot tell,
    or if the name is there but kscan cannot read what it names (a broken or looping link, a
    folder, a FIFO)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        message = f"cannot tell whether this configuration file exists ({exc.strerror or exc})"
        raise ConfigError(InputError(path, f"{message}; {_CONFIG_INSTEAD}")) from None
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise ConfigError(InputError(path, f"cannot read: {exc.strerror or exc}")) from None
    if not stat.S_ISREG(mode):
        raise ConfigError(InputError(path, "cannot read: not a regular file"))
    return True


def _toml() -> ModuleType:
    """The TOML parser, imported when a TOML file is met (most scans meet none)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return cast(ModuleType, tomllib)


def _read_text(path: str) -> str:
    """``Path(path).read_text(encoding="utf-8")``."""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _may_configure_kscan(path: str) -> bool:
    toml = _toml()
    try:
        data = toml.loads(_read_text(path))
    except (OSError, UnicodeDecodeError, toml.TOMLDecodeError):
        return True
    return isinstance(data.get("tool"), dict) and "kscan" in data["tool"]


def load(path: str | os.PathLike[str]) -> ConfigFile:
    """Read and validate one configuration file (YAML, or TOML: ``[tool.kscan]`` or top level)."""
    path = pure(path)
    if os.path.splitext(path)[1] == ".toml":
        return _load_pyproject(path)
    documents = read_documents(path)
    if isinstance(documents, InputError):
        raise ConfigError(documents)
    if not documents:
        return ConfigFile(path, {}, lambda pointer: (1, 1))
    document = documents[0]
    if document.duplicates:
        first = document.duplicates[0]
        key = ".".join(map(str, first.pointer or ()))
        message = f"'{key}' is set twice (lines {first.first.line} and {first.last.line})"
        raise ConfigError(InputError(path, message, first.last.line, first.last.column))

    def locate(pointer: Pointer) -> tuple[int, int]:
        span, _exact = document.locate(pointer)
        return span.line, span.column

    return _validated(path, document.data, locate, document.source)


def _load_pyproject(path: str) -> ConfigFile:
    try:
        text = _read_text(path)
    except OSError as exc:
        raise ConfigError(InputError(path, f"cannot read: {exc.strerror or exc}")) from None
    except UnicodeDecodeError:
        raise ConfigError(InputError(path, "invalid TOML: not UTF-8 text")) from None
    toml = _toml()
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(path, text, exc)) from None
    tool = data.get("tool")
    values = tool.get("kscan", {}) if isinstance(tool, dict) and "kscan" in tool else data
    if os.path.basename(path) == "pyproject.toml" and values is data:
        values = {}
    return _validated(path, values, lambda pointer: _toml_line(text, pointer), None)


_TOML_POSITION = r" \(at (?:line (\d+), column (\d+)|end of document)\)$"
"""Where tomllib (and tomli) put the position of a syntax error: at the end of the message."""


def _toml_error(path: str, text: str, exc: ValueError) -> InputError:
    """A TOML syntax error as ``path:line:col: error: invalid TOML: ...``."""
    message = str(exc)
    found = re.search(_TOML_POSITION, message)
    if found is None:
        return InputError(path, f"invalid TOML: {message}")
    if found[1]:
        line, column = int(found[1]), int(found[2])
    else:  # at the end of the document
        line, column = text.count("\n") + 1, len(text) - text.rfind("\n")
    return InputError(path, f"invalid TOML: {message[: found.start()]}", line, column)


def _toml_line(text: str, pointer: Pointer) -> tuple[int, int]:
    """TOML parsers give no positions: the line of the pointer's last key, searched for."""
    key = next((str(part) for part in reversed(pointer) if isinstance(part, str)), None)
    if key is None:
        return 0, 0
    pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number, line.index(key.split(".")[0]) + 1
    return 0, 0


def _validated(path: str, data: Any, locate: Any, source: Source | None) -> ConfigFile:
    if not isinstance(data, dict):
        raise ConfigError(InputError(path, "the configuration must be a mapping of settings"))
    if "output" in data:
        line, column = locate(("output",))
        message = (
            "'output' cannot be set in a configuration file (the scanned repository must not "
            "choose what kscan writes); use -o/--output on the command line"
        )
        raise ConfigError(InputError(path, message, line, column))
    if _plainly_valid(data):
        return ConfigFile(path, data, locate)
    from kscan.support.json_schema import first_error  # only for a file with a problem

    error = first_error(CONFIG_SCHEMA, data)
    if error is not None:
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            instance, schema = cast("dict[str, Any]", error.instance), cast("Any", error.schema)
            unknown = sorted(set(instance) - set(schema.get("properties", {})))
            where = (*where, unknown[0]) if unknown else where
            message = f"unknown setting '{'.'.join(map(str, where))}'"
        else:
            message = f"{'.'.join(map(str, where)) or 'configuration'}: {error.message}"
        line, column = locate(where)
        prefix = "" if source else "[tool.kscan] "
        raise ConfigError(InputError(path, prefix + message, line, column))
    return ConfigFile(path, data, locate)


@cache
def _schema() -> dict[str, Any]:
    """``schema.json``, read once, when a configuration file is first checked (tens of
    microseconds: importing jsonschema takes thousands of times as long)."""
    with open(CONFIG_SCHEMA, encoding="utf-8") as handle:
        return cast("dict[str, Any]", json.loads(handle.read()))


def _plainly_valid(data: dict[Any, Any]) -> bool:
    """True if ``data`` plainly satisfies ``schema.json``, checked here against the schema
    itself: a valid file then needs no jsonschema (whose import, with referencing and
    pathlib, costs a scan more than reading the file). False for anything else, valid or
    not: jsonschema then decides, and its error names the problem. (tests/test_adoption.py
    holds this to jsonschema.)"""
    schema = _schema()
    return _satisfies(data, schema, schema)


_TYPES: dict[str, type] = {"string": str, "array": list, "object": dict}
"""The JSON types ``schema.json`` names, as jsonschema's Draft 2020-12 checker tells them."""
_ANNOTATIONS = frozenset(("$schema", "$id", "$defs", "title", "description"))
"""Keywords that do not constrain the value they describe."""
_DEFS = "#/$defs/"
"""How a ``$ref`` of ``schema.json`` names a definition of its own."""


def _satisfies(value: Any, node: Any, root: dict[str, Any]) -> bool:
    """Whether ``value`` satisfies the schema ``node`` of ``root``."""
    if isinstance(node, bool):
        return node
    return isinstance(node, dict) and all(
        keyword in _ANNOTATIONS or _holds(keyword, argument, value, node, root)
        for keyword, argument in node.items()
    )


def _holds(
    keyword: str, argument: Any, value: Any, node: dict[str, Any], root: dict[str, Any]
) -> bool:
    """Whether ``value`` satisfies one keyword of ``node``, as JSON Schema defines it; False for
    a keyword ``schema.json`` does not use, or an argument of a shape it does not use."""
    if keyword == "$ref":
        local = isinstance(argument, str) and argument.startswith(_DEFS)
        target = root["$defs"].get(argument[len(_DEFS) :]) if local else None
        return target is not None and _satisfies(value, target, root)
    if keyword == "type":
        expected = _TYPES.get(argument) if isinstance(argument, str) else None
        return expected is not None and isinstance(value, expected)
    if keyword == "enum":
        return isinstance(argument, list) and isinstance(value, str) and value in argument
    if keyword == "minLength":
        return isinstance(argument, int) and (not isinstance(value, str) or len(value) >= argument)
    if keyword == "required":
        return isinstance(argument, list) and (
            not isinstance(value, dict) or all(key in value for key in argument)
        )
    if keyword == "items":
        return not isinstance(value, list) or all(_satisfies(v, argument, root) for v in value)
    if keyword == "properties":
        return isinstance(argument, dict) and (
            not isinstance(value, dict)
            or all(
                _satisfies(value[key], sub, root) for key, sub in argument.items() if key in value
            )
        )
    if keyword == "additionalProperties":
        named = node.get("properties", {})
        return not isinstance(value, dict) or all(
            _satisfies(v, argument, root) for key, v in value.items() if key not in named
        )
    return False


def resolve(config_file: ConfigFile | None) -> Config:
    """Defaults, then the file's settings (paths made absolute), each with its origin."""
    config = Config(file=config_file)
    if config_file is None:
        return config
    for key, value in config_file.values.items():
        if key in PATH_SETTINGS:
            value = os.path.abspath(os.path.join(config.root, value))
        config.values[key] = value
        config.origins[key] = config_file.where((key,))
    config.exclude_roots = [(pattern, config.root) for pattern in config["exclude"]]
    return config
