"""Walls and spoofing: detectors that follow individual price levels (icebergs,
the third, live in :mod:`~tapescope.engine.detectors.iceberg` and are re-exported here).

All three are driven by the composite :class:`~tapescope.engine.detectors.micro.Microstructure`,
which hands them each changed level together with its fill/cancel split.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

import numpy as np

from tapescope.engine.book import Book
from tapescope.engine.detectors.band import BandScan, median_and_kth_largest
from tapescope.engine.detectors.base import DetectorEvent, DetectorKind, DetectorParams
from tapescope.engine.detectors.iceberg import IcebergDetector

__all__ = ["IcebergDetector", "SpoofDetector", "WallDetector"]

NS = 1_000_000_000


class WallDetector:
    """Liquidity walls: a level within ``wall_range_pct`` of mid whose size is at
    least ``wall_k`` times the median level size on its side in that range and
    that has rested at least ``wall_min_rest_s``.

    Additions to the definition in detectors.md (each can be switched off in
    ``[detectors]``), because book depth naturally grows away from the touch
    and one large order wobbles around any fixed threshold:

    * **Typical median**: the side median is the larger of the current one and
      the median of the last ``wall_median_s`` per-second medians, so a
      transient hollow in the book (a vacuum thins every level near mid for a
      few seconds) does not make ordinary levels "5x the median".
    * **Relative to the touch**: the level must also be at least
      ``wall_touch_k`` times the mean size of the ``wall_touch_levels``
      levels nearest mid on its side. On a deep real book the median level
      within 1 % is a stray small order, so the median rule alone reports
      hundreds of ordinary orders; the touch is what a trader compares a
      wall with. The spoof detector uses the same threshold.
      ``wall_touch_k = 0`` disables the test.
    * **Local prominence**: the level must also be at least ``wall_local_k``
      times the median of its ``wall_local_levels`` nearest levels on each side
      (same book side, inside the range). A level that is merely as deep as
      its neighbours far from mid is the book's depth profile, not a wall.
      ``wall_local_levels = 0`` disables the test.
    * **Hysteresis**: once reported, a wall stays one wall (no new report)
      until its size falls below ``wall_release_frac`` x the threshold or it
      leaves the book or the range.
    * **Re-report cool-off**: a level whose wall ended is not reported again
      within ``wall_rereport_s``, unless it comes back at least
      ``wall_rereport_growth`` x the largest size the ended wall showed (a new,
      bigger order at the same price, not the old one wobbling). Likewise an
      active wall that grows to ``wall_rereport_growth`` x the size it was
      reported at, and rests so for ``wall_min_rest_s``, is reported again.

    Optional flood control: with ``wall_max_per_side = n > 0`` only the ``n``
    largest levels of a side can become new walls.

    Evaluated once per second of event time (so rest time has 1 s resolution):
    ``O(k log k + w n)`` for the ``k`` levels inside the range, ``w`` of them
    above the threshold and ``n = wall_local_levels``; never per message.
    A wall that leaves is reported as pulled when at least half of the size it
    lost went by cancellation.
    """

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        self.median: dict[int, float] = {1: math.nan, -1: math.nan}
        """Median level size per side within range at the last evaluation."""
        self._threshold: dict[int, float] = {1: math.nan, -1: math.nan}
        n = max(1, params.wall_median_s)
        self._medians: dict[int, deque[float]] = {1: deque(maxlen=n), -1: deque(maxlen=n)}
        self._first_seen: dict[tuple[int, float], int] = {}
        self.active: dict[tuple[int, float], float] = {}
        """Reported walls: ``(side, price) -> size``."""
        self._lost: dict[tuple[int, float], list[float]] = {}  # key -> [filled, cancelled]
        # key -> (ts its wall ended, largest size it showed), for the re-report cool-off
        self._ended: dict[tuple[int, float], tuple[int, float]] = {}
        self._peak: dict[tuple[int, float], float] = {}
        self._reported: dict[tuple[int, float], float] = {}  # size when last reported
        self._grow_seen: dict[tuple[int, float], int] = {}  # since when it is much bigger
        self.scan: BandScan | None = None
        """The levels within range read by the last :meth:`on_second` (None without a mid)."""

    def threshold(self, side: int) -> float:
        """Size a new wall on ``side`` needs now (``nan`` before the first evaluation):
        ``wall_k`` x the median, at least ``wall_touch_k`` x the touch mean and, with
        ``wall_max_per_side``, at least the side's n-th largest level. The spoof detector
        reads it as "wall-sized"."""
        return self._threshold[side]

    def on_level(self, side: int, price: float, filled: float, cancelled: float) -> None:
        """Accumulate how an active wall is losing size. ``O(1)``."""
        lost = self._lost.get((side, price))
        if lost is not None:
            lost[0] += filled
            lost[1] += cancelled

    def _local_ratios(self, sizes: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Local prominence of the levels ``idx`` of ``sizes``: size over the median of its
        ``wall_local_levels`` nearest levels on each side (``nan`` when the test is off).

        The median is ``statistics.median`` of the neighbours' sizes and the ratio
        one float division (``inf`` over a zero median), level by level: only the
        few levels at or above a side's entry threshold are asked, for which
        plain Python beats numpy's per-call overhead (sliding windows, row sorts)
        several times over. ``O(k n log n)`` for ``k`` levels.
        """
        nl = self.p.wall_local_levels
        k = len(idx)
        if nl <= 0 or k == 0:
            return np.full(k, math.nan)
        out = []
        for i in idx.tolist():
            local = median(sizes[max(0, i - nl) : i].tolist() + sizes[i + 1 : i + 1 + nl].tolist())
            out.append(float(sizes[i]) / local if local > 0 else math.inf)
        return np.array(out)

    def _grown(
        self,
        ts: int,
        key: tuple[int, float],
        size: float,
        med: float,
        threshold: float,
        rest_ns: int,
    ) -> DetectorEvent | None:
        """Re-report an active wall that has rested ``wall_rereport_growth`` x its reported size."""
        before = self._reported[key]
        if size < self.p.wall_rereport_growth * before:
            self._grow_seen.pop(key, None)
            return None
        since = self._grow_seen.setdefault(key, ts)
        if ts - since < rest_ns:
            return None
        del self._grow_seen[key]
        self._reported[key] = size
        return DetectorEvent(
            DetectorKind.WALL,
            ts,
            key[0],
            key[1],
            size,
            min(1.0, size / (2 * threshold)),
            f"{size:.4g} = {size / med:.1f}x median, grew from {before:.4g}",
        )

    def on_second(self, ts: int, book: Book) -> list[DetectorEvent]:
        """Re-evaluate walls; return newly reported and pulled walls."""
        self.scan = None
        mid = book.mid()
        if mid is None:
            return []
        p = self.p
        band = mid * p.wall_range_pct / 100.0
        scan = self.scan = BandScan.of(book, mid, mid - band, mid + band)
        events: list[DetectorEvent] = []
        rest_ns = int(p.wall_min_rest_s * NS)
        cool_ns = int(p.wall_rereport_s * NS)
        seen: set[tuple[int, float]] = set()
        seen_add = seen.add
        active, peak, reported, grow_seen = self.active, self._peak, self._reported, self._grow_seen
        growth = p.wall_rereport_growth
        local_k = p.wall_local_k
        check_local = p.wall_local_levels > 0
        for side, prices, sizes in ((1, scan.bid_prices, scan.bid_sizes), (-1, scan.ask_prices, scan.ask_sizes)):
            n = len(sizes)
            if n < 3:
                continue
            # The median and the n-th largest level (wall_max_per_side) from one partition.
            med, nth = median_and_kth_largest(sizes, p.wall_max_per_side)
            if p.wall_median_s > 0:
                recent = self._medians[side]
                recent.append(med)
                med = max(med, median(recent))
            self.median[side] = med
            threshold = p.wall_k * med
            if p.wall_touch_k > 0.0:
                # The touch end of the band: bids ascend to the touch, asks start at it.
                near = (sizes[-p.wall_touch_levels :] if side > 0 else sizes[: p.wall_touch_levels]).tolist()
                threshold = max(threshold, p.wall_touch_k * sum(near) / len(near))
            release = p.wall_release_frac * threshold
            entry = threshold
            if 0 < p.wall_max_per_side < n:
                # Only the few largest levels on a side can become (new) walls.
                entry = max(threshold, nth)
            # "Wall-sized" for the spoof detector: what a new wall needs now.
            self._threshold[side] = entry
            # Only levels at least this big can be (or stay) walls: an active wall
            # below ``release`` ends, any other level below ``entry`` is skipped.
            # Scanning just those, in price order, gives the full scan's outcome.
            cut = release if release < entry else entry
            idx = np.flatnonzero(sizes >= cut)
            cand_sizes = sizes[idx]
            # Prominence is only asked of levels at or above ``entry`` (not yet walls).
            tested = cand_sizes >= entry
            ratios = np.full(len(idx), math.nan)
            if tested.any():
                ratios[tested] = self._local_ratios(sizes, idx[tested])
            for price, size, local_x in zip(prices[idx].tolist(), cand_sizes.tolist(), ratios.tolist(), strict=True):
                key = (side, price)
                if key in active:
                    if size >= release:  # hysteresis: still the same wall
                        seen_add(key)
                        active[key] = size
                        if size > peak[key]:
                            peak[key] = size
                        if size < growth * reported[key]:
                            # _grown's no-growth case, inlined (most active walls, every second).
                            if grow_seen:
                                grow_seen.pop(key, None)
                        else:
                            ev = self._grown(ts, key, size, med, threshold, rest_ns)
                            if ev is not None:
                                events.append(ev)
                    continue
                if size < entry:
                    continue
                if check_local and not local_x >= local_k:
                    continue
                seen.add(key)
                first = self._first_seen.setdefault(key, ts)
                if ts - first < rest_ns:
                    continue
                ended = self._ended.get(key)
                if (
                    ended is not None
                    and ts - ended[0] < cool_ns
                    and size < p.wall_rereport_growth * ended[1]
                ):
                    continue
                self._ended.pop(key, None)
                self.active[key] = size
                self._peak[key] = size
                self._reported[key] = size
                self._lost[key] = [0.0, 0.0]
                local = f", {local_x:.1f}x neighbours" if local_x == local_x else ""
                events.append(
                    DetectorEvent(
                        DetectorKind.WALL,
                        ts,
                        side,
                        price,
                        size,
                        min(1.0, size / (2 * threshold)),
                        f"{size:.4g} = {size / med:.1f}x median{local}, rested {(ts - first) / NS:.0f}s",
                    )
                )
        # Set difference in C; deleting in any order leaves the same dict.
        first_seen = self._first_seen
        for key in first_seen.keys() - seen:
            del first_seen[key]
        for key in [k for k in self.active if k not in seen]:
            size = self.active.pop(key)
            self._ended[key] = (ts, self._peak.pop(key))
            self._reported.pop(key, None)
            self._grow_seen.pop(key, None)
            filled, cancelled = self._lost.pop(key)
            if cancelled >= 0.5 * (filled + cancelled) and cancelled > 0:
                events.append(
                    DetectorEvent(
                        DetectorKind.WALL_PULLED,
                        ts,
                        key[0],
                        key[1],
                        size,
                        min(1.0, cancelled / size),
                        f"{cancelled:.4g} cancelled vs {filled:.4g} filled",
                    )
                )
        if self._ended:
            for key in [k for k, (t, _) in self._ended.items() if ts - t >= cool_ns]:
                del self._ended[key]
        return events


class SpoofDetector:
    """Spoofing: a wall-sized order appears within ``spoof_touch_bps`` of the touch
    and is cancelled (not filled) within ``spoof_max_life_s`` while price approaches it.

    Two additions to the definition in detectors.md, so ordinary queue churn
    at a busy level is not called spoofing:

    * **Stand-alone addition**: the wall-sized increase must land on a level
      holding at most ``spoof_max_prior_frac`` x the added size (one new
      order dominating its level, not a gradual build-up of a deep level).
    * **Behind the touch**: the order is placed at least one tick (and at least
      ``spoof_min_touch_bps``) behind the
      touch (an order joining the touch is a quote that trades first; price
      cannot approach it). Its pull is a spoof only while the touch has not
      gone past it (otherwise the pulled order was itself the touch).
    * **Real approach**: "while price approaches it" is read as the touch
      having covered at least ``spoof_min_approach_frac`` of its distance to
      the order at placement (and mid having come closer), not a one-tick
      wobble of the spread. The touch is taken before and, when that fails,
      after the book update that shows the pull (:meth:`end_update`), since
      one update often carries both the price move and the pull.
    * **One pull**: at least ``spoof_min_cancel_frac`` of the added size must
      leave by cancellation in a single book update. A level trimmed by many
      small cancels is ordinary churn; once fills exceed ``1 -
      spoof_min_cancel_frac`` of the size the order is trading, not spoofing,
      and is dropped.

    Score in [0, 1] = 0.5 * size term (size / 2x threshold, capped) + 0.3 *
    closeness to the touch + 0.2 * repetition (spoofs on that side in the
    repeat window / 3, capped). ``O(1)`` per changed level.
    """

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        # (side, price) -> [placed_ts, size, touch_bps, mid_distance, filled, cancelled]
        self._candidates: dict[tuple[int, float], list[float]] = {}
        self._recent: dict[int, deque[int]] = {1: deque(), -1: deque()}
        # Pulls whose approach test waits for the touch after the update: (key, cand, ts, threshold)
        self._pending: list[tuple[tuple[int, float], list[float], int, float]] = []

    def on_level(
        self,
        ts: int,
        side: int,
        price: float,
        old: float,
        new: float,
        filled: float,
        cancelled: float,
        threshold: float,
        best_bid: float,
        best_ask: float,
    ) -> DetectorEvent | None:
        """Track candidates and report a spoof when one is pulled. ``O(1)``."""
        key = (side, price)
        mid = (best_bid + best_ask) * 0.5
        p = self.p
        if new > old:
            added = new - old
            if not added >= threshold:  # also False while threshold is nan
                return None
            if old > p.spoof_max_prior_frac * added:
                return None  # a deep level growing, not one stand-alone order
            touch = best_bid if side > 0 else best_ask
            touch_bps = (touch - price) * side / touch * 1e4
            if 0.0 < touch_bps <= p.spoof_touch_bps and touch_bps >= p.spoof_min_touch_bps:
                self._candidates[key] = [ts, added, touch_bps, abs(price - mid), 0.0, 0.0]
            return None
        cand = self._candidates.get(key)
        if cand is None:
            return None
        cand[4] += filled
        cand[5] += cancelled
        if ts - cand[0] > p.spoof_max_life_s * NS:
            del self._candidates[key]
            return None
        if cand[4] > (1.0 - p.spoof_min_cancel_frac) * cand[1] + 1e-12:
            del self._candidates[key]  # it is trading: whatever leaves now is not a pure pull
            return None
        if cancelled < p.spoof_min_cancel_frac * cand[1]:
            return None  # not (yet) one pull of the order
        del self._candidates[key]
        if not self._approached(side, price, cand, best_bid, best_ask):
            # The update that shows the pull may also move the touch: test again after it.
            self._pending.append((key, cand, ts, threshold))
            return None
        return self._report(ts, side, price, cand, threshold)

    def _approached(
        self, side: int, price: float, cand: list[float], best_bid: float, best_ask: float
    ) -> bool:
        """Mid came closer and the touch covered ``spoof_min_approach_frac`` of its distance."""
        touch = best_bid if side > 0 else best_ask
        if touch != touch:
            return False
        touch_bps = (touch - price) * side / touch * 1e4
        mid = (best_bid + best_ask) * 0.5
        # A touch beyond the order means the pulled order was the touch itself.
        return (
            abs(price - mid) < cand[3]
            and 0.0 <= touch_bps <= (1.0 - self.p.spoof_min_approach_frac) * cand[2]
        )

    @property
    def has_pending(self) -> bool:
        """Pulls of the current update wait for :meth:`end_update`."""
        return bool(self._pending)

    def end_update(self, ts: int, best_bid: float, best_ask: float) -> list[DetectorEvent]:
        """Re-test pulls of this update against the touch after it. ``O(pulls)``."""
        if not self._pending:
            return []
        pending, self._pending = self._pending, []
        return [
            self._report(t, key[0], key[1], cand, thr)
            for key, cand, t, thr in pending
            if self._approached(key[0], key[1], cand, best_bid, best_ask)
        ]

    def _report(
        self, ts: int, side: int, price: float, cand: list[float], threshold: float
    ) -> DetectorEvent:
        recent = self._recent[side]
        window = int(self.p.spoof_repeat_window_s * NS)
        while recent and recent[0] < ts - window:
            recent.popleft()
        recent.append(ts)
        score = (
            0.5 * min(1.0, cand[1] / (2 * threshold))
            + 0.3 * (1.0 - cand[2] / self.p.spoof_touch_bps)
            + 0.2 * min(1.0, len(recent) / 3)
        )
        life = (ts - cand[0]) / NS
        return DetectorEvent(
            DetectorKind.SPOOF,
            ts,
            side,
            price,
            cand[1],
            min(1.0, score),
            f"{cand[1]:.4g} placed {cand[2]:.1f}bps from touch, pulled after {life:.1f}s, x{len(recent)}",
        )

    def expire(self, ts: int) -> None:
        """Forget candidates older than the maximum life. ``O(candidates)``, called per second."""
        limit = ts - int(self.p.spoof_max_life_s * NS)
        for key in [k for k, c in self._candidates.items() if c[0] < limit]:
            del self._candidates[key]
