"""Market: sync states, crossed books, snapshot caching, ladder, tape, series, analyzers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tapescope.engine.events import (
    BookDelta,
    BookSnapshot,
    FeedState,
    OpenInterest,
    StatusChange,
    Trade,
)
from tapescope.engine.flow import FlowParams
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import Market
from tapescope.engine.snapshot import TradePrint

NS = 1_000_000_000
T = 1_700_000_040
MIDNIGHT = 19_700 * 86_400
INST = Instrument("sim", "X", tick_size=0.5)
KEY = INST.key


def snapshot_ev(sec, bids, asks, seq=0) -> BookSnapshot:
    return BookSnapshot(KEY, int(sec * NS), int(sec * NS) + 5, bids, asks, seq)


def delta_ev(sec, bids=(), asks=(), seq=0) -> BookDelta:
    return BookDelta(KEY, int(sec * NS), int(sec * NS) + 5, list(bids), list(asks), seq)


def trade_ev(sec, price, qty, side) -> Trade:
    return Trade(KEY, int(sec * NS), int(sec * NS) + 5, price, qty, side, "1")


def status_ev(sec, state, reason="") -> StatusChange:
    return StatusChange(KEY, int(sec * NS), int(sec * NS), state, reason)


def feed(m: Market, *events) -> None:
    for ev in events:
        m.on_event(ev)
        m._check()


BIDS = [(100.0, 1.0), (99.5, 2.0)]
ASKS = [(100.5, 1.0), (101.0, 2.0)]


def test_statusless_feed_goes_live_on_first_snapshot() -> None:
    m = Market(INST)
    assert m.state is FeedState.CONNECTING and not m.valid
    feed(m, delta_ev(T, [(100.0, 1.0)]))  # a stray delta does not make it live
    assert m.state is FeedState.CONNECTING
    feed(m, snapshot_ev(T, BIDS, ASKS))
    assert m.state is FeedState.LIVE and m.valid and m.snapshot().state is FeedState.LIVE


def test_status_change_always_wins() -> None:
    m = Market(INST)
    feed(m, status_ev(T, FeedState.SYNCING, "waiting for snapshot"))
    feed(m, snapshot_ev(T, BIDS, ASKS))
    # The feed spoke, so its snapshot alone does not make the market live.
    assert (m.state, m.reason) == (FeedState.SYNCING, "waiting for snapshot")
    feed(m, status_ev(T, FeedState.LIVE))
    assert m.state is FeedState.LIVE
    feed(m, status_ev(T, FeedState.RESYNCING, "gap: U=12 > local+1=10"))
    s = m.snapshot()
    assert (s.state, s.state_reason) == (FeedState.RESYNCING, "gap: U=12 > local+1=10")
    feed(m, snapshot_ev(T + 1, BIDS, ASKS))
    assert m.state is FeedState.RESYNCING
    feed(m, status_ev(T + 1, FeedState.LIVE))
    assert m.state is FeedState.LIVE


def test_crossed_book_marks_resyncing_and_calls_back_once() -> None:
    calls = []
    m = Market(INST, on_invalid=lambda key, reason: calls.append((key, reason)))
    feed(m, snapshot_ev(T, BIDS, ASKS), delta_ev(T, [(100.0, 3.0)]))
    ofi_before = m.snapshot().flow.ofi
    assert dict(ofi_before)[10] == 2.0  # 3 - 1 at the same bid price
    feed(m, delta_ev(T, [(100.5, 1.0)]))  # bid 100.5 >= ask 100.5: crossed
    s = m.snapshot()
    assert (s.state, s.state_reason) == (FeedState.RESYNCING, "crossed book")
    assert calls == [(KEY, "crossed book")] and m.crossed == 1 and not m.valid
    # More deltas while invalid: applied to the book, but no new callback and
    # no OFI from a book that is not the venue's.
    feed(m, delta_ev(T, [(100.5, 0.0), (100.0, 9.0)]))
    assert calls == [(KEY, "crossed book")] and m.crossed == 1
    assert m.state is FeedState.RESYNCING and m.snapshot().flow.ofi == ofi_before
    # A fresh snapshot repairs it (the feed ignored the request and sent no status).
    feed(m, snapshot_ev(T + 1, BIDS, ASKS))
    assert m.state is FeedState.LIVE and m.valid and m.reason == ""
    feed(m, delta_ev(T + 1, [(100.0, 2.0)]))
    assert dict(m.snapshot().flow.ofi)[10] == 3.0  # 2 + (2 - 1)


def test_crossed_book_with_a_status_feed_waits_for_live() -> None:
    calls = []
    m = Market(INST, on_invalid=lambda key, reason: calls.append(key))
    feed(m, status_ev(T, FeedState.LIVE), snapshot_ev(T, BIDS, ASKS))
    feed(m, delta_ev(T, [], [(99.0, 1.0)]))
    assert m.state is FeedState.RESYNCING and calls == [KEY]
    # A feed that says LIVE without sending a snapshot cannot unhide a crossed book.
    feed(m, status_ev(T, FeedState.LIVE))
    assert (m.state, m.reason) == (FeedState.RESYNCING, "crossed book") and not m.valid
    feed(m, status_ev(T, FeedState.RESYNCING, "engine request"))
    feed(m, snapshot_ev(T + 1, BIDS, ASKS))
    assert m.state is FeedState.RESYNCING  # the feed has not said LIVE yet
    feed(m, status_ev(T + 1, FeedState.LIVE))
    assert m.valid


def test_crossed_snapshot_counts_each_time() -> None:
    calls = []
    m = Market(INST, on_invalid=lambda key, reason: calls.append(reason))
    m.on_event(snapshot_ev(T, [(101.0, 1.0)], ASKS))
    m.on_event(snapshot_ev(T, [(101.0, 1.0)], ASKS))
    assert m.crossed == 2 and calls == ["crossed book", "crossed book"]
    assert m.state is FeedState.RESYNCING
    feed(m, snapshot_ev(T, BIDS, ASKS))
    assert m.state is FeedState.LIVE


def test_snapshot_is_cached_until_next_event_or_new_arguments() -> None:
    m = Market(INST)
    feed(m, snapshot_ev(T, BIDS, ASKS))
    a = m.snapshot()
    assert m.snapshot() is a and m.snapshot(1, 40) is a
    b = m.snapshot(2, 10)
    assert b is not a and b.ladder.step == 1.0 and m.snapshot(2, 10) is b
    feed(m, trade_ev(T, 100.5, 1.0, 1))
    c = m.snapshot(2, 10)
    assert c is not b and c.version == b.version + 1 == 2
    assert c.messages == 2 and c.ts == T * NS and c.recv_ts == T * NS + 5
    # A trade leaves the book alone: the new snapshot reuses the ladder object.
    assert c.ladder is b.ladder
    feed(m, delta_ev(T, [(100.0, 5.0)]))
    d = m.snapshot(2, 10)
    assert d.ladder is not c.ladder and d.ladder.bids[:2] == ((100.0, 5.0), (99.0, 2.0))  # 99.5 bins down to 99
    with pytest.raises(ValueError):
        m.snapshot(0, 10)


def test_ladder_aggregates_by_step_in_ticks() -> None:
    m = Market(INST)  # tick 0.5
    feed(m, snapshot_ev(T, [(100.5, 1.0), (100.0, 2.0), (99.5, 4.0)], [(101.0, 1.0), (101.5, 2.0), (102.5, 3.0)]))
    lad = m.snapshot(ladder_step_ticks=2, ladder_rows=3).ladder  # step 1.0
    # Bids bin down: row 100 = 100.5 + 100.0 = 3, row 99 = 99.5 -> 4, row 98 empty.
    assert lad.bids == ((100.0, 3.0), (99.0, 4.0), (98.0, 0.0))
    # Asks bin up: row 101 = 101.0 -> 1, row 102 = 101.5 -> 2, row 103 = 102.5 -> 3.
    assert lad.asks == ((101.0, 1.0), (102.0, 2.0), (103.0, 3.0))
    one = m.snapshot(ladder_step_ticks=1, ladder_rows=2).ladder
    assert one.step == 0.5 and one.bids == ((100.5, 1.0), (100.0, 2.0)) and one.asks == ((101.0, 1.0), (101.5, 2.0))


TRADES_KEPT = FlowParams().tape_trades


def test_tape_last_price_and_session_open() -> None:
    m = Market(INST)
    for i in range(TRADES_KEPT + 5):
        m.on_event(trade_ev(MIDNIGHT - 300 + i * 0.5, 100.0 + i, 1.0, 1 if i % 2 else -1))
    s = m.snapshot()
    assert len(s.trades) == TRADES_KEPT
    assert s.trades[-1] == TradePrint(int((MIDNIGHT - 300 + (TRADES_KEPT + 4) * 0.5) * NS), 100.0 + TRADES_KEPT + 4, 1.0, -1)
    assert s.trades[0].price == 105.0  # the first five fell off
    assert s.session_open == 100.0 and s.last_price == 100.0 + TRADES_KEPT + 4
    m.on_event(OpenInterest(KEY, (MIDNIGHT + 1) * NS, 0, 5.0))
    s = m.snapshot()
    # Past midnight without a trade: no open price yet, so no change figure.
    assert math.isnan(s.session_open) and math.isnan(s.change) and s.flow.cvd == 0.0
    m.on_event(trade_ev(MIDNIGHT + 1, 90.0, 1.0, 1))
    s = m.snapshot()
    assert s.session_open == 90.0 and s.flow.cvd == 1.0 and s.change == 0.0


def test_per_second_series_with_gap_fill() -> None:
    m = Market(INST)
    feed(
        m,
        snapshot_ev(T, BIDS, ASKS),  # mid 100.25
        trade_ev(T + 0.1, 100.5, 1.0, 1),
        trade_ev(T + 0.2, 100.0, 0.5, -1),  # second T: delta 0.5, cvd 0.5
        delta_ev(T + 1, [(100.0, 0.0)]),  # mid (99.5 + 100.5) / 2 = 100.0 at the end of T+1
        trade_ev(T + 1.5, 100.5, 2.0, 1),  # second T+1: delta 2, cvd 2.5
        trade_ev(T + 4, 100.5, 1.0, -1),  # closes T+1, fills T+2 and T+3
    )
    ser = m.snapshot().series
    assert ser.t.tolist() == [T, T + 1, T + 2, T + 3]
    assert ser.mid.tolist() == [100.25, 100.0, 100.0, 100.0]
    assert ser.cvd.tolist() == [0.5, 2.5, 2.5, 2.5]
    assert ser.delta.tolist() == [0.5, 2.0, 0.0, 0.0]
    assert not ser.cvd.flags.writeable
    # The series object is reused until another second closes.
    feed(m, trade_ev(T + 4.5, 100.5, 1.0, -1))
    assert m.snapshot().series is ser
    feed(m, trade_ev(T + 5, 100.5, 1.0, -1))
    assert m.snapshot().series.delta.tolist()[-1] == -2.0


def test_series_is_bounded_by_its_capacity() -> None:
    m = Market(INST)
    feed(m, snapshot_ev(T, BIDS, ASKS), trade_ev(T + 10_000, 100.5, 1.0, 1))
    ser = m.snapshot().series
    assert len(ser.t) == 3600 and ser.t[-1] == T + 9_999 and ser.t[0] == T + 6_400
    small = Market(INST, FlowParams(tape_trades=3, series_seconds=5))
    for i in range(10):
        small.on_event(trade_ev(T + i, 100.0, 1.0, 1))
    s = small.snapshot()
    assert len(s.trades) == 3 and s.series.t.tolist() == [T + 4, T + 5, T + 6, T + 7, T + 8]
    assert np.all(np.diff(ser.t) == 1)


def test_open_interest_and_status_do_not_move_time() -> None:
    m = Market(INST)
    feed(m, OpenInterest(KEY, T * NS, T * NS, 1234.5))
    assert m.snapshot().open_interest == 1234.5
    feed(m, status_ev(T + 50, FeedState.STALE, "no message for 30 s"))
    assert m.flow.sec == T and m.snapshot().state is FeedState.STALE


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_book(self, ts, market):
        self.calls.append(("book", ts // NS, market.book.best_bid(), type(market.last_book_event).__name__))

    def on_trade(self, trade, market):
        self.calls.append(("trade", trade.ts // NS, market.flow.cvd))

    def on_second(self, ts_s, market):
        self.calls.append(("second", ts_s, market.flow.cvd))


def test_analyzers_see_each_event_after_the_market() -> None:
    m = Market(INST)
    rec = Recorder()
    m.analyzers.append(rec)
    feed(
        m,
        snapshot_ev(T, BIDS, ASKS),
        trade_ev(T, 100.5, 1.0, 1),
        delta_ev(T + 3, [(100.0, 5.0)]),
        delta_ev(T + 3, [], [(99.0, 1.0)]),  # crossed: no on_book
        trade_ev(T + 3, 100.0, 2.0, -1),
    )
    assert rec.calls == [
        ("second", T, 0.0),
        ("book", T, (100.0, 1.0), "BookSnapshot"),
        ("trade", T, 1.0),
        ("second", T + 3, 1.0),  # once per crossing, before the event applies
        ("book", T + 3, (100.0, 5.0), "BookDelta"),
        ("trade", T + 3, -1.0),
    ]


def test_rejects_non_events() -> None:
    with pytest.raises(TypeError):
        Market(INST).on_event(("sim:X", 1))


def test_random_stress_keeps_invariants() -> None:
    rng = random.Random(21)
    crossed = []
    m = Market(INST, FlowParams(ofi_levels=3), on_invalid=lambda k, r: crossed.append(k))
    sec = float(T)
    feed(m, snapshot_ev(sec, BIDS, ASKS))

    def act_delta():
        mid = m.book.mid() or 100.0
        bids = [(round(mid - rng.randint(1, 20) * 0.5, 1), rng.choice((0.0, 1.0, 3.0))) for _ in range(3)]
        asks = [(round(mid + rng.randint(1, 20) * 0.5, 1), rng.choice((0.0, 1.0, 3.0))) for _ in range(3)]
        return delta_ev(sec, bids, asks)

    def act_trade():
        return trade_ev(sec, 100.0, rng.uniform(0.1, 2), rng.choice((1, -1)))

    def act_cross():
        return delta_ev(sec, [(200.0, 1.0)])

    def act_snapshot():
        return snapshot_ev(sec, BIDS, ASKS)

    actions = [act_delta] * 10 + [act_trade] * 6 + [act_cross, act_snapshot]
    for _ in range(3000):
        sec += rng.choice((0.0, 0.0, 0.3, 1.0, 7.0))
        ev = rng.choice(actions)()
        m.on_event(ev)
        m._check()
        s = m.snapshot()
        assert s.version == m.messages
        if s.state is FeedState.LIVE:
            assert not m.book.is_crossed()
        if not math.isnan(s.flow.tbsr):
            assert 0.0 <= s.flow.tbsr <= 1.0
    assert m.crossed == len(crossed) > 0


class Levels:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def begin_update(self, ts, book):
        self.calls.append(("begin", ts // NS, book.best_bid()))

    def on_level(self, side, price, old, new):
        self.calls.append((side, price, old, new))

    def end_update(self, ts):
        self.calls.append(("end", ts // NS))


def test_level_observer_sees_old_and_new_sizes() -> None:
    m = Market(INST)
    obs = Levels()
    m.level_observer = obs
    feed(m, snapshot_ev(T, BIDS, ASKS))
    assert obs.calls == []  # a snapshot replaces the book: no level events
    feed(m, delta_ev(T, [(100.0, 0.0), (99.0, 4.0)], [(100.5, 3.0)]))
    assert obs.calls == [
        ("begin", T, (100.0, 1.0)),  # the touch before the update
        (1, 100.0, 1.0, 0.0),
        (1, 99.0, 0.0, 4.0),
        (-1, 100.5, 1.0, 3.0),
        ("end", T),
    ]
    obs.calls.clear()
    feed(m, delta_ev(T, [(101.0, 1.0)]))  # crosses: observed (the book was valid before)
    feed(m, delta_ev(T, [(101.0, 0.0)]))  # invalid book: not observed
    assert [c for c in obs.calls if c[0] in (1, -1)] == [(1, 101.0, 0.0, 1.0)]
