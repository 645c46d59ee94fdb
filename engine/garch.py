"""GARCH(1,1) next-bar volatility forecast of mid, and the numba kernel warm-up.

The model and its agreement with ``arch`` are described in
:mod:`tapescope.engine.volatility` (which re-exports these names); the
likelihood kernels live in :mod:`tapescope.engine.garch_kernels`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from tapescope.engine.events import NS_PER_S
from tapescope.engine.vol_config import NAN, SECONDS_PER_YEAR, GarchConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GarchSnapshot:
    """Outputs of :class:`Garch`."""

    ts: int = 0
    """Event time of the last bar, ns."""
    bars: int = 0
    """Returns held in the window."""
    fitted: bool = False
    """True once a maximum-likelihood fit exists; False while the EWMA fallback is used."""
    mu: float = NAN
    """Constant mean of the bar log-return."""
    omega: float = NAN
    """GARCH constant (per-bar variance units)."""
    alpha: float = NAN
    """ARCH coefficient."""
    beta: float = NAN
    """GARCH coefficient."""
    variance: float = NAN
    """Next-bar variance forecast of the log-return."""
    forecast_ann: float = NAN
    """Next-bar volatility forecast, annualised."""
    refits: int = 0
    """Maximum-likelihood fits done."""


class Garch:
    """Rolling GARCH(1,1) next-bar volatility forecast from bar closes of mid.

    Feed either bar closes (:meth:`on_bar`) or raw mids (:meth:`on_mid`, which
    builds ``bar_s`` bars on event time), not both.

    >>> g = Garch(GarchConfig(fallback_min_bars=2))
    >>> for i, c in enumerate([100.0, 101.0, 100.0]):
    ...     g.on_bar(i * 60 * NS_PER_S, c)
    >>> snap = g.snapshot()  # EWMA seeded with the mean square of the 2 returns
    >>> snap.fitted, round(snap.variance / math.log(1.01) ** 2, 6)
    (False, 1.0)
    """

    def __init__(self, config: GarchConfig | None = None) -> None:
        self.config = cfg = config or GarchConfig()
        self._ppy = SECONDS_PER_YEAR / cfg.bar_s
        self._ring = np.zeros(cfg.window_bars)
        self._pos = 0
        self._count = 0
        self._prev = NAN  # previous bar close
        self._since_fit = 0
        self._params: np.ndarray | None = None  # mu, omega, alpha, beta
        self._s2 = NAN  # conditional variance of the last return
        self._e = NAN  # last residual
        self._ewma = NAN
        self._seed_sq: list[float] = []
        self._ts = 0
        self._refits = 0
        self._bar = -1  # current bar index for on_mid
        self._bar_mid = NAN
        self._snap: GarchSnapshot | None = None

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Record a mid; a bar closes on the first mid of a later bar. O(1) (refit: see on_bar)."""
        if not (mid > 0.0):
            return
        bar = ts_ns // (self.config.bar_s * NS_PER_S)
        if bar < self._bar:
            return  # late mid of a closed bar
        if bar > self._bar:
            if self._bar >= 0:
                end = (self._bar + 1) * self.config.bar_s * NS_PER_S
                # silent bars (no mid) close unchanged: zero returns, at most one window of them;
                # refits wait for the last bar of the gap (one fit, not one per refit_every bars)
                n = min(bar - self._bar, self.config.window_bars + 1)
                for k in range(n):
                    self._add_bar(end + k * self.config.bar_s * NS_PER_S, self._bar_mid, k == n - 1)
            self._bar = bar
        self._bar_mid = mid

    def on_bar(self, ts_ns: int, close: float) -> None:
        """Add one bar close. O(1); every ``refit_every`` bars an O(window * evals) refit.

        The refit runs the numba kernel (about 5-12 ms for 1440 bars).
        """
        self._add_bar(ts_ns, close, True)

    def _add_bar(self, ts_ns: int, close: float, allow_refit: bool) -> None:
        if not (close > 0.0):
            return
        self._ts = ts_ns
        self._snap = None
        if not (self._prev > 0.0):
            self._prev = close
            return
        r = math.log(close / self._prev)
        self._prev = close
        cfg = self.config
        self._ring[self._pos] = r
        self._pos = (self._pos + 1) % cfg.window_bars
        self._count += 1
        self._since_fit += 1
        self._update_ewma(r)
        if self._params is not None:
            mu, omega, alpha, beta = self._params
            self._s2 = omega + alpha * self._e * self._e + beta * self._s2
            self._e = r - mu
        held = min(self._count, cfg.window_bars)
        due = self._params is None or self._since_fit >= cfg.refit_every
        if allow_refit and held >= cfg.min_bars and due:
            self._refit()

    def _update_ewma(self, r: float) -> None:
        cfg = self.config
        if len(self._seed_sq) < cfg.fallback_min_bars:
            self._seed_sq.append(r * r)
            if len(self._seed_sq) == cfg.fallback_min_bars:
                self._ewma = sum(self._seed_sq) / len(self._seed_sq)
            return
        lam = cfg.ewma_lambda
        self._ewma = lam * self._ewma + (1.0 - lam) * r * r

    def window(self) -> np.ndarray:
        """The returns in the estimation window, oldest first (a copy). O(window)."""
        n = min(self._count, self.config.window_bars)
        if self._count <= self.config.window_bars:
            return self._ring[:n].copy()
        return np.concatenate((self._ring[self._pos :], self._ring[: self._pos]))

    def _refit(self) -> None:
        from tapescope.engine import garch_kernels as gk  # lazy: no numba cost before the first fit

        self._since_fit = 0
        r = self.window()
        if not (float(np.var(r)) > 0.0):
            return  # a flat window has no likelihood maximum; keep what we had
        warm = self._params if self._params is not None else np.full(4, np.nan)
        params, _nll, _evals = gk.garch_fit(r, warm, self.config.max_evals)
        if not np.all(np.isfinite(params)):
            log.warning("GARCH fit returned non-finite parameters; keeping the previous fit")
            return
        bc = gk.garch_backcast(r - r.mean())
        s2, e = gk.garch_filter(params[0], params[1], params[2], params[3], r, bc)
        self._params, self._s2, self._e = params, float(s2), float(e)
        self._refits += 1

    def _check(self) -> None:
        """Assert the invariants: window size, positive variance state, stationary parameters."""
        assert min(self._count, self.config.window_bars) == len(self.window())
        if self._params is not None:
            _mu, omega, alpha, beta = self._params
            assert omega > 0.0 and alpha >= 0.0 and beta >= 0.0 and alpha + beta < 1.0
            assert self._s2 > 0.0 and math.isfinite(self._e)

    def variance(self) -> float:
        """Next-bar variance forecast (GARCH once fitted, else EWMA). O(1)."""
        if self._params is None:
            return self._ewma
        _mu, omega, alpha, beta = self._params
        return float(omega + alpha * self._e * self._e + beta * self._s2)

    def snapshot(self) -> GarchSnapshot:
        """Current outputs (cached until the next bar). O(1)."""
        if self._snap is not None:
            return self._snap
        var = self.variance()
        p = self._params if self._params is not None else (NAN, NAN, NAN, NAN)
        self._snap = GarchSnapshot(
            ts=self._ts,
            bars=min(self._count, self.config.window_bars),
            fitted=self._params is not None,
            mu=float(p[0]),
            omega=float(p[1]),
            alpha=float(p[2]),
            beta=float(p[3]),
            variance=var,
            forecast_ann=math.sqrt(var * self._ppy) if var >= 0.0 else NAN,
            refits=self._refits,
        )
        return self._snap


def warm_up_kernels() -> None:
    """Load (or compile) the numba kernels now instead of at their first use.

    The kernels are imported lazily, so nothing numba-related runs before the
    first GARCH refit (``min_bars`` bars in); the profiles use a pure-Python
    value area until this has run.
    Loading them from the on-disk cache takes about 0.3-1 s (a cold compile,
    once per install, 5-25 s); call this from a worker thread after the first
    frame to move that cost off the event path. O(1) after the first call.
    """
    from tapescope.engine import garch_kernels as gk
    from tapescope.engine import profile_kernels as pk

    r = np.array([0.01, -0.02, 0.015, -0.005, 0.02, -0.01, 0.0, 0.01] * 8)
    gk.garch_fit(r, np.full(4, np.nan), 200)
    gk.garch_filter(0.0, 1e-4, 0.1, 0.8, r, 1e-4)
    gk.garch_backcast(r)
    pk.value_area(np.ones(3), 0.7)
    pk.READY = True
