"""Import then replay every capture in shared/data through ``tapescope import`` and the replay engine path.

Each capture is imported by the real CLI command, then played back by the
feed the dashboard's replay mode builds (:func:`build_replay`: recorded
venues, instruments from the recording's meta, the venues' own parsers and
book syncs). What must hold afterwards is checked against counts and
oracles computed here by small independent readers of the raw files:

* OKX: every message carrying a nonzero ``checksum`` verifies (290 in SOURCES.md);
* Kraken v1: every update carrying ``"c"`` verifies (4,269), via the v1 replay decoder;
* Coinbase: ``sequence_num`` is continuous in the file, the replay sees no gap, the
  book never crosses, and snapshot/update counts equal the file's;
* Binance spot and USD-M: after every applied depth event the book's best bid and
  ask (price and size) equal the latest ``bookTicker`` with ``u <= event.u``;
* Bybit: ``u`` rises by one per topic, and the replayed books equal what the
  venue conformance driver computes from the same frames.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from bisect import bisect_right
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Event, Trade
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.capture_meta import grid_step
from tapescope.feeds.replay import instruments_from_meta
from tapescope.feeds.replay_venues import VenueDecoder
from tapescope.feeds.venues.bybit import bybit_protocol
from tapescope.feeds.venues.kraken_v1 import KrakenV1Protocol
from tapescope.feeds.venues.offline import OfflineDriver
from tapescope.tui.cli import app
from tapescope.tui.replay_cli import build_replay
from tapescope.tui.replay_config import ReplaySettings

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared capture data not found at {DATA}")

#: capture name -> (file under shared/data, --venue)
CAPTURES = {
    "okx": ("okx/OKX.ws.1.0", "okx"),
    "kraken": ("kraken/KRAKEN.ws.50.0", "kraken"),
    "coinbase": ("coinbase/COINBASE.jsonl", "coinbase"),
    "bybit": ("bybit/BYBIT.jsonl", "bybit"),
    "binance_spot": ("binance_spot/btcusdt_20240808.gz", "binance-spot"),
    "binance_usdm_cf": ("binance_usdm/BINANCE_FUTURES.ws.1.0", "binance-usdm"),
    "binance_usdm_hft": ("binance_usdm/btcusdt_20240808.gz", "binance-usdm"),
}


# -- independent raw readers (deliberately not the importer's capture readers) --------


def raw_frames(rel: str) -> list[tuple[str, str]]:
    """``(connection, payload)`` of every received frame, read with plain string splitting."""
    path = DATA / rel
    out: list[tuple[str, str]] = []
    if rel.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                payload = line.rstrip("\n").split(" ", 1)[1]
                if payload.startswith('{"stream"'):
                    out.append(("ws", payload))
    elif rel.endswith(".jsonl"):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if rec["t"] == "recv":
                    out.append((rec["conn"], rec["data"]))
    else:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                head = line.split(": ", 1)[0]
                if head.replace(".", "").isdigit():  # "<ts>: <json>" is a received frame
                    out.append(("ws", line.rstrip("\n").split(": ", 1)[1]))
    return out


def rest_depth(rel: str) -> dict[str, int]:
    """``symbol -> lastUpdateId`` of the REST depth snapshots of a Binance capture."""
    out: dict[str, int] = {}
    path = DATA / rel
    if rel.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                payload = line.split(" ", 1)[1]
                if not payload.startswith('{"stream"'):
                    out["BTCUSDT"] = json.loads(payload)["lastUpdateId"]
    else:
        http = path.with_name(path.name.replace(".ws.1.0", ".http.0.0"))
        for line in http.read_text().splitlines():
            if " -> " not in line:
                continue
            url, body = line.split(" -> ", 1)[0], line.split(": ", 1)[1]
            out[url.split("symbol=")[1].split("&")[0].upper()] = json.loads(body)["lastUpdateId"]
    return out


# -- import (CLI) and replay (dashboard path) ---------------------------------------------


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    """``name -> recording`` imported through ``tapescope import`` (each capture once per module)."""
    cache: dict[str, Path] = {}
    folder = tmp_path_factory.mktemp("imports")

    def get(name: str) -> Path:
        if name not in cache:
            rel, venue = CAPTURES[name]
            out = folder / f"{name}.db"
            args = ["import", str(DATA / rel), "--venue", venue, "--out", str(out)]
            # The command calls asyncio.run: give it a thread without the test's running loop.
            with ThreadPoolExecutor(1) as pool:
                res = pool.submit(CliRunner().invoke, app, args).result()
            assert res.exit_code == 0, res.output
            cache[name] = out
        return cache[name]

    return get


class Sink:
    """Keeps engine books from the replayed events and lets a test look at every book event."""

    def __init__(self, check=None) -> None:
        self.books: dict[str, Book] = {}
        self.kinds: Counter[tuple[str, str]] = Counter()
        self.check = check
        self.raw = 0

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        self.raw += 1

    def on_event(self, ev: Event) -> None:
        self.kinds[(type(ev).__name__, ev[0])] += 1
        if isinstance(ev, BookSnapshot):
            book = self.books[ev.symbol] = Book()
            book.apply_snapshot(ev.bids, ev.asks, ev.seq)
        elif isinstance(ev, BookDelta):
            self.books[ev.symbol].apply_delta(ev.bids, ev.asks, ev.seq)
        else:
            return
        if self.check is not None:
            self.check(ev, self.books[ev.symbol])

    def count(self, kind: type, key: str | None = None) -> int:
        return sum(n for (k, s), n in self.kinds.items() if k == kind.__name__ and (key is None or s == key))


async def replay(path: Path, sink: Sink) -> list[VenueDecoder]:
    """Play ``path`` to the end the way ``tapescope replay`` builds it; return the venue decoders."""
    feed, _hub = build_replay(path, settings=ReplaySettings(speed=0.0))
    try:
        await feed.run(sink)
        assert feed.finished and feed.registry.errors == 0 and feed.registry.undecoded == 0
        assert feed.emitted == sink.raw
        return [d for d in feed.registry.decoders() if isinstance(d, VenueDecoder)]
    finally:
        feed.close()


def healths(decoders: list[VenueDecoder]) -> dict:
    """Health of every market of these decoders."""
    return {k: h for d in decoders for k, h in d.health.items()}


# -- OKX ------------------------------------------------------------------------------------


async def test_okx_every_checksum_verifies_after_import_and_replay(imported) -> None:
    rel = CAPTURES["okx"][0]
    checksummed = 0
    for _, payload in raw_frames(rel):
        msg = json.loads(payload)
        if isinstance(msg, dict) and msg.get("arg", {}).get("channel") == "books":
            checksummed += sum(1 for d in msg.get("data", []) if d.get("checksum"))
    assert checksummed > 0
    sink = Sink(lambda ev, book: book._check())
    decs = await replay(imported("okx"), sink)
    per_market = {k: s.checksums_verified for d in decs for k, s in d.syncs.items()}
    assert sum(per_market.values()) == checksummed and len(per_market) == 3 and all(per_market.values())
    hs = healths(decs)
    assert len(hs) == 3
    assert all((h.gaps, h.checksum_failures, h.crossed, h.resyncs, h.malformed) == (0,) * 5 for h in hs.values())


# -- Kraken v1 --------------------------------------------------------------------------------


async def test_kraken_v1_every_checksum_verifies_through_the_v1_replay_decoder(imported) -> None:
    rel = CAPTURES["kraken"][0]
    with_c = Counter()
    for _, payload in raw_frames(rel):
        msg = json.loads(payload)
        if isinstance(msg, list) and str(msg[-2]).startswith("book-") and "c" in msg[-3]:
            with_c[msg[-1]] += 1
    path = imported("kraken")
    with Recording.open(path) as rec:
        assert set(rec.conn_ids()) == {"kraken#v1-0"}  # recorded as the v1 wire
        assert rec.venues == ["kraken"]
    sink = Sink(lambda ev, book: book._check())
    decs = await replay(path, sink)
    v1 = [d for d in decs if isinstance(d.protocol, KrakenV1Protocol)]
    assert len(v1) == 1
    verified = {k: s.checksums_verified for k, s in v1[0].syncs.items()}
    assert verified == {f"kraken:{pair}": n for pair, n in with_c.items()}
    assert sum(verified.values()) == sum(with_c.values()) > 4000
    assert all((h.gaps, h.checksum_failures, h.crossed, h.resyncs) == (0, 0, 0, 0) for h in v1[0].health.values())
    # The other decoders (the live v2 wire) saw nothing.
    assert all(h.messages == 0 for d in decs if d is not v1[0] for h in d.health.values())


# -- Coinbase ---------------------------------------------------------------------------------


async def test_coinbase_sequence_is_continuous_and_the_replayed_book_never_crosses(imported) -> None:
    frames = raw_frames(CAPTURES["coinbase"][0])
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

    sink = Sink(not_crossed)
    decs = await replay(imported("coinbase"), sink)
    assert decs[0].protocol.gaps == 0
    assert sink.count(BookSnapshot) == l2["snapshot"] > 0
    assert sink.count(BookDelta) == l2["update"] > 0
    assert all((h.gaps, h.crossed, h.resyncs, h.malformed) == (0, 0, 0, 0) for h in healths(decs).values())
    assert {k for k in sink.books} == {"coinbase:BTC-USD", "coinbase:ETH-USD"}


# -- Binance: bookTicker oracle ----------------------------------------------------------------


def tickers(rel: str) -> dict[str, tuple[list[int], list[tuple[float, float, float, float]]]]:
    """``symbol -> (sorted u, matching (bid, bid qty, ask, ask qty))`` of every bookTicker."""
    rows: dict[str, list] = defaultdict(list)
    for _, payload in raw_frames(rel):
        msg = json.loads(payload)
        d = msg.get("data", msg)
        if msg.get("stream", "").endswith("@bookTicker"):
            rows[d["s"]].append((d["u"], (float(d["b"]), float(d["B"]), float(d["a"]), float(d["A"]))))
    out = {}
    for sym, r in rows.items():
        r.sort(key=lambda x: x[0])
        out[sym] = ([u for u, _ in r], [t for _, t in r])
    return out


def applied_depth_events(rel: str, futures: bool, first_ticker: dict[str, int]) -> tuple[Counter, Counter]:
    """Depth events a correct sync applies, per symbol (those past the REST snapshot id:
    futures keep ``u >= lastUpdateId``, spot ``u > lastUpdateId``), split into those with a
    bookTicker at or before them and those older than the symbol's first bookTicker."""
    ids = rest_depth(rel)
    comparable, early = Counter(), Counter()
    for _, payload in raw_frames(rel):
        d = json.loads(payload).get("data", {})
        if d.get("e") == "depthUpdate":
            lid = ids[d["s"]]
            if d["u"] >= lid if futures else d["u"] > lid:
                (comparable if d["u"] >= first_ticker[d["s"]] else early)[d["s"]] += 1
    return comparable, early


@pytest.mark.parametrize(("name", "futures"), [
    ("binance_spot", False), ("binance_usdm_cf", True), ("binance_usdm_hft", True),
])
async def test_binance_books_match_the_book_ticker_oracle(imported, name: str, futures: bool) -> None:
    rel = CAPTURES[name][0]
    tick = tickers(rel)
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

    sink = Sink(oracle)
    decs = await replay(imported(name), sink)
    comparable, early = applied_depth_events(rel, futures, {s: us[0] for s, (us, _) in tick.items()})
    assert checked == comparable and before == early
    assert sum(comparable.values()) > 50 * sum(early.values())
    assert all((h.gaps, h.crossed, h.resyncs, h.malformed) == (0, 0, 0, 0) for h in healths(decs).values())
    raw_trades = sum(1 for _, p in raw_frames(rel) if '@trade"' in p or '@aggTrade"' in p)
    assert sink.count(Trade) == raw_trades


# -- Bybit ------------------------------------------------------------------------------------------


async def test_bybit_u_chain_and_replayed_books_equal_the_conformance_driver(imported) -> None:
    frames = raw_frames(CAPTURES["bybit"][0])
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
    sink = Sink(chain)
    decs = await replay(path, sink)
    assert sink.count(BookDelta) == deltas > 2000
    assert all((h.gaps, h.crossed, h.resyncs, h.malformed) == (0, 0, 0, 0) for h in healths(decs).values())
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


# -- instruments stored by the import ------------------------------------------------------------


@pytest.mark.parametrize("name", list(CAPTURES))
async def test_stored_ticks_and_lots_fit_every_replayed_level(imported, name: str) -> None:
    path = imported(name)
    with Recording.open(path) as rec:
        entries = {f"{e['venue']}:{e['symbol']}": e for e in rec.meta["instruments"]}
        keys = rec.symbols
    assert set(entries) == set(keys)
    assert all(e["source"] in ("table", "inferred") or str(e["source"]).startswith("rest:") for e in entries.values())
    prices: dict[str, set[float]] = defaultdict(set)
    sizes: dict[str, set[float]] = defaultdict(set)
    first: dict[str, BookSnapshot] = {}

    def collect(ev, book: Book) -> None:
        if isinstance(ev, BookSnapshot):
            first.setdefault(ev.symbol, ev)
        for p, q in ev.bids + ev.asks:
            prices[ev.symbol].add(p)
            if q:
                sizes[ev.symbol].add(q)

    await replay(path, Sink(collect))
    feed, hub = build_replay(path, settings=ReplaySettings(speed=0.0))
    feed.close()
    for key, e in entries.items():
        inst = hub.markets[key].instrument  # what the replayed engine uses
        assert (inst.tick_size, inst.lot_size) == (e["tick_size"], e["lot_size"])
        tick, lot = Decimal(repr(inst.tick_size)), Decimal(repr(inst.lot_size))
        assert prices[key] and all(Decimal(repr(p)) % tick == 0 for p in prices[key]), key
        off_lot = sum(1 for q in sizes[key] if Decimal(repr(q)) % lot)
        # A table lot is the venue's order-entry step; resting sizes may predate it (the Binance
        # spot book holds 3 levels with 6-decimal sizes, from before BTCUSDT's step became 1e-5).
        assert off_lot <= (3 if e["source"] == "table" else 0), key
        if e["source"] == "table":
            # The table's tick is exactly the grid of the capture's own first book.
            assert grid_step(p for p, _ in first[key].bids + first[key].asks) == inst.tick_size


async def test_recordings_without_instruments_still_replay_with_default_ticks(imported, tmp_path: Path) -> None:
    """Recordings written before instruments were stored (key absent, or an empty list)."""
    for variant in ("absent", "empty"):
        old = tmp_path / f"{variant}.db"
        shutil.copy(imported("okx"), old)
        with closing(sqlite3.connect(old)) as conn, conn:
            if variant == "absent":
                conn.execute("DELETE FROM meta WHERE key = 'instruments'")
            else:
                conn.execute("UPDATE meta SET value = '[]' WHERE key = 'instruments'")
        with Recording.open(old) as rec:
            insts = instruments_from_meta(rec)
        assert [i.key for i in insts] == rec.symbols and {i.tick_size for i in insts} == {0.01}
        decs = await replay(old, Sink())
        assert sum(s.checksums_verified for d in decs for s in d.syncs.values()) > 0
        assert all(h.checksum_failures == 0 for h in healths(decs).values())


# -- seeking in an imported Kraken v1 recording ------------------------------------------------------


async def test_seek_in_an_imported_kraken_v1_recording_then_play_on(imported) -> None:
    path = imported("kraken")
    whole = Sink()
    await replay(path, whole)
    with Recording.open(path) as rec:
        times = [m.recv_ns for m in rec.iter_messages()]
    feed, _ = build_replay(path, settings=ReplaySettings(speed=0.0), from_ns=times[len(times) * 2 // 3])
    sink = Sink()
    try:
        await feed.run(sink)
        v1 = next(d for d in feed.registry.decoders() if isinstance(d, VenueDecoder)
                  and isinstance(d.protocol, KrakenV1Protocol))
    finally:
        feed.close()
    assert sum(s.checksums_verified for s in v1.syncs.values()) > 1000
    assert all((h.checksum_failures, h.gaps, h.resyncs) == (0, 0, 0) for h in v1.health.values())
    assert {k: (dict(b.bids), dict(b.asks)) for k, b in sink.books.items()} == {
        k: (dict(b.bids), dict(b.asks)) for k, b in whole.books.items()
    }


# -- inspect --------------------------------------------------------------------------------------------


def raw_type(payload: str) -> str:
    """A frame's type by each venue's own field, for the independent inspect count."""
    msg = json.loads(payload)
    if isinstance(msg, list):
        return msg[-2].split("-")[0]  # Kraken v1: channel name
    if "stream" in msg and "e" in msg["data"]:
        return msg["data"]["e"]  # Binance envelope
    if "topic" in msg:
        return msg["topic"].split(".")[0]  # Bybit
    if "arg" in msg:
        return f"event-{msg['event']}" if "event" in msg else msg["arg"]["channel"]  # OKX
    if "channel" in msg:
        return msg["channel"]  # Coinbase
    if "stream" in msg:
        return msg["stream"].split("@")[1]  # Binance spot bookTicker: no "e"
    return f"event-{msg['event']}" if "event" in msg else f"event-{msg['op']}"  # Bybit op replies


@pytest.mark.parametrize("name", list(CAPTURES))
def test_inspect_of_each_import_matches_the_raw_file(imported, name: str) -> None:
    rel, venue = CAPTURES[name]
    path = imported(name)
    with ThreadPoolExecutor(1) as pool:
        res = pool.submit(CliRunner().invoke, app, ["inspect", str(path), "--json"]).result()
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    frames = raw_frames(rel)
    assert got["messages"] == len(frames) and got["clean"] and got["gaps"] == []
    with Recording.open(path) as rec:
        conn_venue = {c: c.split("#")[0] for c in rec.conn_ids()}
    # One recorded connection per capture connection; per-type counts as the raw file says.
    assert len(got["by_conn"]) == len({c for c, _ in frames})
    expected = Counter()
    conn_of = dict(zip(sorted({c for c, _ in frames}), sorted(conn_venue.values()), strict=True))
    for conn, payload in frames:
        expected[f"{conn_of[conn]}:{raw_type(payload)}"] += 1
    assert got["by_type"] == dict(expected)
    assert [f"{i['venue']}:{i['symbol']}" for i in got["instruments"]] == got["symbols"]
    text = CliRunner().invoke(app, ["inspect", str(path), "--no-types"]).output
    assert f"{len(frames):,} messages" in text and "instruments:" in text
