"""The real App on the demo market: `p` (VP/TPO profile column) and `x` (tape size filter)."""

from __future__ import annotations

import math

from tapescope.tui.app import make_app
from tapescope.tui.config import load_config
from tapescope.tui.wiring import build_demo

FROZEN_NS = 1_700_000_000_000_000_000


def tpo_count_between(tpo, lo: float, hi: float) -> int:
    """TPO letters of the bins whose price lies in ``[lo, hi)``, counted from the letters alone."""
    stats = tpo.stats
    total = 0
    for i, letters in enumerate(tpo.letters):
        price = stats.first_price + i * stats.step
        if lo - 1e-9 <= price < hi - 1e-9:
            total += len(letters)
    return total


def demo_app(seconds: float = 40.0):
    config = load_config(read_user_file=False)
    feed, hub = build_demo(config, realtime=False)
    for event in feed.generate(seconds):
        hub.on_event(event)
    return make_app(config, feed, hub, start_feed=False, clock=lambda: FROZEN_NS), hub


async def test_p_switches_the_profile_column_to_tpo_and_back() -> None:
    app, hub = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        dash = app.dashboard
        column = dash.profile_column
        assert column.display and column.border_title == "VP"
        key = app.focused_key
        levels = hub.snapshot(key).analysis.levels
        assert column._args[0] is levels.profile.session

        await pilot.press("p")
        await pilot.pause()
        assert dash.profile_kind == "tpo" and column.border_title == "TPO"
        tpo = hub.snapshot(key).analysis.levels.tpo
        assert column._args[0] is tpo.stats
        step = column._args[3]
        drawn = [row for row in column._rows if row is not None]
        assert drawn, "the ladder shows priced rows beside which the column draws"
        # Each row's weight is the number of TPO letters traded in its price range,
        # counted independently from the snapshot's letters.
        for row in drawn:
            assert math.isclose(row.volume, tpo_count_between(tpo, row.price, row.price + step),
                                abs_tol=1e-9)
        assert any(row.volume > 0 for row in drawn)

        await pilot.press("p")
        await pilot.pause()
        assert dash.profile_kind == "volume" and column.border_title == "VP"
        assert column._args[0] is hub.snapshot(key).analysis.levels.profile.session


async def test_x_cycles_the_tape_size_filter() -> None:
    app, hub = demo_app(60.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tape = app.dashboard.tape
        filters = app.config.app.tape_filters
        assert filters[0] == 0.0 and tape.border_title == "Tape" and tape.rows
        await pilot.press("x")
        await pilot.pause()
        await pilot.pause()
        assert tape.min_notional == filters[1] == 10_000.0
        assert tape.border_title == "Tape ≥10.0k"
        # Every line shown is at least 10k notional; recomputed from the shown price and size.
        for row in tape.rows:
            price = float(row.price.replace(",", ""))
            assert price * float(row.size.rstrip("k")) * (1000 if row.size.endswith("k") else 1) \
                >= 10_000.0 * 0.99  # sizes are shown to 3 significant digits
        big_enough = [t for t in hub.snapshot(app.focused_key).trades if t.price * t.qty >= 10_000.0]
        assert big_enough and tape.rows, "the demo prints some trades of 10k notional or more"
        for _ in filters[1:]:
            await pilot.press("x")
        await pilot.pause()
        assert tape.min_notional == 0.0 and tape.border_title == "Tape"
