"""CVD slope: the least-squares slope of CVD over the last W closed seconds, per minute."""

from __future__ import annotations

import math

import numpy as np

from tapescope.engine.events import BookSnapshot, Trade
from tapescope.engine.flow import FlowParams
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import Market
from tapescope.engine.slope import cvd_slope

NS = 1_000_000_000


def test_hand_computed_slope() -> None:
    # CVD 2, 1, 4, 4 at x = -1.5, -0.5, 0.5, 1.5: sum(x*y) = 4.5, sum(x^2) = 5 -> 0.9/s = 54/min.
    assert math.isclose(cvd_slope(np.array([2.0, -1.0, 3.0, 0.0]), 4), 54.0)
    # Only the last W seconds count.
    assert math.isclose(cvd_slope(np.array([100.0, -50.0, 2.0, -1.0, 3.0, 0.0]), 4), 54.0)
    # Matches numpy's own least-squares fit on a random walk.
    rng = np.random.default_rng(3)
    delta = rng.normal(size=90)
    fit = np.polyfit(np.arange(60.0), np.cumsum(delta[-60:]), 1)[0] * 60
    assert math.isclose(cvd_slope(delta, 60), fit, rel_tol=1e-9)


def market(window: int) -> Market:
    m = Market(Instrument("sim", "X", tick_size=0.5), FlowParams(cvd_slope_window=window))
    m.on_event(BookSnapshot("sim:X", 86_390 * NS, 0, [(100.0, 5.0)], [(100.5, 5.0)]))
    return m


def test_market_snapshot_carries_the_slope_of_closed_seconds() -> None:
    m = market(4)
    for sec, qty, side in [(86_391, 2.0, 1), (86_392, 1.0, -1), (86_393, 3.0, 1), (86_395, 9.0, 1)]:
        m.on_event(Trade("sim:X", sec * NS, 0, 100.5, qty, side))
    # Closed seconds 86390..86394 have deltas 0, 2, -1, 3, 0: the last four give 54/min;
    # the 9 bought in the open second 86395 is not in yet.
    assert math.isclose(m.snapshot().cvd_slope, 54.0)
    m._check()


def test_session_reset_inside_the_window_is_not_a_fall() -> None:
    m = market(4)
    # One lot bought every second across midnight UTC (day 1 starts at 86400 s): CVD goes
    # 1, 2, 3, then resets and climbs again; the slope of the flow stays +1/s.
    for sec in range(86_397, 86_404):
        m.on_event(Trade("sim:X", sec * NS, 0, 100.5, 1.0, 1))
    snap = m.snapshot()
    assert snap.flow.cvd == 4.0                                 # 86400..86403
    assert math.isclose(snap.cvd_slope, 60.0)


def test_undefined_until_half_the_window_is_held() -> None:
    m = market(60)
    assert math.isnan(m.snapshot().cvd_slope)
    m.on_event(Trade("sim:X", 86_420 * NS, 0, 100.5, 1.0, 1))   # closes 86390..86419: 30 s
    assert m.snapshot().cvd_slope == 0.0
