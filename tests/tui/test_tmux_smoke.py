"""Smoke test of the real CLI in a real terminal: ``python -m tapescope.tui demo`` inside tmux.

Keys go in with ``tmux send-keys``, the screen comes back with ``capture-pane``;
the test switches symbols with ``2``, Tab and Shift+Tab, checks the book title
and the status bar follow, quits with ``q`` and checks the exit status is 0.
It runs on a private tmux server socket, so it never touches a user's sessions.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import tapescope

# The CLI and its demo wiring come from the tui branch.
pytest.importorskip("tapescope.tui.wiring", reason="the CLI (branch tui) is not in this build")

from tapescope.tui.config import load_config  # noqa: E402
from tapescope.tui.wiring import build_demo  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")


def _import_root() -> str:
    """The folder ``tapescope`` is imported from, for the child's PYTHONPATH."""
    return str(Path(list(tapescope.__path__)[0]).parent)


class Tmux:
    """One detached tmux session on a private server socket."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True,
                              check=check, timeout=20)

    def screen(self) -> str:
        result = self.run("capture-pane", "-p", "-t", "smoke", check=False)
        return result.stdout

    def alive(self) -> bool:
        return self.run("has-session", "-t", "smoke", check=False).returncode == 0

    def wait_for(self, what: str, ok: Callable[[str], bool], timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen() if self.alive() else text
            if ok(text):
                return text
            assert "Traceback" not in text, text
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{text}")


@pytest.fixture
def tmux(tmp_path: Path):
    session = Tmux(f"tapescope-smoke-{os.getpid()}")
    yield session
    session.run("kill-server", check=False)


def test_demo_switches_symbols_and_quits_cleanly(tmux: Tmux, tmp_path: Path) -> None:
    symbols = [i.symbol for i in build_demo(load_config(read_user_file=False))[0].instruments]
    assert len(symbols) >= 3
    rc_file = tmp_path / "rc"
    env = {
        "PYTHONPATH": os.pathsep.join(p for p in (_import_root(), os.environ.get("PYTHONPATH"))
                                      if p),
        "TAPESCOPE_CONFIG_FILE": str(tmp_path / "absent.toml"),
        "TERM": "xterm-256color",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = (f"cd {shlex.quote(str(ROOT))} && "
               + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
               + f" {shlex.quote(sys.executable)} -m tapescope.tui demo;"
               + f" echo $? > {shlex.quote(str(rc_file))}")
    tmux.run("new-session", "-d", "-s", "smoke", "-x", "120", "-y", "40", command)

    def showing(symbol: str) -> Callable[[str], bool]:
        # The book panel's title and the status bar both name the focused market.
        return lambda s: f"Book {symbol}" in s and f"sim:{symbol}" in s and "LIVE" in s

    first = tmux.wait_for("the dashboard", showing(symbols[0]), timeout=60)
    assert symbols[1] in first  # the watchlist lists the others

    tmux.run("send-keys", "-t", "smoke", "2")
    tmux.wait_for(f"{symbols[1]} after '2'", showing(symbols[1]))
    tmux.run("send-keys", "-t", "smoke", "Tab")
    tmux.wait_for(f"{symbols[2]} after Tab", showing(symbols[2]))
    tmux.run("send-keys", "-t", "smoke", "BTab")
    screen = tmux.wait_for(f"{symbols[1]} after Shift+Tab", showing(symbols[1]))
    assert f"Book {symbols[2]}" not in screen

    tmux.run("send-keys", "-t", "smoke", "q")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (rc_file.exists() and rc_file.read_text().strip()):
        time.sleep(0.2)
    assert rc_file.exists(), "the CLI did not exit after q"
    assert rc_file.read_text().strip() == "0"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and tmux.alive():
        time.sleep(0.1)
    assert not tmux.alive()
