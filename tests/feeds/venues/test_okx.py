"""OKX v5 adapter: seqId chain, checksum rules, decoding, and conformance on the real capture."""

from __future__ import annotations

import zlib
from pathlib import Path

import orjson
import pytest

from tapescope.engine.checksum import okx_checksum
from tapescope.engine.events import (
    Aggressor,
    BookDelta,
    BookSnapshot,
    FeedState,
    OpenInterest,
    Trade,
)
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import ContractKind, Instrument
from tapescope.feeds.venues.base import BadMessage, MsgKind
from tapescope.feeds.venues.offline import OfflineDriver
from tapescope.feeds.venues.okx import OkxConfig, OkxProtocol

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "okx").is_dir(), reason=f"real captures not found at {DATA}"
)
CAPTURE = "okx/OKX.ws.1.0"
INSTS = ["BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527"]


def signed_crc(text: str) -> int:
    c = zlib.crc32(text.encode())
    return c - 2**32 if c >= 2**31 else c


def books(
    action: str,
    bids: list,
    asks: list,
    checksum: int = 0,
    inst: str = "BTC-USDT",
    ts: int = 1652459225464,
    **seq,
) -> str:
    item = {
        "asks": [[p, s, "0", "1"] for p, s in asks],
        "bids": [[p, s, "0", "1"] for p, s in bids],
        "ts": str(ts),
        "checksum": checksum,
        **seq,
    }
    return orjson.dumps(
        {"arg": {"channel": "books", "instId": inst}, "action": action, "data": [item]}
    ).decode()


def driver(*insts: Instrument, config: OkxConfig | None = None) -> OfflineDriver:
    return OfflineDriver(OkxProtocol(config), insts or [Instrument("okx", "BTC-USDT")])


KEY = "okx:BTC-USDT"


# -- subscription ------------------------------------------------------------


def test_subscribe_frames_add_open_interest_only_for_derivatives() -> None:
    proto = OkxProtocol()
    (frame,) = proto.subscribe_frames(["BTC-USDT", "BTC-USDT-SWAP"])
    args = orjson.loads(frame)["args"]
    assert {(a["channel"], a["instId"]) for a in args} == {
        ("books", "BTC-USDT"),
        ("books", "BTC-USDT-SWAP"),
        ("trades", "BTC-USDT"),
        ("trades", "BTC-USDT-SWAP"),
        ("open-interest", "BTC-USDT-SWAP"),
    }
    assert len(OkxProtocol(OkxConfig(max_args_per_request=2)).subscribe_frames(["A-B", "C-D"])) == 2
    re = [orjson.loads(f) for f in proto.resubscribe_frames(["BTC-USDT"])]
    assert [(f["op"], f["args"]) for f in re] == [
        ("unsubscribe", [{"channel": "books", "instId": "BTC-USDT"}]),
        ("subscribe", [{"channel": "books", "instId": "BTC-USDT"}]),
    ]
    assert proto.app_ping_frame() == "ping" and proto.app_ping_interval_s < 30
    assert (
        proto.decode("pong", 1)[0].kind is MsgKind.CONTROL
        and proto.decode(b"pong", 1)[0].kind is MsgKind.CONTROL
    )


# -- checksum and sequence rules ---------------------------------------------------


def test_checksum_uses_strings_exactly_as_received() -> None:
    text = "100.0:0.10:100.5:2:99:1"
    d = driver()
    d.feed(
        books("snapshot", [("100.0", "0.10"), ("99", "1")], [("100.5", "2")], signed_crc(text)), 1
    )
    assert d.health[KEY].state == FeedState.LIVE and d.syncs[KEY].checksums_verified == 1
    # The same book written "0.1" instead of "0.10" has another checksum: reformatting breaks it.
    d2 = driver()
    d2.feed(
        books("snapshot", [("100.0", "0.1"), ("99", "1")], [("100.5", "2")], signed_crc(text)), 1
    )
    assert d2.health[KEY].checksum_failures == 1 and d2.health[KEY].state == FeedState.RESYNCING


def test_update_checksum_mismatch_breaks_without_emitting_the_delta() -> None:
    d = driver()
    d.keep_events = True
    d.feed(books("snapshot", [("10", "1")], [("11", "1")], signed_crc("10:1:11:1")), 1)
    d.feed(books("update", [("10", "2")], [], signed_crc("10:2:11:1")), 2)
    assert d.books[KEY].best_bid() == (10.0, 2.0)
    d.feed(books("update", [("10", "3")], [], signed_crc("10:9:11:1")), 3)
    h = d.health[KEY]
    assert (h.state, h.checksum_failures, h.gaps) == (FeedState.RESYNCING, 1, 0)
    assert "checksum mismatch" in h.reason and d.resubscribes == [(3, KEY)]
    assert [type(e) for e in d.events] == [
        BookSnapshot,
        type(d.status[0]),
        BookDelta,
        type(d.status[0]),
    ]


def test_zero_checksum_means_not_provided() -> None:
    d = driver()
    d.feed(books("snapshot", [("10", "1")], [("11", "1")], 0), 1)
    d.feed(books("update", [("10", "5")], [], 0), 2)
    assert d.health[KEY].state == FeedState.LIVE and d.health[KEY].checksum_failures == 0
    assert d.syncs[KEY].checksums_verified == 0 and d.books[KEY].best_bid() == (10.0, 5.0)


def test_seq_chain_keepalive_and_maintenance_reset() -> None:
    d = driver()
    d.feed(books("snapshot", [("10", "1")], [("11", "1")], seqId=100, prevSeqId=-1), 1)
    d.feed(books("update", [("10", "2")], [], seqId=105, prevSeqId=100), 2)
    d.feed(books("update", [], [], seqId=105, prevSeqId=105), 3)  # keep-alive
    d.feed(
        books("update", [("9", "1")], [], seqId=3, prevSeqId=105), 4
    )  # maintenance reset: seqId < prevSeqId
    d.feed(
        books("update", [("9", "0")], [], seqId=4, prevSeqId=3), 5
    )  # chain continues from the new value
    h = d.health[KEY]
    assert (h.state, h.gaps, h.resyncs) == (FeedState.LIVE, 0, 0) and d.syncs[KEY].seq_id == 4
    assert d.books[KEY].seq == 4 and dict(d.books[KEY].bids) == {10.0: 2.0}
    d.feed(books("update", [("10", "3")], [], seqId=9, prevSeqId=7), 6)
    assert h.state == FeedState.RESYNCING and h.gaps == 1
    assert h.reason == "gap: prevSeqId=7 != last seqId=4 (seqId=9)"
    d.feed(books("update", [("10", "4")], [], seqId=10, prevSeqId=9), 7)  # dropped while resyncing
    d.feed(books("snapshot", [("10", "4")], [("11", "1")], seqId=20, prevSeqId=-1), 8)
    assert h.state == FeedState.LIVE and h.resyncs == 1 and d.books[KEY].best_bid() == (10.0, 4.0)


def test_contract_size_scales_engine_sizes_not_checksum_strings() -> None:
    inst = Instrument("okx", "BTC-USDT-SWAP", kind=ContractKind.LINEAR, contract_size=0.01)
    d = driver(inst)
    d.keep_events = True
    d.feed(
        books(
            "snapshot",
            [("100", "250")],
            [("101", "3")],
            signed_crc("100:250:101:3"),
            inst="BTC-USDT-SWAP",
        ),
        1,
    )
    assert d.health[inst.key].state == FeedState.LIVE
    assert d.books[inst.key].best_bid() == (100.0, 2.5) and d.books[inst.key].best_ask() == (
        101.0,
        0.03,
    )
    (trade,) = d.protocol.decode(
        '{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","tradeId":"7","px":"100.5","sz":"40","side":"sell","ts":"1652459199958"}]}',
        5,
    )
    assert trade.payload == Trade(
        inst.key, 1652459199958_000000, 5, 100.5, 0.4, Aggressor.SELL, "7"
    )
    (oi,) = d.protocol.decode(
        '{"arg":{"channel":"open-interest","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","oi":"5000","oiCcy":"50","ts":"1652459199000"}]}',
        6,
    )
    assert oi.payload == OpenInterest(inst.key, 1652459199000_000000, 6, 50.0)


def test_decode_events_and_errors() -> None:
    proto = OkxProtocol()
    proto.new_sync(Instrument("okx", "BTC-USDT"), SymbolHealth(KEY))
    ack = proto.decode('{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}', 1)[0]
    assert ack.kind is MsgKind.CONTROL and ack.payload["channel"] == "books"
    err = proto.decode(
        '{"event":"error","code":"60012","msg":"Invalid request: \\u001b]0;x\\u0007{\\"op\\"}"}', 1
    )[0]
    assert err.kind is MsgKind.ERROR and err.payload == 'okx: error 60012 Invalid request: {"op"}'
    assert (
        proto.decode('{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[]}', 1)[0].kind
        is MsgKind.IGNORED
    )
    assert proto.decode(books("update", [], [], inst="ETH-USDT"), 1)[0].kind is MsgKind.IGNORED


@pytest.mark.parametrize(
    ("frame", "book"),
    [
        ("{", False),
        ('"pong2"', False),
        ('{"data":[]}', False),
        (books("update", [("x", "1")], []), True),
        (books("update", [("1", "-2")], []), True),
        (books("update", [("1", "1e999")], []), True),
        (books("resend", [], []), True),
        (books("update", [], [], checksum="12"), True),  # type: ignore[arg-type]
        (books("update", [], [], seqId="abc"), True),
        ('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}', True),
        (
            '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"bids":[],"asks":[],"ts":"x"}]}',
            True,
        ),
        (
            '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"px":"1","sz":"1","side":"up","ts":"1","tradeId":"1"}]}',
            False,
        ),
    ],
)
def test_malformed_frames_raise_bad_message(frame: str, book: bool) -> None:
    proto = OkxProtocol()
    proto.new_sync(Instrument("okx", "BTC-USDT"), SymbolHealth(KEY))
    with pytest.raises(BadMessage) as info:
        proto.decode(frame, 1)
    assert info.value.key == (KEY if book else "")


def test_fuzzed_frames_route_or_raise_bad_message(fuzz) -> None:
    samples = [
        books(
            "snapshot", [("10", "1")], [("11", "1")], signed_crc("10:1:11:1"), seqId=5, prevSeqId=-1
        ),
        books("update", [("10", "2")], [("12", "0")], 0, seqId=6, prevSeqId=5),
        '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"7849","px":"30218.8","sz":"1","side":"buy","ts":"1652459199958"}]}',
        '{"event":"error","code":"60012","msg":"x"}',
    ]
    fuzz(
        OkxProtocol,
        samples,
        lambda p: {KEY: p.new_sync(Instrument("okx", "BTC-USDT"), SymbolHealth(KEY))},
    )


# -- conformance on the real capture --------------------------------------------


def capture_driver() -> OfflineDriver:
    return OfflineDriver(OkxProtocol(), [Instrument("okx", s) for s in INSTS])


@needs_data
def test_capture_all_290_checksums_verify(frames, books_equal) -> None:
    d = capture_driver()
    clean = frames(CAPTURE)
    d.feed_all(clean)
    checksummed = sum(
        1
        for _, p in clean
        if '"channel":"books"' in p and '"checksum":' in p and '"checksum":0' not in p
    )
    assert checksummed == 290
    assert sum(s.checksums_verified for s in d.syncs.values()) == 290
    assert not d.bad and not d.errors and not d.resubscribes
    for key, h in d.health.items():
        assert (h.state, h.gaps, h.checksum_failures, h.crossed) == (FeedState.LIVE, 0, 0, 0)
        # The engine book fed with the sync's events equals the sync's own string book.
        bids, asks = d.syncs[key].book.float_levels()
        assert dict(d.books[key].bids) == dict(bids) and dict(d.books[key].asks) == dict(asks)
    assert d.kinds[MsgKind.EVENT] == 74  # trades


def _updates(frames_: list, inst: str) -> list[int]:
    return [
        i
        for i, (_, p) in enumerate(frames_)
        if f'"channel":"books","instId":"{inst}"}},"action":"update"' in p
    ]


def _snapshot_from(d: OfflineDriver, key: str, inst: str, ts_frame: str) -> str:
    sync = d.syncs[key]
    bids = [sync.book.bids[p] for p in reversed(sync.book.bids.keys())]
    asks = [sync.book.asks[p] for p in sync.book.asks.keys()]
    ts = orjson.loads(ts_frame)["data"][0]["ts"]
    return books("snapshot", bids, asks, okx_checksum(bids[:25], asks[:25]), inst=inst, ts=int(ts))


@needs_data
@pytest.mark.parametrize("mutation", ["drop", "reorder", "corrupt"])
def test_capture_mutations_fail_the_checksum_and_recover(
    mutation: str, frames, books_equal
) -> None:
    inst, key = "BTC-USDT", "okx:BTC-USDT"
    clean = frames(CAPTURE)
    idx = _updates(clean, inst)
    i, i2, j = idx[30], idx[31], idx[50]
    mutated = list(clean)
    if mutation == "drop":
        del mutated[i]
    elif mutation == "reorder":
        mutated[i], mutated[i2] = clean[i2], clean[i]
    else:
        msg = orjson.loads(clean[i][1])
        side = msg["data"][0]["bids"] or msg["data"][0]["asks"]
        best = (
            max(side, key=lambda lv: float(lv[0]))
            if side is msg["data"][0]["bids"]
            else min(side, key=lambda lv: float(lv[0]))
        )
        best[1] = str(float(best[1]) + 1)  # a valid but wrong size
        mutated[i] = (clean[i][0], orjson.dumps(msg).decode())
    ref = capture_driver()
    ref.feed_all(clean[: j + 1])
    snapshot = _snapshot_from(ref, key, inst, clean[j][1])
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


def _with_seq_ids(clean: list) -> list:
    """The capture predates seqId: number its books messages (step 3, snapshots prevSeqId=-1)."""
    last: dict[str, int] = {}
    out = []
    for recv_ns, p in clean:
        if '"channel":"books"' in p and '"action"' in p:
            msg = orjson.loads(p)
            inst = msg["arg"]["instId"]
            prev = -1 if msg["action"] == "snapshot" else last[inst]
            last[inst] = (prev if prev > 0 else 1000) + 3
            msg["data"][0]["prevSeqId"], msg["data"][0]["seqId"] = prev, last[inst]
            p = orjson.dumps(msg).decode()
        out.append((recv_ns, p))
    return out


@needs_data
def test_capture_with_seq_ids_detects_a_duplicate_that_checksums_cannot(
    frames, books_equal
) -> None:
    clean = frames(CAPTURE)
    i = _updates(clean, "BTC-USDT")[30]
    # Without seqIds, a duplicated update is a no-op (absolute sizes): the checksum keeps passing.
    d = capture_driver()
    d.feed_all(clean[: i + 1] + [clean[i]] + clean[i + 1 :])
    assert all(h.state == FeedState.LIVE and h.checksum_failures == 0 for h in d.health.values())
    # With the seqId chain the duplicate is a gap.
    seq = _with_seq_ids(clean)
    d = capture_driver()
    d.feed_all(seq)
    assert all(h.state == FeedState.LIVE and h.gaps == 0 for h in d.health.values())
    assert sum(s.checksums_verified for s in d.syncs.values()) == 290
    d = capture_driver()
    d.feed_all(seq[: i + 1] + [seq[i]])
    h = d.health["okx:BTC-USDT"]
    assert h.state == FeedState.RESYNCING and h.gaps == 1 and h.checksum_failures == 0


def test_refusal_is_attributed_to_the_named_inst_id_only() -> None:
    proto = OkxProtocol()
    for s in ("BTC-USDT", "BTC-USDT-SWAP"):
        proto.new_sync(Instrument("okx", s), SymbolHealth(f"okx:{s}"))
    routed = proto.decode(
        '{"event":"error","code":"60018","msg":"Wrong URL or channel:books,instId:BTC-USDT doesn\'t exist.","connId":"a"}',
        1,
    )
    assert [(r.kind, r.key) for r in routed] == [(MsgKind.ERROR, "okx:BTC-USDT")]
    generic = proto.decode('{"event":"error","code":"60012","msg":"Invalid request"}', 1)
    assert [(r.kind, r.key) for r in generic] == [(MsgKind.ERROR, "")]
