"""Start-up seeding: one market at a time in ``run``, unseeded markets stay CONNECTING, same books."""

from __future__ import annotations

import asyncio
import math

from tapescope.engine.events import BookSnapshot, FeedState, StatusChange
from tapescope.engine.flow import FlowParams
from tapescope.engine.hub import Hub
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.feeds.sim import market as sim_market
from tapescope.feeds.sim.market import SEED_CONTIGUOUS, SimMarket

S = 1_000_000_000
START = 1_767_225_600 * S


def _reference_seed(self: SimMarket) -> None:
    """The seeding as first written: one method call per order, sorted inserts (the oracle)."""
    depth = self.params.depth
    rnd = self.rng.random
    fair = int(math.floor(self.lt))
    for is_bid in (True, False):
        book = self.bids if is_bid else self.asks
        g = 0
        guard = 0
        while len(book) < depth and guard < 50 * depth:
            guard += 1
            if g < SEED_CONTIGUOUS:
                dist = g
                g += 1
            else:
                dist = int(math.exp(rnd() * self._log_span))
            tick = fair - dist if is_bid else fair + 1 + dist
            if tick <= 0 or tick in book:
                continue
            orders = 1 + min(int(math.log(1.0 - rnd()) * self._inv_log_cancel * 0.5), 2)
            queue = sum(self._order_lots(tick) for _ in range(orders))
            book[tick] = max(1, min(queue, int(self._queue_cap(tick))))


def test_fast_seeding_builds_the_reference_books_and_leaves_the_same_random_state(monkeypatch) -> None:
    params = SimParams()
    fast = [SimMarket(spec, params, START) for spec in params.universe()]
    monkeypatch.setattr(sim_market.SimMarket, "_seed_book", _reference_seed)
    ref = [SimMarket(spec, params, START) for spec in params.universe()]
    for a, b in zip(fast, ref, strict=True):
        assert len(a.bids) == len(a.asks) == params.depth
        assert list(a.bids.items()) == list(b.bids.items())
        assert list(a.asks.items()) == list(b.asks.items())
        # Every later draw (the whole simulation) depends on this.
        assert a.rng.getstate() == b.rng.getstate()
        assert a.bids.peekitem(-1)[0] < a.asks.peekitem(0)[0]


class HubProbe:
    """Feeds a real engine hub and records, at each market's first snapshot, what the hub shows."""

    def __init__(self, hub: Hub, feed: SimFeed) -> None:
        self.hub = hub
        self.feed = feed
        self.seen: list[tuple[str, int, dict[str, FeedState], dict[str, int]]] = []

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        pass

    def on_event(self, event) -> None:
        self.hub.on_event(event)
        if type(event) is BookSnapshot:
            states = {k: self.hub.snapshot(k, ladder_rows=5).state for k in self.hub.keys}
            depths = {k: len(self.hub.snapshot(k, ladder_rows=5).ladder.bids) for k in self.hub.keys}
            self.seen.append((event.symbol, len(self.feed._built), states, depths))


async def test_run_seeds_one_market_at_a_time_and_unseeded_markets_stay_connecting() -> None:
    params = SimParams(duration_s=0.5, speed=50.0)
    feed = SimFeed(params, realtime=True, start_ns=START)
    hub = Hub(feed.instruments, FlowParams())
    probe = HubProbe(hub, feed)
    await asyncio.wait_for(feed.run(probe), timeout=30.0)
    keys = hub.keys
    assert len(keys) >= 8
    assert [s[0] for s in probe.seen[:len(keys)]] == keys  # watchlist order
    for i, (key, built, states, depths) in enumerate(probe.seen[:len(keys)]):
        # When market i's snapshot arrives, only markets 0..i exist in the simulator...
        assert built == i + 1, (key, built)
        for j, other in enumerate(keys):
            if j <= i:
                assert states[other] is FeedState.LIVE and depths[other] == 5
            else:
                # ...and every later one shows CONNECTING with no book, never an empty LIVE book.
                assert states[other] is FeedState.CONNECTING and depths[other] == 0


async def test_run_yields_to_the_event_loop_between_markets() -> None:
    params = SimParams(duration_s=0.2, speed=50.0)
    feed = SimFeed(params, realtime=True, start_ns=START)
    seeded_when_ticked: list[int] = []

    async def ticker() -> None:
        while True:
            seeded_when_ticked.append(len(feed._built))
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    hub = Hub(feed.instruments, FlowParams())
    await asyncio.wait_for(feed.run(hub), timeout=30.0)
    task.cancel()
    n = len(feed.instruments)
    # Another task ran after each market was seeded, before the next one was.
    assert set(range(1, n + 1)) <= set(seeded_when_ticked)


async def test_incremental_run_emits_the_same_stream_as_generate() -> None:
    params = SimParams(duration_s=1.0, speed=20.0)
    events: list = []

    class Sink:
        def on_raw(self, conn_id, recv_ns, payload) -> None:
            pass

        def on_event(self, event) -> None:
            events.append(event)

    await asyncio.wait_for(SimFeed(params, realtime=True, start_ns=START).run(Sink()), timeout=30.0)
    compressed = list(SimFeed(params, realtime=False, start_ns=START).generate(1.0))
    n = len(params.universe())
    assert [type(e) for e in events[: 2 * n]] == [StatusChange, BookSnapshot] * n
    assert events == compressed


def test_generate_and_market_seed_everything_at_once() -> None:
    feed = SimFeed(SimParams(), realtime=False, start_ns=START)
    assert feed._built == []  # describing the feed seeds nothing
    assert feed.start_ns == START and feed._built == []
    feed.market(feed.instruments[-1].key)
    assert len(feed._built) == len(feed.instruments)
