"""Tape burst aggregation and size filter, against hand-computed lines."""

from __future__ import annotations

from tapescope.engine.snapshot import TradePrint
from tapescope.widgets.tape import aggregate, build_rows

MS = 1_000_000
T0 = 1_700_000_000_000_000_000


def test_a_sweep_of_small_fills_is_one_line_with_its_count() -> None:
    trades = (
        TradePrint(T0, 100.0, 0.5, 1),
        TradePrint(T0 + 10 * MS, 100.0, 0.25, 1),   # same price, side, 10 ms later: joins
        TradePrint(T0 + 70 * MS, 100.0, 0.25, 1),   # 60 ms after the previous fill: new line
        TradePrint(T0 + 71 * MS, 100.1, 1.0, 1),    # other price: new line
        TradePrint(T0 + 72 * MS, 100.1, 2.0, -1),   # other aggressor: new line
    )
    lines = aggregate(trades, 50 * MS)
    assert [(p.ts - T0, p.price, p.qty, p.side, n) for p, n in lines] == [
        (10 * MS, 100.0, 0.75, 1, 2),
        (70 * MS, 100.0, 0.25, 1, 1),
        (71 * MS, 100.1, 1.0, 1, 1),
        (72 * MS, 100.1, 2.0, -1, 1),
    ]
    # Off: every fill is a line.
    assert [n for _, n in aggregate(trades, 0)] == [1] * 5


def test_filter_applies_to_the_aggregated_notional() -> None:
    # Four 30-notional fills make one 120-notional line, which passes a 100 filter;
    # a lone 50-notional print does not.
    trades = tuple(TradePrint(T0 + i * MS, 100.0, 0.3, -1) for i in range(4)) + (
        TradePrint(T0 + 500 * MS, 100.0, 0.5, 1),)
    rows = build_rows(trades, 10, 1, min_notional=100.0, burst_ns=5 * MS)
    assert [(r.size, r.side, r.count) for r in rows] == [("1.20", -1, 4)]
    # Unaggregated, no single fill reaches 100: nothing is shown.
    assert build_rows(trades, 10, 1, min_notional=100.0, burst_ns=0) == []
    # No filter: newest first, both lines.
    assert [(r.size, r.count) for r in build_rows(trades, 10, 1, burst_ns=5 * MS)] == [
        ("0.500", 1), ("1.20", 4)]


def test_large_stays_relative_to_every_line_when_filtered() -> None:
    # 12 ordinary lines of 1.0 and one of 10.0 (>= 5x the median 1.0): only the big one
    # passes a notional filter of 500, and it keeps its "big" mark.
    trades = tuple(TradePrint(T0 + i * 100 * MS, 100.0 + (i % 2), 1.0, 1) for i in range(12)) + (
        TradePrint(T0 + 2_000 * MS, 100.0, 10.0, 1),)
    rows = build_rows(trades, 5, 1, min_notional=500.0, burst_ns=50 * MS)
    assert [(r.size, r.big) for r in rows] == [("10.0", True)]
