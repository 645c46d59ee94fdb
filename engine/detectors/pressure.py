"""Absorption, liquidity vacuum and spread widening: per-second detectors.

They sample once per whole second of event time (driven by the composite
:class:`~tapescope.engine.detectors.micro.Microstructure`), keep fixed-size
histories, and report an episode once when it starts (re-armed when it ends).
"""

from __future__ import annotations

import math
from collections import deque
from operator import itemgetter
from statistics import median

from tapescope.engine.detectors.base import DetectorEvent, DetectorKind, DetectorParams


class AbsorptionDetector:
    """Absorption: aggressive volume into one side over ``W`` seconds of at least
    ``k`` times its typical ``W``-second value, while that side's best price moves
    no more than ``absorption_max_ticks`` ticks.

    "Typical" is the mean per-second aggressive volume on that side over the
    history before the window, times ``W``. Bid-side absorption (side +1) is
    sellers hitting a bid that holds; ask-side (side -1) is buyers lifting an
    ask that holds. Score = ratio / (2k), capped at 1. ``O(W)`` per second.
    """

    def __init__(self, params: DetectorParams, tick_size: float) -> None:
        self.p = params
        self.tick = tick_size
        cap = params.absorption_history_s + params.absorption_window_s
        # Per closed second: aggressive sell volume (into bids), buy volume (into asks), best bid, best ask.
        self._hist: deque[tuple[float, float, float, float]] = deque(maxlen=cap)
        self._sell = 0.0
        self._buy = 0.0
        self._active = {1: False, -1: False}
        self.ratio = {1: math.nan, -1: math.nan}
        """Latest window volume over typical, per absorbing side."""

    def on_trade(self, qty: float, side: int) -> None:
        """Add a print's size to the current second. ``O(1)``."""
        if side > 0:
            self._buy += qty
        else:
            self._sell += qty

    def on_second(self, ts: int, best_bid: float, best_ask: float) -> list[DetectorEvent]:
        """Close the second that just ended and test both sides."""
        hist = self._hist
        hist.append((self._sell, self._buy, best_bid, best_ask))
        self._sell = self._buy = 0.0
        w = self.p.absorption_window_s
        if len(hist) < 3 * w:
            return []
        items = list(hist)
        recent = items[-w:]
        older = items[:-w]
        events = []
        for side, vol_i, px_i in ((1, 0, 2), (-1, 1, 3)):
            # Same sums in the same order, with C-level item access.
            get = itemgetter(vol_i)
            window = sum(map(get, recent))
            typical = sum(map(get, older)) / len(older) * w
            prices = [r[px_i] for r in recent if r[px_i] == r[px_i]]
            self.ratio[side] = window / typical if typical > 0 else math.nan
            held = (
                bool(prices)
                and max(prices) - min(prices) <= self.p.absorption_max_ticks * self.tick + 1e-12
            )
            firing = held and typical > 0 and window >= self.p.absorption_k * typical
            if firing and not self._active[side]:
                ratio = window / typical
                events.append(
                    DetectorEvent(
                        DetectorKind.ABSORPTION,
                        ts,
                        side,
                        prices[-1],
                        window,
                        min(1.0, ratio / (2 * self.p.absorption_k)),
                        f"{window:.4g} {'sold into bid' if side > 0 else 'bought into ask'} in {w}s = {ratio:.1f}x typical, price held",
                    )
                )
            self._active[side] = firing
        return events


class VacuumDetector:
    """Liquidity vacuum: resting size within ``vacuum_bps`` of mid falls below
    ``vacuum_k`` times its rolling median (per-second samples), for at least
    ``vacuum_min_s`` consecutive seconds (1: the first second below fires; an
    addition to detectors.md so a book refilled within a second of a sweep
    is not called a vacuum). Score = 1 - size/median. ``O(h log h)`` per
    second for ``h`` history samples.
    """

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        self._samples: deque[float] = deque(maxlen=params.vacuum_history_s)
        self.active = False
        """True while the vacuum lasts."""
        self.ratio = math.nan
        """Latest resting size over its median."""
        self._below = 0  # consecutive seconds below the threshold

    def on_second(self, ts: int, resting: float, mid: float) -> list[DetectorEvent]:
        """Test the second's resting size against the median of earlier seconds."""
        samples = self._samples
        events = []
        if len(samples) >= 30:
            med = median(samples)
            self.ratio = resting / med if med > 0 else math.nan
            below = med > 0 and resting < self.p.vacuum_k * med
            self._below = self._below + 1 if below else 0
            firing = self._below >= self.p.vacuum_min_s
            if firing and not self.active:
                events.append(
                    DetectorEvent(
                        DetectorKind.VACUUM,
                        ts,
                        0,
                        mid,
                        resting,
                        min(1.0, 1.0 - resting / med),
                        f"{resting:.4g} resting within {self.p.vacuum_bps:g}bps = {resting / med:.2f}x median",
                    )
                )
            self.active = firing
        samples.append(resting)
        return events


class SpreadWideningDetector:
    """Spread widening: the spread z-score rises above ``spread_z`` (reported once per episode)."""

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        self.active = False
        """True while the spread stays wide."""

    def on_second(
        self, ts: int, spread_z: float, spread_ticks: float, mid: float
    ) -> list[DetectorEvent]:
        """Test the latest spread z-score."""
        firing = spread_z > self.p.spread_z
        events = []
        if firing and not self.active:
            events.append(
                DetectorEvent(
                    DetectorKind.SPREAD_WIDENING,
                    ts,
                    0,
                    mid,
                    spread_ticks,
                    min(1.0, spread_z / (2 * self.p.spread_z)),
                    f"spread {spread_ticks:.1f} ticks, z={spread_z:.1f}",
                )
            )
        self.active = firing
        return events
