"""Velocity and trade rate on the 1 s grid (engine.velocity)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.velocity import Velocity, VelocityConfig


def test_by_hand_with_silent_seconds() -> None:
    v = Velocity(VelocityConfig(window_s=2, rate_window_s=3, accel_s=2))
    v.on_mid(0, 100.0)
    v.on_trade(100_000_000, 100.0, 1.0, 1)
    v.on_trade(200_000_000, 100.0, 1.0, -1)  # second 0: mid 100, 2 trades
    v.on_mid(1 * NS_PER_S, 102.0)  # second 1: mid 102, 0 trades
    v.on_mid(4 * NS_PER_S, 110.0)  # closes 1, 2, 3 (2 and 3 silent: mid 102, 0 trades)
    # grid: mids 100, 102, 102, 102; counts 2, 0, 0, 0
    s = v.snapshot()
    assert s.ts == 3 * NS_PER_S
    assert s.velocity == 0.0  # (102 - 102) / 2 at second 3
    # velocities: s2 = (102-100)/2 = 1.0, s3 = 0.0; accel needs v(3) - v(1): v(1) is nan (history < W)
    assert math.isnan(s.accel)
    assert s.trade_rate == 0.0  # seconds 1..3
    v.on_trade(4 * NS_PER_S + 1, 110.0, 1.0, 1)
    v.on_mid(5 * NS_PER_S, 111.0)  # closes second 4: mid 110, 1 trade
    s = v.snapshot()
    assert s.velocity == pytest.approx((110 - 102) / 2)  # 4.0
    assert s.velocity_bps == pytest.approx(4.0 / 110 * 1e4)
    assert s.accel == pytest.approx((4.0 - 1.0) / 2)  # v(4) - v(2)
    assert s.trade_rate == pytest.approx(1 / 3)  # counts 0, 0, 1
    # rates: s2 = (2+0+0)/3, s4 = 1/3 -> (1/3 - 2/3) / 2
    assert s.trade_rate_accel == pytest.approx((1 / 3 - 2 / 3) / 2)


def test_against_slow_grid_on_seeded_stream() -> None:
    rng = np.random.default_rng(8)
    cfg = VelocityConfig(window_s=5, rate_window_s=10, accel_s=3)
    v = Velocity(cfg)
    t, mid = 0, 500.0
    events = []
    for _ in range(3000):
        t += int(rng.exponential(0.3) * NS_PER_S)
        if rng.random() < 0.6:
            mid += rng.choice([-0.5, 0.5])
            v.on_mid(t, mid)
            events.append((t, "m", mid))
        else:
            v.on_trade(t, mid, 1.0, 1)
            events.append((t, "t", 0.0))
        v._check()
    last_sec = t // NS_PER_S - 1
    first = events[0][0] // NS_PER_S
    mids, counts = [], []
    cur = math.nan
    for sec in range(first, last_sec + 1):
        for ts, kind, m in events:
            if ts // NS_PER_S == sec and kind == "m":
                cur = m
        mids.append(cur)
        counts.append(sum(1 for ts, kind, _m in events if ts // NS_PER_S == sec and kind == "t"))
    vel = [(mids[i] - mids[i - 5]) / 5 for i in range(len(mids))]
    rate = [sum(counts[max(0, i - 9) : i + 1]) / min(10, i + 1) for i in range(len(counts))]
    s = v.snapshot()
    assert s.velocity == pytest.approx(vel[-1])
    assert s.accel == pytest.approx((vel[-1] - vel[-4]) / 3)
    assert s.trade_rate == pytest.approx(rate[-1])
    assert s.trade_rate_accel == pytest.approx((rate[-1] - rate[-4]) / 3)


def test_late_mid_of_a_closed_second_is_dropped() -> None:
    from tapescope.engine.kalman import LocalLinearTrend
    from tapescope.engine.volatility import RealisedVol, RealisedVolConfig

    v = Velocity(VelocityConfig(window_s=1, rate_window_s=1, accel_s=1))
    rv = RealisedVol(RealisedVolConfig(windows_s=(2,), short_window_s=2, long_window_s=4, min_samples=1))
    k = LocalLinearTrend()
    for x in (v, rv, k):
        x.on_mid(0, 100.0)
        x.on_mid(NS_PER_S, 101.0)
        x.on_mid(NS_PER_S // 2, 50.0)  # late: second 0 is closed
        x.on_mid(2 * NS_PER_S, 102.0)
    assert v.snapshot().velocity == 1.0  # (101 - 100) / 1
    assert rv.snapshot().vols[0][1] == pytest.approx(
        math.sqrt((math.log(1.01) ** 2) / 1 * 365 * 86400)
    )  # one return, ln(101/100)
    assert k.snapshot().samples == 2 and k.state[0] > math.log(100.0)
