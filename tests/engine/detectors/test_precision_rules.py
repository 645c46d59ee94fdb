"""The precision rules added to the wall, spoof and iceberg definitions, each on a
hand-worked sequence (see the detector docstrings for the rules)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tapescope.engine.book import Book
from tapescope.engine.detectors.base import DetectorKind, DetectorParams
from tapescope.engine.detectors.levels import IcebergDetector, SpoofDetector, WallDetector
from tapescope.engine.detectors.micro import Microstructure

S = 1_000_000_000
# The rules pinned here, with the touch-relative wall size, the per-side wall cap and the
# spoof's minimum distance switched off (their own tests are in test_real_book_rules.py).
P = DetectorParams(wall_touch_k=0.0, wall_max_per_side=0, spoof_min_touch_bps=0.0)
ASKS = [(100.1, 1.0), (100.2, 1.0), (100.3, 1.0)]


def book(bids, asks=ASKS) -> Book:
    b = Book()
    b.apply_snapshot(bids, asks)
    return b


# ---------------------------------------------------------------------- walls


def wall_book(size: float) -> Book:
    # Bids within 1 % of mid 100: median of (1, 1, 1, 1, size) is 1 -> threshold 5.
    return book([(99.9, 1.0), (99.8, 1.0), (99.7, 1.0), (99.6, 1.0), (99.5, size)])


def test_wall_wobbling_across_the_threshold_stays_one_wall() -> None:
    w = WallDetector(P)
    w.on_second(0, wall_book(10.0))
    assert [e.kind for e in w.on_second(5 * S, wall_book(10.0))] == [DetectorKind.WALL]
    # 4 < threshold 5 but >= release 0.5 * 5 = 2.5: the same wall, no event.
    assert w.on_second(6 * S, wall_book(4.0)) == []
    assert w.active == {(1, 99.5): 4.0}
    assert w.on_second(7 * S, wall_book(9.0)) == []  # back above: still no new report
    # 2 < 2.5: the wall ends (its size went without fills or cancels seen: not "pulled").
    assert w.on_second(8 * S, wall_book(2.0)) == [] and w.active == {}


def test_ended_wall_is_not_re_reported_within_the_cool_off_unless_much_bigger() -> None:
    w = WallDetector(P)
    w.on_second(0, wall_book(10.0))
    assert len(w.on_second(5 * S, wall_book(10.0))) == 1
    w.on_second(6 * S, wall_book(1.0))  # ended; its peak was 10
    for sec in range(7, 20):  # back at 12 < 1.5 * 10 for 13 s: cool-off holds
        assert w.on_second(sec * S, wall_book(12.0)) == []
    # 15 >= 1.5 * 10: a bigger order; the level has been wall-sized (rested) since 7 s.
    (ev,) = w.on_second(20 * S, wall_book(15.0))
    assert (ev.price, ev.size) == (99.5, 15.0)
    assert ev.detail.endswith("rested 13s")


def test_cool_off_expires() -> None:
    w = WallDetector(replace(P, wall_rereport_s=10.0))
    w.on_second(0, wall_book(10.0))
    w.on_second(5 * S, wall_book(10.0))
    w.on_second(6 * S, wall_book(1.0))  # ended at 6 s
    w.on_second(10 * S, wall_book(10.0))  # first seen again at 10 s, cool-off until 16 s
    assert w.on_second(15 * S, wall_book(10.0)) == []  # rested 5 s but still cooling off
    assert len(w.on_second(16 * S, wall_book(10.0))) == 1


def test_wall_must_stand_out_from_its_neighbours() -> None:
    # Bid side median 1 (threshold 5). 12 @ 99.5 has neighbours 5, 6 (and 1s nearer mid):
    # its 5 nearest-each-side neighbours are 1, 1, 1, 1 (above) and 5, 6 (below), median 1.
    deep = [
        (99.9, 1.0),
        (99.8, 1.0),
        (99.7, 1.0),
        (99.6, 1.0),
        (99.5, 12.0),
        (99.4, 5.0),
        (99.3, 6.0),
    ]
    # 11 among deep neighbours: 7, 6 below and 8, 7, 6, 1, 1 above -> median 6, and
    # 11 < 2 x 6 fails, while the side median (seven 1s and 6, 6, 7, 7, 8, 11) is 1.
    crowded = [
        (99.99, 1.0),
        (99.97, 1.0),
        (99.95, 1.0),
        (99.9, 1.0),
        (99.85, 1.0),
        (99.8, 1.0),
        (99.75, 1.0),
        (99.7, 6.0),
        (99.65, 7.0),
        (99.6, 8.0),
        (99.5, 11.0),
        (99.4, 6.0),
        (99.3, 7.0),
    ]
    for levels, expected in ((deep, [(99.5, 12.0)]), (crowded, [])):
        w = WallDetector(P)
        w.on_second(0, book(levels))
        found = [(e.price, e.size) for e in w.on_second(5 * S, book(levels))]
        # 99.3/99.4 are >= 5 but not 2x their neighbours in the first book.
        assert [f for f in found if f[0] == 99.5] == expected
    w = WallDetector(replace(P, wall_local_levels=0))  # the test switched off
    w.on_second(0, book(crowded))
    found = {e.price for e in w.on_second(5 * S, book(crowded))}
    assert found == {99.7, 99.65, 99.6, 99.5, 99.4, 99.3}


# ---------------------------------------------------------------------- spoofs


def place(s: SpoofDetector, old: float = 0.0, new: float = 20.0, bid: float = 100.0) -> None:
    # threshold 5; touch bid ``bid``, ask 100.02; order at 99.95 (5 bps behind 100.00).
    assert s.on_level(0, 1, 99.95, old, new, 0.0, 0.0, 5.0, bid, 100.02) is None


def test_growth_of_a_deep_level_is_not_a_spoof_candidate() -> None:
    s = SpoofDetector(P)
    place(s, old=15.0, new=35.0)  # 20 added onto 15 > 0.5 x 20 already resting
    assert s.on_level(S, 1, 99.95, 35.0, 0.0, 0.0, 35.0, 5.0, 99.97, 99.99) is None
    s = SpoofDetector(P)
    place(s, old=10.0, new=30.0)  # 10 <= 0.5 x 20: stand-alone enough
    assert s.on_level(S, 1, 99.95, 30.0, 10.0, 0.0, 20.0, 5.0, 99.97, 99.99) is not None


def test_gradual_trim_is_not_a_pull() -> None:
    s = SpoofDetector(P)
    place(s)
    size = 20.0
    for k in range(1, 6):  # 5 cancels of 4: all of it leaves, but never >= 16 at once
        assert s.on_level(k * S, 1, 99.95, size, size - 4.0, 0.0, 4.0, 5.0, 99.97, 99.99) is None
        size -= 4.0


def test_fills_beyond_the_allowance_drop_the_candidate() -> None:
    s = SpoofDetector(P)
    place(s)
    # 5 filled > (1 - 0.8) x 20 = 4: it trades; a later pull of the rest is not a spoof.
    assert s.on_level(S, 1, 99.95, 20.0, 15.0, 5.0, 0.0, 5.0, 99.97, 99.99) is None
    assert s.on_level(2 * S, 1, 99.95, 15.0, 0.0, 0.0, 15.0, 5.0, 99.97, 99.99) is None


def test_price_must_cover_half_the_distance() -> None:
    s = SpoofDetector(P)
    place(s)
    # Bid 99.98 is 3 bps from the order: only 40 % of the 5 bps covered.
    assert s.on_level(S, 1, 99.95, 20.0, 0.0, 0.0, 20.0, 5.0, 99.98, 100.0) is None
    assert s.end_update(S, 99.98, 100.0) == []
    s = SpoofDetector(replace(P, spoof_min_approach_frac=0.3))
    place(s)
    assert s.on_level(S, 1, 99.95, 20.0, 0.0, 0.0, 20.0, 5.0, 99.98, 100.0) is not None


def test_order_joining_the_touch_is_not_a_candidate() -> None:
    s = SpoofDetector(P)
    assert s.on_level(0, 1, 100.0, 1.0, 21.0, 0.0, 0.0, 5.0, 100.0, 100.02) is None
    assert s.on_level(S, 1, 100.0, 21.0, 1.0, 0.0, 20.0, 5.0, 100.0, 100.01) is None


def test_pull_in_the_same_update_as_the_price_move_is_tested_after_it() -> None:
    s = SpoofDetector(P)
    place(s)
    # Before the update the touch has not moved; the pull waits for the update's end.
    assert s.on_level(S, 1, 99.95, 20.0, 0.0, 0.0, 20.0, 5.0, 100.0, 100.02) is None
    assert s.has_pending
    (ev,) = s.end_update(S, 99.96, 99.98)  # 1 bp from the order now, mid 99.97
    assert (ev.kind, ev.price, ev.size) == (DetectorKind.SPOOF, 99.95, 20.0)
    assert not s.has_pending
    # A touch that went past the order means the pulled order was the touch: no spoof.
    place(s)
    s.on_level(2 * S, 1, 99.95, 20.0, 0.0, 0.0, 20.0, 5.0, 100.0, 100.02)
    assert s.end_update(2 * S, 99.94, 99.96) == []


# -------------------------------------------------------------------- icebergs


def test_refills_in_the_same_update_as_the_prints() -> None:
    d = IcebergDetector(P)
    # Ask 100 shows 2; each update: 2 printed there, the level still shows 2 (reloaded).
    out = [d.on_level(k * S, -1, 100.0, 2.0, 2.0, 0.0, 2.0) for k in range(3)]
    assert out[:2] == [None, None]
    ev = out[2]
    assert ev is not None and ev.kind is DetectorKind.ICEBERG
    assert (ev.size, ev.score) == (4.0, 1.0)  # traded 6 - clip 2; 6 / (3 x 2)


def test_late_reappearance_breaks_the_streak() -> None:
    d = IcebergDetector(P)  # refills only in the same update
    for k in range(5):
        assert d.on_level(k * S, -1, 100.0, 2.0, 0.0, 2.0) is None  # emptied
        assert d.on_level(k * S + 1, -1, 100.0, 0.0, 2.0, 0.0) is None  # re-quoted later


def test_inconsistent_clip_restarts_the_streak() -> None:
    d = IcebergDetector(P)
    assert d.on_level(0, -1, 100.0, 2.0, 2.0, 0.0, 2.0) is None  # clip 2
    assert d.on_level(1, -1, 100.0, 2.0, 2.0, 0.0, 2.0) is None  # clip 2
    assert d.on_level(2, -1, 100.0, 2.0, 9.0, 0.0, 2.0) is None  # clip 9 > 2 x 2: restart
    assert d.on_level(3, -1, 100.0, 9.0, 9.0, 0.0, 9.0) is None  # 2 refills of 9
    ev = d.on_level(4, -1, 100.0, 9.0, 9.0, 0.0, 9.0)  # 3rd: traded 2 + 9 + 9 = 20 >= 18
    assert ev is not None and ev.size == pytest.approx(20.0 - 9.0)


def test_traded_volume_must_be_well_above_the_clip() -> None:
    d = IcebergDetector(replace(P, iceberg_min_traded_x=4.0))
    out = [d.on_level(k, -1, 100.0, 2.0, 2.0, 0.0, 2.0) for k in range(4)]
    assert out[:3] == [None, None, None]  # 3 refills but traded 6 < 4 x 2
    assert out[3] is not None  # traded 8


def test_composite_counts_a_same_update_refill_as_a_fill_once() -> None:
    m = Microstructure(P, tick_size=0.01)
    b = book([(99.99, 1.0), (99.98, 1.0)], [(100.01, 2.0), (100.02, 1.0)])
    for k in range(3):
        m.on_trade(k * S, 100.01, 2.0, +1)
        m.begin_update(k * S, b)
        b.apply_delta([], [(100.01, 2.0)], on_level=m.on_level)
        m.end_update(k * S)
    (ev,) = m.snapshot().events
    assert ev.kind is DetectorKind.ICEBERG and ev.price == 100.01
    # Each 2 printed was used by its refill: a later cancel at 100.01 is a cancel.
    m.begin_update(3 * S, b)
    b.apply_delta([], [(100.01, 0.0)], on_level=m.on_level)
    m.end_update(3 * S)
    assert (m.snapshot().fills, m.snapshot().cancels) == (6.0, 2.0)


def test_active_wall_that_grows_much_bigger_is_reported_again() -> None:
    w = WallDetector(P)
    w.on_second(0, wall_book(10.0))
    assert len(w.on_second(5 * S, wall_book(10.0))) == 1
    assert w.on_second(6 * S, wall_book(14.0)) == []  # 14 < 1.5 x 10: same wall
    assert w.on_second(7 * S, wall_book(40.0)) == []  # 40 >= 15, not yet rested 5 s
    assert w.on_second(11 * S, wall_book(40.0)) == []
    (ev,) = w.on_second(12 * S, wall_book(40.0))
    assert (ev.kind, ev.size) == (DetectorKind.WALL, 40.0)
    assert "grew from 10" in ev.detail
    assert w.on_second(20 * S, wall_book(50.0)) == []  # 50 < 1.5 x 40


def test_max_walls_per_side_keeps_only_the_largest_candidates() -> None:
    levels = [(99.9, 1.0), (99.8, 1.0), (99.7, 1.0), (99.6, 1.0), (99.5, 1.0), (99.4, 1.0)]
    levels += [(99.3, 8.0), (99.2, 1.0), (99.1, 12.0), (99.0, 1.0)]
    found = {}
    for n in (0, 1):
        w = WallDetector(replace(P, wall_max_per_side=n))
        w.on_second(0, book(levels))
        found[n] = sorted(e.price for e in w.on_second(5 * S, book(levels)))
    assert found == {0: [99.1, 99.3], 1: [99.1]}


def test_vacuum_must_last_the_minimum_seconds() -> None:
    from tapescope.engine.detectors.pressure import VacuumDetector

    for min_s, expected in ((1, [40, 43]), (2, [44])):
        v = VacuumDetector(replace(P, vacuum_min_s=min_s))
        fired = []
        # 40 s at 100; one second at 20 (a sweep refilled at once); 100; then 3 s at 20.
        seq = [100.0] * 40 + [20.0, 100.0, 100.0, 20.0, 20.0, 20.0]
        for sec, resting in enumerate(seq):
            fired += [sec for _ in v.on_second(sec * S, resting, 50.0)]
        assert fired == expected
