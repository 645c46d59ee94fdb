"""Realised volatility of 1 s mid log-returns over rolling windows, and the volatility state.

Definitions in :mod:`tapescope.engine.volatility` (which re-exports these names).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from tapescope.engine.events import NS_PER_S
from tapescope.engine.vol_config import (
    NAN,
    SECONDS_PER_YEAR,
    RealisedVolConfig,
    VolState,
    classify_state,
)


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
