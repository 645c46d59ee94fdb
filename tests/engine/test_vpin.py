"""VPIN (engine.vpin): hand-computed buckets and an independent slow implementation."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import orjson
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.vpin import Vpin, VpinConfig


def test_split_across_boundaries_by_hand() -> None:
    v = Vpin(VpinConfig(bucket_volume=5.0, window=3, min_buckets=1, z_min=2))
    v.on_trade(0, 1.0, 2.0, 1)  # bucket A: buy 2
    v.on_trade(1, 1.0, 12.0, -1)  # A: +3 sell -> |2-3|/5 = 0.2; B: sell 5 -> 1.0; C: sell 4 (open)
    s = v.snapshot()
    assert s.buckets == 2 and s.last_imbalance == pytest.approx(1.0)
    assert s.vpin == pytest.approx((0.2 + 1.0) / 2)
    assert s.fill == pytest.approx(4 / 5)
    v.on_trade(2, 1.0, 1.0, 1)  # C: sell 4, buy 1 -> |1-4|/5 = 0.6
    s = v.snapshot()
    assert s.buckets == 3 and s.vpin == pytest.approx((0.2 + 1.0 + 0.6) / 3)  # 0.6
    v.on_trade(3, 1.0, 5.0, 1)  # D: buy 5 -> 1.0; window 3 drops A: (1.0 + 0.6 + 1.0)/3
    s = v.snapshot()
    assert s.vpin == pytest.approx(2.6 / 3)
    # history before D: VPINs at buckets 1..3 = 0.2, 0.6, 0.6: mean 0.4667, sample std 0.2309
    hist = np.array([0.2, 0.6, 0.6])
    assert s.z == pytest.approx((2.6 / 3 - hist.mean()) / hist.std(ddof=1))


def test_estimated_bucket_volume_replays_warmup_trades() -> None:
    cfg = VpinConfig(bucket_volume=0.0, estimate_s=100, buckets_per_day=50, window=50, min_buckets=1)
    v = Vpin(cfg)
    # 1 unit per second for 100 s -> 100 units / 100 s * 86400 / 50 = 1728 per bucket
    for s in range(101):
        v.on_trade(s * NS_PER_S, 10.0, 1.0, 1 if s % 4 else -1)
    assert v.bucket_volume == pytest.approx(101 / 100 * 86400 / 50)
    snap = v.snapshot()
    assert snap.buckets == 0 and snap.fill == pytest.approx(101 / 1745.28)
    assert math.isnan(v.snapshot().vpin)


def slow_vpin(qty: np.ndarray, side: np.ndarray, V: float, n: int) -> tuple[int, list[float]]:
    """Independent: interpolate cumulative buy volume at the bucket boundaries k*V."""
    cum = np.concatenate(([0.0], np.cumsum(qty)))
    cum_buy = np.concatenate(([0.0], np.cumsum(np.where(side > 0, qty, 0.0))))
    k = int(cum[-1] // V + 1e-12)
    edges = np.arange(k + 1) * V
    # buy volume is piecewise linear in cumulative volume: within a trade, all of it is one side
    buy_at = np.interp(edges, cum, cum_buy)
    buys = np.diff(buy_at)
    imb = np.abs(2 * buys - V) / V  # |b - (V - b)| / V
    vpins = [float(np.mean(imb[max(0, j + 1 - n) : j + 1])) for j in range(k)]
    return k, vpins


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_slow_on_seeded_random_stream(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = 5000
    qty = np.round(rng.lognormal(0.0, 1.2, m), 3) + 0.001
    side = np.where(rng.random(m) < 0.5 + 0.2 * np.sin(np.arange(m) / 300), 1, -1)
    V = float(qty.sum() / 137.3)
    cfg = VpinConfig(bucket_volume=V, window=20, min_buckets=1, z_window=50, z_min=10)
    v = Vpin(cfg)
    for i in range(m):
        v.on_trade(i, 100.0, float(qty[i]), int(side[i]))
        v._check()
    k, vpins = slow_vpin(qty, side, V, 20)
    s = v.snapshot()
    assert s.buckets == k
    assert s.vpin == pytest.approx(vpins[-1], rel=1e-9)
    hist = np.array(vpins[-51:-1])
    assert s.z == pytest.approx((vpins[-1] - hist.mean()) / hist.std(ddof=1), rel=1e-6)


ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT.parent / "shared" / "data" / "binance_usdm" / "btcusdt_20240808.gz"


@pytest.mark.shared_data
@pytest.mark.skipif(not CAPTURE.exists(), reason=f"capture {CAPTURE} absent (../shared/data not present)")
def test_against_slow_on_real_binance_trades() -> None:
    """21,313 BTCUSDT futures trades; aggressor from the buyer-is-maker flag ``m``."""
    qty, side = [], []
    with gzip.open(CAPTURE, "rb") as fh:
        for line in fh:
            if b'"trade"' in line:
                d = orjson.loads(line.split(b" ", 1)[1])["data"]
                qty.append(float(d["q"]))
                side.append(-1 if d["m"] else 1)
    q, s = np.array(qty), np.array(side)
    V = float(q.sum() / 80.5)  # 80 full buckets and half of an 81st
    v = Vpin(VpinConfig(bucket_volume=V, window=50, min_buckets=1, z_min=10))
    for i in range(len(q)):
        v.on_trade(i, 60_000.0, float(q[i]), int(s[i]))
    k, vpins = slow_vpin(q, s, V, 50)
    snap = v.snapshot()
    assert snap.buckets == k == 80 and snap.fill == pytest.approx(0.5)
    assert snap.vpin == pytest.approx(vpins[-1], rel=1e-9)
