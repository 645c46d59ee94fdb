"""The microstructure detector suite for one market, behind one small facade.

:class:`Microstructure` owns the fill/cancel attributor and every
level-following and per-second detector, feeds them in the right order, and
keeps a bounded log of their events. The Market calls:

* ``on_trade`` for every print (before the book update that reflects it),
* ``book.apply_delta(..., on_level=micro.on_level)`` inside
  ``begin_update(ts, book)`` / ``end_update(ts)`` for every delta,
* ``on_second(ts, book, spread_z, spread_ticks)`` when event time crosses a second.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from tapescope.engine.book import Book
from tapescope.engine.detectors.attribution import FillCancel
from tapescope.engine.detectors.base import DetectorEvent, DetectorParams
from tapescope.engine.detectors.iceberg import TRADED_OUT, IcebergDetector
from tapescope.engine.detectors.levels import SpoofDetector, WallDetector
from tapescope.engine.detectors.pressure import (
    AbsorptionDetector,
    SpreadWideningDetector,
    VacuumDetector,
)
from tapescope.engine.markers import LadderMarker, MarkerParams, build_markers


@dataclass(frozen=True, slots=True)
class MicroSnapshot:
    """What the microstructure detectors show at one instant."""

    walls: tuple[tuple[int, float, float], ...] = ()
    """Active walls ``(side, price, size)``."""
    events: tuple[DetectorEvent, ...] = ()
    """Most recent detector events, oldest first."""
    fills: float = 0.0
    """Book size decreases attributed to fills, session total."""
    cancels: float = 0.0
    """Book size decreases attributed to cancels, session total."""
    vacuum: bool = False
    """A liquidity vacuum is in progress."""
    vacuum_ratio: float = math.nan
    """Resting size near mid over its rolling median."""
    absorption_ratio: tuple[float, float] = (math.nan, math.nan)
    """Window aggressive volume over typical: (into bids, into asks)."""
    spread_wide: bool = False
    """Spread widening in progress."""
    markers: tuple[LadderMarker, ...] = ()
    """Ladder markers at the snapshot's event time: recent events newest first, then live walls (bounded)."""


class Microstructure:
    """All microstructure detectors of one market."""

    def __init__(self, params: DetectorParams, tick_size: float, max_events: int = 200,
                 markers: MarkerParams | None = None) -> None:
        self.params = params
        self.marker_params = markers if markers is not None else MarkerParams()
        """Lifetimes and bound of the ladder markers in :meth:`snapshot`."""
        self.fill_cancel = FillCancel(int(params.fill_latency_ms * 1_000_000))
        self.walls = WallDetector(params)
        self.spoofs = SpoofDetector(params)
        self.icebergs = IcebergDetector(params)
        self.absorption = AbsorptionDetector(params, tick_size)
        self.vacuum = VacuumDetector(params)
        self.spread = SpreadWideningDetector(params)
        self.events: deque[DetectorEvent] = deque(maxlen=max_events)
        """Bounded log of detector events, oldest first."""
        self.new_events: list[DetectorEvent] = []
        """Events raised since the caller last cleared this list (for alerts and signals)."""
        self._ts = 0
        self._book: Book | None = None
        self._bid = math.nan
        self._ask = math.nan
        # Per-update state of the fast path in on_level (set by begin_update).
        self._spoof_on = False  # both touches exist, so the spoof test runs at all
        self._thr_bid = math.nan  # wall-size threshold per side, fixed between seconds
        self._thr_ask = math.nan
        self._spoof_lo_bid = math.nan  # bounds of where a growth can become a spoof candidate
        self._spoof_hi_ask = math.nan
        # The detectors' own dicts, bound once: on_level reads them for every level to
        # decide whether any detector can care. None of them is ever rebound.
        self._unexplained = self.fill_cancel._unexplained
        self._lost = self.walls._lost
        self._candidates = self.spoofs._candidates
        self._ice_levels = self.icebergs._levels

    def _emit(self, ev: DetectorEvent | None) -> None:
        if ev is not None:
            self.events.append(ev)
            self.new_events.append(ev)

    def on_trade(self, ts: int, price: float, qty: float, side: int) -> None:
        """A print. ``O(1)``."""
        self.fill_cancel.on_trade(ts, price, qty)
        self.absorption.on_trade(qty, side)

    def begin_update(self, ts: int, book: Book) -> None:
        """Start a book update: remember the touch the spoof test measures against
        and this update's wall thresholds. ``O(1)``."""
        self._ts = ts
        self._book = book
        # The touch straight from the SortedList's sublists (as FlowMetrics.on_book
        # reads it): peekitem costs three Python calls per side on every update.
        lists = book.bids._list._lists
        bid = self._bid = lists[-1][-1] if lists else math.nan
        lists = book.asks._list._lists
        ask = self._ask = lists[0][0] if lists else math.nan
        self._spoof_on = bid == bid and ask == ask
        # A wall-sized growth can become a spoof candidate only behind the touch and
        # within spoof_touch_bps of it; twice that distance is a safe outer bound.
        span = 2e-4 * self.params.spoof_touch_bps
        self._spoof_lo_bid = bid * (1.0 - span)
        self._spoof_hi_ask = ask * (1.0 + span)
        # The wall medians change only in on_second, never inside an update.
        walls = self.walls
        self._thr_bid = walls.threshold(1)
        self._thr_ask = walls.threshold(-1)

    def on_level(self, side: int, price: float, old: float, new: float) -> None:
        """Observer for ``Book.apply_delta``: one changed level. ``O(1)``.

        Most levels of a message matter to no detector: no print at the price
        awaits explanation, the level is no spoof candidate, iceberg or active
        wall, and a growth is smaller than the wall threshold. For those the
        only effect of the full path (:meth:`_on_level_full`) is a decrease
        counted as cancelled (and charged to an active wall), done here
        directly; every other level takes the full path, so the outcome is
        identical.
        """
        if price in self._unexplained:
            self._on_level_full(side, price, old, new)
        elif new > old:
            # A growth without prints changes nothing unless it is wall-sized
            # (a spoof candidate) or the level is a tracked iceberg (a refill).
            if (
                self._spoof_on
                and new - old >= (self._thr_bid if side > 0 else self._thr_ask)
            ) or (self._ice_levels and (side, price) in self._ice_levels):
                self._on_level_full(side, price, old, new)
        elif self._candidates and self._spoof_on and (side, price) in self._candidates:
            self._on_level_full(side, price, old, new)
        elif new < old:
            # No print explains it: all cancelled (an iceberg only reacts to fills).
            drop = old - new
            self.fill_cancel.cancels += drop
            if self._lost:
                lost = self._lost.get((side, price))
                if lost is not None:
                    lost[1] += drop

    def on_levels(self, changes: list[tuple[int, float, float, float]]) -> None:
        """Batch observer (``Book.apply_delta_collect``): every changed level of one update.

        Exactly :meth:`on_level` for each ``(side, price, old, new)`` in order,
        with the per-update state held in locals. ``O(changed levels)``.
        """
        unexplained = self._unexplained
        candidates = self._candidates
        ice = self._ice_levels
        lost = self._lost
        spoof_on = self._spoof_on
        thr_bid, thr_ask = self._thr_bid, self._thr_ask
        bid, ask = self._bid, self._ask
        lo_bid, hi_ask = self._spoof_lo_bid, self._spoof_hi_ask
        fc = self.fill_cancel
        full = self._on_level_full
        for side, price, old, new in changes:
            if new > old:
                # A growth is no fill or cancel; it matters only as a wall-sized
                # addition near the touch (spoof), to a tracked iceberg, or as the
                # refill of a level the prints have traded out (consume and iceberg).
                if (
                    (
                        spoof_on
                        and (lo_bid <= price < bid if side > 0 else ask < price <= hi_ask)
                        and new - old >= (thr_bid if side > 0 else thr_ask)
                    )
                    or (ice and (side, price) in ice)
                    or (old > 0.0 and unexplained.get(price, 0.0) >= old * TRADED_OUT)
                ):
                    full(side, price, old, new)
            elif price in unexplained:
                full(side, price, old, new)
            elif candidates and spoof_on and (side, price) in candidates:
                full(side, price, old, new)
            elif new < old:
                # No print explains it: all cancelled (an iceberg only reacts to fills).
                drop = old - new
                fc.cancels += drop
                if lost:
                    wall = lost.get((side, price))
                    if wall is not None:
                        wall[1] += drop

    def _on_level_full(self, side: int, price: float, old: float, new: float) -> None:
        """Every detector's per-level step for one changed level. ``O(1)``.

        A detector is skipped only where its step is provably a no-op: the wall
        bookkeeping without active walls, the spoof test for a growth below the
        threshold or a shrink of a level that is no candidate, and the iceberg
        test for a level that was not traded out and that it does not track.
        """
        ts = self._ts
        fc = self.fill_cancel
        printed = self._unexplained.get(price, 0.0)  # fc.unexplained(price)
        filled, cancelled = fc.on_level(ts, price, old, new)
        if new > 0.0 and 0.0 < old <= printed:
            # Traded out and showing size again in one update (a refill): the prints
            # at this price are used up here and must not explain a later decrease.
            fc.consume(price)
        if self._lost:
            self.walls.on_level(side, price, filled, cancelled)
        if self._spoof_on:
            thr = self._thr_bid if side > 0 else self._thr_ask
            if (new - old >= thr) if new > old else (self._candidates and (side, price) in self._candidates):
                ev = self.spoofs.on_level(
                    ts, side, price, old, new, filled, cancelled, thr, self._bid, self._ask
                )
                if ev is not None:
                    self._emit(ev)
        # The iceberg test acts on a traded-out level or one it already tracks.
        if (old > 0.0 and printed >= old * TRADED_OUT) or (
            self._ice_levels and (side, price) in self._ice_levels
        ):
            ev = self.icebergs.on_level(ts, side, price, old, new, filled, printed)
            if ev is not None:
                self._emit(ev)

    def end_update(self, ts: int) -> None:
        """Close a book update: expire stale prints and re-test this update's pulls
        against the touch after it. Amortised ``O(1)``."""
        fc = self.fill_cancel
        fifo = fc._fifo
        if fifo and fifo[0][0] < ts - fc.latency_ns:  # else end_update would expire nothing
            fc.end_update(ts)
        book = self._book
        if book is not None and self.spoofs._pending:
            bb, ba = book.best_bid(), book.best_ask()
            if bb and ba:
                for ev in self.spoofs.end_update(ts, bb[0], ba[0]):
                    self._emit(ev)

    def on_second(self, ts: int, book: Book, spread_z: float, spread_ticks: float) -> None:
        """Per-second work: walls, absorption, vacuum, spread, expiry."""
        for ev in self.walls.on_second(ts, book):
            self._emit(ev)
        bb, ba = book.best_bid(), book.best_ask()
        bid = bb[0] if bb else math.nan
        ask = ba[0] if ba else math.nan
        mid = (bid + ask) * 0.5
        for ev in self.absorption.on_second(ts, bid, ask):
            self._emit(ev)
        if mid == mid:
            # The wall scan usually covers the vacuum band: reuse it rather than walk the book again.
            scan = self.walls.scan
            near = scan.resting_within(self.params.vacuum_bps) if scan is not None else None
            if near is None:
                near = book.size_within_bps(self.params.vacuum_bps)
            resting = sum(near)
            for ev in self.vacuum.on_second(ts, resting, mid):
                self._emit(ev)
        for ev in self.spread.on_second(ts, spread_z, spread_ticks, mid):
            self._emit(ev)
        self.spoofs.expire(ts)
        self.icebergs.expire(ts)

    def snapshot(self, now: int | None = None) -> MicroSnapshot:
        """Immutable view for the UI at event time ``now`` (default: the last book update).
        ``O(walls log walls + events)``."""
        active = self.walls.active
        return MicroSnapshot(
            walls=tuple([(side, price, size) for (side, price), size in active.items()]),
            events=tuple(self.events),
            fills=self.fill_cancel.fills,
            cancels=self.fill_cancel.cancels,
            vacuum=self.vacuum.active,
            vacuum_ratio=self.vacuum.ratio,
            absorption_ratio=(self.absorption.ratio[1], self.absorption.ratio[-1]),
            spread_wide=self.spread.active,
            markers=build_markers(active, self.events, self._ts if now is None else now,
                                  self.marker_params),
        )
