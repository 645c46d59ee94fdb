"""LevelsMonitor routes plain inputs to every level metric (engine.levels)."""

from __future__ import annotations

import numpy as np
import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.levels import LevelsMonitor
from tapescope.engine.open_interest import OpenInterestConfig, OpenInterestTracker
from tapescope.engine.profile import ProfileConfig, TpoProfile, VolumeProfile
from tapescope.engine.velocity import Velocity
from tapescope.engine.vpin import Vpin, VpinConfig
from tapescope.engine.vwap import Vwap
from tapescope.engine.zones import Zones, ZonesConfig


def test_bundle_equals_components_fed_directly() -> None:
    rng = np.random.default_rng(2)
    pcfg = ProfileConfig(bin_ticks=2, hvn_ratio=1.2)
    vcfg = VpinConfig(bucket_volume=3.0, min_buckets=1)
    zcfg = ZonesConfig(atr_bars=5)
    ocfg = OpenInterestConfig(lookback=3)
    m = LevelsMonitor("sim:X", tick=0.5, vpin=vcfg, profile=pcfg, open_interest=ocfg, zones=zcfg)
    vp, tpo, vw, vel, vpin, zones = VolumeProfile(0.5, pcfg), TpoProfile(0.5, pcfg), Vwap(), Velocity(), Vpin(vcfg), Zones(zcfg)
    oit = OpenInterestTracker(ocfg)
    t, mid, oi = 0, 100.0, 5000.0
    for _ in range(4000):
        t += int(rng.exponential(0.5) * NS_PER_S)
        mid = round(mid + rng.choice([-0.5, 0.0, 0.5]), 1)
        kind = rng.random()
        if kind < 0.5:
            m.on_mid(t, mid)
            vel.on_mid(t, mid)
            zones.on_price(t, mid)
            oit.on_price(t, mid)
        elif kind < 0.95:
            q, s = float(rng.lognormal(-1, 1)), 1 if rng.random() < 0.5 else -1
            m.on_trade(t, mid, q, s)
            for x in (vp, vw, vel, vpin):
                x.on_trade(t, mid, q, s)
            tpo.on_price(t, mid)
        else:
            oi += rng.normal(0, 10)
            m.on_oi(t, oi)
            oit.on_oi(t, oi)
    snap = m.snapshot()
    assert snap.vpin == vpin.snapshot()
    assert snap.vwap == vw.snapshot()
    assert snap.velocity == vel.snapshot()
    assert snap.tpo.letters == tpo.snapshot().letters
    assert snap.profile.session.poc == vp.snapshot().session.poc
    assert snap.open_interest == oit.snapshot()
    assert snap.open_interest.oi > 0 and snap.open_interest.quadrant in set(type(snap.open_interest.quadrant))
    hvn = vp.snapshot().session.hvn
    assert hvn  # the walk leaves several nodes
    zones.set_nodes(hvn, 1.0)
    assert snap.zones == zones.snapshot()
    assert {z.origin for z in snap.zones.zones} >= {"hvn"}


def test_anchor_passthrough() -> None:
    m = LevelsMonitor("sim:X", tick=1.0)
    m.on_trade(0, 10.0, 1.0, 1)
    m.on_trade(2 * NS_PER_S, 20.0, 1.0, 1)
    m.set_anchor(NS_PER_S)
    assert m.snapshot().vwap.anchored.vwap == 20.0
    m.clear_anchor()
    assert m.snapshot().vwap.anchor_ts is None


def test_analyzers_attach_to_market() -> None:
    from tapescope.engine.events import BookDelta, BookSnapshot, OpenInterest, Trade
    from tapescope.engine.instrument import Instrument
    from tapescope.engine.levels import LevelsAnalyzer
    from tapescope.engine.market import Market
    from tapescope.engine.regime import VolatilityAnalyzer, VolatilityMonitor

    m = Market(Instrument("sim", "X", tick_size=0.5))
    levels = LevelsMonitor("sim:X", tick=0.5, vpin=VpinConfig(bucket_volume=1.0, min_buckets=1))
    vol = VolatilityMonitor("sim:X")
    m.analyzers += [LevelsAnalyzer(levels), VolatilityAnalyzer(vol)]
    m.on_event(BookSnapshot("sim:X", 0, 0, [(100.0, 1.0)], [(101.0, 1.0)]))
    m.on_event(OpenInterest("sim:X", NS_PER_S // 2, 0, 5000.0))
    m.on_event(Trade("sim:X", NS_PER_S, 0, 101.0, 2.0, 1))  # second 1: the trade also forwards OI
    m.on_event(BookDelta("sim:X", 2 * NS_PER_S, 0, [(100.5, 1.0)], []))  # mid 100.75 in second 2
    m.on_event(BookDelta("sim:X", 3 * NS_PER_S, 0, [], [(101.0, 0.0), (102.0, 1.0)]))  # mid 101.25
    m.on_event(BookDelta("sim:X", 5 * NS_PER_S, 0, [(99.0, 1.0)], []))  # closes OI bucket [0, 5 s)
    s = levels.snapshot()
    assert s.vpin.buckets == 2 and s.vwap.session.vwap == 101.0
    # velocity grid, seconds 0..4: trades 0, 1, 0, 0, 0 -> 1/5 per second
    assert s.velocity.trade_rate == pytest.approx(1 / 5)
    assert s.open_interest.ts == 0 and s.open_interest.oi == 5000.0
    assert s.zones.atr != s.zones.atr  # no 1 m bar closed yet: nan
    # Kalman samples: seconds 0 (100.5), 2 (100.75), 3 (101.25)
    t = vol.snapshot().trend
    assert t.samples == 3 and 100.5 < t.price < 101.25


def test_reference_levels_collects_edges_nodes_and_zones() -> None:
    m = LevelsMonitor("sim:X", tick=1.0, profile=ProfileConfig(bin_ticks=1, smooth_bins=1))
    for p, q in [(100.0, 1.0), (101.0, 5.0), (102.0, 1.0), (103.0, 0.5), (104.0, 4.0)]:
        m.on_trade(0, p, q, 1)
    s = m.snapshot()
    prof = s.profile.session
    # volumes 1, 5, 1, 0.5, 4 (total 11.5, 70 % = 8.05): POC 101; up 1 + 0.5 vs down 1 -> up (7.5),
    # then up 4 vs down 1 -> up: VA 101..104
    assert (prof.poc, prof.val, prof.vah) == (101.0, 101.0, 104.0)
    # unsmoothed; mean 2.3: HVN local maxima >= 3.45: 101 (5), 104 (4, top end); LVN <= 1.15: 103
    assert prof.hvn == (101.0, 104.0) and prof.lvn == (103.0,)
    levels = s.reference_levels()
    assert set(levels) >= {101.0, 104.0} and list(levels) == sorted(set(levels))
    assert {z.low for z in s.zones.zones} <= set(levels)
