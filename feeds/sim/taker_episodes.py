"""Taker-flow and liquidity episodes of the simulator: ``iceberg``, ``absorption`` and ``vacuum``.

What each guarantees in the emitted events is listed in
:mod:`tapescope.feeds.sim.episodes`, which registers and schedules them.
"""

from __future__ import annotations

import math
from typing import Any

from tapescope.feeds.sim.book import BIG
from tapescope.feeds.sim.episode_base import Episode, pull
from tapescope.feeds.sim.labels import EpisodeKind, EpisodeLabel

#: Half-width of the area a vacuum thins, in vacuum bands.
VACUUM_MARGIN = 2.0
#: Longest time an iceberg waits for its hidden size to be taken, seconds.
ICEBERG_MAX_S = 60.0
#: Refills that make a level an iceberg (detectors.md: "at least 3 refills").
MIN_REFILLS = 3


class Iceberg(Episode):
    """A touch level that refills from hidden size each time takers empty it."""

    kind = EpisodeKind.ICEBERG.value
    controls = True

    def begin(self, ts: int) -> bool:
        m, p = self.m, self.m.params.episodes
        self.s = self.side()
        is_bid = self.s > 0
        bb, ba = m.best()
        self.tick = bb if is_bid else ba
        self.display = max(1, int(self.top_median(is_bid) * self.uniform(1.0, 1.5)))
        n = int(
            self.opts.get(
                "refills",
                p.iceberg_min_refills
                + int(self.rng.random() * (p.iceberg_max_refills - p.iceberg_min_refills + 1)),
            )
        )
        self.hidden = self.display * n
        self.hidden_total = self.hidden
        self.refills = 0
        self._emptied_ns = -1
        self.reloaded = 0  # lots put back over the episode
        self.add_owned(is_bid, self.tick, self.display)
        (m.special_b if is_bid else m.special_a)[self.tick] = self
        if is_bid:
            self.cap_sell = self.tick
        else:
            self.cap_buy = self.tick
        self.start_ns = ts
        self.last_ns = ts
        m.schedule(ts + int(self.uniform(0.4, 1.2) * 1e9), self._poke, None)
        m.schedule(ts + int(ICEBERG_MAX_S * 1e9), self._timeout, None)
        return True

    def control(self, lt: float, dt: float) -> float:
        # Takers lean on the iceberg: the fair price sits just through it.
        target = self.tick - 1.0 if self.s > 0 else self.tick + 2.0
        return pull(lt, target, dt, 1.0)

    def _poke(self, ts: int, _arg: Any) -> None:
        if self.m.ep is not self:
            return
        lots = max(1, int(self.display * self.uniform(0.6, 1.3)))
        self.m.sweep(ts, self.s < 0, lots, -1 if self.s < 0 else BIG)
        if self.m.ep is self:
            self.m.schedule(ts + int(self.uniform(0.4, 1.2) * 1e9), self._poke, None)

    def on_emptied(self, is_buy: bool, tick: int, ts: int) -> tuple[int, bool]:
        m = self.m
        self.last_ns = ts
        if self.hidden <= 0:
            self._done(ts)
            return 0, True
        refill = min(self.display, self.hidden)
        self.hidden -= refill
        self.refills += 1
        (m.res_b if self.s > 0 else m.res_a)[tick] = refill
        return refill, True

    def _timeout(self, ts: int, _arg: Any) -> None:
        if self.m.ep is self:
            self.remove_owned(self.s > 0, self.tick)
            self.last_ns = ts
            self._done(ts)

    def _done(self, ts: int) -> None:
        m = self.m
        if self.refills < MIN_REFILLS:
            self.release()  # too little flow came: not an iceberg by the definition
            return
        extra = {
            "display": m.qty(self.display),
            "hidden": m.qty(self.hidden_total),
            "refills": self.refills,
            "executed_hidden": m.qty(self.hidden_total - self.hidden),
        }
        self.finish(ts, self.s, m.px(self.tick), extra)


class Absorption(Episode):
    """Heavy aggressive flow into one side for a window while its best price holds."""

    kind = EpisodeKind.ABSORPTION.value
    controls = True
    filters = True

    def begin(self, ts: int) -> bool:
        m, p = self.m, self.m.params.episodes
        self.s = self.side()
        is_bid = self.s > 0
        bb, ba = m.best()
        self.tick = bb if is_bid else ba
        self.display = max(1, int(2 * self.top_median(is_bid)))
        self.refills = 0
        self._emptied_ns = -1
        self.reloaded = 0  # lots put back over the episode
        self.add_owned(is_bid, self.tick, self.display)
        (m.special_b if is_bid else m.special_a)[self.tick] = self
        if is_bid:
            self.cap_sell = self.tick
        else:
            self.cap_buy = self.tick
        window = float(self.opts.get("window_s", p.absorption_window_s))
        mult = float(self.opts.get("multiple", p.absorption_multiple))
        # Typical aggressive flow into this side: its running average, floored by
        # the flow model's own expectation (uninformed market orders only).
        expected = m._base_rate * m.params.market_fraction * 0.5 * m._mkt_lots
        self.typical = max(m.flow_sell if is_bid else m.flow_buy, expected)
        target = mult * self.typical * window
        n = max(10, int(window * 3))
        each = max(1, int(math.ceil(target / n)))
        times = sorted(ts + int(self.uniform(0.0, window * 0.95) * 1e9) for _ in range(n))
        for t in times:
            m.schedule(t, self._hit, each)
        self.start_ns = ts
        self.window = window
        self.mult = mult
        self.taken0 = m.sold_lots if is_bid else m.bought_lots
        m.schedule(ts + int(window * 1e9), self._end, None)
        return True

    def control(self, lt: float, dt: float) -> float:
        # The absorber defends its price: the fair price sits just on its side.
        if self.s > 0:
            lt = pull(lt, self.tick + 1.5, dt, 0.3)
            return max(lt, self.tick + 0.5)
        lt = pull(lt, self.tick - 1.0, dt, 0.3)
        return min(lt, self.tick)

    def filter_place(self, is_bid: bool, tick: int, lots: int) -> tuple[int, int]:
        # Nobody improves the absorbing side by more than a tick.
        if is_bid and self.s > 0 and tick > self.tick + 1:
            tick = self.tick + 1
        elif not is_bid and self.s < 0 and tick < self.tick - 1:
            tick = self.tick - 1
        return tick, lots

    def _hit(self, ts: int, lots: int) -> None:
        if self.m.ep is self:
            self.m.sweep(ts, self.s < 0, lots, -1 if self.s < 0 else BIG)

    def on_emptied(self, is_buy: bool, tick: int, ts: int) -> tuple[int, bool]:
        (self.m.res_b if self.s > 0 else self.m.res_a)[tick] = self.display
        self.reloaded += self.display
        if ts != self._emptied_ns:  # one sweep emptying it repeatedly shows one refill
            self._emptied_ns = ts
            self.refills += 1
        return self.display, False

    def _end(self, ts: int, _arg: Any) -> None:
        m = self.m
        taken = (m.sold_lots if self.s > 0 else m.bought_lots) - self.taken0
        left = self.remove_owned(self.s > 0, self.tick)
        extra = {
            "volume": m.qty(taken),
            "typical_per_s": self.typical * m.lot,
            "window_s": self.window,
            "multiple": taken / (self.typical * self.window),
            "refills": self.refills,
        }
        if self.refills >= MIN_REFILLS:
            hidden = self.reloaded
            m.labels.append(
                EpisodeLabel(
                    EpisodeKind.ICEBERG.value,
                    m.key,
                    self.start_ns,
                    ts,
                    self.s,
                    m.px(self.tick),
                    {
                        "display": m.qty(self.display),
                        "hidden": m.qty(hidden),
                        "refills": self.refills,
                        "executed_hidden": m.qty(max(0, hidden - left)),
                        "within": self.kind,
                    },
                )
            )
        self.finish(ts, self.s, m.px(self.tick), extra)


class Vacuum(Episode):
    """Liquidity near mid is pulled and kept away for a while."""

    kind = EpisodeKind.VACUUM.value
    controls = True
    filters = True

    def begin(self, ts: int) -> bool:
        m, p = self.m, self.m.params.episodes
        bb, ba = m.best()
        self.center = (bb + ba) * 0.5
        self.factor = float(self.opts.get("factor", p.vacuum_factor))
        # Thin a margin as wide again as the band: even if one touch is eaten back
        # to the margin's edge, mid moves at most one band and the band stays thin.
        self.band = p.vacuum_band_bps * VACUUM_MARGIN * 1e-4 * self.center
        lo, hi = self.center - self.band, self.center + self.band
        before = after = 0
        for is_bid, book in ((True, m.bids), (False, m.asks)):
            ticks = list(book.irange(minimum=lo) if is_bid else book.irange(maximum=hi))
            for t in ticks:
                size = book[t]
                # Thin every level instead of deleting it: the touch stays near mid,
                # so mid (and the band around it) does not lurch into the walls outside.
                new = max(1, int(size * self.factor))
                before += size
                after += new
                if new != size:
                    m.set_level(is_bid, t, new)
        self.mkt_scale = 0.02
        self.start_ns = ts
        self.before, self.after = before, after
        life = float(self.opts.get("duration_s", self.uniform(p.vacuum_min_s, p.vacuum_max_s)))
        m.schedule(ts + int(life * 1e9), self._end, None)
        return True

    def control(self, lt: float, dt: float) -> float:
        return pull(lt, self.center, dt, 0.5)

    def filter_place(self, is_bid: bool, tick: int, lots: int) -> tuple[int, int]:
        if abs(tick - self.center) <= self.band:
            if self.rng.random() < 0.5:
                # Half the makers wait outside the hole, spread out over one vacuum band
                # behind its edge. (Geometric near-touch distances piled a vacuum's worth of
                # orders onto two or three ticks at the edge: 25-110 typical orders on one
                # level, unlabelled walls the wall detector rightly reported.)
                g = 1 + int(self.rng.random() * max(1.0, self.band / VACUUM_MARGIN))
                edge = self.center - self.band - g if is_bid else self.center + self.band + g
                return int(edge), lots
            return tick, max(1, int(lots * self.factor))
        return tick, lots

    def _end(self, ts: int, _arg: Any) -> None:
        m = self.m
        extra = {
            "band_bps": m.params.episodes.vacuum_band_bps,
            "before": m.qty(self.before),
            "after": m.qty(self.after),
            "factor": self.factor,
        }
        self.finish(ts, 0, m.px(int(round(self.center))), extra)
