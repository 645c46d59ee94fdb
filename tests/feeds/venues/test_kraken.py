"""Kraken adapter: v2 number formatting and checksum, depth truncation, v1 capture conformance."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

import orjson
import pytest

from tapescope.engine.checksum import kraken_checksum
from tapescope.engine.events import Aggressor, BookDelta, FeedState, Trade
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import BadMessage, MsgKind
from tapescope.feeds.venues.kraken import KrakenConfig, KrakenProtocol
from tapescope.feeds.venues.kraken_v1 import KrakenV1Protocol
from tapescope.feeds.venues.offline import OfflineDriver

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "kraken").is_dir(), reason=f"real captures not found at {DATA}"
)
CAPTURE = "kraken/KRAKEN.ws.50.0"
PAIRS = [
    "WAVES/EUR",
    "XMR/USD",
    "KSM/XBT",
    "GRT/ETH",
    "SC/EUR",
    "ETH/CHF",
    "OCEAN/XBT",
    "OMG/USD",
    "XBT/CHF",
    "ADA/XBT",
]
KEY = "kraken:BTC/USD"
INSTRUMENT = '{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":"BTC/USD","price_precision":1,"qty_precision":8}]}}'


def v2_book(
    kind: str, bids: str, asks: str, checksum: int, ts: str = "2023-10-06T17:35:55.440295Z"
) -> str:
    return f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD","bids":[{bids}],"asks":[{asks}],"checksum":{checksum},"timestamp":"{ts}"}}]}}'


def lv(price: str, qty: str) -> str:
    return f'{{"price":{price},"qty":{qty}}}'


def crc(text: str) -> int:
    return zlib.crc32(text.encode())


def v2_driver(depth: int = 10) -> OfflineDriver:
    d = OfflineDriver(
        KrakenProtocol(KrakenConfig(depth=depth)),
        [Instrument("kraken", "BTC/USD", tick_size=1.0, lot_size=0.001)],
    )
    d.feed(INSTRUMENT, 1)
    return d


# -- v2 ------------------------------------------------------------------------


def test_v2_subscribe_frames() -> None:
    proto = KrakenProtocol()
    frames = [json.loads(f) for f in proto.subscribe_frames(["BTC/USD", "ETH/USD"])]
    assert [f["params"]["channel"] for f in frames] == ["instrument", "book", "trade"]
    assert frames[1]["params"] == {
        "channel": "book",
        "symbol": ["BTC/USD", "ETH/USD"],
        "depth": 100,
        "snapshot": True,
    }
    assert all(f["method"] == "subscribe" for f in frames)
    re = [json.loads(f) for f in proto.resubscribe_frames(["BTC/USD"])]
    assert [(f["method"], f["params"]["channel"]) for f in re] == [
        ("unsubscribe", "book"),
        ("subscribe", "book"),
    ]
    assert (
        proto.app_ping_frame() == '{"method":"ping"}' and proto.ws_url == "wss://ws.kraken.com/v2"
    )


def test_v2_numbers_are_formatted_to_pair_precision_before_the_checksum() -> None:
    d = v2_driver()
    # Instrument channel: price_precision 1, qty_precision 8 (the instrument's lot 0.001 would give 3: wrong).
    assert d.protocol.precision["BTC/USD"] == (1, 8)
    # qty 0.001 -> "0.00100000" -> "100000"; qty 0.5 -> "0.50000000" -> "50000000"; price 45285 -> "45285.0" -> "452850".
    expected = crc("452852" + "100000" + "452850" + "50000000")
    d.feed(v2_book("snapshot", lv("45285.0", "0.5"), lv("45285.2", "0.001"), expected), 2)
    h = d.health[KEY]
    assert h.state == FeedState.LIVE and d.syncs[KEY].checksums_verified == 1
    assert d.syncs[KEY].book.top_asks(1) == [("45285.2", "0.00100000")]
    assert d.books[KEY].best_bid() == (45285.0, 0.5)


def test_v2_decimal_parsing_keeps_digits_a_float_would_lose() -> None:
    d = v2_driver()
    big = "12345678901.12345678"
    assert f"{float(big):.8f}" != big  # a float round-trip would corrupt the checksum string
    expected = crc("452852" + "1234567890112345678" + "452850" + "100000000")
    d.feed(v2_book("snapshot", lv("45285", "1"), lv("45285.2", big), expected), 2)
    assert d.health[KEY].state == FeedState.LIVE and d.syncs[KEY].checksums_verified == 1


def test_v2_truncates_to_depth_with_explicit_deletes_and_catches_mismatch() -> None:
    d = v2_driver(depth=10)
    d.keep_events = True
    bids = [(f"{100 - i}.0", "1") for i in range(10)]
    asks = [(f"{101 + i}.0", "2") for i in range(10)]

    def digits(levels: list) -> str:
        return "".join(
            p.replace(".", "").lstrip("0") + "1" + "00000000"
            if q == "1"
            else p.replace(".", "").lstrip("0") + "2" + "00000000"
            for p, q in levels
        )

    snap = v2_book(
        "snapshot",
        ",".join(lv(p, q) for p, q in bids),
        ",".join(lv(p, q) for p, q in asks),
        crc(digits(asks) + digits(bids)),
    )
    d.feed(snap, 2)
    assert d.books[KEY].depth() == (10, 10) and d.health[KEY].state == FeedState.LIVE
    # A better bid pushes 91.0 out of the top 10; Kraken sends no delete for it.
    new_bids = [("100.5", "1")] + bids[:9]
    d.feed(v2_book("update", lv("100.5", "1"), "", crc(digits(asks) + digits(new_bids))), 3)
    delta = d.events[-1]
    assert type(delta) is BookDelta and delta.bids == [(100.5, 1.0), (91.0, 0.0)]
    assert d.books[KEY].depth() == (10, 10) and 91.0 not in d.books[KEY].bids
    assert d.health[KEY].state == FeedState.LIVE and d.syncs[KEY].checksums_verified == 2
    d.feed(v2_book("update", lv("100.6", "1"), "", 12345), 4)
    h = d.health[KEY]
    assert (h.state, h.checksum_failures) == (FeedState.RESYNCING, 1) and d.resubscribes == [
        (4, KEY)
    ]


def test_v2_trades_controls_and_errors() -> None:
    proto = KrakenProtocol()
    proto.new_sync(Instrument("kraken", "BTC/USD"), SymbolHealth(KEY))
    (t,) = proto.decode(
        '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}',
        9,
    )
    assert t.payload == Trade(KEY, 1695628177708706000, 9, 0.5117, 40.0, Aggressor.SELL, "4665906")
    assert (
        proto.decode('{"channel":"trade","type":"snapshot","data":[]}', 1)[0].kind
        is MsgKind.IGNORED
    )
    assert proto.decode('{"channel":"heartbeat"}', 1)[0].kind is MsgKind.CONTROL
    assert (
        proto.decode('{"method":"pong","time_in":"x","time_out":"y"}', 1)[0].kind is MsgKind.CONTROL
    )
    ok = proto.decode(
        '{"method":"subscribe","result":{"channel":"book","depth":100,"symbol":"BTC/USD"},"success":true}',
        1,
    )[0]
    assert ok.kind is MsgKind.CONTROL and ok.payload["symbol"] == "BTC/USD"
    err = proto.decode(
        '{"error":"Currency pair not supported \\u001b[5mXYZ/USD","method":"subscribe","success":false}',
        1,
    )[0]
    assert (
        err.kind is MsgKind.ERROR
        and err.payload == "kraken: subscribe refused: Currency pair not supported XYZ/USD"
    )


@pytest.mark.parametrize(
    ("frame", "book"),
    [
        ("nope", False),
        (
            '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":NaN,"qty":1}],"asks":[],"checksum":1}]}',
            False,
        ),
        (v2_book("update", lv('"45285.0"', "1"), "", 1), True),  # string where a number belongs
        (v2_book("update", lv("45285.0", "-1"), "", 1), True),
        (v2_book("update", lv("0", "1"), "", 1), True),
        (v2_book("update", lv("1e400", "1"), "", 1), True),
        (v2_book("update", "", "", -5), True),
        (v2_book("update", "", "", 1, ts="yesterday"), True),
        (v2_book("resend", "", "", 1), False),
        (
            '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"up","price":1,"qty":1,"timestamp":"2023-09-25T07:49:37Z"}]}',
            False,
        ),
    ],
)
def test_v2_malformed_frames_raise_bad_message(frame: str, book: bool) -> None:
    proto = KrakenProtocol()
    proto.new_sync(Instrument("kraken", "BTC/USD"), SymbolHealth(KEY))
    with pytest.raises(BadMessage) as info:
        proto.decode(frame, 1)
    assert info.value.key == (KEY if book else "")


def test_v2_fuzzed_frames_route_or_raise_bad_message(fuzz) -> None:
    samples = [
        v2_book("snapshot", lv("45285.0", "0.5"), lv("45285.2", "0.001"), 1),
        v2_book("update", lv("45285.1", "0"), "", 2),
        INSTRUMENT,
        '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":0.5117,"qty":40.0,"trade_id":1,"timestamp":"2023-09-25T07:49:37.708706Z"}]}',
        '{"error":"bad","method":"subscribe","success":false}',
    ]
    fuzz(
        KrakenProtocol,
        samples,
        lambda p: {KEY: p.new_sync(Instrument("kraken", "BTC/USD"), SymbolHealth(KEY))},
    )


# -- v1 ------------------------------------------------------------------------


def test_v1_decode_snapshot_two_dict_update_trade_and_status() -> None:
    proto = KrakenV1Protocol()
    proto.new_sync(Instrument("kraken", "SC/EUR"), SymbolHealth("kraken:SC/EUR"))
    (snap,) = proto.decode(
        '[1,{"as":[["0.043000","10.0","1618678133.1"]],"bs":[["0.042990","5.0","1618678133.2"]]},"book-25","SC/EUR"]',
        1,
    )
    assert snap.payload.snapshot and snap.payload.depth == 25 and snap.payload.checksum is None
    assert snap.payload.ts == 1618678133_200000000 and snap.payload.bids == [
        (0.04299, "0.042990", "5.0")
    ]
    (upd,) = proto.decode(
        '[1920,{"a":[["0.042990","364630.28272081","1618678145.920470"]]},{"b":[["0.042990","0.00000000","1618678145.920708","r"]],"c":"4105471083"},"book-1000","SC/EUR"]',
        2,
    )
    assert (
        upd.payload.checksum == 4105471083
        and len(upd.payload.asks) == 1
        and len(upd.payload.bids) == 1
    )
    (trade,) = proto.decode(
        '[2,[["0.043","12.5","1618678145.920470","b","l",""]],"trade","SC/EUR"]', 3
    )
    assert trade.payload == Trade(
        "kraken:SC/EUR", 1618678145_920470000, 3, 0.043, 12.5, Aggressor.BUY, ""
    )
    bad_sub = proto.decode(
        '{"errorMessage":"Currency pair not \\u0007supported","event":"subscriptionStatus","pair":"XBT/FOO","status":"error"}',
        4,
    )[0]
    assert (
        bad_sub.kind is MsgKind.ERROR
        and bad_sub.payload == "kraken: subscriptionStatus XBT/FOO Currency pair not supported"
    )
    assert proto.decode('{"event":"heartbeat"}', 5)[0].kind is MsgKind.CONTROL


@pytest.mark.parametrize(
    "frame",
    [
        '[1,{"a":[["x","1","1618678145.9"]],"c":"1"},"book-10","SC/EUR"]',
        '[1,{"a":[["1","1","soon"]],"c":"1"},"book-10","SC/EUR"]',
        '[1,{"a":[["1","1","1618678145.9"]],"c":"-1"},"book-10","SC/EUR"]',
        '[1,{"a":[["1","1","1618678145.9"]],"c":"99999999999"},"book-10","SC/EUR"]',
        '[1,{"a":[["1","1","1618678145.9"]],"c":"1"},"book-0","SC/EUR"]',
        '[1,{"a":"oops","c":"1"},"book-10","SC/EUR"]',
        '[1,[],"book-10","SC/EUR"]',
    ],
)
def test_v1_malformed_book_frames_name_the_pair(frame: str) -> None:
    proto = KrakenV1Protocol()
    proto.new_sync(Instrument("kraken", "SC/EUR"), SymbolHealth("kraken:SC/EUR"))
    with pytest.raises(BadMessage) as info:
        proto.decode(frame, 1)
    assert info.value.key == "kraken:SC/EUR"


def test_v1_fuzzed_frames_route_or_raise_bad_message(fuzz) -> None:
    samples = [
        '[1,{"as":[["0.043000","10.0","1618678133.1"]],"bs":[["0.042990","5.0","1618678133.2"]]},"book-25","SC/EUR"]',
        '[1920,{"a":[["0.042990","364630.28272081","1618678145.920470"]]},{"b":[["0.042980","1.0","1618678145.920708","r"]],"c":"4105471083"},"book-25","SC/EUR"]',
        '[2,[["0.043","12.5","1618678145.920470","b","l",""]],"trade","SC/EUR"]',
        '{"errorMessage":"x","event":"subscriptionStatus","pair":"XBT/FOO","status":"error"}',
    ]
    fuzz(
        KrakenV1Protocol,
        samples,
        lambda p: {
            "kraken:SC/EUR": p.new_sync(
                Instrument("kraken", "SC/EUR"), SymbolHealth("kraken:SC/EUR")
            )
        },
    )


# -- conformance on the real v1 capture ----------------------------------------------


def capture_driver() -> OfflineDriver:
    return OfflineDriver(KrakenV1Protocol(), [Instrument("kraken", p) for p in PAIRS])


@needs_data
def test_capture_all_4269_checksums_verify_across_10_pairs(frames) -> None:
    d = capture_driver()
    d.feed_all(frames(CAPTURE))
    verified = {k: s.checksums_verified for k, s in d.syncs.items()}
    assert (
        sum(verified.values()) == 4269
        and all(v > 0 for v in verified.values())
        and len(verified) == 10
    )
    assert not d.bad and not d.errors and not d.resubscribes
    for key, h in d.health.items():
        assert (h.state, h.checksum_failures, h.crossed, h.resyncs) == (FeedState.LIVE, 0, 0, 0), (
            key
        )
        bids, asks = d.syncs[key].book.float_levels()
        assert dict(d.books[key].bids) == dict(bids) and dict(d.books[key].asks) == dict(asks), key


def _updates(frames_: list, pair: str) -> list[int]:
    return [
        i
        for i, (_, p) in enumerate(frames_)
        if p.endswith(f'"book-1000","{pair}"]') and '"c":' in p
    ]


def _checksum(payload: str) -> str:
    return orjson.loads(payload)[-3]["c"]


@needs_data
@pytest.mark.parametrize("mutation", ["drop", "reorder", "corrupt"])
def test_capture_mutations_fail_the_checksum_and_recover(
    mutation: str, frames, books_equal
) -> None:
    pair, key = "XMR/USD", "kraken:XMR/USD"
    clean = frames(CAPTURE)
    idx = _updates(clean, pair)
    # First update after #100 that changes the top 10 (its checksum differs from the previous one's).
    n = next(
        n
        for n in range(100, len(idx))
        if _checksum(clean[idx[n]][1]) != _checksum(clean[idx[n - 1]][1])
    )
    i, i2, j = idx[n], idx[n + 1], idx[n + 40]
    mutated = list(clean)
    if mutation == "drop":
        del mutated[i]
    elif mutation == "reorder":
        mutated[i], mutated[i2] = clean[i2], clean[i]
    else:
        msg = orjson.loads(clean[i][1])
        entry = next(
            e
            for part in msg[1:-2]
            for side in ("a", "b")
            for e in part.get(side, [])
            if float(e[1]) > 0
        )
        entry[1] = f"{float(entry[1]) + 1:.8f}"  # a valid but wrong volume
        mutated[i] = (clean[i][0], orjson.dumps(msg).decode())
    ref = capture_driver()
    ref.feed_all(clean[: j + 1])
    sync = ref.syncs[key]
    ts = "1618678200.000000"
    snapshot = orjson.dumps(
        [
            992,
            {
                "as": [[px, sz, ts] for px, sz in sync.book.asks.values()],
                "bs": [[px, sz, ts] for px, sz in sync.book.bids.values()],
            },
            "book-1000",
            pair,
        ]
    ).decode()
    ref.feed_all(clean[j + 1 :])

    shift = len(mutated) - len(clean)
    d = capture_driver()
    d.feed_all(mutated[: j + 1 + shift])
    h = d.health[key]
    assert (
        h.state == FeedState.RESYNCING
        and h.checksum_failures == 1
        and [k for _, k in d.resubscribes] == [key]
    )
    d.feed(snapshot, clean[j][0])
    d.feed_all(clean[j + 1 :])
    assert h.state == FeedState.LIVE and h.resyncs == 1 and h.checksum_failures == 1
    for k in d.books:
        assert books_equal(d.books[k], ref.books[k]), k


@needs_data
def test_capture_duplicate_update_is_a_no_op(frames, books_equal) -> None:
    """Absolute sizes make a repeated Kraken update harmless; the book and every checksum stay right."""
    clean = frames(CAPTURE)
    i = _updates(clean, "XMR/USD")[100]
    d, ref = capture_driver(), capture_driver()
    d.feed_all(clean[: i + 1] + [clean[i]] + clean[i + 1 :])
    ref.feed_all(clean)
    assert all(h.checksum_failures == 0 and h.state == FeedState.LIVE for h in d.health.values())
    assert all(books_equal(d.books[k], ref.books[k]) for k in d.books)
    assert kraken_checksum(
        d.syncs["kraken:XMR/USD"].book.top_asks(10), d.syncs["kraken:XMR/USD"].book.top_bids(10)
    ) == int(_checksum(clean[_updates(clean, "XMR/USD")[-1]][1]))


def test_v2_without_instrument_channel_falls_back_to_tick_and_lot(caplog) -> None:
    proto = KrakenProtocol(KrakenConfig(instrument_channel=False))
    assert [json.loads(f)["params"]["channel"] for f in proto.subscribe_frames(["BTC/USD"])] == [
        "book",
        "trade",
    ]
    sync = proto.new_sync(
        Instrument("kraken", "BTC/USD", tick_size=0.1, lot_size=1e-8), SymbolHealth(KEY)
    )
    assert proto.precision["BTC/USD"] == (1, 8)
    (r,) = proto.decode(
        v2_book(
            "snapshot",
            lv("45285.0", "0.5"),
            lv("45285.2", "0.001"),
            crc("452852" + "100000" + "452850" + "50000000"),
        ),
        1,
    )
    assert sync.on_depth(r.payload, 1).events[-1].state == FeedState.LIVE
    assert "before its instrument precisions" in caplog.text


def test_refused_pairs_are_attributed_in_v2_and_v1() -> None:
    proto = KrakenProtocol()
    proto.new_sync(Instrument("kraken", "BTC/USD"), SymbolHealth(KEY))
    routed = proto.decode(
        '{"error":"Currency pair not supported BTC/USD","method":"subscribe","success":false,"symbol":"BTC/USD"}',
        1,
    )
    assert [(r.kind, r.key) for r in routed] == [(MsgKind.ERROR, KEY)]
    other = proto.decode('{"error":"Unsupported method","method":"ping2","success":false}', 1)
    assert [(r.kind, r.key) for r in other] == [(MsgKind.ERROR, "")]
    v1 = KrakenV1Protocol()
    v1.new_sync(Instrument("kraken", "SC/EUR"), SymbolHealth("kraken:SC/EUR"))
    (r,) = v1.decode(
        '{"errorMessage":"Subscription depth not supported","event":"subscriptionStatus","pair":"SC/EUR","status":"error"}',
        1,
    )
    assert (r.kind, r.key) == (MsgKind.ERROR, "kraken:SC/EUR")


def _strip(text: str) -> str:
    """A v1 fixed-decimal string as v2 would send it: a JSON number without trailing zeros."""
    return text.rstrip("0").rstrip(".") if "." in text else text


@needs_data
def test_capture_rewritten_as_v2_numbers_verifies_every_checksum(frames) -> None:
    """The v1 capture re-encoded the v2 way (numbers, precision dropped) still verifies 4,269/4,269.

    This exercises the v2 path on real books: the decoder must restore each
    pair's precision (from the instrument channel) before hashing.
    """
    clean = frames(CAPTURE)
    precision: dict[str, tuple[int, int]] = {}
    v2: list[tuple[int, str]] = []
    for recv_ns, p in clean:
        msg = orjson.loads(p)
        if type(msg) is not list:
            continue
        pair, parts = msg[-1], msg[1:-2]
        if "as" in parts[0]:
            px, qty = parts[0]["as"][0][0], parts[0]["as"][0][1]
            precision[pair] = (len(px.split(".")[1]), len(qty.split(".")[1]))
            asks, bids = parts[0]["as"], parts[0]["bs"]
            checksum = kraken_checksum(
                [(a[0], a[1]) for a in asks[:10]], [(b[0], b[1]) for b in bids[:10]]
            )
            kind = "snapshot"
        else:
            asks = [e for part in parts for e in part.get("a", [])]
            bids = [e for part in parts for e in part.get("b", [])]
            checksum, kind = int(parts[-1]["c"]), "update"

        def levels(side: list) -> str:
            return ",".join(f'{{"price":{_strip(e[0])},"qty":{_strip(e[1])}}}' for e in side)

        v2.append(
            (
                recv_ns,
                f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{pair}","bids":[{levels(bids)}],"asks":[{levels(asks)}],"checksum":{checksum}}}]}}',
            )
        )
    instrument = json.dumps(
        {
            "channel": "instrument",
            "type": "snapshot",
            "data": {
                "pairs": [
                    {"symbol": s, "price_precision": pp, "qty_precision": qp}
                    for s, (pp, qp) in precision.items()
                ]
            },
        }
    )
    # Tick and lot deliberately wrong: only the instrument channel's precisions make the checksums pass.
    d = OfflineDriver(
        KrakenProtocol(KrakenConfig(depth=1000)),
        [Instrument("kraken", p, tick_size=1.0, lot_size=1.0) for p in PAIRS],
    )
    d.feed(instrument, clean[0][0])
    d.feed_all(v2)
    assert (
        sum(s.checksums_verified for s in d.syncs.values()) == 4269 + 10
    )  # updates + the rebuilt snapshots
    assert all((h.state, h.checksum_failures) == (FeedState.LIVE, 0) for h in d.health.values())
    # The re-encoding really dropped digits the checksum needs (e.g. "0.50000000" -> 0.5).
    assert any(re.search(r'"[0-9]+\.[0-9]*0"', p) for _, p in clean if p.startswith("["))
    assert not any(re.search(r"[0-9]\.[0-9]*0[,}]", f) for _, f in v2)
