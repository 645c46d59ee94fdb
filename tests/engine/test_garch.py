"""GARCH(1,1) (engine.volatility.Garch + engine.garch_kernels) against the ``arch`` package.

Tolerances (also stated in engine/volatility.py): alpha and beta within 0.01
absolute; omega and the one-step variance forecast within 1 % relative; our
log-likelihood at least arch's minus 1e-5 per observation. (arch allows
alpha + beta = 1; we cap it at 1 - 1e-6 for strict stationarity, which on the
real capture, whose optimum sits at that corner, costs 3e-6 per observation.) ``arch`` gets the returns scaled so their
standard deviation is of order 1 (percent-like), as its documentation
recommends; our kernel standardises internally, so we feed raw log-returns.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import orjson
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.volatility import Garch, GarchConfig

arch = pytest.importorskip("arch")

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CAPTURE = DATA / "binance_usdm" / "btcusdt_20240808.gz"


def simulate(n: int, mu: float, omega: float, alpha: float, beta: float, seed: int) -> np.ndarray:
    """A GARCH(1,1) path with Gaussian shocks, started at the unconditional variance."""
    rng = np.random.default_rng(seed)
    r = np.empty(n)
    s2 = omega / (1.0 - alpha - beta)
    for t in range(n):
        e = rng.standard_normal() * math.sqrt(s2)
        r[t] = mu + e
        s2 = omega + alpha * e * e + beta * s2
    return r


def feed(returns: np.ndarray, cfg: GarchConfig) -> Garch:
    """Drive a Garch with the bar closes whose log-returns are ``returns``, checking invariants."""
    g = Garch(cfg)
    closes = 50_000.0 * np.exp(np.concatenate(([0.0], np.cumsum(returns))))
    for i, c in enumerate(closes):
        g.on_bar(i * 60 * NS_PER_S, float(c))
        g._check()
    return g


def arch_fit(r: np.ndarray, scale: float):
    """arch's default constant-mean GARCH(1,1) on ``r * scale``; returns (params, forecast, llf)."""
    res = arch.arch_model(r * scale, mean="Constant", vol="GARCH", p=1, q=1).fit(disp="off")
    mu, omega, alpha, beta = res.params.values
    fc = float(res.forecast(horizon=1, reindex=False).variance.values[-1, 0])
    return (mu / scale, omega / scale**2, alpha, beta), fc / scale**2, res


def our_llf(r: np.ndarray, mu: float, omega: float, alpha: float, beta: float) -> float:
    """Gaussian log-likelihood with arch's backcast, written out directly."""
    e = r - r.mean()
    tau = min(75, len(r))
    w = 0.94 ** np.arange(tau)
    bc = float(np.sum(e[:tau] ** 2 * w / w.sum()))
    s2 = omega + (alpha + beta) * bc
    llf = 0.0
    for x in r:
        res = x - mu
        llf += -0.5 * (math.log(2 * math.pi) + math.log(s2) + res * res / s2)
        s2 = omega + alpha * res * res + beta * s2
    return llf


def check_against_arch(r: np.ndarray, scale: float) -> None:
    n = len(r)
    g = feed(r, GarchConfig(window_bars=n, min_bars=n, refit_every=10**6))
    snap = g.snapshot()
    assert snap.fitted and snap.refits == 1 and snap.bars == n
    (mu, omega, alpha, beta), fc, res = arch_fit(r, scale)
    assert snap.alpha == pytest.approx(alpha, abs=0.01)
    assert snap.beta == pytest.approx(beta, abs=0.01)
    assert snap.omega == pytest.approx(omega, rel=0.01)
    assert snap.variance == pytest.approx(fc, rel=0.01)
    assert snap.forecast_ann == pytest.approx(math.sqrt(fc * 525_600), rel=0.01)
    ours = our_llf(r, snap.mu, snap.omega, snap.alpha, snap.beta)
    theirs = our_llf(r, mu, omega, alpha, beta)
    assert ours >= theirs - 1e-5 * n


@pytest.mark.parametrize(
    ("n", "mu", "omega", "alpha", "beta", "seed"),
    [
        (1440, 0.0, 2e-8, 0.10, 0.85, 1),  # typical 1 m crypto: sd about 6e-4
        (2000, 2e-5, 1e-8, 0.05, 0.93, 2),  # persistent
        (1440, 0.0, 1e-7, 0.15, 0.60, 3),  # weakly persistent
        (3000, -1e-5, 5e-9, 0.03, 0.96, 4),  # near-integrated
    ],
)
def test_garch_matches_arch_on_simulated_series(n, mu, omega, alpha, beta, seed) -> None:
    r = simulate(n, mu, omega, alpha, beta, seed)
    check_against_arch(r, scale=1.0 / float(np.std(r)))


def test_garch_matches_arch_on_white_noise() -> None:
    """No GARCH effect: both optimisers go to the alpha = 0 corner."""
    r = np.random.default_rng(7).standard_normal(1440) * 1e-3
    check_against_arch(r, scale=1e3)


def capture_mid_returns(bar_ns: int) -> np.ndarray:
    """Log-returns of the last bookTicker mid per bar of event time (E, ms)."""
    closes: dict[int, float] = {}
    with gzip.open(CAPTURE, "rb") as fh:
        for line in fh:
            if b"bookTicker" not in line:
                continue
            d = orjson.loads(line.split(b" ", 1)[1])["data"]
            mid = (float(d["b"]) + float(d["a"])) * 0.5
            closes[d["E"] * 1_000_000 // bar_ns] = mid
    keys = sorted(closes)
    c = np.array([closes[k] for k in range(keys[0], keys[-1] + 1) if k in closes])
    return np.diff(np.log(c))


@pytest.mark.shared_data
@pytest.mark.skipif(not CAPTURE.exists(), reason=f"capture {CAPTURE} absent (../shared/data not present)")
def test_garch_matches_arch_on_real_returns() -> None:
    """The capture spans about 345 s, too short for 1 m bars: use 1 s mid returns (about 345)."""
    r = capture_mid_returns(NS_PER_S)
    assert len(r) > 300
    check_against_arch(r, scale=1e4)  # basis points


def test_one_step_updates_between_refits_follow_the_recursion() -> None:
    r = simulate(400, 0.0, 2e-8, 0.1, 0.85, 11)
    g = feed(r[:300], GarchConfig(window_bars=300, min_bars=300, refit_every=10**6))
    s = g.snapshot()
    # recursion written out from the fitted parameters over all 300 returns, then 100 more
    e = r[:300] - r[:300].mean()
    w = 0.94 ** np.arange(75)
    s2 = s.omega + (s.alpha + s.beta) * float(np.sum(e[:75] ** 2 * w / w.sum()))
    for x in r[:300]:
        s2 = s.omega + s.alpha * (x - s.mu) ** 2 + s.beta * s2
    assert s.variance == pytest.approx(s2, rel=1e-9)
    closes = 50_000.0 * np.exp(np.cumsum(r))
    for i in range(300, 400):
        g.on_bar((i + 1) * 60 * NS_PER_S, float(closes[i]))
        s2 = s.omega + s.alpha * (r[i] - s.mu) ** 2 + s.beta * s2
    s_after = g.snapshot()
    assert s_after.refits == 1 and s_after.alpha == s.alpha
    assert s_after.variance == pytest.approx(s2, rel=1e-6)


def test_refits_every_n_bars_on_a_rolling_window() -> None:
    r = simulate(260, 0.0, 2e-8, 0.1, 0.85, 5)
    g = feed(r, GarchConfig(window_bars=200, min_bars=200, refit_every=15))
    # first fit at 200 returns, then at 215, 230, 245, 260
    assert g.snapshot().refits == 5
    assert np.allclose(g.window(), r[-200:], rtol=1e-9, atol=1e-15)
    fit = feed(r[-200:], GarchConfig(window_bars=200, min_bars=200, refit_every=10**6)).snapshot()
    assert g.snapshot().alpha == pytest.approx(fit.alpha, abs=1e-3)
    assert g.snapshot().variance == pytest.approx(fit.variance, rel=1e-3)


def test_ewma_fallback_before_min_bars() -> None:
    # returns 0.01, -0.02, 0.03 (as log-returns); seed with mean square of the first 2
    g = Garch(GarchConfig(fallback_min_bars=2, min_bars=50))
    c = 100.0
    g.on_bar(0, c)
    for i, x in enumerate([0.01, -0.02, 0.03], start=1):
        c *= math.exp(x)
        g.on_bar(i * 60 * NS_PER_S, c)
    seed = (0.01**2 + 0.02**2) / 2  # 0.00025
    var = 0.94 * seed + 0.06 * 0.03**2  # 0.000235 + 0.000054 = 0.000289
    s = g.snapshot()
    assert not s.fitted and s.bars == 3
    assert s.variance == pytest.approx(var, rel=1e-9)
    assert s.forecast_ann == pytest.approx(math.sqrt(0.000289 * 525_600), rel=1e-9)


def test_on_mid_builds_one_minute_bars_and_fills_silent_bars() -> None:
    g = Garch(GarchConfig(fallback_min_bars=1))
    g.on_mid(5 * NS_PER_S, 100.0)
    g.on_mid(59 * NS_PER_S, 101.0)  # close of bar 0
    g.on_mid(61 * NS_PER_S, 102.0)  # bar 1 close 102
    g.on_mid(185 * NS_PER_S, 99.0)  # closes bar 1; bar 2 silent (close 102); now in bar 3
    assert np.allclose(g.window(), [math.log(102 / 101), 0.0])



def test_warm_up_loads_both_kernel_modules() -> None:
    import sys

    from tapescope.engine.volatility import warm_up_kernels

    warm_up_kernels()
    assert "tapescope.engine.garch_kernels" in sys.modules
    assert "tapescope.engine.profile_kernels" in sys.modules


def test_a_gap_of_silent_bars_refits_once() -> None:
    r = simulate(200, 0.0, 2e-8, 0.1, 0.85, 6)
    g = Garch(GarchConfig(window_bars=300, min_bars=150, refit_every=15))
    closes = 50_000.0 * np.exp(np.cumsum(r))
    for i, c in enumerate(closes):
        g.on_mid(i * 60 * NS_PER_S + 1, float(c))
    before = g.snapshot().refits  # fits at 150, 165, 180, 195 returns
    assert before == 4
    g.on_mid((199 + 100) * 60 * NS_PER_S + 1, float(closes[-1]))  # 100 minutes of silence
    s = g.snapshot()
    # closes bar 199 (its return is real) and 99 silent bars (zero returns): 298 returns, one refit
    assert s.refits == before + 1 and s.bars == 298
    assert np.count_nonzero(g.window()[-100:]) == 1 and np.count_nonzero(g.window()[-99:]) == 0
    g._check()
