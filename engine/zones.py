"""Supply and demand zones: high-volume-node bands and bases that preceded strong moves.

Volatility unit: the average true range (ATR) of ``bar_s`` bars of price
(default 1 m), a simple mean of the last ``atr_bars`` true ranges
``max(high, prev_close) - min(low, prev_close)``. Every width below is a
multiple of it, so zones widen in volatile markets and tighten in calm ones.

* Base zones. After each closed bar, the last ``move_bars`` bars are the
  candidate move and the bars before them the candidate base: the longest run
  of at most ``base_max_bars`` bars ending there whose total range (highest
  high - lowest low) is at most ``base_range_atr`` x ATR. If it has at least
  ``base_min_bars`` bars and the last close is at least ``move_atr`` x ATR
  above the base high, a DEMAND zone ``[base low - pad, base high + pad]`` is
  created (below the base low: SUPPLY), with ``pad = pad_atr x ATR``;
  strength = the move in ATR. A new base zone overlapping a live zone of the
  same kind and origin is merged into it (union, the larger strength).
* HVN zones. :meth:`Zones.set_nodes` takes the high-volume node prices and
  bin height of a volume profile; each node becomes the band
  ``[node - pad, node + step + pad]``, overlapping bands merged. They are
  SUPPLY when the band lies above the last price, DEMAND below (containing
  the price: by whether the band's centre is above it).
* Life: a DEMAND zone is broken when a bar closes below its low (SUPPLY:
  above its high) and removed; a bar whose range enters a zone after the
  previous bar did not counts a touch. At most ``max_zones`` base zones are
  kept (the oldest leave first).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from enum import IntEnum

from tapescope.engine.events import NS_PER_S

NAN = math.nan


class ZoneKind(IntEnum):
    """Which side a zone is expected to hold."""

    DEMAND = 1
    """Buyers expected: below price, or the base of a rally."""
    SUPPLY = -1
    """Sellers expected: above price, or the base of a drop."""


@dataclass(frozen=True)
class ZonesConfig:
    """``[levels.zones]``: supply/demand zones."""

    bar_s: int = field(default=60, metadata={"min": 1, "max": 86400})
    """Bar length, seconds."""
    atr_bars: int = field(default=14, metadata={"min": 1, "max": 10000})
    """Bars in the ATR average."""
    base_min_bars: int = field(default=3, metadata={"min": 1, "max": 1000})
    """Fewest bars in a base."""
    base_max_bars: int = field(default=12, metadata={"min": 1, "max": 1000})
    """Most bars in a base."""
    base_range_atr: float = field(default=1.5, metadata={"min": 0.0, "max": 100.0})
    """A base's total range is at most this x ATR."""
    move_bars: int = field(default=3, metadata={"min": 1, "max": 1000})
    """Bars after the base in which the strong move happens."""
    move_atr: float = field(default=3.0, metadata={"min": 0.0, "max": 1000.0})
    """Strong move: the last close is at least this x ATR beyond the base."""
    pad_atr: float = field(default=0.25, metadata={"min": 0.0, "max": 100.0})
    """Zone padding on each side, x ATR."""
    max_zones: int = field(default=20, metadata={"min": 1, "max": 1000})
    """Base zones kept."""


@dataclass(frozen=True, slots=True)
class Zone:
    """One supply or demand zone."""

    kind: ZoneKind
    """DEMAND or SUPPLY."""
    origin: str
    """``"base"`` or ``"hvn"``."""
    low: float
    """Lower edge, price."""
    high: float
    """Upper edge, price."""
    created_ts: int
    """Event time the zone was created, ns."""
    strength: float = 0.0
    """Base zones: the move away in ATR; HVN zones: 0."""
    touches: int = 0
    """Times a bar re-entered the zone."""


@dataclass(frozen=True, slots=True)
class ZonesSnapshot:
    """Outputs of :class:`Zones`."""

    ts: int = 0
    """Event time of the last closed bar, ns."""
    atr: float = NAN
    """Average true range, price units."""
    zones: tuple[Zone, ...] = ()
    """Live zones, sorted by low."""


class Zones:
    """Supply/demand zones from bars of price and from volume-profile nodes.

    >>> z = Zones(ZonesConfig(atr_bars=3, base_min_bars=3, move_bars=1, move_atr=1.5, pad_atr=0.0))
    >>> bars = [(100, 101, 99, 100)] * 4 + [(100, 108, 100, 108)]  # 4 quiet bars, then 108 - 101 = 7 >= 1.5 ATR
    >>> for i, (o, h, l, c) in enumerate(bars):
    ...     z.on_bar(i * 60_000_000_000, o, h, l, c)
    >>> [(x.kind.name, x.low, x.high, x.strength) for x in z.snapshot().zones]  # ATR (2+2+8)/3 = 4
    [('DEMAND', 99.0, 101.0, 1.75)]
    """

    def __init__(self, config: ZonesConfig | None = None) -> None:
        self.config = cfg = config or ZonesConfig()
        keep = cfg.base_max_bars + cfg.move_bars + 1
        self._bars: deque[tuple[float, float, float, float]] = deque(maxlen=keep)
        self._trs: deque[float] = deque(maxlen=cfg.atr_bars)
        self._tr_sum = 0.0
        self._base: list[Zone] = []
        self._hvn: list[Zone] = []
        self._nodes: tuple[tuple[float, ...], float] = ((), 0.0)
        self._inside: dict[int, bool] = {}  # id(zone) -> last bar overlapped it
        self._last = NAN
        self._ts = 0
        self._bar = -1
        self._ohlc: list[float] = []
        self._snap: ZonesSnapshot | None = None

    @property
    def atr(self) -> float:
        """Average true range of the held bars (nan before the first bar). O(1)."""
        return self._tr_sum / len(self._trs) if self._trs else NAN

    def on_price(self, ts_ns: int, price: float) -> None:
        """Record a price (mid or trade); a bar closes on the first price of a later bar. O(1)."""
        if not (price > 0.0):
            return
        bar = ts_ns // (self.config.bar_s * NS_PER_S)
        if bar < self._bar:
            return  # late price of a closed bar
        if bar > self._bar:
            if self._ohlc:
                o, h, low, c = self._ohlc
                self.on_bar(self._bar * self.config.bar_s * NS_PER_S, o, h, low, c)
            self._bar = bar
            self._ohlc = [price, price, price, price]
            return
        ohlc = self._ohlc
        if price > ohlc[1]:
            ohlc[1] = price
        elif price < ohlc[2]:
            ohlc[2] = price
        ohlc[3] = price

    def on_bar(self, ts_ns: int, open_: float, high: float, low: float, close: float) -> None:
        """Add a closed bar: ATR, zone touches and breaks, base detection. O(base_max_bars + zones)."""
        prev_close = self._bars[-1][3] if self._bars else NAN
        tr = high - low if prev_close != prev_close else max(high, prev_close) - min(low, prev_close)
        if len(self._trs) == self._trs.maxlen:
            self._tr_sum -= self._trs[0]
        self._trs.append(tr)
        self._tr_sum += tr
        self._bars.append((open_, high, low, close))
        self._ts, self._last = ts_ns, close
        self._age(high, low, close)
        self._detect(ts_ns)
        self._rebuild_hvn()
        self._snap = None

    def _age(self, high: float, low: float, close: float) -> None:
        live = []
        for z in self._base:
            broken = close < z.low if z.kind == ZoneKind.DEMAND else close > z.high
            if broken:
                self._inside.pop(id(z), None)
                continue
            inside = low <= z.high and high >= z.low
            if inside and not self._inside.get(id(z), True):
                self._inside.pop(id(z), None)
                z = replace(z, touches=z.touches + 1)
            self._inside[id(z)] = inside
            live.append(z)
        self._base = live

    def _detect(self, ts_ns: int) -> None:
        cfg = self.config
        bars = list(self._bars)
        atr = self.atr
        end = len(bars) - cfg.move_bars  # base is bars[start:end]
        if end < cfg.base_min_bars or not (atr > 0.0):
            return
        hi, lo = -math.inf, math.inf
        n = 0
        limit = cfg.base_range_atr * atr
        for i in range(end - 1, max(end - cfg.base_max_bars, 0) - 1, -1):
            h2, l2 = max(hi, bars[i][1]), min(lo, bars[i][2])
            if h2 - l2 > limit:
                break
            hi, lo, n = h2, l2, n + 1
        if n < cfg.base_min_bars:
            return
        close = bars[-1][3]
        pad = cfg.pad_atr * atr
        if close - hi >= cfg.move_atr * atr:
            self._add_base(Zone(ZoneKind.DEMAND, "base", lo - pad, hi + pad, ts_ns, (close - hi) / atr))
        elif lo - close >= cfg.move_atr * atr:
            self._add_base(Zone(ZoneKind.SUPPLY, "base", lo - pad, hi + pad, ts_ns, (lo - close) / atr))

    def _add_base(self, zone: Zone) -> None:
        # merge with every live zone of the same kind it overlaps (a union can bridge two zones);
        # the merged zone keeps the oldest one's place, creation time and touch count
        keep: list[Zone] = []
        first = -1
        merged = zone
        inside = True  # the move leaves the zone; re-entry is the first touch
        for z in self._base:
            if z.kind == merged.kind and z.low <= merged.high and merged.low <= z.high:
                if first < 0:
                    first = len(keep)
                    merged = replace(z, low=min(z.low, merged.low), high=max(z.high, merged.high),
                                     strength=max(z.strength, merged.strength))
                else:
                    merged = replace(merged, low=min(z.low, merged.low), high=max(z.high, merged.high),
                                     strength=max(z.strength, merged.strength), touches=max(z.touches, merged.touches))
                inside = inside and self._inside.pop(id(z), True)
            else:
                keep.append(z)
        if first >= 0:
            keep.insert(first, merged)
            self._inside[id(merged)] = inside
            self._base = keep
            return
        self._base.append(zone)
        self._inside[id(zone)] = True
        if len(self._base) > self.config.max_zones:
            old = self._base.pop(0)
            self._inside.pop(id(old), None)

    def set_nodes(self, hvn_prices: tuple[float, ...], step: float) -> None:
        """Set the high-volume nodes (bin prices and bin height) that define HVN zones. O(nodes)."""
        self._nodes = (tuple(hvn_prices), step)
        self._rebuild_hvn()
        self._snap = None

    def _rebuild_hvn(self) -> None:
        prices, step = self._nodes
        atr = self.atr
        pad = self.config.pad_atr * atr if atr == atr else 0.0
        bands: list[list[float]] = []
        for p in sorted(prices):
            lo, hi = p - pad, p + step + pad
            if bands and lo <= bands[-1][1]:
                bands[-1][1] = max(bands[-1][1], hi)
            else:
                bands.append([lo, hi])
        last = self._last
        self._hvn = [
            Zone(ZoneKind.SUPPLY if (lo + hi) / 2 > last else ZoneKind.DEMAND, "hvn", lo, hi, self._ts)
            for lo, hi in bands
        ]

    def _check(self) -> None:
        """Assert the invariants: ordered edges, bounded base zones, same-kind base zones disjoint."""
        assert len(self._base) <= self.config.max_zones
        for z in self._base + self._hvn:
            assert z.low <= z.high and z.touches >= 0, z
        for i, a in enumerate(self._base):
            for b in self._base[i + 1 :]:
                assert a.kind != b.kind or a.high < b.low or b.high < a.low, (a, b)
        assert abs(self._tr_sum - math.fsum(self._trs)) <= 1e-9 * max(self._tr_sum, 1.0)

    def snapshot(self) -> ZonesSnapshot:
        """Live zones, sorted by low (cached until the next bar or node change). O(zones log zones)."""
        if self._snap is None:
            zones = tuple(sorted(self._base + self._hvn, key=lambda z: (z.low, z.high)))
            self._snap = ZonesSnapshot(ts=self._ts, atr=self.atr, zones=zones)
        return self._snap
