"""Book mechanics of one simulated market: integer-tick L2 sides, takers, emission.

Prices are integer ticks and sizes integer lots, so book arithmetic is exact
and the emitted floats (:meth:`SimBook.px`, :meth:`SimBook.qty`) are a pure
function of the ints: a Book rebuilt from the emitted deltas equals this one
exactly. Every mutation goes through the change dicts ``cb``/``ca`` and the
``trades`` list, which :meth:`SimBook._flush` turns into the events of one
item: trades first (so size decreases can be attributed to the prints before
them), then one :class:`~tapescope.engine.events.BookDelta` with absolute sizes.

Episode hooks live here because takers must respect them: ``res_b``/``res_a``
hold size an episode owns (cancels and trims leave it alone), ``special_b``/
``special_a`` map ticks whose emptying an episode handles (refills), and the
running episode's ``cap_buy``/``cap_sell`` bound how far takers sweep.

Runtime complexity: ``O(log n)`` per changed level of a side with ``n`` levels.
"""

from __future__ import annotations

import math
import random
from typing import Any

from sortedcontainers import SortedDict

from tapescope.engine.events import BookDelta, BookSnapshot, Event, Trade
from tapescope.engine.instrument import Instrument, decimals_for
from tapescope.feeds.sim.params import SimParams

#: A side never drops below this many levels (takers stop short of it).
MIN_LEVELS = 5
#: "No limit" for sweep caps, in ticks.
BIG = 1 << 62
#: Time constant of the per-side aggressive-volume averages, seconds.
FLOW_TAU_S = 60.0


class SimBook:
    """Both sides of one market's book in ticks and lots, plus what the current item changed."""

    def __init__(self, instrument: Instrument, params: SimParams, start_ns: int) -> None:
        self.instrument = instrument
        """The instrument the feed advertises."""
        self.key = instrument.key
        """Market key, ``"sim:SYMBOL"``."""
        self.params = params
        """Simulator settings."""
        self.tick = instrument.tick_size
        """Tick size."""
        self.lot = instrument.lot_size
        """Lot size."""
        self._pdec = decimals_for(self.tick)
        self._qdec = decimals_for(self.lot)
        self._lat_rng = random.Random(f"tapescope-sim-latency:{params.seed}:{instrument.symbol}")
        self.bids: SortedDict = SortedDict()
        """Bid levels: tick -> lots."""
        self.asks: SortedDict = SortedDict()
        """Ask levels: tick -> lots."""
        self.res_b: dict[int, int] = {}
        """Bid lots owned by the running episode (cancels and trims leave them alone)."""
        self.res_a: dict[int, int] = {}
        """Ask lots owned by the running episode."""
        self.special_b: dict[int, Any] = {}
        """Bid ticks whose emptying an episode handles (iceberg / absorber refills)."""
        self.special_a: dict[int, Any] = {}
        """Ask ticks whose emptying an episode handles."""
        self.ep: Any = None
        """The running episode (at most one per market), or ``None``."""
        self.seq = 0
        """Book message sequence number (snapshot = 1)."""
        self.trade_no = 0
        """Trades printed."""
        self.recv = start_ns
        """Receive time of the current item's events."""
        self.flow_buy = 0.0
        """Aggressive buy volume per second, lots, exponentially averaged over ``FLOW_TAU_S``."""
        self.flow_sell = 0.0
        """Aggressive sell volume per second, lots, averaged likewise."""
        self._flow_t = start_ns
        self.sold_lots = 0
        """Cumulative aggressive sell volume, lots."""
        self.bought_lots = 0
        """Cumulative aggressive buy volume, lots."""
        self.cb: dict[int, int] = {}
        """Bid changes of the current item: tick -> new lots (0 deletes)."""
        self.ca: dict[int, int] = {}
        """Ask changes of the current item."""
        self.trades: list[Trade] = []
        """Trades of the current item."""

    def px(self, tick: int) -> float:
        """Emitted price of an integer tick (a pure function, so books compare exactly)."""
        return round(tick * self.tick, self._pdec)

    def qty(self, lots: int) -> float:
        """Emitted size of an integer number of lots."""
        return round(lots * self.lot, self._qdec)

    def best(self) -> tuple[int, int]:
        """Best bid and best ask ticks. ``O(1)``."""
        return self.bids.peekitem(-1)[0], self.asks.peekitem(0)[0]

    def set_level(self, is_bid: bool, tick: int, lots: int) -> None:
        """Set a level to ``lots`` (0 deletes) and record the change. ``O(log n)``."""
        if is_bid:
            if lots > 0:
                self.bids[tick] = lots
            else:
                self.bids.pop(tick, None)
            self.cb[tick] = lots
        else:
            if lots > 0:
                self.asks[tick] = lots
            else:
                self.asks.pop(tick, None)
            self.ca[tick] = lots

    def snapshot(self, ts: int) -> BookSnapshot:
        """The whole book as a snapshot event (bumps ``seq``). ``O(n)``."""
        self.seq += 1
        px, qty = self.px, self.qty
        return BookSnapshot(
            self.key,
            ts,
            self._recv(ts),
            [(px(t), qty(q)) for t, q in reversed(self.bids.items())],
            [(px(t), qty(q)) for t, q in self.asks.items()],
            self.seq,
        )

    def book_levels(self) -> tuple[dict[float, float], dict[float, float]]:
        """The internal book as emitted ``{price: size}`` dicts, for tests. ``O(n)``."""
        px, qty = self.px, self.qty
        return (
            {px(t): qty(q) for t, q in self.bids.items()},
            {px(t): qty(q) for t, q in self.asks.items()},
        )

    def _recv(self, ts: int) -> int:
        p = self.params
        lat = p.latency_us * 1000
        if p.latency_jitter_us > 0:
            lat += int(self._lat_rng.expovariate(1.0 / p.latency_jitter_us) * 1000)
        recv = ts + lat
        if recv < self.recv:
            recv = self.recv  # receive order follows venue order within a symbol
        self.recv = recv
        return recv

    def _flush(self, ts: int) -> list[Event]:
        out: list[Event] = self.trades
        cb, ca = self.cb, self.ca
        if cb or ca:
            px, qty = self.px, self.qty
            self.seq += 1
            out.append(
                BookDelta(
                    self.key,
                    ts,
                    self.recv,
                    [(px(t), qty(q)) for t, q in cb.items()],
                    [(px(t), qty(q)) for t, q in ca.items()],
                    self.seq,
                )
            )
            self.cb = {}
            self.ca = {}
        if out:
            self.trades = []
        return out

    def sweep(self, ts: int, is_buy: bool, lots: int, through: int) -> int:
        """Execute a market order: print trades and take levels from the touch outward.

        Args:
            ts: event time.
            is_buy: True takes asks, False takes bids.
            lots: size to fill after the informed part.
            through: informed limit; levels at or through it are taken whole
                (``-1`` / ``BIG`` for none).

        Returns:
            Lots filled. ``O(k log n)`` for ``k`` levels touched.
        """
        ep = self.ep
        if is_buy:
            book, res, special, changes, side = self.asks, self.res_a, self.special_a, self.ca, 1
            cap = ep.cap_buy if ep is not None else BIG
        else:
            book, res, special, changes, side = self.bids, self.res_b, self.special_b, self.cb, -1
            cap = -(ep.cap_sell if ep is not None else -BIG)
        trades = self.trades
        key, recv, px, qty = self.key, self.recv, self.px, self.qty
        filled = 0
        need = lots
        idx = 0 if is_buy else -1
        # Work in "distance" form: for sells compare negated ticks so one loop serves both sides.
        sthrough = through if is_buy else -through
        while len(book) > MIN_LEVELS:
            tick, size = book.peekitem(idx)
            st = tick if is_buy else -tick
            if st > cap:
                break
            # Informed takers price off visible size: hidden refills are not taken whole.
            informed = st <= sthrough and not (special and tick in special)
            if need <= 0 and not informed:
                break
            take = size if (informed or size <= need) else need
            left = size - take
            self.trade_no += 1
            trades.append(Trade(key, ts, recv, px(tick), qty(take), side, str(self.trade_no)))
            filled += take
            need -= take
            r = res.get(tick)
            if r is not None and r > left:
                if left:
                    res[tick] = left
                else:
                    del res[tick]
            if left:
                book[tick] = left
                changes[tick] = left
                break
            handler = special.get(tick) if special else None
            if handler is not None:
                refill, stop = handler.on_emptied(is_buy, tick, ts)
                if refill > 0:
                    book[tick] = refill
                    changes[tick] = refill
                    sthrough = -BIG  # the refill is hidden size: take it only by remaining need
                    if stop:
                        break
                    continue
                del book[tick]
                changes[tick] = 0
                if stop:
                    break
                continue
            del book[tick]
            changes[tick] = 0
        if filled:
            self._note_flow(ts, is_buy, filled)
        return filled

    def _note_flow(self, ts: int, is_buy: bool, lots: int) -> None:
        decay = math.exp(-(ts - self._flow_t) * 1e-9 / FLOW_TAU_S)
        self._flow_t = ts
        self.flow_buy *= decay
        self.flow_sell *= decay
        if is_buy:
            self.flow_buy += lots / FLOW_TAU_S
            self.bought_lots += lots
        else:
            self.flow_sell += lots / FLOW_TAU_S
            self.sold_lots += lots
