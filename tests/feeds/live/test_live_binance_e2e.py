"""End to end: real Binance adapters -> LiveFeed -> engine Hub, served the real captures by the emulator.

Oracle (PROTOCOLS.md 1b): after every applied diff, the book's best bid and ask
(price and size) equal the latest ``bookTicker`` of the capture with
``u <= `` the diff's ``u``. The tickers are read from the capture
independently of the emulator and of the adapter.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools

import orjson
import pytest

from tapescope.engine.events import BookDelta, FeedState, StatusChange
from tapescope.engine.hub import Hub
from tapescope.feeds.captures import read_capture
from tapescope.feeds.emulator import Emulator, Fault, FaultKind
from tapescope.feeds.emulator.scripts.base import Script
from tapescope.feeds.emulator.scripts.binance import load_cryptofeed, load_hftbacktest
from tapescope.feeds.venues.binance import BinanceSpotConfig, BinanceUsdmConfig
from tapescope.feeds.venues.live import LiveFeed
from tapescope.feeds.venues.settings import VenuesSettings

SETTINGS = VenuesSettings(
    backoff_base_s=0.05, backoff_max_s=0.3, backoff_jitter=0.0, rest_min_interval_s=0.0, stall_timeout_s=2.0
)


@functools.lru_cache(maxsize=4)
def tickers(path) -> dict[str, tuple[list[int], list[tuple[float, float, float, float]]]]:
    """Symbol -> (sorted u, (bid, bid qty, ask, ask qty)) from the capture's bookTicker stream."""
    out: dict[str, list[tuple[int, tuple[float, float, float, float]]]] = {}
    for rec in read_capture(path):
        if rec.kind == "recv" and '@bookTicker"' in rec.data[:60]:
            d = orjson.loads(rec.data)["data"]
            out.setdefault(d["s"], []).append(
                (d["u"], (float(d["b"]), float(d["B"]), float(d["a"]), float(d["A"])))
            )
    res = {}
    for sym, rows in out.items():
        rows.sort(key=lambda r: r[0])
        res[sym] = ([u for u, _ in rows], [t for _, t in rows])
    return res


class OracleTap:
    """Feeds the Hub and checks the book top against the bookTicker oracle after each diff."""

    def __init__(self, hub: Hub, oracle) -> None:
        self.hub = hub
        self.oracle = oracle
        self.checked = 0
        self.mismatched: list[tuple[str, int]] = []
        self.states: dict[str, list[FeedState]] = {}
        self.rest: list[tuple[str, bytes | str]] = []

    def on_raw(self, conn_id, recv_ns, payload) -> None:
        self.hub.on_raw(conn_id, recv_ns, payload)
        if conn_id.startswith("rest:"):
            self.rest.append((conn_id, payload))

    def on_event(self, ev) -> None:
        self.hub.on_event(ev)
        if isinstance(ev, StatusChange):
            self.states.setdefault(ev.symbol, []).append(ev.state)
        elif isinstance(ev, BookDelta):
            m = self.hub.markets[ev.symbol]
            us, tops = self.oracle[ev.symbol.split(":")[1]]
            i = bisect.bisect_right(us, ev.seq) - 1
            if m.state is FeedState.LIVE and i >= 0:
                self.checked += 1
                b, a = m.book.best_bid(), m.book.best_ask()
                if (b[0], b[1], a[0], a[1]) != tops[i]:
                    self.mismatched.append((ev.symbol, ev.seq))


async def run_feed(feed, sink, emu, done) -> None:
    task = asyncio.create_task(feed.run(sink))
    try:
        await emu.wait_done(timeout=9)
        async with asyncio.timeout(5):
            while not done():
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("venue", "folder", "config_cls", "faults"),
    [
        ("binance-usdm", "binance_usdm", BinanceUsdmConfig, []),
        ("binance-spot", "binance_spot", BinanceSpotConfig, []),
        ("binance-usdm", "binance_usdm", BinanceUsdmConfig, [Fault(FaultKind.DROP, at=1200)]),
        ("binance-usdm", "binance_usdm", BinanceUsdmConfig, [Fault(FaultKind.DISCONNECT, at=1500)]),
    ],
    ids=["usdm", "spot", "usdm-drop", "usdm-disconnect"],
)
async def test_hftbacktest_capture_through_live_feed_matches_book_ticker(shared_data, venue, folder, config_cls, faults):
    path = shared_data / folder / "btcusdt_20240808.gz"
    full = load_hftbacktest(str(path), venue, ("book",))
    # The first 3,000 diffs (of 6,551 USD-M / 3,451 spot) keep the test well under 10 s
    # on a loaded machine; the capture's snapshot bridges within the first ten.
    script = Script(venue, full.frames[:3000], full.snapshots)
    oracle = tickers(path)
    key = f"{venue}:BTCUSDT"
    async with Emulator(venue, script, faults, rate=3000) as emu:
        cfg = config_cls(ws_url=emu.ws_url, rest_url=emu.rest_url, depth_limit=1000)
        feed = LiveFeed({venue: cfg}, [key], settings=SETTINGS, seed=3)
        hub = Hub(feed.instruments, on_invalid=feed.request_resync)
        tap = OracleTap(hub, oracle)
        last_u = int(script.frames[-1].data["u"])
        await run_feed(feed, tap, emu, lambda: hub.markets[key].book.seq == last_u)
    assert tap.states[key][:2] == [FeedState.SYNCING, FeedState.LIVE]
    assert hub.markets[key].state is FeedState.LIVE
    assert tap.mismatched == []
    snap = emu.true_book("BTCUSDT")
    bids, asks = hub.markets[key].book.top(20)
    assert bids == [(float(p), float(q)) for p, q in snap["bids"][:20]]
    assert asks == [(float(p), float(q)) for p, q in snap["asks"][:20]]
    h = feed.symbol_health()[0]
    # Every REST snapshot the sync used reached the recorder tap as "rest:<key>", first.
    assert [c for c, _ in tap.rest] == [f"rest:{key}"] * (1 + h.resyncs)
    assert all("lastUpdateId" in orjson.loads(body) for _, body in tap.rest)
    n_book = sum(f.channel == "book" for f in script.frames)
    if not faults:
        # Every diff is checked except those buffered while the first snapshot was in
        # flight (about 1-5 % here; more when the machine is loaded).
        assert tap.checked >= n_book // 2
        assert (h.gaps, h.resyncs, h.malformed) == (0, 0, 0)
    else:
        # Diffs the client had not read yet when the venue answered the resync
        # snapshot are older than it and dropped, so fewer diffs are checked.
        assert tap.checked > n_book // 5
        assert h.resyncs == 1
        assert tap.states[key][-1] is FeedState.LIVE
        if faults[0].kind is FaultKind.DROP:
            assert h.gaps == 1
            assert FeedState.RESYNCING in tap.states[key]
        else:
            assert feed.connection_health()[0].reconnects == 1
            assert FeedState.DISCONNECTED in tap.states[key]


@pytest.mark.shared_data
async def test_four_symbol_capture_on_one_connection(shared_data):
    ws = shared_data / "binance_usdm" / "BINANCE_FUTURES.ws.1.0"
    http = shared_data / "binance_usdm" / "BINANCE_FUTURES.http.0.0"
    script = load_cryptofeed(str(ws), str(http), "binance-usdm", ("book", "trade"))
    oracle = tickers(ws)
    symbols = script.symbols
    assert len(symbols) == 4
    keys = [f"binance-usdm:{s}" for s in symbols]
    # Hold the market until all four snapshots could be fetched: in this capture
    # some bridging diffs come right after the snapshot time.
    async with Emulator("binance-usdm", script, rate=2000, start_delay_s=0.3) as emu:
        cfg = BinanceUsdmConfig(ws_url=emu.ws_url, rest_url=emu.rest_url)
        feed = LiveFeed({"binance-usdm": cfg}, keys, settings=SETTINGS, seed=4)
        assert len(feed.connections) == 1
        hub = Hub(feed.instruments, on_invalid=feed.request_resync)
        tap = OracleTap(hub, oracle)
        await run_feed(feed, tap, emu, lambda: all(hub.markets[k].book.seq == emu.dialect.ids[k.split(":")[1]] for k in keys))
    assert tap.mismatched == []
    assert tap.checked > 600
    assert all(hub.markets[k].state is FeedState.LIVE for k in keys)
    assert all(h.gaps == 0 and h.malformed == 0 for h in feed.symbol_health())


async def test_usdm_aggtrade_on_a_side_connection():
    """``trade_ws_url`` set: the protocol asks for two sockets; trades come on the second."""
    from tapescope.feeds.emulator.scripts.binance import generate

    script = generate("binance-usdm", ["BTCUSDT", "ETHUSDT"], 600, seed=4, trade_every=2)
    keys = ["binance-usdm:BTCUSDT", "binance-usdm:ETHUSDT"]
    async with Emulator("binance-usdm", script, rate=3000) as emu:
        cfg = BinanceUsdmConfig(
            ws_url=emu.ws_url + "/public", rest_url=emu.rest_url,
            trade_stream="aggTrade", trade_ws_url=emu.ws_url + "/market",
        )
        feed = LiveFeed({"binance-usdm": cfg}, keys, settings=SETTINGS, seed=5)
        assert [c.conn_id for c in feed.connections] == ["binance-usdm#0", "binance-usdm#0.1"]
        hub = Hub(feed.instruments, on_invalid=feed.request_resync)
        trades: list = []

        class Tap:
            def on_raw(self, conn_id, recv_ns, payload) -> None:
                hub.on_raw(conn_id, recv_ns, payload)

            def on_event(self, ev) -> None:
                hub.on_event(ev)
                if type(ev).__name__ == "Trade":
                    trades.append(ev)

        tap = Tap()
        await run_feed(feed, tap, emu, lambda: all(
            hub.markets[k].book.seq == emu.dialect.ids[k.split(":")[1]] for k in keys))
        paths = sorted(p.split("?")[0] for p in emu.paths)
    assert paths == ["/market/stream", "/public/stream"]
    n_trades = sum(f.channel == "trade" for f in script.frames)
    assert len(trades) == n_trades
    conns = feed.connection_health()
    assert conns[1].messages == n_trades and conns[0].messages == len(script.frames) - n_trades
    assert all(hub.markets[k].state is FeedState.LIVE for k in keys)
