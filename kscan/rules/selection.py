"""Which rules run, and with what severity and params: the configuration applied to the rules."""

from __future__ import annotations

from typing import NoReturn

from kscan.checks.base import Params
from kscan.config.files import Config, ConfigError
from kscan.config.selectors import matches_selector
from kscan.input.sources import InputError
from kscan.model.taxonomy import Severity
from kscan.rules.registry import Rule
from kscan.support.values import replace


def configure(rules: list[Rule], config: Config) -> list[Rule]:
    """The rules to run: ``select`` if given (every rule it names, on by default or not), else
    the rules on by default plus ``enable``; minus ``ignore``; then per-rule ``severity`` and
    ``params`` overrides. ``enable`` never widens a ``select``: it turns on rules that are off by
    default, and a selection already runs every rule it names (``--select KS3 --enable all`` runs
    the KS3xx rules, not every rule), so that a policy's selection stays what it says."""

    def matching(key: str) -> set[str]:
        selectors = config[key] or []
        for index, selector in enumerate(selectors):
            if not any(matches_selector(selector, r.id, r.name) for r in rules):
                _fail(config, key, (key, index), f"{key}: no rule matches '{selector}'")
        return {r.id for r in rules for s in selectors if matches_selector(s, r.id, r.name)}

    enabled = matching("enable")  # checked even under a select: a typo is an error either way
    if config["select"] is not None:
        chosen = matching("select")
    else:
        chosen = {r.id for r in rules if r.enabled} | enabled
    chosen -= matching("ignore")
    by_key = {key: rule for rule in rules for key in (rule.id, rule.name)}
    for setting in ("severity", "params"):
        named: dict[str, str] = {}
        for key in config[setting]:
            rule = by_key.get(key) or by_key.get(key.upper())
            if rule is None:
                _fail(config, setting, (setting, key), f"{setting}: no rule '{key}'")
            if rule.id in named:
                message = f"{setting}: '{key}' and '{named[rule.id]}' are the same rule"
                _fail(config, setting, (setting, key), message)
            named[rule.id] = key
    for index, entry in enumerate(config["suppressions"]):
        for selector in entry["rules"]:
            if not any(matches_selector(selector, r.id, r.name) for r in rules):
                pointer = ("suppressions", index, "rules")
                _fail(
                    config, "suppressions", pointer, f"suppressions: no rule matches '{selector}'"
                )
    every = []
    for rule in rules:  # params are checked for every rule named, running or not
        severity = _lookup(config["severity"], rule)
        params = _lookup(config["params"], rule)
        if severity is not None:
            rule = replace(rule, severity=Severity(severity), severity_pinned=True)
        if params is not None:
            rule = replace(rule, params=_merged_params(rule, params, config))
        every.append(rule)
    _check_container_scopes(every, config)
    return [rule for rule in every if rule.id in chosen]


def _check_container_scopes(rules: list[Rule], config: Config) -> None:
    """A suppression scoped to a ``container`` suppresses only findings about that container:
    a rule selector whose rules never report a container (a pod's hostPID or volumes, an
    object's labels, a namespace) would make the entry suppress nothing, silently."""
    for index, entry in enumerate(config["suppressions"]):
        if entry.get("container") is None:
            continue
        for selector in entry["rules"]:
            named = [r for r in rules if matches_selector(selector, r.id, r.name)]
            if named and not any(r.template.names_containers(r.params) for r in named):
                subject = (
                    f"the findings of '{selector}' are"
                    if len(named) == 1
                    else f"the findings of the {len(named)} rules '{selector}' matches are"
                )
                message = (
                    f"suppressions: {subject} about a pod or an object, never one container, "
                    "so 'container' makes this entry suppress none of them (remove 'container', "
                    "or give these rules an entry of their own without it)"
                )
                _fail(config, "suppressions", ("suppressions", index, "container"), message)


def _lookup(mapping: dict[str, object], rule: Rule) -> object | None:
    for key, value in mapping.items():
        if key.upper() == rule.id or key == rule.name:
            return value
    return None


def _merged_params(rule: Rule, override: object, config: Config) -> Params:
    from pydantic import ValidationError  # only a configuration that sets params validates

    base = rule.params.model_dump(by_alias=True, exclude_unset=True)
    try:
        return rule.template.params.model_validate({**base, **override})  # type: ignore[dict-item]
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(part) for part in error["loc"])
        key = next(k for k in config["params"] if k.upper() == rule.id or k == rule.name)
        _fail(config, "params", ("params", key), f"params.{key}.{loc}: {error['msg']}")


def _fail(config: Config, setting: str, pointer: tuple[str | int, ...], message: str) -> NoReturn:
    origin = config.origins.get(setting, "")
    if config.file is not None and origin != "command line":
        line, column = config.file.locate(pointer)
        raise ConfigError(InputError(str(config.file.path), message, line, column))
    raise ConfigError(InputError("command line", message))
