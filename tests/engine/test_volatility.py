"""Realised volatility, volatility state and regime (engine.volatility)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.volatility import (
    SECONDS_PER_YEAR,
    RealisedVol,
    RealisedVolConfig,
    VolRegime,
    VolRegimeConfig,
    VolState,
    classify_regime,
    classify_state,
)

ANN = math.sqrt(SECONDS_PER_YEAR)  # 5615.69...


def test_realised_vol_hand_computed() -> None:
    cfg = RealisedVolConfig(windows_s=(2, 4), short_window_s=2, long_window_s=4, min_samples=1)
    rv = RealisedVol(cfg)
    # second 0: 100 then 102 (last mid counts); second 1: 102*1.01; second 2: silent;
    # second 3: 102; second 4: anything (closes second 3)
    rv.on_mid(0, 100.0)
    rv.on_mid(500_000_000, 102.0)
    rv.on_mid(1 * NS_PER_S, 102.0 * 1.01)
    rv.on_mid(3 * NS_PER_S, 102.0)
    rv.on_mid(4 * NS_PER_S, 1.0)
    # closed returns: s1: ln(1.01) = 0.00995033; s2: 0 (silent); s3: ln(1/1.01) = -0.00995033
    l2 = math.log(1.01) ** 2  # 9.9009e-5
    snap = rv.snapshot()
    vols = dict(snap.vols)
    assert vols[4] == pytest.approx(math.sqrt(2 * l2 / 3) * ANN)  # 3 returns held < window 4
    assert vols[2] == pytest.approx(math.sqrt(l2 / 2) * ANN)  # last two: 0, -ln(1.01)
    assert snap.short == vols[2] and snap.long == vols[4]
    # ratio needs long window to hold 2 x short = 4 returns: only 3 so far
    assert math.isnan(snap.ratio) and snap.state == VolState.UNKNOWN
    rv.on_mid(5 * NS_PER_S, 1.0)  # closes s4: return ln(1/102)
    snap = rv.snapshot()
    big = math.log(1 / 102) ** 2
    assert snap.long == pytest.approx(math.sqrt((2 * l2 + big) / 4) * ANN)
    assert snap.short == pytest.approx(math.sqrt((l2 + big) / 2) * ANN)
    assert snap.ratio == pytest.approx(math.sqrt((l2 + big) / 2) / math.sqrt((2 * l2 + big) / 4))
    assert snap.state == VolState.NORMAL  # ratio about 1.41 < 1.5


def test_min_samples_gives_nan() -> None:
    rv = RealisedVol(RealisedVolConfig(windows_s=(60,), min_samples=30))
    for s in range(20):
        rv.on_mid(s * NS_PER_S, 100.0 + s)
    assert math.isnan(rv.snapshot().vols[0][1])


def slow_realised(secs: list[int], mids: list[float], end_sec: int, window: int) -> float:
    """Straightforward: last mid per second, forward-filled, returns of closed seconds."""
    last: dict[int, float] = {}
    for s, m in zip(secs, mids, strict=True):
        last[s] = m
    first = min(last)
    series = []
    cur = None
    for s in range(first, end_sec):
        cur = last.get(s, cur)
        series.append(cur)
    r = np.diff(np.log(series))[-window:]
    return math.sqrt(float(np.mean(r * r)) * SECONDS_PER_YEAR)


def test_realised_vol_against_slow_on_seeded_random_stream() -> None:
    rng = np.random.default_rng(42)
    cfg = RealisedVolConfig(windows_s=(7, 50, 300), short_window_s=50, long_window_s=300, min_samples=2)
    rv = RealisedVol(cfg)
    t, p = 0, 100.0
    secs, mids = [], []
    for _ in range(4000):  # > 300-slot ring, so the periodic exact re-sum runs several times
        t += int(rng.exponential(0.4) * NS_PER_S)
        if rng.random() < 0.01:
            t += 20 * NS_PER_S  # silent gap
        p *= math.exp(rng.standard_normal() * 3e-4)
        rv.on_mid(t, p)
        rv._check()
        secs.append(t // NS_PER_S)
        mids.append(p)
    end = t // NS_PER_S  # the current second is still open
    snap = rv.snapshot()
    for w, v in snap.vols:
        assert v == pytest.approx(slow_realised(secs, mids, end, w), rel=1e-9)
    assert snap.ratio == pytest.approx(snap.short / snap.long)


def test_state_thresholds() -> None:
    assert classify_state(0.59, 0.6, 1.5) == VolState.COMPRESSED
    assert classify_state(0.6, 0.6, 1.5) == VolState.NORMAL
    assert classify_state(1.5, 0.6, 1.5) == VolState.NORMAL
    assert classify_state(1.51, 0.6, 1.5) == VolState.EXPANDING
    assert classify_state(math.nan, 0.6, 1.5) == VolState.UNKNOWN


def test_compressed_then_expanding_states() -> None:
    cfg = RealisedVolConfig(windows_s=(10,), short_window_s=10, long_window_s=100, min_samples=5)
    rv = RealisedVol(cfg)
    p = 100.0
    for s in range(101):  # alternating +-10 bps: every return squared = (1e-3)^2
        p *= math.exp(1e-3 if s % 2 else -1e-3)
        rv.on_mid(s * NS_PER_S, p)
    for s in range(101, 112):  # 10 returns of +-2 bps: short vol 0.2 x long-ish
        p *= math.exp(2e-4 if s % 2 else -2e-4)
        rv.on_mid(s * NS_PER_S, p)
    snap = rv.snapshot()
    # long window: 90 returns of 1e-3 and 10 of 2e-4 -> mean square (90e-6 + 10*4e-8)/100
    assert snap.long == pytest.approx(math.sqrt((90e-6 + 4e-7) / 100) * ANN, rel=1e-9)
    assert snap.short == pytest.approx(2e-4 * ANN, rel=1e-9)
    assert snap.state == VolState.COMPRESSED  # ratio 0.2 / 0.9508 = 0.21
    for s in range(112, 122):  # 10 returns of +-5e-3
        p *= math.exp(5e-3 if s % 2 else -5e-3)
        rv.on_mid(s * NS_PER_S, p)
    assert rv.snapshot().state == VolState.EXPANDING


def test_regime_thresholds_and_overrides() -> None:
    cfg = VolRegimeConfig(overrides={"v:ALT": (0.6, 1.0)})
    low, high = cfg.thresholds_for("v:BTC")
    assert (low, high) == (0.30, 0.45)
    assert classify_regime(0.2999, low, high) == VolRegime.LOW
    assert classify_regime(0.45, low, high) == VolRegime.MEDIUM
    assert classify_regime(0.4501, low, high) == VolRegime.HIGH
    low, high = cfg.thresholds_for("v:ALT")
    assert classify_regime(0.5, low, high) == VolRegime.LOW


def test_short_vol_z_score_against_direct_computation() -> None:
    cfg = RealisedVolConfig(windows_s=(5,), short_window_s=5, long_window_s=20, min_samples=5, z_history_s=40, z_min_samples=10)
    rv = RealisedVol(cfg)
    rng = np.random.default_rng(12)
    p = 100.0
    mids = [p]
    for s in range(1, 120):
        p *= math.exp(rng.standard_normal() * (1e-4 if s < 115 else 8e-4))  # vol jumps at second 115
        mids.append(p)
    for s, m in enumerate(mids):
        rv.on_mid(s * NS_PER_S, m)
    # closed seconds 0..118 -> returns for seconds 1..118; short vol defined from the 5th return on
    r2 = np.diff(np.log(mids[:119])) ** 2
    short = [math.sqrt(r2[i - 4 : i + 1].mean() * SECONDS_PER_YEAR) for i in range(4, len(r2))]
    hist = np.array(short[-41:-1])
    snap = rv.snapshot()
    assert snap.short == pytest.approx(short[-1])
    assert snap.short_z == pytest.approx((short[-1] - hist.mean()) / hist.std(ddof=1), rel=1e-9)
    assert snap.short_z > 3.0
