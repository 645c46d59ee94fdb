"""Replay controls through Pilot: pause, speed, seeks, go-to, gating by mode and screen.

The App here is the smallest host of :class:`ReplayActions` (the dashboard
App mixes it in the same way): a :class:`ReplayBar`, the replay feed run as a
worker into an analysis hub, and one non-replay ``+`` binding to show the
keys fall through outside replay mode. Every seek is checked against books
built by reading the recording from the start.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from tapescope.engine.hub import Hub
from tapescope.engine.recorder.config import RecordConfig
from tapescope.feeds.replay import SIM_DECODERS, ReplayFeed
from tapescope.feeds.sim import SimParams
from tapescope.tui.replay import analysis_hub
from tapescope.tui.replay_controls import (
    REPLAY_BINDINGS,
    SPEEDS,
    ReplayActions,
    ReplayController,
    next_speed,
)
from tapescope.tui.replay_time import NS_PER_S
from tapescope.tui.screens.goto import GoToTime
from tapescope.widgets.replay_bar import ReplayBar

PARAMS = SimParams(seed=5, symbols=("BTC-SIM", "ETH-SIM"), duration_s=150.0)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, record_sim) -> Path:
    return record_sim(tmp_path_factory.mktemp("ctl") / "sim.db", PARAMS, RecordConfig(checkpoint_interval_s=10.0))


class ReplayHost(ReplayActions, App[None]):
    BINDINGS = [*REPLAY_BINDINGS,
                Binding("plus", "ladder", "Coarser", id="ladder", tooltip="Non-replay use of +.")]

    def __init__(self, feed: ReplayFeed, hub: Hub) -> None:
        super().__init__()
        self.feed, self.hub = feed, hub
        self.replay = ReplayController(feed, hub, restart=self.run_feed)
        self.ladder_presses = 0

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # The dashboard App's themes define the market colours; this host has none.
        return {"alert": "#d29922"}

    def compose(self) -> ComposeResult:
        yield ReplayBar()

    def on_mount(self) -> None:
        self.run_feed()
        self.set_interval(0.05, self.refresh_replay)

    @work(exclusive=True, group="feed")
    async def run_feed(self) -> None:
        await self.feed.run(self.hub)

    def refresh_replay(self) -> None:
        # The interval can fire while the app tears down and the bar is gone (seen on a
        # slow fresh clone), as the real app's refresh_replay allows for.
        bars = self.query(ReplayBar)
        if self.replay is not None and bars:
            bars.first().view = self.replay.view()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        gate = self.check_replay_action(action)
        return True if gate is None else gate

    def action_ladder(self) -> None:
        self.ladder_presses += 1


def make_app(path: Path) -> ReplayHost:
    feed = ReplayFeed(path, SIM_DECODERS, speed=1.0)
    feed.pause()
    return ReplayHost(feed, analysis_hub(feed.instruments))


async def settle(app: ReplayHost, pilot) -> None:
    """Wait until the feed applied any pending seek and the bar was refreshed."""
    for _ in range(500):
        await pilot.pause(0.01)
        if app.feed.seek_pending is None:
            break
    await pilot.pause(0.1)


async def test_space_pauses_and_resumes(recording: Path) -> None:
    app = make_app(recording)
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        assert app.feed.paused and "PAUSED" in app.query_one(ReplayBar).plain
        await pilot.press("space")
        assert not app.feed.paused
        await pilot.pause(0.3)
        assert "PLAY" in app.query_one(ReplayBar).plain
        assert app.feed.emitted > 0  # it played
        await pilot.press("space")
        assert app.feed.paused
        n = app.feed.emitted
        await pilot.pause(0.3)
        assert app.feed.emitted == n  # and stopped
    app.feed.close()


async def test_plus_minus_walk_the_speed_ladder(recording: Path) -> None:
    app = make_app(recording)
    async with app.run_test() as pilot:
        speeds = []
        for _ in range(len(SPEEDS)):
            await pilot.press("plus")
            speeds.append(app.feed.speed)
        assert speeds == [2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 0.0, 0.0, 0.0, 0.0]
        await pilot.pause(0.1)
        assert " MAX " in app.query_one(ReplayBar).plain
        for _ in range(len(SPEEDS) + 1):
            await pilot.press("minus")
        assert app.feed.speed == 0.25
        assert app.ladder_presses == 0  # in replay mode + is the speed key
    app.feed.close()


async def test_arrow_seeks_land_on_the_books_read_from_the_start(recording: Path, oracle_books, hub_books) -> None:
    app = make_app(recording)
    start = app.replay.start_ns
    async with app.run_test() as pilot:
        await pilot.pause(0.1)
        expected = start
        for key, step in (("right", 10), ("right", 10), ("right", 10), ("left", -10),
                          ("shift+right", 60), ("shift+left", -60), ("shift+right", 60)):
            await pilot.press(key)
            expected += step * NS_PER_S
            await settle(app, pilot)
            assert app.feed.position_ns == expected, key
            assert app.feed.paused  # seeking does not start playback
            assert hub_books(app.hub) == oracle_books(recording, expected), f"after {key}"
        assert "1:20 / 2:" in app.query_one(ReplayBar).plain
        # Left before the start clamps to it.
        await pilot.press("shift+left", "shift+left")
        await settle(app, pilot)
        assert app.feed.position_ns == start
    app.feed.close()


async def test_seek_resets_the_engine_and_playback_continues_from_there(recording: Path) -> None:
    app = make_app(recording)
    async with app.run_test() as pilot:
        await pilot.press("shift+right")
        await settle(app, pilot)
        market = app.hub.markets["sim:BTC-SIM"]
        assert market.analysis is not None  # fresh markets keep their detectors
        n = market.messages
        await pilot.press("space")
        await pilot.pause(0.5)
        assert app.hub.markets["sim:BTC-SIM"] is market and market.messages > n
    app.feed.close()


async def test_go_to_a_typed_time(recording: Path, oracle_books, hub_books) -> None:
    app = make_app(recording)
    start = app.replay.start_ns
    async with app.run_test() as pilot:
        await pilot.press("g")
        assert isinstance(app.screen, GoToTime)
        # Under the modal, space and arrows edit the input: they are not replay keys.
        await pilot.press("space", "left")
        assert app.feed.paused and app.feed.seek_pending is None
        app.screen.query_one(Input).value = ""
        await pilot.press(*"nonsense", "enter")
        assert isinstance(app.screen, GoToTime)
        assert "not a time" in str(app.screen.query_one("#goto-error").render())
        app.screen.query_one(Input).value = ""
        await pilot.press(*"+45s", "enter")
        assert not isinstance(app.screen, GoToTime)
        await settle(app, pilot)
        assert app.feed.position_ns == start + 45 * NS_PER_S
        assert hub_books(app.hub) == oracle_books(recording, start + 45 * NS_PER_S)
        # Escape closes without seeking.
        await pilot.press("g", "escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, GoToTime) and app.feed.position_ns == start + 45 * NS_PER_S
    app.feed.close()


async def test_seek_after_the_end_restarts_the_feed(recording: Path, oracle_books, hub_books) -> None:
    app = make_app(recording)
    end = app.replay.end_ns
    async with app.run_test() as pilot:
        app.feed.set_speed(0)
        await pilot.press("space")
        for _ in range(1000):
            await pilot.pause(0.02)
            if app.feed.finished:
                break
        assert app.feed.finished
        await pilot.pause(0.1)
        assert "END" in app.query_one(ReplayBar).plain
        await pilot.press("space", "left")  # pause, then 10 s back
        await settle(app, pilot)
        assert not app.feed.finished and app.feed.position_ns == end - 10 * NS_PER_S
        assert hub_books(app.hub) == oracle_books(recording, end - 10 * NS_PER_S)
    app.feed.close()


async def test_replay_keys_do_not_exist_outside_replay_mode(recording: Path) -> None:
    app = make_app(recording)
    async with app.run_test() as pilot:
        app.replay = None
        app.refresh_bindings()
        await pilot.press("space", "right", "plus")
        assert app.feed.paused and app.feed.speed == 1.0 and app.feed.seek_pending is None
        assert app.ladder_presses == 1  # + fell through to the non-replay binding
        assert app.check_action("replay_toggle_pause", ()) is False
        assert not [c for c in app.replay_commands()]
    app.feed.close()


def test_next_speed_ends_and_between_values() -> None:
    assert [next_speed(s, 1) for s in SPEEDS] == [*SPEEDS[1:], 0.0]
    assert [next_speed(s, -1) for s in SPEEDS] == [0.25, *SPEEDS[:-1]]
