"""Load rule files, validate them (JSON Schema, params, ATT&CK pairs) and bind their templates.

The rules shipped with kscan are verified by its test suite, so at start-up they take a fast
path without JSON Schema validation (which costs a third of a one-file run); a built-in file
that fails to load is then verified in full, so the error still names the problem. Rules
from any other directory are always verified in full.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from kscan.checks.base import Params, Template
from kscan.checks.catalogue import load_templates
from kscan.input.documents import Document, parse, read_documents
from kscan.input.sources import InputError, Source
from kscan.model.taxonomy import STRIDE, TACTICS, TECHNIQUES, Severity
from kscan.rules.fixes import Fix
from kscan.support.paths import pure
from kscan.support.values import dataclass


@dataclass(frozen=True)
class Rule:
    """A rule: metadata from its file plus the bound template and validated params."""

    id: str
    name: str
    title: str
    severity: Severity
    stride: str
    tactic: str
    technique: str
    description: str
    remediation: str
    remediation_example: str
    references: tuple[str, ...]
    template: Template
    params: Params
    pss_profile: str | None = None
    pss_control: str | None = None
    enabled: bool = True
    source: str = ""
    severity_pinned: bool = False
    """Set by a configured severity: it then wins over the severity of a rule's special cases."""
    refines: tuple[str, ...] = ()
    """Ids of the more general rules this one is a special case of (``refines:``)."""
    implied_by: tuple[str, ...] = ()
    """Ids of the rules whose finding brings this one's (``implied-by:``)."""
    fix: Fix | None = None
    """What ``kscan fix`` changes to fix a finding (``fix:``), if anything can."""

    @property
    def general(self) -> tuple[str, ...]:
        """The rules a finding of this one is shown under when both report the same field:
        those it refines, then those that imply it."""
        return self.refines + self.implied_by

    @property
    def stride_name(self) -> str:
        return STRIDE[self.stride]

    @property
    def tactic_name(self) -> str:
        return TACTICS[self.tactic]

    @property
    def technique_name(self) -> str:
        return TECHNIQUES[self.technique][0]


class RuleError(Exception):
    """Rule files that cannot be loaded: one ``path:line:col: error:`` problem per file."""

    def __init__(self, problems: list[InputError]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def builtin_rules_dir() -> str:
    """The rules shipped in the wheel (``kscan/rules/builtin``), or ``rules/`` of a source
    checkout."""
    here = os.path.dirname(__file__)
    packaged = os.path.join(here, "builtin")
    checkout = os.path.dirname(os.path.dirname(here))  # ``Path(__file__).parents[2]``
    return packaged if os.path.isdir(packaged) else os.path.join(checkout, "rules")


Folder = str | os.PathLike[str]
"""A directory of rule files, as a string or a ``Path`` (tests pass both)."""


def load_rules(directory: Folder | None = None, custom: Folder | None = None) -> list[Rule]:
    """Every rule under ``directory`` (default: the built-in rules) and, when given, a team's
    own ``custom`` directory (same format, same schema; an id or name already taken is an
    error), sorted by id. Only the default built-in rules skip the JSON Schema check."""
    directories = [(pure(directory or builtin_rules_dir()), directory is None)]
    custom = None if custom is None else pure(custom)
    if custom is not None:
        directories.append((custom, False))
    templates = load_templates()
    rules: list[Rule] = []
    problems: list[InputError] = []
    overlaps: list[_Overlap] = []
    for root, trusted in directories:
        for path in rule_files(root):
            try:
                rule, document = _load_rule(path, templates, verify=not trusted)
            except _RuleFileError as exc:
                problems.append(exc.problem)
                continue
            rules.append(rule)
            overlaps.extend(_overlaps(rule, document))
    if custom is not None and not os.path.isdir(custom):
        problems.append(InputError(custom, "rules directory does not exist"))
    problems.extend(_clashes(rules))
    problems.extend(_unknown_overlaps(overlaps, {rule.id for rule in rules}))
    if problems:
        raise RuleError(problems)
    return sorted(rules, key=lambda rule: rule.id)


def rule_files(root: Folder) -> list[str]:
    """The rule files under ``root`` (``.yaml`` and ``.yml``, at any depth, symbolic links to
    directories not followed), sorted as ``Path`` objects sort: what ``Path.rglob`` finds,
    each named as ``str(Path(...))`` names it (``x.yaml``, not ``./x.yaml``)."""
    return [pure(name) for name in rule_file_names(root)]


def rule_file_names(root: Folder) -> list[str]:
    """``rule_files`` as found with ``os.scandir``, joined to ``root`` as it is written:
    ``rglob`` and ``Path`` objects cost a one-file scan, which keys its rule cache with
    these files, milliseconds."""
    found = [entry.path for entry in rule_file_entries(root)]
    return sorted(found, key=lambda name: os.path.normcase(name).split(os.sep))


def rule_file_entries(root: Folder) -> Iterator[os.DirEntry[str]]:
    """The directory entries of the rule files under ``root``, in no particular order."""
    folders = [os.fspath(root)]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if os.path.splitext(entry.name)[1] in (".yaml", ".yml"):
                        yield entry
                    if entry.is_dir() and not entry.is_symlink():
                        folders.append(entry.path)
        except OSError:
            continue


class _RuleFileError(Exception):
    def __init__(self, problem: InputError) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _load_rule(path: str, templates: dict[str, Template], verify: bool) -> tuple[Rule, Document]:
    document = _read_rule_document(path)
    if not verify:
        try:
            return _build_rule(path, document, templates), document
        except (_RuleFileError, LookupError, TypeError, ValueError, AttributeError):
            pass  # verify in full below: its error names the file, line and problem
    _verify(document)
    return _build_rule(path, document, templates), document


class _Overlap:
    """One id named by ``refines`` or ``implied-by``, with where it is written."""

    __slots__ = ("column", "field", "index", "line", "named", "rule")

    def __init__(
        self, rule: Rule, field: str, index: int, named: str, line: int, column: int
    ) -> None:
        self.rule, self.field, self.index, self.named = rule, field, index, named
        self.line, self.column = line, column


def _overlaps(rule: Rule, document: Document) -> list[_Overlap]:
    found = []
    for field, named in (("refines", rule.refines), ("implied-by", rule.implied_by)):
        for index, other in enumerate(named):
            span, _ = document.locate((field, index))
            found.append(_Overlap(rule, field, index, other, span.line, span.column))
    return found


def _unknown_overlaps(overlaps: list[_Overlap], known: set[str]) -> list[InputError]:
    """A ``refines`` or ``implied-by`` entry must name another loaded rule, by id."""
    problems = []
    for overlap in overlaps:
        where = f"{overlap.field}.{overlap.index}"
        if overlap.named == overlap.rule.id:
            message = f"{where}: a rule cannot name itself"
        elif overlap.named not in known:
            message = f"{where}: unknown rule {overlap.named}"
        else:
            continue
        problems.append(InputError(overlap.rule.source, message, overlap.line, overlap.column))
    return problems


def _read_rule_document(path: str) -> Document:
    documents = read_documents(path)
    if isinstance(documents, InputError):
        raise _RuleFileError(documents)
    if len(documents) != 1:
        message = "a rule file holds exactly one YAML document"
        raise _RuleFileError(InputError(path, message))
    return documents[0]


def _failure(document: Document, pointer: tuple[str | int, ...], message: str) -> _RuleFileError:
    span, _ = document.locate(pointer)
    return _RuleFileError(InputError(document.source.path, message, span.line, span.column))


def _verify(document: Document) -> None:
    """The checks the fast path skips: the JSON Schema and a parseable remediation example."""
    from kscan.support.json_schema import first_error  # only when rule files are read

    data = document.data
    invalid = first_error(os.path.join(builtin_rules_dir(), "schema.json"), data)
    if invalid is not None:
        where = tuple(invalid.absolute_path)
        field = ".".join(map(str, where)) or "rule"
        raise _failure(document, where, f"{field}: {invalid.message}")
    example = data["remediation"]["example"]
    _documents, errors = parse(Source(document.source.path, example, len(example), False))
    if errors:
        message = f"remediation.example is not valid YAML: {errors[0].message}"
        raise _failure(document, ("remediation", "example"), message)


def _build_rule(path: str, document: Document, templates: dict[str, Template]) -> Rule:
    """The rule with its template bound and params, ATT&CK pair and file name checked."""
    from pydantic import ValidationError  # validating: not on the path of a cached scan

    data = document.data

    def fail(pointer: tuple[str | int, ...], message: str) -> _RuleFileError:
        return _failure(document, pointer, message)

    name = os.path.basename(path)
    if os.path.splitext(name)[0] != data["name"]:
        raise fail(("name",), f"rule name '{data['name']}' must match its file name '{name}'")
    template = templates.get(data["check"]["template"])
    if template is None:
        known = ", ".join(sorted(templates))
        raise fail(
            ("check", "template"),
            f"unknown template '{data['check']['template']}' (known: {known})",
        )
    try:
        params = template.params.model_validate(data["check"].get("params") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(part for part in first["loc"] if isinstance(part, (str, int)))
        field = ".".join(map(str, ("check", "params", *loc)))
        raise fail(("check", "params", *loc), f"{field}: {first['msg']}") from None
    tactic, technique = data["mitre"]["tactic"], data["mitre"]["technique"]
    if technique not in TECHNIQUES:
        raise fail(
            ("mitre", "technique"),
            f"{technique} is not a technique of the ATT&CK Containers matrix",
        )
    if tactic not in TECHNIQUES[technique][1]:
        valid = ", ".join(TECHNIQUES[technique][1])
        raise fail(
            ("mitre", "tactic"),
            f"{technique} does not belong to tactic {tactic} (it belongs to {valid})",
        )
    pss = data.get("pss") or {}
    try:
        fix = Fix.model_validate(data["fix"]) if "fix" in data else None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(part for part in first["loc"] if isinstance(part, (str, int)))
        raise fail(("fix", *loc), f"{'.'.join(map(str, ('fix', *loc)))}: {first['msg']}") from None
    return Rule(
        id=data["id"],
        name=data["name"],
        title=data["title"],
        severity=Severity(data["severity"]),
        stride=data["stride"],
        tactic=tactic,
        technique=technique,
        description=data["description"].strip(),
        remediation=data["remediation"]["text"].strip(),
        remediation_example=data["remediation"]["example"].rstrip() + "\n",
        references=tuple(data["references"]),
        template=template,
        params=params,
        pss_profile=pss.get("profile"),
        pss_control=pss.get("control"),
        enabled=data.get("enabled", True),
        source=document.source.path,
        refines=tuple(data.get("refines") or ()),
        implied_by=tuple(data.get("implied-by") or ()),
        fix=fix,
    )


def _clashes(rules: list[Rule]) -> list[InputError]:
    problems = []
    seen: dict[str, Rule] = {}
    for rule in rules:
        for key in (rule.id, rule.name):
            other = seen.get(key)
            if other is not None:
                problems.append(
                    InputError(rule.source, f"rule {key} is already defined in {other.source}")
                )
            seen[key] = rule
    return problems
