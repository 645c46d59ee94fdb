"""Realised volatility of the emitted mid matches the labelled volatility regime."""

from __future__ import annotations

import math

from tapescope.engine.events import BookDelta
from tapescope.feeds.sim import RegimeParams, SimFeed
from tapescope.feeds.sim.params import SECONDS_PER_YEAR

S = 1_000_000_000
SPAN_S = 240


def _realised_vols(symbol: str, quiet, replayer) -> tuple[float, float, list]:
    # Chains that never switch on their own: the injected changes are the only ones.
    frozen = RegimeParams(
        initial_vol="LOW",
        low_mean_s=1e9,
        medium_mean_s=1e9,
        high_mean_s=1e9,
        trend_mean_s=1e9,
        range_mean_s=1e9,
        volatile_mean_s=1e9,
    )
    feed = SimFeed(quiet(symbol, seed=9, regimes=frozen), realtime=False)
    key = f"sim:{symbol}"
    feed.inject("regime_change", key, feed.start_ns + SPAN_S * S, vol="HIGH")
    events = list(feed.generate(2 * SPAN_S))
    # Mid at each whole second, from the books the deltas build.
    mids: list[float] = []
    next_s = feed.start_ns + S
    for ev, book in replayer(events, key):
        while ev.ts >= next_s:
            mids.append(book.mid())
            next_s += S
        if type(ev) is not BookDelta:
            continue
    rets = [math.log(b / a) for a, b in zip(mids, mids[1:], strict=False)]
    low, high = rets[: SPAN_S - 1], rets[SPAN_S:]

    def ann(r: list[float]) -> float:
        mean = sum(r) / len(r)
        return math.sqrt(sum((x - mean) ** 2 for x in r) / (len(r) - 1) * SECONDS_PER_YEAR)

    return ann(low), ann(high), feed.regimes


def test_low_and_high_spans_realise_their_volatility(quiet, replayer) -> None:
    low, high, spans = _realised_vols("BTC-SIM", quiet, replayer)
    assert [(s.vol_regime, (s.end_ns - s.start_ns) // S) for s in spans] == [
        ("LOW", SPAN_S),
        ("HIGH", SPAN_S),
    ]
    # Simulated at 20 % and 70 %; detectors call < 30 % LOW and > 45 % HIGH.
    assert 0.14 < low < 0.30, low
    assert 0.50 < high < 0.90, high


def test_coarse_tick_symbol_keeps_regimes_apart(quiet, replayer) -> None:
    # DOGE-SIM's tick is 0.83 bps, more than a LOW second's move: bid-ask bounce
    # must still not push the LOW span over the 30 % line.
    low, high, _ = _realised_vols("DOGE-SIM", quiet, replayer)
    assert 0.12 < low < 0.30, low
    assert 0.45 < high < 0.90, high


def test_range_in_high_volatility_is_simulated_and_labelled_volatile() -> None:
    import random

    from tapescope.feeds.sim.regime import RegimeChain

    p = RegimeParams(initial_vol="LOW", initial_market="RANGE", range_half_life_s=100.0)
    c = RegimeChain("sim:X", p, random.Random(3), 0)
    assert (c.effective_market, c.drift) == ("RANGE", 0.0)
    assert c.reversion == math.log(2.0) / 100.0
    assert c.set(10 * S, vol="HIGH")
    # RANGE in HIGH volatility: what the definition calls VOLATILE, with VOLATILE's dynamics.
    assert (c.market, c.effective_market, c.effective_vol) == ("RANGE", "VOLATILE", "HIGH")
    assert (c.drift, c.reversion) == (0.0, 0.0)
    assert c.sigma == p.high_vol / math.sqrt(SECONDS_PER_YEAR)
    assert c.set(20 * S, vol="MEDIUM")  # calmer again: ranging resumes
    assert (c.effective_market, c.reversion) == ("RANGE", math.log(2.0) / 100.0)
    assert [(s.vol_regime, s.market_regime) for s in c.spans(30 * S)] == [
        ("LOW", "RANGE"),
        ("HIGH", "VOLATILE"),
        ("MEDIUM", "RANGE"),
    ]
    # A trend keeps its label (and its drift, trend_strength per-second sigmas) in HIGH volatility.
    assert c.set(30 * S, vol="HIGH", market="TREND_UP")
    assert c.effective_market == "TREND_UP"
    assert c.drift == p.trend_strength * p.high_vol / math.sqrt(SECONDS_PER_YEAR)
