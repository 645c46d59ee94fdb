"""End to end for Bybit, OKX, Kraken and Coinbase: real adapters, LiveFeed, Hub, emulator serving the captures.

Each venue runs its capture with one fault its protocol must detect (Bybit and
Coinbase: a dropped frame breaks the sequence; OKX and Kraken: an altered size
breaks the checksum). The feed must count it, resync by resubscribing only
that book, and finish LIVE with the book equal to the venue's true book
(independently maintained by the emulator from the capture).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tapescope.engine.events import FeedState, StatusChange
from tapescope.engine.hub import Hub
from tapescope.feeds.emulator import Emulator, Fault, FaultKind
from tapescope.feeds.emulator.scripts import bybit, coinbase, kraken, okx
from tapescope.feeds.venues.bybit import BybitLinearConfig
from tapescope.feeds.venues.coinbase import CoinbaseConfig
from tapescope.feeds.venues.kraken import KrakenConfig
from tapescope.feeds.venues.live import LiveFeed
from tapescope.feeds.venues.okx import OkxConfig
from tapescope.feeds.venues.settings import VenuesSettings

SETTINGS = VenuesSettings(
    backoff_base_s=0.05, backoff_max_s=0.3, backoff_jitter=0.0, rest_min_interval_s=0.0, stall_timeout_s=3.0
)


class StateTap:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.states: dict[str, list[FeedState]] = {}

    def on_raw(self, conn_id, recv_ns, payload) -> None:
        self.hub.on_raw(conn_id, recv_ns, payload)

    def on_event(self, ev) -> None:
        self.hub.on_event(ev)
        if isinstance(ev, StatusChange):
            self.states.setdefault(ev.symbol, []).append(ev.state)


def top_of(levels, n=20):
    return [(float(lv[0]), float(lv[1])) for lv in levels[:n]]


def matches(hub: Hub, emu: Emulator, key: str) -> bool:
    m = hub.markets[key]
    if m.state is not FeedState.LIVE:
        return False
    truth = emu.true_book(key.split(":", 1)[1])
    bids, asks = m.book.top(20)
    return bids == top_of(truth["bids"]) and asks == top_of(truth["asks"])


async def run_venue(venue, script, cfg_factory, keys, faults, rate=3000.0):
    async with Emulator(venue, script, faults, rate=rate) as emu:
        feed = LiveFeed({venue: cfg_factory(emu.ws_url)}, keys, settings=SETTINGS, seed=7)
        hub = Hub(feed.instruments, on_invalid=feed.request_resync)
        tap = StateTap(hub)
        task = asyncio.create_task(feed.run(tap))
        try:
            await emu.wait_done(timeout=8)
            async with asyncio.timeout(5):
                while not all(matches(hub, emu, k) for k in keys):
                    await asyncio.sleep(0.02)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert emu.stats["faults_fired"] == len(faults)  # the fault really hit the stream
        return feed, hub, tap, emu


@pytest.mark.shared_data
async def test_bybit_linear_capture_with_a_dropped_delta(shared_data):
    script = bybit.load_jsonl(str(shared_data / "bybit" / "BYBIT.jsonl"), "linear")
    keys = [f"bybit-linear:{s}" for s in script.symbols]
    assert len(keys) == 4
    fault = Fault(FaultKind.DROP, at=300, symbol="BTCUSDT")
    feed, hub, tap, emu = await run_venue(
        "bybit-linear", script, lambda url: BybitLinearConfig(ws_url=url, open_interest=False), keys, [fault]
    )
    health = {h.key: h for h in feed.symbol_health()}
    btc = health["bybit-linear:BTCUSDT"]
    assert btc.gaps == 1 and btc.resyncs == 1
    assert FeedState.RESYNCING in tap.states["bybit-linear:BTCUSDT"]
    for k in keys[1:]:
        assert health[k].gaps == 0 and FeedState.RESYNCING not in tap.states[k]  # only the lost book resyncs
    assert feed.connection_health()[0].reconnects == 0


@pytest.mark.shared_data
async def test_okx_capture_with_a_checksum_mismatch(shared_data):
    script = okx.load_cryptofeed(str(shared_data / "okx" / "OKX.ws.1.0"))
    keys = [f"okx:{s}" for s in script.symbols if any(f.channel == "book" and f.symbol == s for f in script.frames)]
    assert len(keys) == 3
    fault = Fault(FaultKind.BAD_CHECKSUM, at=40, symbol="BTC-USDT")
    feed, hub, tap, emu = await run_venue(
        "okx", script, lambda url: OkxConfig(ws_url=url, open_interest=False), keys, [fault], rate=1000
    )
    health = {h.key: h for h in feed.symbol_health()}
    assert health["okx:BTC-USDT"].checksum_failures == 1
    assert health["okx:BTC-USDT"].resyncs == 1
    assert all(health[k].checksum_failures == 0 for k in keys if k != "okx:BTC-USDT")
    assert sum(h.checksum_failures for h in health.values()) == 1


@pytest.mark.shared_data
async def test_kraken_v2_from_capture_with_a_checksum_mismatch(shared_data):
    script = kraken.load_v1(str(shared_data / "kraken" / "KRAKEN.ws.50.0"))
    keys = [f"kraken:{s}" for s in script.symbols]
    assert len(keys) == 10
    fault = Fault(FaultKind.BAD_CHECKSUM, at=50, symbol="XBT/CHF")
    feed, hub, tap, emu = await run_venue(
        "kraken", script, lambda url: KrakenConfig(ws_url=url, depth=1000), keys, [fault], rate=4000
    )
    health = {h.key: h for h in feed.symbol_health()}
    assert health["kraken:XBT/CHF"].checksum_failures == 1
    assert health["kraken:XBT/CHF"].resyncs == 1
    # every other update of the capture verified its checksum through the live path
    assert sum(h.checksum_failures for h in health.values()) == 1


@pytest.mark.shared_data
async def test_coinbase_capture_with_a_lost_frame(shared_data):
    script = coinbase.load_jsonl(str(shared_data / "coinbase" / "COINBASE.jsonl"))
    keys = ["coinbase:BTC-USD", "coinbase:ETH-USD"]
    fault = Fault(FaultKind.DROP, at=200)
    feed, hub, tap, emu = await run_venue("coinbase", script, lambda url: CoinbaseConfig(ws_url=url), keys, [fault])
    health = {h.key: h for h in feed.symbol_health()}
    # a connection-level sequence jump makes every book on the connection suspect
    assert all(health[k].resyncs == 1 for k in keys), {k: health[k].resyncs for k in keys}
    assert all(FeedState.RESYNCING in tap.states[k] for k in keys)
    assert hub.markets["coinbase:BTC-USD"].book.depth()[0] > 100


@pytest.mark.shared_data
async def test_one_feed_mixing_two_venues(shared_data):
    from tapescope.feeds.emulator.scripts.binance import generate
    from tapescope.feeds.venues.binance import BinanceUsdmConfig

    okx_script = okx.load_cryptofeed(str(shared_data / "okx" / "OKX.ws.1.0"))
    bin_script = generate("binance-usdm", ["BTCUSDT", "ETHUSDT"], 500, seed=2)
    keys = ["binance-usdm:BTCUSDT", "okx:BTC-USDT", "binance-usdm:ETHUSDT"]
    async with Emulator("okx", okx_script, rate=1000) as e_okx, Emulator("binance-usdm", bin_script, rate=2000) as e_bin:
        configs = {
            "okx": OkxConfig(ws_url=e_okx.ws_url, open_interest=False),
            "binance-usdm": BinanceUsdmConfig(ws_url=e_bin.ws_url, rest_url=e_bin.rest_url),
        }
        feed = LiveFeed(configs, ",".join(keys), settings=SETTINGS, seed=1)
        assert feed.name == "live" and [i.key for i in feed.instruments] == keys
        assert [c.conn_id for c in feed.connections] == ["binance-usdm#0", "okx#0"]
        hub = Hub(feed.instruments, on_invalid=feed.request_resync)
        task = asyncio.create_task(feed.run(StateTap(hub)))
        emus = {"okx": e_okx, "binance-usdm": e_bin}
        try:
            await e_okx.wait_done(8)
            await e_bin.wait_done(8)
            async with asyncio.timeout(5):
                while not all(matches(hub, emus[k.split(":")[0]], k) for k in keys):
                    await asyncio.sleep(0.02)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert [h.key for h in feed.symbol_health()] == keys
    assert all(h.state is FeedState.LIVE for h in feed.symbol_health())


@pytest.mark.shared_data
async def test_bybit_counts_each_frame_once_per_market(shared_data):
    script = bybit.load_jsonl(str(shared_data / "bybit" / "BYBIT.jsonl"), "linear")
    keys = [f"bybit-linear:{s}" for s in script.symbols]
    feed, hub, tap, emu = await run_venue(
        "bybit-linear", script, lambda url: BybitLinearConfig(ws_url=url, open_interest=False), keys, []
    )
    for h in feed.symbol_health():
        sym = h.key.split(":")[1]
        assert h.messages == sum(f.symbol == sym for f in script.frames)  # book and trade frames
        assert (h.gaps, h.resyncs, h.malformed) == (0, 0, 0)
