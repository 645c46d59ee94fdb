"""Terminal bytes per second and render time per frame of the real dashboard (the SSH budget).

Users watch tapescope over SSH, so what the App writes to the terminal is a
budget (architecture.md rule 4): target under :data:`TARGET_BYTES_PER_S`
at 120x40 and 10 fps, and under :data:`TARGET_FRAME_MS` of render time per frame.

How the bytes are counted: Textual renders each screen update to one string
of ANSI sequences and hands it to its driver's ``write``. Textual's
``HeadlessDriver`` reports ``is_headless`` and the App then skips rendering
altogether, so :class:`CountingDriver` is a headless driver (no terminal, no
input) that says it is *not* headless and counts the UTF-8 bytes of every
``write`` with its time. The App is the real one (:func:`~tapescope.tui.app.make_app`)
with the built-in simulated market; the colour system (truecolor by default,
the worst case for bytes) is set through ``COLORTERM``/``TERM`` while the App
is built, as Rich detects it. Synchronized-output markers (16 bytes per
update on terminals that support mode 2026) are not included: the counting
driver does not announce support.

Two phases in one call:

1. **Live** (bytes per second): the App runs for ``seconds`` of wall time
   with its own frame timer at ``fps``, the watchlist timer and the simulator
   feed paced in real time; bytes written after a ``warmup_s`` (the first
   full paint) are divided by the elapsed time. The worst one-second bucket
   is reported too.
2. **Frames** (render time): on a simulated market generated ahead of time,
   each frame applies ``1 / fps`` seconds of events, then calls the App's
   frame callback and waits for the screen to be written; the process CPU
   time of that (snapshot, widgets, compositor, ANSI rendering) is the
   frame's render time, and the bytes written are recorded per frame.

:func:`run_sshbench` is what ``tapescope bench`` calls; :func:`format_report`
prints the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from textual.drivers.headless_driver import HeadlessDriver
from textual.errors import NoWidget
from textual.widget import Widget

from tapescope.tui.app import TapescopeApp, make_app
from tapescope.tui.config import Config, load_config
from tapescope.tui.perf import p95
from tapescope.tui.wiring import build_demo

#: Budget of terminal output at 120x40 and 10 fps, bytes per second.
TARGET_BYTES_PER_S = 30_000
#: Budget of render time per frame, milliseconds.
TARGET_FRAME_MS = 20.0
#: Cursor positioning (``CSI row ; col H``): Textual starts each changed line chop with one.
_MOVE = re.compile(r"\x1b\[(\d+);(\d+)H")
#: Environment that makes Rich pick each colour system.
_COLOR_ENV = {
    "truecolor": {"COLORTERM": "truecolor", "TERM": "xterm-256color"},
    "256": {"COLORTERM": None, "TERM": "xterm-256color"},
}


@dataclass(slots=True)
class ByteMeter:
    """Bytes a driver wrote, with the time of each write (``perf_counter`` seconds)."""

    times: list[float] = field(default_factory=list)
    """Time of each write."""
    sizes: list[int] = field(default_factory=list)
    """UTF-8 bytes of each write."""
    chops: list[tuple[float, int, int, int]] = field(default_factory=list)
    """``(time, x, y, bytes)`` of every cursor-addressed piece of every write (0-based cells)."""

    def record(self, data: str) -> None:
        """Count one write, and split it at cursor moves to see where its bytes went."""
        now = time.perf_counter()
        self.times.append(now)
        self.sizes.append(len(data.encode("utf-8")))
        moves = list(_MOVE.finditer(data))
        for n, move in enumerate(moves):
            end = moves[n + 1].start() if n + 1 < len(moves) else len(data)
            self.chops.append((now, int(move.group(2)) - 1, int(move.group(1)) - 1,
                               len(data[move.start():end].encode("utf-8"))))

    @property
    def total(self) -> int:
        """Bytes written so far."""
        return sum(self.sizes)

    def writes(self, start: float, end: float) -> int:
        """Writes (screen updates) in ``[start, end)``."""
        return sum(1 for t in self.times if start <= t < end)

    def between(self, start: float, end: float) -> int:
        """Bytes written in ``[start, end)``."""
        return sum(s for t, s in zip(self.times, self.sizes, strict=True) if start <= t < end)

    def peak_second(self, start: float, end: float) -> int:
        """The most bytes written in any whole second of ``[start, end)``."""
        buckets: dict[int, int] = {}
        for t, s in zip(self.times, self.sizes, strict=True):
            if start <= t < end:
                k = int(t - start)
                buckets[k] = buckets.get(k, 0) + s
        whole = int(end - start)
        return max((v for k, v in buckets.items() if k < whole), default=0)


def _owner(widget: Widget) -> str:
    """``#id`` of the nearest ancestor (or self) with an id, else the class name."""
    node: object = widget
    while isinstance(node, Widget):
        if node.id:
            return f"#{node.id}"
        node = node.parent
    return type(widget).__name__


def attribute(meter: ByteMeter, start: float, end: float, app: object) -> dict[str, int]:
    """Bytes written in ``[start, end)`` by the widget each chop starts in, most first."""
    out: dict[str, int] = {}
    screen = app.screen  # type: ignore[attr-defined]
    for t, x, y, size in meter.chops:
        if start <= t < end:
            try:
                name = _owner(screen.get_widget_at(x, y)[0])
            except NoWidget:
                name = "(none)"
            out[name] = out.get(name, 0) + size
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


class CountingDriver(HeadlessDriver):
    """A headless driver the App renders for: it counts bytes instead of writing them.

    Subclass it with a ``meter`` class attribute (see :func:`counting_driver`):
    the App builds its driver itself, from the class.
    """

    #: Where the writes are counted.
    meter: ByteMeter = ByteMeter()

    @property
    def is_headless(self) -> bool:
        # Not headless, or the App would not render at all (App._display).
        return False

    def write(self, data: str) -> None:
        """Count what would go to the terminal."""
        self.meter.record(data)

    def flush(self) -> None:
        """Nothing buffered."""


def counting_driver(meter: ByteMeter) -> type[CountingDriver]:
    """A :class:`CountingDriver` class that counts into ``meter``."""
    return type("MeteredDriver", (CountingDriver,), {"meter": meter})


@contextlib.contextmanager
def colour_environment(color_system: str) -> Iterator[None]:
    """Set ``COLORTERM``/``TERM`` so Rich picks ``color_system`` ("truecolor" or "256")."""
    if color_system not in _COLOR_ENV:
        raise ValueError(f"color_system must be one of {sorted(_COLOR_ENV)}, got {color_system!r}")
    saved = {k: os.environ.get(k) for k in _COLOR_ENV[color_system]}
    try:
        for key, value in _COLOR_ENV[color_system].items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True, slots=True)
class SshBenchResult:
    """Terminal traffic and render time of the dashboard."""

    size: tuple[int, int]
    """Terminal ``(columns, rows)``."""
    fps: int
    """Frame rate asked for."""
    color_system: str
    """Colour system Rich rendered with."""
    action: str
    """App action run before the live phase (``""``: the dashboard)."""
    seconds: float
    """Live phase: measured wall time after the warm-up."""
    live_frames: int
    """Live phase: frames the App drew in the measured time."""
    events: int
    """Live phase: market events applied in the measured time."""
    first_paint_bytes: int
    """Bytes before the measurement (the first full paint)."""
    bytes_per_s: float
    """Live phase: bytes per second after the warm-up."""
    peak_bytes_1s: int
    """Live phase: the most bytes in one whole second."""
    frames: int
    """Frames phase: frames measured."""
    frame_ms_mean: float
    """Frames phase: mean render CPU time per frame, ms."""
    frame_ms_p95: float
    """Frames phase: 95th percentile, ms."""
    frame_ms_max: float
    """Frames phase: slowest frame, ms."""
    bytes_per_frame: float
    """Frames phase: mean bytes written per frame."""
    by_widget: tuple[tuple[str, float], ...] = ()
    """Live phase: bytes per second by the widget each screen-line chop starts in, most first."""
    ticks_per_s: float = math.nan
    """Live phase: frame timer callbacks per second (the adaptive rate actually in force)."""
    cpu_pct: float = math.nan
    """Live phase: CPU time of the process over wall time, % of one core (App, feed and engine)."""
    mode: str = ""
    """Frame rate mode at the end of the live phase: ``""`` (local), ``"ssh"`` or ``"idle"``."""
    writes_per_s: float = math.nan
    """Live phase: screen updates written per second (each a burst of changed lines)."""

    @property
    def within_budget(self) -> bool:
        """Both targets met (bytes/s and p95 render time)."""
        return self.bytes_per_s < TARGET_BYTES_PER_S and self.frame_ms_p95 < TARGET_FRAME_MS

    def summary(self) -> str:
        """A few lines for the bench report."""
        w, h = self.size
        return "\n".join([
            f"terminal bytes at {w}x{h}, {self.fps:g} fps, {self.color_system}"
            f"{', after ' + repr(self.action) if self.action else ''}:",
            f"  live {self.seconds:.1f} s: {self.bytes_per_s / 1000:.1f} KB/s "
            f"(peak second {self.peak_bytes_1s / 1000:.1f} KB, first paint "
            f"{self.first_paint_bytes / 1000:.1f} KB), {self.live_frames} frames, "
            f"{self.events} events — target < {TARGET_BYTES_PER_S / 1000:g} KB/s",
            f"  frames {self.frames}: render mean {self.frame_ms_mean:.2f} ms, "
            f"p95 {self.frame_ms_p95:.2f} ms, max {self.frame_ms_max:.2f} ms, "
            f"{self.bytes_per_frame:.0f} B/frame — target < {TARGET_FRAME_MS:g} ms",
            "  live bytes by widget: " + ", ".join(
                f"{name} {rate / 1000:.1f} KB/s" for name, rate in self.by_widget[:8]),
            f"  {'within budget' if self.within_budget else 'OVER BUDGET'}",
        ])


def _config(config: Config | None, fps: int) -> Config:
    if config is None:
        # Local unless told otherwise: a bench run over SSH measures the fps asked for.
        return load_config(overrides={"app": {"fps": fps, "remote": "off"}}, read_user_file=False)
    return replace(config, sections={**config.sections, "app": replace(config.app, fps=fps)})


def _build_app(cfg: Config, meter: ByteMeter, color_system: str, realtime: bool,
               seed: int | None, warm_s: float = 0.0, start_feed: bool | None = None) -> TapescopeApp:
    feed, hub = build_demo(cfg, seed=seed, realtime=realtime)
    if not realtime:
        for event in feed.generate(warm_s):
            hub.on_event(event)
    with colour_environment(color_system):
        app = make_app(cfg, feed, hub, start_feed=realtime if start_feed is None else start_feed)
    app.driver_class = counting_driver(meter)
    return app


async def _live(cfg: Config, size: tuple[int, int], seconds: float, warmup_s: float,
                color_system: str, seed: int | None, action: str, quiet: bool = False
                ) -> tuple[ByteMeter, float, float, int, int, dict[str, int], float, float, str]:
    meter = ByteMeter()
    if quiet:
        # A market that does not move: generated ahead, the feed never started.
        app = _build_app(cfg, meter, color_system, realtime=False, seed=seed, warm_s=60.0,
                         start_feed=False)
    else:
        app = _build_app(cfg, meter, color_system, realtime=True, seed=seed)
    marks: dict[str, tuple[float, int, int]] = {}
    usage: dict[str, tuple[int, float]] = {}
    split: dict[str, int] = {}

    def mark(name: str) -> None:
        marks[name] = (time.perf_counter(), app.frames, app.sink.events)
        usage[name] = (app.ticks, time.process_time())
        if name == "end":
            # Attribute while the layout the bytes were written for is still on screen.
            split.update(attribute(meter, marks["start"][0], marks["end"][0], app))

    if action:
        # Open a screen (e.g. "regime") once the dashboard has drawn, before measuring.
        app.call_later(lambda: app.set_timer(warmup_s / 2, lambda: app.run_action(action)))
    app.call_later(lambda: app.set_timer(warmup_s, lambda: mark("start")))
    app.call_later(lambda: app.set_timer(warmup_s + seconds, lambda: (mark("end"), app.exit())))
    await app.run_async(headless=False, size=size)
    (t0, f0, e0), (t1, f1, e1) = marks["start"], marks["end"]
    (k0, c0), (k1, c1) = usage["start"], usage["end"]
    wall = t1 - t0
    return (meter, t0, t1, f1 - f0, e1 - e0, split, (k1 - k0) / wall, 100.0 * (c1 - c0) / wall,
            app.frame_rate.mode)


async def _frames(cfg: Config, size: tuple[int, int], frames: int, fps: int,
                  color_system: str, seed: int | None) -> tuple[list[float], list[int]]:
    meter = ByteMeter()
    app = _build_app(cfg, meter, color_system, realtime=False, seed=seed, warm_s=60.0)
    feed, hub = app.feed, app.hub
    times: list[float] = []
    sizes: list[int] = []
    async with app.run_test(headless=False, size=size) as pilot:
        await pilot.pause()
        for _ in range(frames):
            for event in feed.generate(1.0 / fps):  # type: ignore[union-attr]
                hub.on_event(event)
            before = meter.total
            t0 = time.process_time()
            app.refresh_frame()
            await pilot.pause()
            times.append((time.process_time() - t0) * 1e3)
            sizes.append(meter.total - before)
    return times, sizes


async def measure_sshbench(size: tuple[int, int] = (120, 40), seconds: float = 10.0,
                           warmup_s: float = 2.0, fps: int = 10, frames: int = 100,
                           seed: int | None = None, config: Config | None = None,
                           color_system: str = "truecolor", action: str = "",
                           quiet: bool = False) -> SshBenchResult:
    """Async core of :func:`run_sshbench` (use it inside a running event loop)."""
    cfg = _config(config, fps)
    meter, t0, t1, live_frames, events, split, ticks, cpu, mode = await _live(
        cfg, size, seconds, warmup_s, color_system, seed, action, quiet)
    times, sizes = await _frames(cfg, size, frames, fps, color_system, seed)
    ordered = sorted(times)
    return SshBenchResult(
        size=size, fps=fps, color_system=color_system, action=action, seconds=t1 - t0,
        live_frames=live_frames, events=events,
        first_paint_bytes=meter.between(0.0, t0),
        bytes_per_s=meter.between(t0, t1) / (t1 - t0),
        peak_bytes_1s=meter.peak_second(t0, t1),
        frames=len(times), frame_ms_mean=statistics.fmean(times),
        frame_ms_p95=p95(ordered),
        frame_ms_max=ordered[-1], bytes_per_frame=statistics.fmean(sizes),
        by_widget=tuple((name, n / (t1 - t0)) for name, n in split.items()),
        ticks_per_s=ticks, cpu_pct=cpu, mode=mode, writes_per_s=meter.writes(t0, t1) / (t1 - t0),
    )


def run_sshbench(size: tuple[int, int] = (120, 40), seconds: float = 10.0,
                 warmup_s: float = 2.0, fps: int = 10, frames: int = 100,
                 seed: int | None = None, config: Config | None = None,
                 color_system: str = "truecolor", action: str = "",
                 quiet: bool = False) -> SshBenchResult:
    """Measure terminal bytes per second and render time per frame of the dashboard.

    Args:
        size: Terminal ``(columns, rows)``.
        seconds: Live phase wall time measured after the warm-up.
        warmup_s: Live phase seconds excluded (the first full paint).
        fps: Frame rate (the App's ``[app] fps`` for the run).
        frames: Frames timed in the frames phase.
        seed: Simulator seed (default ``[sim] seed``).
        config: Configuration (default: the shipped defaults, no user file).
        color_system: ``"truecolor"`` or ``"256"``.
        action: App action run before the live measurement, e.g. ``"regime"`` or
            ``"health"`` to measure that screen instead of the dashboard (the
            frames phase always times the dashboard).
        quiet: Live phase on a market that does not move (generated ahead, feed
            not started), so the App's idle frame rate can take over.

    Returns:
        The measurements; :meth:`SshBenchResult.summary` formats them.
    """
    return asyncio.run(measure_sshbench(size, seconds, warmup_s, fps, frames, seed, config,
                                        color_system, action, quiet))


#: The frame rate cases of :func:`frame_rate_report`: (name, ``[app]`` overrides, quiet market).
FRAME_RATE_CASES: tuple[tuple[str, dict[str, object], bool], ...] = (
    ("local, live market", {"remote": "off"}, False),
    ("ssh, live market", {"remote": "on"}, False),
    ("local, quiet market, idle off", {"remote": "off", "idle_after_s": 0.0}, True),
    ("local, quiet market, idle", {"remote": "off"}, True),
)


def frame_rate_report(size: tuple[int, int] = (120, 40), seconds: float = 10.0,
                      seed: int | None = None) -> str:
    """Terminal bytes/s, timer ticks/s and CPU of the dashboard per frame rate mode, as a table.

    Each case of :data:`FRAME_RATE_CASES` runs the real App with the shipped
    defaults plus its overrides for ``seconds`` after a warm-up longer than
    ``[app] idle_after_s`` (so the quiet cases have gone idle when counting starts).

    Args:
        size: Terminal ``(columns, rows)``.
        seconds: Measured seconds per case.
        seed: Simulator seed (default ``[sim] seed``).

    Returns:
        One line per case.
    """
    lines = [f"dashboard {size[0]}x{size[1]}, truecolor, {seconds:g} s per case",
             f"{'case':<32}{'mode':>6}{'KB/s':>8}{'peak KB':>9}{'writes/s':>9}{'ticks/s':>9}"
             f"{'frames/s':>10}{'CPU %':>7}"]
    for name, overrides, quiet in FRAME_RATE_CASES:
        cfg = load_config(overrides={"app": dict(overrides)}, read_user_file=False)
        warmup = cfg.app.idle_after_s + 2.0 if quiet and cfg.app.idle_after_s > 0 else 2.0
        r = asyncio.run(measure_sshbench(size, seconds, warmup, cfg.app.fps, 10, seed, cfg,
                                         "truecolor", "", quiet))
        lines.append(f"{name:<32}{r.mode or 'local':>6}{r.bytes_per_s / 1000:>8.2f}"
                     f"{r.peak_bytes_1s / 1000:>9.2f}{r.writes_per_s:>9.1f}{r.ticks_per_s:>9.1f}"
                     f"{r.live_frames / r.seconds:>10.1f}{r.cpu_pct:>7.0f}")
    return "\n".join(lines)


def format_report(result: SshBenchResult) -> str:
    """The report ``tapescope bench`` prints."""
    return result.summary()
