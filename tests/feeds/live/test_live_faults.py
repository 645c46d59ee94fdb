"""Each emulator fault: the live layer notices, counts it, shows the right state and recovers.

Uses the test protocol (conftest) over a generated Binance USD-M market, so
every expected count is known exactly: the script is deterministic and each
fault hits one frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from tapescope.engine.events import FeedState
from tapescope.feeds.emulator import Emulator, Fault, FaultKind
from tapescope.feeds.emulator.scripts.binance import generate
from tapescope.feeds.venues.live import LiveFeed
from tapescope.feeds.venues.settings import VenueEndpoint, VenuesSettings

KEY = "binance-usdm:BTCUSDT"
SETTINGS = VenuesSettings(
    backoff_base_s=0.05, backoff_max_s=0.3, backoff_jitter=0.0, rest_min_interval_s=0.0, stall_timeout_s=0.5
)


async def wait_until(cond, timeout: float = 6.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def session(protocol_cls, sink, faults, n_events=1500, rate=3000.0, tail_s=0.0):
    script = generate("binance-usdm", ["BTCUSDT"], n_events, seed=11, trade_every=0)
    async with Emulator("binance-usdm", script, faults, rate=rate, tail_s=tail_s) as emu:
        feed = LiveFeed({"binance-usdm": VenueEndpoint(emu.ws_url, emu.rest_url)}, [KEY],
                        settings=SETTINGS, protocols={"binance-usdm": protocol_cls()}, seed=2)
        task = asyncio.create_task(feed.run(sink))
        try:
            yield emu, feed, script
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            assert task.cancelled()  # run() never raised anything but CancelledError


async def converged(emu, feed, sink) -> None:
    """Timeline done; the feed's book is LIVE and equals the venue's true book."""
    await emu.wait_done(timeout=8)
    await wait_until(lambda: feed.symbol_health()[0].state is FeedState.LIVE
                     and KEY in sink.books and sink.books[KEY].seq == emu.dialect.ids["BTCUSDT"])
    snap = emu.true_book("BTCUSDT")
    bids, asks = sink.books[KEY].top(20)
    assert bids == [(float(p), float(q)) for p, q in snap["bids"][:20]]
    assert asks == [(float(p), float(q)) for p, q in snap["asks"][:20]]
    assert sink.crossed == 0


async def test_dropped_diff_is_a_gap_then_resync(mini_protocol, book_sink):
    async with session(mini_protocol, book_sink, [Fault(FaultKind.DROP, at=300)]) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        h = feed.symbol_health()[0]
        assert (h.gaps, h.resyncs) == (1, 1)
        assert book_sink.states[KEY] == [FeedState.SYNCING, FeedState.LIVE, FeedState.RESYNCING, FeedState.LIVE]
        assert emu.stats["rest_requests"] == 2


async def test_duplicate_is_ignored(mini_protocol, book_sink):
    async with session(mini_protocol, book_sink, [Fault(FaultKind.DUPLICATE, at=300)]) as (emu, feed, script):
        await converged(emu, feed, book_sink)
        h = feed.symbol_health()[0]
        assert (h.gaps, h.resyncs) == (0, 0)
        assert h.messages == len(script.frames) + 1


async def test_reordered_diffs_resync(mini_protocol, book_sink):
    async with session(mini_protocol, book_sink, [Fault(FaultKind.REORDER, at=300)]) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        h = feed.symbol_health()[0]
        assert h.gaps >= 1 and h.resyncs >= 1
        assert FeedState.RESYNCING in book_sink.states[KEY]


async def test_corrupt_json_is_counted_logged_once_and_recovered(mini_protocol, book_sink, caplog):
    caplog.set_level(logging.WARNING, logger="tapescope.feeds.venues.connection")
    faults = [Fault(FaultKind.CORRUPT_JSON, at=300), Fault(FaultKind.CORRUPT_JSON, at=900)]
    async with session(mini_protocol, book_sink, faults) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        c = feed.connection_health()[0]
        assert c.malformed == 2
        assert feed.symbol_health()[0].gaps == 2  # each lost diff breaks the pu chain
    warnings = [r for r in caplog.records if "malformed frame" in r.getMessage()]
    assert len(warnings) == 1
    assert "sample:" in warnings[0].getMessage() and len(warnings[0].getMessage()) < 400


async def test_wrong_types_are_malformed_not_fatal(mini_protocol, book_sink):
    async with session(mini_protocol, book_sink, [Fault(FaultKind.WRONG_TYPES, at=200)]) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        assert feed.connection_health()[0].malformed == 1
        assert feed.symbol_health()[0].resyncs == 1


async def test_disconnect_mid_stream_reconnects_and_resyncs(mini_protocol, book_sink):
    async with session(mini_protocol, book_sink, [Fault(FaultKind.DISCONNECT, at=300)]) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        c = feed.connection_health()[0]
        assert c.reconnects == 1 and emu.stats["connections"] == 2
        states = book_sink.states[KEY]
        assert states == [FeedState.SYNCING, FeedState.LIVE, FeedState.DISCONNECTED, FeedState.SYNCING, FeedState.LIVE]
        i = states.index(FeedState.DISCONNECTED)
        assert "closed by venue: code 1001" in book_sink.reasons[KEY][i]


async def test_stall_goes_stale_then_reconnects(mini_protocol, book_sink):
    async with session(mini_protocol, book_sink, [Fault(FaultKind.STALL, at=200)], n_events=4000) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        states = book_sink.states[KEY]
        i = states.index(FeedState.STALE)
        assert "stalled: no message for 0.5s" in book_sink.reasons[KEY][i]
        assert states[i + 1:] == [FeedState.SYNCING, FeedState.LIVE]
        assert feed.connection_health()[0].reconnects == 1


async def test_burst_is_absorbed_without_loss(mini_protocol, book_sink):
    async with session(mini_protocol, book_sink, [Fault(FaultKind.BURST, at=100, count=1200)], rate=1500) as (emu, feed, script):
        await converged(emu, feed, book_sink)
        h = feed.symbol_health()[0]
        assert (h.gaps, h.resyncs, h.malformed) == (0, 0, 0)
        assert h.messages == len(script.frames)


async def test_venue_error_frame_is_shown_not_fatal(mini_protocol, book_sink):
    fault = Fault(FaultKind.ERROR, at=200, text="Service unavailable \x1b[31mnow")
    async with session(mini_protocol, book_sink, [fault]) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        c = feed.connection_health()[0]
        assert c.reason == "venue error: Service unavailable now"  # escape sequence stripped
        assert c.reconnects == 0 and feed.symbol_health()[0].gaps == 0


async def test_refused_subscription_is_retried(mini_protocol, book_sink):
    fault = Fault(FaultKind.REFUSE, symbol="BTCUSDT", count=2)
    async with session(mini_protocol, book_sink, [fault]) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        reasons = book_sink.reasons[KEY]
        assert "subscription refused: Invalid request: stream btcusdt@depth@100ms refused" in reasons
        assert emu.dialect.refuse["BTCUSDT"] == 0
        # subscribe, then (unsubscribe + subscribe) once per refusal (more only if a
        # loaded machine stalled the stream and the feed reconnected)
        assert emu.stats["client_frames"] >= 5


async def test_engine_requested_resync(mini_protocol, book_sink):
    async with session(mini_protocol, book_sink, [], n_events=3000) as (emu, feed, _):
        await wait_until(lambda: feed.symbol_health()[0].state is FeedState.LIVE)
        feed.request_resync(KEY, "crossed book: bid 101 >= ask 100")
        assert feed.symbol_health()[0].state is FeedState.RESYNCING
        await converged(emu, feed, book_sink)
        h = feed.symbol_health()[0]
        assert (h.crossed, h.resyncs) == (1, 1)
        assert "crossed book: bid 101 >= ask 100" in book_sink.reasons[KEY]


@pytest.mark.parametrize("kind", [FaultKind.DROP, FaultKind.DISCONNECT])
async def test_raw_tap_sees_every_frame(mini_protocol, book_sink, kind):
    async with session(mini_protocol, book_sink, [Fault(kind, at=100)], n_events=400) as (emu, feed, _):
        await converged(emu, feed, book_sink)
        assert book_sink.raw == sum(c.messages for c in feed.connection_health())


async def test_rest_rate_limit_is_respected_then_recovers(mini_protocol, book_sink):
    fault = Fault(FaultKind.REST_LIMIT, count=2, duration_s=0.2)
    async with session(mini_protocol, book_sink, [fault], n_events=3000) as (emu, feed, _):
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await wait_until(lambda: feed.symbol_health()[0].state is FeedState.LIVE)
        # two refusals, each asking for 0.2 s: the feed waited at least that long twice
        assert loop.time() - t0 >= 0.4
        assert emu.stats["rest_requests"] == 3
        await converged(emu, feed, book_sink)
        assert emu.stats["faults_fired"] == 2


async def test_unreachable_rest_endpoint_keeps_retrying(mini_protocol, book_sink):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    script = generate("binance-usdm", ["BTCUSDT"], 3000, seed=11, trade_every=0)
    async with Emulator("binance-usdm", script, rate=3000) as emu:
        feed = LiveFeed({"binance-usdm": VenueEndpoint(emu.ws_url, f"http://127.0.0.1:{dead}")}, [KEY],
                        settings=SETTINGS, protocols={"binance-usdm": mini_protocol()}, seed=2)
        task = asyncio.create_task(feed.run(book_sink))
        try:
            await wait_until(lambda: "snapshot request failed" in feed.symbol_health()[0].reason, 3)
            h = feed.symbol_health()[0]
            assert h.state is FeedState.SYNCING and h.next_retry_ns > 0 and "retry at" in h.reason
            await asyncio.sleep(0.5)
            assert not task.done()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_app_pings_are_sent_at_the_protocol_interval(mini_protocol, book_sink):
    class Pinging(mini_protocol):
        app_ping_interval_s = 0.1

        def app_ping_frame(self) -> str:
            return '{"method":"LIST_SUBSCRIPTIONS","id":99}'

    async with session(Pinging, book_sink, [], n_events=3000, rate=2000) as (emu, feed, _):
        await asyncio.sleep(0.65)
        # one SUBSCRIBE, then a ping every 0.1 s
        assert 5 <= emu.stats["client_frames"] - 1 <= 7
        assert feed.connection_health()[0].malformed == 0  # the answers decode as control frames


@pytest.mark.parametrize("at", [1, 200])  # 1: the bridging diff, delivered with the snapshot and LIVE
async def test_resync_requested_by_the_sink_mid_delivery_drops_the_rest(mini_protocol, book_sink, at):
    """The engine calls request_resync from inside on_event (crossed book): nothing of the
    discarded book may follow, in particular no stale delta and no stale LIVE."""
    script = generate("binance-usdm", ["BTCUSDT"], 1500, seed=11, trade_every=0)
    seen: list[tuple[str, object]] = []

    class CrossingSink(type(book_sink)):
        def __init__(self) -> None:
            super().__init__()
            self.deltas = 0
            self.feed = None

        def on_event(self, ev) -> None:
            super().on_event(ev)
            seen.append((type(ev).__name__, getattr(ev, "state", None)))
            if type(ev).__name__ == "BookDelta":
                self.deltas += 1
                if self.deltas == at:
                    self.feed.request_resync(KEY, "crossed book")

    sink = CrossingSink()
    async with Emulator("binance-usdm", script, rate=3000) as emu:
        feed = LiveFeed({"binance-usdm": VenueEndpoint(emu.ws_url, emu.rest_url)}, [KEY],
                        settings=SETTINGS, protocols={"binance-usdm": mini_protocol()}, seed=2)
        sink.feed = feed
        task = asyncio.create_task(feed.run(sink))
        try:
            await converged(emu, feed, sink)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    i = next(n for n, (kind, _) in enumerate(seen) if kind == "BookDelta" and sum(k == "BookDelta" for k, _ in seen[: n + 1]) == at)
    assert seen[i + 1] == ("StatusChange", FeedState.RESYNCING)
    j = next(n for n in range(i + 1, len(seen)) if seen[n][0] == "BookSnapshot")
    assert all(kind == "StatusChange" for kind, _ in seen[i + 1 : j])
    assert ("StatusChange", FeedState.LIVE) not in seen[i + 1 : j]
    assert feed.symbol_health()[0].crossed == 1
