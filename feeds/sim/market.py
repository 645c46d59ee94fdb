"""One simulated market: an L2 book driven by an order-flow model.

:class:`SimMarket` extends :class:`~tapescope.feeds.sim.book.SimBook` (the
integer-tick book, takers and event emission) with a latent fair log price
(random walk with regime volatility/drift), the order-flow model below,
bursts, regime chains and the schedule episodes run on.

Every step processes one item, whichever is due first: a Poisson *message*
(limit order, cancel or market order) or a scheduled action (regime switch,
burst edge, episode start/step/end). It returns the events that item
produced: trades first (so a size decrease can be attributed to the prints
before it), then one :class:`~tapescope.engine.events.BookDelta` with the
changed levels' absolute sizes.

Order flow, per message:

* limit order: side 50/50; price behind the fair quote (``floor(latent)`` for
  bids, one tick above for asks, never through the opposite touch), distance
  geometric near the touch or log-uniform out to ``span_bps``; size lognormal,
  growing with distance. Sides are trimmed to ``depth`` levels.
* cancel: a level near the touch (geometric in level index) or anywhere;
  full or partial, never touching size an episode owns.
* market order: buy with probability logistic in (latent - mid); informed
  orders first take every level priced through the latent price, so the
  touch follows the latent walk through real trades. The book never crosses:
  orders only rest behind the opposite touch and takers only remove size.

Runtime complexity per message: ``O(k log n)`` for ``k`` changed levels on a
side of ``n`` levels; no step scans the book (episode starts scan the levels
they act on, once).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from typing import Any

from tapescope.engine.events import Event
from tapescope.engine.instrument import Instrument
from tapescope.feeds.sim.book import BIG, MIN_LEVELS, SimBook
from tapescope.feeds.sim.labels import EpisodeLabel
from tapescope.feeds.sim.params import SimParams, SymbolSpec
from tapescope.feeds.sim.regime import RegimeChain

#: Natural depth of a queue away from the touch, in typical orders: makers join
#: shallower queues, and a deeper one (left behind by the price) halves per cancel.
QUEUE_ORDERS = 2.5
#: Natural depth of a queue within ``TOUCH_TICKS`` of the fair price (touch queues
#: are deeper; on coarse ticks they are what keeps mid from flickering).
TOUCH_ORDERS = 3.5
#: How close to the fair price (ticks) a queue counts as at the touch.
TOUCH_TICKS = 2.0
#: Levels seeded on every tick right behind the fair quote.
SEED_CONTIGUOUS = 10
#: Mean of the geometric level index picked by near-touch cancels.
CANCEL_NEAR_LEVELS = 4.0


class SimMarket(SimBook):
    """Book, latent price, regimes and episode state of one simulated symbol."""

    def __init__(self, spec: SymbolSpec, params: SimParams, start_ns: int) -> None:
        p = params
        super().__init__(
            Instrument("sim", spec.symbol, tick_size=spec.tick, lot_size=spec.lot), p, start_ns
        )
        self.spec = spec
        """Static description of the symbol."""
        self.rng = random.Random(f"tapescope-sim:{p.seed}:{spec.symbol}")
        """Order-flow random stream (string seeds hash with SHA-512: stable across runs)."""
        self.labels: list[EpisodeLabel] = []
        """Finished episodes, in end order."""
        self.x = math.log(spec.price)
        """Latent fair log price."""
        self.lt = spec.price / spec.tick
        """Latent fair price in ticks (cached at every step)."""
        self.now = start_ns
        """Virtual time of the last processed item, ns."""
        self._sched: list[tuple[int, int, Callable[[int, Any], None], Any]] = []
        self._sched_n = 0
        self.regime = RegimeChain(self.key, p.regimes, self.rng, start_ns)
        """Volatility and market regime chains."""
        self.regime.anchor_x = self.x
        self.bursting = False
        """Inside an activity burst."""
        self._base_rate = p.messages_per_s * spec.activity
        self._base_lots = max(1.0, spec.level_size / spec.lot)
        self._mkt_lots = max(1.0, self._base_lots * p.market_size)
        q = 1.0 / (1.0 + p.near_mean_ticks)  # geometric success prob with mean near_mean_ticks
        self._inv_log_near = 1.0 / math.log(1.0 - q) if q < 1.0 else 0.0
        self._inv_log_cancel = 1.0 / math.log(1.0 - 1.0 / (1.0 + CANCEL_NEAR_LEVELS))
        span_ticks = max(p.span_bps * 1e-4 * self.lt, 1.5 * p.depth, 2.0)
        self._log_span = math.log(span_ticks)
        self._rate = self._base_rate
        self._p_mkt = p.market_fraction
        self.next_msg = start_ns + self._gap()
        """Time of the next Poisson message."""
        self._seed_book()
        self._regime_gen = 0
        self.schedule(self.regime.next_switch_ns(), self._regime_switch, 0)
        if p.bursts.rate_per_min > 0:
            self.schedule(
                start_ns + self._exp_ns(60.0 / p.bursts.rate_per_min), self._burst_on, None
            )

    # -- plumbing -----------------------------------------------------------

    def schedule(self, ts: int, fn: Callable[[int, Any], None], arg: Any) -> None:
        """Run ``fn(ts, arg)`` at virtual time ``ts``. ``O(log s)`` for ``s`` pending actions."""
        self._sched_n += 1
        heapq.heappush(self._sched, (ts, self._sched_n, fn, arg))

    def _exp_ns(self, mean_s: float) -> int:
        return max(1, int(self.rng.expovariate(1.0 / mean_s) * 1e9))

    def _gap(self) -> int:
        return max(1000, int(-math.log(1.0 - self.rng.random()) / self._rate * 1e9))

    @property
    def next_ts(self) -> int:
        """Virtual time of the next item this market will process."""
        s = self._sched
        return s[0][0] if s and s[0][0] <= self.next_msg else self.next_msg

    # -- the step -----------------------------------------------------------

    def step(self) -> list[Event]:
        """Process the next due item and return its events (possibly none)."""
        sched = self._sched
        if sched and sched[0][0] <= self.next_msg:
            ts, _, fn, arg = heapq.heappop(sched)
            self._recv(ts)
            self._advance(ts)
            fn(ts, arg)
        else:
            ts = self.next_msg
            self._recv(ts)
            self._advance(ts)
            self._message(ts)
            self.next_msg = ts + self._gap()
        ep = self.ep
        if ep is not None and ep.watches:
            ep.watch(ts)
        return self._flush(ts)

    def _advance(self, ts: int) -> None:
        """Move the latent price to ``ts`` (Euler step of the regime's diffusion)."""
        dt = (ts - self.now) * 1e-9
        self.now = ts
        if dt > 0.0:
            reg = self.regime
            x = self.x
            x += reg.drift * dt + reg.sigma * math.sqrt(dt) * self.rng.gauss(0.0, 1.0)
            k = reg.reversion
            if k:
                x -= (x - reg.anchor_x) * (1.0 - math.exp(-k * dt))
            lt = math.exp(x) / self.tick
            ep = self.ep
            if ep is not None and ep.controls:
                lt = ep.control(lt, dt)
                x = math.log(lt * self.tick)
            self.x = x
            self.lt = lt

    def _message(self, ts: int) -> None:
        u = self.rng.random()
        if u < self._p_mkt:
            self._market_order(ts)
        elif u < self._p_mkt + self.params.cancel_fraction:
            if not self._cancel():
                self._limit()
        else:
            self._limit()

    # -- order types ------------------------------------------------------------

    def _limit(self) -> None:
        rnd = self.rng.random
        p = self.params
        lt = self.lt
        is_bid = rnd() < 0.5
        if rnd() < p.near_fraction:
            g = int(math.log(1.0 - rnd()) * self._inv_log_near)
        else:
            g = int(math.exp(rnd() * self._log_span))
        fair = int(math.floor(lt))
        if is_bid:
            ref = fair
            ba = self.asks.peekitem(0)[0]
            if ref >= ba:
                ref = ba - 1
            tick = ref - g
        else:
            ref = fair + 1
            bb = self.bids.peekitem(-1)[0]
            if ref <= bb:
                ref = bb + 1
            tick = ref + g
        if tick <= 0:
            return
        lots = self._order_lots(tick)
        # Queues have a natural depth: makers who would join a queue already at
        # its natural depth quote a tick further back instead, so the book is a
        # smooth profile rather than a few towers (which would read as walls).
        book = self.bids if is_bid else self.asks
        step = -1 if is_bid else 1
        for attempt in range(6):
            if book.get(tick, 0) + lots <= self._queue_cap(tick):
                break
            if attempt < 2:
                tick += step
            else:
                # Saturated near the touch: this maker quotes somewhere in the book instead.
                tick = ref + step * int(math.exp(rnd() * self._log_span))
        else:
            return  # every queue it tried was full: the order is not sent
        if tick <= 0:
            return
        ep = self.ep
        if ep is not None and ep.filters:
            tick, lots = ep.filter_place(is_bid, tick, lots)
            if lots <= 0:
                return
        if is_bid:
            book, changes, res = self.bids, self.cb, self.res_b
            new = book.get(tick, 0) + lots
            book[tick] = new
            changes[tick] = new
            if len(book) > p.depth:
                far = book.peekitem(0)[0]
                if far not in res:
                    del book[far]
                    changes[far] = 0
        else:
            book, changes, res = self.asks, self.ca, self.res_a
            new = book.get(tick, 0) + lots
            book[tick] = new
            changes[tick] = new
            if len(book) > p.depth:
                far = book.peekitem(-1)[0]
                if far not in res:
                    del book[far]
                    changes[far] = 0

    def _typical(self, tick: int) -> float:
        """Mean size of one limit order at ``tick`` (lots): grows with distance from fair."""
        p = self.params
        lt = self.lt
        return (
            self._base_lots
            * (1.0 + abs(tick - lt) * 1e4 / lt / p.size_scale_bps) ** p.size_exponent
        )

    def _queue_cap(self, tick: int) -> float:
        """Natural depth of the queue at ``tick``, lots (deeper at the touch)."""
        orders = TOUCH_ORDERS if abs(tick - self.lt) <= TOUCH_TICKS else QUEUE_ORDERS
        return orders * self._typical(tick)

    def _order_lots(self, tick: int) -> int:
        """Size of one limit order at ``tick``: lognormal around :meth:`_typical`."""
        sig = self.params.size_sigma
        lots = int(self._typical(tick) * math.exp(sig * self.rng.gauss(0.0, 1.0) - 0.5 * sig * sig))
        return lots if lots > 1 else 1

    def _cancel(self) -> bool:
        rnd = self.rng.random
        is_bid = rnd() < 0.5
        book = self.bids if is_bid else self.asks
        n = len(book)
        if rnd() < self.params.near_fraction:
            k = int(math.log(1.0 - rnd()) * self._inv_log_cancel)
        else:
            k = int(rnd() * n)
        if k >= n:
            k = n - 1
        keys = book.keys()
        tick = keys[n - 1 - k] if is_bid else keys[k]
        size = book[tick]
        free = size - (self.res_b if is_bid else self.res_a).get(tick, 0)
        if free <= 0:
            return False
        # A level is a queue of orders: a cancel pulls one order's worth, so deep
        # queues at the touch survive single cancels.
        order = self._order_lots(tick)
        if free > self._queue_cap(tick):
            # A queue many orders deep away from the touch is stale (left behind by
            # the price); its owners re-quote, so it thins by half at a time.
            amount = free // 2
        elif order < free:
            amount = order
        else:
            # The last order of a level goes whole; less often while the side is
            # below ``depth`` levels (then a limit order comes instead), so the level
            # count settles near ``depth`` and no crumbs of orders litter the book.
            fill = n / self.params.depth
            if rnd() >= (fill * fill * fill if fill < 1.0 else 1.0):
                return False
            amount = free
        left = size - amount
        if left == 0 and n <= MIN_LEVELS:
            return False
        self.set_level(is_bid, tick, left)
        return True

    def _market_order(self, ts: int) -> None:
        rng = self.rng
        lt = self.lt
        bb = self.bids.peekitem(-1)[0]
        ba = self.asks.peekitem(0)[0]
        z = (lt - (ba + bb) * 0.5) / (self.params.bias_ticks + (ba - bb) * 0.5)
        z = 30.0 if z > 30.0 else (-30.0 if z < -30.0 else z)
        is_buy = rng.random() * (1.0 + math.exp(-z)) < 1.0
        sig = self.params.market_size_sigma
        lots = int(self._mkt_lots * math.exp(sig * rng.gauss(0.0, 1.0) - 0.5 * sig * sig))
        ep = self.ep
        if ep is not None:
            lots = int(lots * ep.mkt_scale)
        if lots < 1:
            lots = 1
        if is_buy:
            through = int(math.floor(lt)) if lt > ba else -1
        else:
            through = int(math.ceil(lt)) if lt < bb else BIG
        self.sweep(ts, is_buy, lots, through)

    # -- initial book ------------------------------------------------------------

    def _seed_book(self) -> None:
        """Fill both sides to ``depth`` levels: a contiguous run of ticks behind the
        fair quote, then levels at log-uniform distances, each a queue of a few orders."""
        # This runs at start for every market (before the dashboard's first frame for
        # the first one), so it inlines _typical, _order_lots and _queue_cap: the same
        # arithmetic in the same order, the same random draws, a third of the time.
        p = self.params
        depth = p.depth
        rng = self.rng
        rnd, gauss = rng.random, rng.gauss
        exp, log = math.exp, math.log
        log_span, half_inv_log_cancel = self._log_span, self._inv_log_cancel * 0.5
        lt, base, scale, expo = self.lt, self._base_lots, p.size_scale_bps, p.size_exponent
        sig = p.size_sigma
        half_var = 0.5 * sig * sig
        fair = int(math.floor(lt))
        for is_bid in (True, False):
            book = self.bids if is_bid else self.asks
            levels: dict[int, int] = {}
            g = 0
            guard = 0
            while len(levels) < depth and guard < 50 * depth:
                guard += 1
                if g < SEED_CONTIGUOUS:
                    dist = g
                    g += 1
                else:
                    dist = int(exp(rnd() * log_span))
                tick = fair - dist if is_bid else fair + 1 + dist
                if tick <= 0 or tick in levels:
                    continue
                orders = 1 + min(int(log(1.0 - rnd()) * half_inv_log_cancel), 2)
                away = abs(tick - lt)
                typical = base * (1.0 + away * 1e4 / lt / scale) ** expo
                queue = 0
                for _ in range(orders):
                    lots = int(typical * exp(sig * gauss(0.0, 1.0) - half_var))
                    queue += lots if lots > 1 else 1
                cap = int((TOUCH_ORDERS if away <= TOUCH_TICKS else QUEUE_ORDERS) * typical)
                levels[tick] = max(1, min(queue, cap))
            # One bulk build instead of one sorted insert per level.
            book.update(levels)

    # -- regimes and bursts ---------------------------------------------------------

    def _regime_switch(self, ts: int, gen: int) -> None:
        if gen != self._regime_gen:
            return  # superseded by an injected change that rescheduled the chain
        change = self.regime.switch_due(ts)
        self.regime.anchor_x = self.x
        if change is not None:
            self._label_regime(ts, change, injected=False)
        self.schedule(self.regime.next_switch_ns(), self._regime_switch, gen)

    def force_regime(self, ts: int, opts: dict[str, Any]) -> None:
        """Injected regime change (``opts`` may carry ``vol`` and ``market``)."""
        before = (self.regime.effective_vol, self.regime.effective_market)
        if self.regime.set(ts, opts.get("vol"), opts.get("market")):
            after = (self.regime.effective_vol, self.regime.effective_market)
            self._label_regime(
                ts, (f"{before[0]}/{before[1]}", f"{after[0]}/{after[1]}"), injected=True
            )
        self.regime.anchor_x = self.x
        # The chain's next switch times moved: reschedule and retire the pending entry.
        self._regime_gen += 1
        self.schedule(self.regime.next_switch_ns(), self._regime_switch, self._regime_gen)

    def _label_regime(self, ts: int, change: tuple[str, str], injected: bool) -> None:
        bb, ba = self.best()
        self.labels.append(
            EpisodeLabel(
                "regime_change",
                self.key,
                ts,
                ts,
                0,
                self.px(bb) * 0.5 + self.px(ba) * 0.5,
                {"from": change[0], "to": change[1], "injected": injected},
            )
        )

    def _burst_on(self, ts: int, _arg: Any) -> None:
        b = self.params.bursts
        self.bursting = True
        self._rate = self._base_rate * b.multiplier
        self._p_mkt = min(0.9, self.params.market_fraction * b.market_boost)
        self.next_msg = ts + self._gap()
        self.schedule(ts + self._exp_ns(b.mean_duration_s), self._burst_off, None)

    def _burst_off(self, ts: int, _arg: Any) -> None:
        b = self.params.bursts
        self.bursting = False
        self._rate = self._base_rate
        self._p_mkt = self.params.market_fraction
        self.next_msg = ts + self._gap()
        self.schedule(ts + self._exp_ns(60.0 / b.rate_per_min), self._burst_on, None)
