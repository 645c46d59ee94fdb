"""Seek warm-up through the replay controller and the dashboard: silent, swapped in whole, panels follow.

The controller is the feed's seek stage: a seek replays ``[replay] warmup_s``
of history into private fresh markets (with detectors, signals and heatmaps),
drops what their analyses raised, then swaps them into the hub. Checked
against a replay of the same recording from its first message.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from tapescope.engine.heatmap import HeatmapHistory
from tapescope.engine.hub import Hub
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.replay import SIM_DECODERS, ReplayFeed
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.tui.app import make_app
from tapescope.tui.config import Config
from tapescope.tui.panels import DashboardPanels
from tapescope.tui.record import record_session
from tapescope.tui.replay import AlertTap, analysis_hub
from tapescope.tui.replay_cli import build_replay
from tapescope.tui.replay_config import ReplaySettings
from tapescope.tui.replay_controls import ReplayActions, ReplayController
from tapescope.tui.replay_time import NS_PER_S

PARAMS = SimParams(seed=12, symbols=("BTC-SIM", "ETH-SIM"), duration_s=260.0)
KEY = "sim:BTC-SIM"


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warmui") / "sim.db"
    res = asyncio.run(record_session([SimFeed(PARAMS, realtime=False)], path, RecordConfig(checkpoint_interval_s=10.0),
                                     out=io.StringIO(), handle_signals=False))
    assert res.exit_code == 0, res.error
    return path


class Sink:
    """The run's sink in front of the hub, counting what the feed hands it."""

    def __init__(self, hub: Hub) -> None:
        self.hub, self.events = hub, 0

    def on_event(self, event) -> None:
        self.events += 1
        self.hub.on_event(event)

    def on_raw(self, conn_id, recv_ns, payload) -> None:
        pass


class Host(ReplayActions):
    """A non-App holder of the mixin with the dashboard's panels (the rebinding under test)."""

    def __init__(self, panels: DashboardPanels) -> None:
        self.panels = panels


def oracle(path: Path, t: int) -> tuple[Hub, int]:
    """Engine and alert count after reading the recording from the start up to ``t``."""
    feed = ReplayFeed(path, SIM_DECODERS, speed=0, end_ns=t - 1)
    hub = analysis_hub(feed.instruments)
    n = [0]
    asyncio.run(feed.run(AlertTap(hub, lambda k, item: n.__setitem__(0, n[0] + 1))))
    feed.close()
    return hub, n[0]


async def controller_seek(path: Path, t: int, settings: ReplaySettings):
    feed = ReplayFeed(path, SIM_DECODERS, speed=0)
    feed.pause()
    hub = analysis_hub(feed.instruments)
    panels = DashboardPanels()
    panels.attach(hub)
    ctl = ReplayController(feed, hub, settings=settings)
    host = Host(panels)
    host.replay = ctl
    # The alert rules remember the old position: a price and a fire time (event time, later).
    for key in hub.markets:
        panels.engine._price[key] = 1e9
        panels.engine._last[(0, key)] = 1 << 62
    old = dict(hub.markets)
    sink = Sink(hub)
    seen_during: list[bool] = []
    commit = ctl.commit

    def spy() -> None:
        # At the commit the warm-up is done: the live hub still holds the old markets.
        seen_during.append(all(hub.markets[k] is old[k] for k in old))
        commit()

    ctl.commit = spy  # type: ignore[method-assign]
    task = asyncio.create_task(feed.run(sink))
    ctl.seek_to(t)
    for _ in range(2000):
        await asyncio.sleep(0.01)
        if feed.seek_pending is None and seen_during:
            break
    task.cancel()
    feed.close()
    return ctl, hub, panels, old, sink, seen_during


def test_controller_seek_is_silent_and_swaps_warmed_markets_in(recording: Path) -> None:
    with Recording.open(recording) as rec:
        t = rec.first_recv_ns() + 230 * NS_PER_S
    settings = ReplaySettings(warmup_s=200.0, warmup_max_messages=0)
    ctl, hub, panels, old, sink, seen_during = asyncio.run(controller_seek(recording, t, settings))
    assert seen_during == [True]  # nothing visible changed until the target was reached
    assert sink.events == 0  # the run's sink (the App's) saw none of the warm-up
    want, raised = oracle(recording, t)
    for key, market in hub.markets.items():
        assert market is not old[key]
        assert market.analysis is not None and not market.analysis.alerts  # nothing left to announce
        # The rules forgot the old position (no cross across the jump, no cooldown from the future).
        assert key not in panels.engine._price and (0, key) not in panels.engine._last
        # The heatmap panel follows the fresh market's history.
        assert panels.heatmaps[key] in market.analyzers
        assert isinstance(panels.heatmaps[key], HeatmapHistory)
        ref = want.markets[key]
        assert (market.book.seq, list(market.book.bids.items())) == (ref.book.seq, list(ref.book.bids.items()))
        got, exp = market.series_snapshot(), ref.series_snapshot()
        n = 180
        assert len(got.t) >= n
        assert got.t[-n:].tolist() == exp.t[-n:].tolist()
        np.testing.assert_array_equal(got.mid[-n:], exp.mid[-n:])
        np.testing.assert_array_equal(got.delta[-n:], exp.delta[-n:])
    # The warm-up raised detector events and verdicts (the full replay did too), and none got out.
    assert raised > 0 and ctl.dropped_alerts > 0


async def test_dashboard_chart_holds_the_minutes_before_a_seek(config: Config, recording: Path) -> None:
    feed, hub = build_replay(recording)
    feed.pause()
    app = make_app(config, feed, hub, replay=ReplayController(feed, hub, settings=ReplaySettings(warmup_s=120.0)))
    start = app.replay.start_ns
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.3)
        app.replay.seek_to(start + 200 * NS_PER_S)
        for _ in range(1000):
            await pilot.pause(0.01)
            if feed.seek_pending is None:
                break
        await pilot.pause(0.3)
        market = hub.markets[app.focused_key]
        assert len(market.series_snapshot().t) >= 120
        assert app.panels.heatmaps[app.focused_key] in market.analyzers
        snap = app.dashboard.snapshot
        assert snap is not None and len(snap.series.t) >= 120
        # The chart widget was handed the minutes before the target, not the seconds since a checkpoint.
        chart = app.dashboard.chart.series
        assert chart is not None and len(chart.t) >= 120 and chart.t[-1] == snap.series.t[-1]
    feed.close()


async def play_then_seek(path: Path, targets: list[int], settings: ReplaySettings, play_first: bool):
    """Optionally play the whole recording, then seek to each target in turn (paused)."""
    feed = ReplayFeed(path, SIM_DECODERS, speed=0)
    hub = analysis_hub(feed.instruments)
    ctl = ReplayController(feed, hub, settings=settings)
    done = asyncio.Event()
    ctl.on_commit = lambda markets: done.set()
    if play_first:
        await feed.run(hub)
    feed.pause()
    feed.finished = False
    task = asyncio.create_task(feed.run(hub))
    states = []
    for t in targets:
        done.clear()
        ctl.seek_to(t)
        await asyncio.wait_for(done.wait(), 60)
        states.append((dict(ctl.cvd_exact), {k: (m.flow.cvd, m.series_snapshot()) for k, m in hub.markets.items()}))
    task.cancel()
    feed.close()
    return ctl, states


def test_cvd_level_after_a_seek_into_played_time_equals_a_replay_from_the_start(recording: Path) -> None:
    with Recording.open(recording) as rec:
        t = rec.first_recv_ns() + 180 * NS_PER_S + 5
    settings = ReplaySettings(warmup_s=60.0, warmup_max_messages=0)
    ctl, [(exact, state)] = asyncio.run(play_then_seek(recording, [t], settings, play_first=True))
    want, _ = oracle(recording, t)
    assert ctl.cvd_seeds  # notes taken while playing
    for key, (cvd, series) in state.items():
        assert exact[key]
        ref = want.markets[key]
        assert cvd == ref.flow.cvd and cvd != 0.0
        n = 60
        exp = ref.series_snapshot()
        np.testing.assert_array_equal(series.cvd[-n:], exp.cvd[-n:])
        np.testing.assert_array_equal(series.t[-n:], exp.t[-n:])


def test_first_forward_seek_counts_cvd_from_the_restore_point_and_says_so(recording: Path) -> None:
    with Recording.open(recording) as rec:
        start = rec.first_recv_ns()
    settings = ReplaySettings(warmup_s=60.0, warmup_max_messages=0)
    # Forward into unplayed time (not exact), then back into time the warm-up played
    # from a non-exact engine (still not exact), then back to where the warm-up reaches the start.
    targets = [start + 200 * NS_PER_S, start + 170 * NS_PER_S, start + 40 * NS_PER_S]
    _, states = asyncio.run(play_then_seek(recording, targets, settings, play_first=False))
    for (exact, state), t in zip(states, targets, strict=True):
        want, _ = oracle(recording, t)
        for key, (cvd, series) in state.items():
            ref = want.markets[key]
            exp = ref.series_snapshot()
            n = 30
            # The chart's CVD changes match in every case.
            np.testing.assert_allclose(np.diff(series.cvd[-n:]), np.diff(exp.cvd[-n:]), rtol=0, atol=1e-9)
            if t == targets[-1]:
                assert exact[key] and cvd == ref.flow.cvd
            else:
                assert not exact[key] and cvd != ref.flow.cvd


def test_dashboard_seek_with_warm_up_in_a_one_hour_recording_is_under_a_second(tmp_path: Path) -> None:
    from tapescope.engine.recorder.bench import make_long_recording
    from tapescope.tui.replay_seekbench import SYNTHETIC_DECODERS, bench_warm_seek

    path = tmp_path / "hour.db"
    assert make_long_recording(path, hours=1.0, rate=30.0, checkpoint_s=60.0) == 108_000
    settings = ReplaySettings()  # 300 s of warm-up = 9,000 messages here: under the bound
    result = bench_warm_seek(path, SYNTHETIC_DECODERS, settings, seeks=6)
    assert result.span_s >= 3599 and result.bounded == 0
    # At least the warm-up replayed (seeks in the first 5 min replay from the start, fewer).
    assert max(result.replayed) >= settings.warmup_s * 30
    # CPU, not wall: four engineers share two cores here (wall is about twice CPU under that load).
    assert max(result.cpu_s) < 1.0, result.to_text()


async def cancelled_seek(path: Path, t: int):
    feed = ReplayFeed(path, SIM_DECODERS, speed=0)
    feed.pause()
    hub = analysis_hub(feed.instruments)
    ctl = ReplayController(feed, hub, settings=ReplaySettings(warmup_s=200.0, warmup_max_messages=0))
    old = dict(hub.markets)
    task = asyncio.create_task(feed.run(Sink(hub)))
    ctl.seek_to(t)
    staged = None
    for _ in range(20_000):
        await asyncio.sleep(0)
        if ctl._staged is not None:
            staged = ctl._staged
            break
    task.cancel()  # the App quits (or the seek fails) in the middle of the warm-up
    with contextlib.suppress(asyncio.CancelledError):
        await task
    feed.close()
    return ctl, hub, old, staged


def test_a_seek_cancelled_during_its_warm_up_drops_the_staged_engine(recording: Path) -> None:
    with Recording.open(recording) as rec:
        t = rec.first_recv_ns() + 230 * NS_PER_S
    ctl, hub, old, staged = asyncio.run(cancelled_seek(recording, t))
    assert staged is not None, "the warm-up had begun when it was cancelled"
    assert ctl._staged is None
    assert all(hub.markets[k] is old[k] for k in old)  # nothing was swapped in
    # Checkpoints are noted from the live engine again, not from the dropped one.
    key = next(iter(hub.markets))
    hub.markets[key].flow.cvd = 12.5
    ctl.checkpoint_passed(key, 7)
    assert ctl.cvd_seeds[(key, 7)][0] == 12.5
