"""The rules that keep the wall and spoof detectors quiet on a deep real book, each on a
hand-worked book: the touch-relative wall size, the per-side cap (which also sets the
spoof detector's "wall-sized") and the spoof's minimum distance behind the touch."""

from __future__ import annotations

from dataclasses import replace

from tapescope.engine.book import Book
from tapescope.engine.detectors.base import DetectorKind, DetectorParams
from tapescope.engine.detectors.levels import SpoofDetector, WallDetector

S = 1_000_000_000
P = DetectorParams()
ASKS = [(100.01, 1.0), (100.02, 1.0), (100.03, 1.0)]


def book(bids, asks=ASKS) -> Book:
    b = Book()
    b.apply_snapshot(bids, asks)
    return b


def touch_book(candidate: float) -> Book:
    # mid 100. Five touch levels of 4 (99.95..99.99), nine far ones of 1 except 99.4.
    # Side median (eight 1s, five 4s, the candidate) = 1 -> median rule 5 x 1 = 5;
    # touch mean 4 -> touch rule 5 x 4 = 20.
    near = [(99.99 - 0.01 * i, 4.0) for i in range(5)]
    far = [(round(99.9 - 0.1 * i, 1), 1.0) for i in range(9)]
    far[5] = (99.4, candidate)
    return book(near + far)


def walls(params: DetectorParams, b: Book) -> list[tuple[float, float]]:
    w = WallDetector(params)
    w.on_second(0, b)
    return [(e.price, e.size) for e in w.on_second(5 * S, b) if e.kind is DetectorKind.WALL]


def test_wall_must_be_large_against_the_touch() -> None:
    assert P.wall_touch_k == 5.0 and P.wall_touch_levels == 5
    no_touch = replace(P, wall_touch_k=0.0)
    # 15 is 15x the side median (and 15x its neighbours) but under 5x the touch mean of 4.
    assert walls(no_touch, touch_book(15.0)) == [(99.4, 15.0)]
    assert walls(P, touch_book(15.0)) == []
    assert walls(P, touch_book(20.0)) == [(99.4, 20.0)]  # exactly 5 x 4
    w = WallDetector(P)
    w.on_second(0, touch_book(15.0))
    assert (w.median[1], w.threshold(1)) == (1.0, 20.0)
    # Touch reference over the single best level (4): 5 x 4 = 20 again; over 7 levels
    # (five 4s, 99.9 and 99.8 at 1) the mean is 22/7 and the threshold 110/7.
    w = WallDetector(replace(P, wall_touch_levels=7))
    w.on_second(0, touch_book(15.0))
    assert abs(w.threshold(1) - 110.0 / 7.0) < 1e-12
    assert walls(replace(P, wall_touch_levels=7), touch_book(16.0)) == [(99.4, 16.0)]


def test_per_side_cap_is_the_spoof_detectors_wall_size() -> None:
    # Median 1, touch mean 1: threshold 5. The 3 largest levels are 30, 20, 10, so with
    # the default cap of 3 a new wall (and a spoof) needs at least 10.
    levels = [(99.99 - 0.01 * i, 1.0) for i in range(12)]
    levels += [(99.7, 10.0), (99.6, 6.0), (99.5, 20.0), (99.4, 1.0), (99.3, 30.0), (99.2, 1.0)]
    w = WallDetector(P)
    w.on_second(0, book(levels))
    assert w.threshold(1) == 10.0
    assert sorted(e.price for e in w.on_second(5 * S, book(levels))) == [99.3, 99.5, 99.7]
    w = WallDetector(replace(P, wall_max_per_side=0))
    w.on_second(0, book(levels))
    assert w.threshold(1) == 5.0
    assert sorted(e.price for e in w.on_second(5 * S, book(levels))) == [99.3, 99.5, 99.6, 99.7]


def pulled(s: SpoofDetector, price: float, bid: float, size: float = 20.0):
    # threshold 5; touch bid 100.00 / ask 100.02 when placed; pulled with the bid at ``bid``.
    assert s.on_level(0, 1, price, 0.0, size, 0.0, 0.0, 5.0, 100.0, 100.02) is None
    return s.on_level(S, 1, price, size, 0.0, 0.0, size, 5.0, bid, bid + 0.02)


def test_spoof_must_be_placed_a_few_bps_behind_the_touch() -> None:
    assert P.spoof_min_touch_bps == 2.0
    # 99.99 is 1 bp behind the 100.00 touch: the next queue, not a show of depth. Pulled
    # when the bid came down to it (all the distance covered, mid 1 bp closer).
    assert pulled(SpoofDetector(P), 99.99, 99.99) is None
    assert pulled(SpoofDetector(replace(P, spoof_min_touch_bps=0.0)), 99.99, 99.99) is not None
    # 99.97 is 3 bps behind: a candidate; pulled with the bid 1 bp away (two thirds of the
    # distance covered), a spoof.
    ev = pulled(SpoofDetector(P), 99.97, 99.98)
    assert ev is not None and (ev.kind, ev.price, ev.size) == (DetectorKind.SPOOF, 99.97, 20.0)
    assert pulled(SpoofDetector(replace(P, spoof_min_touch_bps=3.5)), 99.97, 99.98) is None


def test_a_hollowed_book_does_not_make_every_level_a_wall() -> None:
    # Ten bids of 1 (median 1), then from 30 s the book is hollowed to 0.1 except 2 at 99.90:
    # 20x the current median (and its neighbours). Touch rule and cap off to isolate the rule.
    normal = [(round(99.99 - 0.01 * i, 2), 1.0) for i in range(10)]
    hollow = [(round(99.99 - 0.01 * i, 2), 0.1) for i in range(9)] + [(99.90, 2.0)]

    def first_report(params: DetectorParams) -> int | None:
        w = WallDetector(params)
        for sec in range(100):
            evs = w.on_second(sec * S, book(normal if sec < 30 else hollow))
            if evs:
                assert [(e.price, e.size) for e in evs] == [(99.90, 2.0)]
                return sec
        return None

    base = replace(P, wall_touch_k=0.0, wall_max_per_side=0)
    assert base.wall_median_s == 60
    # Current median only: 2 >= 5 x 0.1 from 30 s, rested 5 s -> reported at 35 s.
    assert first_report(replace(base, wall_median_s=0)) == 35
    # With the last 60 per-second medians: until 59 s they hold thirty 1s, so the reference
    # stays >= (1 + 0.1) / 2 and the threshold >= 2.75. At 60 s (seconds 1..60: 29 ones,
    # 31 of 0.1) the hollow book is the typical one: threshold 0.5, reported 5 s later.
    assert first_report(base) == 65
