"""The fault matrix again with the real Binance USD-M adapter (not the test protocol).

Each fault must be noticed in the right health counter and state, and the
market must end LIVE with the venue's true book.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tapescope.engine.events import FeedState, StatusChange
from tapescope.engine.hub import Hub
from tapescope.feeds.emulator import Emulator, Fault, FaultKind
from tapescope.feeds.emulator.scripts.binance import generate
from tapescope.feeds.venues.binance import BinanceUsdmConfig
from tapescope.feeds.venues.live import LiveFeed
from tapescope.feeds.venues.settings import VenuesSettings

KEY = "binance-usdm:BTCUSDT"
SETTINGS = VenuesSettings(
    backoff_base_s=0.05, backoff_max_s=0.3, backoff_jitter=0.0, rest_min_interval_s=0.0, stall_timeout_s=0.5
)

CASES = {
    # kind: (health field that must count it, (state that must appear), extra frames)
    FaultKind.DROP: ("gaps", FeedState.RESYNCING),
    FaultKind.REORDER: ("gaps", FeedState.RESYNCING),
    FaultKind.CORRUPT_JSON: ("gaps", FeedState.RESYNCING),
    FaultKind.WRONG_TYPES: ("malformed", FeedState.RESYNCING),  # market or connection counter
    FaultKind.DISCONNECT: ("reconnects", FeedState.DISCONNECTED),
    FaultKind.STALL: ("reconnects", FeedState.STALE),
    FaultKind.DUPLICATE: ("duplicate", None),
    FaultKind.BURST: (None, None),
}


@pytest.mark.parametrize("kind", list(CASES), ids=lambda k: k.value)
async def test_real_adapter_detects_and_recovers(kind):
    counter, state = CASES[kind]
    script = generate("binance-usdm", ["BTCUSDT"], 2500, seed=21, trade_every=4)
    fault = Fault(kind, at=400, count=800) if kind is FaultKind.BURST else Fault(kind, at=400)
    states: list[FeedState] = []
    async with Emulator("binance-usdm", script, [fault], rate=2500) as emu:
        feed = LiveFeed({"binance-usdm": BinanceUsdmConfig(ws_url=emu.ws_url, rest_url=emu.rest_url)}, [KEY],
                        settings=SETTINGS, seed=3)
        hub = Hub(feed.instruments, on_invalid=feed.request_resync)

        class Tap:
            def on_raw(self, *a) -> None:
                hub.on_raw(*a)

            def on_event(self, ev) -> None:
                hub.on_event(ev)
                if isinstance(ev, StatusChange):
                    states.append(ev.state)

        task = asyncio.create_task(feed.run(Tap()))
        try:
            await emu.wait_done(8)
            async with asyncio.timeout(5):
                while not (hub.markets[KEY].state is FeedState.LIVE
                           and hub.markets[KEY].book.seq == emu.dialect.ids["BTCUSDT"]):
                    await asyncio.sleep(0.02)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert emu.stats["faults_fired"] == 1
    truth = emu.true_book("BTCUSDT")
    bids, asks = hub.markets[KEY].book.top(20)
    assert bids == [(float(p), float(q)) for p, q in truth["bids"][:20]]
    assert asks == [(float(p), float(q)) for p, q in truth["asks"][:20]]
    h, c = feed.symbol_health()[0], feed.connection_health()[0]
    if counter == "duplicate":
        # The USD-M sync applies the documented pu chain strictly: a repeated event
        # breaks it and costs one resync (spot-style "ignore u <= local id" would not).
        assert h.gaps == h.resyncs <= 1 and c.reconnects == 0 and states[-1] is FeedState.LIVE
    elif counter is None:
        assert (h.gaps, h.malformed, h.resyncs, c.reconnects, c.malformed) == (0, 0, 0, 0, 0)
        assert h.messages == len(script.frames) == c.messages  # each diff and trade counted once
        assert states == [FeedState.SYNCING, FeedState.LIVE]
    else:
        if counter == "reconnects":
            value = c.reconnects
        elif counter == "malformed":
            value = h.malformed + c.malformed
        else:
            value = getattr(h, counter)
        assert value >= 1
        assert state in states and states[-1] is FeedState.LIVE
    if kind is FaultKind.CORRUPT_JSON:
        assert c.malformed == 1  # unparseable: counted on the connection, the gap on the market
