"""kscan.support.paths: the pathlib semantics the scan path keeps, with plain strings."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from kscan.support.paths import ancestors, pure, relative_to, resolved

NAMES = ["", ".", "./", "a", "a/", "a//b/./c/", "./x", "../x", "a/../b", "/", "//", "///",
         "//a", "///a//b", "/./", "/a/b/..", ".hidden", "a/.", "a/./."]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_pure_names_a_path_as_pathlib_does(name: str) -> None:
    assert pure(name) == str(PurePosixPath(name))
    assert pure(PurePosixPath(name)) == str(PurePosixPath(name))


@pytest.mark.parametrize("directory", ["/", "/a", "/a/b/c", "//a/b"])
def test_ancestors_are_the_directory_and_its_parents(directory: str) -> None:
    assert list(ancestors(directory)) == [
        str(p) for p in (Path(directory), *Path(directory).parents)
    ]


@pytest.mark.parametrize(
    ("path", "base"),
    [("/a/b", "/a"), ("/a", "/a"), ("/ab", "/a"), ("/a/b/c", "/"), ("/", "/"), ("/a", "/b")],
)
def test_relative_to_is_pathlibs(path: str, base: str) -> None:
    expected = Path(path).relative_to(base).as_posix() if Path(path).is_relative_to(base) else None
    assert relative_to(path, base) == expected


def test_resolved_follows_links_after_making_the_path_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "deep")
    monkeypatch.chdir(tmp_path)
    for name in ("link/../x", "link", "./real//deep/", "nothing/../link"):
        assert resolved(name) == str(Path(os.path.abspath(name)).resolve())
