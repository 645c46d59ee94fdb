"""The dashboard App in replay mode: replay bar, keys, seeks on real books, keys absent when live."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapescope.engine.recorder.config import RecordConfig
from tapescope.feeds.sim import SimParams
from tapescope.tui.app import make_app
from tapescope.tui.config import Config
from tapescope.tui.replay_cli import build_replay
from tapescope.tui.replay_controls import ReplayController
from tapescope.tui.replay_time import NS_PER_S
from tapescope.widgets.replay_bar import ReplayBar


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory, record_sim) -> Path:
    params = SimParams(seed=8, symbols=("BTC-SIM", "ETH-SIM"), duration_s=120.0)
    return record_sim(tmp_path_factory.mktemp("app") / "sim.db", params, RecordConfig(checkpoint_interval_s=10.0))


async def settle(feed, pilot) -> None:
    for _ in range(500):
        await pilot.pause(0.01)
        if feed.seek_pending is None:
            break
    await pilot.pause(0.2)


async def test_replay_mode_keys_in_the_dashboard(config: Config, recording: Path, oracle_books,
                                                  hub_books) -> None:
    feed, hub = build_replay(recording)
    feed.pause()
    app = make_app(config, feed, hub, replay=ReplayController(feed, hub))
    start = app.replay.start_ns
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        bar = app.dashboard.query_one(ReplayBar)
        assert "PAUSED" in bar.plain
        await pilot.press("plus", "plus")
        assert feed.speed == 5.0
        await pilot.press("minus")
        assert feed.speed == 2.0
        await pilot.press("right", "shift+right", "left")
        await settle(feed, pilot)
        assert feed.position_ns == start + 60 * NS_PER_S
        assert hub_books(hub) == oracle_books(recording, start + 60 * NS_PER_S)
        assert "1:00 / 1:5" in bar.plain
        await pilot.press("g")
        await pilot.press(*"+30s", "enter")
        await settle(feed, pilot)
        assert feed.position_ns == start + 30 * NS_PER_S
        assert hub_books(hub) == oracle_books(recording, start + 30 * NS_PER_S)
        await pilot.press("space")
        await pilot.pause(0.5)
        assert not feed.paused and feed.position_ns > start + 30 * NS_PER_S
        assert "PLAY" in bar.plain
        assert any(c.title.startswith("Replay:") for c in app.get_system_commands(app.screen))
    feed.close()


async def test_live_mode_has_no_replay_keys(config: Config, hub) -> None:
    app = make_app(config, None, hub, clock=lambda: 0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        assert not app.dashboard.query(ReplayBar)
        assert app.check_action("replay_toggle_pause", ()) is False
        step = app.ladder_step_ticks
        await pilot.press("plus")
        assert app.ladder_step_ticks > step  # + is the ladder key outside replay
        assert not any(c.title.startswith("Replay:") for c in app.get_system_commands(app.screen))
