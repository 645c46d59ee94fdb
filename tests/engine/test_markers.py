"""Ladder markers: lifetimes in event time, de-duplication, bound, and the path through a Market."""

from __future__ import annotations

from dataclasses import replace

from tapescope.engine.analysis import AnalysisParams, MarketAnalysis
from tapescope.engine.detectors.base import DetectorEvent, DetectorKind
from tapescope.engine.events import BookDelta, BookSnapshot, Trade
from tapescope.engine.instrument import Instrument
from tapescope.engine.markers import LadderMarker, MarkerParams, build_markers
from tapescope.engine.market import Market

S = 1_000_000_000
K = DetectorKind


def ev(kind: DetectorKind, t_s: float, side: int, price: float, size: float = 1.0) -> DetectorEvent:
    return DetectorEvent(kind, int(t_s * S), side, price, size)


def test_each_kind_lives_for_its_own_time() -> None:
    params = MarkerParams(spoof_s=30, iceberg_s=60, absorption_s=20, wall_pulled_s=10, vacuum_s=5)
    events = [
        ev(K.ICEBERG, 0, 1, 99.0),      # age 50 < 60: kept
        ev(K.SPOOF, 10, -1, 101.0),     # age 40 >= 30: gone
        ev(K.ABSORPTION, 31, 1, 99.5),  # age 19 < 20: kept
        ev(K.WALL_PULLED, 40, -1, 102),  # age 10 >= 10: gone (the life is a half-open interval)
        ev(K.VACUUM, 46, 0, 100.0),     # age 4 < 5: kept
        ev(K.WALL, 47, 1, 98.0),        # a wall *event* is never a marker: live walls come from the set
        ev(K.SPREAD_WIDENING, 48, 0, 100.0),  # no price of its own
    ]
    got = build_markers({}, events, 50 * S, params)
    assert got == (
        LadderMarker(K.VACUUM, 0, 100.0, 1.0, 4.0, 5.0),
        LadderMarker(K.ABSORPTION, 1, 99.5, 1.0, 19.0, 20.0),
        LadderMarker(K.ICEBERG, 1, 99.0, 1.0, 50.0, 60.0),
    )
    assert [round(m.fade, 4) for m in got] == [0.8, 0.95, round(50 / 60, 4)]


def test_newest_report_of_a_level_wins_and_walls_follow_largest_first() -> None:
    events = [ev(K.ICEBERG, 1, 1, 99.0, 5.0), ev(K.ICEBERG, 3, 1, 99.0, 9.0), ev(K.SPOOF, 4, -1, 101.0, 7.0)]
    walls = {(1, 97.0): 20.0, (-1, 103.0): 50.0, (1, 96.0): 30.0}
    got = build_markers(walls, events, 5 * S, MarkerParams())
    assert [(m.kind, m.price, m.size, m.age_s) for m in got] == [
        (K.SPOOF, 101.0, 7.0, 1.0),
        (K.ICEBERG, 99.0, 9.0, 2.0),   # the 5.0 report at t=1 is the same level: dropped
        (K.WALL, 103.0, 50.0, 0.0),
        (K.WALL, 96.0, 30.0, 0.0),
        (K.WALL, 97.0, 20.0, 0.0),
    ]
    assert all(m.fade == 0.0 for m in got if m.kind is K.WALL)


def test_bounded_newest_events_first_and_walls_can_be_turned_off() -> None:
    events = [ev(K.SPOOF, t, -1, 100.0 + t) for t in range(10)]
    got = build_markers({(1, 90.0): 5.0}, events, 10 * S, MarkerParams(max_markers=3))
    assert [m.price for m in got] == [109.0, 108.0, 107.0]
    got = build_markers({(1, 90.0): 5.0}, events[:1], 10 * S, MarkerParams(max_markers=3))
    assert [m.kind for m in got] == [K.SPOOF, K.WALL]
    assert build_markers({(1, 90.0): 5.0}, [], 10 * S, MarkerParams(walls=False)) == ()


def test_a_zero_life_turns_a_kind_off() -> None:
    events = [ev(K.SPOOF, 9, -1, 101.0), ev(K.ICEBERG, 9, 1, 99.0)]
    got = build_markers({}, events, 10 * S, MarkerParams(spoof_s=0.0))
    assert [m.kind for m in got] == [K.ICEBERG]


def test_spoof_marker_through_a_market_ages_with_event_time() -> None:
    inst = Instrument("sim", "X", tick_size=0.01)
    key = inst.key
    m = Market(inst)
    MarketAnalysis.attach(m, AnalysisParams(markers=replace(MarkerParams(), spoof_s=6.0)))
    m.on_event(BookSnapshot(key, S, S, [(99.99, 1.0), (99.98, 1.0), (99.97, 1.0)],
                            [(100.01, 2.0), (100.02, 1.0), (100.03, 1.0)]))
    # The spoof sequence of tests/engine/test_analysis.py: 30 added 2 bps below the touch,
    # the touch comes down onto it, and it is pulled at t = 5 s.
    m.on_event(BookDelta(key, 2 * S, 2 * S, [(99.96, 1.0)], [], 2))
    m.on_event(BookDelta(key, 3 * S, 3 * S, [(99.97, 31.0)], [], 3))
    m.on_event(BookDelta(key, 4 * S, 4 * S, [(99.99, 0.0), (99.98, 0.0)], [(99.995, 1.0)], 4))
    m.on_event(BookDelta(key, 5 * S, 5 * S, [(99.97, 1.0)], [], 5))
    (marker,) = m.snapshot().analysis.micro.markers
    assert (marker.kind, marker.side, marker.price, marker.size) == (K.SPOOF, 1, 99.97, 30.0)
    assert (marker.age_s, marker.life_s) == (0.0, 6.0)
    # Event time moves on with a print 4.5 s later: the marker is 4.5 s old ...
    m.on_event(Trade(key, int(9.5 * S), int(9.5 * S), 99.995, 0.1, 1, "t1"))
    (marker,) = m.snapshot().analysis.micro.markers
    assert marker.age_s == 4.5 and marker.fade == 0.75
    # ... and gone once its 6 s life is spent.
    m.on_event(Trade(key, 11 * S, 11 * S, 99.995, 0.1, 1, "t2"))
    assert m.snapshot().analysis.micro.markers == ()
