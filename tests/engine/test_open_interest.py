"""Open interest aggregation, spikes and quadrant (engine.open_interest)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.open_interest import (
    OiQuadrant,
    OpenInterestConfig,
    OpenInterestTracker,
    quadrant,
)

B = 5 * NS_PER_S


def test_quadrants_and_flat_thresholds() -> None:
    assert quadrant(3.0, 6.0, 2.0, 5.0) == OiQuadrant.LONG_BUILDUP
    assert quadrant(3.0, -6.0, 2.0, 5.0) == OiQuadrant.SHORT_COVERING
    assert quadrant(-3.0, 6.0, 2.0, 5.0) == OiQuadrant.SHORT_BUILDUP
    assert quadrant(-3.0, -6.0, 2.0, 5.0) == OiQuadrant.LONG_LIQUIDATION
    assert quadrant(1.9, 60.0, 2.0, 5.0) == OiQuadrant.NEUTRAL  # price flat
    assert quadrant(30.0, 4.9, 2.0, 5.0) == OiQuadrant.NEUTRAL  # OI flat
    assert quadrant(math.nan, 10.0, 2.0, 5.0) == OiQuadrant.NEUTRAL


def test_buckets_carry_and_quadrant_by_hand() -> None:
    cfg = OpenInterestConfig(lookback=2, price_min_bps=2.0, oi_min_bps=5.0)
    t = OpenInterestTracker(cfg)
    t.on_price(0, 100.0)
    t.on_oi(1 * NS_PER_S, 1000.0)
    t.on_oi(4 * NS_PER_S, 1002.0)  # bucket 0 ends at OI 1002, price 100
    t.on_price(B + 1, 100.5)  # bucket 1: OI carried 1002, price 100.5
    t.on_oi(3 * B, 990.0)  # closes 1 and silent 2; bucket 3 opens
    s = t.snapshot()
    assert s.ts == 2 * B and s.oi == 1002.0 and s.delta == 0.0
    # lookback 2: bucket 0 -> 2: price +50 bps, OI 0 -> NEUTRAL
    assert s.quadrant == OiQuadrant.NEUTRAL and s.price_change_bps == pytest.approx(50.0)
    t.on_price(4 * B, 100.2)  # closes bucket 3: OI 990, price 100.5 (carried)
    s = t.snapshot()
    # 1 -> 3: price 100.5 -> 100.5 flat
    assert s.delta == -12.0 and s.oi_change == -12.0 and s.quadrant == OiQuadrant.NEUTRAL
    t.on_oi(4 * B + 1, 985.0)
    t.on_price(5 * B, 100.2)  # closes bucket 4: OI 985, price 100.2
    s = t.snapshot()
    # 2 -> 4: price 100.5 -> 100.2 (-29.9 bps), OI 1002 -> 985 (-169.7 bps): LONG_LIQUIDATION
    assert s.quadrant == OiQuadrant.LONG_LIQUIDATION
    assert s.oi_change == -17.0 and s.price_change_bps == pytest.approx((100.2 / 100.5 - 1) * 1e4)


def test_spike_z_against_direct_computation() -> None:
    cfg = OpenInterestConfig(spike_window=50, spike_z=3.0, spike_min_samples=20)
    t = OpenInterestTracker(cfg)
    rng = np.random.default_rng(4)
    oi = 10_000.0
    ois = []
    for k in range(200):
        # bounded noise: |z| of a uniform delta stays below about 2, so only the jump can spike
        oi += rng.uniform(-3.0, 3.0) if k != 150 else 60.0  # one jump at bucket 150
        t.on_oi(k * B, oi)
        t._check()
        t.on_price(k * B, 100.0)
        t._check()
        ois.append(oi)
        if k == 151:  # bucket 150 just closed
            s = t.snapshot()
            d = np.diff(ois[:151])  # deltas of buckets 1..150
            base = d[-51:-1]  # previous 50
            z = (d[-1] - base.mean()) / base.std(ddof=1)
            assert s.delta == pytest.approx(60.0) and s.z == pytest.approx(z)
            assert s.spike == 1 and s.last_spike_ts == 150 * B
        elif k > 30 and k != 151:
            assert t.snapshot().spike == 0, k
    assert t.snapshot().last_spike_ts == 150 * B
