"""L2 order book: price -> size per side on ``sortedcontainers.SortedDict``.

Both sides are keyed by price ascending, so the best bid is the *last* bid key
(``peekitem(-1)``) and the best ask the *first* ask key (``peekitem(0)``).
Sizes are absolute: a level with size 0 is deleted, never stored.

The book does not judge the venue's sequence numbers (the feed's sync state
machine does); it records the last applied ``seq`` and ``_check`` asserts it
never goes backwards within one snapshot epoch.

Runtime complexity, with ``n`` levels on a side:

* set an existing level: ``O(1)``; insert or delete a level: ``O(log n)``
* best bid / best ask: ``O(1)``
* top ``k`` levels: ``O(log n + k)``
* size within ``x`` bps of mid: ``O(log n + k)`` for ``k`` levels in range
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from sortedcontainers import SortedDict

from tapescope.engine.events import Level


class Book:
    """One symbol's L2 book.

    >>> b = Book()
    >>> b.apply_snapshot([(99.0, 1.0), (98.0, 2.0)], [(101.0, 3.0)], seq=5)
    >>> b.best_bid(), b.best_ask(), b.mid()
    ((99.0, 1.0), (101.0, 3.0), 100.0)
    >>> b.apply_delta([(99.0, 0.0), (100.0, 4.0)], [], seq=6)
    2
    >>> b.top(2)
    ([(100.0, 4.0), (98.0, 2.0)], [(101.0, 3.0)])
    """

    __slots__ = ("bids", "asks", "seq", "updates")

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        """Bid levels, price ascending (best bid last)."""
        self.asks: SortedDict = SortedDict()
        """Ask levels, price ascending (best ask first)."""
        self.seq: int = 0
        """Venue sequence id of the last applied snapshot or delta."""
        self.updates: int = 0
        """Snapshots and deltas applied since creation."""

    # -- mutation ---------------------------------------------------------

    def clear(self) -> None:
        """Drop every level (the book is then empty, not crossed). ``O(n)``."""
        self.bids.clear()
        self.asks.clear()
        self.seq = 0

    def apply_snapshot(self, bids: Iterable[Level], asks: Iterable[Level], seq: int = 0) -> None:
        """Replace the whole book. Zero-size levels in the input are skipped.

        Runtime complexity: ``O(n log n)`` for ``n`` levels.
        """
        # Build the dicts in one go: SortedDict(iterable) sorts once instead
        # of inserting level by level.
        self.bids = SortedDict((p, q) for p, q in bids if q > 0.0)
        self.asks = SortedDict((p, q) for p, q in asks if q > 0.0)
        self.seq = seq
        self.updates += 1

    def apply_delta(
        self,
        bids: Iterable[Level],
        asks: Iterable[Level],
        seq: int = 0,
        on_level: Callable[[int, float, float, float], object] | None = None,
    ) -> int:
        """Apply changed levels with absolute sizes; size 0 deletes the level.

        Deleting a level the book does not hold is normal (venues send deletes
        for levels outside the depth we keep) and is ignored.

        Args:
            bids: changed bid levels.
            asks: changed ask levels.
            seq: venue sequence id after this delta.
            on_level: optional observer called as ``on_level(side, price, old, new)``
                (side +1 bid, -1 ask) for every level in the message, before the
                next one is applied; detectors use it to see size changes
                without a second pass over the message.

        Runtime complexity: ``O(k log n)`` for ``k`` changed levels.

        Returns:
            The number of levels in the message.
        """
        if on_level is not None:
            return self._apply_observed(bids, asks, seq, on_level)
        changed = 0
        dset = dict.__setitem__
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            _pop = side.pop
            for price, size in levels:
                changed += 1
                if price in side:
                    # Existing level: a plain dict store (the sorted keys are unchanged).
                    if size > 0.0:
                        dset(side, price, size)
                    else:
                        _pop(price)
                elif size > 0.0:
                    side[price] = size
        self.seq = seq
        self.updates += 1
        return changed

    def _apply_observed(
        self,
        bids: Iterable[Level],
        asks: Iterable[Level],
        seq: int,
        on_level: Callable[[int, float, float, float], object],
    ) -> int:
        # A separate loop keeps the unobserved path free of per-level checks.
        # The observer needs the old size anyway, so the lookup also decides
        # the write: an existing level is rewritten with a plain dict store
        # (the sorted key list is unchanged, SortedDict's Python-level
        # __setitem__ would only re-check membership), and a delete of a
        # level the book does not hold skips SortedDict.pop entirely.
        changed = 0
        dset = dict.__setitem__
        for sign, side, levels in ((1, self.bids, bids), (-1, self.asks, asks)):
            _get = side.get
            _pop = side.pop
            for price, size in levels:
                changed += 1
                old = _get(price)
                if old is None:
                    if size > 0.0:
                        side[price] = size
                    on_level(sign, price, 0.0, size)
                    continue
                if size > 0.0:
                    dset(side, price, size)
                else:
                    _pop(price)
                on_level(sign, price, old, size)
        self.seq = seq
        self.updates += 1
        return changed

    def apply_delta_collect(
        self,
        bids: Iterable[Level],
        asks: Iterable[Level],
        seq: int,
        changes: list[tuple[int, float, float, float]],
    ) -> int:
        """:meth:`apply_delta` that records every level instead of calling an observer.

        Appends ``(side, price, old, new)`` to ``changes`` for every level in
        the message, in message order (side +1 bid, -1 ask; ``old`` is 0.0 for
        a level the book did not hold): the same calls ``on_level`` would get,
        for an observer that handles a whole update at once (a Python call per
        level costs more than the tuple).

        Runtime complexity: ``O(k log n)`` for ``k`` changed levels.

        Returns:
            The number of levels in the message.

        >>> b = Book(); b.apply_snapshot([(9.0, 1.0)], [(10.0, 1.0)])
        >>> ch = []; b.apply_delta_collect([(9.0, 0.0), (8.0, 2.0)], [(10.0, 3.0)], 5, ch)
        3
        >>> ch, b.depth(), b.seq
        ([(1, 9.0, 1.0, 0.0), (1, 8.0, 0.0, 2.0), (-1, 10.0, 1.0, 3.0)], (1, 1), 5)
        """
        changed = 0
        dset = dict.__setitem__
        add = changes.append
        for sign, side, levels in ((1, self.bids, bids), (-1, self.asks, asks)):
            _get = side.get
            _pop = side.pop
            for price, size in levels:
                changed += 1
                old = _get(price)
                if old is None:
                    if size > 0.0:
                        side[price] = size
                    add((sign, price, 0.0, size))
                    continue
                if size > 0.0:
                    dset(side, price, size)
                else:
                    _pop(price)
                add((sign, price, old, size))
        self.seq = seq
        self.updates += 1
        return changed

    def truncate(self, depth: int) -> None:
        """Keep only the best ``depth`` levels per side (Kraken's rule).

        Runtime complexity: ``O(r log n)`` for ``r`` removed levels.
        """
        bids, asks = self.bids, self.asks
        while len(bids) > depth:
            bids.popitem(0)
        while len(asks) > depth:
            asks.popitem(-1)

    # -- queries ----------------------------------------------------------

    def best_bid(self) -> Level | None:
        """Highest bid ``(price, size)`` or ``None``. ``O(1)``."""
        return self.bids.peekitem(-1) if self.bids else None

    def best_ask(self) -> Level | None:
        """Lowest ask ``(price, size)`` or ``None``. ``O(1)``."""
        return self.asks.peekitem(0) if self.asks else None

    def mid(self) -> float | None:
        """Mid price, or ``None`` when either side is empty. ``O(1)``."""
        if not self.bids or not self.asks:
            return None
        return (self.bids.peekitem(-1)[0] + self.asks.peekitem(0)[0]) * 0.5

    def is_crossed(self) -> bool:
        """True when best bid >= best ask: the book cannot be the venue's. ``O(1)``.

        >>> b = Book(); b.apply_snapshot([(10.0, 1.0)], [(10.0, 1.0)]); b.is_crossed()
        True
        """
        return (
            bool(self.bids and self.asks) and self.bids.peekitem(-1)[0] >= self.asks.peekitem(0)[0]
        )

    def depth(self) -> tuple[int, int]:
        """Number of ``(bid, ask)`` levels. ``O(1)``."""
        return len(self.bids), len(self.asks)

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """Best ``n`` levels per side: bids descending, asks ascending.

        Runtime complexity: ``O(log n + k)``.
        """
        bids, asks = self.bids, self.asks
        bid_keys = bids.islice(max(len(bids) - n, 0), reverse=True)
        ask_keys = asks.islice(0, n)
        return [(p, bids[p]) for p in bid_keys], [(p, asks[p]) for p in ask_keys]

    def size_within_bps(self, bps: float) -> tuple[float, float]:
        """Resting size within ``bps`` basis points of mid, per side.

        >>> b = Book(); b.apply_snapshot([(99.95, 1.0), (99.0, 5.0)], [(100.05, 2.0)])
        >>> b.size_within_bps(10)
        (1.0, 2.0)

        Runtime complexity: ``O(log n + k)`` for ``k`` levels inside the band.
        """
        mid = self.mid()
        if mid is None:
            return 0.0, 0.0
        band = mid * bps * 1e-4
        bids, asks = self.bids, self.asks
        bid_sum = sum(bids[p] for p in bids.irange(minimum=mid - band))
        ask_sum = sum(asks[p] for p in asks.irange(maximum=mid + band))
        return bid_sum, ask_sum

    def size_within_levels(self, n: int) -> tuple[float, float]:
        """Total size of the best ``n`` levels per side. ``O(log n + k)``."""
        bids, asks = self.bids, self.asks
        bid_sum = sum(bids[p] for p in bids.islice(max(len(bids) - n, 0)))
        ask_sum = sum(asks[p] for p in asks.islice(0, n))
        return bid_sum, ask_sum

    def aggregated(self, step: float, rows: int) -> tuple[list[Level], list[Level]]:
        """Contiguous display rows of width ``step`` from the touch outward.

        Bids are binned down (a bid at 100.7 with step 1 goes in the 100 row),
        asks up (an ask at 100.3 goes in the 101 row), so the two sides never
        share a row unless the book is crossed. Empty rows have size 0.

        >>> b = Book(); b.apply_snapshot([(100.7, 1.0), (100.2, 2.0), (98.5, 1.0)], [(101.3, 4.0)])
        >>> b.aggregated(1.0, 3)
        ([(100.0, 3.0), (99.0, 0.0), (98.0, 1.0)], [(102.0, 4.0), (103.0, 0.0), (104.0, 0.0)])

        Runtime complexity: ``O(log n + k)`` for ``k`` levels inside the rows shown.
        """
        out_bids: list[Level] = []
        out_asks: list[Level] = []
        eps = 1e-9
        if self.bids:
            top = math.floor(self.bids.peekitem(-1)[0] / step + eps)
            sums = [0.0] * rows
            low_edge = (top - rows + 1) * step - step * eps
            bids = self.bids
            for p in bids.irange(minimum=low_edge, reverse=True):
                idx = top - math.floor(p / step + eps)
                if idx >= rows:
                    break
                sums[idx] += bids[p]
            out_bids = [(round((top - i) * step, 12), sums[i]) for i in range(rows)]
        if self.asks:
            bottom = math.ceil(self.asks.peekitem(0)[0] / step - eps)
            sums = [0.0] * rows
            high_edge = (bottom + rows - 1) * step + step * eps
            asks = self.asks
            for p in asks.irange(maximum=high_edge):
                idx = math.ceil(p / step - eps) - bottom
                if idx >= rows:
                    break
                sums[idx] += asks[p]
            out_asks = [(round((bottom + i) * step, 12), sums[i]) for i in range(rows)]
        return out_bids, out_asks

    def walk(self, side: int, qty: float) -> tuple[float, float]:
        """Fill ``qty`` against the book as a market order would.

        Args:
            side: +1 to buy (walk the asks), -1 to sell (walk the bids).
            qty: size to fill, base units.

        Returns:
            ``(filled_qty, average_price)``; ``filled_qty < qty`` when the
            visible book is too thin. Average is ``nan`` when nothing fills.

        >>> b = Book(); b.apply_snapshot([], [(101.0, 1.0), (102.0, 1.0)])
        >>> b.walk(+1, 1.5)
        (1.5, 101.33333333333333)

        Runtime complexity: ``O(log n + k)`` for ``k`` levels consumed.
        """
        levels = self.asks.items() if side > 0 else reversed(self.bids.items())
        left = qty
        cost = 0.0
        for price, size in levels:
            take = size if size < left else left
            cost += take * price
            left -= take
            if left <= 0.0:
                break
        filled = qty - max(left, 0.0)
        return filled, (cost / filled if filled > 0.0 else math.nan)

    # -- invariants -------------------------------------------------------

    def _check(self) -> None:
        """Assert the book's invariants: not crossed, no zero or negative levels."""
        for side in (self.bids, self.asks):
            side._check()
            for price, size in side.items():
                assert size > 0.0, f"non-positive size {size} at {price}"
                assert math.isfinite(price) and price > 0.0, f"bad price {price}"
        assert not self.is_crossed(), f"crossed: {self.best_bid()} >= {self.best_ask()}"
