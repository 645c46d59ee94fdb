"""Watchlist benchmark: the dashboard with 50+ simulated symbols, render time per frame and terminal bytes.

Run it with ``python -m tapescope.tui.watch_perf [--symbols 60] [--frames 100] [--bytes 12]``.

The built-in simulator universe has ten symbols; :class:`ManySymbolSim`
extends it to any count by cycling the ten specs with numbered names
(``BTC2-SIM``, ``ETH2-SIM``...) and prices shifted 7 % per copy, so every
market has its own seeded order flow (the simulator seeds each market by its
symbol) and realistic, differing tick sizes and price widths.

Two figures, the two budgets of architecture.md rule 4:

* :func:`measure_watch_frames` runs the App headless at a terminal size on a
  market generated in compressed mode; per frame it applies ``step_s`` of
  events, runs the frame callback and one watchlist batch (the App's
  watchlist timer reads :data:`~tapescope.tui.watch_actions.WATCHLIST_BATCH`
  markets per tick, at most about once a frame) and one alert batch (the alert
  timer evaluates :data:`~tapescope.tui.alert_actions.ALERT_BATCH` markets per
  tick, ``ceil(markets / ALERT_BATCH)`` ticks per ``[alerts] interval_s``, so
  at 10 fps at most about one a frame: timing one every frame is the worst
  case); optionally presses Tab (focus moves
  down the list, scrolling the window); and waits until the screen has been
  composed. The App's own timers are slowed to a minute, because the
  benchmark's frames take longer in wall time than 0.1 s and wall-clock timers
  would fire several times per simulated second. A full refresh of every
  market at once (what the batches avoid) is timed apart. The figure is CPU time of the main thread per frame
  (``thread_time``: Textual and the engine run on the event loop's thread, and
  the numba warm-up thread or other processes on a shared machine are left
  out), after ``skip`` unmeasured frames and with the numba kernels loaded first.
* :func:`watch_terminal_bytes` runs the same many-symbol market paced in
  real time in a pseudo-terminal and counts the bytes the dashboard writes
  per second once settled, optionally with a Tab key press every second.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from dataclasses import dataclass, fields

from tapescope.engine.hub import Hub
from tapescope.feeds.sim import UNIVERSE, SimFeed, SimParams, SymbolSpec
from tapescope.tui.alert_actions import ALERT_BATCH
from tapescope.tui.app import make_app
from tapescope.tui.config import Config, load_config
from tapescope.tui.perf import p95, pty_output_rate
from tapescope.tui.wiring import make_hub

#: Price shift between copies of a universe symbol.
COPY_SHIFT = 0.07


def many_specs(n: int) -> list[SymbolSpec]:
    """``n`` simulated markets: the built-in universe, then numbered copies of it.

    >>> [s.symbol for s in many_specs(12)][9:]
    ['LTC-SIM', 'BTC2-SIM', 'ETH2-SIM']
    >>> many_specs(11)[10].price
    64200.0
    """
    out = []
    for i in range(n):
        base = UNIVERSE[i % len(UNIVERSE)]
        copy = i // len(UNIVERSE)
        if copy == 0:
            out.append(base)
            continue
        name = base.symbol.removesuffix("-SIM") + f"{copy + 1}-SIM"
        price = round(base.price * (1 + COPY_SHIFT * copy) / base.tick) * base.tick
        out.append(SymbolSpec(name, round(price, 10), base.tick, base.lot, base.level_size, base.activity))
    return out


class ManySymbolSim(SimParams):
    """Simulator settings whose universe is :func:`many_specs` of ``symbol_count`` (no upper bound)."""

    __slots__ = ()

    def universe(self) -> list[SymbolSpec]:
        """The first ``symbol_count`` markets of :func:`many_specs`."""
        return many_specs(self.symbol_count)


def many_symbol_market(config: Config, symbols: int, realtime: bool = False) -> tuple[SimFeed, Hub]:
    """A simulated feed of ``symbols`` markets (``[sim]`` settings otherwise) and a hub wired to it."""
    base = config.section("sim")
    params = ManySymbolSim(**{f.name: getattr(base, f.name) for f in fields(SimParams)
                              if f.name not in ("symbol_count", "symbols")},
                           symbol_count=symbols)
    feed = SimFeed(params, realtime=realtime)
    return feed, make_hub(config, feed.instruments, feed.request_resync)


@dataclass(frozen=True, slots=True)
class WatchFrames:
    """Dashboard render CPU time per frame with many symbols."""

    symbols: int
    """Markets on the watchlist."""
    size: tuple[int, int]
    """Terminal ``(columns, rows)``."""
    frames: int
    """Frames measured."""
    mean_ms: float
    """Mean CPU time per frame, ms."""
    p50_ms: float
    """Median, ms."""
    p95_ms: float
    """95th percentile, ms."""
    max_ms: float
    """Slowest frame, ms."""
    full_refresh_ms: float
    """Mean CPU time of refreshing every market's row at once (what batching avoids), ms."""
    plain_p50_ms: float
    """Median of the frames without an alert batch, ms (``nan``: every frame ran one)."""
    alert_mean_ms: float
    """Mean of the frames that also ran an alert batch, ms."""
    tab: bool
    """Tab pressed every frame (the focus walks down the list, scrolling the window)."""
    full_alert_ms: float = math.nan
    """Mean CPU time of the alert scan of every market at once (what batching avoids), ms."""

    def summary(self) -> str:
        """One line for the report."""
        w, h = self.size
        return (f"dashboard {w}x{h}, {self.symbols} symbols{', Tab every frame' if self.tab else ''}: "
                f"{self.frames} frames, mean {self.mean_ms:.2f} ms, p50 {self.p50_ms:.2f} ms, p95 {self.p95_ms:.2f} ms, "
                f"max {self.max_ms:.2f} ms; without an alert batch p50 {self.plain_p50_ms:.2f} ms, "
                f"with one mean {self.alert_mean_ms:.1f} ms; all {self.symbols} rows at once "
                f"{self.full_refresh_ms:.1f} ms, alert scan of all at once {self.full_alert_ms:.1f} ms")


async def measure_watch_frames(symbols: int = 60, app_size: tuple[int, int] = (120, 40),
                               frames: int = 100, warmup_s: float = 20.0, step_s: float = 0.1,
                               watch_every: int = 10, tab: bool = False, skip: int = 10,
                               config: Config | None = None) -> WatchFrames:
    """Render CPU time per frame of the dashboard with ``symbols`` markets (see the module docstring)."""
    from tapescope.engine.volatility import warm_up_kernels

    warm_up_kernels()
    cfg = config if config is not None else load_config(
        read_user_file=False,
        overrides={"app": {"fps": 1, "watchlist_interval": 60.0}, "alerts": {"interval_s": 60.0}})
    feed, hub = many_symbol_market(cfg, symbols)
    app = make_app(cfg, feed, hub, start_feed=False)
    for event in feed.generate(warmup_s):
        hub.on_event(event)
    times: list[float] = []
    watch: list[float] = []
    plain: list[float] = []
    alerts: list[float] = []
    full_alerts: list[float] = []
    async with app.run_test(size=app_size) as pilot:
        await pilot.pause()
        for i in range(-skip, frames):
            for event in feed.generate(step_s):
                hub.on_event(event)
            t0 = time.thread_time()
            if tab:
                await pilot.press("tab")
            app.refresh_frame()
            app.refresh_watchlist_batch()
            # The alert timer fires ceil(markets / ALERT_BATCH) times per second: a batch on
            # (almost) every frame at 10 fps; every frame here is the worst case.
            scan = i % max(1, watch_every // math.ceil(symbols / ALERT_BATCH)) == 0
            if scan:
                app.scan_alerts_batch()
            await pilot.pause()
            dt = (time.thread_time() - t0) * 1e3
            if i >= 0:
                times.append(dt)
                (alerts if scan else plain).append(dt)
            if i >= 0 and i % watch_every == watch_every // 2:
                t0 = time.thread_time()
                app.refresh_watchlist()
                watch.append((time.thread_time() - t0) * 1e3)
                await pilot.pause()
            if i >= 0 and i % watch_every == 0:
                # Apart from the full watchlist refresh: it would leave every snapshot cached.
                t0 = time.thread_time()
                app.scan_alerts()
                full_alerts.append((time.thread_time() - t0) * 1e3)
                await pilot.pause()
    ordered = sorted(times)
    return WatchFrames(
        symbols=symbols, size=app_size, frames=len(times), mean_ms=statistics.fmean(times),
        p50_ms=statistics.median(times),
        p95_ms=p95(ordered),
        max_ms=ordered[-1], full_refresh_ms=statistics.fmean(watch),
        plain_p50_ms=statistics.median(plain) if plain else math.nan,
        alert_mean_ms=statistics.fmean(alerts) if alerts else math.nan, tab=tab,
        full_alert_ms=statistics.fmean(full_alerts))


def _serve(symbols: int) -> None:
    """Run the many-symbol dashboard paced in real time (the child of :func:`watch_terminal_bytes`).

    The user file is ``$TAPESCOPE_CONFIG_FILE`` (the parent points it at an empty file).
    """
    cfg = load_config()
    feed, hub = many_symbol_market(cfg, symbols, realtime=True)
    make_app(cfg, feed, hub).run()


def watch_terminal_bytes(symbols: int = 60, app_size: tuple[int, int] = (120, 40),
                         seconds: float = 12.0, settle_s: float = 4.0, tab_every_s: float = 0.0) -> float:
    """Bytes per second the many-symbol dashboard writes to a pseudo-terminal (POSIX only).

    Args:
        symbols: Markets on the watchlist.
        app_size: Terminal ``(columns, rows)``.
        seconds: Run length, seconds.
        settle_s: Seconds not counted at the start (start-up, first full paint).
        tab_every_s: Press Tab this often (0: never), moving the focus down the list.

    Returns:
        Mean bytes per second after ``settle_s``.
    """
    return pty_output_rate(["-m", "tapescope.tui.watch_perf", "--serve", str(symbols)], app_size,
                           seconds, settle_s, tab_every_s=tab_every_s)


def main(argv: list[str] | None = None) -> None:
    """Command line: print the frame and byte figures."""
    parser = argparse.ArgumentParser(prog="python -m tapescope.tui.watch_perf",
                                     description="Dashboard cost with many simulated symbols.")
    parser.add_argument("--symbols", type=int, default=60, help="markets on the watchlist")
    parser.add_argument("--frames", type=int, default=100, help="frames to time at each size (0 skips)")
    parser.add_argument("--bytes", type=float, default=12.0,
                        help="seconds of terminal output to count, idle and with Tab every second (0 skips)")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve)
        return
    out = sys.stdout
    if args.frames:
        for size in ((120, 40), (160, 50)):
            for tab in (False, True):
                result = asyncio.run(measure_watch_frames(args.symbols, size, args.frames, tab=tab))
                out.write(result.summary() + "\n")
    if args.bytes:
        for tab_s in (0.0, 1.0):
            rate = watch_terminal_bytes(args.symbols, (120, 40), seconds=args.bytes, tab_every_s=tab_s)
            out.write(f"terminal 120x40, {args.symbols} symbols{', Tab every 1 s' if tab_s else ''}: "
                      f"{rate / 1024:.1f} KB/s\n")
    out.flush()


if __name__ == "__main__":
    main()
