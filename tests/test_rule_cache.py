"""The rule cache: used when it matches, rebuilt silently when it is corrupt, hostile, foreign,
stale or cannot be written, and keyed by every rule file, built-in or custom."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kscan.checks.base import yaml_value
from kscan.rules import cache
from kscan.rules.registry import Rule, load_rules

REPO = Path(__file__).resolve().parents[1]
CUSTOM_RULE = (REPO / "rules" / "pod" / "privileged-container.yaml").read_text()


@pytest.fixture
def cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The rule sets built from their files (not read from the cache), by custom directory."""
    built: list[str | None] = []

    def counted(custom: str | None = None) -> list[Rule]:
        built.append(custom)
        return load_rules(custom=custom)

    monkeypatch.setattr(cache, "load_rules", counted)
    return built


def cached_file(folder: Path) -> Path:
    (path,) = folder.glob("rules-*.pickle")
    return path


def custom_rules(folder: Path, title: str = "A custom privileged check") -> Path:
    folder.mkdir(exist_ok=True)
    text = CUSTOM_RULE.replace("id: KS101", "id: ACME101").replace(
        "name: privileged-container", "name: acme-privileged"
    )
    title_line = next(line for line in text.splitlines() if line.startswith("title:"))
    (folder / "acme-privileged.yaml").write_text(text.replace(title_line, f"title: {title}"))
    return folder


def test_a_second_load_reads_the_cache(
    rules: list[Rule], cache_folder: Path, builds: list[str | None]
) -> None:
    first = cache.load_cached_rules()
    assert cached_file(cache_folder).stat().st_mode & 0o077 == 0
    second = cache.load_cached_rules()
    assert builds == [None]
    assert second == first == rules
    assert all(a.template is b.template for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data[:-40] + bytes(40),  # payload changed: the checksum differs
        lambda data: b"not a cache at all",
        lambda data: b"",
    ],
)
def test_a_corrupt_file_is_rebuilt(
    rules: list[Rule], cache_folder: Path, builds: list[str | None], damage: object
) -> None:
    cache.load_cached_rules()
    path = cached_file(cache_folder)
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert cache.load_cached_rules() == rules
    assert builds == [None, None]
    cache.load_cached_rules()  # the rebuilt file is good again
    assert builds == [None, None]


class _Planted:
    """What a hostile cache would hold: unpickling it runs ``Path.touch``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return Path.touch, (self.marker,)


class _CallsKscan:
    """Unpickling it would call a function of kscan."""

    def __reduce__(self) -> tuple[object, tuple[bool]]:
        return yaml_value, (True,)


def _forge(path: Path, payload: bytes) -> None:
    """A cache file whose keys and checksum are right, holding ``payload``."""
    found = cache._read(path)
    assert found is not None
    cache._write(path, found[0], found[1], payload)


def test_a_hostile_file_runs_nothing(
    rules: list[Rule], cache_folder: Path, builds: list[str | None], tmp_path: Path
) -> None:
    cache.load_cached_rules()
    marker = tmp_path / "ran"
    path = cached_file(cache_folder)
    _forge(path, pickle.dumps([_Planted(marker)]))
    assert cache.load_cached_rules() == rules
    assert not marker.exists()
    assert builds == [None, None]
    # A function of kscan itself is refused too (only the classes a rule set is made of).
    _forge(path, pickle.dumps([_CallsKscan()]))
    assert cache.load_cached_rules() == rules
    assert builds == [None, None, None]


def test_a_file_others_could_have_written_is_not_trusted(
    cache_folder: Path, builds: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.load_cached_rules()
    path = cached_file(cache_folder)
    path.chmod(0o666)
    cache.load_cached_rules()
    assert builds == [None, None]
    assert path.stat().st_mode & 0o077 == 0  # replaced by a private one
    owner = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)  # as if another user owned it
    cache.load_cached_rules()
    assert len(builds) == 3


def test_a_symbolic_link_is_not_followed(
    rules: list[Rule], cache_folder: Path, builds: list[str | None]
) -> None:
    cache.load_cached_rules()
    path = cached_file(cache_folder)
    elsewhere = cache_folder.parent / "elsewhere.pickle"
    path.rename(elsewhere)
    path.symlink_to(elsewhere)
    assert cache.load_cached_rules() == rules
    assert builds == [None, None]


def test_a_changed_rule_file_invalidates_the_cache(
    tmp_path: Path, cache_folder: Path, builds: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules_copy = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules_copy)
    monkeypatch.setattr("kscan.rules.registry.builtin_rules_dir", lambda: rules_copy)
    before = {rule.id: rule.title for rule in cache.load_cached_rules()}
    rule_file = rules_copy / "pod" / "privileged-container.yaml"
    old_title = f"title: {before['KS101']}"
    rule_file.write_text(rule_file.read_text().replace(old_title, "title: Changed title"))
    after = {rule.id: rule.title for rule in cache.load_cached_rules()}
    assert after["KS101"] == "Changed title"
    assert {key: value for key, value in after.items() if key != "KS101"} == {
        key: value for key, value in before.items() if key != "KS101"
    }
    assert builds == [None, None]


def test_a_rule_file_touched_but_unchanged_keeps_the_cache(
    tmp_path: Path, cache_folder: Path, builds: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While no rule file's status changed, no rule file is read; when one changed but its
    content did not, the rules come from the cache, which then holds the new status."""
    rules_copy = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules_copy)
    monkeypatch.setattr("kscan.rules.registry.builtin_rules_dir", lambda: rules_copy)
    first = cache.load_cached_rules()
    keyed: list[int] = []
    key = cache._key
    monkeypatch.setattr(cache, "_key", lambda roots: keyed.append(1) or key(roots))
    assert cache.load_cached_rules() == first
    assert keyed == []
    rule_file = rules_copy / "pod" / "privileged-container.yaml"
    rule_file.write_text(rule_file.read_text())  # the same text: new times
    assert cache.load_cached_rules() == first
    assert keyed == [1]
    assert cache.load_cached_rules() == first
    assert keyed == [1]
    assert builds == [None]


def test_custom_rules_are_keyed_by_directory_and_content(
    tmp_path: Path, cache_folder: Path, builds: list[str | None]
) -> None:
    first = custom_rules(tmp_path / "first", "First title")
    second = custom_rules(tmp_path / "second", "Second title")

    def title(custom: Path) -> str:
        rules = cache.load_cached_rules(custom)
        return next(rule.title for rule in rules if rule.id == "ACME101")

    assert (title(first), title(second)) == ("First title", "Second title")
    assert (title(first), title(second)) == ("First title", "Second title")
    assert builds == [str(first), str(second)]
    custom_rules(first, "Edited title")
    assert title(first) == "Edited title"
    (first / "acme-privileged.yaml").rename(first / "acme-privileged.yml")  # renamed: rebuilt
    assert title(first) == "Edited title"
    assert builds == [str(first), str(second), str(first), str(first)]
    assert len(list(cache_folder.glob("rules-*.pickle"))) == 2  # one file per rule set


def test_rules_edited_while_they_are_built_are_not_cached(
    tmp_path: Path, cache_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = custom_rules(tmp_path / "custom", "Before")

    def edited_meanwhile(custom: Path | None = None) -> list[Rule]:
        built = load_rules(custom=custom)
        custom_rules(tmp_path / "custom", "After")
        return built

    monkeypatch.setattr(cache, "load_rules", edited_meanwhile)
    cache.load_cached_rules(custom)
    assert list(cache_folder.glob("rules-*.pickle")) == []


def test_without_a_writable_cache_directory_rules_still_load(
    rules: list[Rule], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builds: list[str | None]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))  # cannot be created
    assert cache.load_cached_rules() == rules
    assert cache.load_cached_rules() == rules
    assert builds == [None, None]
    assert list(tmp_path.iterdir()) == [blocker]


def test_an_empty_setting_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, builds: list[str | None]
) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache.load_cached_rules()
    cache.load_cached_rules()
    assert builds == [None, None]
    assert list(tmp_path.iterdir()) == []


def test_the_cache_lives_in_the_user_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() == str(tmp_path / "kscan")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid by the XDG spec: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == str(tmp_path / "home" / ".cache" / "kscan")
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "mine"))
    assert cache.cache_dir() == str(tmp_path / "mine")


def test_a_cached_run_reports_what_an_uncached_run_does(tmp_path: Path, cache_folder: Path) -> None:
    """Whole processes, with a custom rules directory: the report is byte-identical."""
    custom = custom_rules(tmp_path / "custom")
    command = [sys.executable, "-m", "kscan", "--format", "json", "--rules-dir", str(custom)]
    command.append(str(REPO / "examples" / "insecure-deployment.yaml"))

    def report(cache_setting: str) -> bytes:
        env = {**os.environ, cache.CACHE_ENV: cache_setting}
        done = subprocess.run(command, capture_output=True, env=env, cwd=tmp_path, check=False)
        assert done.returncode == 1, done.stderr
        return done.stdout

    uncached = report("")
    assert b"ACME101" in uncached
    cache.load_cached_rules(custom)  # fills the cache, as the first cached run would
    (filled,) = cache_folder.glob("rules-*.pickle")
    before = filled.stat().st_mtime_ns
    assert report(str(cache_folder)) == uncached
    assert filled.stat().st_mtime_ns == before  # read, not rebuilt


def test_the_status_changes_with_any_rule_file_or_the_schema(tmp_path: Path) -> None:
    """A rule file added (at any depth), rewritten or removed, or the schema rewritten, changes
    the status that lets a cached rule set be used without reading the rule files."""
    rules_copy = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules_copy)
    roots = [str(rules_copy)]
    seen = [cache._status(roots)]
    assert cache._status(roots) == seen[0]
    added = rules_copy / "pod" / "extra" / "new.yml"
    added.parent.mkdir()
    added.write_text("id: KS999\n")
    seen.append(cache._status(roots))
    added.write_text("id: KS998\n")  # the same size: a new time
    os.utime(added, ns=(1, 1))
    seen.append(cache._status(roots))
    rule_file = rules_copy / "pod" / "privileged-container.yaml"
    rule_file.write_text(rule_file.read_text() + "\n")
    seen.append(cache._status(roots))
    schema = rules_copy / "schema.json"
    schema.write_text(schema.read_text() + " ")
    seen.append(cache._status(roots))
    assert len(set(seen)) == len(seen)
    added.unlink()
    assert cache._status(roots) != seen[-1]
