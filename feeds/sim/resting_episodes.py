"""Resting-size episodes of the simulator: ``wall`` (a large order that holds) and ``spoof`` (pulled before it trades).

What each guarantees in the emitted events is listed in
:mod:`tapescope.feeds.sim.episodes`, which registers and schedules them.
"""

from __future__ import annotations

import math
from typing import Any

from tapescope.feeds.sim.book import BIG
from tapescope.feeds.sim.episode_base import Episode, pull
from tapescope.feeds.sim.labels import EpisodeKind, EpisodeLabel

#: Share of a spoof's life over which price is walked onto it.
SPOOF_RAMP = 0.8


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
