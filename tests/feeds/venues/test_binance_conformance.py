"""Binance adapters against real captures: decode -> sync -> Book, checked by bookTicker.

After every applied depth event the book's best bid and ask (price and size)
must equal the latest ``bookTicker`` with ``u <= event.u`` (PROTOCOLS.md §1,
"extra oracle"). Mutated copies of the captures (a depth message dropped,
duplicated, two swapped, a level corrupted) must be detected, take the symbol
to RESYNCING, and give a correct book again after a fresh snapshot.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import orjson
import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, StatusChange
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.captures import CaptureRecord, merged, read_capture
from tapescope.feeds.venues.base import BadMessage, MsgKind
from tapescope.feeds.venues.binance import BinanceSpotProtocol, BinanceUsdmProtocol

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared capture data not found at {DATA}")

SPOT = ("binance_spot/btcusdt_20240808.gz",)
USDM = ("binance_usdm/btcusdt_20240808.gz",)
CF = ("binance_usdm/BINANCE_FUTURES.ws.1.0", "binance_usdm/BINANCE_FUTURES.http.0.0")

#: (capture files, protocol class, applied depth events per market key,
#: checked events whose oracle ticker is newer than the snapshot, where SOURCES.md counts those).
CASES = {
    "spot": (SPOT, BinanceSpotProtocol, {"binance-spot:BTCUSDT": 3449}, None),
    "usdm": (USDM, BinanceUsdmProtocol, {"binance-usdm:BTCUSDT": 6547}, None),
    "cryptofeed-usdm": (
        CF,
        BinanceUsdmProtocol,
        # Independently counted: 764 depth events minus those older than each snapshot.
        {"binance-usdm:SUSHIUSDT": 252, "binance-usdm:AKROUSDT": 188, "binance-usdm:KEEPUSDT": 132,
         "binance-usdm:CTKUSDT": 180},
        731,
    ),
}

_cache: dict[str, list[CaptureRecord]] = {}


def records(name: str) -> list[CaptureRecord]:
    """The capture's records, merged by time, cached across tests."""
    if name not in _cache:
        files = CASES[name][0]
        _cache[name] = [r for r in merged(*(read_capture(DATA / f) for f in files)) if r.kind in ("recv", "http")]
    return _cache[name]


@dataclass
class Run:
    """Outcome of one replay."""

    health: dict[str, SymbolHealth]
    applied: dict[str, int] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    matched: dict[str, int] = field(default_factory=dict)
    fresh: dict[str, int] = field(default_factory=dict)
    """Checked events whose oracle ticker is newer than the snapshot (how SOURCES.md counts the cryptofeed capture)."""
    states: dict[str, list[FeedState]] = field(default_factory=dict)
    malformed: int = 0
    chain_breaks: int = 0
    snapshots: dict[str, int] = field(default_factory=dict)
    books: dict[str, Book] = field(default_factory=dict)


_tickers: dict[str, dict] = {}


def tickers_for(name: str) -> dict[str, tuple[list[int], list[tuple]]]:
    """Cached :func:`ticker_index` of a capture."""
    if name not in _tickers:
        _tickers[name] = ticker_index(records(name), CASES[name][1]())
    return _tickers[name]


def ticker_index(recs: list[CaptureRecord], proto) -> dict[str, tuple[list[int], list[tuple]]]:
    """Every bookTicker per market, sorted by ``u``: (u list, (bid, bidqty, ask, askqty) list)."""
    per: dict[str, list[tuple[int, tuple]]] = {}
    for r in recs:
        if r.kind != "recv" or "bookTicker" not in r.data:
            continue
        (routed,) = proto.decode(r.data, r.recv_ns)
        assert routed.kind is MsgKind.IGNORED
        t = routed.payload
        per.setdefault(routed.key, []).append((t["u"], (t["b"], t["B"], t["a"], t["A"])))
    out = {}
    for key, items in per.items():
        items.sort(key=lambda x: x[0])
        out[key] = ([u for u, _ in items], [top for _, top in items])
    return out


def snapshot_symbol(rec: CaptureRecord) -> str | None:
    """Venue symbol of an http record (None for the single-symbol hftbacktest files)."""
    if not rec.url:
        return None
    return parse_qs(urlparse(rec.url).query)["symbol"][0]


#: Callback serving a fresh REST snapshot body: (market key, index of the record just fed) -> bytes.
Serve = Callable[[str, int], bytes]


def replay(
    recs: list[CaptureRecord],
    proto,
    tickers,
    serve: Serve | None = None,
    keep_books_at: set[int] | None = None,
    stop_after: int | None = None,
) -> Run:
    """Feed records through decode -> sync -> Book, checking the oracle after each delta.

    Args:
        serve: answers snapshot requests after the first (the capture holds only one per symbol).
        keep_books_at: record indices after which to copy each book (reference states).
        stop_after: stop after this record index.
    """
    syncs: dict[str, object] = {}
    run = Run(health={})
    pending: set[str] = set()
    snap_id: dict[str, int] = {}
    kept: dict[int, dict[str, tuple[int, list, list]]] = {}

    def sync_for(key: str):
        if key not in syncs:
            inst = Instrument(proto.venue, key.split(":", 1)[1])
            h = SymbolHealth(key)
            run.health[key] = h
            syncs[key] = proto.new_sync(inst, h)
            run.books[key] = Book()
            run.states[key] = []
            for d in (run.applied, run.checked, run.matched, run.fresh, run.snapshots):
                d[key] = 0
        return syncs[key]

    def handle(key: str, out) -> None:
        book = run.books[key]
        if out.need_snapshot:
            pending.add(key)
        for ev in out.events:
            if isinstance(ev, BookSnapshot):
                book.apply_snapshot(ev.bids, ev.asks, ev.seq)
                run.snapshots[key] += 1
                snap_id[key] = ev.seq
            elif isinstance(ev, BookDelta):
                book.apply_delta(ev.bids, ev.asks, ev.seq)
                run.applied[key] += 1
                us, tops = tickers.get(key, ([], []))
                i = bisect.bisect_right(us, ev.seq) - 1
                if i >= 0:
                    run.checked[key] += 1
                    b, bq, a, aq = tops[i]
                    if book.best_bid() == (b, bq) and book.best_ask() == (a, aq):
                        run.matched[key] += 1
                        run.fresh[key] += us[i] > snap_id[key]
            elif isinstance(ev, StatusChange):
                if not run.states[key] or run.states[key][-1] != ev.state:
                    run.states[key].append(ev.state)

    for idx, r in enumerate(recs):
        if r.kind == "http":
            sym = snapshot_symbol(r)
            key = f"{proto.venue}:{sym}" if sym else next(iter(syncs))
            pending.discard(key)
            handle(key, sync_for(key).on_rest_snapshot(r.data.encode(), r.recv_ns))
        else:
            try:
                routed = proto.decode(r.data, r.recv_ns)
            except BadMessage:
                run.malformed += 1
                continue
            for m in routed:
                if m.kind is not MsgKind.DEPTH:
                    continue
                sync = sync_for(m.key)
                gaps = sync.health.gaps
                handle(m.key, sync.on_depth(m.payload, r.recv_ns))
                run.chain_breaks += sync.health.gaps - gaps
                if serve is not None and m.key in pending and run.snapshots[m.key] > 0:
                    pending.discard(m.key)
                    handle(m.key, sync.on_rest_snapshot(serve(m.key, idx), r.recv_ns))
        if keep_books_at and idx in keep_books_at:
            kept[idx] = {
                k: (s.last_update_id, list(run.books[k].bids.items()), list(run.books[k].asks.items()))
                for k, s in syncs.items()
            }
        if stop_after is not None and idx >= stop_after:
            break
    run.kept = kept  # type: ignore[attr-defined]
    return run


@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(CASES))
def test_clean_capture_matches_book_ticker_on_every_event(name: str) -> None:
    files, proto_cls, expected, fresh = CASES[name]
    proto = proto_cls()
    recs = records(name)
    run = replay(recs, proto, tickers_for(name))
    assert run.applied == expected
    # The illiquid symbols have a few events before their first ticker; all others are checked.
    assert sum(run.applied.values()) - sum(run.checked.values()) == (8 if name == "cryptofeed-usdm" else 0)
    assert run.matched == run.checked, "book top equals the latest bookTicker with u <= event.u"
    if fresh is not None:
        assert sum(run.fresh.values()) == fresh
    for key, h in run.health.items():
        assert h.state is FeedState.LIVE, (key, h.reason)
        assert (h.gaps, h.resyncs, h.malformed) == (0, 0, 0)
        assert run.states[key] == [FeedState.SYNCING, FeedState.LIVE]
        assert run.snapshots[key] == 1
        run.books[key]._check()
    assert run.malformed == 0 and run.chain_breaks == 0


@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(CASES))
def test_capture_id_chains_are_unbroken(name: str) -> None:
    """Independent of the sync: every symbol's depth events chain (pu on futures, U on spot)."""
    futures = CASES[name][1] is BinanceUsdmProtocol
    prev: dict[str, int] = {}
    links = 0
    for r in records(name):
        if r.kind != "recv" or "depthUpdate" not in r.data:
            continue
        d = orjson.loads(r.data)["data"]
        sym = d["s"]
        if sym in prev:
            assert (d["pu"] == prev[sym]) if futures else (d["U"] == prev[sym] + 1), (sym, d["U"], d["u"])
            links += 1
        prev[sym] = d["u"]
    assert links == {"spot": 3450, "usdm": 6550, "cryptofeed-usdm": 760}[name]


def _depth_indices(recs: list[CaptureRecord], key_symbol: str) -> list[int]:
    return [i for i, r in enumerate(recs) if r.kind == "recv" and "depthUpdate" in r.data and f'"s":"{key_symbol}"' in r.data]


#: (capture, market symbol, which depth message to mutate (index among that symbol's depth events)).
MUTATION_TARGETS = [("spot", "BTCUSDT", 40), ("usdm", "BTCUSDT", 60), ("cryptofeed-usdm", "SUSHIUSDT", 30)]
#: Depth events replayed after the mutation (keeps the mutated runs short).
WINDOW = 400


def _mutate(recs: list[CaptureRecord], kind: str, i: int, j: int) -> list[CaptureRecord]:
    """A mutated copy: ``i`` and ``j`` are record indices of consecutive depth events of one symbol."""
    out = list(recs)
    if kind == "drop":
        del out[i]
    elif kind == "duplicate":
        out.insert(i + 1, recs[i])
    elif kind == "reorder":
        out[i], out[j] = recs[j], recs[i]
    else:
        obj = orjson.loads(recs[i].data)
        side = "b" if obj["data"]["b"] else "a"
        obj["data"][side][0][1 if kind == "negative" else 0] = "-1.5" if kind == "negative" else "12x.4"
        out[i] = recs[i]._replace(data=orjson.dumps(obj).decode())
    return out


@pytest.mark.shared_data
@pytest.mark.parametrize("mutation", ["drop", "duplicate", "reorder", "negative", "non-numeric"])
@pytest.mark.parametrize("target", MUTATION_TARGETS, ids=lambda t: t[0])
def test_mutated_capture_is_detected_and_recovered(target, mutation: str) -> None:
    name, symbol, nth = target
    proto_cls = CASES[name][1]
    recs = records(name)
    depth = _depth_indices(recs, symbol)
    i, j = depth[nth], depth[nth + 1]
    span = min(WINDOW, len(depth) - nth - 1)
    stop = depth[nth + span]
    key = f"{proto_cls.venue}:{symbol}"
    # Reference states from a clean run, after every depth record of the symbol in the window.
    proto = proto_cls()
    tickers = tickers_for(name)
    window = set(depth[nth - 2 : nth + span + 1])
    clean = replay(recs, proto, tickers, keep_books_at=window, stop_after=stop)
    ref_by_u = {}
    for idx in sorted(window):
        lid, bids, asks = clean.kept[idx][key]
        ref_by_u[lid] = (bids, asks)

    mutated = _mutate(recs, mutation, i, j)
    shift = len(mutated) - len(recs)
    proto = proto_cls()

    def serve(k: str, idx: int) -> bytes:
        # A REST snapshot taken "now": the true book right after the clean event whose u
        # equals the u of the depth message just received.
        assert k == key
        u = orjson.loads(mutated[idx].data)["data"]["u"]
        bids, asks = ref_by_u[u]
        return orjson.dumps(
            {"lastUpdateId": u, "bids": [[repr(p), repr(q)] for p, q in bids], "asks": [[repr(p), repr(q)] for p, q in asks]}
        )

    run = replay(mutated, proto, tickers, serve=serve, stop_after=stop + shift)
    h = run.health[key]
    if mutation in ("negative", "non-numeric"):
        assert run.malformed == 1, "the corrupted level is refused as BadMessage"
    else:
        assert run.malformed == 0
    assert h.gaps >= 1, "the damage is detected as a gap"
    assert FeedState.RESYNCING in run.states[key]
    assert run.states[key][-1] is FeedState.LIVE, h.reason
    assert h.resyncs >= 1 and run.snapshots[key] == 1 + h.resyncs
    # Every delta applied while live, before and after the resync, matches the oracle;
    # the one possible exception is none: a resync never leaves a wrong book behind.
    assert run.matched[key] == run.applied[key] == run.checked[key]
    assert run.applied[key] >= span - 5
    run.books[key]._check()
    if mutation in ("drop", "duplicate", "negative", "non-numeric"):
        assert (h.gaps, h.resyncs) == (1, 1)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(CASES))
def test_capture_through_the_engine_market(name: str) -> None:
    """The same events drive the engine's Market: it ends LIVE, never crossed, same book."""
    from tapescope.engine.flow import FlowParams
    from tapescope.engine.market import Market

    proto = CASES[name][1]()
    recs = records(name)
    run = replay(recs, proto, tickers_for(name))
    markets: dict[str, Market] = {}
    syncs: dict[str, object] = {}
    for r in recs:
        if r.kind == "http":
            sym = snapshot_symbol(r)
            key = f"{proto.venue}:{sym}" if sym else next(iter(syncs))
            outs = [(key, syncs[key].on_rest_snapshot(r.data.encode(), r.recv_ns))]
        else:
            outs = []
            for m in proto.decode(r.data, r.recv_ns):
                if m.kind is MsgKind.EVENT and m.key in markets:
                    markets[m.key].on_event(m.payload)
                elif m.kind is MsgKind.DEPTH:
                    if m.key not in syncs:
                        inst = Instrument(proto.venue, m.key.split(":", 1)[1])
                        syncs[m.key] = proto.new_sync(inst, SymbolHealth(m.key))
                        markets[m.key] = Market(inst, FlowParams())
                    outs.append((m.key, syncs[m.key].on_depth(m.payload, r.recv_ns)))
        for key, out in outs:
            for ev in out.events:
                markets[key].on_event(ev)
    assert set(markets) == set(run.books)
    for key, market in markets.items():
        assert market.state is FeedState.LIVE and market.crossed == 0
        assert market.flow.trades > 0
        assert dict(market.book.bids) == dict(run.books[key].bids)
        assert dict(market.book.asks) == dict(run.books[key].asks)
