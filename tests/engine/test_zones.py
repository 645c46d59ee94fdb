"""Supply/demand zones (engine.zones)."""

from __future__ import annotations

import pytest

from tapescope.engine.events import NS_PER_S
from tapescope.engine.zones import ZoneKind, Zones, ZonesConfig

M = 60 * NS_PER_S
CFG = ZonesConfig(atr_bars=4, base_min_bars=3, base_max_bars=6, base_range_atr=1.5, move_bars=2, move_atr=2.0, pad_atr=0.5)


def feed(z: Zones, bars: list[tuple[float, float, float, float]], start: int = 0) -> None:
    for i, b in enumerate(bars):
        z.on_bar((start + i) * M, *b)
        z._check()


def test_atr_by_hand() -> None:
    z = Zones(CFG)
    feed(z, [(10, 12, 9, 11), (11, 15, 11, 14), (14, 14, 10, 10)])
    # TR: 12-9 = 3; max(15,11)-min(11,11) = 4; max(14,14)-min(10,14) = 4 -> mean 11/3
    assert z.atr == pytest.approx(11 / 3)


def test_supply_base_then_touch_then_break() -> None:
    z = Zones(CFG)
    base = [(100, 101, 99, 100)] * 5  # 5 bars, range 2
    drop = [(100, 100, 97, 97), (97, 97, 92, 92)]  # 2 move bars
    feed(z, base + drop)
    # ATR over the last 4 TRs: 2, 2, max(100,100)-min(97,100) = 3, max(97,97)-min(92,97) = 5 -> 3.0
    # base: bars 0..4 (range 2 <= 4.5), move: 99 - 92 = 7 >= 6 -> SUPPLY [99 - 1.5, 101 + 1.5]
    zones = z.snapshot().zones
    assert len(zones) == 1
    s = zones[0]
    assert s.kind == ZoneKind.SUPPLY and s.origin == "base"
    assert (s.low, s.high) == pytest.approx((97.5, 102.5))
    assert s.strength == pytest.approx(7 / 3)
    assert s.created_ts == 6 * M
    feed(z, [(92, 93, 91, 92)], start=7)  # stays away: no new zone (base window now holds the drop)
    feed(z, [(92, 98, 92, 97)], start=8)  # high 98 enters [97.5, 102.5]: a touch, close 97 holds
    (s,) = z.snapshot().zones
    assert s.touches == 1
    feed(z, [(97, 99, 96, 98)], start=9)  # still inside: not a new touch
    assert z.snapshot().zones[0].touches == 1
    feed(z, [(98, 104, 98, 103)], start=10)  # closes above 102.5: broken
    assert z.snapshot().zones == ()


def test_demand_base_and_merge_of_overlapping_detection() -> None:
    z = Zones(ZonesConfig(atr_bars=3, base_min_bars=3, move_bars=1, move_atr=1.5, pad_atr=0.0))
    feed(z, [(100, 101, 99, 100)] * 4 + [(100, 108, 100, 108)])
    (d,) = z.snapshot().zones
    assert d.kind == ZoneKind.DEMAND and (d.low, d.high) == (99, 101)


def test_hvn_zones_merge_and_side() -> None:
    z = Zones(ZonesConfig(atr_bars=2, pad_atr=0.5))
    feed(z, [(100, 102, 100, 101), (101, 103, 101, 102)])  # TR 2, 2 -> ATR 2, pad 1
    z.set_nodes((95.0, 96.0, 110.0), step=1.0)
    zones = z.snapshot().zones
    # 95 -> [94, 97], 96 -> [95, 98] overlap -> [94, 98] DEMAND; 110 -> [109, 112] SUPPLY
    assert [(x.kind, x.origin, x.low, x.high) for x in zones] == [
        (ZoneKind.DEMAND, "hvn", 94.0, 98.0),
        (ZoneKind.SUPPLY, "hvn", 109.0, 112.0),
    ]


def test_on_price_builds_bars() -> None:
    z = Zones(ZonesConfig(atr_bars=5))
    for sec, p in [(0, 10.0), (10, 12.0), (20, 9.0), (59, 11.0), (60, 11.0), (130, 20.0)]:
        z.on_price(sec * NS_PER_S, p)
    # bar 0: O 10 H 12 L 9 C 11 -> TR 3; bar 1: 11/11/11/11 -> TR max(11,11)-min(11,11) = 0
    assert z.atr == pytest.approx(1.5)
    assert z.snapshot().ts == 1 * M


def test_max_zones_keeps_newest() -> None:
    z = Zones(ZonesConfig(atr_bars=3, base_min_bars=3, move_bars=1, move_atr=1.5, pad_atr=0.0, max_zones=2))
    bars = []
    level = 100.0
    for _ in range(4):  # four stair steps up, each a base then a jump of 20
        bars += [(level, level + 1, level - 1, level)] * 4 + [(level, level + 20, level, level + 20)]
        level += 40
        bars += [(level, level + 1, level - 1, level)]
    feed(z, bars)
    lows = [x.low for x in z.snapshot().zones]
    assert len(lows) == 2 and lows == sorted(lows) and lows[-1] > 200
