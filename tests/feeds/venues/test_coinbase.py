"""Coinbase Advanced Trade adapter: connection sequence gaps, level2 sync, trade side, capture conformance."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tapescope.engine.events import Aggressor, BookDelta, BookSnapshot, FeedState, Trade
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import BadMessage, MsgKind
from tapescope.feeds.venues.coinbase import CoinbaseGap, CoinbaseProtocol
from tapescope.feeds.venues.offline import OfflineDriver

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "coinbase").is_dir(), reason=f"real captures not found at {DATA}"
)
CAPTURE = "coinbase/COINBASE.jsonl"
PRODUCTS = ["BTC-USD", "ETH-USD"]
BTC, ETH = "coinbase:BTC-USD", "coinbase:ETH-USD"
TS = "2026-08-09T21:05:48.483587501Z"


def l2(seq: int, kind: str, product: str, levels: list[tuple[str, str, str]]) -> str:
    updates = [
        {
            "side": s,
            "event_time": "2026-08-09T21:05:48.170326Z",
            "price_level": p,
            "new_quantity": q,
        }
        for s, p, q in levels
    ]
    return orjson.dumps(
        {
            "channel": "l2_data",
            "timestamp": TS,
            "sequence_num": seq,
            "events": [{"type": kind, "product_id": product, "updates": updates}],
        }
    ).decode()


def hb(seq: int) -> str:
    return f'{{"channel":"heartbeats","timestamp":"{TS}","sequence_num":{seq},"events":[{{"current_time":"x","heartbeat_counter":1}}]}}'


def driver() -> OfflineDriver:
    return OfflineDriver(CoinbaseProtocol(), [Instrument("coinbase", p) for p in PRODUCTS])


def live_driver() -> OfflineDriver:
    d = driver()
    d.feed(l2(0, "snapshot", "BTC-USD", [("bid", "100.00", "1"), ("offer", "100.50", "2")]), 1)
    d.feed(l2(1, "snapshot", "ETH-USD", [("bid", "10.00", "1"), ("offer", "10.50", "2")]), 2)
    return d


def test_subscribe_frames_include_heartbeats() -> None:
    proto = CoinbaseProtocol()
    frames = [orjson.loads(f) for f in proto.subscribe_frames(PRODUCTS)]
    assert [(f["type"], f["channel"], f["product_ids"]) for f in frames] == [
        ("subscribe", "heartbeats", PRODUCTS),
        ("subscribe", "level2", PRODUCTS),
        ("subscribe", "market_trades", PRODUCTS),
    ]
    assert [
        (orjson.loads(f)["type"], orjson.loads(f)["channel"])
        for f in proto.resubscribe_frames(["BTC-USD"])
    ] == [
        ("unsubscribe", "level2"),
        ("subscribe", "level2"),
    ]
    assert proto.app_ping_frame() is None and proto.app_ping_interval_s == 0.0


def test_snapshot_updates_and_absolute_quantities() -> None:
    d = driver()
    d.keep_events = True
    d.feed(l2(0, "update", "BTC-USD", [("bid", "99", "1")]), 1)  # before the snapshot: dropped
    assert d.books[BTC].depth() == (0, 0)
    d = live_driver()
    d.keep_events = True
    d.feed(
        l2(
            2,
            "update",
            "BTC-USD",
            [("bid", "100.00", "3"), ("offer", "100.50", "0"), ("offer", "100.75", "1.5")],
        ),
        3,
    )
    assert dict(d.books[BTC].bids) == {100.0: 3.0} and dict(d.books[BTC].asks) == {100.75: 1.5}
    assert d.events[-1] == BookDelta(
        BTC, 1786309548483587501, 3, [(100.0, 3.0)], [(100.5, 0.0), (100.75, 1.5)], 2
    )
    assert all(h.state == FeedState.LIVE for h in d.health.values())


@pytest.mark.parametrize("seq", [5, 2, 1])  # skipped ahead, repeated, backwards
def test_connection_sequence_gap_resyncs_every_book(seq: int) -> None:
    d = live_driver()
    d.feed(hb(2), 3)
    d.feed(hb(seq if seq != 2 else 2), 4)
    for key in (BTC, ETH):
        h = d.health[key]
        assert (h.state, h.gaps) == (FeedState.RESYNCING, 1)
        assert h.reason == f"connection gap: sequence_num={seq}, expected 3"
    assert sorted(k for _, k in d.resubscribes) == [BTC, ETH] and d.protocol.gaps == 1
    # Fresh snapshots after the resubscribe bring each book back.
    d.feed(l2(6, "snapshot", "BTC-USD", [("bid", "1", "1")]), 5)
    assert (
        d.health[BTC].state == FeedState.LIVE
        and d.health[BTC].resyncs == 1
        and d.health[ETH].state == FeedState.RESYNCING
    )


def test_gap_is_routed_before_the_frame_content_and_zero_restarts_the_count() -> None:
    proto = CoinbaseProtocol()
    for p in PRODUCTS:
        proto.new_sync(Instrument("coinbase", p), SymbolHealth(f"coinbase:{p}"))
    proto.decode(hb(7), 1)
    routed = proto.decode(l2(9, "snapshot", "BTC-USD", [("bid", "1", "1")]), 2)
    assert [type(r.payload) for r in routed] == [CoinbaseGap, CoinbaseGap, type(routed[-1].payload)]
    assert (
        routed[0].payload == CoinbaseGap(8, 9, 1786309548483587501) and routed[-1].payload.snapshot
    )
    # A new connection's count starts at 0: not a gap.
    assert [r.kind for r in proto.decode(hb(0), 3)] == [MsgKind.CONTROL]
    assert [r.kind for r in proto.decode(hb(1), 4)] == [MsgKind.CONTROL]
    assert proto.gaps == 1 and proto.last_seq == 1


def test_reorder_counts_two_gaps_and_malformed_frame_is_not_a_gap() -> None:
    d = live_driver()
    d.feed(hb(3), 3)  # 2 arrives late
    d.feed(hb(2), 4)
    d.feed(hb(4), 5)  # back on the count: no further gap
    assert d.health[BTC].gaps == 2 and d.protocol.gaps == 2
    d = live_driver()
    d.feed(l2(2, "update", "BTC-USD", [("bid", "100", "x")]), 3)
    d.feed(hb(3), 4)
    assert (d.health[BTC].state, d.health[BTC].malformed, d.health[BTC].gaps) == (
        FeedState.RESYNCING,
        1,
        0,
    )
    assert d.health[ETH].state == FeedState.LIVE and d.protocol.gaps == 0


def test_trades_use_the_opposite_of_the_maker_side() -> None:
    proto = CoinbaseProtocol()
    proto.new_sync(Instrument("coinbase", "BTC-USD"), SymbolHealth(BTC))
    frame = (
        '{"channel":"market_trades","timestamp":"2026-08-09T21:05:48.251397169Z","sequence_num":9,"events":[{"type":"update","trades":['
        '{"product_id":"BTC-USD","trade_id":"1068572091","price":"65083.67","size":"0.01034361","time":"2026-08-09T21:05:48.167634Z","side":"SELL"},'
        '{"product_id":"BTC-USD","trade_id":"1068572092","price":"65083.66","size":"0.5","time":"2026-08-09T21:05:48.2Z","side":"BUY"}]}]}'
    )
    assert [r.payload for r in proto.decode(frame, 3)] == [
        Trade(BTC, 1786309548167634000, 3, 65083.67, 0.01034361, Aggressor.BUY, "1068572091"),
        Trade(BTC, 1786309548200000000, 3, 65083.66, 0.5, Aggressor.SELL, "1068572092"),
    ]
    snap = frame.replace('"sequence_num":9', '"sequence_num":10').replace(
        '"type":"update"', '"type":"snapshot"'
    )
    assert [r.kind for r in proto.decode(snap, 4)] == [MsgKind.IGNORED]


def test_errors_and_controls() -> None:
    proto = CoinbaseProtocol()
    err = proto.decode(
        '{"type":"error","message":"failure to subscribe\\u001b[?25l","reason":"product not found\\r\\nX"}',
        1,
    )[0]
    assert (
        err.kind is MsgKind.ERROR
        and err.payload == "coinbase: error: failure to subscribe product not found X"
    )
    ack = proto.decode(
        f'{{"channel":"subscriptions","timestamp":"{TS}","sequence_num":0,"events":[{{"subscriptions":{{"level2":["BTC-USD"]}}}}]}}',
        2,
    )[0]
    assert ack.kind is MsgKind.CONTROL
    assert (
        proto.decode(f'{{"channel":"ticker","timestamp":"{TS}","sequence_num":1,"events":[]}}', 3)[
            0
        ].kind
        is MsgKind.IGNORED
    )


@pytest.mark.parametrize(
    ("frame", "book"),
    [
        ("{{", False),
        ('{"channel":"l2_data","timestamp":"' + TS + '","events":[]}', False),  # no sequence_num
        ('{"channel":"l2_data","timestamp":"later","sequence_num":1,"events":[]}', False),
        ('{"channel":"l2_data","timestamp":"' + TS + '","sequence_num":1,"events":{}}', False),
        (l2(1, "update", "BTC-USD", [("bid", "abc", "1")]), True),
        (l2(1, "update", "BTC-USD", [("bid", "1", "-1")]), True),
        (l2(1, "update", "BTC-USD", [("ask", "1", "1")]), True),
        (l2(1, "delta", "BTC-USD", []), True),
        (l2(1, "update", "BTC-USD", [("bid", "Infinity", "1")]), True),
    ],
)
def test_malformed_frames_raise_bad_message(frame: str, book: bool) -> None:
    proto = CoinbaseProtocol()
    proto.new_sync(Instrument("coinbase", "BTC-USD"), SymbolHealth(BTC))
    with pytest.raises(BadMessage) as info:
        proto.decode(frame, 1)
    assert info.value.key == (BTC if book else "")


def test_fuzzed_frames_route_or_raise_bad_message(fuzz) -> None:
    samples = [
        l2(0, "snapshot", "BTC-USD", [("bid", "100.00", "1"), ("offer", "100.50", "2")]),
        l2(1, "update", "BTC-USD", [("bid", "100.00", "0")]),
        hb(2),
        '{"channel":"market_trades","timestamp":"2026-08-09T21:05:48.251397169Z","sequence_num":3,"events":[{"type":"update","trades":[{"product_id":"BTC-USD","trade_id":"1","price":"65083.67","size":"0.01","time":"2026-08-09T21:05:48.167634Z","side":"SELL"}]}]}',
        '{"type":"error","message":"x"}',
    ]
    fuzz(
        CoinbaseProtocol,
        samples,
        lambda p: {BTC: p.new_sync(Instrument("coinbase", "BTC-USD"), SymbolHealth(BTC))},
    )


# -- conformance on the real capture --------------------------------------------


@needs_data
def test_capture_has_no_sequence_gap_and_the_book_never_crosses(frames) -> None:
    clean = frames(CAPTURE)
    assert [orjson.loads(p)["sequence_num"] for _, p in clean] == list(range(len(clean)))
    d = driver()
    d.keep_events = True
    for recv_ns, payload in clean:
        d.feed(payload, recv_ns)
        for key, book in d.books.items():
            assert not book.is_crossed(), key
    assert d.protocol.gaps == 0 and not d.bad and not d.errors and not d.resubscribes
    assert all((h.state, h.gaps, h.crossed) == (FeedState.LIVE, 0, 0) for h in d.health.values())
    kinds = [type(e) for e in d.events]
    assert kinds.count(BookSnapshot) == 2 and kinds.count(BookDelta) == 773


@needs_data
def test_capture_trade_side_is_the_taker_side(frames) -> None:
    """Every print at a touch agrees with its aggressor: buys lift the ask, sells hit the bid."""
    d = driver()
    agree = disagree = 0
    for recv_ns, payload in frames(CAPTURE):
        for r in d.protocol.decode(payload, recv_ns):
            if r.kind is MsgKind.DEPTH:
                d._apply(r.key, d.syncs[r.key].on_depth(r.payload, recv_ns), recv_ns)
            elif r.kind is MsgKind.EVENT and d.books[r.key].best_bid():
                t, book = r.payload, d.books[r.key]
                at_ask, at_bid = t.price >= book.best_ask()[0], t.price <= book.best_bid()[0]
                if at_ask or at_bid:
                    if (at_ask and t.side == Aggressor.BUY) or (
                        at_bid and t.side == Aggressor.SELL
                    ):
                        agree += 1
                    else:
                        disagree += 1
    assert agree == 71 and disagree == 0


def _renumber(frames_: list, delta: int) -> list:
    out = []
    for recv_ns, p in frames_:
        msg = orjson.loads(p)
        msg["sequence_num"] += delta
        out.append((recv_ns, orjson.dumps(msg).decode()))
    return out


def _snapshot_frame(book, product: str, seq: int) -> str:
    levels = [("bid", repr(p), repr(q)) for p, q in book.bids.items()] + [
        ("offer", repr(p), repr(q)) for p, q in book.asks.items()
    ]
    return l2(seq, "snapshot", product, levels)


@needs_data
@pytest.mark.parametrize("mutation", ["drop", "duplicate", "reorder", "corrupt"])
def test_capture_mutations_are_detected_and_recovered(mutation: str, frames, books_equal) -> None:
    clean = frames(CAPTURE)
    l2_idx = [
        i
        for i, (_, p) in enumerate(clean)
        if p.startswith('{"channel":"l2_data"') and '"type":"update","product_id":"BTC-USD"' in p
    ]
    i, j = l2_idx[100], l2_idx[200]
    mutated = list(clean)
    if mutation == "drop":
        del mutated[i]
    elif mutation == "duplicate":
        mutated.insert(i + 1, clean[i])
    elif mutation == "reorder":
        mutated[i], mutated[i + 1] = clean[i + 1], clean[i]
    else:
        msg = orjson.loads(clean[i][1])
        msg["events"][0]["updates"][0]["new_quantity"] = "1.0.0"
        mutated[i] = (clean[i][0], orjson.dumps(msg).decode())
    hit = [BTC] if mutation == "corrupt" else [BTC, ETH]
    ref = driver()
    ref.feed_all(clean[: j + 1])
    seq_j = orjson.loads(clean[j][1])["sequence_num"]
    snaps = [
        (clean[j][0], _snapshot_frame(ref.books[k], k.split(":")[1], seq_j + 1 + n))
        for n, k in enumerate(hit)
    ]
    ref.feed_all(clean[j + 1 :])

    shift = len(mutated) - len(clean)
    d = driver()
    d.feed_all(mutated[: j + 1 + shift])
    for key in (BTC, ETH):
        h = d.health[key]
        if key in hit:
            assert (
                h.state == FeedState.RESYNCING
                and (h.malformed if mutation == "corrupt" else h.gaps) >= 1
            ), key
        else:
            assert h.state == FeedState.LIVE and h.gaps == 0
    assert sorted({k for _, k in d.resubscribes}) == hit
    d.feed_all(snaps)
    d.feed_all(_renumber(clean[j + 1 :], len(snaps)))
    assert d.protocol.gaps == {"drop": 1, "duplicate": 1, "reorder": 2, "corrupt": 0}[mutation]
    for key in (BTC, ETH):
        assert d.health[key].state == FeedState.LIVE and d.health[key].resyncs == (
            1 if key in hit else 0
        )
        assert books_equal(d.books[key], ref.books[key]), key


def test_refused_product_is_attributed_to_its_market() -> None:
    proto = CoinbaseProtocol()
    for p in PRODUCTS:
        proto.new_sync(Instrument("coinbase", p), SymbolHealth(f"coinbase:{p}"))
    routed = proto.decode(
        '{"type":"error","message":"failure to subscribe: unknown product ETH-USD"}', 1
    )
    assert [(r.kind, r.key) for r in routed] == [(MsgKind.ERROR, ETH)]
