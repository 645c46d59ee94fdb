"""Open interest: 5 s aggregation, OI delta spikes and the price/OI quadrant.

Input is whatever the feed delivers: OI samples (streamed or polled; the
adaptive polling within rate limits is the feed's job) and prices (mid or
last trade). Definitions:

* Buckets of ``bucket_s`` seconds of event time (default 5 s) close when the
  first event of a later bucket arrives. A bucket's OI and price are the last
  values seen by its end (carried forward through buckets without a sample,
  at most ``spike_window + lookback`` of them after a gap).
* OI delta of bucket k: ``dOI_k = OI_k - OI_{k-1}``.
* Spike: ``z = (dOI_k - mean) / std`` over the previous ``spike_window``
  deltas (sample std; the current one excluded); a spike when
  ``|z| >= spike_z`` and ``|dOI_k| / OI_k >= spike_min_rel``. Sign +1 for an
  OI jump, -1 for a drop.
* Quadrant over the last ``lookback`` buckets (default 12 = 1 min):
  ``dP = P_k - P_{k-L}``, ``dOI = OI_k - OI_{k-L}``. Flat (NEUTRAL) when
  ``|dP| / P < price_min_bps`` bps or ``|dOI| / OI < oi_min_bps`` bps; else
  price up & OI up = LONG_BUILDUP, price up & OI down = SHORT_COVERING,
  price down & OI up = SHORT_BUILDUP, price down & OI down = LONG_LIQUIDATION.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

from tapescope.engine.events import NS_PER_S

NAN = math.nan


class OiQuadrant(IntEnum):
    """Joint direction of price and open interest."""

    NEUTRAL = 0
    """Price or OI roughly unchanged, or not enough data."""
    LONG_BUILDUP = 1
    """Price up, OI up: new longs."""
    SHORT_COVERING = 2
    """Price up, OI down: shorts closing."""
    SHORT_BUILDUP = 3
    """Price down, OI up: new shorts."""
    LONG_LIQUIDATION = 4
    """Price down, OI down: longs closing."""


@dataclass(frozen=True)
class OpenInterestConfig:
    """``[levels.open_interest]``: OI aggregation, spikes and quadrant."""

    bucket_s: int = field(default=5, metadata={"min": 1, "max": 3600})
    """Aggregation bucket, seconds."""
    spike_window: int = field(default=120, metadata={"min": 3, "max": 100000})
    """Previous bucket deltas forming the spike baseline."""
    spike_z: float = field(default=3.0, metadata={"min": 0.0, "max": 100.0})
    """|z| of a bucket delta at or above which it is a spike."""
    spike_min_rel: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})
    """A spike also needs |dOI| / OI at least this (fraction)."""
    spike_min_samples: int = field(default=20, metadata={"min": 2, "max": 100000})
    """No spike before this many baseline deltas exist."""
    lookback: int = field(default=12, metadata={"min": 1, "max": 100000})
    """Buckets over which the quadrant compares price and OI."""
    price_min_bps: float = field(default=2.0, metadata={"min": 0.0, "max": 10000.0})
    """Price changes smaller than this (bps) count as flat."""
    oi_min_bps: float = field(default=5.0, metadata={"min": 0.0, "max": 10000.0})
    """OI changes smaller than this (bps of OI) count as flat."""


@dataclass(frozen=True, slots=True)
class OpenInterestSnapshot:
    """Outputs of :class:`OpenInterestTracker` (as of the last closed bucket)."""

    ts: int = 0
    """Start of the last closed bucket, ns."""
    oi: float = NAN
    """Open interest at the end of the bucket."""
    delta: float = NAN
    """OI change over the last bucket."""
    z: float = NAN
    """z-score of ``delta`` against the baseline."""
    spike: int = 0
    """+1 / -1 when the last bucket's delta is a spike, else 0."""
    last_spike_ts: int | None = None
    """Bucket start of the most recent spike, ns."""
    oi_change: float = NAN
    """OI change over the quadrant lookback."""
    price_change_bps: float = NAN
    """Price change over the quadrant lookback, bps."""
    quadrant: OiQuadrant = OiQuadrant.NEUTRAL
    """Price/OI quadrant."""


def quadrant(dp_bps: float, doi_bps: float, price_min_bps: float, oi_min_bps: float) -> OiQuadrant:
    """Classify price and OI changes (both in bps). O(1).

    >>> quadrant(10, 10, 2, 5).name, quadrant(10, -10, 2, 5).name
    ('LONG_BUILDUP', 'SHORT_COVERING')
    >>> quadrant(-10, 10, 2, 5).name, quadrant(-10, -10, 2, 5).name, quadrant(1, 50, 2, 5).name
    ('SHORT_BUILDUP', 'LONG_LIQUIDATION', 'NEUTRAL')
    """
    if not (abs(dp_bps) >= price_min_bps and abs(doi_bps) >= oi_min_bps) or dp_bps == 0 or doi_bps == 0:
        return OiQuadrant.NEUTRAL
    if dp_bps > 0:
        return OiQuadrant.LONG_BUILDUP if doi_bps > 0 else OiQuadrant.SHORT_COVERING
    return OiQuadrant.SHORT_BUILDUP if doi_bps > 0 else OiQuadrant.LONG_LIQUIDATION


class OpenInterestTracker:
    """5 s OI buckets with delta spikes and the price/OI quadrant.

    >>> t = OpenInterestTracker(OpenInterestConfig(lookback=1, oi_min_bps=1, price_min_bps=1))
    >>> t.on_oi(0, 1000.0); t.on_price(0, 100.0)
    >>> t.on_oi(5_000_000_000, 1010.0); t.on_price(5_000_000_000, 99.0)
    >>> t.on_price(10_000_000_000, 99.0)  # closes bucket 1: OI +10, price -1 %
    >>> s = t.snapshot(); s.delta, s.quadrant.name
    (10.0, 'SHORT_BUILDUP')
    """

    def __init__(self, config: OpenInterestConfig | None = None) -> None:
        self.config = cfg = config or OpenInterestConfig()
        self._bucket = -1
        self._oi = NAN
        self._price = NAN
        self._hist: deque[tuple[float, float]] = deque(maxlen=cfg.lookback + 1)  # (oi, price) per bucket
        self._deltas: deque[float] = deque()
        self._dsum = 0.0
        self._dsq = 0.0
        self._closed = 0
        self._delta = NAN  # of the last closed bucket
        self._z = NAN
        self._spike = 0
        self._last_spike: int | None = None
        self._snap = OpenInterestSnapshot()

    def on_oi(self, ts_ns: int, open_interest: float) -> None:
        """Record an OI sample. O(1) (plus closed buckets after a gap, bounded)."""
        self._advance(ts_ns)
        if open_interest >= 0.0:
            self._oi = open_interest

    def on_price(self, ts_ns: int, price: float) -> None:
        """Record a price (mid or last trade). O(1) like :meth:`on_oi`."""
        self._advance(ts_ns)
        if price > 0.0:
            self._price = price

    def _advance(self, ts_ns: int) -> None:
        cfg = self.config
        b = ts_ns // (cfg.bucket_s * NS_PER_S)
        if b <= self._bucket:
            return
        if self._bucket >= 0:
            cap = cfg.spike_window + cfg.lookback + 1
            first = max(self._bucket, b - cap)
            for k in range(first, b):
                self._close(k * cfg.bucket_s * NS_PER_S)
            self._snap = self._build((b - 1) * cfg.bucket_s * NS_PER_S)
        self._bucket = b

    def _close(self, ts: int) -> None:
        """Close one bucket starting at ``ts``: its delta, z-score and spike. O(1)."""
        if self._oi != self._oi:
            return  # no OI yet: nothing to aggregate
        cfg = self.config
        hist = self._hist
        prev = hist[-1][0] if hist else NAN
        hist.append((self._oi, self._price))
        delta = self._oi - prev if prev == prev else NAN
        self._delta, self._z, self._spike = delta, NAN, 0
        if delta != delta:
            return
        d = self._deltas
        k = len(d)
        if k >= max(cfg.spike_min_samples, 2):
            mean = self._dsum / k
            var = max(self._dsq / k - mean * mean, 0.0) * k / (k - 1)
            if var > 1e-300:
                z = (delta - mean) / math.sqrt(var)
                self._z = z
                oi = self._oi
                if abs(z) >= cfg.spike_z and oi > 0.0 and abs(delta) / oi >= cfg.spike_min_rel:
                    self._spike = 1 if delta > 0 else -1
                    self._last_spike = ts
        d.append(delta)
        self._dsum += delta
        self._dsq += delta * delta
        if len(d) > cfg.spike_window:
            old = d.popleft()
            self._dsum -= old
            self._dsq -= old * old
        self._closed += 1
        if self._closed % (16 * cfg.spike_window) == 0:  # bound add/subtract drift
            self._dsum = math.fsum(d)
            self._dsq = math.fsum(x * x for x in d)

    def _build(self, ts: int) -> OpenInterestSnapshot:
        cfg = self.config
        hist = self._hist
        if not hist:
            return OpenInterestSnapshot(ts=ts)
        oi, price = hist[-1]
        oi_change, dp_bps, quad = NAN, NAN, OiQuadrant.NEUTRAL
        if len(hist) == hist.maxlen:
            oi0, p0 = hist[0]
            oi_change = oi - oi0
            if p0 > 0.0 and price > 0.0:
                dp_bps = (price / p0 - 1.0) * 1e4
                doi_bps = oi_change / oi0 * 1e4 if oi0 > 0.0 else 0.0
                quad = quadrant(dp_bps, doi_bps, cfg.price_min_bps, cfg.oi_min_bps)
        return OpenInterestSnapshot(
            ts=ts,
            oi=oi,
            delta=self._delta,
            z=self._z,
            spike=self._spike,
            last_spike_ts=self._last_spike,
            oi_change=oi_change,
            price_change_bps=dp_bps,
            quadrant=quad,
        )

    def _check(self) -> None:
        """Assert the invariants: baseline sums equal the baseline deltas; window lengths bounded."""
        d = self._deltas
        assert len(d) <= self.config.spike_window
        scale = max((abs(x) for x in d), default=0.0)
        assert abs(self._dsum - math.fsum(d)) <= 1e-9 * max(scale, 1.0) * max(len(d), 1)

    def snapshot(self) -> OpenInterestSnapshot:
        """Outputs as of the last closed bucket. O(1)."""
        return self._snap
