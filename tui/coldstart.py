"""Cold-start measurement: process start to the first dashboard frame of ``tapescope demo``.

:func:`measure_cold_start` starts a fresh interpreter that imports the app,
builds the demo market exactly as ``tapescope demo`` does
(:func:`tapescope.tui.wiring.build_demo`, :func:`tapescope.tui.app.make_app`)
and runs it headless (``App.run_test``). The child reports, as wall-clock
instants compared with the parent's instant just before it spawned the
child:

* ``imports_s``: the app modules are imported,
* ``first_frame_s``: the first ``refresh_frame`` has run and the screen has
  settled (the first frame is composed),
* ``kernels_s``: the numba warm-up thread the app starts after the first
  frame has finished (kernels loaded from the cache, or compiled when it is
  cold).

It also records whether ``numba`` was imported at all before the first
frame (it must not be). ``NUMBA_CACHE_DIR`` selects the cache: an empty
temporary directory gives a cold cache, the default location a warm one
after one run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

__all__ = ["ColdStart", "measure_cold_start"]

_CHILD = r"""
import asyncio, json, sys, time
from tapescope.tui import wiring
from tapescope.tui.app import make_app
from tapescope.tui.config import load_config
t_imports = time.time()
cfg = load_config(None, read_user_file=False)
feed, hub = wiring.build_demo(cfg)
app = make_app(cfg, feed, hub)
frames = []
out = {"imports": t_imports}
orig = app.refresh_frame
def counted():
    if not frames:
        # The app starts the warm-up thread after this first frame, so this is
        # the instant to ask whether anything imported numba before it.
        out["numba_before_first_frame"] = "numba" in sys.modules
    orig()
    frames.append(time.time())
app.refresh_frame = counted
async def main():
    async with app.run_test(size=(120, 40)) as pilot:
        while not frames:
            await asyncio.sleep(0.001)
        await pilot.pause()
        out["first_frame"] = time.time()
        deadline = time.time() + 120
        while time.time() < deadline:
            pk = sys.modules.get("tapescope.engine.profile_kernels")
            if pk is not None and pk.READY:
                break
            await asyncio.sleep(0.005)
        out["kernels"] = time.time()
        out["kernels_ready"] = bool(pk is not None and pk.READY)
asyncio.run(main())
print("COLDSTART " + json.dumps(out), flush=True)
"""


@dataclass(slots=True)
class ColdStart:
    """One cold-start run."""

    cache: str
    """``warm`` or ``cold`` numba cache."""
    imports_s: float
    """Process spawn to app modules imported, seconds."""
    first_frame_s: float
    """Process spawn to the first composed frame, seconds."""
    kernels_s: float
    """Process spawn to the numba kernels loaded (warm-up thread done), seconds."""
    numba_before_first_frame: bool
    """``numba`` was imported before the first frame (should be False)."""
    kernels_ready: bool
    """The warm-up thread loaded the kernels."""


def measure_cold_start(cold_cache: bool = False, timeout: float = 180.0) -> ColdStart:
    """Run the demo headless in a fresh interpreter and time its start (see module docstring).

    Args:
        cold_cache: point ``NUMBA_CACHE_DIR`` at an empty temporary directory.
        timeout: seconds before the child is abandoned.

    Raises:
        RuntimeError: when the child fails or reports nothing.
    """
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="tapescope-numba-") as tmp:
        if cold_cache:
            env["NUMBA_CACHE_DIR"] = tmp
        t0 = time.time()
        proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("COLDSTART ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"cold-start child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    d = json.loads(line.removeprefix("COLDSTART "))
    return ColdStart(
        cache="cold" if cold_cache else "warm",
        imports_s=d["imports"] - t0,
        first_frame_s=d["first_frame"] - t0,
        kernels_s=d["kernels"] - t0,
        numba_before_first_frame=d["numba_before_first_frame"],
        kernels_ready=d["kernels_ready"],
    )


if __name__ == "__main__":  # pragma: no cover - manual measurement
    for cold in (True, False, False):
        print(measure_cold_start(cold))  # noqa: T201
