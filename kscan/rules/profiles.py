"""Which configuration governs each scanned file, and the rules it runs.

As ruff does, each file is judged under the nearest ``.kscan.yaml`` (or ``pyproject.toml`` with
``[tool.kscan]``) in its directory or above it, up to the repository root; the command line wins
over every file. ``--config FILE`` puts every file under one configuration; ``--isolated``
ignores the configurations in the scanned tree (leaving ``--config``, or none), so a CI job can
enforce a central policy that no configuration in the scanned repository can weaken.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from kscan.config.files import Config, discover_for, load, resolve
from kscan.config.globs import path_matches
from kscan.input.sources import STDIN
from kscan.rules.registry import Rule


class Profile:
    """One configuration (or none) with the command line over it, and the rules it runs.
    (The classes of this module are plain ones: cheaper to define at start-up than
    dataclasses.)"""

    __slots__ = ("config", "index", "rules")

    def __init__(self, index: int, config: Config, rules: list[Rule]) -> None:
        self.index = index
        self.config = config
        self.rules = rules

    def excludes(self, path: str) -> bool:
        """Whether its exclude globs (each relative to where it is written) match ``path``."""
        return any(path_matches(path, glob, root) for glob, root in self.config.exclude_roots)


Override = Callable[[Config], None]
"""Applies the command line's settings over a configuration."""
Configure = Callable[[Config], list[Rule]]
"""The rules a configuration runs (loads its custom rules, applies selection and params)."""


class Profiles:
    """The profiles of a scan, found as files are assigned to them."""

    __slots__ = (
        "_by_file",
        "_by_path",
        "_discovered",
        "configure",
        "explicit",
        "isolated",
        "override",
        "profiles",
    )

    def __init__(
        self,
        override: Override,
        configure: Configure,
        explicit: str | None = None,
        isolated: bool = False,
    ) -> None:
        self.override = override
        self.configure = configure
        self.explicit = explicit
        self.isolated = isolated
        self.profiles: list[Profile] = []
        self._by_file: dict[str | None, Profile] = {}
        self._by_path: dict[str, Profile] = {}
        self._discovered: dict[str, str | None] = {}
        """Directory -> the configuration file governing it (``discover_for``'s memo)."""

    @classmethod
    def single(cls, rules: list[Rule]) -> Profiles:
        """One profile for every file, with these rules (for scans made in code and tests)."""
        profiles = cls(lambda config: None, lambda config: rules, isolated=True)
        profiles.of(".")
        return profiles

    def of(self, path: str) -> Profile:
        """The profile governing a scanned path (``-``: the current directory)."""
        known = self._by_path.get(path)
        if known is not None:
            return known
        if self.isolated or self.explicit is not None:
            found = self._profile(self.explicit)
        else:
            absolute = os.getcwd() if path == STDIN else os.path.abspath(path)
            directory = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
            found = self._profile(discover_for(directory, self._discovered))
        self._by_path[path] = found
        return found

    def _profile(self, file: str | None) -> Profile:
        known = self._by_file.get(file)
        if known is not None:
            return known
        config = resolve(load(file) if file is not None else None)
        self.override(config)
        profile = Profile(len(self.profiles), config, self.configure(config))
        self.profiles.append(profile)
        self._by_file[file] = profile
        return profile

    def all_rules(self) -> list[Rule]:
        """Every rule some profile runs, once per id (the first profile's version), by id."""
        rules: dict[str, Rule] = {}
        for profile in self.profiles:
            for rule in profile.rules:
                rules.setdefault(rule.id, rule)
        return sorted(rules.values(), key=lambda rule: rule.id)

    def assign(self, paths: Iterable[str]) -> Assignment:
        """Which profile each path is judged under, found before any file is scanned (so that
        worker processes get every profile), as plain data that can cross processes."""
        index_of = {path: self.of(path).index for path in paths}
        return Assignment([profile.rules for profile in self.profiles], index_of)


class Assignment:
    """The rules of each profile and the profile of each scanned path: what a file scan needs."""

    __slots__ = ("index_of", "rules")

    def __init__(self, rules: list[list[Rule]], index_of: dict[str, int]) -> None:
        self.rules = rules
        self.index_of = index_of

    def every_rule_object(self) -> list[Rule]:
        """Every rule object of every profile, once, in a fixed order (for pickling by index)."""
        seen: dict[int, Rule] = {}
        for rules in self.rules:
            for rule in rules:
                seen.setdefault(id(rule), rule)
        return list(seen.values())
