"""Dashboard cost measurements for ``tapescope bench``: CPU per frame and terminal bytes per second.

:func:`frozen_market` generates a seeded simulation in compressed mode into a
real engine hub; :func:`render_frame_time` runs the dashboard headless at a
given size and, frame by frame, advances the market by ``step_s`` of venue
time, runs the App's frame callback and waits until the screen has been
composed. The figure is CPU time of the process per frame (``process_time``):
waiting for the screen to settle sleeps, so wall time would measure the wait.
It covers snapshot building, widget updates and the compositor, not the
market simulation itself (applied before the clock starts) and not terminal
I/O (the headless driver writes nothing).

:func:`terminal_bytes` measures the other budget (architecture.md rule 4):
it runs ``tapescope demo`` in a pseudo-terminal of a given size and counts
the bytes the dashboard writes per second once it has settled.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import statistics
import struct
import sys
import time
from dataclasses import dataclass

from tapescope.engine.hub import Hub
from tapescope.feeds.base import Feed
from tapescope.tui.app import make_app
from tapescope.tui.config import Config, load_config
from tapescope.tui.wiring import build_demo


@dataclass(frozen=True, slots=True)
class FrameTimes:
    """Dashboard render CPU time per frame."""

    size: tuple[int, int]
    """Terminal size ``(columns, rows)``."""
    frames: int
    """Frames measured."""
    mean_ms: float
    """Mean time per frame, ms."""
    p50_ms: float
    """Median, ms."""
    p95_ms: float
    """95th percentile, ms."""
    max_ms: float
    """Slowest frame, ms."""
    events: int
    """Market events applied between the measured frames."""

    def summary(self) -> str:
        """One line for the bench report."""
        w, h = self.size
        return (f"dashboard {w}x{h}: {self.frames} frames, mean {self.mean_ms:.2f} ms, "
                f"p50 {self.p50_ms:.2f} ms, p95 {self.p95_ms:.2f} ms, max {self.max_ms:.2f} ms "
                f"({self.events} events between frames)")


def frozen_market(config: Config | None = None, seconds: float = 60.0,
                  seed: int | None = None) -> tuple[Feed, Hub]:
    """A simulated market generated in compressed mode for ``seconds`` of venue time.

    Deterministic: same config, seed and duration give the same hub state (the
    simulator starts at ``[sim] start_time``, not at the wall clock).

    Returns:
        ``(feed, hub)``; call ``feed.generate(s)`` and feed the hub to move on.
    """
    cfg = config if config is not None else load_config(read_user_file=False)
    feed, hub = build_demo(cfg, seed=seed, realtime=False)
    for event in feed.generate(seconds):
        hub.on_event(event)
    return feed, hub


async def measure_frames(app_size: tuple[int, int] = (120, 40), frames: int = 100,
                         warmup_s: float = 60.0, step_s: float = 0.1,
                         seed: int | None = None, config: Config | None = None) -> FrameTimes:
    """Async core of :func:`render_frame_time` (use it inside a running loop)."""
    cfg = config if config is not None else load_config(read_user_file=False)
    feed, hub = frozen_market(cfg, warmup_s, seed)
    app = make_app(cfg, feed, hub, start_feed=False)
    times: list[float] = []
    events = 0
    async with app.run_test(size=app_size) as pilot:
        await pilot.pause()
        for _ in range(frames):
            for event in feed.generate(step_s):
                hub.on_event(event)
                events += 1
            t0 = time.process_time()
            app.refresh_frame()
            await pilot.pause()
            times.append((time.process_time() - t0) * 1e3)
    ordered = sorted(times)
    return FrameTimes(
        size=app_size, frames=len(times), mean_ms=statistics.fmean(times),
        p50_ms=statistics.median(times),
        p95_ms=p95(ordered),
        max_ms=ordered[-1], events=events,
    )


def render_frame_time(app_size: tuple[int, int] = (120, 40), frames: int = 100,
                      warmup_s: float = 60.0, step_s: float = 0.1, seed: int | None = None,
                      config: Config | None = None) -> FrameTimes:
    """Measure dashboard render time per frame at ``app_size`` on a frozen simulated market.

    Args:
        app_size: Terminal ``(columns, rows)``.
        frames: Frames to measure.
        warmup_s: Venue seconds simulated before the first frame (history for charts).
        step_s: Venue seconds of events applied before each frame (0.1 = 10 fps of a live run).
        seed: Simulator seed (default ``[sim] seed``).
        config: Configuration (default: the shipped defaults, no user file).

    Returns:
        Per-frame statistics.
    """
    return asyncio.run(measure_frames(app_size, frames, warmup_s, step_s, seed, config))


def terminal_bytes(app_size: tuple[int, int] = (120, 40), seconds: float = 10.0,
                   settle_s: float = 3.0, truecolor: bool = True) -> float:
    """Bytes per second ``tapescope demo`` writes to a terminal of ``app_size`` (POSIX only).

    The demo runs in a pseudo-terminal with the shipped defaults (the user
    config file is ignored); bytes written during the first ``settle_s``
    seconds (start-up, first full paint) are not counted.

    Returns:
        Mean bytes per second over ``seconds - settle_s`` seconds.

    Raises:
        OSError: no pseudo-terminals on this platform.
    """
    return pty_output_rate(["-m", "tapescope.tui", "demo"], app_size, seconds, settle_s,
                           truecolor=truecolor)


def pty_output_rate(args: list[str], app_size: tuple[int, int], seconds: float, settle_s: float,
                    truecolor: bool = True, tab_every_s: float = 0.0) -> float:
    """Bytes per second ``python <args>`` writes to a pseudo-terminal of ``app_size`` (POSIX only).

    The child gets ``TERM=xterm-256color`` (plus ``COLORTERM=truecolor`` when
    ``truecolor``) and ``TAPESCOPE_CONFIG_FILE`` pointed at an empty file, so
    the user's config cannot change the figure. It is stopped with SIGTERM
    after ``seconds``.

    Args:
        args: Arguments after the Python interpreter (``["-m", "tapescope.tui", "demo"]``).
        app_size: Terminal ``(columns, rows)``.
        seconds: Run length, seconds.
        settle_s: Seconds not counted at the start (start-up, first full paint).
        truecolor: Advertise 24-bit colour to the child.
        tab_every_s: Write a Tab key to the child this often after ``settle_s`` (0: never).

    Returns:
        Mean bytes per second over ``seconds - settle_s`` seconds.

    Raises:
        OSError: no pseudo-terminals on this platform.
    """
    import fcntl
    import pty
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # child: become the program measured
        os.environ["TERM"] = "xterm-256color"
        if truecolor:
            os.environ["COLORTERM"] = "truecolor"
        os.environ["TAPESCOPE_CONFIG_FILE"] = os.devnull
        os.execvp(sys.executable, [sys.executable, *args])
    cols, rows = app_size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    start = time.monotonic()
    next_tab = settle_s
    counted = 0
    try:
        while (now := time.monotonic() - start) < seconds:
            if tab_every_s and now >= next_tab:
                os.write(fd, b"\t")
                next_tab += tab_every_s
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                break
            if now >= settle_s:
                counted += len(data)
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    return counted / max(1e-9, seconds - settle_s)


def p95(ordered: list[float]) -> float:
    """95th percentile of sorted values (nearest rank on ``0.95 * (n - 1)``).

    >>> p95([float(i) for i in range(21)])
    19.0
    """
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
