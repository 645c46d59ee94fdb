"""Cold-start measurement: process start to the first painted frame of ``tapescope demo``.

:func:`measure_cold_start` runs the real command line, ``tapescope demo``
(:func:`tapescope.tui.cli.main`), in a fresh interpreter whose terminal is a
pseudo-terminal of 120x40 cells, exactly as a user's shell would start it:
the CLI parses, loads the configuration, builds the simulated market and
runs the App with its real driver, which writes escape sequences to the
terminal. The parent drains the terminal and discards what it reads.

A small import hook (installed before anything else in the child) wraps
:func:`tapescope.tui.app.make_app` when the App module is first imported, so
the CLI's own lazy import order is kept. The child reports, as wall-clock
instants compared with the parent's instant just before it spawned the
child:

* ``imports_s``: the App module is imported (``demo`` imports it last, after
  loading the configuration and building the simulated market);
* ``first_paint_s``: the App wrote its first screen to the terminal (the
  layout, possibly before any market data);
* ``first_frame_s``: the App wrote the first screen after its frame timer
  assigned a LIVE snapshot of the focused market: the dashboard with a real
  book. This is the figure the README's cold-start row reports;
* ``kernels_s``: the numba warm-up thread the App starts after the first
  frame has finished (kernels loaded from the cache, or compiled when cold);
* ``first_frame_cpu_s``: the CPU time the child had used at its first frame.
  On a shared machine the wall-clock figures grow with the load average;
  this one hardly does, so it is the figure to compare between changes.

It also records whether ``numba`` and ``aiosqlite`` were imported before the
first frame (they must not be) and the 1-minute load average at the start.

Caches: ``NUMBA_CACHE_DIR`` selects the numba cache (an empty temporary
directory for a cold cache). Python's bytecode cache (``__pycache__``) is
used like an installed package uses it (pip compiles at install time), even
when the parent runs with ``PYTHONDONTWRITEBYTECODE``; pass
``bytecode=False`` (``--no-bytecode``) to measure a start that compiles every
tapescope module from source, as a source tree run with that variable set
does on every start (third-party packages keep their bytecode).

Run ``python -m tapescope.tui.coldstart`` (``--runs N``, ``--cold``,
``--no-bytecode``) for the median and range over several runs.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from fcntl import ioctl
from pathlib import Path

__all__ = ["ColdStart", "measure_cold_start", "summarise"]

#: Terminal size of the measured start, (columns, rows).
TERMINAL_SIZE = (120, 40)

_CHILD = r"""
import importlib.abc, importlib.machinery, json, os, sys, time
OUT = os.environ["TAPESCOPE_COLDSTART_OUT"]
out = {}

def report():
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(out, fh)

def instrument(app):
    from tapescope.engine.events import FeedState
    state = {"data": False}
    frame, display = app.refresh_frame, app._display

    def refresh_frame():
        frame()
        last = app._last
        if (not state["data"] and last is not None and last.state == FeedState.LIVE
                and app.dashboard.snapshot is last):
            state["data"] = True

    def shown(screen, renderable):
        display(screen, renderable)
        if renderable is None or "first_frame" in out:
            return
        now = time.time()
        out.setdefault("first_paint", now)
        if not state["data"]:
            return
        out["first_frame"] = now
        out["first_frame_cpu"] = time.process_time()
        out["numba_before_first_frame"] = "numba" in sys.modules
        out["aiosqlite_before_first_frame"] = "aiosqlite" in sys.modules
        report()
        app.set_interval(0.005, kernels_done)

    def kernels_done():
        pk = sys.modules.get("tapescope.engine.profile_kernels")
        # getattr: the warm-up thread may still be importing the module.
        ready = pk is not None and getattr(pk, "READY", False)
        if ready or time.time() > out["first_frame"] + 120:
            out["kernels"] = time.time()
            out["kernels_ready"] = bool(ready)
            report()
            app.exit()

    app.refresh_frame = refresh_frame
    app._display = shown
    return app

class SourceOnly(importlib.machinery.SourceFileLoader):
    # Ignores cached bytecode: the module is compiled from source, as on every start of
    # a source tree run with PYTHONDONTWRITEBYTECODE.
    def get_code(self, fullname):
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)

SOURCE_ONLY = os.environ.get("TAPESCOPE_COLDSTART_SOURCE") == "1"

class Hook(importlib.abc.MetaPathFinder):
    # Wraps make_app when the CLI first imports the App module, keeping its import order.
    def find_spec(self, name, path=None, target=None):
        if not name.startswith("tapescope.") or (name != "tapescope.tui.app" and not SOURCE_ONLY):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        if SOURCE_ONLY:
            spec.loader = SourceOnly(name, spec.origin)
        if name == "tapescope.tui.app":
            run = spec.loader.exec_module
            def exec_module(module):
                run(module)
                out["imports"] = time.time()
                make = module.make_app
                module.make_app = lambda *a, **k: instrument(make(*a, **k))
            spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())
from tapescope.tui.cli import main
code = main(["demo"])
out["exit"] = code
report()
sys.exit(code)
"""


@dataclass(slots=True)
class ColdStart:
    """One measured start of ``tapescope demo``."""

    cache: str
    """``warm`` or ``cold`` numba cache."""
    bytecode: bool
    """tapescope's modules came from their bytecode cache (as in an installed package)."""
    load_1m: float
    """1-minute load average when the run started."""
    imports_s: float
    """Process spawn to the App module imported, seconds."""
    first_paint_s: float
    """Process spawn to the first screen written to the terminal, seconds."""
    first_frame_s: float
    """Process spawn to the first screen written with the focused market LIVE, seconds."""
    kernels_s: float
    """Process spawn to the numba kernels loaded (warm-up thread done), seconds."""
    first_frame_cpu_s: float
    """CPU time the child had used at the first frame, seconds (hardly depends on the load)."""
    numba_before_first_frame: bool
    """``numba`` was imported before the first frame (should be False)."""
    aiosqlite_before_first_frame: bool
    """``aiosqlite`` (the recorder) was imported before the first frame (should be False)."""
    kernels_ready: bool
    """The warm-up thread loaded the kernels."""


def _child_env(out: Path, numba_cache: str | None, bytecode: bool, home: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TAPESCOPE_COLDSTART_OUT"] = str(out)
    # The shipped defaults only: a user's config file must not change the figure.
    env["TAPESCOPE_CONFIG_FILE"] = str(Path(home) / "no-user-config.toml")
    # Logs go to a throwaway place, not the user's log directory.
    env["XDG_STATE_HOME"] = home
    env["TERM"] = "xterm-256color"
    env["COLUMNS"], env["LINES"] = (str(n) for n in TERMINAL_SIZE)
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = numba_cache
    # An installed package has its bytecode compiled at install time: let the child
    # write and read __pycache__ even when the parent runs with PYTHONDONTWRITEBYTECODE.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["TAPESCOPE_COLDSTART_SOURCE"] = "0" if bytecode else "1"
    return env


def _drain(master: int, proc: subprocess.Popen[bytes], deadline: float) -> bytes:
    """Read the child's terminal until it exits (a full pty would block its writes)."""
    tail = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                chunk = b""
            tail += chunk
            del tail[:-200_000]
            if not chunk and proc.poll() is not None:
                return bytes(tail)
        elif proc.poll() is not None:
            return bytes(tail)
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError("cold-start child timed out")


def measure_cold_start(cold_cache: bool = False, timeout: float = 180.0, *,
                       bytecode: bool = True) -> ColdStart:
    """Start ``tapescope demo`` on a 120x40 pseudo-terminal and time it (see module docstring).

    Args:
        cold_cache: point ``NUMBA_CACHE_DIR`` at an empty temporary directory.
        timeout: seconds before the child is abandoned.
        bytecode: load tapescope's modules from their bytecode cache (``False``:
            compile them from source).

    Returns:
        The instants of the run, relative to the spawn.

    Raises:
        RuntimeError: when the child fails, times out or reports nothing.
    """
    with tempfile.TemporaryDirectory(prefix="tapescope-coldstart-") as tmp:
        out = Path(tmp) / "out.json"
        numba_cache = str(Path(tmp) / "numba") if cold_cache else None
        env = _child_env(out, numba_cache, bytecode, tmp)
        master, slave = pty.openpty()
        cols, rows = TERMINAL_SIZE
        ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        load = os.getloadavg()[0]
        try:
            t0 = time.time()
            proc = subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stdin=slave,
                                    stdout=slave, stderr=slave, close_fds=True,
                                    start_new_session=True)
            os.close(slave)
            slave = -1
            screen = _drain(master, proc, time.monotonic() + timeout)
        finally:
            if slave >= 0:
                os.close(slave)
            os.close(master)
        report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    if proc.returncode != 0 or "kernels" not in report:
        text = screen.decode("utf-8", "replace")[-2000:]
        raise RuntimeError(f"cold-start child failed ({proc.returncode}): {report} {text}")
    return ColdStart(
        cache="cold" if cold_cache else "warm",
        bytecode=bytecode,
        load_1m=load,
        imports_s=report["imports"] - t0,
        first_paint_s=report["first_paint"] - t0,
        first_frame_s=report["first_frame"] - t0,
        kernels_s=report["kernels"] - t0,
        first_frame_cpu_s=report["first_frame_cpu"],
        numba_before_first_frame=report["numba_before_first_frame"],
        aiosqlite_before_first_frame=report["aiosqlite_before_first_frame"],
        kernels_ready=report["kernels_ready"],
    )


def summarise(runs: list[ColdStart]) -> str:
    """Median and range of each instant over ``runs``, with the load averages seen.

    >>> r = ColdStart("warm", True, 1.0, 0.5, 0.8, 1.0, 1.4, 0.7, False, False, True)
    >>> print(summarise([r]))
    1 warm runs (bytecode cache), load 1.00-1.00
      imports          median 0.500 s  range 0.500-0.500
      first_paint      median 0.800 s  range 0.800-0.800
      first_frame      median 1.000 s  range 1.000-1.000
      kernels          median 1.400 s  range 1.400-1.400
      first_frame_cpu  median 0.700 s  range 0.700-0.700
    """
    head = (f"{len(runs)} {runs[0].cache} runs ({'bytecode cache' if runs[0].bytecode else 'no bytecode cache'}), "
            f"load {min(r.load_1m for r in runs):.2f}-{max(r.load_1m for r in runs):.2f}")
    lines = [head]
    for name in ("imports", "first_paint", "first_frame", "kernels", "first_frame_cpu"):
        values = [getattr(r, f"{name}_s") for r in runs]
        lines.append(f"  {name:<16} median {statistics.median(values):.3f} s  "
                     f"range {min(values):.3f}-{max(values):.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m tapescope.tui.coldstart``: print the summary of several runs."""
    parser = argparse.ArgumentParser(prog="python -m tapescope.tui.coldstart",
                                     description="Time tapescope demo from spawn to first frame.")
    parser.add_argument("--runs", type=int, default=7, help="measured runs (default 7)")
    parser.add_argument("--cold", action="store_true", help="also time one cold numba cache run")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="compile tapescope's modules from source at every start")
    args = parser.parse_args(argv)
    bytecode = not args.no_bytecode
    out = sys.stdout
    if args.cold:
        out.write(f"{measure_cold_start(True, bytecode=bytecode)}\n")
    # One unmeasured start fills the bytecode and numba caches (an install does the same).
    measure_cold_start(False, bytecode=bytecode)
    runs = [measure_cold_start(False, bytecode=bytecode) for _ in range(args.runs)]
    for r in runs:
        out.write(f"{r}\n")
    if any(r.numba_before_first_frame or r.aiosqlite_before_first_frame for r in runs):
        out.write("WARNING: numba or aiosqlite was imported before the first frame\n")
    out.write(summarise(runs) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover - manual measurement
    sys.exit(main())
