"""Throttle: leading edge at once, changes inside the interval coalesced into one trailing run."""

from __future__ import annotations

from textual.widget import Widget

from tapescope.engine.snapshot import TradePrint
from tapescope.widgets.tape import Tape
from tapescope.widgets.throttle import Throttle

T0 = 1_700_000_000_000_000_000


async def test_leading_run_then_one_trailing_run_with_the_latest_data(host) -> None:
    widget = Widget()
    app = host(widget)
    async with app.run_test(size=(20, 5)) as pilot:
        data = {"v": 0}
        seen: list[int] = []
        throttle = Throttle(widget, lambda: seen.append(data["v"]), interval=0.2)
        for v in (1, 2, 3):
            data["v"] = v
            throttle()
        assert seen == [1] and throttle.pending  # first at once, the rest waits
        await pilot.pause(0.4)
        assert seen == [1, 3] and not throttle.pending  # one run, with the newest value
        throttle.reset()
        data["v"] = 4
        throttle()
        assert seen == [1, 3, 4]  # reset: the next call runs at once


async def test_zero_interval_runs_every_call_and_flush_runs_pending(host) -> None:
    widget = Widget()
    app = host(widget)
    async with app.run_test(size=(20, 5)):
        seen: list[int] = []
        throttle = Throttle(widget, lambda: seen.append(1))
        throttle()
        throttle()
        assert seen == [1, 1]
        throttle.interval = 10.0
        throttle()
        assert len(seen) == 2 and throttle.pending
        throttle.flush()
        assert len(seen) == 3 and not throttle.pending


async def test_tape_batches_prints_arriving_inside_its_interval(host) -> None:
    tape = Tape()
    tape.redraw_interval = 0.3
    app = host(tape)
    async with app.run_test(size=(40, 6)) as pilot:
        tape.price_decimals = 1
        first = (TradePrint(T0, 100.0, 0.5, -1),)
        tape.trades = first
        await pilot.pause()
        assert [r.price for r in tape.rows] == ["100.0"]  # empty tape: drawn at once
        second = first + (TradePrint(T0 + 10**8, 100.1, 1.0, 1),)
        tape.trades = second
        tape.trades = second + (TradePrint(T0 + 2 * 10**8, 100.2, 2.0, 1),)
        assert [r.price for r in tape.rows] == ["100.0"]  # batched until the interval ends
        await pilot.pause(0.5)
        assert [r.price for r in tape.rows] == ["100.2", "100.1", "100.0"]
