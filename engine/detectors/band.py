"""The levels of a book within a price band of mid, as numpy arrays, read once per second.

:class:`BandScan` is what the wall detector scans every second; the vacuum
detector's resting size near mid is a sum over a narrower band and reuses the
same arrays when they cover it (:meth:`BandScan.resting_within`), so the book is
walked once per second instead of twice. :func:`median` is
``statistics.median`` on a numpy array: the same value (the middle element, or
the mean of the two middle ones computed in the same order), without sorting
the whole band.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

from tapescope.engine.book import Book


def seqsum(arr: np.ndarray) -> float:
    """``sum(arr.tolist())`` bit for bit: the same left-to-right additions, in C.

    ``np.add.accumulate`` adds sequentially (unlike ``np.sum``, which adds
    pairwise and so rounds differently); an empty array gives ``sum([])``, the
    int 0. ``O(n)``.

    >>> xs = [0.1, 0.2, 0.3, 1e16, -1e16, 0.7]
    >>> seqsum(np.array(xs)) == sum(xs), seqsum(np.array([]))
    (True, 0)
    """
    if len(arr) == 0:
        return 0
    return float(np.add.accumulate(arr)[-1])


def median_and_kth_largest(arr: np.ndarray, k: int) -> tuple[float, float]:
    """``(median(arr), k-th largest of arr)`` from one partial sort (``np.partition``
    with every index asked for at once). ``O(n)``.

    The median is :func:`median`'s (``statistics.median`` bit for bit), the
    ``k``-th largest what ``heapq.nlargest(k, arr.tolist())[-1]`` gives; with
    ``k`` outside ``1..len(arr)`` the second value is ``nan``.

    >>> median_and_kth_largest(np.array([3.0, 9.0, 1.0, 9.0, 4.0, 0.5]), 3)
    (3.5, 4.0)
    """
    n = len(arr)
    h = n // 2
    mids = (h,) if n % 2 else (h - 1, h)
    at = n - k
    part = np.partition(arr, sorted({*mids, at}) if 0 <= at < n else mids)
    med = float(part[h]) if n % 2 else (float(part[h - 1]) + float(part[h])) / 2
    return med, (float(part[at]) if 0 <= at < n else math.nan)


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
    bid_prices: np.ndarray
    """Bid prices in the band, ascending (the touch last)."""
    bid_sizes: np.ndarray
    """Sizes of :attr:`bid_prices`."""
    ask_prices: np.ndarray
    """Ask prices in the band, ascending (the touch first)."""
    ask_sizes: np.ndarray
    """Sizes of :attr:`ask_prices`."""

    @classmethod
    def of(cls, book: Book, mid: float, lo: float, hi: float) -> BandScan:
        """Read the band from ``book``. ``O(log n + k)`` for ``k`` levels in the band.

        The same levels, in the same order, as ``bids.irange(minimum=lo)`` and
        ``asks.irange(maximum=hi)``.
        """
        bids, asks = book.bids, book.asks
        # Slicing the sorted key list is C-level; the sizes come through dict lookups
        # straight into numpy. Only the band is read, however deep the book.
        bp = bids.keys()[bids.bisect_left(lo) :]
        ap = asks.keys()[: asks.bisect_right(hi)]
        return cls(
            mid,
            lo,
            hi,
            # array('d', list) converts in one C loop, about 3x faster than np.array(list).
            np.frombuffer(array("d", bp)),
            np.fromiter(map(bids.__getitem__, bp), np.float64, len(bp)),
            np.frombuffer(array("d", ap)),
            np.fromiter(map(asks.__getitem__, ap), np.float64, len(ap)),
        )

    def resting_within(self, bps: float) -> tuple[float, float] | None:
        """``Book.size_within_bps(bps)`` from the scanned arrays, or None if the band is too narrow.

        Same levels summed by ``sum`` in the same (ascending price) order, so
        the same floats. ``O(log k + m)`` for ``m`` levels within ``bps``.
        """
        mid = self.mid
        band = mid * bps * 1e-4
        lo, hi = mid - band, mid + band
        if lo < self.lo or hi > self.hi:
            return None
        i = int(np.searchsorted(self.bid_prices, lo, "left"))
        j = int(np.searchsorted(self.ask_prices, hi, "right"))
        return seqsum(self.bid_sizes[i:]), seqsum(self.ask_sizes[:j])
