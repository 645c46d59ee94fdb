"""Per-event cost of the volatility and level metrics, and numba compile/load times.

Not a test (pytest does not collect it). Run from the worktree root:

    PYTHONPATH=$PWD/.dev python tests/engine/bench_vol_levels.py            # per-event costs
    PYTHONPATH=$PWD/.dev python tests/engine/bench_vol_levels.py --compile  # numba cold/warm

Streams: the Binance USD-M capture (bookTicker mids and trades, about 345 s)
when ../shared/data is present, else a seeded synthetic stream; GARCH and the
monitor also run on two synthetic days of 1 s mids (2880 bars, 184 refits).
"""

from __future__ import annotations

import gzip
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT.parent / "shared" / "data" / "binance_usdm" / "btcusdt_20240808.gz"
NS = 1_000_000_000


def out(line: str) -> None:
    sys.stdout.write(line + "\n")


def load_stream() -> tuple[list[tuple[int, float]], list[tuple[int, float, float, int]], str]:
    if not CAPTURE.exists():
        rng = np.random.default_rng(0)
        t = np.cumsum(rng.exponential(0.005, 60000) * NS).astype(np.int64)
        mid = 60000 * np.exp(np.cumsum(rng.standard_normal(60000) * 2e-5))
        mids = list(zip(t.tolist(), mid.tolist(), strict=True))
        trades = [(int(a), float(b), float(rng.lognormal(-4, 1)), 1 if rng.random() < 0.5 else -1) for a, b in mids[::3]]
        return mids, trades, "synthetic"
    mids, trades = [], []
    with gzip.open(CAPTURE, "rb") as fh:
        for line in fh:
            if b"bookTicker" in line:
                d = orjson.loads(line.split(b" ", 1)[1])["data"]
                mids.append((d["E"] * 1_000_000, (float(d["b"]) + float(d["a"])) * 0.5))
            elif b'"trade"' in line:
                d = orjson.loads(line.split(b" ", 1)[1])["data"]
                trades.append((d["T"] * 1_000_000, float(d["p"]), float(d["q"]), -1 if d["m"] else 1))
    return mids, trades, "binance_usdm btcusdt_20240808"


def per_event(label: str, fn, events) -> None:
    t0 = time.perf_counter()
    for ev in events:
        fn(*ev)
    dt = time.perf_counter() - t0
    out(f"{label:<44s} {dt / len(events) * 1e6:8.2f} us/event  ({len(events)} events)")


def costs() -> None:
    from tapescope.engine.kalman import LocalLinearTrend
    from tapescope.engine.levels import LevelsMonitor
    from tapescope.engine.open_interest import OpenInterestTracker
    from tapescope.engine.profile import TpoProfile, VolumeProfile
    from tapescope.engine.regime import VolatilityMonitor
    from tapescope.engine.velocity import Velocity
    from tapescope.engine.volatility import Garch, RealisedVol
    from tapescope.engine.vpin import Vpin, VpinConfig
    from tapescope.engine.vwap import Vwap
    from tapescope.engine.zones import Zones

    mids, trades, name = load_stream()
    out(f"stream: {name}: {len(mids)} mids, {len(trades)} trades")
    per_event("RealisedVol.on_mid", RealisedVol().on_mid, mids)
    per_event("Garch.on_mid (no refit in 345 s)", Garch().on_mid, mids)
    per_event("LocalLinearTrend.on_mid", LocalLinearTrend().on_mid, mids)
    per_event("Velocity.on_mid", Velocity().on_mid, mids)
    per_event("OpenInterestTracker.on_price", OpenInterestTracker().on_price, mids)
    per_event("Zones.on_price", Zones().on_price, mids)
    mon = VolatilityMonitor("x")
    per_event("VolatilityMonitor.on_mid", mon.on_mid, mids)
    per_event("Vpin.on_trade (V = 5 BTC)", Vpin(VpinConfig(bucket_volume=5.0)).on_trade, trades)
    per_event("Vpin.on_trade (V estimated)", Vpin().on_trade, trades)
    vp = VolumeProfile(0.1)
    per_event("VolumeProfile.on_trade (bin 10 ticks)", vp.on_trade, trades)
    tpo = TpoProfile(0.1)
    per_event("TpoProfile.on_trade", tpo.on_trade, trades)
    per_event("Vwap.on_trade", Vwap().on_trade, trades)
    per_event("Velocity.on_trade", Velocity().on_trade, trades)
    lm = LevelsMonitor("x", tick=0.1)
    per_event("LevelsMonitor.on_mid", lm.on_mid, mids)
    per_event("LevelsMonitor.on_trade", lm.on_trade, trades)
    lm.snapshot()
    t0 = time.perf_counter()
    for _ in range(100):
        lm.profile._snap = lm.tpo._snap = None
        lm.snapshot()
    out(f"{'LevelsMonitor.snapshot (profiles recomputed)':<44s} {(time.perf_counter() - t0) / 100 * 1e6:8.2f} us")

    from tapescope.engine.volatility import warm_up_kernels

    n = 200
    b = len(vp.snapshot().session.volumes)
    for label in ("pure-Python value area", "numba value area"):
        if label.startswith("numba"):
            warm_up_kernels()
        t0 = time.perf_counter()
        for _ in range(n):
            vp._snap = None  # force the recomputation a new trade would cause
            vp.snapshot()
        out(f"VolumeProfile.snapshot, {label:<23s} {(time.perf_counter() - t0) / n * 1e6:8.2f} us  ({b} bins x 2 profiles)")
        t0 = time.perf_counter()
        for _ in range(n):
            tpo._snap = None
            tpo.snapshot()
        out(f"TpoProfile.snapshot, {label:<27s} {(time.perf_counter() - t0) / n * 1e6:8.2f} us")
    t0 = time.perf_counter()
    for _ in range(1000):
        mon._key = None
        mon.snapshot()
    out(f"{'VolatilityMonitor.snapshot (rebuild)':<44s} {(time.perf_counter() - t0) / 1000 * 1e6:8.2f} us")

    rng = np.random.default_rng(1)
    days = 2 * 86400
    r = np.empty(days)
    s2 = 1e-8
    for i in range(days):  # GARCH-ish 1 s returns so the 1 m bars carry volatility clustering
        r[i] = rng.standard_normal() * math.sqrt(s2)
        s2 = 1e-10 + 0.05 * r[i] ** 2 + 0.94 * s2
    closes = 60000 * np.exp(np.cumsum(r))
    events = [(i * NS, float(c)) for i, c in enumerate(closes)]
    g = Garch()
    g.on_bar(0, 1.0)
    g.on_bar(60 * NS, 1.01)  # not part of the timing; forces nothing to compile yet
    g = Garch()
    per_event("Garch.on_mid over 2 days (184 refits)", g.on_mid, events)
    snap = g.snapshot()
    out(f"  -> refits {snap.refits}, alpha {snap.alpha:.3f} beta {snap.beta:.3f}, forecast {snap.forecast_ann:.3f}")
    w = g.window()
    from tapescope.engine import garch_kernels as gk

    t0 = time.perf_counter()
    for _ in range(20):
        gk.garch_fit(w, np.full(4, np.nan), 4000)
    out(f"{'garch_fit, 1440 bars, cold start':<44s} {(time.perf_counter() - t0) / 20 * 1e3:8.2f} ms")
    warm = np.array([snap.mu, snap.omega, snap.alpha, snap.beta])
    t0 = time.perf_counter()
    for _ in range(20):
        gk.garch_fit(w, warm, 4000)
    out(f"{'garch_fit, 1440 bars, warm start':<44s} {(time.perf_counter() - t0) / 20 * 1e3:8.2f} ms")


PROBE = """
import time, numpy as np
t0 = time.perf_counter()
from tapescope.engine import garch_kernels as gk
t1 = time.perf_counter()
r = np.random.default_rng(0).standard_normal(1440) * 1e-3
p = gk.garch_fit(r, np.full(4, np.nan), 4000)[0]
gk.garch_backcast(r); gk.garch_filter(p[0], p[1], p[2], p[3], r, 1e-6)
t2 = time.perf_counter()
from tapescope.engine import profile_kernels as pk
pk.value_area(np.ones(10), 0.7)
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}")
"""


def compile_times() -> None:
    cache = ROOT / "engine" / "__pycache__"
    for f in list(cache.glob("garch_kernels*.nb*")) + list(cache.glob("profile_kernels*.nb*")):
        f.unlink()
    env_cmd = [sys.executable, "-c", PROBE]
    for label in ("cold (no cache)", "warm cache", "warm cache"):
        res = subprocess.run(env_cmd, capture_output=True, text=True, check=True)
        imp, garch, prof = (float(x) for x in res.stdout.split())
        out(f"{label:<16s} import+numba {imp:.3f} s, garch kernels {garch:.3f} s, value_area {prof:.3f} s")


if __name__ == "__main__":
    if "--compile" in sys.argv:
        compile_times()
    else:
        costs()
