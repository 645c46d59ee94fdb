"""Replay controls: the speed ladder, seeking with engine reset, key bindings and App actions.

:class:`ReplayController` drives a :class:`~tapescope.feeds.replay.ReplayFeed`
for the UI: pause/resume, the speed ladder 0.25x .. 100x then MAX, relative
and absolute seeks clamped to the recording. The controller is the feed's
:class:`~tapescope.feeds.replay.SeekStage`: a seek replays into a private,
fresh engine (markets, detectors, signals, heatmaps: history before a jump is
not the history before the new position), starting from the checkpoints
``[replay] warmup_s`` before the target (bounded by ``warmup_max_messages``)
so the chart and every rolling window hold the minutes before it. The
dashboard keeps showing the old position meanwhile; at the target the
warm-up's detector events and verdicts are dropped (no bell, notification or
webhook for history) and the fresh markets replace the hub's in one step.
Every book equals the one read from the start.

CVD after a seek: CVD is session-cumulative (``[flow] session_reset``), so a
market restored from a checkpoint needs the CVD it had there. The controller
notes each market's CVD (and quote CVD, session) whenever the engine passes
one of the recording's checkpoints while that engine's CVD is exact (it has
played from the session start, or was itself seeded exactly), and seeds a
restored market from that note: after any seek into a stretch already
played (every backward seek, a forward seek into replayed time) the CVD
level equals a replay from the start, bit for bit. A first seek forward into
time never played restores without a note: its CVD counts from the restore
point (``[replay] warmup_s`` and up to one checkpoint interval before the
target), so the level is offset by the CVD before it while its changes over
the chart window (the plotted shape, the ``Δ`` label, per-second deltas)
still equal a replay from the start; :attr:`ReplayController.cvd_exact`
tells which markets are exact. A warm-up reaching back to the session's
first message is exact too.

:class:`ReplayActions` is the App side (mix it into the App): the
``REPLAY_BINDINGS`` with ids and tooltips, ``action_replay_*`` methods, and
:meth:`ReplayActions.check_replay_action`, which the App's ``check_action``
calls so the keys exist only in replay mode and only on the main screen
(not under a modal, where arrows and space belong to the input).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding

from tapescope.engine.alerts import drain
from tapescope.engine.analysis import AnalysisParams, MarketAnalysis
from tapescope.engine.heatmap import HeatmapHistory
from tapescope.engine.hub import Hub
from tapescope.engine.market import Market
from tapescope.tui.replay_config import ReplaySettings
from tapescope.tui.replay_time import NS_PER_S, fmt_utc
from tapescope.widgets.replay_bar import ReplayView, fmt_speed

if TYPE_CHECKING:
    from tapescope.engine.recorder.checkpoint import Checkpoint

    # Only a type here: importing the replay feed pulls in the recorder (sqlite,
    # aiosqlite), which the live dashboard must not load before its first frame.
    from tapescope.feeds.replay import ReplayFeed

log = logging.getLogger(__name__)

#: Playback speeds the ``+``/``-`` keys step through; 0 is as fast as possible (MAX).
SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 0.0)

#: Actions that exist only in replay mode.
REPLAY_ACTIONS = frozenset({
    "replay_toggle_pause", "replay_speed", "replay_step", "replay_jump", "replay_goto",
})

REPLAY_BINDINGS: list[Binding] = [
    # Priority: a focused table would otherwise take space and the arrows.
    Binding("space", "replay_toggle_pause", "Pause", id="replay_pause", priority=True,
            tooltip="Replay only: pause or resume."),
    Binding("plus", "replay_speed(1)", "Faster", id="replay_faster", priority=True,
            tooltip="Replay only: play faster: 0.25x, 0.5x, 1x, 2x, 5x, 10x, 25x, 50x, 100x, then MAX."),
    Binding("minus", "replay_speed(-1)", "Slower", id="replay_slower", priority=True,
            tooltip="Replay only: play slower, down to 0.25x."),
    Binding("right", "replay_step(1)", "+10s", id="replay_forward", show=False, priority=True,
            tooltip="Replay only: jump forward by [replay] seek_short_s (10 s)."),
    Binding("left", "replay_step(-1)", "-10s", id="replay_back", show=False, priority=True,
            tooltip="Replay only: jump back by [replay] seek_short_s (10 s); books are rebuilt from a checkpoint."),
    Binding("shift+right", "replay_jump(1)", "+1m", id="replay_forward_long", show=False,
            priority=True, tooltip="Replay only: jump forward by [replay] seek_long_s (1 min)."),
    Binding("shift+left", "replay_jump(-1)", "-1m", id="replay_back_long", show=False,
            priority=True, tooltip="Replay only: jump back by [replay] seek_long_s (1 min)."),
    Binding("g", "replay_goto", "Go to", id="replay_goto", priority=True,
            tooltip="Replay only: go to a time: +90s, 12:34:56 or 2024-08-08T12:34:56 (UTC)."),
]


def next_speed(speed: float, direction: int) -> float:
    """The next speed on :data:`SPEEDS` (``direction`` > 0 faster); ends stay put.

    >>> next_speed(1.0, 1), next_speed(100.0, 1), next_speed(0.0, 1), next_speed(0.0, -1)
    (2.0, 0.0, 0.0, 100.0)
    >>> next_speed(0.25, -1), next_speed(3.0, 1), next_speed(3.0, -1)
    (0.25, 5.0, 2.0)
    """
    rank = [s if s > 0 else float("inf") for s in SPEEDS]
    now = speed if speed > 0 else float("inf")
    if direction > 0:
        return next((SPEEDS[i] for i, r in enumerate(rank) if r > now), SPEEDS[-1])
    return next((SPEEDS[i] for i in range(len(rank) - 1, -1, -1) if rank[i] < now), SPEEDS[0])


def fresh_market(old: Market, hub: Hub, analysis: AnalysisParams | None = None) -> Market:
    """An empty market like ``old``: same instrument, ``hub``'s flow params and callback.

    A :class:`MarketAnalysis` on ``old`` gets a fresh one (``analysis`` or its
    previous parameters), a :class:`HeatmapHistory` a fresh one with its
    parameters. ``O(1)`` plus the analyses' set-up.
    """
    fresh = Market(old.instrument, hub.params, hub.on_invalid)
    prev = old.analysis
    if isinstance(prev, MarketAnalysis):
        MarketAnalysis.attach(fresh, analysis or prev.params)
    for a in old.analyzers:
        if isinstance(a, HeatmapHistory):
            HeatmapHistory.attach(fresh, a.params)
    return fresh


def staged_hub(hub: Hub) -> Hub:
    """A new hub holding a :func:`fresh_market` for every market of ``hub`` (same order)."""
    staged = Hub([], hub.params, hub.on_invalid)
    for key, old in hub.markets.items():
        staged.markets[key] = fresh_market(old, hub)
    return staged


class ReplayController:
    """Drives a replay feed for the UI, and stages its seeks (see the module docstring).

    Every control method is ``O(1)``: seeks run in the feed task.
    """

    def __init__(self, feed: ReplayFeed, hub: Hub | None = None,
                 restart: Callable[[], None] | None = None,
                 settings: ReplaySettings | None = None) -> None:
        """Wrap ``feed``.

        Args:
            feed: the replay being played.
            settings: the ``[replay]`` section (seek steps, warm-up).
            hub: engine hub whose markets a seek replaces by warmed-up fresh ones
                (``None``: leave the engine alone; the feed seeks into its sink).
            restart: runs the feed again (the App's feed worker) when a seek
                happens after the feed reached the end.
        """
        self.feed = feed
        """The replay."""
        self.settings = settings or ReplaySettings()
        """Seek steps."""
        self.hub = hub
        """Engine hub reset on seeks."""
        self.restart = restart
        """Re-runs the feed after it finished."""
        rec = feed.recording
        self.start_ns = rec.first_recv_ns()
        """First receive time of the recording."""
        self.end_ns = feed.end_ns if feed.end_ns is not None else rec.last_recv_ns()
        """Last receive time played."""
        self.on_commit: Callable[[dict[str, Market]], None] | None = None
        """Called with the hub's markets after a seek swapped in fresh ones (the App rebinds panels)."""
        self.dropped_alerts = 0
        """Detector events and verdicts raised during seek warm-ups and dropped (never announced)."""
        self.cvd_exact: dict[str, bool] = dict.fromkeys(hub.markets if hub is not None else (), True)
        """Per market: True when its CVD level equals a replay from the session start (see the module docstring)."""
        self.cvd_seeds: dict[tuple[str, int], tuple[float, float, int]] = {}
        """``(market, checkpoint msg id) -> (cvd, cvd_quote, session)`` noted as the engine passed it."""
        self._staged: Hub | None = None
        self._staged_exact: dict[str, bool] = {}
        if hub is not None:
            feed.stage = self
            feed.warmup_ns = round(self.settings.warmup_s * NS_PER_S)
            feed.warmup_max_messages = self.settings.warmup_max_messages

    # -- SeekStage ---------------------------------------------------------------

    def begin(self, checkpoints: Mapping[str, Checkpoint]) -> Hub:
        """A private hub of fresh markets for the seek the feed is applying. ``O(markets)``.

        A market restored from a checkpoint with a CVD note starts from that
        CVD (when the checkpoint lies in the note's session); one replayed
        from the session start needs none.
        """
        assert self.hub is not None
        staged = self._staged = staged_hub(self.hub)
        exact = self._staged_exact = {}
        for key, market in staged.markets.items():
            cp = checkpoints.get(key)
            if cp is None:
                exact[key] = True
                continue
            seed = self.cvd_seeds.get((key, cp.msg_id))
            flow = market.flow
            exact[key] = seed is not None and flow.session_of(cp.recv_ns // NS_PER_S) == seed[2]
            if exact[key]:
                assert seed is not None
                flow.cvd, flow.cvd_quote = seed[0], seed[1]
        return staged

    def checkpoint_passed(self, key: str, msg_id: int) -> None:
        """Note market ``key``'s CVD at checkpoint ``msg_id`` if the engine passing it is exact. ``O(1)``."""
        if self._staged is not None:
            hub, exact = self._staged, self._staged_exact
        elif self.hub is not None:
            hub, exact = self.hub, self.cvd_exact
        else:
            return
        market = hub.markets.get(key)
        if market is not None and exact.get(key, False):
            flow = market.flow
            self.cvd_seeds[(key, msg_id)] = (flow.cvd, flow.cvd_quote, flow.session)

    def abort(self) -> None:
        """Drop the staged engine of a seek that did not reach its target. ``O(1)``."""
        self._staged, self._staged_exact = None, {}

    def commit(self) -> None:
        """Swap the warmed-up markets into the hub, dropping what their analyses raised meanwhile.

        The swap is one dict update between two frames: the frame timer sees
        the old markets or the new ones, never a half-built engine.
        """
        staged, self._staged = self._staged, None
        if staged is None or self.hub is None:
            return
        for market in staged.markets.values():
            queue = getattr(market.analysis, "alerts", None)
            if queue:
                self.dropped_alerts += len(drain(queue))
        self.hub.markets.update(staged.markets)
        self.cvd_exact.update(self._staged_exact)
        if self.on_commit is not None:
            self.on_commit(self.hub.markets)

    @property
    def position_ns(self) -> int:
        """Receive time reached (the pending seek target until the feed applies it)."""
        pending = self.feed.seek_pending
        return pending if pending is not None else self.feed.position_ns

    def view(self) -> ReplayView:
        """What the replay bar shows now."""
        f = self.feed
        return ReplayView(self.position_ns, self.start_ns, self.end_ns, f.speed, f.paused,
                          f.finished and f.seek_pending is None)

    def toggle_pause(self) -> bool:
        """Pause or resume; returns True when now paused."""
        self.feed.toggle_pause()
        return self.feed.paused

    def change_speed(self, direction: int) -> float:
        """Step the speed along :data:`SPEEDS`; returns the new speed."""
        speed = next_speed(self.feed.speed, direction)
        self.feed.set_speed(speed)
        return speed

    def seek_to(self, t_ns: int) -> int:
        """Seek to receive time ``t_ns`` clamped to the recording; returns the target used."""
        t = min(max(int(t_ns), self.start_ns), self.end_ns)
        f = self.feed
        was_finished = f.finished
        f.seek(t)
        if was_finished:
            f.finished = False
            if self.restart is not None:
                self.restart()
        log.info("replay seek to %s", fmt_utc(t))
        return t

    def seek_by(self, seconds: float) -> int:
        """Seek relative to the current position; returns the target used."""
        return self.seek_to(self.position_ns + round(seconds * NS_PER_S))


class ReplayActions:
    """App mixin: replay actions, their bindings' gate and palette commands.

    The App sets :attr:`replay` to a :class:`ReplayController` in replay mode,
    appends :data:`REPLAY_BINDINGS` to its ``BINDINGS``, and calls
    :meth:`check_replay_action` first in its ``check_action``.
    """

    _replay: ReplayController | None = None

    @property
    def replay(self) -> ReplayController | None:
        """The replay being played, or ``None`` outside replay mode.

        Setting it hooks :meth:`replay_committed` to the controller's
        ``on_commit``, so the App's panels follow the markets a seek swaps in.
        """
        return self._replay

    @replay.setter
    def replay(self, controller: ReplayController | None) -> None:
        self._replay = controller
        if controller is not None:
            controller.on_commit = self.replay_committed

    def replay_committed(self, markets: dict[str, Market]) -> None:
        """A seek swapped in fresh markets: point the App's heatmap panel at their histories,
        and make the alert rules forget the old position's price and fire times.

        Works with any App holding a ``panels`` like the dashboard's
        :class:`~tapescope.tui.panels.DashboardPanels` (``heatmaps``, ``engine``);
        others have nothing to rebind.
        """
        panels = getattr(self, "panels", None)
        engine = getattr(panels, "engine", None)
        if engine is not None:
            # Event time jumped: no price "cross" between the positions, no cooldown from the old one.
            for key in markets:
                engine.forget_position(key)
        heatmaps = getattr(panels, "heatmaps", None)
        if heatmaps is None:
            return
        for key, market in markets.items():
            for a in market.analyzers:
                if isinstance(a, HeatmapHistory):
                    heatmaps[key] = a

    def replay_main_screen(self) -> bool:
        """True when no modal or other screen is on top (override in the App)."""
        app: Any = self
        return len(app.screen_stack) == 1

    def check_replay_action(self, action: str) -> bool | None:
        """``False`` for a replay action outside replay mode or under a modal, else ``None`` (no say)."""
        if action in REPLAY_ACTIONS:
            return self.replay is not None and self.replay_main_screen()
        return None

    def _replay_changed(self, message: str) -> None:
        app: Any = self
        app.notify(message, timeout=2)
        refresh = getattr(app, "refresh_replay", None)
        if callable(refresh):
            refresh()

    def action_replay_toggle_pause(self) -> None:
        """Pause or resume the replay."""
        if self.replay is not None:
            paused = self.replay.toggle_pause()
            self._replay_changed("Paused" if paused else "Playing")

    def action_replay_speed(self, direction: int) -> None:
        """Step the replay speed (``direction`` > 0 faster)."""
        if self.replay is not None:
            self._replay_changed(f"Speed {fmt_speed(self.replay.change_speed(direction))}")

    def action_replay_step(self, direction: int) -> None:
        """Jump ``seek_short_s`` forward (``direction`` > 0) or back."""
        if self.replay is not None:
            t = self.replay.seek_by(direction * self.replay.settings.seek_short_s)
            self._replay_changed(f"Seek to {fmt_utc(t)}")

    def action_replay_jump(self, direction: int) -> None:
        """Jump ``seek_long_s`` forward (``direction`` > 0) or back."""
        if self.replay is not None:
            t = self.replay.seek_by(direction * self.replay.settings.seek_long_s)
            self._replay_changed(f"Seek to {fmt_utc(t)}")

    def action_replay_goto(self) -> None:
        """Ask for a time in a small modal and seek there."""
        from tapescope.tui.screens.goto import GoToTime

        if self.replay is None:
            return
        replay = self.replay

        def chosen(t: int | None) -> None:
            if t is not None and self.replay is replay:
                self._replay_changed(f"Seek to {fmt_utc(replay.seek_to(t))}")

        app: Any = self
        app.push_screen(GoToTime(replay.start_ns, replay.end_ns, replay.position_ns), chosen)

    def replay_commands(self) -> Iterator[SystemCommand]:
        """Palette commands for every replay key (only in replay mode)."""
        if self.replay is None:
            return
        yield SystemCommand("Replay: pause / resume", "Pause or resume the replay", self.action_replay_toggle_pause)
        yield SystemCommand("Replay: faster", "Next speed up to 100x, then MAX",
                            lambda: self.action_replay_speed(1))
        yield SystemCommand("Replay: slower", "Next speed down to 0.25x", lambda: self.action_replay_speed(-1))
        short, long = self.replay.settings.seek_short_s, self.replay.settings.seek_long_s
        yield SystemCommand(f"Replay: forward {short:g} s", "Short jump forward", lambda: self.action_replay_step(1))
        yield SystemCommand(f"Replay: back {short:g} s", "Short jump back", lambda: self.action_replay_step(-1))
        yield SystemCommand(f"Replay: forward {long:g} s", "Long jump forward", lambda: self.action_replay_jump(1))
        yield SystemCommand(f"Replay: back {long:g} s", "Long jump back", lambda: self.action_replay_jump(-1))
        yield SystemCommand("Replay: go to time", "Seek to a time you type", self.action_replay_goto)
