"""LiveFeed against the loopback emulator with the test protocol: sync, splitting, unreachable."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from tapescope.engine.events import FeedState
from tapescope.feeds.emulator import Emulator
from tapescope.feeds.emulator.scripts.binance import generate
from tapescope.feeds.venues.live import LiveFeed
from tapescope.feeds.venues.settings import VenueEndpoint, VenuesSettings

FAST = VenuesSettings(backoff_base_s=0.05, backoff_max_s=0.4, backoff_jitter=0.0, rest_min_interval_s=0.0, stall_timeout_s=3.0)


async def wait_until(cond, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(feed, sink):
    task = asyncio.create_task(feed.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def top(book, n=20):
    bids, asks = book.top(n)
    return bids, asks


def true_top(emu, symbol, n=20):
    snap = emu.true_book(symbol)
    return (
        [(float(p), float(q)) for p, q in snap["bids"][:n]],
        [(float(p), float(q)) for p, q in snap["asks"][:n]],
    )


async def test_syncs_to_live_and_matches_the_venue_book(mini_protocol, book_sink):
    script = generate("binance-usdm", ["BTCUSDT"], 400, seed=3)
    async with Emulator("binance-usdm", script, rate=2000) as emu:
        feed = LiveFeed({"binance-usdm": VenueEndpoint(emu.ws_url, emu.rest_url)}, ["BTCUSDT"],
                        settings=FAST, protocols={"binance-usdm": mini_protocol()}, seed=1)
        async with running(feed, book_sink):
            await emu.wait_done(timeout=8)
            key = "binance-usdm:BTCUSDT"
            await wait_until(lambda: book_sink.books[key].seq == emu.dialect.ids["BTCUSDT"])
            assert top(book_sink.books[key]) == true_top(emu, "BTCUSDT")
            assert book_sink.states[key][:2] == [FeedState.SYNCING, FeedState.LIVE]
            h = feed.symbol_health()[0]
            assert h.state is FeedState.LIVE and h.gaps == 0 and h.malformed == 0
            assert h.messages == len(script.frames)  # every book diff and trade counted
            c = feed.connection_health()[0]
            assert c.state is FeedState.LIVE and c.reconnects == 0
            assert c.messages == book_sink.raw and c.bytes > 0
            assert book_sink.rest_raw == 1  # the one REST snapshot, tapped for the recorder
            assert len(book_sink.trades) == sum(f.channel == "trade" for f in script.frames)
            # health getters return detached copies
            h.gaps, c.symbols[0] = 99, "x"
            assert feed.symbol_health()[0].gaps == 0 and feed.connection_health()[0].symbols == [key]
            assert book_sink.crossed == 0


async def test_splits_symbols_across_connections(mini_protocol, book_sink):
    symbols = [f"S{i}USDT" for i in range(23)]
    script = generate("binance-usdm", symbols, 30, seed=5, trade_every=0)
    async with Emulator("binance-usdm", script, rate=3000, start_delay_s=0.3) as emu:
        proto = mini_protocol()
        proto.max_symbols_per_connection = 10
        feed = LiveFeed({"binance-usdm": VenueEndpoint(emu.ws_url, emu.rest_url)}, symbols,
                        settings=FAST, protocols={"binance-usdm": proto}, seed=1)
        assert len(feed.connections) == math.ceil(23 / 10)
        assert sorted(len(c.slots) for c in feed.connections) == [7, 8, 8]
        async with running(feed, book_sink):
            await wait_until(lambda: emu.connection_count == 3)
            await emu.wait_done(timeout=8)
            await wait_until(lambda: all(h.state is FeedState.LIVE for h in feed.symbol_health()))
            await wait_until(lambda: all(book_sink.books[f"binance-usdm:{s}"].seq == emu.dialect.ids[s] for s in symbols))
            for s in symbols:
                assert top(book_sink.books[f"binance-usdm:{s}"]) == true_top(emu, s)
            subs = sorted(len(sess.subs) for sess in emu.sessions())
            assert subs == [14, 16, 16]  # depth + trade per symbol, per connection


async def test_unreachable_venue_keeps_retrying_with_growing_delays(mini_protocol, book_sink):
    # A port that was just free: nothing listens there.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = VenuesSettings(backoff_base_s=0.05, backoff_max_s=0.4, backoff_jitter=0.0, connect_timeout_s=1.0)
    feed = LiveFeed({"binance-usdm": VenueEndpoint(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}")},
                    ["BTCUSDT"], settings=settings, protocols={"binance-usdm": mini_protocol()}, seed=1)
    retries: list[int] = []
    async with running(feed, book_sink) as task:
        async def sample():
            while len(retries) < 5:
                h = feed.connection_health()[0]
                if h.next_retry_ns and (not retries or h.next_retry_ns != retries[-1]):
                    retries.append(h.next_retry_ns)
                await asyncio.sleep(0.005)
        await asyncio.wait_for(sample(), 5)
        assert not task.done()
        sh = feed.symbol_health()[0]
        assert sh.state is FeedState.DISCONNECTED
        assert sh.next_retry_ns > 0
        # The reason names the absolute retry time, which stays true while it is on screen.
        at = time.strftime("%H:%M:%S", time.gmtime(sh.next_retry_ns / 1e9))
        assert "unreachable" in sh.reason and sh.reason.endswith(f"retry at {at} UTC")
        # Every failed attempt reaches the engine with its own reason (for the badge).
        reasons = book_sink.reasons["binance-usdm:BTCUSDT"]
        assert len(reasons) >= 3 and all("retry at" in r for r in reasons)
        assert feed.connection_health()[0].reconnects == 0
    gaps = [b - a for a, b in zip(retries, retries[1:], strict=False)]
    # delays 0.05, 0.1, 0.2, 0.4 (capped): the gaps between retry times grow
    assert gaps[0] < gaps[1] < gaps[2]
    assert book_sink.states["binance-usdm:BTCUSDT"][0] is FeedState.DISCONNECTED


async def _raw_server(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _first_reason(feed, sink, needle: str) -> str:
    async with running(feed, sink) as task:
        await wait_until(lambda: needle in feed.connection_health()[0].reason, 5)
        assert not task.done()
        return feed.connection_health()[0].reason


async def test_silent_server_is_a_connect_timeout(mini_protocol, book_sink):
    async def silent(reader, writer):
        await asyncio.sleep(10)

    server, port = await _raw_server(silent)
    async with server:
        settings = VenuesSettings(backoff_base_s=0.05, backoff_max_s=0.2, connect_timeout_s=0.3)
        feed = LiveFeed({"binance-usdm": VenueEndpoint(f"ws://127.0.0.1:{port}")}, ["BTCUSDT"],
                        settings=settings, protocols={"binance-usdm": mini_protocol()})
        reason = await _first_reason(feed, book_sink, "timed out")
    assert reason.startswith("connect timed out after 0.3s; retry at ")
    assert feed.symbol_health()[0].state is FeedState.DISCONNECTED


async def test_refused_handshake_shows_the_status(mini_protocol, book_sink):
    async def forbidden(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server, port = await _raw_server(forbidden)
    async with server:
        settings = VenuesSettings(backoff_base_s=0.05, backoff_max_s=0.2)
        feed = LiveFeed({"binance-usdm": VenueEndpoint(f"ws://127.0.0.1:{port}")}, ["BTCUSDT"],
                        settings=settings, protocols={"binance-usdm": mini_protocol()})
        reason = await _first_reason(feed, book_sink, "refused")
    assert reason.startswith("handshake refused:") and "403" in reason
