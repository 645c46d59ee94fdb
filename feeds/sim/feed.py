"""``SimFeed``: the deterministic market simulator behind the :class:`Feed` interface.

It runs one :class:`~tapescope.feeds.sim.market.SimMarket` per symbol and
merges their outputs in venue-time order (ties broken by watchlist order), so
the event sequence is a pure function of params, seed and start time.

Two ways to consume it:

* ``await feed.run(sink)``: paced. Every ``wake_ms`` it emits what is due up
  to ``start + speed * elapsed wall time`` (or, with ``realtime=False``, as
  fast as possible, yielding to the event loop between chunks). Each event is
  encoded and passed to ``sink.on_raw`` first, so a recording replays through
  :func:`~tapescope.feeds.sim.codec.decode`.
* ``feed.generate(duration_s)``: time-compressed iterator for benchmarks and
  evaluation. Calls continue where the previous one stopped.

Both start with a ``StatusChange(LIVE)`` and a ``BookSnapshot`` per symbol.

Seeding a book costs a few to tens of milliseconds per market, so ``run``
seeds the markets one at a time, in watchlist order, sending each market's
header as soon as its book exists and yielding to the event loop before the
next one: the first market (the one a dashboard focuses at start) is live
while the others are still seeded, and a market not yet seeded has sent
nothing, so its engine state stays ``CONNECTING``. The event sequence is the
same as when every market is seeded first (each market draws from its own
random stream, and the headers go out in the same order).

>>> feed = SimFeed(SimParams(symbols=("ETH-SIM",)), realtime=False)
>>> evs = list(feed.generate(1.0))
>>> [type(e).__name__ for e in evs[:2]], all(a.ts <= b.ts for a, b in zip(evs, evs[1:]))
(['StatusChange', 'BookSnapshot'], True)
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from tapescope.engine.events import Event, FeedState, StatusChange
from tapescope.engine.health import ConnectionHealth, SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.base import EventSink, Feed
from tapescope.feeds.sim import episodes
from tapescope.feeds.sim.codec import CONN_ID, encode
from tapescope.feeds.sim.labels import EpisodeKind, EpisodeLabel, RegimeSpan
from tapescope.feeds.sim.market import SimMarket
from tapescope.feeds.sim.params import SimParams

log = logging.getLogger(__name__)

#: Virtual time emitted per chunk when ``run`` is not paced, ns.
UNPACED_CHUNK_NS = 200_000_000


class SimFeed(Feed):
    """Seeded simulator of ``SimParams.universe()`` with labelled episodes."""

    name = "sim"

    def __init__(
        self, params: SimParams | None = None, realtime: bool = True, start_ns: int | None = None
    ) -> None:
        """Build the markets (books seeded, nothing emitted yet).

        Args:
            params: simulator settings; defaults when ``None``.
            realtime: ``run`` paces events against the wall clock.
            start_ns: virtual start time; ``None`` means the wall clock at
                first use when ``realtime``, else ``params.start_time``.
        """
        self.params = params or SimParams()
        """Simulator settings."""
        self.realtime = realtime
        """Whether ``run`` paces against the wall clock."""
        if start_ns is None and not realtime:
            start_ns = self.params.start_ns()
        # Paced feeds without a start time anchor to the wall clock when first
        # used (run, generate, inject...), not at construction, so an app that
        # takes a while to start does not begin its session seconds behind.
        self._start_ns = start_ns
        self._specs = self.params.universe()
        self._instruments = [
            Instrument("sim", s.symbol, tick_size=s.tick, lot_size=s.lot) for s in self._specs
        ]
        keys = [i.key for i in self._instruments]
        # Markets seeded so far, a prefix of the universe in watchlist order.
        self._built: list[SimMarket] = []
        self._by_key: dict[str, SimMarket] = {}
        self._heap: list[tuple[int, int]] = []
        # Markets whose header (LIVE status and snapshot) has been emitted, a prefix too.
        self._headed = 0
        self._started = False
        self._horizon = 0
        self._cursor = 0
        self._health = {k: SymbolHealth(k) for k in keys}
        self._conn = ConnectionHealth(CONN_ID, url="sim://local", symbols=keys)

    @property
    def start_ns(self) -> int:
        """Virtual time of the first events, ns (fixes the wall-clock anchor if still open)."""
        return self._anchor()

    @property
    def _markets(self) -> list[SimMarket]:
        return self._build()

    def _anchor(self) -> int:
        """Fix the virtual start time on first use (the wall clock when none was given)."""
        if self._start_ns is None:
            self._start_ns = time.time_ns()
        if not self._built and self._horizon == 0:
            self._horizon = self._cursor = self._start_ns
        return self._start_ns

    def _build_next(self) -> SimMarket:
        """Create and seed the next market of the universe. ``O(depth log depth)``."""
        start = self._anchor()
        m = SimMarket(self._specs[len(self._built)], self.params, start)
        episodes.schedule_arrivals(m)
        self._built.append(m)
        self._by_key[m.key] = m
        return m

    def _build(self) -> list[SimMarket]:
        """Create every market not yet created (seeding their books)."""
        while len(self._built) < len(self._specs):
            self._build_next()
        return self._built

    # -- Feed interface ---------------------------------------------------------------

    @property
    def instruments(self) -> list[Instrument]:
        """The simulated markets, in watchlist order."""
        return list(self._instruments)

    async def run(self, sink: EventSink) -> None:
        """Stream events into ``sink``, paced (see module docstring).

        Returns after ``params.duration_s`` of virtual time when that is set;
        otherwise runs until cancelled.
        """
        p = self.params
        loop = asyncio.get_running_loop()
        self._anchor()
        while not self._started:
            # One market at a time (see the module docstring): seed it, send its
            # header, then let the event loop run (draw a frame) before the next.
            self._emit(sink, self._header(1))
            await asyncio.sleep(0)
        end = self._horizon + int(p.duration_s * 1e9) if p.duration_s > 0 else None
        wake = p.wake_ms / 1000.0
        v0, w0 = self._horizon, loop.time()
        while True:
            if self.realtime:
                target = v0 + int((loop.time() - w0) * p.speed * 1e9)
            else:
                target = self._horizon + UNPACED_CHUNK_NS
            if end is not None and target > end:
                target = end
            self._emit(sink, self._until(target))
            if end is not None and self._horizon >= end:
                return
            await asyncio.sleep(wake if self.realtime else 0)

    def _emit(self, sink: EventSink, events: Iterable[Event]) -> None:
        """Encode and deliver ``events`` (raw payload first), counting them in the health."""
        health, conn = self._health, self._conn
        for ev in events:
            payload = encode(ev)
            recv = ev.recv_ts
            sink.on_raw(CONN_ID, recv, payload)
            sink.on_event(ev)
            h = health[ev.symbol]
            h.messages += 1
            h.last_recv_ns = recv
            h.venue_latency_ns = recv - ev.ts
            conn.messages += 1
            conn.bytes += len(payload)
            conn.last_recv_ns = recv

    def symbol_health(self) -> list[SymbolHealth]:
        """Detached copies of per-market health."""
        return [h.copy() for h in self._health.values()]

    def connection_health(self) -> list[ConnectionHealth]:
        """The one simulated connection."""
        return [self._conn.copy()]

    # -- compressed mode --------------------------------------------------------------

    def generate(self, duration_s: float) -> Iterator[Event]:
        """Events of the next ``duration_s`` virtual seconds, as fast as possible.

        The first call starts with the LIVE status and snapshots; later calls
        continue seamlessly. Events are in ``ts`` order across symbols.
        """
        self._build()
        return self._until(self._horizon + int(duration_s * 1e9))

    def _header(self, limit: int | None = None) -> list[Event]:
        """LIVE status and book snapshot of the next ``limit`` markets (all when ``None``).

        Markets are seeded here when they do not exist yet; after the last
        header the merge heap is built and the feed counts as started.
        """
        ts = self.start_ns
        n = len(self._specs) if limit is None else min(len(self._specs), self._headed + limit)
        out: list[Event] = []
        while self._headed < n:
            m = self._built[self._headed] if self._headed < len(self._built) else self._build_next()
            snap = m.snapshot(ts)
            out.append(StatusChange(m.key, ts, snap.recv_ts, FeedState.LIVE, "simulated"))
            out.append(snap)
            h = self._health[m.key]
            h.state = FeedState.LIVE
            h.reason = "simulated"
            self._conn.state = FeedState.LIVE
            self._headed += 1
        if self._headed == len(self._specs):
            self._started = True
            self._rebuild_heap()
        return out

    def _rebuild_heap(self) -> None:
        # In place: a suspended ``_until`` generator holds this list.
        self._heap[:] = [(m.next_ts, i) for i, m in enumerate(self._markets)]
        heapq.heapify(self._heap)

    def _until(self, until_ns: int) -> Iterator[Event]:
        """Emit every event with ``ts < until_ns`` not yet emitted."""
        if not self._started:
            yield from self._header()
        heap, markets = self._heap, self._markets
        replace = heapq.heapreplace
        while heap[0][0] < until_ns:
            self._cursor, i = heap[0]
            m = markets[i]
            evs = m.step()
            replace(heap, (m.next_ts, i))
            if evs:
                yield from evs
        if until_ns > self._horizon:
            self._horizon = until_ns

    # -- ground truth and control -------------------------------------------------------

    def market(self, key: str) -> SimMarket:
        """The simulated market behind ``key`` (tests read its book).

        Raises:
            KeyError: for a key this feed does not serve.
        """
        self._build()
        return self._by_key[key]

    @property
    def labels(self) -> list[EpisodeLabel]:
        """Finished episodes (and regime changes) so far, by start time then key."""
        out = [lab for m in self._markets for lab in m.labels]
        out.sort(key=lambda lab: (lab.start_ns, lab.key))
        return out

    @property
    def regimes(self) -> list[RegimeSpan]:
        """Regime spans of every market, the last one open up to what has been generated."""
        # No switch happened between a market's last item and the horizon, so its
        # open span runs to the horizon.
        return [span for m in self._markets for span in m.regime.spans(max(m.now, self._horizon))]

    def inject(self, kind: str, key: str, at_ns: int | None = None, **opts: Any) -> None:
        """Schedule an episode on one market.

        Args:
            kind: an :class:`~tapescope.feeds.sim.labels.EpisodeKind` value.
            key: market key, e.g. ``"sim:BTC-SIM"``.
            at_ns: virtual time; ``None`` or a time already generated means
                as soon as possible. If another episode is running then, it
                starts when that one ends.
            **opts: kind-specific overrides: ``side`` (+1 bid / -1 ask) for
                wall, spoof, iceberg, absorption; ``duration_s``,
                ``distance_bps``, ``multiple`` (wall); ``repeats``,
                ``distance_bps`` (spoof); ``refills`` (iceberg); ``window_s``,
                ``multiple`` (absorption); ``duration_s``, ``factor`` (vacuum);
                ``vol``, ``market`` (regime_change).

        Raises:
            KeyError: unknown market key.
            ValueError: unknown kind.
        """
        kinds = {k.value for k in EpisodeKind}
        if kind not in kinds:
            raise ValueError(f"episode kind {kind!r}: expected one of {sorted(kinds)}")
        self._build()
        m = self._by_key[key]
        ts = max(at_ns if at_ns is not None else 0, self._cursor, m.now)
        m.schedule(ts, episodes.start, (m, kind, dict(opts), True))
        if self._started:
            self._rebuild_heap()
        log.debug("injected %s on %s at %d", kind, key, ts)
