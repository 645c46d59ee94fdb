"""Base class of simulator episodes: the hooks a :class:`SimMarket` calls.

An episode owns some resting size (``res_b``/``res_a``: cancels and trims
leave it alone), may bound how far takers sweep (``cap_buy``/``cap_sell``),
steer the latent price (``control``), filter new limit orders
(``filter_place``), refill a level when takers empty it (``on_emptied``) and
look at the book after every item (``watch``). The concrete kinds live in
:mod:`tapescope.feeds.sim.episodes`.
"""

from __future__ import annotations

import math
from typing import Any

from tapescope.feeds.sim.book import BIG
from tapescope.feeds.sim.labels import EpisodeLabel
from tapescope.feeds.sim.market import SimMarket


class Episode:
    """Base class: the hooks :class:`SimMarket` calls, all no-ops."""

    kind = ""
    """An :class:`EpisodeKind` value."""
    controls = False
    """``control`` steers the latent price."""
    filters = False
    """``filter_place`` sees every new limit order."""
    watches = False
    """``watch`` runs after every item the market processes."""

    def __init__(self, m: SimMarket, opts: dict[str, Any]) -> None:
        self.m = m
        self.opts = opts
        self.rng = m.rng
        self.mkt_scale = 1.0
        """Multiplier on market order sizes while running."""
        self.cap_buy = BIG
        """Highest ask tick buyers may take."""
        self.cap_sell = -BIG
        """Lowest bid tick sellers may take."""
        self.start_ns = 0

    # -- hooks ------------------------------------------------------------------

    def begin(self, ts: int) -> bool:
        """Start at ``ts``; False when the book does not allow it (nothing changed)."""
        raise NotImplementedError

    def control(self, lt: float, dt: float) -> float:
        """Return the adjusted latent price (ticks) after a step of ``dt`` seconds."""
        return lt

    def filter_place(self, is_bid: bool, tick: int, lots: int) -> tuple[int, int]:
        """Return the limit order to place instead (``lots`` 0 drops it)."""
        return tick, lots

    def on_emptied(self, is_buy: bool, tick: int, ts: int) -> tuple[int, bool]:
        """Takers emptied a special level: return ``(refill_lots, stop_the_sweep)``."""
        return 0, True

    def watch(self, ts: int) -> None:
        """Look at the book after an item."""

    # -- helpers ----------------------------------------------------------------

    def side(self) -> int:
        """+1 bid or -1 ask: from ``opts["side"]`` or at random."""
        s = self.opts.get("side")
        if s is None:
            return 1 if self.rng.random() < 0.5 else -1
        return 1 if s > 0 else -1

    def uniform(self, lo: float, hi: float) -> float:
        """Uniform draw from the market's stream."""
        return lo + (hi - lo) * self.rng.random()

    def add_owned(self, is_bid: bool, tick: int, lots: int) -> None:
        """Add ``lots`` the episode owns at ``tick``."""
        m = self.m
        book, res = (m.bids, m.res_b) if is_bid else (m.asks, m.res_a)
        m.set_level(is_bid, tick, book.get(tick, 0) + lots)
        res[tick] = res.get(tick, 0) + lots

    def remove_owned(self, is_bid: bool, tick: int) -> int:
        """Cancel what the episode still owns at ``tick``; returns the lots removed."""
        m = self.m
        book, res = (m.bids, m.res_b) if is_bid else (m.asks, m.res_a)
        lots = res.pop(tick, 0)
        if lots:
            m.set_level(is_bid, tick, book.get(tick, 0) - lots)
        return lots

    def median_within(self, is_bid: bool, pct: float) -> float:
        """Median level size (lots) within ``pct`` % of mid on one side. ``O(k log k)``."""
        m = self.m
        bb, ba = m.best()
        mid = (bb + ba) * 0.5
        if is_bid:
            sizes = [m.bids[t] for t in m.bids.irange(minimum=mid * (1 - pct / 100))]
        else:
            sizes = [m.asks[t] for t in m.asks.irange(maximum=mid * (1 + pct / 100))]
        sizes.sort()
        return float(sizes[len(sizes) // 2]) if sizes else 1.0

    def top_median(self, is_bid: bool, n: int = 5) -> float:
        """Median size (lots) of the best ``n`` levels of one side."""
        m = self.m
        if is_bid:
            sizes = [m.bids[t] for t in m.bids.islice(max(0, len(m.bids) - n))]
        else:
            sizes = [m.asks[t] for t in m.asks.islice(0, n)]
        sizes.sort()
        return float(sizes[len(sizes) // 2]) if sizes else 1.0

    def finish(self, ts: int, side: int, price: float, extra: dict[str, Any]) -> None:
        """Write the label and release the market."""
        m = self.m
        m.labels.append(EpisodeLabel(self.kind, m.key, self.start_ns, ts, side, price, extra))
        self.release()

    def release(self) -> None:
        """Drop every hook without a label."""
        m = self.m
        for is_bid, res in ((True, m.res_b), (False, m.res_a)):
            for tick in list(res):
                self.remove_owned(is_bid, tick)
        m.special_b.clear()
        m.special_a.clear()
        m.ep = None


def pull(lt: float, target: float, dt: float, tau: float) -> float:
    """Move ``lt`` toward ``target`` with time constant ``tau`` seconds.

    >>> round(pull(10.0, 0.0, 1.0, 1.0), 4)
    3.6788
    """
    return target + (lt - target) * math.exp(-dt / tau)
