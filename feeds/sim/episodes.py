"""Labelled microstructure episodes the simulator injects into one market.

The hooks they use are described in :mod:`tapescope.feeds.sim.episode_base`.
One episode runs per market at a time, so their controls never fight (random
arrivals that find the market busy are dropped, injected ones wait); regime
changes are not episodes and can happen at any time.

What each kind guarantees in the emitted events (``tests/feeds/sim``
re-derives all of it from the events alone), and its ``extra`` fields:

* ``wall`` (side +1 bid / -1 ask): ``extra["size"]`` appears at ``price`` at
  ``start_ns`` within 1 % of mid, is at least 5x the median level within 1 %
  on its side, stays until ``end_ns`` (>= 5 s) and is removed then. Takers
  never reach it (it holds the price). Extra: ``size``, ``median``,
  ``distance_bps``.
* ``spoof``: ``extra["size"]`` (wall-sized) appears at ``price`` within
  10 bps of the same side's touch and is removed at ``end_ns`` (< 10 s
  later) with no trade at that price in between, after the touch or the
  prints came toward it. Sequences repeat (one label per placement). Extra:
  ``size``, ``distance_ticks``, ``distance_bps``, ``cancel_distance_ticks``,
  ``group`` (start of the sequence), ``index``.
* ``iceberg``: the touch level at ``price`` is traded through and refills
  ``extra["refills"]`` (>= 3) times from ``extra["hidden"]`` (> display);
  more trades there than was ever displayed. Extra: ``display``, ``hidden``,
  ``refills``, ``executed_hidden``.
* ``absorption`` (side = the absorbing side: +1 bids absorb sells): over
  ``window_s`` aggressive volume into that side is ``extra["multiple"]``
  (>= 3, default 5) times its typical rate, while that side's best price
  stays within one tick of ``price``. Extra: ``volume``, ``typical_per_s``,
  ``window_s``, ``multiple``, ``refills``. The absorber holds its price by
  reloading its level each time takers empty it: that *is* an iceberg by
  the definition (trades beyond the displayed size, refilled), so when it
  refills at least 3 times the episode also writes an ``iceberg`` label over
  the same span with ``extra["within"] = "absorption"`` (before, the
  iceberg detector finding it was scored a false positive).
* ``vacuum`` (side 0, price = mid at start): resting size within
  ``band_bps`` of mid drops to about ``factor`` of what it was and stays
  below 0.3x its typical level until ``end_ns``. Extra: ``band_bps``,
  ``before``, ``after``, ``factor``.
"""

from __future__ import annotations

import math
from typing import Any

from tapescope.feeds.sim.book import BIG
from tapescope.feeds.sim.episode_base import Episode, pull
from tapescope.feeds.sim.labels import EpisodeKind, EpisodeLabel
from tapescope.feeds.sim.market import SimMarket

#: Seconds between retries when an injected episode waits for the running one.
RETRY_S = 0.5
#: Half-width of the area a vacuum thins, in vacuum bands.
VACUUM_MARGIN = 2.0
#: Share of a spoof's life over which price is walked onto it.
SPOOF_RAMP = 0.8
#: Longest time an iceberg waits for its hidden size to be taken, seconds.
ICEBERG_MAX_S = 60.0
#: Refills that make a level an iceberg (detectors.md: "at least 3 refills").
MIN_REFILLS = 3


class Wall(Episode):
    """A large order 15-80 bps from mid that rests 6-30 s and holds the price."""

    kind = EpisodeKind.WALL.value
    controls = True

    def begin(self, ts: int) -> bool:
        m, p = self.m, self.m.params.episodes
        self.s = self.side()
        bb, ba = m.best()
        mid = (bb + ba) * 0.5
        d_bps = float(self.opts.get("distance_bps", self.uniform(15.0, 80.0)))
        off = max(2, round(d_bps * 1e-4 * mid))
        is_bid = self.s > 0
        self.median = self.median_within(is_bid, 1.0)
        self.lots = max(
            1,
            int(self.opts.get("multiple", p.wall_multiple) * self.median * self.uniform(1.0, 1.3)),
        )
        if is_bid:
            self.tick = min(int(math.floor(mid - off)), bb)
            self.cap_sell = self.tick + 1
        else:
            self.tick = max(int(math.ceil(mid + off)), ba)
            self.cap_buy = self.tick - 1
        self.add_owned(is_bid, self.tick, self.lots)
        self.start_ns = ts
        self.dist_bps = abs(self.tick - mid) * 1e4 / mid
        life = float(self.opts.get("duration_s", self.uniform(p.wall_min_s, p.wall_max_s)))
        m.schedule(ts + int(max(life, 5.5) * 1e9), self._end, None)
        return True

    def control(self, lt: float, dt: float) -> float:
        # Reflect the latent price off the wall: it is support (bid) or resistance (ask).
        if self.s > 0:
            edge = self.tick + 1.5
            return 2 * edge - lt if lt < edge else lt
        edge = self.tick - 0.5
        return 2 * edge - lt if lt > edge else lt

    def _end(self, ts: int, _arg: Any) -> None:
        m = self.m
        self.remove_owned(self.s > 0, self.tick)
        self.finish(
            ts,
            self.s,
            m.px(self.tick),
            {
                "size": m.qty(self.lots),
                "median": m.qty(int(self.median)),
                "distance_bps": self.dist_bps,
            },
        )


class Spoof(Episode):
    """Wall-sized orders near the touch, pulled as price comes to them; repeated."""

    kind = EpisodeKind.SPOOF.value
    watches = True

    def begin(self, ts: int) -> bool:
        self.s = self.side()
        self.left = int(self.opts.get("repeats", self.m.params.episodes.spoof_repeats))
        self.index = 0
        self.group = ts
        self.live = False
        return self._place(ts)

    def _place(self, ts: int, _arg: Any = None) -> bool:
        m, p = self.m, self.m.params.episodes
        bb, ba = m.best()
        is_bid = self.s > 0
        touch = bb if is_bid else ba
        d_bps = float(self.opts.get("distance_bps", self.uniform(3.0, 8.0)))
        self.off = max(2, round(d_bps * 1e-4 * touch))
        self.tick = touch - self.off if is_bid else touch + self.off
        self.lots = max(
            1, int(p.wall_multiple * self.median_within(is_bid, 1.0) * self.uniform(1.0, 1.3))
        )
        self.add_owned(is_bid, self.tick, self.lots)
        if is_bid:
            self.cap_sell = self.tick + 1
        else:
            self.cap_buy = self.tick - 1
        self.controls = True
        self.live = True
        self.start_ns = ts
        self.approach = max(1, self.off // 4)
        life = self.uniform(min(3.0, p.spoof_max_s), p.spoof_max_s)
        # Price walks toward the order over most of its life (a ramp), so the
        # approach is visible for seconds instead of one sweep through a thin book.
        self.x0, self.t0 = m.lt, ts
        self.ramp_ns = max(1, int(SPOOF_RAMP * life * 1e9))
        self.edge = self.tick + 1.0 if is_bid else self.tick - 1.5
        m.schedule(ts + int(life * 1e9), self._expire, self.index)
        return True

    def control(self, lt: float, dt: float) -> float:
        frac = min(1.0, (self.m.now - self.t0) / self.ramp_ns)
        target = self.x0 + (self.edge - self.x0) * frac
        # Takers may not run ahead of the ramp either.
        if self.s > 0:
            self.cap_sell = max(self.tick + 1, int(math.floor(target)) - 2)
        else:
            self.cap_buy = min(self.tick - 1, int(math.ceil(target)) + 2)
        return pull(lt, target, dt, 0.25)

    def watch(self, ts: int) -> None:
        if not self.live:
            return
        bb, ba = self.m.best()
        dist = bb - self.tick if self.s > 0 else self.tick - ba
        if dist <= self.approach:
            self._cancel(ts, dist)

    def _expire(self, ts: int, index: int) -> None:
        if self.live and index == self.index:
            bb, ba = self.m.best()
            self._cancel(ts, bb - self.tick if self.s > 0 else self.tick - ba)

    def _cancel(self, ts: int, dist: int) -> None:
        m = self.m
        self.remove_owned(self.s > 0, self.tick)
        self.live = False
        self.controls = False
        self.cap_buy, self.cap_sell = BIG, -BIG
        ref = m.px(self.tick)
        extra = {
            "size": m.qty(self.lots),
            "distance_ticks": self.off,
            "distance_bps": self.off * 1e4 / (self.tick + (self.off if self.s > 0 else -self.off)),
            "cancel_distance_ticks": dist,
            "group": self.group,
            "index": self.index,
        }
        m.labels.append(EpisodeLabel(self.kind, m.key, self.start_ns, ts, self.s, ref, extra))
        if self.left > 0:
            self.left -= 1
            self.index += 1
            m.schedule(ts + int(self.uniform(0.5, 2.0) * 1e9), self._place, None)
        else:
            self.release()


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


#: Episode classes by kind.
KINDS: dict[str, type[Episode]] = {
    EpisodeKind.WALL.value: Wall,
    EpisodeKind.SPOOF.value: Spoof,
    EpisodeKind.ICEBERG.value: Iceberg,
    EpisodeKind.ABSORPTION.value: Absorption,
    EpisodeKind.VACUUM.value: Vacuum,
}


def start(ts: int, arg: tuple[SimMarket, str, dict[str, Any], bool]) -> None:
    """Scheduled action: start an episode, or retry later while another runs.

    ``arg`` is ``(market, kind, opts, injected)``. Random arrivals that find
    the market busy are dropped (so intensities are upper bounds); injected
    ones wait and retry every ``RETRY_S``.
    """
    m, kind, opts, injected = arg
    if kind == EpisodeKind.REGIME_CHANGE.value:
        m.force_regime(ts, opts)
        return
    if m.ep is not None:
        if injected:
            m.schedule(ts + int(RETRY_S * 1e9), start, arg)
        return
    ep = KINDS[kind](m, opts)
    m.ep = ep
    if not ep.begin(ts):
        ep.release()


def schedule_arrivals(m: SimMarket) -> None:
    """Schedule the random (Poisson) episode arrivals configured in ``[sim.episodes]``."""
    p = m.params.episodes
    rates = {
        EpisodeKind.WALL.value: p.wall_per_hour,
        EpisodeKind.SPOOF.value: p.spoof_per_hour,
        EpisodeKind.ICEBERG.value: p.iceberg_per_hour,
        EpisodeKind.ABSORPTION.value: p.absorption_per_hour,
        EpisodeKind.VACUUM.value: p.vacuum_per_hour,
    }
    for kind, per_hour in rates.items():
        if per_hour > 0:
            _next_arrival(m.now, (m, kind, 3600.0 / per_hour))


def _next_arrival(ts: int, arg: tuple[SimMarket, str, float]) -> None:
    m, _kind, mean_s = arg
    m.schedule(ts + max(1, int(m.rng.expovariate(1.0 / mean_s) * 1e9)), _arrive, arg)


def _arrive(ts: int, arg: tuple[SimMarket, str, float]) -> None:
    m, kind, _mean_s = arg
    start(ts, (m, kind, {}, False))
    _next_arrival(ts, arg)
