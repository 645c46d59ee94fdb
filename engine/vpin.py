"""VPIN: volume-synchronised probability of informed trading (Easley, Lopez de Prado & O'Hara 2012).

Definition used here (detectors.md, "Information and levels"):

* Trades are cut into equal-volume buckets of size ``V``; a trade that crosses
  a boundary is split, the part that fills the bucket stays in it and the rest
  opens the next one (a trade larger than ``V`` fills several buckets).
* Classification uses each trade's aggressor side from the venue (not bulk
  volume classification): a taker buy adds to ``V_buy``, a taker sell to ``V_sell``.
* ``VPIN = mean over the last n completed buckets of |V_buy - V_sell| / V``
  (default n = 50). Reported once ``min_buckets`` buckets are complete,
  averaged over the completed buckets while fewer than n exist (the paper's
  one-day warm-up is too long for a monitor; ``buckets`` in the snapshot says
  how many are behind the figure).
* ``V``: ``bucket_volume`` from config, or, when it is 0, estimated from the
  stream as *mean daily volume / buckets_per_day* (default 50): the volume of
  the first ``estimate_s`` seconds of event time (default 600 s) scaled to a
  day. The trades of that warm-up are buffered and then bucketed, so no
  volume is lost; ``V`` stays fixed afterwards (changing V would make bucket
  imbalances incomparable).
* z-score: ``(VPIN - mean) / std`` over the VPIN values recorded at the
  previous ``z_window`` bucket completions (the current value excluded,
  sample standard deviation);
  nan until ``z_min`` values exist or when their std is 0.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tapescope.engine.events import NS_PER_S

NAN = math.nan
#: A bucket counts as full when less than this fraction of V is missing (float splitting dust).
FULL_EPS = 1e-9


@dataclass(frozen=True)
class VpinConfig:
    """``[levels.vpin]``: volume buckets and the VPIN average."""

    bucket_volume: float = field(default=0.0, metadata={"min": 0.0})
    """Bucket size V in base units; 0 estimates it from the stream (mean daily volume / buckets_per_day)."""
    buckets_per_day: int = field(default=50, metadata={"min": 1, "max": 100000})
    """Buckets per day of mean volume when V is estimated."""
    estimate_s: int = field(default=600, metadata={"min": 1, "max": 86400})
    """Event-time seconds of volume used to estimate V."""
    window: int = field(default=50, metadata={"min": 1, "max": 100000})
    """n: buckets averaged into VPIN."""
    min_buckets: int = field(default=10, metadata={"min": 1, "max": 100000})
    """VPIN is nan until this many buckets are complete."""
    z_window: int = field(default=500, metadata={"min": 2, "max": 1000000})
    """VPIN values (one per completed bucket) kept for the z-score."""
    z_min: int = field(default=30, metadata={"min": 2, "max": 1000000})
    """The z-score is nan until this many past VPIN values exist."""


@dataclass(frozen=True, slots=True)
class VpinSnapshot:
    """Outputs of :class:`Vpin`."""

    ts: int = 0
    """Event time of the last trade, ns."""
    bucket_volume: float = NAN
    """V (nan while it is being estimated)."""
    buckets: int = 0
    """Completed buckets so far."""
    vpin: float = NAN
    """Mean |V_buy - V_sell| / V over the last ``window`` buckets."""
    z: float = NAN
    """z-score of ``vpin`` against its own history."""
    last_imbalance: float = NAN
    """|V_buy - V_sell| / V of the last completed bucket."""
    fill: float = 0.0
    """Fraction of the current bucket filled."""


class Vpin:
    """Incremental VPIN over volume buckets.

    >>> v = Vpin(VpinConfig(bucket_volume=10.0, window=2, min_buckets=1))
    >>> v.on_trade(0, 100.0, 6.0, 1)    # bucket 1: buy 6
    >>> v.on_trade(1, 100.0, 7.0, -1)   # 4 sells close bucket 1 (|6-4|/10 = 0.2), 3 open bucket 2
    >>> v.on_trade(2, 100.0, 7.0, 1)    # bucket 2: sell 3 + buy 7 -> |7-3|/10 = 0.4
    >>> s = v.snapshot(); s.buckets, round(s.vpin, 12)
    (2, 0.3)
    """

    def __init__(self, config: VpinConfig | None = None) -> None:
        self.config = cfg = config or VpinConfig()
        self._v = cfg.bucket_volume if cfg.bucket_volume > 0.0 else NAN
        self._pending: list[tuple[int, float, int]] = []  # warm-up trades while V is estimated
        self._first_ts = -1
        self._pending_vol = 0.0
        self._buy = 0.0  # current bucket
        self._sell = 0.0
        self._imb = np.zeros(cfg.window)  # last n bucket imbalances (ring)
        self._imb_sum = 0.0
        self._buckets = 0
        self._hist: deque[float] = deque()  # past VPIN values for the z-score
        self._hsum = 0.0
        self._hsq = 0.0
        self._vpin = NAN
        self._z = NAN
        self._last_imb = NAN
        self._ts = 0
        self._snap: VpinSnapshot | None = None

    @property
    def bucket_volume(self) -> float:
        """V, or nan while it is still being estimated. O(1)."""
        return self._v

    def on_trade(self, ts_ns: int, price: float, qty: float, side: int) -> None:
        """Add one trade. O(1 + buckets it completes); the end of the V warm-up replays its trades.

        ``price`` is unused (VPIN is volume-only) but kept for a uniform trade API.
        """
        if not (qty > 0.0):
            return
        self._ts = ts_ns
        self._snap = None
        if self._v != self._v:  # V not known yet: buffer and estimate
            if self._first_ts < 0:
                self._first_ts = ts_ns
            self._pending.append((ts_ns, qty, side))
            self._pending_vol += qty
            elapsed = (ts_ns - self._first_ts) / NS_PER_S
            if elapsed >= self.config.estimate_s:
                self._v = self._pending_vol / elapsed * 86400.0 / self.config.buckets_per_day
                pending, self._pending = self._pending, []
                for _ts, q, s in pending:
                    self._add(q, s)
            return
        self._add(qty, side)

    def _add(self, qty: float, side: int) -> None:
        v = self._v
        while qty > 0.0:
            room = v - self._buy - self._sell
            take = qty if qty < room else room
            if side > 0:
                self._buy += take
            else:
                self._sell += take
            qty -= take
            if v - self._buy - self._sell <= FULL_EPS * v:
                self._close_bucket()
            if qty <= FULL_EPS * v:
                break

    def _close_bucket(self) -> None:
        cfg = self.config
        imb = abs(self._buy - self._sell) / self._v
        self._buy = self._sell = 0.0
        n = cfg.window
        slot = self._buckets % n
        self._imb_sum += imb - float(self._imb[slot])
        self._imb[slot] = imb
        self._buckets += 1
        if self._buckets % (16 * n) == 0:
            self._imb_sum = float(self._imb.sum())  # bound add/subtract drift
        self._last_imb = imb
        held = min(self._buckets, n)
        if held < cfg.min_buckets:
            return
        vpin = self._imb_sum / held
        h = self._hist
        k = len(h)
        self._z = NAN
        if k >= cfg.z_min:
            mean = self._hsum / k
            var = max(self._hsq / k - mean * mean, 0.0)
            if var > 1e-18:
                self._z = (vpin - mean) / math.sqrt(var * k / (k - 1))
        h.append(vpin)
        self._hsum += vpin
        self._hsq += vpin * vpin
        if len(h) > cfg.z_window:
            old = h.popleft()
            self._hsum -= old
            self._hsq -= old * old
        if self._buckets % (16 * cfg.z_window) == 0:
            arr = np.fromiter(h, float, len(h))
            self._hsum, self._hsq = float(arr.sum()), float((arr * arr).sum())
        self._vpin = vpin

    def _check(self) -> None:
        """Assert the invariants: open bucket below V, running sums equal their windows."""
        v = self._v
        if v == v:
            assert not self._pending and 0.0 <= self._buy + self._sell < v * (1 + FULL_EPS)
        held = min(self._buckets, self.config.window)
        assert abs(self._imb_sum - float(self._imb.sum())) <= 1e-9 * max(held, 1)
        assert len(self._hist) <= self.config.z_window
        assert abs(self._hsum - sum(self._hist)) <= 1e-9 * max(len(self._hist), 1)

    def snapshot(self) -> VpinSnapshot:
        """Current outputs (cached until the next trade). O(1)."""
        if self._snap is None:
            v = self._v
            self._snap = VpinSnapshot(
                ts=self._ts,
                bucket_volume=v,
                buckets=self._buckets,
                vpin=self._vpin,
                z=self._z,
                last_imbalance=self._last_imb,
                fill=(self._buy + self._sell) / v if v == v else 0.0,
            )
        return self._snap
