"""Volume and TPO profiles (engine.profile, engine.profile_kernels)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import orjson
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.profile import ProfileConfig, TpoProfile, VolumeProfile, nodes
from tapescope.engine.profile_kernels import value_area

MIN = 60 * NS_PER_S


def test_value_area_by_hand() -> None:
    # bins:   0  1  2  3   4  5  6  7
    w = np.array([1, 2, 4, 10, 6, 5, 1, 1], float)  # total 30, target 21
    # POC 3 (10). up pair 4+5 = 11, down pair 2+1 = 6 -> add up: 21 >= 21 stop
    assert value_area(w, 0.7) == (3, 3, 5)
    # target 0.9*30 = 27: then up pair 6+7 = 2 vs down 6 -> down: 27 -> stop
    assert value_area(w, 0.9) == (3, 1, 5)
    # equal pairs are added together: POC 2; up 3+4 = 2, down 1+0 = 2 -> both
    assert value_area(np.array([1, 1, 5, 1, 1], float), 0.8) == (2, 0, 4)
    # one side exhausted: POC at the top, expand down in pairs
    assert value_area(np.array([1, 2, 3, 9], float), 0.7) == (3, 1, 3)  # 9 < 10.5; +3+2 = 14
    # POC tie: the one nearer the middle wins, then the lower
    assert value_area(np.array([5, 0, 0, 5, 0], float), 0.1)[0] == 3
    assert value_area(np.array([5, 0, 0, 5], float), 0.1)[0] == 0
    assert value_area(np.zeros(3), 0.7) == (-1, -1, -1)


def test_nodes_by_hand() -> None:
    w = np.array([0, 1, 8, 9, 8, 1, 0, 0, 1, 6, 1], float)  # mean 35/11 = 3.18
    # smooth 3: [0.5, 3, 6, 8.33, 6, 3, 0.33, 0.33, 2.33, 2.67, 3.5]
    hvn, lvn = nodes(w, 3, 1.5, 0.5)
    # HVN: index 3 (8.33 >= 4.77). index 10 is a local max (3.5) but below 1.5 x mean
    assert hvn.tolist() == [3]
    # LVN: index 6 (0.33 < 3 and <= 0.33, <= 1.59); index 7 is not (not below its left)
    assert lvn.tolist() == [6]
    assert nodes(w, 3, 1.0, 0.5)[0].tolist() == [3, 10]


def slow_profile(trades: list[tuple[float, float]], step: float, frac: float) -> tuple[float, float, float]:
    """Independent: full price ladder as a Python dict with explicit zero bins, list-based expansion."""
    vol: dict[int, float] = {}
    for p, q in trades:
        k = int(round(p / step * 1e6) // 1_000_000)
        vol[k] = vol.get(k, 0.0) + q
    lo_k, hi_k = min(vol), max(vol)
    ladder = [(k, vol.get(k, 0.0)) for k in range(lo_k, hi_k + 1)]
    vmax = max(v for _k, v in ladder)
    mid2 = lo_k + hi_k
    poc = min((k for k, v in ladder if v == vmax), key=lambda k: (abs(2 * k - mid2), k))
    total = sum(v for _k, v in ladder)
    inside = {poc}
    acc = vol.get(poc, 0.0)
    a, b = poc, poc
    while acc < frac * total * (1 - 1e-12) and (a > lo_k or b < hi_k):
        above = [k for k in (b + 1, b + 2) if k <= hi_k]
        below = [k for k in (a - 1, a - 2) if k >= lo_k]
        su = sum(vol.get(k, 0.0) for k in above)
        sd = sum(vol.get(k, 0.0) for k in below)
        take = []
        if not below or (above and su > sd):
            take = above
        elif not above or sd > su:
            take = below
        else:
            take = above + below
        for k in take:
            inside.add(k)
            acc += vol.get(k, 0.0)
        a, b = min(inside), max(inside)
    return poc * step, a * step, b * step


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_session_and_rolling_against_slow(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tick, cfg = 0.1, ProfileConfig(bin_ticks=5, rolling_window_s=600)
    vp = VolumeProfile(tick, cfg)
    tpo = TpoProfile(tick, ProfileConfig(bin_ticks=5, tpo_period_s=60))  # many short periods
    ts, price = 0, 1000.0
    trades = []
    for _ in range(3000):
        ts += int(rng.exponential(0.5) * NS_PER_S)
        price = round(price + rng.choice([-1, 0, 1]) * tick * rng.integers(1, 4), 1)
        qty = float(np.round(rng.lognormal(0, 1), 3) + 0.001)
        side = 1 if rng.random() < 0.5 else -1
        vp.on_trade(ts, price, qty, side)
        vp._check()
        tpo.on_trade(ts, price, qty, side)
        tpo._check()
        trades.append((ts, price, qty, side))
        if rng.random() < 0.02:  # check mid-stream too, not only at the end
            _check(vp, trades, ts, cfg)
    _check(vp, trades, ts, cfg)


def _check(vp: VolumeProfile, trades: list, now: int, cfg: ProfileConfig) -> None:
    step = round(0.1 * cfg.bin_ticks, 12)
    snap = vp.snapshot()
    cut = now // NS_PER_S - cfg.rolling_window_s  # whole seconds: keep second > cut
    recent = [(p, q) for t, p, q, _s in trades if t // NS_PER_S > cut]
    for stats, sample in ((snap.session, [(p, q) for _t, p, q, _s in trades]), (snap.rolling, recent)):
        poc, val, vah = slow_profile(sample, step, cfg.value_area)
        assert (stats.poc, stats.val, stats.vah) == pytest.approx((poc, val, vah))
        assert stats.total == pytest.approx(sum(q for _p, q in sample))
    delta = sum(q * s for t, _p, q, s in trades if t // NS_PER_S > cut)
    assert snap.rolling.deltas.sum() == pytest.approx(delta, abs=1e-9)


def test_session_resets_at_boundary_and_rolling_expires() -> None:
    cfg = ProfileConfig(bin_ticks=1, rolling_window_s=60, session_offset_s=3600)
    vp = VolumeProfile(1.0, cfg)
    day = 86400 * NS_PER_S
    vp.on_trade(day + 3599 * NS_PER_S, 100.0, 2.0, 1)  # session of the previous day (starts 01:00)
    vp.on_trade(day + 3600 * NS_PER_S, 105.0, 1.0, -1)  # new session
    s = vp.snapshot()
    assert s.session.total == 1.0 and s.session.poc == 105.0
    assert s.rolling.total == 3.0 and s.rolling.first_price == 100.0
    vp.on_trade(day + 3659 * NS_PER_S, 105.0, 1.0, 1)  # the 100.0 trade is 60 s old: out of (now-60 s, now]
    r = vp.snapshot().rolling
    assert r.total == 2.0 and r.first_price == 105.0 and r.deltas.tolist() == [0.0]
    with pytest.raises(ValueError):
        r.volumes[0] = 1.0  # snapshots are read-only


def test_tpo_letters_and_value_area_by_hand() -> None:
    tpo = TpoProfile(1.0, ProfileConfig(bin_ticks=1, tpo_period_s=1800))
    path = [
        (0, 100), (10, 103),  # A: 100..103
        (30, 101), (31, 104),  # B: 101..104 (min)
        (60, 102), (61, 102),  # C: 102
        (90, 102), (91, 101),  # D: 101..102
    ]
    for minute, p in path:
        tpo.on_price(minute * MIN, float(p))
    s = tpo.snapshot()
    assert s.period == "D"
    assert s.letters == ("A", "ABD", "ABCD", "AB", "B")
    # counts 1, 3, 4, 2, 1 (total 11, 70 % = 7.7): POC 102 (4); up pair 2+1 = 3, down 3+1 = 4
    # -> down: 8 >= 7.7 -> VA 100..102
    assert s.stats.volumes.tolist() == [1, 3, 4, 2, 1]
    assert (s.stats.poc, s.stats.val, s.stats.vah) == (102.0, 100.0, 102.0)


def test_tpo_new_session_clears() -> None:
    tpo = TpoProfile(1.0, ProfileConfig(bin_ticks=1))
    tpo.on_price(0, 100.0)
    tpo.on_price(86400 * NS_PER_S + 1, 200.0)
    s = tpo.snapshot()
    assert s.letters == ("A",) and s.stats.poc == 200.0


def test_python_and_numba_value_area_agree() -> None:
    from tapescope.engine.profile import value_area_py

    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(1, 60))
        w = np.floor(rng.exponential(3.0, n)) * (rng.random(n) < 0.8)  # ties and zero bins
        frac = float(rng.choice([0.5, 0.7, 0.9, 1.0]))
        assert value_area(w, frac) == value_area_py(w.tolist(), frac)


ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT.parent / "shared" / "data" / "binance_usdm" / "btcusdt_20240808.gz"


@pytest.mark.shared_data
@pytest.mark.skipif(not CAPTURE.exists(), reason=f"capture {CAPTURE} absent (../shared/data not present)")
def test_against_slow_on_real_binance_trades() -> None:
    """BTCUSDT futures trades (tick 0.1) in $1 bins: session and 60 s rolling POC / VA vs the slow ladder."""
    cfg = ProfileConfig(bin_ticks=10, rolling_window_s=60)
    vp = VolumeProfile(0.1, cfg)
    trades = []
    with gzip.open(CAPTURE, "rb") as fh:
        for line in fh:
            if b'"trade"' in line:
                d = orjson.loads(line.split(b" ", 1)[1])["data"]
                t = (d["T"] * 1_000_000, float(d["p"]), float(d["q"]), -1 if d["m"] else 1)
                vp.on_trade(*t)
                trades.append(t)
    assert len(trades) > 20_000
    _check(vp, trades, trades[-1][0], cfg)
    vp._check()
