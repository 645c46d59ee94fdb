"""VWAP with volume-weighted sigma bands (engine.vwap)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.vwap import Vwap, VwapConfig


def test_bands_by_hand() -> None:
    v = Vwap()
    # 1 @ 100, 2 @ 103, 1 @ 106: sum q = 4, sum qp = 100 + 206 + 106 = 412 -> VWAP 103
    # sum q p^2 / 4 = (10000 + 21218 + 11236) / 4 = 10613.5 -> var 10613.5 - 10609 = 4.5
    for ts, p, q in ((0, 100.0, 1.0), (1, 103.0, 2.0), (2, 106.0, 1.0)):
        v.on_trade(ts, p, q, 1)
    s = v.snapshot().session
    sd = math.sqrt(4.5)  # 2.1213
    assert s.vwap == pytest.approx(103.0) and s.sigma == pytest.approx(sd) and s.volume == 4.0
    flat = [x for band in s.bands for x in band]
    assert flat == pytest.approx([1.0, 103 - sd, 103 + sd, 2.0, 103 - 2 * sd, 103 + 2 * sd])
    assert v.snapshot().anchored.vwap != v.snapshot().anchored.vwap  # nan: no anchor


def slow(trades: list[tuple[int, float, float]]) -> tuple[float, float]:
    q = np.array([t[2] for t in trades])
    p = np.array([t[1] for t in trades])
    vw = float(np.sum(q * p) / q.sum())
    return vw, math.sqrt(float(np.sum(q * (p - vw) ** 2) / q.sum()))


def test_against_slow_on_seeded_stream() -> None:
    rng = np.random.default_rng(5)
    cfg = VwapConfig(rolling_window_s=300, anchor_history_s=2000, session_offset_s=7200)
    v = Vwap(cfg)
    t = (86400 + 7200 - 3000) * NS_PER_S  # 50 min before the 02:00 session boundary
    p = 60_000.0
    trades = []
    anchor_set = False
    for i in range(6000):
        t += int(rng.exponential(1.0) * NS_PER_S)
        p += rng.standard_normal() * 5.0
        q = float(rng.lognormal(-2, 1))
        v.on_trade(t, p, q, 1)
        v._check()
        trades.append((t, p, q))
        if i == 3000:
            anchor = t - 1500 * NS_PER_S  # in the past, within history
            v.set_anchor(anchor)
            anchor_set = True
        if anchor_set and i % 500 == 0:
            s = v.snapshot()
            sec = t // NS_PER_S
            day0 = (t - 7200 * NS_PER_S) // (86400 * NS_PER_S)
            sess = [x for x in trades if (x[0] - 7200 * NS_PER_S) // (86400 * NS_PER_S) == day0]
            roll = [x for x in trades if x[0] // NS_PER_S > sec - 300]
            anch = [x for x in trades if x[0] // NS_PER_S >= anchor // NS_PER_S]
            for got, want in ((s.session, sess), (s.rolling, roll), (s.anchored, anch)):
                vw, sd = slow(want)
                assert got.vwap == pytest.approx(vw, rel=1e-12)
                assert got.sigma == pytest.approx(sd, rel=1e-6)
                assert got.volume == pytest.approx(sum(x[2] for x in want), rel=1e-9)
    assert (t - 7200 * NS_PER_S) // (86400 * NS_PER_S) == 1  # the stream crossed the session boundary


def test_anchor_in_future_and_clear() -> None:
    v = Vwap()
    v.set_anchor(10 * NS_PER_S)
    v.on_trade(9 * NS_PER_S, 50.0, 1.0, 1)  # before the anchor: excluded
    v.on_trade(10 * NS_PER_S, 60.0, 1.0, 1)
    v.on_trade(11 * NS_PER_S, 70.0, 3.0, -1)
    a = v.snapshot().anchored
    assert a.vwap == pytest.approx((60 + 210) / 4) and a.volume == 4.0
    assert v.snapshot().anchor_ts == 10 * NS_PER_S
    v.clear_anchor()
    assert v.snapshot().anchor_ts is None and v.snapshot().anchored.volume == 0.0


def test_anchor_older_than_history_starts_at_oldest_second() -> None:
    v = Vwap(VwapConfig(anchor_history_s=10))
    for s in range(30):
        v.on_trade(s * NS_PER_S, float(s), 1.0, 1)
    v.set_anchor(0)
    a = v.snapshot().anchored  # history holds seconds 20..29 (second > 29 - 10)
    assert a.volume == 10.0 and a.vwap == pytest.approx(24.5)


def test_rolling_window_by_hand_and_plain_floats() -> None:
    v = Vwap(VwapConfig(rolling_window_s=2))
    v.on_trade(0, 10.0, 1.0, 1)  # second 0
    v.on_trade(NS_PER_S, 20.0, 1.0, 1)  # second 1: window (-1, 1] -> 15
    assert v.snapshot().rolling.vwap == 15.0
    v.on_trade(2 * NS_PER_S, 30.0, 2.0, 1)  # second 2: window (0, 2] -> (20 + 60) / 3
    r = v.snapshot().rolling
    assert r.vwap == pytest.approx(80 / 3) and r.volume == 3.0
    assert type(r.vwap) is float and type(r.sigma) is float
    v.on_trade(10 * NS_PER_S, 40.0, 1.0, 1)  # long gap: only second 10 remains
    assert v.snapshot().rolling.vwap == 40.0 and v.snapshot().session.volume == 5.0
    v._check()
