"""Book side of the flow metrics: multi-level OFI per book update, and the instantaneous book measures.

:class:`OfiTracker` keeps the previous top ``L`` levels and turns each applied
book update into the order-flow imbalance contribution ``e`` of Cont,
Kukanov & Stoikov (2014), at the best level and summed over the top ``L``
levels. :func:`read_top` reads those levels from a book (padded, or ``None``
for a crossed book). :func:`book_measures` computes what is read off the
book at snapshot time only: imbalance by levels and by bps band,
microprice, spread in ticks and bps. :class:`tapescope.engine.flow.FlowMetrics`
owns the windows these feed.

Definitions (see :mod:`tapescope.engine.flow` for the rest):

* A missing level (side empty or fewer than ``L`` levels) is a level of size
  0 priced at ``-inf`` (bids) or ``+inf`` (asks), which makes a level
  appearing count as added size and a level vanishing as removed size.
* A book snapshot only re-anchors the previous-top reference
  (:meth:`OfiTracker.anchor`) and contributes ``e = 0``.
"""

from __future__ import annotations

import math

from tapescope.engine.book import Book
from tapescope.engine.book_view import ask_size_to, bid_size_from, top_asks, top_bids

NAN = math.nan
NEG_INF = -math.inf
POS_INF = math.inf

#: Padded top-``L`` levels: bid prices, bid sizes, ask prices, ask sizes (best first).
TopLevels = tuple[list[float], list[float], list[float], list[float]]


def read_top(book: Book, levels: int) -> TopLevels | None:
    """The top ``levels`` of each side, padded with empty levels at -/+inf.

    Args:
        book: the book after an update (read, not modified).
        levels: ``L``, levels per side.

    Returns:
        ``(bid prices, bid sizes, ask prices, ask sizes)``, each of length
        ``levels`` and best first, or ``None`` when the book is crossed.

    Runtime complexity: ``O(L)``; no depth scan.

    >>> b = Book(); b.apply_snapshot([(9.0, 1.0)], [(10.0, 2.0), (11.0, 3.0)])
    >>> read_top(b, 2)
    ([9.0, -inf], [1.0, 0.0], [10.0, 11.0], [2.0, 3.0])
    """
    L = levels
    bids, asks = book.bids, book.asks
    # top_bids / top_asks inlined: this runs at every book update.
    lists = bids._list._lists
    if lists and len(lists[-1]) >= L:
        bp = lists[-1][-L:]
        bp.reverse()
    else:
        bp = top_bids(bids, L)
    lists = asks._list._lists
    if lists and len(lists[0]) >= L:
        ap = lists[0][:L]
    else:
        ap = top_asks(asks, L)
    if bp and ap and bp[0] >= ap[0]:
        return None
    bq = list(map(bids.__getitem__, bp))
    aq = list(map(asks.__getitem__, ap))
    if len(bp) < L:
        pad = L - len(bp)
        bp += [NEG_INF] * pad
        bq += [0.0] * pad
    if len(ap) < L:
        pad = L - len(ap)
        ap += [POS_INF] * pad
        aq += [0.0] * pad
    return bp, bq, ap, aq


class OfiTracker:
    """Previous top ``L`` levels, and the OFI ``e`` of each new top against them.

    >>> t = OfiTracker(1)
    >>> t.anchor([9.0], [1.0], [10.0], [1.0])
    >>> t.step([9.0], [4.0], [10.0], [1.0])    # bid size +3
    (3.0, 3.0)
    >>> t.step([9.5], [1.0], [10.0], [2.0])    # better bid 1.0 added, ask size +1
    (0.0, 0.0)
    """

    __slots__ = ("levels", "_pbp", "_pbq", "_pap", "_paq")

    def __init__(self, levels: int) -> None:
        """Create a tracker whose reference is an empty book.

        Args:
            levels: ``L``, levels per side summed by the multi-level OFI.
        """
        L = self.levels = levels
        self._pbp = [NEG_INF] * L
        self._pbq = [0.0] * L
        self._pap = [POS_INF] * L
        self._paq = [0.0] * L

    def anchor(self, bp: list[float], bq: list[float], ap: list[float], aq: list[float]) -> None:
        """Make a new top the reference without counting it as flow (a book snapshot). ``O(1)``."""
        self._pbp, self._pbq, self._pap, self._paq = bp, bq, ap, aq

    def step(
        self, bp: list[float], bq: list[float], ap: list[float], aq: list[float]
    ) -> tuple[float, float]:
        """OFI of a new top against the reference, which it then becomes.

        Args:
            bp: bid prices, best first, padded to ``L`` (:func:`read_top`).
            bq: bid sizes.
            ap: ask prices.
            aq: ask sizes.

        Returns:
            ``(e at the best level, e summed over the top L levels)``.

        Runtime complexity: ``O(L)``, ``O(1)`` for a side whose top is unchanged.
        """
        e1 = em = 0.0
        pbp, pbq = self._pbp, self._pbq
        if bp == pbp:
            # Same prices (the common case): every level's e is q - q'.
            if bq != pbq:
                e1 = bq[0] - pbq[0]
                em = sum(bq) - sum(pbq)
                self._pbq = bq
        else:
            for p, q, p0, q0 in zip(bp, bq, pbp, pbq, strict=True):
                if p > p0:
                    em += q
                elif p < p0:
                    em -= q0
                else:
                    em += q - q0
            p, p0 = bp[0], pbp[0]
            e1 = bq[0] if p > p0 else (-pbq[0] if p < p0 else bq[0] - pbq[0])
            self._pbp, self._pbq = bp, bq
        pap, paq = self._pap, self._paq
        if ap == pap:
            if aq != paq:
                e1 -= aq[0] - paq[0]
                em -= sum(aq) - sum(paq)
                self._paq = aq
        else:
            # Asks: -1[Pa<=Pa'] qa + 1[Pa>=Pa'] qa'.
            for p, q, p0, q0 in zip(ap, aq, pap, paq, strict=True):
                if p < p0:
                    em -= q
                elif p > p0:
                    em += q0
                else:
                    em += q0 - q
            p, p0 = ap[0], pap[0]
            e1 += -aq[0] if p < p0 else (paq[0] if p > p0 else paq[0] - aq[0])
            self._pap, self._paq = ap, aq
        return e1, em

    def _check(self) -> None:
        """Assert invariants: every reference list holds ``L`` levels."""
        L = self.levels
        assert len(self._pbp) == len(self._pbq) == len(self._pap) == len(self._paq) == L


def book_measures(
    book: Book, tick: float, levels: int, bps: float
) -> tuple[float, float, float, float, float]:
    """Instantaneous book measures, read at snapshot time.

    Args:
        book: the book (read, not modified).
        tick: price tick, for the spread in ticks.
        levels: top levels per side summed by the level imbalance.
        bps: half-width of the band around mid summed by the bps imbalance.

    Returns:
        ``(imbalance by levels, imbalance within the bps band, microprice,
        spread in ticks, spread in bps)``; all ``nan`` when a side is empty,
        and the band imbalance ``nan`` when the band holds no size.

    Runtime complexity: ``O(log n + k)`` for ``k`` levels inside the bands.

    >>> b = Book(); b.apply_snapshot([(99.0, 3.0)], [(101.0, 1.0)])
    >>> book_measures(b, 0.5, 10, 25.0)
    (0.5, nan, 100.5, 4.0, 200.0)
    """
    if not (book.bids and book.asks):
        return NAN, NAN, NAN, NAN, NAN
    bids, asks = book.bids, book.asks
    pb, qb = bids.peekitem(-1)
    pa, qa = asks.peekitem(0)
    micro = (pb * qa + pa * qb) / (qa + qb)
    mid = (pb + pa) * 0.5
    s_ticks = (pa - pb) / tick
    s_bps = (pa - pb) / mid * 1e4
    b = sum(map(bids.__getitem__, top_bids(bids, levels)))
    a = sum(map(asks.__getitem__, top_asks(asks, levels)))
    imb_levels = (b - a) / (b + a)
    # Same band arithmetic as Book.size_within_bps, so the two agree exactly.
    band = mid * bps * 1e-4
    b = bid_size_from(bids, mid - band)
    a = ask_size_to(asks, mid + band)
    imb_bps = (b - a) / (b + a) if b + a > 0.0 else NAN
    return imb_levels, imb_bps, micro, s_ticks, s_bps
