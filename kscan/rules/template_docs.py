"""The check template reference (docs/templates.md), generated from the template modules: each
template's scope and docstring, its params (types, defaults and descriptions, read from the
declared params classes and the docstrings written under their fields) and the rules that use it."""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import json
import textwrap
import types
import typing
from typing import Any, get_args

from kscan.checks import conditions
from kscan.checks.base import TEMPLATES, Params, Template
from kscan.checks.catalogue import MODULES
from kscan.checks.conditions import Conditions, Test
from kscan.rules.registry import Rule
from kscan.support.declared import Declared

COMMAND = "kscan rules --format templates > docs/templates.md"

SCOPES = {
    "object": "called once for each object of a file",
    "document": "called once for each YAML or JSON document, objects or not",
    "namespace": "called once for each namespace, with the objects of the scan in it",
    "inventory": "called once, with the objects of the whole scan",
    "suppressions": "called once, after every other rule, with the scan's suppressions",
}
"""What each template scope is called with."""

_SCALARS = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


def catalogue() -> list[Template]:
    """Every template, in the order of ``MODULES`` and, within a module, of its source."""
    names = [module.__name__ for module in MODULES]
    listed = sorted(
        (t for t in TEMPLATES.values() if t.run.__module__ in names),
        key=lambda t: (names.index(t.run.__module__), t.run.__code__.co_firstlineno),
    )
    return listed + [t for t in TEMPLATES.values() if t not in listed]


def describe(text: str | None) -> str:
    """A docstring as one Markdown paragraph (``code`` spans written with single backticks)."""
    return " ".join(inspect.cleandoc(text or "").split()).replace("``", "`")


def attribute_docstrings(model: type[Declared]) -> dict[str, str]:
    """The docstrings written under the fields of ``model`` and of its base models."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, Declared)) or cls is Declared:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError):
            continue
        body = next(node for node in tree.body if isinstance(node, ast.ClassDef)).body
        for statement, following in itertools.pairwise(body):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                found[statement.target.id] = following.value.value
    return found


def field_descriptions(model: type[Declared]) -> dict[str, str]:
    """Each field's description: ``Field(description=...)`` or its attribute docstring."""
    written = attribute_docstrings(model)
    return {
        name: describe(info.description or written.get(name))
        for name, info in model.model_fields().items()
    }


def type_name(annotation: Any) -> str:
    """A field type as a rule author reads it: ``list[string] | null``, ``"Ingress" | "Egress"``,
    ``list[Condition]`` (YAML has lists only, so tuples and sets are lists too)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(json.dumps(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in args)
    if origin in (list, tuple, set, frozenset):
        items = [arg for arg in args if arg is not Ellipsis]
        return f"list[{' | '.join(type_name(arg) for arg in items) or 'any'}]"
    if origin is dict:
        return f"map[{type_name(args[0])}, {type_name(args[1])}]" if args else "map"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(json.dumps(member.value) for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, Declared):
        return annotation.__name__
    if annotation is Any:
        return "any"
    return _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def nested_models(annotation: Any) -> list[type[Params]]:
    """The params models a field type holds (``Condition`` in ``tuple[Condition, ...]``)."""
    if isinstance(annotation, type) and issubclass(annotation, Params):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in nested_models(arg)]


def default_text(model: type[Declared], name: str) -> str:
    """The default of a field as YAML/JSON, or ``required``."""
    info = model.model_fields()[name]
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    return json.dumps(_plain(value))


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list, set, frozenset)):
        return [_plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def taken_fields(model: type[Declared]) -> dict[str, Any]:
    """A params model's fields, without the condition tests its template does not take."""
    if not issubclass(model, Conditions):
        return model.model_fields()
    refused = {test.replace("-", "_") for test in get_args(Test)} - {
        test.replace("-", "_") for test in model.tests
    }
    return {name: info for name, info in model.model_fields().items() if name not in refused}


def params_table(model: type[Params]) -> list[str]:
    """The Markdown table of a params model's fields, or a line saying it has none."""
    fields = taken_fields(model)
    if not fields:
        return ["No params."]
    descriptions = field_descriptions(model)
    lines = ["| Param | Type | Default | Description |", "|---|---|---|---|"]
    for name, info in fields.items():
        lines.append(
            f"| `{info.alias or name}` | `{_cell(type_name(info.annotation))}` "
            f"| `{_cell(default_text(model, name))}` | {_cell(descriptions[name])} |"
        )
    return lines


def models_of(template: Template) -> list[type[Params]]:
    """A template's params model, then the models nested in it (each once, depth first)."""
    found: list[type[Params]] = []

    def visit(model: type[Params]) -> None:
        if model in found:
            return
        found.append(model)
        for info in model.model_fields().values():
            for nested in nested_models(info.annotation):
                visit(nested)

    visit(template.params)
    return found


def missing_descriptions() -> list[str]:
    """Templates without a docstring and params without a description, as ``template.param``."""
    missing = []
    for template in catalogue():
        if not describe(template.run.__doc__):
            missing.append(template.name)
        for model in models_of(template):
            for name, text in field_descriptions(model).items():
                if not text:
                    missing.append(f"{template.name}: {model.__name__}.{name}")
    return missing


def reference(rules: list[Rule]) -> str:
    """The template reference: an index, then every template with its params and rules."""
    templates = catalogue()
    users: dict[str, list[Rule]] = {t.name: [] for t in templates}
    for rule in rules:
        users.setdefault(rule.template.name, []).append(rule)
    lines = [
        "# kscan template reference",
        "",
        f"Generated from the check templates in `kscan/checks/` (`{COMMAND}`): do not edit.",
        "",
        "A rule file names a template (`check.template`) and gives its params (`check.params`,",
        "kebab-case keys; unknown keys are an error). Custom rules use the same templates; see",
        "[rules.md](rules.md) for every built-in rule's check, a model to start from.",
        "",
        "A template's scope says what it is called with:",
        "",
        *(f"- `{scope}`: {meaning}." for scope, meaning in SCOPES.items()),
        "",
        "## The condition language",
        "",
        "The `field`, `component-flag` and `capabilities` templates test values in one "
        "language (`kscan/checks/conditions.py`):",
        "",
        *inspect.cleandoc(conditions.__doc__ or "").replace("``", "`").split("\n"),
        "",
        "## Templates",
        "",
        "| Template | Scope | Params | Rules |",
        "|---|---|---|---|",
    ]
    for template in templates:
        params, used = len(taken_fields(template.params)), len(users[template.name])
        lines.append(
            f"| [`{template.name}`](#{template.name}) | {template.scope} | {params} | {used} |"
        )
    for template in templates:
        lines += [
            "",
            f'<a id="{template.name}"></a>',
            "",
            f"## `{template.name}`",
            "",
            f"**Scope:** `{template.scope}`",
            "",
            describe(template.run.__doc__),
        ]
        for index, model in enumerate(models_of(template)):
            name = f"`{model.__name__}`"
            heading = f"**Params** ({name})" if index == 0 else f"**{name}**"
            summary = describe(model.__dict__.get("__doc__"))
            lines += ["", heading + (f": {summary}" if summary else ":")]
            lines += ["", *params_table(model)]
        rules_using = users[template.name]
        listed = ", ".join(f"[{r.id}](rules.md#{r.id.lower()}) `{r.name}`" for r in rules_using)
        count = f"{len(rules_using)} rule{'s' if len(rules_using) != 1 else ''}"
        lines += ["", f"**Used by {count}:** {listed}" if rules_using else "**Used by:** no rule"]
    return "\n".join(lines).rstrip() + "\n"
