"""Binance protocols and book syncs: hand-built frames with hand-computed outcomes."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, StatusChange, Trade
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import BadMessage, MsgKind
from tapescope.feeds.venues.binance import (
    BinanceSpotConfig,
    BinanceSpotProtocol,
    BinanceUsdmConfig,
    BinanceUsdmProtocol,
)
from tapescope.feeds.venues.binance_decode import BinanceDepth, sanitise
from tapescope.feeds.venues.binance_sync import BinanceSpotSync, BinanceUsdmSync

# ---------------------------------------------------------------- protocol ---


def test_urls_limits_and_frames() -> None:
    spot, usdm = BinanceSpotProtocol(), BinanceUsdmProtocol()
    assert spot.connect_url("wss://x:9443/", ["BTCUSDT"]) == "wss://x:9443/stream?streams=btcusdt@depth@100ms/btcusdt@trade"
    assert spot.snapshot_url("https://api.binance.com", "btcusdt") == "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=5000"
    assert usdm.snapshot_url("https://fapi.binance.com/", "ETHUSDT") == "https://fapi.binance.com/fapi/v1/depth?symbol=ETHUSDT&limit=1000"
    # Two streams per symbol: 1024 spot streams -> 512 symbols, 200 futures streams -> 100.
    assert spot.max_symbols_per_connection == 512
    assert usdm.max_symbols_per_connection == 100
    assert (spot.ws_url, spot.rest_url) == ("wss://stream.binance.com:9443", "https://api.binance.com")
    assert (usdm.ws_url, usdm.rest_url) == ("wss://fstream.binance.com/public", "https://fapi.binance.com")
    # Depth and @trade share the /public path, so one connection carries both.
    assert usdm.connect_urls(usdm.ws_url, ["BTCUSDT"]) == [
        "wss://fstream.binance.com/public/stream?streams=btcusdt@depth@100ms/btcusdt@trade"
    ]
    assert spot.subscribe_frames(["BTCUSDT"]) == []  # url mode: streams are in the URL
    with pytest.raises(ValueError, match="exceed"):
        usdm.connect_url(usdm.ws_url, [f"S{i}USDT" for i in range(101)])
    slow = BinanceUsdmProtocol(BinanceUsdmConfig(depth_speed="250ms", trade_stream="trade"))
    assert slow.streams(["BTCUSDT"]) == ["btcusdt@depth", "btcusdt@trade"]


def test_aggtrade_split_onto_the_market_path() -> None:
    cfg = BinanceUsdmConfig(trade_stream="aggTrade", trade_ws_url="wss://fstream.binance.com/market/")
    p = BinanceUsdmProtocol(cfg)
    assert p.split_trades and p.streams(["ETHUSDT"]) == ["ethusdt@depth@100ms"]
    assert p.connect_urls(p.ws_url, ["ETHUSDT", "BTCUSDT"]) == [
        "wss://fstream.binance.com/public/stream?streams=ethusdt@depth@100ms/btcusdt@depth@100ms",
        "wss://fstream.binance.com/market/stream?streams=ethusdt@aggTrade/btcusdt@aggTrade",
    ]


def test_long_stream_lists_switch_to_frames() -> None:
    p = BinanceSpotProtocol()
    few = [f"SYM{i}USDT" for i in range(10)]
    many = [f"SYMBOLNUMBER{i}USDT" for i in range(300)]
    assert "?streams=" in p.connect_url(p.ws_url, few) and p.subscribe_frames(few) == []
    # 300 symbols x 2 streams would make a URL far over Binance's ~8000 characters.
    assert p.connect_url(p.ws_url, many) == "wss://stream.binance.com:9443/stream"
    frames = [orjson.loads(f) for f in p.subscribe_frames(many)]
    assert sum(len(f["params"]) for f in frames) == 600 and all(len(f["params"]) <= 200 for f in frames)


def test_subscribe_frames_mode_chunks_and_numbers_ids() -> None:
    p = BinanceUsdmProtocol(BinanceUsdmConfig(subscribe_mode="frames", max_streams_per_connection=1024,
                                              trade_stream="aggTrade"))
    syms = [f"S{i}USDT" for i in range(150)]
    assert p.connect_url("wss://h", syms) == "wss://h/stream"
    assert p.connect_urls("wss://h", syms) == ["wss://h/stream"]
    frames = [orjson.loads(f) for f in p.subscribe_frames(syms)]
    assert [f["id"] for f in frames] == [1, 2]
    assert [len(f["params"]) for f in frames] == [200, 100]
    assert frames[0]["method"] == "SUBSCRIBE" and frames[0]["params"][:2] == ["s0usdt@depth@100ms", "s0usdt@aggTrade"]
    (unsub,) = [orjson.loads(f) for f in p.unsubscribe_frames(["BTCUSDT"])]
    assert unsub == {"method": "UNSUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 3}


def test_decode_depth_envelope_and_raw() -> None:
    p = BinanceUsdmProtocol()
    raw = {"e": "depthUpdate", "E": 1000, "T": 999, "s": "BTCUSDT", "U": 10, "u": 12, "pu": 9,
           "b": [["100.5", "1.25"], ["100.0", "0"]], "a": [["101", "3"]]}
    for frame in (orjson.dumps({"stream": "btcusdt@depth@100ms", "data": raw}), orjson.dumps(raw)):
        (r,) = p.decode(frame, 5)
        assert (r.kind, r.key) == (MsgKind.DEPTH, "binance-usdm:BTCUSDT")
        m = r.payload
        assert (m.E, m.T, m.U, m.u, m.pu) == (1000, 999, 10, 12, 9)
        assert m.bids == [(100.5, 1.25), (100.0, 0.0)] and m.asks == [(101.0, 3.0)]
    spot = {k: v for k, v in raw.items() if k not in ("pu", "T")}
    (r,) = BinanceSpotProtocol().decode(orjson.dumps(spot), 5)
    assert (r.payload.pu, r.payload.T, r.key) == (-1, 1000, "binance-spot:BTCUSDT")


def test_decode_trades_side_and_ids() -> None:
    spot = BinanceSpotProtocol()
    frame = b'{"stream":"btcusdt@trade","data":{"e":"trade","E":2,"s":"BTCUSDT","t":77,"p":"61837.63","q":"0.02","T":1723161255342,"m":true,"M":true}}'
    (r,) = spot.decode(frame, 9)
    assert r.kind is MsgKind.EVENT
    assert r.payload == Trade("binance-spot:BTCUSDT", 1723161255342_000_000, 9, 61837.63, 0.02, -1, "77")
    buy = frame.replace(b'"m":true', b'"m":false')
    assert spot.decode(buy, 9)[0].payload.side == 1
    usdm = BinanceUsdmProtocol()
    fut = b'{"e":"trade","E":3,"T":2,"s":"BTCUSDT","t":5,"p":"1","q":"2","X":"MARKET","m":false}'
    assert usdm.decode(fut, 0)[0].payload.side == 1
    # Insurance-fund / ADL fills are not book trades.
    (r,) = usdm.decode(fut.replace(b"MARKET", b"INSURANCE_FUND"), 0)
    assert r.kind is MsgKind.IGNORED


def test_decode_book_ticker_control_error_and_other() -> None:
    p = BinanceSpotProtocol()
    (r,) = p.decode(b'{"u":5,"s":"BTCUSDT","b":"1.5","B":"2","a":"1.6","A":"3"}', 0)
    assert (r.kind, r.key, r.payload) == (MsgKind.IGNORED, "binance-spot:BTCUSDT", {"u": 5, "b": 1.5, "B": 2.0, "a": 1.6, "A": 3.0})
    (r,) = p.decode(b'{"result":null,"id":3}', 0)
    assert (r.kind, r.payload) == (MsgKind.CONTROL, {"result": None, "id": 3})
    (r,) = p.decode(b'{"code":2,"msg":"Invalid request: \\u001b[2Jbad","id":4}', 0)
    assert r.kind is MsgKind.ERROR and "\x1b" not in r.payload
    assert r.payload == "code 2: Invalid request: ?[2Jbad (id 4)"
    (r,) = p.decode(b'{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{}}}', 0)
    assert r.kind is MsgKind.IGNORED


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"{not json", "bad JSON"),
        (b"[1,2]", "not a JSON object"),
        (b'{"stream":"x","data":[1]}', "data is not an object"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[],"a":[["1","x"]]}', "bad level in a"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["-1","1"]],"a":[]}', "bad level in b"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["NaN","1"]],"a":[]}', "bad level"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1","inf"]],"a":[]}', "bad level"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1e999","1"]],"a":[]}', "bad level"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[[1.5,"1"]],"a":[]}', "bad level"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":["12"],"a":[]}', "bad level"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1","2","3"]],"a":[]}', "bad level"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":3,"u":2,"b":[],"a":[]}', "U=3 > u=2"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":"2","b":[],"a":[]}', "bad u"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":true,"u":2,"b":[],"a":[]}', "bad U"),
        (b'{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"a":[]}', "missing field b"),
        (b'{"e":"depthUpdate","E":1,"s":"BTC/USDT","U":1,"u":2,"b":[],"a":[]}', "bad symbol"),
        (b'{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"0","q":"1","T":1,"m":true}', "price <= 0"),
        (b'{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":1}', "bad m"),
        (b'{"e":"aggTrade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","T":1,"m":true}', "missing field a"),
        (b'{"hello":1}', "unknown frame"),
    ],
)
def test_malformed_frames_raise_short_bad_message(frame: bytes, reason: str) -> None:
    with pytest.raises(BadMessage, match=reason.replace("[", r"\[")) as err:
        BinanceUsdmProtocol().decode(frame, 0)
    assert len(str(err.value)) <= 160


def test_sanitise_strips_control_characters() -> None:
    assert sanitise("a\x00b\u00e9c") == "a?b?c"


# --------------------------------------------------------------------- sync ---


def dep(U: int, u: int, pu: int = -1, bids=((1.0, 1.0),), asks=(), E: int = 1) -> BinanceDepth:
    return BinanceDepth(E, E, U, u, pu, list(bids), list(asks))


def snap(lid: int, bids=(("9", "1"),), asks=(("11", "1"),)) -> bytes:
    return orjson.dumps({"lastUpdateId": lid, "bids": list(bids), "asks": list(asks)})


def kinds(out) -> list[str]:
    return [type(e).__name__ for e in out.events]


def make(cls, max_buffer: int = 100):
    inst = Instrument("binance-usdm" if cls is BinanceUsdmSync else "binance-spot", "BTCUSDT")
    return cls(inst, SymbolHealth(inst.key), max_buffer)


def test_spot_sync_buffers_drops_stale_bridges_and_chains() -> None:
    s = make(BinanceSpotSync)
    out = s.on_depth(dep(100, 105), 1)
    assert out.need_snapshot and kinds(out) == ["StatusChange"] and s.state is FeedState.SYNCING
    out = s.on_depth(dep(106, 110), 2)
    assert not out.need_snapshot and out.events == []  # asked once only
    s.on_depth(dep(111, 115), 3)
    out = s.on_rest_snapshot(snap(108), 4)
    # 100-105 is stale (u <= 108); 106-110 bridges (106 <= 109 <= 110); 111-115 chains.
    assert kinds(out) == ["BookSnapshot", "BookDelta", "BookDelta", "StatusChange"]
    assert out.events[0].seq == 108 and [e.seq for e in out.events[1:3]] == [110, 115]
    assert out.events[-1].state is FeedState.LIVE and s.last_update_id == 115
    out = s.on_depth(dep(116, 120, E=7), 5)
    assert out.events == [BookDelta("binance-spot:BTCUSDT", 7_000_000, 5, [(1.0, 1.0)], [], 120)]
    assert (s.health.gaps, s.health.resyncs, s.health.messages) == (0, 0, 4)


def test_spot_sync_gap_goes_resyncing_then_live_again() -> None:
    s = make(BinanceSpotSync)
    s.on_depth(dep(100, 105), 1)
    s.on_rest_snapshot(snap(104), 2)
    out = s.on_depth(dep(107, 109), 3)  # 106 missed
    assert out.need_snapshot and kinds(out) == ["StatusChange"]
    assert out.events[0].state is FeedState.RESYNCING and out.events[0].reason == "gap: U=107 != prev u+1=106"
    assert s.health.gaps == 1 and s.buffered == 1
    out = s.on_depth(dep(110, 112), 4)
    assert out.events == [] and not out.need_snapshot
    out = s.on_rest_snapshot(snap(110), 5)
    assert kinds(out) == ["BookSnapshot", "BookDelta", "StatusChange"]
    assert s.state is FeedState.LIVE and s.health.resyncs == 1


def test_spot_refetches_a_snapshot_older_than_the_buffer() -> None:
    s = make(BinanceSpotSync)
    s.on_depth(dep(100, 105), 1)
    out = s.on_rest_snapshot(snap(99), 2)
    assert out.need_snapshot and "older than first buffered U=100" in s.health.reason
    assert s.state is FeedState.SYNCING


def test_spot_drops_u_equal_to_snapshot_id_but_futures_keeps_it() -> None:
    # The bridging edge case seen on real futures data: u == lastUpdateId.
    spot, fut = make(BinanceSpotSync), make(BinanceUsdmSync)
    spot.on_depth(dep(100, 105), 1)
    out = spot.on_rest_snapshot(snap(105), 2)
    assert kinds(out) == [] and spot.state is FeedState.SYNCING  # held, waiting
    assert "waiting for the bridging event" in spot.health.reason
    out = spot.on_depth(dep(106, 107), 3)
    assert kinds(out) == ["BookSnapshot", "BookDelta", "StatusChange"]
    fut.on_depth(dep(100, 105, pu=90), 1)
    out = fut.on_rest_snapshot(snap(105), 2)
    assert kinds(out) == ["BookSnapshot", "BookDelta", "StatusChange"] and out.events[1].seq == 105


def test_futures_chain_uses_pu_not_u_plus_one() -> None:
    s = make(BinanceUsdmSync)
    s.on_depth(dep(100, 105, pu=90), 1)
    s.on_rest_snapshot(snap(103), 2)
    # Sparse ids: U jumps, but pu links to the previous u, so this is clean.
    assert kinds(s.on_depth(dep(130, 140, pu=105), 3)) == ["BookDelta"]
    out = s.on_depth(dep(141, 150, pu=139), 4)
    assert s.state is FeedState.RESYNCING and out.events[0].reason == "gap: pu=139 != prev u=140"
    assert out.need_snapshot and s.health.gaps == 1


def test_futures_no_bridge_counts_gap_and_refetches() -> None:
    s = make(BinanceUsdmSync)
    s.on_depth(dep(100, 105, pu=90), 1)
    s.on_depth(dep(110, 120, pu=105), 2)
    out = s.on_rest_snapshot(snap(107), 3)
    # 100-105 is stale (u < 107); 110-120 does not contain 107: ids were lost.
    assert out.need_snapshot and s.health.gaps == 1 and "no bridge" in s.health.reason
    assert not any(isinstance(e, BookSnapshot) for e in out.events)


def test_buffer_break_while_syncing_discards_older_events() -> None:
    s = make(BinanceUsdmSync)
    s.on_depth(dep(100, 105, pu=90), 1)
    s.on_depth(dep(110, 120, pu=999), 2)  # does not chain on 105
    assert s.buffered == 1 and s.health.gaps == 1
    out = s.on_rest_snapshot(snap(112), 3)
    assert kinds(out) == ["BookSnapshot", "BookDelta", "StatusChange"]


def test_buffer_overflow_forces_resync() -> None:
    s = make(BinanceSpotSync, max_buffer=3)
    for i in range(3):
        s.on_depth(dep(10 * i + 1, 10 * i + 10), i)
    out = s.on_depth(dep(31, 40), 9)
    assert s.state is FeedState.RESYNCING and "buffer overflow" in s.health.reason
    assert out.need_snapshot and s.buffered == 1


def test_bad_snapshot_raises_and_is_asked_again() -> None:
    s = make(BinanceSpotSync)
    assert s.on_depth(dep(100, 105), 1).need_snapshot
    for body in (b"nope", b'{"code":-1121,"msg":"Invalid symbol."}', b'{"lastUpdateId":"1","bids":[],"asks":[]}',
                 b'{"lastUpdateId":1,"bids":[["1","-2"]],"asks":[]}', b'{"lastUpdateId":1,"bids":[]}'):
        with pytest.raises(BadMessage):
            s.on_rest_snapshot(body, 2)
    assert s.on_depth(dep(106, 107), 3).need_snapshot
    assert s.health.malformed == 5


def test_reset_forgets_and_reports_state() -> None:
    s = make(BinanceSpotSync)
    s.on_depth(dep(100, 105), 1)
    s.on_rest_snapshot(snap(104), 2)
    out = s.reset(FeedState.DISCONNECTED, "socket closed", 3)
    assert out.events == [StatusChange("binance-spot:BTCUSDT", 1_000_000, 3, FeedState.DISCONNECTED, "socket closed")]
    out = s.on_depth(dep(300, 305), 4)
    assert out.need_snapshot and s.state is FeedState.SYNCING


def test_protocol_new_sync_uses_config_buffer() -> None:
    p = BinanceSpotProtocol(BinanceSpotConfig(max_buffered_events=10))
    inst = Instrument("binance-spot", "BTCUSDT")
    s = p.new_sync(inst, SymbolHealth(inst.key))
    assert isinstance(s, BinanceSpotSync) and s.max_buffer == 10
    assert isinstance(BinanceUsdmProtocol().new_sync(inst, SymbolHealth(inst.key)), BinanceUsdmSync)


def test_config_defaults_and_metadata() -> None:
    for cls in (BinanceSpotConfig, BinanceUsdmConfig):
        cfg = cls()
        for f in dataclasses.fields(cls):
            meta = f.metadata
            value = getattr(cfg, f.name)
            if "choices" in meta:
                assert value in meta["choices"], f.name
            if "min" in meta:
                assert meta["min"] <= value <= meta["max"], f.name
        with pytest.raises(dataclasses.FrozenInstanceError):
            cfg.ws_url = "x"  # type: ignore[misc]


def test_delta_event_types() -> None:
    s = make(BinanceUsdmSync)
    s.on_depth(dep(100, 105, pu=90, bids=[(5.0, 0.0)], asks=[(6.0, 2.0)], E=3), 11)
    out = s.on_rest_snapshot(snap(100), 12)
    snap_ev, delta = out.events[:2]
    assert snap_ev == BookSnapshot("binance-usdm:BTCUSDT", 3_000_000, 12, [(9.0, 1.0)], [(11.0, 1.0)], 100)
    assert delta == BookDelta("binance-usdm:BTCUSDT", 3_000_000, 12, [(5.0, 0.0)], [(6.0, 2.0)], 105)


def test_config_toml_mirrors_the_dataclasses() -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    venues = tomllib.loads((root / "config.toml").read_text(encoding="utf-8"))["venues"]
    for section, cls in (("binance-spot", BinanceSpotConfig), ("binance-usdm", BinanceUsdmConfig)):
        assert venues[section] == dataclasses.asdict(cls()), section


def test_delivery_symbol_with_underscore_is_accepted() -> None:
    frame = b'{"e":"depthUpdate","E":1,"s":"BTCUSDT_240927","U":1,"u":2,"pu":0,"b":[],"a":[]}'
    (r,) = BinanceUsdmProtocol().decode(frame, 0)
    assert r.key == "binance-usdm:BTCUSDT_240927"
