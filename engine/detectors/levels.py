"""Walls, spoofing and icebergs: detectors that follow individual price levels.

All three are driven by the composite :class:`~tapescope.engine.detectors.micro.Microstructure`,
which hands them each changed level together with its fill/cancel split.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

from tapescope.engine.book import Book
from tapescope.engine.detectors.base import DetectorEvent, DetectorKind, DetectorParams

NS = 1_000_000_000


class WallDetector:
    """Liquidity walls: a level within ``wall_range_pct`` of mid whose size is at
    least ``wall_k`` times the median level size on its side in that range and
    that has rested at least ``wall_min_rest_s``.

    Evaluated once per second of event time (so rest time has 1 s resolution):
    ``O(k log k)`` for the ``k`` levels inside the range, never per message.
    A wall that leaves is reported as pulled when at least half of the size it
    lost went by cancellation.
    """

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        self.median: dict[int, float] = {1: math.nan, -1: math.nan}
        """Median level size per side within range at the last evaluation."""
        self._first_seen: dict[tuple[int, float], int] = {}
        self.active: dict[tuple[int, float], float] = {}
        """Reported walls: ``(side, price) -> size``."""
        self._lost: dict[tuple[int, float], list[float]] = {}  # key -> [filled, cancelled]

    def threshold(self, side: int) -> float:
        """Current wall-size threshold on ``side`` (``nan`` before the first evaluation)."""
        return self.p.wall_k * self.median[side]

    def on_level(self, side: int, price: float, filled: float, cancelled: float) -> None:
        """Accumulate how an active wall is losing size. ``O(1)``."""
        lost = self._lost.get((side, price))
        if lost is not None:
            lost[0] += filled
            lost[1] += cancelled

    def on_second(self, ts: int, book: Book) -> list[DetectorEvent]:
        """Re-evaluate walls; return newly reported and pulled walls."""
        mid = book.mid()
        if mid is None:
            return []
        band = mid * self.p.wall_range_pct / 100.0
        bids, asks = book.bids, book.asks
        sides = (
            (1, [(p, bids[p]) for p in bids.irange(minimum=mid - band)]),
            (-1, [(p, asks[p]) for p in asks.irange(maximum=mid + band)]),
        )
        events: list[DetectorEvent] = []
        rest_ns = int(self.p.wall_min_rest_s * NS)
        seen: set[tuple[int, float]] = set()
        for side, levels in sides:
            if len(levels) < 3:
                continue
            med = median(q for _, q in levels)
            self.median[side] = med
            threshold = self.p.wall_k * med
            for price, size in levels:
                if size < threshold:
                    continue
                key = (side, price)
                seen.add(key)
                first = self._first_seen.setdefault(key, ts)
                if key in self.active:
                    self.active[key] = size
                elif ts - first >= rest_ns:
                    self.active[key] = size
                    self._lost[key] = [0.0, 0.0]
                    events.append(
                        DetectorEvent(
                            DetectorKind.WALL,
                            ts,
                            side,
                            price,
                            size,
                            min(1.0, size / (2 * threshold)),
                            f"{size:.4g} = {size / med:.1f}x median, rested {(ts - first) / NS:.0f}s",
                        )
                    )
        for key in [k for k in self._first_seen if k not in seen]:
            del self._first_seen[key]
            if key in self.active:
                size = self.active.pop(key)
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
        return events


class SpoofDetector:
    """Spoofing: a wall-sized order appears within ``spoof_touch_bps`` of the touch
    and is cancelled (not filled) within ``spoof_max_life_s`` while price approaches it.

    Score in [0, 1] = 0.5 * size term (size / 2x threshold, capped) + 0.3 *
    closeness to the touch + 0.2 * repetition (spoofs on that side in the
    repeat window / 3, capped). ``O(1)`` per changed level.
    """

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        # (side, price) -> [placed_ts, size, touch_bps, mid_distance, filled, cancelled]
        self._candidates: dict[tuple[int, float], list[float]] = {}
        self._recent: dict[int, deque[int]] = {1: deque(), -1: deque()}

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
        if new > old:
            added = new - old
            if not added >= threshold:  # also False while threshold is nan
                return None
            touch = best_bid if side > 0 else best_ask
            touch_bps = (touch - price) * side / touch * 1e4
            if 0.0 <= touch_bps <= self.p.spoof_touch_bps:
                self._candidates[key] = [ts, added, touch_bps, abs(price - mid), 0.0, 0.0]
            return None
        cand = self._candidates.get(key)
        if cand is None:
            return None
        cand[4] += filled
        cand[5] += cancelled
        if ts - cand[0] > self.p.spoof_max_life_s * NS:
            del self._candidates[key]
            return None
        if cand[4] + cand[5] < cand[1] * self.p.spoof_min_cancel_frac:
            return None
        del self._candidates[key]
        if cand[5] < self.p.spoof_min_cancel_frac * cand[1] or abs(price - mid) >= cand[3]:
            return None  # mostly filled, or price did not come closer: not a spoof
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


class IcebergDetector:
    """Icebergs / hidden liquidity: trades at a level exceed the size displayed
    there, and the level refills after being hit, at least ``iceberg_min_refills`` times.

    Hidden size estimate = traded volume - the largest size ever displayed at
    the level while tracked. ``O(1)`` per changed level.
    """

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        # (side, price) -> [displayed_max, traded, refills, hit_since_refill, last_ts, reported]
        self._levels: dict[tuple[int, float], list[float]] = {}

    def on_level(
        self, ts: int, side: int, price: float, old: float, new: float, filled: float
    ) -> DetectorEvent | None:
        """Update the level's refill count; report once when it qualifies."""
        key = (side, price)
        st = self._levels.get(key)
        if filled > 0.0:
            if st is None:
                st = self._levels[key] = [old, 0.0, 0.0, 0.0, ts, 0.0]
            st[0] = max(st[0], old)
            st[1] += filled
            st[3] = 1.0
            st[4] = ts
        elif st is not None and new > old and st[3]:
            st[2] += 1
            st[3] = 0.0
            st[0] = max(st[0], new)
            st[4] = ts
        else:
            return None
        if st[5] or st[2] < self.p.iceberg_min_refills or st[1] <= st[0]:
            return None
        st[5] = 1.0
        hidden = st[1] - st[0]
        return DetectorEvent(
            DetectorKind.ICEBERG,
            ts,
            side,
            price,
            hidden,
            min(1.0, st[1] / (3 * st[0])) if st[0] else 1.0,
            f"traded {st[1]:.4g} vs {st[0]:.4g} shown, {int(st[2])} refills",
        )

    def expire(self, ts: int) -> None:
        """Forget levels idle longer than ``iceberg_idle_s``. ``O(tracked)``, called per second."""
        limit = ts - int(self.p.iceberg_idle_s * NS)
        for key in [k for k, s in self._levels.items() if s[4] < limit]:
            del self._levels[key]
