"""The loopback exchange on its own: dialects, REST snapshots, faults, pacing (raw websocket clients)."""

from __future__ import annotations

import asyncio
import bisect
import zlib
from pathlib import Path

import aiohttp
import orjson
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from tapescope.feeds.captures import read_capture
from tapescope.feeds.emulator import Emulator, Fault, FaultKind
from tapescope.feeds.emulator.scripts import dialect_for, okx
from tapescope.feeds.emulator.scripts.binance import generate, load_hftbacktest

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared captures not found at {DATA}")


def connect(url: str, **kw):
    """A raw client that never stops reading, so closing it is not held up by unread frames."""
    return ws_connect(url, max_queue=None, proxy=None, **kw)


async def collect(ws, n: int, timeout: float = 5.0) -> list[str]:
    out: list[str] = []
    async with asyncio.timeout(timeout):
        while len(out) < n:
            out.append(await ws.recv())
    return out


def depth_script(n=60):
    return generate("binance-usdm", ["BTCUSDT"], n, seed=9, trade_every=0)


async def stream_us(faults, n=60, count=None):
    """``u`` of every depth frame a URL-subscribed client receives (parse failures as None)."""
    async with Emulator("binance-usdm", depth_script(n), faults) as emu:
        async with connect(emu.ws_url + "/stream?streams=btcusdt@depth@100ms") as ws:
            frames = await collect(ws, count if count is not None else n)
    us = []
    for f in frames:
        try:
            us.append(orjson.loads(f).get("data", {}).get("u"))
        except orjson.JSONDecodeError:
            us.append(None)
    return us, frames


async def test_url_subscription_renames_streams_and_converts_trades():
    script = generate("binance-usdm", ["BTCUSDT"], 30, seed=1, trade_every=3)
    async with Emulator("binance-usdm", script) as emu:
        async with connect(emu.ws_url + "/stream?streams=btcusdt@depth@500ms/btcusdt@aggTrade") as ws:
            frames = [orjson.loads(f) for f in await collect(ws, len(script.frames))]
    assert {f["stream"] for f in frames} == {"btcusdt@depth@500ms", "btcusdt@aggTrade"}
    trades = [f["data"] for f in frames if f["stream"] == "btcusdt@aggTrade"]
    assert len(trades) == 10 and all(t["e"] == "aggTrade" and t["a"] == t["f"] == t["l"] for t in trades)
    src = [f.data for f in script.frames if f.channel == "trade"]
    assert [(t["p"], t["q"], t["m"]) for t in trades] == [(t["p"], t["q"], t["m"]) for t in src]


async def test_subscribe_method_ack_unsubscribe_and_refusal():
    async with Emulator("binance-usdm", depth_script(), [Fault(FaultKind.REFUSE, symbol="ETHUSDT")]) as emu:
        async with connect(emu.ws_url + "/stream") as ws:
            await ws.send('{"method":"SUBSCRIBE","params":["ethusdt@depth@100ms"],"id":7}')
            refused = orjson.loads(await ws.recv())
            await ws.send('{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":8}')
            frames = await collect(ws, 3)
            await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":9}')
    assert refused["id"] == 7 and refused["code"] == 2 and "ethusdt@depth@100ms" in refused["msg"]
    assert orjson.loads(frames[0]) == {"result": None, "id": 8}
    assert orjson.loads(frames[1])["data"]["s"] == "BTCUSDT"


async def test_drop_duplicate_reorder():
    clean, _ = await stream_us([])
    dropped, _ = await stream_us([Fault(FaultKind.DROP, at=10)], count=59)
    assert dropped == clean[:10] + clean[11:]
    dup, _ = await stream_us([Fault(FaultKind.DUPLICATE, at=10)], count=61)
    assert dup == clean[:11] + clean[10:]
    reordered, _ = await stream_us([Fault(FaultKind.REORDER, at=10)])
    assert reordered == clean[:10] + [clean[11], clean[10]] + clean[12:]


async def test_corrupt_json_and_wrong_types():
    us, frames = await stream_us([Fault(FaultKind.CORRUPT_JSON, at=5), Fault(FaultKind.WRONG_TYPES, at=7)])
    assert us[5] is None and None not in us[:5] + us[6:]
    data = orjson.loads(frames[7])["data"]
    first_side = data["b"] or data["a"]
    assert first_side[0] == [{"bad": True}, None]


async def test_error_frame_precedes_the_frame():
    us, frames = await stream_us([Fault(FaultKind.ERROR, at=3, text="Too many requests")], count=61)
    assert orjson.loads(frames[3]) == {"code": 2, "msg": "Too many requests"}


async def test_disconnect_closes_with_1001_after_the_frame():
    async with Emulator("binance-usdm", depth_script(), [Fault(FaultKind.DISCONNECT, at=4)]) as emu:
        async with connect(emu.ws_url + "/stream?streams=btcusdt@depth@100ms") as ws:
            got = []
            with pytest.raises(ConnectionClosed) as exc:
                while True:
                    got.append(await asyncio.wait_for(ws.recv(), 3))
    assert len(got) == 5 and exc.value.rcvd.code == 1001


async def test_stall_silences_the_connection_but_the_market_goes_on():
    async with Emulator("binance-usdm", depth_script(200), [Fault(FaultKind.STALL, at=4)], rate=2000) as emu:
        async with connect(emu.ws_url + "/stream?streams=btcusdt@depth@100ms") as ws:
            got = await collect(ws, 5)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3)
            await emu.wait_done(timeout=3)
    assert len(got) == 5 and emu.stats["book_frames"] == 200


async def test_rate_and_burst_pacing():
    loop = asyncio.get_running_loop()
    for faults, low, high in (([], 0.18, 0.6), ([Fault(FaultKind.BURST, at=0, count=100)], 0.0, 0.1)):
        async with Emulator("binance-usdm", depth_script(100), faults, rate=500) as emu:
            async with connect(emu.ws_url + "/stream?streams=btcusdt@depth@100ms") as ws:
                t0 = loop.time()
                await collect(ws, 100)
                elapsed = loop.time() - t0
        assert low <= elapsed <= high, (faults, elapsed)


async def test_rest_snapshot_errors_and_limit():
    async with Emulator("binance-usdm", depth_script(), wait_for_subscriber=False) as emu:
        await emu.wait_done(3)
        async with aiohttp.ClientSession() as http:
            async with http.get(emu.rest_url + "/fapi/v1/depth?symbol=BTCUSDT&limit=5") as r:
                body = orjson.loads(await r.read())
            async with http.get(emu.rest_url + "/fapi/v1/depth?symbol=NOPE") as r2:
                assert r2.status == 400
            async with http.get(emu.rest_url + "/api/v3/depth?symbol=BTCUSDT") as r3:
                assert r3.status == 404
    assert body["lastUpdateId"] == depth_script().frames[-1].data["u"]
    assert len(body["bids"]) == len(body["asks"]) == 5
    bids = [float(p) for p, _ in body["bids"]]
    assert bids == sorted(bids, reverse=True) and float(body["asks"][0][0]) > bids[0]


@needs_data
async def test_rest_snapshot_after_the_capture_matches_book_ticker():
    """The venue book rebuilt by the emulator agrees with the capture's own bookTicker stream."""
    path = DATA / "binance_usdm" / "btcusdt_20240808.gz"
    script = load_hftbacktest(str(path), "binance-usdm", ("book",))
    dialect = dialect_for("binance-usdm")(script)
    tickers = []
    for rec in read_capture(path):
        if rec.kind == "recv" and '@bookTicker"' in rec.data[:60]:
            d = orjson.loads(rec.data)["data"]
            tickers.append((d["u"], d["b"], d["B"], d["a"], d["A"]))
    tickers.sort()
    us = [t[0] for t in tickers]
    checked = 0
    for i, frame in enumerate(script.frames):
        dialect.apply(frame)
        if i % 250 == 0 and dialect.ids["BTCUSDT"] >= script.snapshots["BTCUSDT"]["lastUpdateId"]:
            snap = dialect.snapshot("BTCUSDT", 1)
            j = bisect.bisect_right(us, snap["lastUpdateId"]) - 1
            assert (snap["bids"][0][0], snap["bids"][0][1], snap["asks"][0][0], snap["asks"][0][1]) == tickers[j][1:]
            checked += 1
    assert checked >= 25


@needs_data
async def test_okx_snapshot_on_subscribe_carries_a_valid_checksum():
    script = okx.load_cryptofeed(str(DATA / "okx" / "OKX.ws.1.0"))
    async with Emulator("okx", script, wait_for_subscriber=False) as emu:
        await emu.wait_done(5)
        async with connect(emu.ws_url) as ws:
            await ws.send('{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}')
            ack, snap = [orjson.loads(f) for f in await collect(ws, 2)]
            await ws.send("ping")
            pong = await ws.recv()
    assert ack["event"] == "subscribe" and pong == "pong"
    item = snap["data"][0]
    assert snap["action"] == "snapshot" and "seqId" not in item  # the 2022 capture has no seqId
    parts = []
    for i in range(25):
        for side in (item["bids"], item["asks"]):
            if i < len(side):
                parts += side[i][:2]
    crc = zlib.crc32(":".join(parts).encode())
    assert item["checksum"] == (crc - 2**32 if crc >= 2**31 else crc)
    assert len(item["bids"]) == 400


@needs_data
async def test_coinbase_sequence_is_per_connection_and_a_drop_is_a_jump():
    from tapescope.feeds.emulator.scripts import coinbase

    script = coinbase.load_jsonl(str(DATA / "coinbase" / "COINBASE.jsonl"))
    async with Emulator("coinbase", script, [Fault(FaultKind.DROP, at=20)]) as emu:
        async with connect(emu.ws_url, max_size=None) as ws:
            await ws.send('{"type":"subscribe","channel":"level2","product_ids":["BTC-USD"]}')
            msgs = [orjson.loads(f) for f in await collect(ws, 60)]
    seqs = [m["sequence_num"] for m in msgs]
    assert seqs[0] == 0 and msgs[0]["channel"] == "subscriptions"
    jumps = [b - a for a, b in zip(seqs, seqs[1:], strict=False) if b - a != 1]
    assert jumps == [2]


def test_unknown_venue_is_refused():
    with pytest.raises(KeyError, match="does not speak"):
        dialect_for("mtgox")


@pytest.mark.parametrize(
    ("venue", "request_text"),
    [
        ("binance-usdm", '{"method":"SUBSCRIBE","params":[1,2],"id":1}'),
        ("bybit-linear", '{"op":"subscribe","args":[{"x":1}]}'),
        ("okx", '{"op":"subscribe","args":["books"]}'),
        ("kraken", '{"method":"subscribe","params":{"channel":"book","symbol":[null]}}'),
        ("coinbase", '{"type":"subscribe","channel":"level2","product_ids":"BTC-USD"}'),
    ],
)
async def test_odd_requests_get_an_error_frame_not_a_dead_server(venue, request_text):
    from tapescope.feeds.emulator.scripts.base import Script

    async with Emulator(venue, Script(venue, [])) as emu:
        async with connect(emu.ws_url) as ws:
            await ws.send(request_text)
            reply = await asyncio.wait_for(ws.recv(), 3)
            await ws.send("[]")
            reply2 = await asyncio.wait_for(ws.recv(), 3)
    assert reply and reply2  # answered, connection still open


@needs_data
@pytest.mark.parametrize(
    ("venue", "capture", "symbol"),
    [
        ("binance-usdm", "binance_usdm/BINANCE_FUTURES.ws.1.0", "SUSHIUSDT"),
        ("bybit-spot", "bybit/BYBIT.jsonl", "BTCUSDT"),
        ("okx", "okx/OKX.ws.1.0", "BTC-USDT"),
        ("kraken", "kraken/KRAKEN.ws.50.0", "XBT/CHF"),
        ("coinbase", "coinbase/COINBASE.jsonl", "BTC-USD"),
    ],
)
def test_standalone_runner_loads_each_venue_capture(venue, capture, symbol):
    from tapescope.feeds.emulator.__main__ import load_script

    script = load_script(venue, str(DATA / capture), [], 0)
    assert script.venue == venue and symbol in script.symbols
    assert sum(f.channel == "book" for f in script.frames) > 50
