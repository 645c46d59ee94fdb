"""Velocity: mid change per second, trades per second, and their acceleration.

Computed on a 1 s grid of event time. At each closed second ``k`` (a second
closes when the first event of a later second arrives; silent seconds carry
the last mid and count 0 trades)::

    velocity_k      = (mid_k - mid_{k-W}) / W                price units per second
    velocity_bps_k  = velocity_k / mid_k * 1e4               bps per second
    rate_k          = trades in seconds (k-R, k] / R          trades per second
    accel_k         = (velocity_k - velocity_{k-A}) / A       price units per second^2
    rate_accel_k    = (rate_k - rate_{k-A}) / A               trades per second^2

``mid_k`` is the last mid of second ``k``; W = ``window_s`` (default 5),
R = ``rate_window_s`` (default 10), A = ``accel_s`` (default 5). Before W (R,
A) seconds of history exist the value is nan (the rate uses the seconds seen).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from tapescope.engine.events import NS_PER_S

NAN = math.nan


@dataclass(frozen=True)
class VelocityConfig:
    """``[levels.velocity]``: velocity and trade-rate windows."""

    window_s: int = field(default=5, metadata={"min": 1, "max": 3600})
    """W: seconds over which the mid change is measured."""
    rate_window_s: int = field(default=10, metadata={"min": 1, "max": 3600})
    """R: seconds over which trades are counted."""
    accel_s: int = field(default=5, metadata={"min": 1, "max": 3600})
    """A: seconds between the two velocities (rates) differenced for acceleration."""


@dataclass(frozen=True, slots=True)
class VelocitySnapshot:
    """Outputs of :class:`Velocity` (as of the last closed second)."""

    ts: int = 0
    """Start of the last closed second, ns."""
    velocity: float = NAN
    """Mid change per second, price units."""
    velocity_bps: float = NAN
    """Mid change per second, bps of mid."""
    accel: float = NAN
    """Change of velocity per second."""
    trade_rate: float = NAN
    """Trades per second."""
    trade_rate_accel: float = NAN
    """Change of the trade rate per second."""


class Velocity:
    """Mid velocity and trade rate on a 1 s grid.

    >>> v = Velocity(VelocityConfig(window_s=2, rate_window_s=2, accel_s=1))
    >>> for s, mid in enumerate([100.0, 101.0, 103.0, 106.0]):
    ...     v.on_mid(s * 1_000_000_000, mid)
    >>> v.on_trade(3_500_000_000, 106.0, 1.0, 1)
    >>> v.on_mid(4_000_000_000, 106.0)  # closes second 3: vel (106-101)/2 = 2.5, previous (103-100)/2 = 1.5
    >>> s = v.snapshot(); s.velocity, s.accel, s.trade_rate
    (2.5, 1.0, 0.5)
    """

    def __init__(self, config: VelocityConfig | None = None) -> None:
        self.config = cfg = config or VelocityConfig()
        self._sec = -1
        self._mid = NAN
        self._count = 0  # trades in the open second
        self._mids: deque[float] = deque(maxlen=cfg.window_s + 1)
        self._counts: deque[int] = deque(maxlen=cfg.rate_window_s)
        self._count_sum = 0
        self._vels: deque[float] = deque(maxlen=cfg.accel_s + 1)
        self._rates: deque[float] = deque(maxlen=cfg.accel_s + 1)
        self._snap = VelocitySnapshot()

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Record a mid. O(1); a jump of k seconds closes min(k, history) seconds."""
        sec = ts_ns // NS_PER_S
        if not (mid > 0.0) or sec < self._sec:
            return  # late mids of closed seconds are dropped
        self._advance(sec)
        self._mid = mid

    def on_trade(self, ts_ns: int, price: float, qty: float, side: int) -> None:
        """Count a trade. O(1) like :meth:`on_mid`."""
        self._advance(ts_ns // NS_PER_S)
        self._count += 1

    def _advance(self, sec: int) -> None:
        if sec <= self._sec:
            return
        if self._sec >= 0:
            cfg = self.config
            cap = max(cfg.window_s, cfg.rate_window_s, cfg.accel_s) + 1
            # seconds beyond the history length would only shift it further: skip them
            for k in range(min(sec - self._sec, cap)):
                self._close(self._count if k == 0 else 0)
                self._count = 0
            self._snap = self._build((sec - 1) * NS_PER_S)
        self._sec = sec

    def _close(self, count: int) -> None:
        cfg = self.config
        mids, counts = self._mids, self._counts
        mids.append(self._mid)
        if len(counts) == counts.maxlen:
            self._count_sum -= counts[0]
        counts.append(count)
        self._count_sum += count
        vel = (mids[-1] - mids[0]) / cfg.window_s if len(mids) == mids.maxlen else NAN
        self._vels.append(vel)
        self._rates.append(self._count_sum / len(counts))

    def _build(self, ts: int) -> VelocitySnapshot:
        cfg = self.config
        vels, rates = self._vels, self._rates
        vel = vels[-1]
        full = len(vels) == vels.maxlen
        mid = self._mids[-1]
        return VelocitySnapshot(
            ts=ts,
            velocity=vel,
            velocity_bps=vel / mid * 1e4 if mid > 0.0 else NAN,
            accel=(vel - vels[0]) / cfg.accel_s if full else NAN,
            trade_rate=rates[-1],
            trade_rate_accel=(rates[-1] - rates[0]) / cfg.accel_s if full else NAN,
        )

    def _check(self) -> None:
        """Assert the invariants: the running trade count equals the counted window."""
        assert self._count_sum == sum(self._counts) and self._count >= 0
        assert len(self._vels) == len(self._rates) <= self.config.accel_s + 1

    def snapshot(self) -> VelocitySnapshot:
        """Outputs as of the last closed second. O(1)."""
        return self._snap
