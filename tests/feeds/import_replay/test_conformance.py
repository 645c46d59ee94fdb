"""Import then replay each capture in shared/data: the venue's own check holds on the replayed books.

Each capture is imported by ``tapescope import`` and played back by the feed
``tapescope replay`` builds (see ``conftest.py``). What must hold afterwards
is checked against counts and oracles computed by the independent raw readers:

* OKX: every message carrying a nonzero ``checksum`` verifies;
* Kraken v1: every update carrying ``"c"`` verifies, through the v1 replay decoder;
* Coinbase: ``sequence_num`` is continuous in the file, the replay sees no gap, the
  book never crosses, and snapshot/update counts equal the file's;
* Binance spot and USD-M: after every applied depth event the book's best bid and
  ask (price and size) equal the latest ``bookTicker`` with ``u <= event.u``;
* Bybit: ``u`` rises by one per topic, and the replayed books equal what the
  venue conformance driver computes from the same frames.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import Counter, defaultdict

import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Trade
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.replay import instruments_from_meta
from tapescope.feeds.venues.bybit import bybit_protocol
from tapescope.feeds.venues.kraken_v1 import KrakenV1Protocol
from tapescope.feeds.venues.offline import OfflineDriver

# -- OKX ------------------------------------------------------------------------------------


async def test_okx_every_checksum_verifies_after_import_and_replay(imported, tools) -> None:
    rel = tools.CAPTURES["okx"][0]
    checksummed = 0
    for _, payload in tools.raw_frames(rel):
        msg = json.loads(payload)
        if isinstance(msg, dict) and msg.get("arg", {}).get("channel") == "books":
            checksummed += sum(1 for d in msg.get("data", []) if d.get("checksum"))
    assert checksummed > 0
    sink = tools.Sink(lambda ev, book: book._check())
    decs = await tools.replay(imported("okx"), sink)
    per_market = {k: s.checksums_verified for d in decs for k, s in d.syncs.items()}
    assert sum(per_market.values()) == checksummed and len(per_market) == 3 and all(per_market.values())
    hs = tools.healths(decs)
    assert len(hs) == 3
    assert all((h.gaps, h.checksum_failures, h.crossed, h.resyncs, h.malformed) == (0,) * 5 for h in hs)


# -- Kraken v1 --------------------------------------------------------------------------------


async def test_kraken_v1_every_checksum_verifies_through_the_v1_replay_decoder(imported, tools) -> None:
    rel = tools.CAPTURES["kraken"][0]
    with_c = Counter()
    for _, payload in tools.raw_frames(rel):
        msg = json.loads(payload)
        if isinstance(msg, list) and str(msg[-2]).startswith("book-") and "c" in msg[-3]:
            with_c[msg[-1]] += 1
    path = imported("kraken")
    with Recording.open(path) as rec:
        assert set(rec.conn_ids()) == {"kraken#v1-0"}  # recorded as the v1 wire
        assert rec.venues == ["kraken"]
    sink = tools.Sink(lambda ev, book: book._check())
    decs = await tools.replay(path, sink)
    v1 = [d for d in decs if isinstance(d.protocol, KrakenV1Protocol)]
    assert len(v1) == 1
    verified = {k: s.checksums_verified for k, s in v1[0].syncs.items()}
    assert verified == {f"kraken:{pair}": n for pair, n in with_c.items()}
    assert sum(verified.values()) == sum(with_c.values()) > 4000
    assert all((h.gaps, h.checksum_failures, h.crossed, h.resyncs) == (0, 0, 0, 0) for h in v1[0].health.values())
    # The other decoders (the live v2 wire) saw nothing.
    assert all(h.messages == 0 for d in decs if d is not v1[0] for h in d.health.values())


# -- Coinbase ---------------------------------------------------------------------------------


async def test_coinbase_sequence_is_continuous_and_the_replayed_book_never_crosses(imported, tools) -> None:
    frames = tools.raw_frames(tools.CAPTURES["coinbase"][0])
    seqs = [json.loads(p)["sequence_num"] for _, p in frames]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    l2 = Counter()
    for _, p in frames:
        msg = json.loads(p)
        if msg.get("channel") == "l2_data":
            for e in msg["events"]:
                l2[e["type"]] += 1

    def not_crossed(ev, book: Book) -> None:
        assert not book.is_crossed(), ev

    sink = tools.Sink(not_crossed)
    decs = await tools.replay(imported("coinbase"), sink)
    assert decs[0].protocol.gaps == 0
    assert sink.count(BookSnapshot) == l2["snapshot"] > 0
    assert sink.count(BookDelta) == l2["update"] > 0
    assert all((h.gaps, h.crossed, h.resyncs, h.malformed) == (0, 0, 0, 0) for h in tools.healths(decs))
    assert {k for k in sink.books} == {"coinbase:BTC-USD", "coinbase:ETH-USD"}


# -- Binance: bookTicker oracle ----------------------------------------------------------------


def tickers(frames: list[tuple[str, str]]) -> dict[str, tuple[list[int], list[tuple[float, float, float, float]]]]:
    """``symbol -> (sorted u, matching (bid, bid qty, ask, ask qty))`` of every bookTicker."""
    rows: dict[str, list] = defaultdict(list)
    for _, payload in frames:
        msg = json.loads(payload)
        d = msg.get("data", msg)
        if msg.get("stream", "").endswith("@bookTicker"):
            rows[d["s"]].append((d["u"], (float(d["b"]), float(d["B"]), float(d["a"]), float(d["A"]))))
    out = {}
    for sym, r in rows.items():
        r.sort(key=lambda x: x[0])
        out[sym] = ([u for u, _ in r], [t for _, t in r])
    return out


def applied_depth_events(
    frames: list[tuple[str, str]], ids: dict[str, int], futures: bool, first_ticker: dict[str, int]
) -> tuple[Counter, Counter]:
    """Depth events a correct sync applies, per symbol (those past the REST snapshot id:
    futures keep ``u >= lastUpdateId``, spot ``u > lastUpdateId``), split into those with a
    bookTicker at or before them and those older than the symbol's first bookTicker."""
    comparable, early = Counter(), Counter()
    for _, payload in frames:
        d = json.loads(payload).get("data", {})
        if d.get("e") == "depthUpdate":
            lid = ids[d["s"]]
            if d["u"] >= lid if futures else d["u"] > lid:
                (comparable if d["u"] >= first_ticker[d["s"]] else early)[d["s"]] += 1
    return comparable, early


@pytest.mark.parametrize(("name", "futures"), [
    ("binance_spot", False), ("binance_usdm_cf", True), ("binance_usdm_hft", True),
])
async def test_binance_books_match_the_book_ticker_oracle(imported, tools, name: str, futures: bool) -> None:
    rel = tools.CAPTURES[name][0]
    frames = tools.raw_frames(rel)
    tick = tickers(frames)
    checked: Counter = Counter()
    before: Counter = Counter()

    def oracle(ev, book: Book) -> None:
        if not isinstance(ev, BookDelta):
            return
        sym = ev.symbol.split(":", 1)[1]
        us, tops = tick[sym]
        i = bisect_right(us, ev.seq) - 1
        if i < 0:
            before[sym] += 1  # no bookTicker yet: nothing to compare with
            return
        (bp, bq), (ap, aq) = book.best_bid(), book.best_ask()
        assert (bp, bq, ap, aq) == tops[i], (ev.symbol, ev.seq)
        checked[sym] += 1

    sink = tools.Sink(oracle)
    decs = await tools.replay(imported(name), sink)
    comparable, early = applied_depth_events(frames, tools.rest_depth(rel), futures, {s: us[0] for s, (us, _) in tick.items()})
    assert checked == comparable and before == early
    assert sum(comparable.values()) > 50 * sum(early.values())
    assert all((h.gaps, h.crossed, h.resyncs, h.malformed) == (0, 0, 0, 0) for h in tools.healths(decs))
    raw_trades = sum(1 for _, p in frames if '@trade"' in p or '@aggTrade"' in p)
    assert sink.count(Trade) == raw_trades


# -- Bybit ------------------------------------------------------------------------------------------


async def test_bybit_u_chain_and_replayed_books_equal_the_conformance_driver(imported, tools) -> None:
    frames = tools.raw_frames(tools.CAPTURES["bybit"][0])
    last_u: dict[str, int] = {}
    deltas = 0
    for _, p in frames:
        msg = json.loads(p)
        if str(msg.get("topic", "")).startswith("orderbook."):
            u = msg["data"]["u"]
            if msg["type"] == "delta":
                assert u == last_u[msg["topic"]] + 1, msg["topic"]
                deltas += 1
            last_u[msg["topic"]] = u
    prev: dict[str, int] = {}

    def chain(ev, book: Book) -> None:
        if isinstance(ev, BookDelta):
            assert ev.seq == prev[ev.symbol] + 1
        prev[ev.symbol] = ev.seq
        assert book.depth() == (200, 200)

    path = imported("bybit")
    sink = tools.Sink(chain)
    decs = await tools.replay(path, sink)
    assert sink.count(BookDelta) == deltas > 2000
    assert all((h.gaps, h.crossed, h.resyncs, h.malformed) == (0, 0, 0, 0) for h in tools.healths(decs))
    with Recording.open(path) as rec:
        conns = rec.conn_ids()
        insts = instruments_from_meta(rec)
    assert sorted(conns) == ["bybit-linear#0", "bybit-spot#0"]
    # The venue engineers' conformance driver, fed each connection's frames.
    by_conn = {"BYBIT.ws.2": "bybit-linear", "BYBIT.ws.3": "bybit-spot"}
    for conn, venue in by_conn.items():
        d = OfflineDriver(bybit_protocol(venue), [i for i in insts if i.venue == venue])
        for c, p in frames:
            if c == conn:
                d.feed(p, 0)
        assert d.books and not d.bad
        for key, book in d.books.items():
            assert dict(book.bids) == dict(sink.books[key].bids) and dict(book.asks) == dict(sink.books[key].asks)


# -- seeking in an imported Kraken v1 recording ------------------------------------------------------


@pytest.mark.parametrize("name", ["kraken", "bybit", "okx", "coinbase", "binance_usdm_cf"])
async def test_seek_in_an_imported_recording_then_play_on(imported, tools, name: str) -> None:
    """Seek two thirds in, play to the end: every book equals a full replay's, no check fails."""
    path = imported(name)
    whole = tools.Sink()
    await tools.replay(path, whole)
    with Recording.open(path) as rec:
        times = [m.recv_ns for m in rec.iter_messages()]
        markets = rec.symbols
        t = times[len(times) * 2 // 3]
        at_t = {s for s, recv_ns, _ in rec.checkpoints() if recv_ns <= t}
    sink = tools.Sink()
    decs = await tools.replay(path, sink, from_ns=t)
    # The seek loaded one checkpoint per market checkpointed by then, and deltas flowed after it.
    assert at_t and sink.count(BookSnapshot) >= len(at_t) and sink.count(BookDelta) > 0
    assert all((h.checksum_failures, h.gaps, h.resyncs, h.crossed) == (0, 0, 0, 0) for h in tools.healths(decs))
    if name == "kraken":
        v1 = next(d for d in decs if isinstance(d.protocol, KrakenV1Protocol))
        assert all(s.checksums_verified for s in v1.syncs.values())
    assert set(whole.books) == set(markets)
    assert {k: (dict(b.bids), dict(b.asks)) for k, b in sink.books.items()} == {
        k: (dict(b.bids), dict(b.asks)) for k, b in whole.books.items()
    }
