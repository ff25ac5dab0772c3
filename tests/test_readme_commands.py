"""Every shell command of the README's ``sh`` blocks is either run here, in a copy of the
repository, with the exit code the README gives or implies, or left out for a stated reason.
A command added to the README without being sorted into one of the two tables fails the test,
so a documented command cannot quietly stop working."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

NOT_RUN = {
    "pip install '.[test]' && pytest": "installs from the network, then runs this suite itself",
    "helm template . | kscan -": "needs helm and a chart; stdin is tested in test_streams.py",
    "pip install -e '.[dev]'": "installs from the network",
    "ruff check . && ruff format --check . && mypy kscan && pytest": "runs this suite itself",
    "pytest -m slow": "the slow tests, which CI runs on their own",
    "python bench/bench.py ../shared/corpus/real": "a benchmark over a corpus outside the repo",
    "python bench/scale.py": "a benchmark of minutes",
}
"""Commands left out, each with why."""

RUN = {
    # the Quickstart: kscan is already installed here, so only what follows `pip install . &&`
    "pip install . && kscan examples/insecure-deployment.yaml": 1,  # "exits with status 1"
    "kscan pod.yaml": 1,
    "kscan deploy/ base/": 1,
    "kscan --format sarif -o kscan.sarif .": 1,
    "kscan --enable image-digest deploy/": 1,
    "kscan rules": 0,
    "kscan explain KS101": 0,
    # Fixing: --diff writes nothing (the fixes that write are run in test_fix.py)
    "kscan fix --diff examples/insecure-deployment.yaml": 1,
    "kscan fix --diff --unsafe-fixes deploy/": 1,
    # Custom rules, with the worked example in kscan-rules/ (examples/ has no owner labels)
    "kscan --rules-dir kscan-rules .": 1,
    "kscan explain --rules-dir kscan-rules owner-label": 0,
    'kscan --format markdown deploy/ >> "$GITHUB_STEP_SUMMARY"': 1,
    "kscan --format junit --output kscan-junit.xml deploy/": 1,
    # the Baseline section: writing a baseline exits 0, and nothing is new right after
    "kscan --write-baseline .kscan-baseline.json .": 0,
    "git add .kscan-baseline.json": 0,
    "kscan --baseline .kscan-baseline.json .": 0,
}
"""Commands run, in README order, with their exit codes."""

_COMMENT = re.compile(r"\s+# .*$")


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            command = _COMMENT.sub("", line).strip()
            if command:
                commands.append(command)
    return commands


def _copy(tmp_path: Path) -> Path:
    """The repository as a user clones it, less its test data (fuzz regressions are broken on
    purpose), with the files the Usage examples name: an insecure pod.yaml and deploy/, a
    hardened base/, and the worked custom rule in kscan-rules/."""
    copy = tmp_path / "kscan"
    ignore = shutil.ignore_patterns(".git", "tests", "fuzz", "bench", "*.egg-info", "__pycache__")
    shutil.copytree(REPO, copy, ignore=ignore)
    insecure = REPO / "examples" / "insecure-deployment.yaml"
    shutil.copy(insecure, copy / "pod.yaml")
    (copy / "deploy").mkdir()
    shutil.copy(insecure, copy / "deploy" / "web.yaml")
    (copy / "base").mkdir()
    shutil.copy(REPO / "examples" / "hardened-deployment.yaml", copy / "base" / "web.yaml")
    worked = (REPO / "README.md").read_text(encoding="utf-8")
    worked = worked.split("A worked example, `kscan-rules/owner-label.yaml`:\n\n```yaml\n")[1]
    (copy / "kscan-rules").mkdir()
    (copy / "kscan-rules" / "owner-label.yaml").write_text(worked.split("```")[0], "utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=copy, check=True)
    return copy


def _shim(tmp_path: Path) -> Path:
    """A ``kscan`` on PATH that runs this checkout's code."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "kscan"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kscan "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return bin_dir


_MARK = "kscan-readme-exit "


def _in_order(command: str) -> bool:
    """Commands that write in or read the whole copy (the Baseline section's, and every scan
    of ``.``, which would read the others' files as they are written) run in turn."""
    return command.endswith(" .") or command.startswith("git ")


def _script(chain: list[str]) -> str:
    """A shell script running the commands of ``chain`` in turn, each exit code on stderr."""
    return "\n".join(
        f'{command.removeprefix("pip install . && ")}\necho "{_MARK}$?" >&2' for command in chain
    )


def test_every_readme_command_is_run_or_excused() -> None:
    commands = readme_commands()
    assert len(commands) == len(set(commands))
    unsorted = [command for command in commands if command not in RUN and command not in NOT_RUN]
    assert unsorted == [], "sort each README command into RUN or NOT_RUN"
    assert set(RUN) | set(NOT_RUN) <= set(commands), "a command left the README"


@pytest.mark.slow  # several seconds: CI runs it with the slow tests
def test_readme_commands_exit_as_documented(tmp_path: Path) -> None:
    copy, bin_dir = _copy(tmp_path), _shim(tmp_path)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "NO_COLOR": "1",
    }
    # the commands on single files and folders at once (they write different files, outside
    # what the others read); the others in turn, in README order, in one shell
    order = [command for command in readme_commands() if command in RUN]
    chains = [[command] for command in order if not _in_order(command)]
    chains.append([command for command in order if _in_order(command)])
    processes = [
        subprocess.Popen(
            ["sh", "-c", _script(chain)],
            cwd=copy,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for chain in chains
    ]
    codes: dict[str, int] = {}
    for chain, process in zip(chains, processes, strict=True):
        _, stderr = process.communicate()
        assert "Traceback" not in stderr, (chain, stderr)
        exits = [int(line.split()[-1]) for line in stderr.splitlines() if line.startswith(_MARK)]
        codes.update(zip(chain, exits, strict=True))
    assert codes == RUN
    assert (copy / "kscan.sarif").is_file() and (copy / "kscan-junit.xml").is_file()
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").startswith("#")


DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / ".pre-commit-hooks.yaml"]
_PIN = re.compile(r"(?:\brev: *|kscan-dev/kscan@)([^\s\"'`#]+)")


def test_documented_pins_name_something_that_exists() -> None:
    """``rev: v0.1.0`` and ``uses: kscan-dev/kscan@v0.1.0`` named a tag this repository does not
    have: pre-commit and Actions both fail to fetch it. A pin is a tag of the repository, or
    the ``<commit sha>`` placeholder the text explains."""
    tags = subprocess.run(
        ["git", "tag", "--list"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    pins = {(path.name, pin) for path in DOCS for pin in _PIN.findall(path.read_text("utf-8"))}
    assert pins, "the pre-commit and Action examples are gone"
    wrong = {(name, pin) for name, pin in pins if pin not in ("<commit", *tags)}
    assert wrong == set()


def test_no_document_installs_kscan_from_pypi() -> None:
    """There is no kscan distribution on PyPI yet: ``pip install kscan`` fails, or installs
    someone else's package. Installs are from a clone or from git."""
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip install +['\"]?kscan\b", text), path.name


def _kscan(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kscan", *args], capture_output=True, text=True, check=False, cwd=cwd
    )


def test_sarif_lists_the_rules_that_ran_as_the_readme_says() -> None:
    """``tool.driver.rules`` holds the rules the run ran (kscan/report/sarif.py is given
    ``Profiles.all_rules``, the rules some configuration runs), not every rule kscan has."""
    manifest = str(REPO / "examples" / "insecure-deployment.yaml")
    args = ("--isolated", "--format", "sarif", "--ignore", "KS101", "--enable", "image-digest")
    log = json.loads(_kscan(*args, manifest).stdout)
    ids = {rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert "KS101" not in ids and "KS302" in ids and "KS102" in ids
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "every rule in `tool.driver.rules`" not in readme
    assert "lists every rule the run ran" in readme


def test_the_baseline_does_not_match_by_severity_as_the_readme_says(tmp_path: Path) -> None:
    """A baseline entry has no severity (kscan/results/baseline.py): a finding whose rule a
    configuration makes more severe stays accepted. The README said it matched by severity."""
    shutil.copy(REPO / "examples" / "insecure-deployment.yaml", tmp_path / "web.yaml")
    common = ("--select", "KS101", "--base-dir", str(tmp_path))
    assert _kscan(*common, "--write-baseline", "b.json", "web.yaml", cwd=tmp_path).returncode == 0
    (tmp_path / ".kscan.yaml").write_text("severity: {privileged-container: low}\n", "utf-8")
    result = _kscan(*common, "--format", "json", "--baseline", "b.json", "web.yaml", cwd=tmp_path)
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["severity"] == "low" and finding["baseline_state"] == "unchanged"
    assert result.returncode == 0
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "matched to the baseline by rule, severity" not in readme
    assert "never by line number nor by\nseverity" in readme
