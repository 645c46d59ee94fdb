"""The Textual App: wires a feed and the engine hub to the dashboard, at a fixed frame rate.

Data path (style.md section 2): the feed runs as a worker in the App's event
loop and pushes every event into the hub (through :class:`CountingSink`, which
counts events for the status bar). One ``set_interval(1 / fps)`` timer reads
only the focused market's snapshot and assigns it, inside ``batch_update()``,
to the dashboard screen's reactive; the screen hands pieces to the widgets.
Nothing renders per message. Two slower timers refresh the watchlist and
evaluate the alert rules, each a slice of the markets per tick.

The App is assembled from mixins, one per responsibility:
:class:`~tapescope.tui.watch_actions.WatchlistActions` (watchlist batches,
sorting, Tab order), :class:`~tapescope.tui.alert_actions.AlertActions` (the
alert timer), :class:`~tapescope.tui.screen_actions.ScreenActions` (screens,
panels, ladder step, theme), plus the frame timer, palette and replay mixins.

The frame timer's rate adapts (:mod:`tapescope.tui.frame_rate`): ``[app]
remote_fps`` on a remote (SSH) terminal, ``[app] idle_fps`` once neither a key
nor the focused market has moved for ``[app] idle_after_s``; a key press, a
click or an event of the focused market restores the full rate at once.

Use :func:`make_app` to build the App (the CLI and the tests both do).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tapescope.engine.events import FeedState
from tapescope.engine.heatmap import HeatmapParams
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.feeds.base import EventSink, Feed
from tapescope.themes import CSS_PATH, THEMES, market_variable_defaults
from tapescope.tui.alert_actions import AlertActions
from tapescope.tui.alerts import AlertSettings
from tapescope.tui.config import Config
from tapescope.tui.frame_rate import FramePolicy, FrameRateGovernor, is_remote_terminal
from tapescope.tui.frame_timer import AdaptiveFrames, CountingSink
from tapescope.tui.ladder_steps import auto_step
from tapescope.tui.messages import FeedStopped, SymbolRequested
from tapescope.tui.palette import PaletteCommands
from tapescope.tui.panels import DashboardPanels
from tapescope.tui.replay_controls import REPLAY_BINDINGS, ReplayActions, ReplayController
from tapescope.tui.screen_actions import ScreenActions
from tapescope.tui.screens.dashboard import DashboardScreen
from tapescope.tui.screens.regime import RegimeScreen
from tapescope.tui.screens.risk import RiskScreen
from tapescope.tui.screens.risk_form import risk_market
from tapescope.tui.startup import resume_gc
from tapescope.tui.watch_actions import WATCHLIST_BATCH, WatchlistActions
from tapescope.tui.wiring import analysis_params
from tapescope.widgets.format import fmt_time
from tapescope.widgets.replay_bar import ReplayBar
from tapescope.widgets.status_bar import StatusView
from tapescope.widgets.watch_rows import WatchRow

log = logging.getLogger(__name__)

#: Frame ticks between the first frame showing a live market and the numba warm-up.
WARM_UP_DELAY_FRAMES = 10
#: Frame ticks after which the numba warm-up starts even if no market has gone live.
WARM_UP_LATEST_FRAMES = 50


def _section(config: Config, name: str, default: object):
    """A config section, or ``default`` when this build does not register it."""
    try:
        return config.section(name)
    except KeyError:
        return default


class MarketSource(EventSink, Protocol):
    """What the App needs from the engine hub."""

    @property
    def keys(self) -> list[str]:
        """Market keys, in watchlist order."""

    def snapshot(self, key: str, ladder_step_ticks: int = 1, ladder_rows: int = 40) -> MarketSnapshot:
        """The current snapshot of market ``key``."""


def _symbol_bindings() -> list[Binding]:
    return [
        Binding(str(n), f"focus_symbol({n})", f"Symbol {n}", show=False, id=f"symbol_{n}",
                tooltip=f"Focus watchlist symbol {n}.")
        for n in range(1, 10)
    ]


class TapescopeApp(AdaptiveFrames, PaletteCommands, ReplayActions, WatchlistActions, AlertActions,
                   ScreenActions, App[None]):
    """tapescope's dashboard App. Build it with :func:`make_app`."""

    CSS_PATH = CSS_PATH
    TITLE = "tapescope"

    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit tapescope."),
        Binding("question_mark", "help", "Help", id="help",
                tooltip="Show every key and what it does."),
        Binding("slash", "symbol_picker", "Symbol", id="symbol_picker",
                tooltip="Open the fuzzy symbol picker: type part of a symbol, Enter to focus it."),
        Binding("t", "cycle_theme", "Theme", id="cycle_theme",
                tooltip="Switch to the next colour theme."),
        # Priority: otherwise the screen's focus-cycling Tab binding would win.
        Binding("tab", "next_symbol", "Next", show=False, id="next_symbol", priority=True,
                tooltip="Focus the next symbol of the watchlist."),
        Binding("shift+tab", "prev_symbol", "Prev", show=False, id="prev_symbol", priority=True,
                tooltip="Focus the previous symbol of the watchlist."),
        Binding("right_square_bracket,plus", "ladder_step(1)", "Coarser", id="ladder_coarser",
                tooltip="Aggregate the depth ladder into taller rows (1, 2, 5, 10... ticks per row)."),
        Binding("left_square_bracket,minus", "ladder_step(-1)", "Finer", id="ladder_finer",
                tooltip="Split the depth ladder into shorter rows, down to one tick per row."),
        Binding("h", "toggle_panel('heatmap')", "Heatmap", id="toggle_heatmap",
                tooltip="Show the liquidity heatmap in place of the CVD chart, or back."),
        Binding("right_curly_bracket", "heatmap_zoom(-1)", "Zoom in", show=False,
                id="heatmap_zoom_in", tooltip="Zoom the heatmap in: fewer price rows, each taller."),
        Binding("left_curly_bracket", "heatmap_zoom(1)", "Zoom out", show=False,
                id="heatmap_zoom_out", tooltip="Zoom the heatmap out: more price rows per cell."),
        Binding("x", "tape_filter", "Tape filter", show=False, id="tape_filter",
                tooltip="Show only tape lines of at least the next minimum notional "
                        "([app] tape_filters), or every line again."),
        Binding("p", "toggle_profile", "Profile", show=False, id="toggle_profile",
                tooltip="Switch the profile column beside the ladder between the volume profile "
                        "(VP) and the TPO profile (time at price)."),
        Binding("s", "toggle_panel('signals')", "Signals", show=False, id="toggle_signals",
                tooltip="Show or hide the signals panel (fused score, live signals, history)."),
        Binding("a", "toggle_panel('alerts')", "Alerts", show=False, id="toggle_alerts",
                tooltip="Show or hide the alert log."),
        Binding("m", "mute_alerts", "Mute", show=False, id="mute_alerts",
                tooltip="Mute or unmute alert bell, notifications and webhook (alerts are still logged)."),
        Binding("o", "sort_watchlist", "Sort", show=False, id="sort_watchlist",
                tooltip="Sort the watchlist by the next column: #, symbol, change, spread, "
                        "imbalance, CVD slope, vol regime, score."),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="reverse_sort",
                tooltip="Reverse the watchlist's sort direction."),
        Binding("r", "risk", "Risk", show=False, id="risk",
                tooltip="Open the risk/position calculator on the focused market's live book."),
        Binding("v", "regime", "Regime", show=False, id="regime",
                tooltip="Volatility regime, VPIN and the volume/TPO profile of the focused market."),
        Binding("f", "health", "Health", show=False, id="health",
                tooltip="Feed health: every connection and market, state and error counters."),
        *_symbol_bindings(),
        # Replay-only keys (check_action hides them outside replay mode); last, so the
        # footer's order is unchanged.
        *REPLAY_BINDINGS,
    ]

    def __init__(self, config: Config, feed: Feed | None, hub: MarketSource, *,
                 start_feed: bool = True, clock: Callable[[], int] = time.time_ns,
                 replay: ReplayController | None = None) -> None:
        """Build the App; prefer :func:`make_app`.

        Args:
            config: Effective configuration.
            feed: Event source run as a worker (``None``: the hub is fed elsewhere).
            hub: Engine hub the feed writes into and the frame timer reads from.
            start_feed: Run the feed on mount (tests of a frozen market pass ``False``).
            clock: Wall clock in ns, for latency, frame rate and message rate
                (tests pass a frozen one).
            replay: Replay mode: the controller of the replay ``feed``.
        """
        super().__init__()
        self.config = config
        """Effective configuration."""
        self.feed = feed
        """Event source (may be ``None``)."""
        self.hub = hub
        """Engine hub."""
        self.sink = CountingSink(hub)
        """What the feed writes into."""
        self.replay = replay
        if replay is not None:
            replay.restart = self.run_feed
        self._start_feed = start_feed
        self._clock = clock
        settings = config.app
        wide = settings.wide_min_cols
        self.HORIZONTAL_BREAKPOINTS = [(0, "-compact"), (wide, "-wide"), (wide + 40, "-xwide")]
        self.focused_key: str = hub.keys[0] if hub.keys else ""
        """Key of the focused market."""
        self.frames = 0
        """Frames assigned to the screen so far."""
        self.ticks = 0
        """Frame timer callbacks so far (each reads a snapshot, changed or not)."""
        remote = is_remote_terminal(settings.remote, os.environ)
        self.frame_rate = FrameRateGovernor(
            FramePolicy(active_fps=settings.remote_fps if remote else settings.fps,
                        idle_fps=settings.idle_fps, idle_after_ns=int(settings.idle_after_s * 1e9),
                        remote=remote),
            now_ns=clock())
        """Chooses the frame timer's rate (active, remote, idle)."""
        self.frame_timer = None
        self._steps: dict[str, int] = {}
        self._last: MarketSnapshot | None = None
        self._last_rows = 0
        self._latency_ms = math.nan
        self._latencies: list[float] = []
        self._fps = math.nan
        self._msg_rate = math.nan
        self._rate_t0 = clock()
        self._rate_events0 = 0
        self._rate_frames0 = 0
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = settings.theme
        self.dashboard = DashboardScreen(size_digits=settings.size_digits,
                                         tape_rows=settings.tape_rows,
                                         utc=settings.timezone == "utc",
                                         anchored_ladder=settings.ladder_layout == "anchored")
        """The main screen."""
        self.panels = DashboardPanels(_section(config, "heatmap", HeatmapParams()),
                                      _section(config, "alerts", AlertSettings()),
                                      analysis_params(config), bell=self.round_bell,
                                      notify=self.notify)
        """Heatmaps, analyses, alert rules and the alert sink of every market."""
        self.panels.attach(hub)
        self._alerts_version = 0
        self._alert_next = 0
        self._frame_ticks = 0
        self._live_tick: int | None = None
        self._kernels_started = False
        self._watch_rows: list[WatchRow] = []
        self._watch_next = 0
        # Redraw cadences of the panels that would otherwise rewrite their lines every frame.
        self.dashboard.tape.redraw_interval = settings.tape_interval
        self.dashboard.tape.burst_ms = settings.tape_burst_ms
        self._tape_filter = 0
        self.dashboard.set_tape_filter(settings.tape_filters[0] if settings.tape_filters else 0.0)
        self.dashboard.readouts.redraw_interval = settings.readouts_interval
        self.dashboard.chart.redraw_interval = settings.chart_interval

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # Textual's own themes (palette "Theme" command) lack market colours.
        return market_variable_defaults()

    def get_default_screen(self) -> Screen:
        return self.dashboard

    def on_mount(self) -> None:
        self.set_keymap(self.config.keys.keymap())
        if self.feed is not None and self._start_feed:
            self.run_feed()
        # The default screen composes after App.on_mount: start drawing once it has.
        self.call_after_refresh(self._start_drawing)

    def _start_drawing(self) -> None:
        self.dashboard.focused_key = self.focused_key
        if self.replay is not None:
            self.dashboard.mount(ReplayBar(id="replay-bar"), before=self.dashboard.status_bar)
        self._start_frame_timer()
        batches = max(1, math.ceil(len(self.hub.keys) / WATCHLIST_BATCH))
        self.set_interval(self.config.app.watchlist_interval / batches, self.refresh_watchlist_batch,
                          name="watchlist")
        self.start_alert_timer()
        job = self.panels.webhook_job()
        if job is not None:
            self.run_worker(job, group="webhook", exit_on_error=False, description="alert webhook")
        self.refresh_watchlist()
        self.refresh_frame()

    # ------------------------------------------------------------------ data path

    @work(exclusive=True, exit_on_error=False, group="feed", description="market feed")
    async def run_feed(self) -> None:
        """Run the feed in the App's event loop until it ends or the App exits."""
        assert self.feed is not None
        await self.feed.run(self.sink)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "feed" or self.feed is None:
            return
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            log.error("feed %s failed: %r", self.feed.name, error)
            self.post_message(FeedStopped(self.feed.name, f"{type(error).__name__}: {error}"))
        elif event.state == WorkerState.SUCCESS:
            self.post_message(FeedStopped(self.feed.name))

    @on(FeedStopped)
    def _feed_stopped(self, event: FeedStopped) -> None:
        if event.error:
            self.notify(f"Feed {event.feed} failed: {event.error}", severity="error", timeout=10)
        else:
            self.notify(f"Feed {event.feed} ended.", timeout=5)

    def refresh_frame(self) -> None:
        """Read the focused market's snapshot and hand it to the screen (the frame timer)."""
        if (not self.focused_key or not self.dashboard.is_mounted or self._exit
                or not self.screen_stack):  # a tick during teardown: the stack is already empty
            return
        settings = self.config.app
        rows = min(settings.max_ladder_rows, self.dashboard.ladder_rows)
        snap = self.hub.snapshot(self.focused_key, ladder_step_ticks=self.ladder_step_ticks,
                                 ladder_rows=rows)
        if self.focused_key not in self._steps and snap.state == FeedState.LIVE and snap.mid > 0:
            # The automatic row height is chosen once per market, from its first live mid,
            # so rows do not change height while the price moves.
            self._steps[self.focused_key] = auto_step(
                snap.mid, snap.instrument.tick_size, settings.ladder_row_bps, settings.ladder_step_ticks)
            if self._steps[self.focused_key] != self.config.app.ladder_step_ticks:
                snap = self.hub.snapshot(self.focused_key, ladder_step_ticks=self.ladder_step_ticks,
                                         ladder_rows=rows)
        now = self._clock()
        changed = snap is not self._last or rows != self._last_rows
        last = self._last
        # What the user would see move: another version or state of the book, or another size.
        moved = (last is None or snap.key != last.key or snap.version != last.version
                 or snap.state != last.state or rows != self._last_rows)
        if self.frame_rate.frame(now, moved) and self.frame_timer is not None:
            self._start_frame_timer()
        if changed and snap.recv_ts and (self._last is None or snap.version != self._last.version):
            self._latencies.append(max(0.0, (now - snap.recv_ts) / 1e6))
            if math.isnan(self._latency_ms):
                self._latency_ms = self._latencies[-1]
        self.frames += changed
        self._update_rates(now)
        status = StatusView(
            feed=self.feed.name if self.feed is not None else "—",
            market=snap.key,
            state=snap.state,
            msg_rate=self._msg_rate,
            latency_ms=self._latency_ms,
            fps=self._fps,
            fps_target=self.frame_rate.fps,
            fps_mode=self.frame_rate.mode,
            clock=(fmt_time(snap.ts, settings.timezone == "utc", millis=False)
                   + (" UTC" if settings.timezone == "utc" else "")) if snap.ts else "",
        )
        screen = self.screen
        with self.batch_update():
            if self.replay is not None and self.dashboard.is_mounted:
                self.refresh_replay()
            if changed:
                self._last, self._last_rows = snap, rows
                if isinstance(screen, RiskScreen):
                    screen.update_market(risk_market(snap, self.live_book(self.focused_key)))
                elif isinstance(screen, RegimeScreen):
                    screen.snapshot = snap
            # A covered dashboard is left alone: in Textual 8 every change to a widget of a
            # screen under the top one repaints the whole top screen (measured with
            # tui/sshbench.py: 120 KB/s with the health screen open, 6 KB/s without).
            if screen is self.dashboard:
                if self.dashboard.snapshot is not snap:
                    self.dashboard.snapshot = snap
                    frame = self.panels.frame(snap)
                    self.dashboard.heatmap_snapshot = frame.heatmap
                    self.dashboard.signals_view = frame.signals
                self.dashboard.status = status
        if not self._kernels_started:
            self._schedule_kernels(screen is self.dashboard and snap.state == FeedState.LIVE)

    def _schedule_kernels(self, live_frame: bool) -> None:
        """Start the numba warm-up (and resume the garbage collector)
        :data:`WARM_UP_DELAY_FRAMES` frame ticks after the first frame that
        showed a live market.

        The kernels (GARCH, value area) load off the event loop: from the
        on-disk cache it takes ~0.3-1 s, a cold compile several seconds, and
        until then the engine uses its pure-Python fallbacks (the first GARCH
        fit is minutes away). A thread started with the first frame competes
        with its paint for the GIL (measured with ``python -m
        tapescope.tui.coldstart``: the frame came ~0.5 s later), and the
        screen paints some time after the frame timer assigned the snapshot
        (Textual gives no public "painted" signal; on a loaded machine it
        took more than one tick), hence the margin. When nothing goes live it
        starts after :data:`WARM_UP_LATEST_FRAMES` ticks. The CLI pauses the
        collector for the start (:mod:`tapescope.tui.startup`); it runs again
        from here on.
        """
        if self._kernels_started:
            return
        self._frame_ticks += 1
        if self._live_tick is None and live_frame:
            self._live_tick = self._frame_ticks
        elif ((self._live_tick is not None
               and self._frame_ticks >= self._live_tick + WARM_UP_DELAY_FRAMES)
              or self._frame_ticks >= WARM_UP_LATEST_FRAMES):
            self._kernels_started = True
            resume_gc()
            start_kernel_warm_up()

    def refresh_replay(self) -> None:
        """Show the replay's position, speed and state in the replay bar."""
        bars = self.dashboard.query(ReplayBar)
        if self.replay is not None and bars:
            bars.first().view = self.replay.view()

    def _update_rates(self, now: int) -> None:
        elapsed = (now - self._rate_t0) / 1e9
        if elapsed < 1.0:
            return
        self._msg_rate = (self.sink.events - self._rate_events0) / elapsed
        self._fps = (self.frames - self._rate_frames0) / elapsed
        # The bar shows the mean latency of the last window, so it changes once a second.
        if self._latencies:
            self._latency_ms = sum(self._latencies) / len(self._latencies)
            self._latencies.clear()
        self._rate_t0, self._rate_events0, self._rate_frames0 = now, self.sink.events, self.frames

    # -------------------------------------------------------------------- actions

    def focus_market(self, key: str) -> None:
        """Make ``key`` the focused market and draw it at once."""
        if key not in self.hub.keys or key == self.focused_key:
            return
        self.focused_key = key
        self._last = None
        self._latency_ms = math.nan
        self._latencies.clear()
        self.dashboard.focused_key = key
        # The new market's tape and readouts are drawn now, not at their next cadence.
        self.dashboard.tape.reset_cadence()
        self.dashboard.readouts.reset_cadence()
        self.dashboard.chart.reset_cadence()
        self.refresh_frame()

    @on(SymbolRequested)
    def _symbol_requested(self, event: SymbolRequested) -> None:
        self.focus_market(event.key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        gate = self.check_replay_action(action)
        if gate is not None:
            return gate
        # Symbol keys act on the dashboard only, not under the picker or help.
        if action in ("focus_symbol", "next_symbol", "prev_symbol", "symbol_picker", "help",
                      "risk", "regime", "health", "sort_watchlist", "reverse_sort") \
                and self.screen is not self.dashboard:
            return False
        if action == "focus_symbol" and parameters and int(parameters[0]) > len(self.hub.keys):
            return False
        return True


def start_kernel_warm_up() -> threading.Thread:
    """Run :func:`tapescope.engine.volatility.warm_up_kernels` in a daemon thread.

    A daemon thread rather than a Textual worker: the App never waits for it
    on exit (a cold compile can take seconds), and numba holds its own
    compiler lock, so concurrent calls are safe.

    Returns:
        The started thread.
    """
    from tapescope.engine.volatility import warm_up_kernels

    def run() -> None:
        try:
            warm_up_kernels()
        except Exception:  # noqa: BLE001 - the fallbacks keep working without numba
            log.exception("numba kernel warm-up failed; pure-Python fallbacks stay in use")

    thread = threading.Thread(target=run, name="tapescope-kernel-warm-up", daemon=True)
    thread.start()
    return thread


def make_app(config: Config, feed: Feed | None, hub: MarketSource, *, start_feed: bool = True,
             clock: Callable[[], int] = time.time_ns, replay: ReplayController | None = None) -> TapescopeApp:
    """Build the dashboard App (used by the CLI and by the tests).

    Args:
        config: Effective configuration (:func:`tapescope.tui.config.load_config`).
        feed: Event source to run as a worker, or ``None`` when the hub is fed elsewhere.
        hub: Engine hub (``keys`` and ``snapshot(key, ladder_step_ticks, ladder_rows)``).
        start_feed: Run the feed on mount; tests of a frozen market pass ``False``.
        clock: Wall clock in ns for latency and rates; tests pass a frozen one.
        replay: Replay mode: the controller of the replay ``feed`` (adds the replay bar and keys).

    Returns:
        The App, not yet running.
    """
    return TapescopeApp(config, feed, hub, start_feed=start_feed, clock=clock, replay=replay)
