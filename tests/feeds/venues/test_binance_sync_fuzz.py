"""Property test of the Binance book syncs against a model exchange.

A model exchange generates diff events over a small price grid and remembers
the true book after each one. Hypothesis then delivers them with random
damage (drops, duplicates, swaps) and answers snapshot requests with the true
book. Whatever happens, whenever the sync says LIVE the book built from its
output must equal the true book at the sync's update id.
"""

from __future__ import annotations

import random

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, FeedState
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.binance_decode import BinanceDepth
from tapescope.feeds.venues.binance_sync import BinanceSpotSync, BinanceUsdmSync

N_EVENTS = 40


def model(seed: int, futures: bool):
    """Events and the true book (bids, asks dicts) after each prefix of them."""
    rng = random.Random(seed)
    bids = {float(p): 1.0 for p in range(1, 8)}
    asks = {float(p): 1.0 for p in range(12, 19)}
    truth = [(dict(bids), dict(asks))]
    events: list[BinanceDepth] = []
    u = 1000
    for _ in range(N_EVENTS):
        U = u + 1 + (rng.randint(0, 5) if futures else 0)
        new_u = U + rng.randint(0, 3)
        b = [(float(rng.randint(1, 10)), float(rng.choice([0, 0, 1, 2, 3]))) for _ in range(rng.randint(0, 3))]
        a = [(float(rng.randint(11, 20)), float(rng.choice([0, 0, 1, 2, 3]))) for _ in range(rng.randint(0, 3))]
        for side, levels in ((bids, b), (asks, a)):
            for p, q in levels:
                if q:
                    side[p] = q
                else:
                    side.pop(p, None)
        events.append(BinanceDepth(new_u, new_u, U, new_u, u if futures else -1, b, a))
        truth.append((dict(bids), dict(asks)))
        u = new_u
    return events, truth


def snapshot_body(lid: int, state) -> bytes:
    bids, asks = state
    return orjson.dumps({
        "lastUpdateId": lid,
        "bids": [[str(p), str(q)] for p, q in bids.items()],
        "asks": [[str(p), str(q)] for p, q in asks.items()],
    })


ops = st.lists(st.sampled_from(["send"] * 6 + ["drop", "dup", "swap", "snapshot", "snapshot"]), max_size=80)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10_000), futures=st.booleans(), plan=ops)
def test_live_book_always_equals_the_truth(seed: int, futures: bool, plan: list[str]) -> None:
    events, truth = model(seed, futures)
    prefix_by_u = {e.u: i + 1 for i, e in enumerate(events)}
    cls = BinanceUsdmSync if futures else BinanceSpotSync
    inst = Instrument("binance-usdm" if futures else "binance-spot", "X")
    sync = cls(inst, SymbolHealth(inst.key), max_buffer=15)
    book = Book()
    wanted = False
    i = 0
    damaged = False

    def absorb(out) -> None:
        nonlocal wanted
        wanted |= out.need_snapshot
        for ev in out.events:
            if isinstance(ev, BookSnapshot):
                book.apply_snapshot(ev.bids, ev.asks, ev.seq)
            elif isinstance(ev, BookDelta):
                book.apply_delta(ev.bids, ev.asks, ev.seq)

    def check() -> None:
        if sync.state is FeedState.LIVE:
            bids, asks = truth[prefix_by_u[sync.last_update_id]]
            assert dict(book.bids) == bids and dict(book.asks) == asks
            book._check()

    for op in plan:
        if i >= len(events):
            break
        if op == "send":
            absorb(sync.on_depth(events[i], i))
            i += 1
        elif op == "drop":
            damaged = True
            i += 1
        elif op == "dup" and i > 0:
            damaged = True
            absorb(sync.on_depth(events[i - 1], i))
        elif op == "swap" and i + 1 < len(events):
            damaged = True
            absorb(sync.on_depth(events[i + 1], i))
            absorb(sync.on_depth(events[i], i))
            i += 2
        elif op == "snapshot" and wanted:
            # A REST snapshot taken now: the book after the next event the
            # exchange emits, with that event's u as lastUpdateId.
            wanted = False
            absorb(sync.on_rest_snapshot(snapshot_body(events[i].u, truth[i + 1]), i))
        check()
    if not damaged:
        # A clean stream never looks broken, however the snapshots are timed.
        assert sync.health.gaps == 0
