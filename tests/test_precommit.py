"""The pre-commit hooks, end to end: the real ``pre-commit run`` against a snapshot of this
checkout, named in a ``.pre-commit-config.yaml`` by path and commit as a user names kscan by URL
and commit.

The snapshot is a throwaway git repository holding the checkout's tracked files as they are in
the working tree (what ``pre-commit try-repo`` would clone). pre-commit installs kscan into a
virtualenv with ``pip install .`` once, keyed by repository and commit, in this module's private
``PRE_COMMIT_HOME``; every test after the first reuses it (``try-repo`` would build one per run).
The ``kscan-system`` hook is run through ``try-repo``, which installs nothing for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # seconds: the first run builds a virtualenv and installs kscan with pip
# Set when pytest itself runs inside a git hook; they would point git at the wrong repository.
_HOOK_VARIABLES = ("PRE_COMMIT", "PRE_COMMIT_COLOR", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")

INSECURE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: tools
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
"""

HOOK_NAME = "kscan (Kubernetes manifest security scan)"
README = "# deploy\n\nManifests for the shop. Not a Kubernetes manifest itself.\n"

pytestmark = pytest.mark.slow  # real pre-commit runs install environments


def _pre_commit() -> str | None:
    beside = Path(sys.executable).parent / ("pre-commit.exe" if os.name == "nt" else "pre-commit")
    return str(beside) if beside.is_file() else shutil.which("pre-commit")


@pytest.fixture(scope="module")
def pre_commit() -> str:
    executable = _pre_commit()
    if executable is None:
        pytest.skip("pre-commit is not installed (pip install 'kscan[test]')")
    return executable


@pytest.fixture(scope="module")
def hook_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """os.environ (pip needs its configuration to reach the index), a private PRE_COMMIT_HOME."""
    env = dict(os.environ)
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    env["NO_COLOR"] = "1"
    for variable in _HOOK_VARIABLES:
        env.pop(variable, None)
    return env


def _git_repo(
    path: Path, files: dict[str, str], env: dict[str, str], tracked: list[str] | None = None
) -> Path:
    path.mkdir(exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    for args in (
        ["init", "-q"],
        ["config", "user.name", "kscan tests"],
        ["config", "user.email", "kscan-tests@example.invalid"],
        ["config", "commit.gpgsign", "false"],
        ["add", "--", *(tracked if tracked is not None else files)],
    ):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def hook_source(tmp_path_factory: pytest.TempPathFactory, hook_env: dict[str, str]) -> str:
    """A git repository of the checkout's tracked files as the working tree has them, committed:
    the ``repo:`` of the configurations below. Returns its commit."""
    snapshot = tmp_path_factory.mktemp("kscan-hooks")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout
    tracked = [name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()]
    for name in tracked:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, snapshot / name)
    _git_repo(snapshot, {}, hook_env, tracked)
    subprocess.run(
        ["git", "commit", "-q", "-m", "snapshot"], cwd=snapshot, env=hook_env, check=True
    )
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=snapshot, check=True, capture_output=True, text=True
    )
    return f"{snapshot}@{head.stdout.strip()}"


def _run_hook(
    pre_commit: str, source: str, hook: str, repo: Path, env: dict[str, str], *files: str
) -> subprocess.CompletedProcess[str]:
    """``pre-commit run`` of one kscan hook in ``repo``, configured as a user configures it."""
    location, commit = source.rsplit("@", 1)
    config = f"repos:\n  - repo: {location}\n    rev: {commit}\n    hooks:\n      - id: {hook}\n"
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    subprocess.run(["git", "add", ".pre-commit-config.yaml"], cwd=repo, env=env, check=True)
    selection = ["--files", *files] if files else ["--all-files"]
    return subprocess.run(
        [pre_commit, "run", hook, *selection],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _hook_status(result: subprocess.CompletedProcess[str]) -> str | None:
    """Passed, Failed or Skipped: the end of the hook's ``name....status`` line."""
    for line in result.stdout.splitlines():
        if line.startswith(HOOK_NAME + "."):
            return line.rstrip(".").rsplit(".", 1)[-1]
    return None


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def test_hook_fails_on_insecure_manifest(
    pre_commit: str, hook_env: dict[str, str], hook_source: str, tmp_path: Path
) -> None:
    repo = _git_repo(tmp_path / "repo", {"debug-pod.yaml": INSECURE_POD}, hook_env)

    result = _run_hook(pre_commit, hook_source, "kscan", repo, hook_env)

    assert result.returncode == 1, _output(result)  # 1: a hook failed (3 would be a setup error)
    assert _hook_status(result) == "Failed", _output(result)
    assert "privileged-container" in result.stdout, _output(result)
    assert "debug-pod.yaml" in result.stdout, _output(result)


def test_hook_passes_hardened_manifest(
    pre_commit: str, hook_env: dict[str, str], hook_source: str, tmp_path: Path
) -> None:
    hardened = (REPO_ROOT / "examples" / "hardened-deployment.yaml").read_text(encoding="utf-8")
    files = {"deployment.yaml": hardened, "README.md": README}
    repo = _git_repo(tmp_path / "repo", files, hook_env)

    result = _run_hook(pre_commit, hook_source, "kscan", repo, hook_env)

    assert result.returncode == 0, _output(result)
    assert "Passed" in result.stdout, _output(result)
    assert _hook_status(result) == "Passed", _output(result)  # not Skipped: deployment.yaml ran


def test_hook_sees_policies_in_files_it_was_not_given(
    pre_commit: str, hook_env: dict[str, str], hook_source: str, tmp_path: Path
) -> None:
    """A commit touching only the Deployment must not be blamed for a missing default-deny
    NetworkPolicy (or LimitRange, ResourceQuota, ServiceAccount) that lives in another file."""
    hardened = (REPO_ROOT / "examples" / "hardened-deployment.yaml").read_text(encoding="utf-8")
    deployment, *namespace_objects = hardened.split("\n---\n")
    files = {
        "deployment.yaml": deployment + "\n",
        "namespace/shop.yaml": "\n---\n".join(namespace_objects),
    }
    (tmp_path / "repo" / "namespace").mkdir(parents=True)
    repo = _git_repo(tmp_path / "repo", files, hook_env)

    result = _run_hook(pre_commit, hook_source, "kscan", repo, hook_env, "deployment.yaml")

    assert result.returncode == 0, _output(result)
    assert _hook_status(result) == "Passed", _output(result)


def test_hook_fails_on_a_file_that_does_not_parse(
    pre_commit: str, hook_env: dict[str, str], hook_source: str, tmp_path: Path
) -> None:
    hardened = (REPO_ROOT / "examples" / "hardened-deployment.yaml").read_text(encoding="utf-8")
    files = {"deployment.yaml": hardened, "broken.yaml": "apiVersion: v1\nkind: [Pod\n"}
    repo = _git_repo(tmp_path / "repo", files, hook_env)

    result = _run_hook(pre_commit, hook_source, "kscan", repo, hook_env)

    assert result.returncode == 1, _output(result)
    assert _hook_status(result) == "Failed", _output(result)
    assert "- exit code: 2" in result.stdout, _output(result)
    assert "broken.yaml:3:1: error: invalid YAML" in result.stdout, _output(result)


def test_system_hook_uses_the_kscan_on_path(
    pre_commit: str, hook_env: dict[str, str], tmp_path: Path
) -> None:
    """``kscan-system`` installs nothing: it runs the kscan found on PATH (here this checkout)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kscan"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO_ROOT}" exec "{sys.executable}" -m kscan "$@"\n')
    shim.chmod(0o755)
    env = {**hook_env, "PATH": f"{bin_dir}{os.pathsep}{hook_env['PATH']}"}
    repo = _git_repo(tmp_path / "repo", {"debug-pod.yaml": INSECURE_POD}, env)

    result = subprocess.run(
        [pre_commit, "try-repo", str(REPO_ROOT), "kscan-system", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )

    assert result.returncode == 1, _output(result)
    assert "privileged-container" in result.stdout, _output(result)


JSONC = {
    "tsconfig.json": '{\n  // TypeScript\n  "compilerOptions": {"strict": true},\n}\n',
    ".vscode/settings.json": '{\n  /* editor */\n  "editor.tabSize": 2,\n}\n',
    ".devcontainer/devcontainer.json": '{"name": "dev", // the image\n "image": "x"}\n',
}


def test_hook_passes_json_with_comments_that_holds_no_manifest(
    pre_commit: str, hook_env: dict[str, str], hook_source: str, tmp_path: Path
) -> None:
    """tsconfig.json, .vscode and devcontainer files are JSON with comments: not JSON, and
    nothing in them can be a Kubernetes object. They are noted, not errors."""
    hardened = (REPO_ROOT / "examples" / "hardened-deployment.yaml").read_text(encoding="utf-8")
    (tmp_path / "repo" / ".vscode").mkdir(parents=True)
    (tmp_path / "repo" / ".devcontainer").mkdir(parents=True)
    repo = _git_repo(tmp_path / "repo", {"deployment.yaml": hardened, **JSONC}, hook_env)

    result = _run_hook(pre_commit, hook_source, "kscan", repo, hook_env)

    assert result.returncode == 0, _output(result)
    assert _hook_status(result) == "Passed", _output(result)


def test_hook_fails_on_a_json_manifest_that_does_not_parse(
    pre_commit: str, hook_env: dict[str, str], hook_source: str, tmp_path: Path
) -> None:
    manifest = '{"apiVersion": "v1", "kind": "Pod", // a comment\n "metadata": {"name": "p"}}\n'
    (tmp_path / "repo" / ".vscode").mkdir(parents=True)
    (tmp_path / "repo" / ".devcontainer").mkdir(parents=True)
    repo = _git_repo(tmp_path / "repo", {"pod.json": manifest, **JSONC}, hook_env)

    result = _run_hook(pre_commit, hook_source, "kscan", repo, hook_env)

    assert result.returncode == 1, _output(result)
    assert "pod.json:1:37: error: invalid JSON" in result.stdout, _output(result)


FIXABLE_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web   # the shop's front end
  namespace: shop
spec:
  containers:
    - name: web
      image: registry.example.com/web:1.0
"""


def test_fix_hook_changes_the_file_and_fails_then_passes(
    pre_commit: str, hook_env: dict[str, str], hook_source: str, tmp_path: Path
) -> None:
    """pre-commit's convention for hooks that change files: the first run fixes and fails;
    once the user stages the fix, the hook passes (unfixable findings are the kscan hook's)."""
    repo = _git_repo(tmp_path / "repo", {"web.yaml": FIXABLE_POD}, hook_env)

    def fix_hook() -> subprocess.CompletedProcess[str]:
        return _run_hook(pre_commit, hook_source, "kscan-fix", repo, hook_env)

    first = fix_hook()
    assert first.returncode == 1, _output(first)
    assert "files were modified by this hook" in first.stdout, _output(first)
    fixed = (repo / "web.yaml").read_text(encoding="utf-8")
    assert "  name: web   # the shop's front end\n" in fixed
    assert "allowPrivilegeEscalation: false" in fixed and "type: RuntimeDefault" in fixed
    subprocess.run(["git", "add", "web.yaml"], cwd=repo, env=hook_env, check=True)

    second = fix_hook()
    assert second.returncode == 0, _output(second)
    assert (repo / "web.yaml").read_text(encoding="utf-8") == fixed
