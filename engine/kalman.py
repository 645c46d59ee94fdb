"""Kalman local linear trend on mid: smoothed price, velocity and slope t-statistic.

Model, on the natural log of mid sampled once per second of event time (the
last mid of each whole second; working in log price makes the noise settings
scale-free across symbols, in basis points)::

    y_k = level_k + eps_k,                      eps_k ~ N(0, R)
    level_k = level_{k-1} + dt * slope_{k-1} + eta_k
    slope_k = slope_{k-1} + zeta_k

with ``dt`` the seconds since the previous sample and the continuous-time
process noise of a local linear trend over ``dt``::

    Q(dt) = [[ql*dt + qs*dt^3/3, qs*dt^2/2],
             [qs*dt^2/2,         qs*dt     ]]

``ql = (level_noise_bps * 1e-4)^2`` per second, ``qs = (slope_noise_bps *
1e-4)^2`` per second^3, ``R = (meas_noise_bps * 1e-4)^2``. Standard predict /
update equations (tested against a direct matrix implementation).

Outputs: filtered ("smoothed") price ``exp(level)``; slope in bps per second;
velocity ``slope * price`` in price units per second; slope t-statistic
``slope / sqrt(P11 * c)``, where ``c`` is an EWMA (half-life
``scale_halflife_s`` samples) of the normalised innovation squared ``v^2/S``.
``c`` is 1 when the configured noise matches the market; scaling all noise by
a common factor leaves the gain unchanged and scales P by that factor, so
``c`` makes the t-stat honest in markets noisier or calmer than configured
(without it a volatile random walk would read as a trend).
A gap longer than ``max_gap_s`` restarts the filter at the new price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tapescope.engine.events import NS_PER_S

NAN = math.nan


@dataclass(frozen=True)
class KalmanConfig:
    """``[volatility.kalman]``: local linear trend on log mid, 1 s samples."""

    level_noise_bps: float = field(default=0.5, metadata={"min": 1e-6, "max": 1e4})
    """Level process noise, bps per sqrt(second)."""
    slope_noise_bps: float = field(default=0.01, metadata={"min": 1e-9, "max": 1e4})
    """Slope process noise, bps/s per sqrt(second)."""
    meas_noise_bps: float = field(default=1.0, metadata={"min": 1e-6, "max": 1e4})
    """Measurement noise (microstructure), bps."""
    init_slope_bps: float = field(default=0.5, metadata={"min": 1e-9, "max": 1e4})
    """Prior standard deviation of the slope at start, bps/s."""
    scale_halflife_s: float = field(default=60.0, metadata={"min": 1.0, "max": 1e6})
    """Half-life of the innovation-scale EWMA used by the t-stat, samples (seconds)."""
    min_samples: int = field(default=30, metadata={"min": 2, "max": 100000})
    """The t-stat is nan until this many samples have been filtered."""
    max_gap_s: int = field(default=300, metadata={"min": 1, "max": 86400})
    """A gap longer than this (seconds) restarts the filter."""


@dataclass(frozen=True, slots=True)
class TrendSnapshot:
    """Outputs of :class:`LocalLinearTrend`."""

    ts: int = 0
    """Event time of the last sample, ns."""
    samples: int = 0
    """Samples filtered since the (re)start."""
    price: float = NAN
    """Filtered price, exp(level)."""
    slope_bps: float = NAN
    """Slope, bps per second."""
    velocity: float = NAN
    """Slope in price units per second."""
    tstat: float = NAN
    """Slope over its (innovation-scaled) standard error."""
    scale: float = NAN
    """EWMA of the normalised innovation squared (1 when the noise settings fit)."""


class LocalLinearTrend:
    """Local linear trend Kalman filter on 1 s samples of log mid.

    >>> k = LocalLinearTrend()
    >>> for s in range(120):
    ...     k.on_mid(s * NS_PER_S, 100.0 * math.exp(2e-4 * s))  # +2 bps per second
    >>> snap = k.snapshot()
    >>> round(snap.slope_bps, 1), snap.tstat > 10
    (2.0, True)
    """

    def __init__(self, config: KalmanConfig | None = None) -> None:
        self.config = cfg = config or KalmanConfig()
        self._ql = (cfg.level_noise_bps * 1e-4) ** 2
        self._qs = (cfg.slope_noise_bps * 1e-4) ** 2
        self._r = (cfg.meas_noise_bps * 1e-4) ** 2
        self._decay = 0.5 ** (1.0 / cfg.scale_halflife_s)
        self._sec = -1  # second being accumulated
        self._mid = NAN
        self._last = -1  # second of the last filtered sample
        self._n = 0
        self._x0 = self._x1 = 0.0  # level, slope
        self._p00 = self._p01 = self._p11 = 0.0
        self._scale = 1.0
        self._snap: TrendSnapshot | None = None

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Record a mid; the previous second's last mid is filtered when a later second starts. O(1)."""
        if not (mid > 0.0):
            return
        sec = ts_ns // NS_PER_S
        if sec > self._sec:
            if self._sec >= 0:
                self.observe(self._sec, self._mid)
            self._sec = sec
        elif sec < self._sec:
            return  # late mid of a second already filtered
        self._mid = mid

    def observe(self, sec: int, price: float) -> None:
        """Filter one sample taken at whole second ``sec``. O(1).

        >>> k = LocalLinearTrend(); k.observe(10, 50.0); round(k.snapshot().price, 9)
        50.0
        """
        y = math.log(price)
        self._snap = None
        if self._n == 0 or sec - self._last > self.config.max_gap_s:
            self._x0, self._x1 = y, 0.0
            self._p00, self._p01 = self._r, 0.0
            self._p11 = (self.config.init_slope_bps * 1e-4) ** 2
            self._n, self._last, self._scale = 1, sec, 1.0
            return
        dt = float(sec - self._last)
        if dt <= 0.0:
            return
        ql, qs, r = self._ql, self._qs, self._r
        # predict: x = F x, P = F P F' + Q(dt)
        x0 = self._x0 + dt * self._x1
        x1 = self._x1
        p00, p01, p11 = self._p00, self._p01, self._p11
        q00 = ql * dt + qs * dt * dt * dt / 3.0
        q01 = qs * dt * dt / 2.0
        q11 = qs * dt
        a00 = p00 + 2.0 * dt * p01 + dt * dt * p11 + q00
        a01 = p01 + dt * p11 + q01
        a11 = p11 + q11
        # update with H = [1, 0]
        v = y - x0
        s = a00 + r
        k0, k1 = a00 / s, a01 / s
        self._x0, self._x1 = x0 + k0 * v, x1 + k1 * v
        self._p00 = a00 - k0 * a00
        self._p01 = a01 - k0 * a01
        self._p11 = a11 - k1 * a01
        d = self._decay
        self._scale = d * self._scale + (1.0 - d) * (v * v / s)
        self._n += 1
        self._last = sec

    def _check(self) -> None:
        """Assert the invariants: the covariance is symmetric positive semi-definite."""
        if self._n:
            assert self._p00 >= 0.0 and self._p11 >= 0.0
            assert self._p00 * self._p11 - self._p01 * self._p01 >= -1e-30
            assert self._scale > 0.0

    @property
    def state(self) -> tuple[float, float, float, float, float]:
        """``(level, slope, P00, P01, P11)`` of the filter (log-price units). O(1)."""
        return self._x0, self._x1, self._p00, self._p01, self._p11

    def snapshot(self) -> TrendSnapshot:
        """Current outputs (cached until the next sample). O(1)."""
        if self._snap is not None:
            return self._snap
        if self._n == 0:
            self._snap = TrendSnapshot()
            return self._snap
        price = math.exp(self._x0)
        tstat = NAN
        if self._n >= self.config.min_samples and self._p11 > 0.0:
            tstat = self._x1 / math.sqrt(self._p11 * max(self._scale, 1e-12))
        self._snap = TrendSnapshot(
            ts=self._last * NS_PER_S,
            samples=self._n,
            price=price,
            slope_bps=self._x1 * 1e4,
            velocity=self._x1 * price,
            tstat=tstat,
            scale=self._scale,
        )
        return self._snap
