"""Market regime rule and the per-symbol VolatilityMonitor (engine.regime)."""

from __future__ import annotations

import math

import numpy as np

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
        (0.0, VolState.UNKNOWN, VolRegime.UNKNOWN, R, R),
        (math.nan, N, LO, U, MarketRegime.UNKNOWN),
    ]
    for t, state, vr, prev, want in cases:
        assert classify_market(t, state, vr, prev, CFG) == want, (t, state, vr, prev)


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
