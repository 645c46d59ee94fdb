"""Fill-versus-cancel attribution of book size decreases (detectors.md).

A size decrease at price ``p`` is a fill up to the trade volume printed at
``p`` since the last book update (trades up to ``latency`` older than the
update still count, because venues publish trades and depth on separate
streams); the rest is a cancel. Each printed unit explains at most one unit
of decrease.

>>> fc = FillCancel(latency_ns=0)
>>> fc.on_trade(1_000, 100.0, 2.0)
>>> fc.on_level(1_000, 100.0, old=5.0, new=1.0)   # 4 left: 2 filled, 2 cancelled
(2.0, 2.0)
>>> fc.end_update(1_000)
>>> fc.on_level(2_000, 100.0, old=1.0, new=0.0)   # nothing printed since: a cancel
(0.0, 1.0)
"""

from __future__ import annotations

from collections import deque


class FillCancel:
    """Attribute each level decrease to fills and cancels.

    Runtime complexity: ``O(1)`` per trade and per changed level; ``end_update``
    is amortised ``O(1)`` per trade ever seen (each expires once).
    """

    __slots__ = ("latency_ns", "_unexplained", "_fifo", "fills", "cancels")

    def __init__(self, latency_ns: int) -> None:
        self.latency_ns = latency_ns
        """Trades this much older than a book update still explain its decreases."""
        self._unexplained: dict[float, float] = {}
        # (ts, price, qty) in arrival order, for expiry.
        self._fifo: deque[tuple[int, float, float]] = deque()
        self.fills = 0.0
        """Total size attributed to fills."""
        self.cancels = 0.0
        """Total size attributed to cancels."""

    def on_trade(self, ts: int, price: float, qty: float) -> None:
        """Record a print that may explain a coming decrease at ``price``."""
        self._unexplained[price] = self._unexplained.get(price, 0.0) + qty
        self._fifo.append((ts, price, qty))

    def on_level(self, ts: int, price: float, old: float, new: float) -> tuple[float, float]:
        """Attribute a change of the level at ``price`` from ``old`` to ``new``.

        Returns:
            ``(filled, cancelled)``; both 0 when the level grew.
        """
        if new >= old:
            return 0.0, 0.0
        drop = old - new
        avail = self._unexplained.get(price, 0.0)
        filled = drop if drop < avail else avail
        if filled > 0.0:
            left = avail - filled
            if left > 1e-12:
                self._unexplained[price] = left
            else:
                del self._unexplained[price]
        cancelled = drop - filled
        self.fills += filled
        self.cancels += cancelled
        return filled, cancelled

    def end_update(self, ts: int) -> None:
        """Close a book update at ``ts``: expire prints older than the latency allowance."""
        cutoff = ts - self.latency_ns
        fifo, unexplained = self._fifo, self._unexplained
        while fifo and fifo[0][0] < cutoff:
            _, price, qty = fifo.popleft()
            left = unexplained.get(price)
            if left is None:
                continue
            # Remove what is left of this print; earlier consumption took from the pooled total.
            left -= qty
            if left > 1e-12:
                unexplained[price] = left
            else:
                del unexplained[price]

    def unexplained(self, price: float) -> float:
        """Printed volume at ``price`` not yet matched to a decrease. ``O(1)``."""
        return self._unexplained.get(price, 0.0)
