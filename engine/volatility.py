"""Volatility metrics: realised volatility, GARCH(1,1) forecast, volatility regime and state.

Definitions (detectors.md, "Volatility and regime"):

* :class:`RealisedVol`: 1 s mid log-returns (the last mid of each whole second
  of event time against the last mid of the previous second; seconds without
  an update contribute a zero return, at most one long window of them), over
  rolling windows; ``vol = sqrt(mean(r^2) * SECONDS_PER_YEAR)`` with
  ``SECONDS_PER_YEAR = 365 * 86400`` (crypto trades 24/7). Zero-mean
  estimator, as is usual for high-frequency returns.
* ``short_z``: z-score of the short-window vol against its own values at the
  previous ``z_history_s`` closed seconds (sample std; nan until
  ``z_min_samples``); overlapping windows make it a descriptive, not an
  i.i.d., score.
* Volatility state: ``ratio = vol(short) / vol(long)`` (default 5 m / 60 m);
  COMPRESSED below 0.6, EXPANDING above 1.5, else NORMAL; UNKNOWN until the
  long window holds at least twice the short window's samples (before that
  both windows see nearly the same returns and the ratio says nothing).
* :class:`Garch`: GARCH(1,1) on 1 m log-returns of mid. The model is what
  ``arch`` fits by default for ``arch_model(r, mean="Constant", vol="GARCH",
  p=1, q=1)``: a **constant mean** and Gaussian errors, the variance recursion
  started from ``arch``'s 0.94-EWMA backcast. Fitted by maximum likelihood
  (:mod:`tapescope.engine.garch_kernels`) on the last ``window_bars`` returns,
  refitted every ``refit_every`` bars, with the one-step recursion
  ``s2' = omega + alpha * (r - mu)^2 + beta * s2`` between refits. Output: the
  next-bar variance forecast annualised with ``sqrt(365 * 86400 / bar_s)``
  (``sqrt(525600)`` for 1 m bars). Agreement with ``arch`` is tested
  (tests/engine/test_garch.py): alpha and beta within 0.01 absolute, omega
  and the one-step forecast within 1 % relative, log-likelihood within 1e-5
  per observation, on returns scaled to percent or basis points as ``arch``
  recommends (the kernel standardises internally, so our fit does not depend
  on the scale). Difference from ``arch``: alpha + beta is capped at
  1 - 1e-6 (strict stationarity) where ``arch`` allows 1.
  Fallback before ``min_bars`` returns: the RiskMetrics EWMA variance
  (lambda 0.94), seeded with the mean square of the first
  ``fallback_min_bars`` returns; ``fitted`` is False while it is in use.
* Volatility regime: LOW below 30 %, MEDIUM 30-45 %, HIGH above 45 % of the
  annualised GARCH forecast, thresholds per symbol in config. Optional
  (``source = "realised"``, not the default): classify the realised vol of
  the last ``realised_window_s`` seconds instead; on the simulator, whose
  regimes last minutes, that tracks the labels far better (see
  :mod:`tapescope.engine.regime`).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from tapescope.engine.events import NS_PER_S

log = logging.getLogger(__name__)

#: Seconds in a (365-day) year: crypto trades around the clock.
SECONDS_PER_YEAR = 365 * 86400
NAN = math.nan


class VolRegime(IntEnum):
    """Level of the annualised GARCH volatility forecast."""

    UNKNOWN = 0
    """Not enough data for a forecast."""
    LOW = 1
    """Below the low threshold."""
    MEDIUM = 2
    """Between the thresholds."""
    HIGH = 3
    """Above the high threshold."""


class VolState(IntEnum):
    """Short over long realised volatility."""

    UNKNOWN = 0
    """The long window is not yet filled enough."""
    COMPRESSED = 1
    """Ratio below the compressed threshold."""
    NORMAL = 2
    """Ratio between the thresholds."""
    EXPANDING = 3
    """Ratio above the expanding threshold."""


@dataclass(frozen=True)
class RealisedVolConfig:
    """``[volatility.realised]``: realised volatility and volatility state."""

    windows_s: tuple[int, ...] = (60, 300, 3600)
    """Rolling windows reported, seconds of 1 s returns."""
    short_window_s: int = field(default=300, metadata={"min": 2, "max": 86400})
    """Short window of the volatility state ratio, seconds."""
    long_window_s: int = field(default=3600, metadata={"min": 3, "max": 86400})
    """Long window of the volatility state ratio, seconds."""
    compressed_below: float = field(default=0.6, metadata={"min": 0.0, "max": 1.0})
    """State COMPRESSED when short/long vol is below this."""
    expanding_above: float = field(default=1.5, metadata={"min": 1.0, "max": 100.0})
    """State EXPANDING when short/long vol is above this."""
    min_samples: int = field(default=30, metadata={"min": 2, "max": 86400})
    """A window reports nan until it holds this many 1 s returns (or is full)."""
    z_history_s: int = field(default=3600, metadata={"min": 10, "max": 7 * 86400})
    """Per-second values of the short-window vol kept for its z-score."""
    z_min_samples: int = field(default=120, metadata={"min": 2, "max": 7 * 86400})
    """The short-vol z-score is nan until this many past values exist."""


@dataclass(frozen=True)
class GarchConfig:
    """``[volatility.garch]``: GARCH(1,1) on bar returns of mid."""

    bar_s: int = field(default=60, metadata={"min": 1, "max": 86400})
    """Bar length, seconds (60: 1 m log-returns)."""
    window_bars: int = field(default=1440, metadata={"min": 50, "max": 100000})
    """Rolling estimation window, bars."""
    refit_every: int = field(default=15, metadata={"min": 1, "max": 100000})
    """Refit the parameters every this many bars; one-step variance updates in between."""
    min_bars: int = field(default=120, metadata={"min": 30, "max": 100000})
    """First maximum-likelihood fit once this many returns are held."""
    max_evals: int = field(default=4000, metadata={"min": 100, "max": 1000000})
    """Cap on likelihood evaluations per fit."""
    ewma_lambda: float = field(default=0.94, metadata={"min": 0.5, "max": 0.9999})
    """Decay of the EWMA variance used before the first fit."""
    fallback_min_bars: int = field(default=5, metadata={"min": 1, "max": 1000})
    """Bars needed before the EWMA fallback reports a forecast."""


@dataclass(frozen=True)
class VolRegimeConfig:
    """``[volatility.regime]``: annualised vol thresholds (fractions, 0.30 = 30 %) and their input."""

    source: str = field(default="garch", metadata={"choices": ["garch", "realised"]})
    """Vol classified: the GARCH next-bar forecast (detectors.md), or realised vol over
    ``realised_window_s`` (reacts within minutes; see the regime module for measurements)."""
    realised_window_s: int = field(default=120, metadata={"min": 10, "max": 86400})
    """Realised-vol window used when ``source = "realised"``, seconds."""
    low: float = field(default=0.30, metadata={"min": 0.0, "max": 100.0})
    """LOW below this annualised vol."""
    high: float = field(default=0.45, metadata={"min": 0.0, "max": 100.0})
    """HIGH above this annualised vol."""
    overrides: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per-symbol ``"venue:SYMBOL" = [low, high]``."""

    def thresholds_for(self, symbol: str) -> tuple[float, float]:
        """``(low, high)`` for ``symbol``: its override, else the defaults. O(1).

        >>> VolRegimeConfig(overrides={"x:DOGE": (0.6, 0.9)}).thresholds_for("x:DOGE")
        (0.6, 0.9)
        """
        low, high = self.overrides.get(symbol, (self.low, self.high))
        return float(low), float(high)


def classify_regime(ann_vol: float, low: float, high: float) -> VolRegime:
    """Volatility regime of an annualised vol. O(1).

    >>> classify_regime(0.29, 0.30, 0.45).name, classify_regime(0.30, 0.30, 0.45).name
    ('LOW', 'MEDIUM')
    >>> classify_regime(0.46, 0.30, 0.45).name, classify_regime(float("nan"), 0.3, 0.45).name
    ('HIGH', 'UNKNOWN')
    """
    if not math.isfinite(ann_vol):
        return VolRegime.UNKNOWN
    if ann_vol < low:
        return VolRegime.LOW
    if ann_vol > high:
        return VolRegime.HIGH
    return VolRegime.MEDIUM


def classify_state(ratio: float, compressed_below: float, expanding_above: float) -> VolState:
    """Volatility state of a short/long vol ratio. O(1).

    >>> classify_state(0.5, 0.6, 1.5).name, classify_state(1.0, 0.6, 1.5).name, classify_state(1.6, 0.6, 1.5).name
    ('COMPRESSED', 'NORMAL', 'EXPANDING')
    """
    if not math.isfinite(ratio):
        return VolState.UNKNOWN
    if ratio < compressed_below:
        return VolState.COMPRESSED
    if ratio > expanding_above:
        return VolState.EXPANDING
    return VolState.NORMAL


@dataclass(frozen=True, slots=True)
class RealisedVolSnapshot:
    """Outputs of :class:`RealisedVol`."""

    ts: int = 0
    """Event time of the last closed second, ns."""
    vols: tuple[tuple[int, float], ...] = ()
    """``((window_s, annualised vol), ...)``; nan while a window is too empty."""
    short: float = NAN
    """Annualised vol over the short state window."""
    long: float = NAN
    """Annualised vol over the long state window."""
    ratio: float = NAN
    """short / long."""
    state: VolState = VolState.UNKNOWN
    """Volatility state from ``ratio``."""
    short_z: float = NAN
    """z-score of ``short`` against its values at the previous ``z_history_s`` closed seconds."""


class RealisedVol:
    """Rolling realised volatility of 1 s mid log-returns, and the volatility state.

    >>> rv = RealisedVol(RealisedVolConfig(windows_s=(4,), short_window_s=2, long_window_s=4, min_samples=2))
    >>> for s, m in enumerate([100.0, 101.0, 100.0, 101.0, 101.0, 101.0]):
    ...     rv.on_mid(s * NS_PER_S, m)
    >>> snap = rv.snapshot()  # seconds 1..4 closed: ln(1.01), -ln(1.01), ln(1.01), 0
    >>> round(snap.vols[0][1] / math.sqrt(SECONDS_PER_YEAR) / math.log(1.01), 6)  # sqrt(3/4)
    0.866025
    """

    def __init__(self, config: RealisedVolConfig | None = None) -> None:
        self.config = cfg = config or RealisedVolConfig()
        self._windows = tuple(sorted({*cfg.windows_s, cfg.short_window_s, cfg.long_window_s}))
        self._cap = max(self._windows)
        self._ring = np.zeros(self._cap)  # squared 1 s returns, oldest overwritten
        self._pos = 0  # next write slot
        self._count = 0  # returns pushed so far
        self._sums = dict.fromkeys(self._windows, 0.0)
        self._since_resum = 0
        self._sec = -1  # whole second being accumulated
        self._mid = NAN  # last mid seen (in self._sec)
        self._prev_close = NAN  # last mid of the previous closed second
        self._zhist: deque[float] = deque()  # short vol at each closed second
        self._zsum = 0.0
        self._zsq = 0.0
        self._short_z = NAN
        self._snap: RealisedVolSnapshot | None = None

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Record a mid price. O(1), plus O(windows) per closed second.

        A jump of k seconds pushes min(k, longest window) returns.
        """
        if not (mid > 0.0):
            return
        sec = ts_ns // NS_PER_S
        if sec != self._sec:
            if sec < self._sec:
                return  # late mid of a second already closed: the closed return stands
            if self._sec >= 0:
                self._close_seconds(sec)
            self._sec = sec
        self._mid = mid

    def _close_seconds(self, sec: int) -> None:
        close = self._mid
        if self._prev_close > 0.0:
            r = math.log(close / self._prev_close)
            self._push(r * r)
            self._track_short()
            for _ in range(min(sec - self._sec - 1, self._cap)):
                self._push(0.0)  # unchanged mid through the silent seconds
                self._track_short()
        self._prev_close = close
        self._snap = None

    def _track_short(self) -> None:
        """z-score the short vol of the second just closed against the previous ones. O(1)."""
        cfg = self.config
        v = self.vol(cfg.short_window_s)
        if v != v:
            return
        h = self._zhist
        k = len(h)
        self._short_z = NAN
        if k >= max(cfg.z_min_samples, 2):
            mean = self._zsum / k
            var = max(self._zsq / k - mean * mean, 0.0) * k / (k - 1)
            if var > 1e-12 * mean * mean:  # a constant history has no meaningful z
                self._short_z = (v - mean) / math.sqrt(var)
        h.append(v)
        self._zsum += v
        self._zsq += v * v
        if k + 1 > cfg.z_history_s:
            old = h.popleft()
            self._zsum -= old
            self._zsq -= old * old
        if self._count % cfg.z_history_s == 0:
            self._zsum = math.fsum(h)  # bound add/subtract drift once per history turn
            self._zsq = math.fsum(x * x for x in h)

    def _push(self, x: float) -> None:
        ring, cap = self._ring, self._cap
        n = self._count
        for w in self._windows:
            out = ring[(self._pos - w) % cap] if n >= w else 0.0
            self._sums[w] += x - out
        ring[self._pos] = x
        self._pos = (self._pos + 1) % cap
        self._count = n + 1
        self._since_resum += 1
        if self._since_resum >= cap:
            # exact re-summation once per ring turn bounds the add/subtract drift (amortised O(1))
            self._since_resum = 0
            for w in self._windows:
                k = min(w, self._count)
                idx = (self._pos - 1 - np.arange(k)) % cap
                self._sums[w] = float(ring[idx].sum())

    def _check(self) -> None:
        """Assert the invariants: each running sum equals its window's exact sum."""
        for w, s in self._sums.items():
            k = min(w, self._count)
            idx = (self._pos - 1 - np.arange(k)) % self._cap
            exact = float(self._ring[idx].sum())
            scale = exact + float(self._ring.max(initial=0.0))  # drift is relative to what passed through
            assert abs(s - exact) <= 1e-9 * scale + 1e-300, (w, s, exact)

    @property
    def returns(self) -> int:
        """1 s returns pushed so far (silent seconds included). O(1)."""
        return self._count

    def vol(self, window_s: int) -> float:
        """Annualised realised vol over one of the configured windows (nan if too empty). O(1).

        Raises:
            KeyError: ``window_s`` is not a configured window.
        """
        n = min(self._count, window_s)
        s = self._sums[window_s]
        if n < min(self.config.min_samples, window_s) or n == 0:
            return NAN
        return math.sqrt(max(s, 0.0) / n * SECONDS_PER_YEAR)

    def snapshot(self) -> RealisedVolSnapshot:
        """Current outputs (cached until the next closed second). O(windows)."""
        if self._snap is not None:
            return self._snap
        cfg = self.config
        short, long = self.vol(cfg.short_window_s), self.vol(cfg.long_window_s)
        ratio = NAN
        if self._count >= 2 * cfg.short_window_s and long > 0.0:
            ratio = short / long
        self._snap = RealisedVolSnapshot(
            ts=self._sec * NS_PER_S,
            vols=tuple((w, self.vol(w)) for w in cfg.windows_s),
            short=short,
            long=long,
            ratio=ratio,
            state=classify_state(ratio, cfg.compressed_below, cfg.expanding_above),
            short_z=self._short_z,
        )
        return self._snap


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
