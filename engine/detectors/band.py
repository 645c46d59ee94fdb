"""The levels of a book within a price band of mid, as plain lists, read once per second.

:class:`BandScan` is what the wall detector scans every second; the vacuum
detector's resting size near mid is a sum over a narrower band and reuses the
same lists when they cover it (:meth:`BandScan.resting_within`), so the book is
walked once per second instead of twice. :func:`median` is
``statistics.median`` on a numpy array: the same value (the middle element, or
the mean of the two middle ones computed in the same order), without sorting
the whole band.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from tapescope.engine.book import Book


def median(arr: np.ndarray) -> float:
    """Median of a non-empty float64 array, bit-identical to ``statistics.median``.

    ``O(n)`` (``np.partition``) instead of the ``O(n log n)`` sort.

    >>> from statistics import median as smedian
    >>> a = [3.0, 0.1, 0.7, 2.5]
    >>> median(np.array(a)) == smedian(a), median(np.array(a[:3])) == smedian(a[:3])
    (True, True)
    """
    n = len(arr)
    k = n // 2
    if n % 2:
        return float(np.partition(arr, k)[k])
    part = np.partition(arr, (k - 1, k))
    # statistics.median: (data[i - 1] + data[i]) / 2 on Python floats.
    return (float(part[k - 1]) + float(part[k])) / 2


@dataclass(frozen=True, slots=True)
class BandScan:
    """Bid levels with price >= ``lo`` and ask levels with price <= ``hi``, ascending by price."""

    mid: float
    """Mid price the band was taken around."""
    lo: float
    """Lowest bid price included."""
    hi: float
    """Highest ask price included."""
    bid_prices: list[float]
    """Bid prices in the band, ascending (the touch last)."""
    bid_sizes: list[float]
    """Sizes of :attr:`bid_prices`."""
    ask_prices: list[float]
    """Ask prices in the band, ascending (the touch first)."""
    ask_sizes: list[float]
    """Sizes of :attr:`ask_prices`."""

    @classmethod
    def of(cls, book: Book, mid: float, lo: float, hi: float) -> BandScan:
        """Read the band from ``book``. ``O(log n + k)`` for ``k`` levels in the band.

        The same levels, in the same order, as ``bids.irange(minimum=lo)`` and
        ``asks.irange(maximum=hi)``.
        """
        bids, asks = book.bids, book.asks
        bid_prices = bids.keys()[bids.bisect_left(lo) :]
        ask_prices = asks.keys()[: asks.bisect_right(hi)]
        return cls(
            mid,
            lo,
            hi,
            bid_prices,
            list(map(bids.__getitem__, bid_prices)),
            ask_prices,
            list(map(asks.__getitem__, ask_prices)),
        )

    def resting_within(self, bps: float) -> tuple[float, float] | None:
        """``Book.size_within_bps(bps)`` from the scanned lists, or None if the band is too narrow.

        Same levels, same summation order, so the same floats. ``O(log k + m)``
        for ``m`` levels within ``bps``.
        """
        mid = self.mid
        band = mid * bps * 1e-4
        lo, hi = mid - band, mid + band
        if lo < self.lo or hi > self.hi:
            return None
        bid_sum = sum(self.bid_sizes[bisect_left(self.bid_prices, lo) :])
        ask_sum = sum(self.ask_sizes[: bisect_right(self.ask_prices, hi)])
        return bid_sum, ask_sum
