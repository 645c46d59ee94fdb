"""SVG snapshots of every screen on a frozen simulated market (pytest-textual-snapshot).

Every screen is pictured at 80x24 and 120x40 (issue #6): the dashboard, a book
RESYNCING or DISCONNECTED, help, the symbol picker, the risk calculator,
feed health, regime/profile, the heatmap, and in replay mode the dashboard
with its progress bar and the go-to-time box.

The market is the seeded simulator generated in compressed mode for a fixed
number of venue seconds from its fixed start time, pushed through the real
engine hub; the paced feed is not started, and the wall clock the App reads
(latency, rates) is frozen. Replays read a recording of the same simulator
made in compressed time, paused and seeked to a fixed position. Regenerate
baselines with ``--snapshot-update`` and look at every changed SVG.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from textual.widgets import Input

from tapescope.engine.events import FeedState, StatusChange
from tapescope.engine.recorder.config import RecordConfig
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.tui.app import TapescopeApp, make_app
from tapescope.tui.config import load_config
from tapescope.tui.perf import frozen_market
from tapescope.tui.record import record_session
from tapescope.tui.replay_cli import build_replay
from tapescope.tui.replay_controls import ReplayController
from tapescope.tui.replay_time import NS_PER_S

#: Venue seconds simulated before the screenshot.
SECONDS = 90.0
#: Simulator seed.
SEED = 7
#: Venue seconds simulated after the App attached its heatmap histories.
HEATMAP_SECONDS = 60.0
#: Venue seconds of the recording replayed.
REPLAY_SECONDS = 120.0


def frozen_app(state: tuple[FeedState, str] | None = None, **app_overrides) -> TapescopeApp:
    """The dashboard on a frozen simulated market; ``state``: (state, reason) of the focused market."""
    # Alert toasts expire on the wall clock: keep them out of the pictures (the log stays).
    overrides = {"app": app_overrides, "alerts": {"notify": False, "bell": False}}
    config = load_config(read_user_file=False, overrides=overrides)
    feed, hub = frozen_market(config, SECONDS, SEED)
    end = feed.start_ns + int(SECONDS * 1e9)
    if state is not None:
        hub.on_event(StatusChange(hub.keys[0], end, end, state[0], state[1]))
    # Event-to-screen latency is measured against this frozen wall clock.
    return make_app(config, feed, hub, start_feed=False, clock=lambda: end + 3_000_000)


async def settle(pilot) -> None:
    await pilot.pause()
    pilot.app.refresh_watchlist()
    pilot.app.refresh_frame()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 50)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(snap_compare, size) -> None:
    assert snap_compare(frozen_app(), terminal_size=size, run_before=settle)


def test_second_symbol_light_theme(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await pilot.press("2")
        pilot.app.theme = "tapescope-light"
        await settle(pilot)

    assert snap_compare(frozen_app(), terminal_size=(120, 40), run_before=run_before)


#: The two sizes every screen is pictured at (issue #6): the smallest supported terminal and a common one.
SIZES = [(80, 24), (120, 40)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]


def no_blink(pilot) -> None:
    """Stop every Input's cursor blink on the top screen (it blinks on the wall clock)."""
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False


def open_screen(*keys: str, typed: str = ""):
    """A ``run_before`` that settles the dashboard, presses ``keys`` and types ``typed``."""
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await pilot.pause()
        no_blink(pilot)
        if typed:
            await pilot.press(*typed)
        await pilot.pause()
        # One more frame so a screen fed by the frame timer shows the settled market.
        pilot.app.refresh_frame()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("state", [FeedState.RESYNCING, FeedState.DISCONNECTED], ids=lambda s: s.name.lower())
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_book_not_in_sync_shows_badge(snap_compare, size, state) -> None:
    reason = "gap: U=1042 > local+1=1038" if state == FeedState.RESYNCING else "socket closed: 1006"
    app = frozen_app(state=(state, reason))
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_help_screen(snap_compare, size) -> None:
    assert snap_compare(frozen_app(), terminal_size=size, run_before=open_screen("question_mark"))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_symbol_picker_filtering(snap_compare, size) -> None:
    app = frozen_app()
    assert snap_compare(app, terminal_size=size, run_before=open_screen("slash", typed="so"))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_risk_calculator(snap_compare, size) -> None:
    # A long with a manual stop 40 below the live entry: the sizing, slippage and
    # take-profit lines are filled from the frozen book.
    run_before = open_screen("r", *["down"] * 5, typed="59956")
    assert snap_compare(frozen_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_health_screen(snap_compare, size) -> None:
    assert snap_compare(frozen_app(), terminal_size=size, run_before=open_screen("f"))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_regime_profile_screen(snap_compare, size) -> None:
    assert snap_compare(frozen_app(), terminal_size=size, run_before=open_screen("v"))


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_heatmap_toggled_on(snap_compare, size) -> None:
    app = frozen_app()

    async def run_before(pilot) -> None:
        # The heatmap history is fed by the market's events once the App has attached
        # it: a further minute of the same seeded market gives it columns to show.
        for event in app.feed.generate(HEATMAP_SECONDS):
            app.hub.on_event(event)
        await open_screen("h")(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# ------------------------------------------------------------------ replay


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated markets recorded in compressed time (receive times are venue times)."""
    path = tmp_path_factory.mktemp("snap") / "sim.db"
    params = SimParams(seed=SEED, symbols=("BTC-SIM", "ETH-SIM"), duration_s=REPLAY_SECONDS)
    res = asyncio.run(record_session([SimFeed(params, realtime=False)], path,
                                     RecordConfig(checkpoint_interval_s=10.0),
                                     out=io.StringIO(), handle_signals=False))
    assert res.exit_code == 0
    return path


def replay_app(recording: Path) -> TapescopeApp:
    """The dashboard replaying ``recording``, paused at its start."""
    config = load_config(read_user_file=False, overrides={"alerts": {"notify": False, "bell": False}})
    feed, hub = build_replay(recording)
    feed.pause()
    replay = ReplayController(feed, hub)
    return make_app(config, feed, hub, replay=replay, clock=lambda: replay.start_ns)


async def seek_and_settle(pilot, seconds: int) -> None:
    """Seek the paused replay ``seconds`` in, wait for the seek, then draw a fresh frame.

    The frame timer runs on the wall clock and may draw while the seek is under
    way, so what the panels carry over from those frames is reset: the ladder's
    anchored grid starts anew at the reached book, and the tape, readouts and
    chart redraw now instead of at their next cadence. The picture is then what
    a user sees who opened the replay at that position.
    """
    app = pilot.app
    await pilot.pause()
    target = app.replay.start_ns + seconds * NS_PER_S
    app.replay.seek_to(target)

    def reached() -> bool:
        # The position is the last message at or before the target.
        return app.feed.seek_pending is None and target - NS_PER_S < app.replay.position_ns <= target

    for _ in range(1000):
        await pilot.pause(0.01)
        if reached():
            break
    assert reached()
    dashboard = app.dashboard
    for panel in (dashboard.tape, dashboard.readouts, dashboard.chart):
        panel.reset_cadence()
    await settle(pilot)  # the ladder now holds the reached book (paused: it stays)
    dashboard.ladder.anchored = False
    dashboard.ladder.anchored = True
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_replay_dashboard_with_progress_bar(snap_compare, recording, size) -> None:
    app = replay_app(recording)

    async def run_before(pilot) -> None:
        await seek_and_settle(pilot, 75)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    app.feed.close()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_replay_go_to_time(snap_compare, recording, size) -> None:
    app = replay_app(recording)

    async def run_before(pilot) -> None:
        await seek_and_settle(pilot, 30)
        await open_screen("g", typed="+90s")(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
    app.feed.close()
