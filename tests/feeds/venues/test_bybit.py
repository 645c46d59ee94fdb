"""Bybit v5 adapter: subscription frames, u-chain rules, decoding, and conformance on the real capture."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tapescope.engine.events import (
    Aggressor,
    BookDelta,
    BookSnapshot,
    FeedState,
    OpenInterest,
    StatusChange,
    Trade,
)
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import BadMessage, MsgKind
from tapescope.feeds.venues.bybit import (
    BybitDepth,
    BybitLinearConfig,
    BybitProtocol,
    BybitSync,
    bybit_protocol,
)
from tapescope.feeds.venues.offline import OfflineDriver

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "bybit").is_dir(), reason=f"real captures not found at {DATA}"
)
CAPTURE = "bybit/BYBIT.jsonl"
LINEAR = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"]
SPOT = ["BTCUSDT", "ETHUSDT"]
CONN = {"bybit-linear": ("BYBIT.ws.2", LINEAR), "bybit-spot": ("BYBIT.ws.3", SPOT)}


def book_msg(
    kind: str, u: int, bids: list, asks: list, sym: str = "BTCUSDT", ts: int = 1_700_000_000_000
) -> str:
    return orjson.dumps(
        {
            "topic": f"orderbook.200.{sym}",
            "type": kind,
            "ts": ts,
            "data": {"s": sym, "b": bids, "a": asks, "u": u, "seq": u * 10},
            "cts": ts - 1,
        }
    ).decode()


def linear(*symbols: str) -> tuple[BybitProtocol, dict]:
    proto = bybit_protocol("bybit-linear")
    syncs = {}
    for s in symbols or ("BTCUSDT",):
        inst = Instrument("bybit-linear", s)
        syncs[inst.key] = proto.new_sync(inst, SymbolHealth(inst.key))
    return proto, syncs


# -- subscription -------------------------------------------------------------


def test_subscribe_frames_chunk_topics_and_linear_adds_tickers() -> None:
    proto = bybit_protocol("bybit-linear")
    frames = [
        orjson.loads(f)
        for f in proto.subscribe_frames(["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"])
    ]
    args = [a for f in frames for a in f["args"]]
    assert all(f["op"] == "subscribe" and len(f["args"]) <= 10 for f in frames)
    assert len(frames) == 2 and len(args) == 12
    assert {"orderbook.200.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT"} <= set(args)
    spot = [
        a
        for f in bybit_protocol("bybit-spot").subscribe_frames(["BTCUSDT"])
        for a in orjson.loads(f)["args"]
    ]
    assert spot == ["orderbook.200.BTCUSDT", "publicTrade.BTCUSDT"]
    re = [orjson.loads(f) for f in proto.resubscribe_frames(["BTCUSDT"])]
    assert [(f["op"], f["args"]) for f in re] == [
        ("unsubscribe", ["orderbook.200.BTCUSDT"]),
        ("subscribe", ["orderbook.200.BTCUSDT"]),
    ]
    assert proto.app_ping_frame() == '{"op":"ping"}' and proto.app_ping_interval_s == 20.0
    assert proto.connect_url("wss://x", ["BTCUSDT"]) == "wss://x"
    assert (
        BybitProtocol(BybitLinearConfig(depth=50))
        .subscribe_frames(["X"])[0]
        .count("orderbook.50.X")
        == 1
    )
    with pytest.raises(ValueError):
        bybit_protocol("bybit-inverse")


# -- sync rules ---------------------------------------------------------------


def _sync() -> BybitSync:
    inst = Instrument("bybit-linear", "BTCUSDT")
    return BybitSync(inst, SymbolHealth(inst.key))


def d(snapshot: bool, u: int, bids=(), asks=()) -> BybitDepth:
    return BybitDepth(snapshot, u, 0, u * 1000, list(bids), list(asks))


def test_snapshot_then_chained_deltas_stay_live() -> None:
    s = _sync()
    out = s.on_depth(d(True, 100, [(10.0, 1.0)], [(11.0, 1.0)]), 1)
    assert [type(e) for e in out.events] == [BookSnapshot, StatusChange]
    assert out.events[1].state == FeedState.LIVE and s.health.resyncs == 0
    out = s.on_depth(d(False, 101, [(10.0, 0.0)]), 2)
    assert out.events == [BookDelta("bybit-linear:BTCUSDT", 101_000, 2, [(10.0, 0.0)], [], 101)]
    assert not out.resubscribe and s.health.gaps == 0 and s.health.venue_latency_ns == 2 - 101_000


@pytest.mark.parametrize(
    "bad_u", [103, 101, 100, 50]
)  # skipped, duplicate, repeated old, backwards
def test_any_delta_off_the_chain_is_a_gap(bad_u: int) -> None:
    s = _sync()
    s.on_depth(d(True, 100), 1)
    s.on_depth(d(False, 101), 2)
    out = s.on_depth(d(False, bad_u), 3)
    assert out.resubscribe and s.state == FeedState.RESYNCING and s.health.gaps == 1
    assert out.events == [
        StatusChange(
            "bybit-linear:BTCUSDT",
            bad_u * 1000,
            3,
            FeedState.RESYNCING,
            f"gap: u={bad_u} after u=101 (expected 102)",
        )
    ]
    # Deltas while resyncing are dropped silently; the next snapshot restores LIVE and counts a resync.
    assert s.on_depth(d(False, 102), 4).events == []
    out = s.on_depth(d(True, 500, [(9.0, 1.0)]), 5)
    assert out.events[-1].state == FeedState.LIVE and s.health.resyncs == 1 and s.health.gaps == 1


def test_u_equal_1_is_a_reset_not_a_gap() -> None:
    s = _sync()
    s.on_depth(d(True, 900), 1)
    out = s.on_depth(d(True, 1, [(5.0, 2.0)], [(6.0, 1.0)]), 2)
    assert out.events == [
        BookSnapshot("bybit-linear:BTCUSDT", 1000, 2, [(5.0, 2.0)], [(6.0, 1.0)], 1)
    ]
    assert s.health.gaps == 0 and s.state == FeedState.LIVE
    assert s.on_depth(d(False, 2, [(5.0, 3.0)]), 3).events[0].seq == 2
    # A delta-typed u=1 overwrites too.
    out = s.on_depth(d(False, 1, [(4.0, 1.0)]), 4)
    assert type(out.events[0]) is BookSnapshot and s.health.gaps == 0


def test_empty_u1_snapshot_clears_and_marks_unavailable_until_levels_arrive() -> None:
    s = _sync()
    s.on_depth(d(True, 40, [(5.0, 2.0)]), 1)
    out = s.on_depth(d(True, 1), 2)
    assert out.events[0] == BookSnapshot("bybit-linear:BTCUSDT", 1000, 2, [], [], 1)
    assert s.state == FeedState.SYNCING and "u=1" in s.health.reason
    out = s.on_depth(d(False, 2, [(5.0, 1.0)]), 3)
    assert type(out.events[0]) is BookDelta and s.state == FeedState.LIVE


def test_depth1_snapshot_resent_with_same_u_is_not_a_gap() -> None:
    s = _sync()
    s.on_depth(d(True, 77, [(5.0, 2.0)], [(6.0, 1.0)]), 1)
    out = s.on_depth(d(True, 77, [(5.0, 2.0)], [(6.0, 1.0)]), 2)
    assert type(out.events[0]) is BookSnapshot and s.health.gaps == 0 and not out.resubscribe


def test_delta_before_first_snapshot_is_ignored_and_reset_requests_resubscribe() -> None:
    s = _sync()
    assert s.on_depth(d(False, 5), 1).events == []
    assert s.state == FeedState.CONNECTING
    s.on_depth(d(True, 6), 2)
    out = s.reset(FeedState.RESYNCING, "crossed book", 3)
    assert out.resubscribe and out.events[0].state == FeedState.RESYNCING and s.prev_u is None
    out = s.reset(FeedState.DISCONNECTED, "socket closed", 4)
    assert not out.resubscribe and out.events[0].state == FeedState.DISCONNECTED


# -- decoding -----------------------------------------------------------------


def test_decode_book_trade_ticker_and_controls() -> None:
    proto, _ = linear("BTCUSDT")
    (r,) = proto.decode(book_msg("delta", 5, [["65000.5", "0.010"]], [["65001", "0"]]), 9)
    assert r.kind is MsgKind.DEPTH and r.key == "bybit-linear:BTCUSDT"
    assert r.payload == BybitDepth(
        False, 5, 50, (1_700_000_000_000 - 1) * 1_000_000, [(65000.5, 0.01)], [(65001.0, 0.0)]
    )
    trades = proto.decode(
        '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":['
        '{"T":1786310819680,"s":"BTCUSDT","S":"Sell","v":"0.004","p":"65114.20","i":"a9"},'
        '{"T":1786310819681,"s":"BTCUSDT","S":"Buy","v":"2","p":"65114.30","i":"b1"}]}',
        7,
    )
    assert [t.payload for t in trades] == [
        Trade(
            "bybit-linear:BTCUSDT", 1786310819680_000000, 7, 65114.2, 0.004, Aggressor.SELL, "a9"
        ),
        Trade("bybit-linear:BTCUSDT", 1786310819681_000000, 7, 65114.3, 2.0, Aggressor.BUY, "b1"),
    ]
    (oi,) = proto.decode(
        '{"topic":"tickers.BTCUSDT","type":"delta","ts":1786310817883,"data":{"symbol":"BTCUSDT","openInterest":"59891.732"}}',
        3,
    )
    assert oi.payload == OpenInterest("bybit-linear:BTCUSDT", 1786310817883_000000, 3, 59891.732)
    (no_oi,) = proto.decode(
        '{"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","bid1Price":"1"}}',
        3,
    )
    assert no_oi.kind is MsgKind.IGNORED
    assert proto.decode('{"topic":"kline.1.BTCUSDT","data":[]}', 1)[0].kind is MsgKind.IGNORED
    assert (
        proto.decode(book_msg("delta", 5, [], [], sym="XRPUSDT"), 1)[0].kind is MsgKind.IGNORED
    )  # not registered
    ack = proto.decode(
        '{"success":true,"ret_msg":"","conn_id":"c","req_id":"subsc1","op":"subscribe"}', 1
    )[0]
    assert ack.kind is MsgKind.CONTROL and ack.payload["req_id"] == "subsc1"
    assert (
        proto.decode('{"op":"pong","args":["1675418560633"],"conn_id":"c"}', 1)[0].kind
        is MsgKind.CONTROL
    )
    err = proto.decode(
        '{"success":false,"ret_msg":"error:handler not found\\u001b[2J\\u0007,topic:orderbook.7.X","op":"subscribe"}',
        1,
    )[0]
    assert (
        err.kind is MsgKind.ERROR
        and err.payload == "bybit: subscribe refused: error:handler not found,topic:orderbook.7.X"
    )


@pytest.mark.parametrize(
    ("frame", "book"),
    [
        ("not json", False),
        ("[1,2]", False),
        ('{"topic":7}', False),
        (book_msg("delta", 5, [["abc", "1"]], []), True),
        (book_msg("delta", 5, [["1", "-1"]], []), True),
        (book_msg("delta", 5, [["NaN", "1"]], []), True),
        (book_msg("delta", 5, [["1", "inf"]], []), True),
        (book_msg("delta", 5, [["0", "1"]], []), True),
        (book_msg("delta", 5, [[1]], []), True),
        (book_msg("delta", 5, "x", []), True),
        (book_msg("weird", 5, [], []), True),
        ('{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"b":[],"a":[]}}', True),
        (
            '{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"b":[],"a":[],"u":"7x"}}',
            True,
        ),
        (
            '{"topic":"publicTrade.BTCUSDT","data":[{"T":1,"S":"Hold","v":"1","p":"1","i":"x"}]}',
            False,
        ),
        ('{"topic":"publicTrade.BTCUSDT","data":{"T":1}}', False),
        ('{"topic":"tickers.BTCUSDT","ts":1,"data":{"openInterest":"-5"}}', False),
    ],
)
def test_malformed_frames_raise_bad_message_with_book_key(frame: str, book: bool) -> None:
    proto, _ = linear("BTCUSDT")
    with pytest.raises(BadMessage) as info:
        proto.decode(frame, 1)
    assert info.value.key == ("bybit-linear:BTCUSDT" if book else "")
    assert str(info.value).startswith("bybit: ") and str(info.value).isprintable()


def test_malformed_book_frame_moves_symbol_to_resyncing() -> None:
    driver = OfflineDriver(bybit_protocol("bybit-linear"), [Instrument("bybit-linear", "BTCUSDT")])
    driver.feed(book_msg("snapshot", 10, [["1", "1"]], [["2", "1"]]), 1)
    driver.feed(book_msg("delta", 11, [["x", "1"]], []), 2)
    h = driver.health["bybit-linear:BTCUSDT"]
    assert (
        h.malformed == 1
        and h.state == FeedState.RESYNCING
        and driver.resubscribes == [(2, "bybit-linear:BTCUSDT")]
    )


def test_fuzzed_frames_route_or_raise_bad_message(fuzz) -> None:
    samples = [
        book_msg("snapshot", 10, [["65000.5", "1"]], [["65001", "2"]]),
        book_msg("delta", 11, [["65000.5", "0"]], [["65002", "1"]]),
        '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1786310819680,"s":"BTCUSDT","S":"Sell","v":"0.004","p":"65114.20","i":"a9"}]}',
        '{"topic":"tickers.BTCUSDT","type":"delta","ts":1786310817883,"data":{"symbol":"BTCUSDT","openInterest":"59891.732"}}',
        '{"success":false,"ret_msg":"bad","op":"subscribe"}',
    ]
    fuzz(
        lambda: bybit_protocol("bybit-linear"),
        samples,
        lambda p: {
            "bybit-linear:BTCUSDT": p.new_sync(
                Instrument("bybit-linear", "BTCUSDT"), SymbolHealth("bybit-linear:BTCUSDT")
            )
        },
    )


# -- conformance on the real capture --------------------------------------------


def _driver(venue: str) -> OfflineDriver:
    return OfflineDriver(bybit_protocol(venue), [Instrument(venue, s) for s in CONN[venue][1]])


@needs_data
@pytest.mark.parametrize("venue", ["bybit-linear", "bybit-spot"])
def test_capture_u_chain_holds_and_books_stay_200x200(venue: str, frames) -> None:
    driver = _driver(venue)
    deltas = 0
    for recv_ns, payload in frames(CAPTURE, CONN[venue][0]):
        driver.feed(payload, recv_ns)
        for key, book in driver.books.items():
            if driver.health[key].state == FeedState.LIVE:
                assert book.depth() == (200, 200), key
                assert not book.is_crossed(), key
    deltas = sum(h.messages for h in driver.health.values()) - len(driver.health)
    assert not driver.bad and not driver.errors and not driver.resubscribes
    assert all(
        h.state == FeedState.LIVE and h.gaps == 0 and h.crossed == 0 for h in driver.health.values()
    )
    assert deltas == {"bybit-linear": 1594, "bybit-spot": 548}[venue]
    assert driver.kinds[MsgKind.CONTROL] == {"bybit-linear": 17, "bybit-spot": 7}[venue]


@needs_data
def test_capture_has_2142_deltas_and_linear_open_interest(frames) -> None:
    lin, spot = _driver("bybit-linear"), _driver("bybit-spot")
    lin.keep_events = spot.keep_events = True
    lin.feed_all(frames(CAPTURE, "BYBIT.ws.2"))
    spot.feed_all(frames(CAPTURE, "BYBIT.ws.3"))
    deltas = sum(1 for dr in (lin, spot) for e in dr.events if type(e) is BookDelta)
    assert deltas == 2142
    ois = [e for e in lin.events if type(e) is OpenInterest]
    assert ois and all(e.open_interest > 0 for e in ois)
    assert not [e for e in spot.events if type(e) is OpenInterest]
    trades = [e for dr in (lin, spot) for e in dr.events if type(e) is Trade]
    assert len(trades) >= 120 and {t.side for t in trades} == {1, -1}


def _delta_indexes(frames_: list, topic: str) -> list[int]:
    return [i for i, (_, p) in enumerate(frames_) if f'"topic":"{topic}","type":"delta"' in p]


@needs_data
@pytest.mark.parametrize("mutation", ["drop", "duplicate", "reorder", "corrupt"])
def test_capture_mutations_are_detected_and_recovered_by_next_snapshot(
    mutation: str, frames, books_equal
) -> None:
    venue, key = "bybit-linear", "bybit-linear:ETHUSDT"
    clean = frames(CAPTURE, "BYBIT.ws.2")
    idx = _delta_indexes(clean, "orderbook.200.ETHUSDT")
    i, i2, j = idx[40], idx[41], idx[60]
    mutated = list(clean)
    if mutation == "drop":
        del mutated[i]
    elif mutation == "duplicate":
        mutated.insert(i + 1, clean[i])
    elif mutation == "reorder":
        mutated[i], mutated[i2] = clean[i2], clean[i]
    else:
        msg = orjson.loads(clean[i][1])
        msg["data"]["b" if msg["data"]["b"] else "a"][0][1] = "1.2.3"
        mutated[i] = (clean[i][0], orjson.dumps(msg).decode())
    # Reference: the clean stream up to frame j, the book the venue would resend.
    ref = _driver(venue)
    ref.feed_all(clean[: j + 1])
    snap_book, snap_u = ref.books[key], ref.syncs[key].prev_u
    snapshot = book_msg(
        "snapshot",
        snap_u,
        [[repr(p), repr(q)] for p, q in snap_book.bids.items()],
        [[repr(p), repr(q)] for p, q in snap_book.asks.items()],
        sym="ETHUSDT",
    )
    ref.feed_all(clean[j + 1 :])

    shift = len(mutated) - len(clean)
    driver = _driver(venue)
    driver.feed_all(mutated[: j + 1 + shift])
    h = driver.health[key]
    assert h.state == FeedState.RESYNCING
    assert (h.gaps, h.malformed) == ((0, 1) if mutation == "corrupt" else (1, 0))
    assert [k for _, k in driver.resubscribes] == [key]
    driver.feed(snapshot, clean[j][0])
    driver.feed_all(clean[j + 1 :])
    assert h.state == FeedState.LIVE and h.resyncs == 1
    for k in driver.books:
        assert books_equal(driver.books[k], ref.books[k]), k
    # The other symbols never noticed.
    assert all(
        driver.health[k].gaps == 0 and driver.health[k].resyncs == 0
        for k in driver.health
        if k != key
    )


def test_a_full_connection_stays_inside_bybit_args_limits() -> None:
    """Spot: at most 10 args per request; any public connection: args under 21,000 characters."""
    for venue in ("bybit-linear", "bybit-spot"):
        proto = bybit_protocol(venue)
        symbols = [f"1000000BABYDOGE{i:03d}USDT" for i in range(proto.max_symbols_per_connection)]
        args = [a for f in proto.subscribe_frames(symbols) for a in orjson.loads(f)["args"]]
        assert all(len(orjson.loads(f)["args"]) <= 10 for f in proto.subscribe_frames(symbols))
        assert len(orjson.dumps(args)) < 21_000


def test_engine_found_crossed_book_is_counted_and_resynced() -> None:
    driver = OfflineDriver(bybit_protocol("bybit-spot"), [Instrument("bybit-spot", "BTCUSDT")])
    key = "bybit-spot:BTCUSDT"
    driver.feed(book_msg("snapshot", 10, [["100", "1"]], [["101", "1"]]), 1)
    driver.feed(book_msg("delta", 11, [["102", "1"]], []), 2)  # a bid above the ask: impossible
    h = driver.health[key]
    assert (h.crossed, h.state, h.gaps) == (1, FeedState.RESYNCING, 0)
    assert driver.resubscribes == [(2, key)] and "crossed book" in h.reason


def test_refused_subscription_is_attributed_to_the_markets_it_names() -> None:
    proto, _ = linear("BTCUSDT", "ETHUSDT")
    routed = proto.decode(
        '{"success":false,"ret_msg":"Invalid topic :[orderbook.200.ETHUSDT]","conn_id":"c","op":"subscribe"}',
        1,
    )
    assert [(r.kind, r.key) for r in routed] == [(MsgKind.ERROR, "bybit-linear:ETHUSDT")]
    both = proto.decode(
        '{"success":false,"ret_msg":"Invalid topic :[publicTrade.BTCUSDT,orderbook.200.ETHUSDT]","op":"subscribe"}',
        1,
    )
    assert sorted(r.key for r in both) == ["bybit-linear:BTCUSDT", "bybit-linear:ETHUSDT"]
    unsub = proto.decode(
        '{"success":false,"ret_msg":"not subscribed: orderbook.200.ETHUSDT","op":"unsubscribe"}', 1
    )
    assert [(r.kind, r.key) for r in unsub] == [(MsgKind.ERROR, "")]
