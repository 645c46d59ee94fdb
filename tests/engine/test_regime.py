"""Market regime rule and the per-symbol VolatilityMonitor (engine.regime)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.regime import (
    MarketRegime,
    MarketRegimeConfig,
    VolatilityMonitor,
    classify_market,
)
from tapescope.engine.volatility import (
    GarchConfig,
    RealisedVolConfig,
    VolRegime,
    VolRegimeConfig,
    VolState,
)

CFG = MarketRegimeConfig(t_enter=3.0, t_exit=1.0)
N, LO, HI = VolState.NORMAL, VolRegime.LOW, VolRegime.HIGH
R, U, D, V = MarketRegime.RANGE, MarketRegime.TREND_UP, MarketRegime.TREND_DOWN, MarketRegime.VOLATILE


def test_rule_table() -> None:
    cases = [
        # tstat, state, vol regime, previous -> expected
        (3.0, N, LO, R, U),  # enter at exactly t_enter
        (2.99, N, LO, R, R),
        (-3.0, N, LO, R, D),
        (1.0, N, LO, U, U),  # stay at exactly t_exit
        (0.99, N, LO, U, R),
        (-1.5, N, LO, D, D),
        (-1.5, N, LO, U, R),  # a sign change leaves the up-trend
        (1.5, N, LO, D, R),
        (0.0, VolState.EXPANDING, LO, R, V),
        (0.0, N, HI, R, V),
        (4.0, VolState.EXPANDING, HI, R, U),  # direction wins over volatility
        (0.0, VolState.COMPRESSED, VolRegime.MEDIUM, V, R),
        # RANGE and VOLATILE differ only by volatility: unknown volatility, unknown regime...
        (0.0, VolState.UNKNOWN, VolRegime.UNKNOWN, R, MarketRegime.UNKNOWN),
        (0.0, VolState.EXPANDING, VolRegime.UNKNOWN, R, MarketRegime.UNKNOWN),
        # ...while a significant slope is a trend whatever the volatility.
        (3.5, VolState.UNKNOWN, VolRegime.UNKNOWN, R, U),
        (-1.2, VolState.UNKNOWN, VolRegime.UNKNOWN, D, D),
        (math.nan, N, LO, U, MarketRegime.UNKNOWN),
    ]
    for t, state, vr, prev, want in cases:
        assert classify_market(t, state, vr, prev, CFG) == want, (t, state, vr, prev)


def test_expanding_state_rule_can_be_switched_off() -> None:
    cfg = MarketRegimeConfig(t_enter=3.0, t_exit=1.0, volatile_on_expanding=False)
    assert classify_market(0.0, VolState.EXPANDING, LO, R, cfg) == R
    assert classify_market(0.0, VolState.EXPANDING, HI, R, cfg) == V  # HIGH still is
    assert classify_market(0.0, VolState.EXPANDING, LO, R, CFG) == V


def test_market_regime_unknown_during_the_warm_up() -> None:
    """+3 bps a second: a trend long before 120 s, but not reported before 120 samples."""
    vol = VolRegimeConfig(source="realised", realised_window_s=60)
    m = VolatilityMonitor("sim:X", regime=vol, market=MarketRegimeConfig(warmup_s=120))
    seen = []
    for s in range(200):
        # mids at seconds 0..s: the Kalman filter has filtered seconds 0..s-1 (s samples)
        m.on_mid(s * NS_PER_S, 100.0 * math.exp(3e-4 * s + 1e-5 * (-1) ** s))
        snap = m.snapshot()
        seen.append(snap.regime)
        assert snap.trend.samples == s
    assert set(seen[:120]) == {MarketRegime.UNKNOWN}
    assert set(seen[120:]) == {MarketRegime.TREND_UP}


def test_realised_vol_regime_waits_for_a_full_window() -> None:
    x = 0.40 / math.sqrt(365 * 86400)  # alternating +-x: 40 % annualised, MEDIUM
    m = VolatilityMonitor(
        "sim:X",
        regime=VolRegimeConfig(source="realised", realised_window_s=60),
        market=MarketRegimeConfig(warmup_s=0),
    )
    p = 100.0
    regimes, markets = [], []
    for s in range(70):
        p *= math.exp(x if s % 2 else -x)
        m.on_mid(s * NS_PER_S, p)  # mids at 0..s: s - 1 returns closed
        snap = m.snapshot()
        regimes.append(snap.vol_regime)
        markets.append(snap.regime)
        if s == 40:  # RealisedVol reports from 30 returns on...
            assert m.realised.vol(60) == pytest.approx(0.40)
    assert m.realised.returns == 68
    # ...the regime only from a full 60-second window (mids 0..61).
    assert set(regimes[:61]) == {VolRegime.UNKNOWN}
    assert set(regimes[61:]) == {VolRegime.MEDIUM}
    # Trendless: UNKNOWN while the volatility regime is, then RANGE (40 % is not HIGH).
    assert set(markets[:61]) == {MarketRegime.UNKNOWN}
    assert set(markets[61:]) == {MarketRegime.RANGE}


def test_monitor_on_synthetic_regimes() -> None:
    """Range, then trend up, then a volatile driftless phase, each long enough to settle."""
    rng = np.random.default_rng(1)
    m = VolatilityMonitor(
        "sim:X",
        realised=RealisedVolConfig(windows_s=(60,), short_window_s=60, long_window_s=600),
        garch=GarchConfig(min_bars=30, window_bars=200),
    )
    p, sec = 100.0, 0
    seen: dict[str, list[MarketRegime]] = {"range": [], "up": [], "volatile": []}
    for phase, n, sd, drift in (("range", 1800, 3e-5, 0.0), ("up", 900, 3e-5, 1e-5), ("volatile", 300, 5e-4, 0.0)):
        for i in range(n):
            p *= math.exp(rng.standard_normal() * sd + drift)
            m.on_mid(sec * NS_PER_S, p)
            sec += 1
            if i > n // 2:
                seen[phase].append(m.snapshot().regime)
    frac = {k: np.mean([r == want for r in v]) for (k, v), want in zip(seen.items(), (R, U, V), strict=True)}
    assert frac["range"] > 0.8 and frac["up"] > 0.8 and frac["volatile"] > 0.8, frac
    snap = m.snapshot()
    assert snap.realised.state == VolState.EXPANDING
    assert snap.garch.bars > 30


def test_monitor_uses_symbol_thresholds() -> None:
    regime = VolRegimeConfig(overrides={"sim:CALM": (0.0, 0.0)})  # everything above 0 is HIGH
    m = VolatilityMonitor("sim:CALM", regime=regime, garch=GarchConfig(fallback_min_bars=2))
    for s in range(300):
        m.on_mid(s * NS_PER_S, 100.0 + (s % 7))
    assert m.snapshot().vol_regime == VolRegime.HIGH
    m2 = VolatilityMonitor("sim:OTHER", regime=regime, garch=GarchConfig(fallback_min_bars=2))
    for s in range(300):
        m2.on_mid(s * NS_PER_S, 100.0 + 0.001 * (s % 7))
    assert m2.snapshot().vol_regime == VolRegime.LOW


def test_realised_source_classifies_the_configured_window() -> None:
    # alternating +-x log returns each second: realised vol = x * sqrt(365 * 86400) exactly
    x = 0.40 / math.sqrt(365 * 86400)  # 40 % annualised -> MEDIUM with the 30/45 % defaults
    m = VolatilityMonitor("sim:X", regime=VolRegimeConfig(source="realised", realised_window_s=60))
    g = VolatilityMonitor("sim:X")  # default GARCH source: EWMA fallback of zero-ish 1 m returns
    p = 100.0
    for s in range(400):  # 6 one-minute bars: enough for the GARCH monitor's EWMA fallback
        p *= math.exp(x if s % 2 else -x)
        m.on_mid(s * NS_PER_S, p)
        g.on_mid(s * NS_PER_S, p)
    assert m.realised.vol(60) == pytest.approx(0.40)
    assert m.snapshot().vol_regime == VolRegime.MEDIUM
    # 1 m closes of an alternating path barely move: the GARCH-source regime is LOW
    assert g.snapshot().vol_regime == VolRegime.LOW
