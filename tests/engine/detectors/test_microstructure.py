"""Microstructure detectors on small crafted sequences with hand-worked expectations."""

from __future__ import annotations

import math

import pytest

from tapescope.engine.book import Book
from tapescope.engine.detectors.attribution import FillCancel
from tapescope.engine.detectors.base import DetectorKind, DetectorParams
from tapescope.engine.detectors.levels import IcebergDetector, SpoofDetector, WallDetector
from tapescope.engine.detectors.micro import Microstructure
from tapescope.engine.detectors.pressure import (
    AbsorptionDetector,
    SpreadWideningDetector,
    VacuumDetector,
)

S = 1_000_000_000
# The definitions of detectors.md as such: the real-book rules (touch-relative wall size,
# per-side wall cap, spoof minimum distance) are off here and tested in test_real_book_rules.py.
P = DetectorParams(wall_touch_k=0.0, wall_max_per_side=0, spoof_min_touch_bps=0.0)


def book(bids, asks) -> Book:
    b = Book()
    b.apply_snapshot(bids, asks)
    return b


# ---------------------------------------------------------------- fill/cancel


def test_fill_cancel_uses_each_print_once_and_expires_after_latency() -> None:
    fc = FillCancel(latency_ns=100)
    fc.on_trade(1_000, 50.0, 3.0)
    assert fc.on_level(1_000, 50.0, 10.0, 8.0) == (2.0, 0.0)  # 2 of the 3 printed
    assert fc.on_level(1_000, 50.0, 8.0, 6.0) == (1.0, 1.0)  # 1 left to explain, 1 cancelled
    assert fc.on_level(1_000, 51.0, 4.0, 9.0) == (0.0, 0.0)  # growth is neither
    fc.on_trade(1_050, 49.0, 5.0)
    fc.end_update(1_200)  # cutoff 1_100: the 49.0 print (ts 1_050) expires
    assert fc.on_level(1_200, 49.0, 5.0, 0.0) == (0.0, 5.0)
    assert (fc.fills, fc.cancels) == (3.0, 6.0)


# ---------------------------------------------------------------------- walls


def test_wall_reported_after_resting_then_pulled_by_cancels() -> None:
    # mid = 100; bids within 1%: sizes 1,1,1,1,10 -> median 1, threshold 5: 10 @ 99.5 qualifies.
    b = book(
        [(99.9, 1.0), (99.8, 1.0), (99.7, 1.0), (99.6, 1.0), (99.5, 10.0)],
        [(100.1, 1.0), (100.2, 1.0), (100.3, 1.0)],
    )
    w = WallDetector(P)
    assert w.on_second(0, b) == []
    assert w.threshold(1) == 5.0
    assert w.on_second(4 * S, b) == []  # rested 4 s < 5 s
    (ev,) = w.on_second(5 * S, b)
    assert (ev.kind, ev.side, ev.price, ev.size) == (DetectorKind.WALL, 1, 99.5, 10.0)
    assert ev.score == pytest.approx(10 / 10)  # size / (2 * threshold)
    # It is cancelled away: 8 cancelled, 2 filled, then gone.
    w.on_level(1, 99.5, 2.0, 8.0)
    b.apply_delta([(99.5, 0.0)], [])
    (pulled,) = w.on_second(6 * S, b)
    assert (pulled.kind, pulled.price, pulled.size) == (DetectorKind.WALL_PULLED, 99.5, 10.0)
    assert pulled.score == pytest.approx(0.8)


def test_wall_that_is_filled_is_not_called_pulled() -> None:
    b = book(
        [(99.9, 1.0), (99.8, 1.0), (99.7, 1.0), (99.5, 10.0)],
        [(100.1, 1.0), (100.2, 1.0), (100.3, 1.0)],
    )
    w = WallDetector(P)
    w.on_second(0, b)
    assert len(w.on_second(5 * S, b)) == 1
    w.on_level(1, 99.5, 9.0, 1.0)
    b.apply_delta([(99.5, 0.0)], [])
    assert w.on_second(6 * S, b) == []


# ---------------------------------------------------------------------- spoofs


def test_spoof_placed_near_touch_and_pulled_as_price_approaches() -> None:
    s = SpoofDetector(P)
    # threshold 5; touch bid 100.00, ask 100.02; bid of 20 placed at 99.95 = 5 bps below the touch.
    assert s.on_level(0, 1, 99.95, 0.0, 20.0, 0.0, 0.0, 5.0, 100.0, 100.02) is None
    # 3 s later the bid is 99.97 (2 bps from the order: it covered 60 % > 50 % of the way),
    # mid 99.98 (distance 0.03 < 0.06), and the order is cancelled in one pull.
    ev = s.on_level(3 * S, 1, 99.95, 20.0, 0.0, 0.0, 20.0, 5.0, 99.97, 99.99)
    assert ev is not None and ev.kind is DetectorKind.SPOOF and ev.size == 20.0
    # score = 0.5*min(1, 20/10) + 0.3*(1 - 5/10) + 0.2*(1/3)
    assert ev.score == pytest.approx(0.5 + 0.15 + 0.2 / 3)


@pytest.mark.parametrize(
    ("filled", "cancelled", "bid", "ask", "when"),
    [
        (20.0, 0.0, 99.98, 100.0, 3),  # it was filled, not pulled
        (0.0, 20.0, 100.02, 100.04, 3),  # price moved away from it
        (0.0, 20.0, 99.98, 100.0, 11),  # lived longer than 10 s
    ],
)
def test_not_a_spoof(filled: float, cancelled: float, bid: float, ask: float, when: int) -> None:
    s = SpoofDetector(P)
    s.on_level(0, 1, 99.95, 0.0, 20.0, 0.0, 0.0, 5.0, 100.0, 100.02)
    assert s.on_level(when * S, 1, 99.95, 20.0, 0.0, filled, cancelled, 5.0, bid, ask) is None


def test_small_or_far_orders_are_not_candidates() -> None:
    s = SpoofDetector(P)
    s.on_level(0, -1, 100.05, 0.0, 4.0, 0.0, 0.0, 5.0, 100.0, 100.02)  # below threshold
    s.on_level(0, -1, 100.5, 0.0, 50.0, 0.0, 0.0, 5.0, 100.0, 100.02)  # ~48 bps away
    assert s.on_level(S, -1, 100.05, 4.0, 0.0, 0.0, 4.0, 5.0, 100.03, 100.04) is None
    assert s.on_level(S, -1, 100.5, 50.0, 0.0, 0.0, 50.0, 5.0, 100.3, 100.4) is None


# -------------------------------------------------------------------- icebergs


def test_iceberg_after_three_refills_with_hidden_size() -> None:
    # A venue that publishes the emptied level before the reload: allow 1 ms for the refill.
    d = IcebergDetector(DetectorParams(iceberg_refill_ms=1.0))
    events = []
    # Ask at 100 shows 2; three times it is traded out (fills) and refills to 2.
    for i in range(3):
        events.append(d.on_level(i * S, -1, 100.0, 2.0, 0.0, 2.0))  # filled 2
        events.append(d.on_level(i * S + 1, -1, 100.0, 0.0, 2.0, 0.0))  # refill
    found = [e for e in events if e is not None]
    assert len(found) == 1
    ev = found[0]
    # traded 6 vs clips of 2 -> hidden 4; score = min(1, 6 / (3*2)) = 1
    assert (ev.kind, ev.side, ev.price, ev.size, ev.score) == (
        DetectorKind.ICEBERG,
        -1,
        100.0,
        4.0,
        1.0,
    )
    assert d.on_level(4 * S, -1, 100.0, 2.0, 0.0, 2.0) is None  # reported once


def test_growth_without_prior_fills_is_not_a_refill() -> None:
    d = IcebergDetector(P)
    for i in range(5):
        assert d.on_level(i, 1, 50.0, 1.0, 2.0, 0.0) is None


# ------------------------------------------------------------------ absorption


def test_absorption_when_selling_hits_a_bid_that_holds() -> None:
    a = AbsorptionDetector(P, tick_size=0.5)
    events = []
    # 30 s of 1 unit/s selling, then 10 s of 5 units/s with the bid pinned at 100.
    for sec in range(40):
        a.on_trade(5.0 if sec >= 30 else 1.0, -1)
        events += a.on_second(sec * S, 100.0, 100.5)
    # Window 50 vs typical mean(1)*10 = 10 -> ratio 5 >= 3 on the bid side.
    bid_events = [e for e in events if e.side == 1]
    assert len(bid_events) == 1
    ev = bid_events[0]
    assert ev.kind is DetectorKind.ABSORPTION and ev.price == 100.0
    # The window fills with 5s from second 30: at second 34 it holds 5*1 + 5*5 = 30 against a
    # typical 10 (seconds 0..24 average 1/s), the first time the ratio reaches k = 3.
    assert (ev.ts, ev.size) == (34 * S, 30.0)
    assert ev.score == pytest.approx(3 / 6)


def test_no_absorption_when_the_bid_gives_way() -> None:
    a = AbsorptionDetector(P, tick_size=0.5)
    events = []
    for sec in range(40):
        a.on_trade(5.0 if sec >= 30 else 1.0, -1)
        bid = 100.0 - (0.5 * (sec - 29) if sec >= 30 else 0.0)  # falls a tick a second
        events += a.on_second(sec * S, bid, bid + 0.5)
    assert [e for e in events if e.side == 1] == []


# --------------------------------------------------------------------- vacuum


def test_vacuum_fires_once_below_k_times_median() -> None:
    v = VacuumDetector(P)
    events = []
    for sec in range(40):
        events += v.on_second(sec * S, 100.0, 50.0)
    assert events == [] and v.ratio == 1.0
    events += v.on_second(40 * S, 20.0, 50.0)  # 0.2 x median 100 < 0.3: 1 s below
    assert events == []  # vacuum_min_s = 2: not yet
    events += v.on_second(41 * S, 25.0, 50.0)  # 2 s below: reported now
    events += v.on_second(42 * S, 25.0, 50.0)  # still in the same vacuum
    assert len(events) == 1 and events[0].kind is DetectorKind.VACUUM
    assert events[0].ts == 41 * S
    assert events[0].score == pytest.approx(0.75)  # 1 - 25/100 at the second it fired


def test_spread_widening_once_per_episode() -> None:
    d = SpreadWideningDetector(P)
    seq = [1.0, 3.5, 4.0, 2.0, 3.1]
    fired = [len(d.on_second(i, z, 5.0, 100.0)) for i, z in enumerate(seq)]
    assert fired == [0, 1, 0, 0, 1]
    assert d.on_second(9, math.nan, 5.0, 100.0) == []


# ------------------------------------------------------------------ composite


def test_composite_routes_book_and_trades_and_logs_events() -> None:
    m = Microstructure(P, tick_size=0.01)
    b = book(
        [(99.99, 1.0), (99.98, 1.0), (99.97, 1.0)], [(100.01, 2.0), (100.02, 1.0), (100.03, 1.0)]
    )
    m.on_second(0, b, 0.0, 2.0)  # sets the wall threshold: median 1 -> 5
    # A trade of 2 at 100.01 then the level is consumed: a fill, not a cancel.
    m.on_trade(S, 100.01, 2.0, +1)
    m.begin_update(S, b)
    b.apply_delta([], [(100.01, 0.0)], on_level=m.on_level)
    m.end_update(S)
    snap = m.snapshot()
    assert (snap.fills, snap.cancels) == (2.0, 0.0)
    # A 30-lot bid is placed at the touch and pulled as price comes down to it.
    m.begin_update(2 * S, b)
    b.apply_delta([(99.97, 31.0)], [], on_level=m.on_level)
    m.end_update(2 * S)
    # Price comes down onto it: the touch is now the order itself (it covered the whole 2 bps);
    # mid 100.005 at placement -> 99.9825 now.
    b.apply_delta([(99.99, 0.0), (99.98, 0.0)], [(99.995, 1.0)])
    m.begin_update(3 * S, b)
    b.apply_delta([(99.97, 1.0)], [], on_level=m.on_level)
    m.end_update(3 * S)
    kinds = [e.kind for e in m.snapshot().events]
    assert kinds == [DetectorKind.SPOOF]
    assert m.snapshot().cancels == 30.0
