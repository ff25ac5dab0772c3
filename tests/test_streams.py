"""Real processes with closed standard streams, closed pipes and signals, and the colour
decision: exit codes, one-line messages, and nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kscan import cli

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "insecure-deployment.yaml"


def test_an_empty_no_color_does_not_disable_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    """https://no-color.org: NO_COLOR disables colour 'when present and not an empty string'."""

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    monkeypatch.setenv("NO_COLOR", "")
    assert cli._use_color("auto", None)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli._use_color("auto", None)
    assert cli._use_color("always", None)
    monkeypatch.delenv("NO_COLOR")
    assert cli._use_color("auto", None)
    assert not cli._use_color("auto", "report.txt")


def test_an_empty_no_color_colours_a_real_terminal() -> None:
    script = (
        "import os, pty, sys\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        "    os.execv(sys.executable, [sys.executable, '-m', 'kscan', sys.argv[1]])\n"
        "out = b''\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 65536)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk:\n"
        "        break\n"
        "    out += chunk\n"
        "os.waitpid(pid, 0)\n"
        "sys.stdout.write(repr(out))\n"
    )
    env = {**os.environ, "NO_COLOR": ""}
    shown = subprocess.run(
        [sys.executable, "-c", script, str(EXAMPLE)], capture_output=True, text=True, env=env
    ).stdout
    assert "\\x1b[" in shown and "privileged-container" in shown
