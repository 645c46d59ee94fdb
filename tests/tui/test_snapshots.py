"""SVG snapshots of the dashboard on a frozen simulated market (pytest-textual-snapshot).

The market is the seeded simulator generated in compressed mode for a fixed
number of venue seconds from its fixed start time, pushed through the real
engine hub; the paced feed is not started, and the wall clock the App reads
(latency, rates) is frozen. Regenerate baselines with ``--snapshot-update``.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tapescope.engine.events import FeedState, StatusChange
from tapescope.tui.app import TapescopeApp, make_app
from tapescope.tui.config import load_config
from tapescope.tui.perf import frozen_market

#: Venue seconds simulated before the screenshot.
SECONDS = 90.0
#: Simulator seed.
SEED = 7


def frozen_app(resync: str | None = None, **app_overrides) -> TapescopeApp:
    """The dashboard on a frozen simulated market; optionally mark one market RESYNCING."""
    config = load_config(read_user_file=False, overrides={"app": app_overrides} if app_overrides else None)
    feed, hub = frozen_market(config, SECONDS, SEED)
    end = feed.start_ns + int(SECONDS * 1e9)
    if resync is not None:
        hub.on_event(StatusChange(resync, end, end, FeedState.RESYNCING, "gap: U=1042 > local+1=1038"))
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


def test_resyncing_book_shows_badge(snap_compare) -> None:
    app = frozen_app(resync="sim:BTC-SIM")
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_help_screen(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(100, 30), run_before=run_before)


def test_symbol_picker_filtering(snap_compare) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("slash")
        pilot.app.screen.query_one(Input).cursor_blink = False
        await pilot.press("s", "o")
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=run_before)
