"""What an import stores about its markets, and what ``tapescope inspect`` reports about it.

* Every market's instrument (tick, lot, kind) is in the recording's meta, from the
  expected source; the replayed engine uses it; every price and size replayed fits it;
  REST-sourced numbers equal the capture's own instrument list; table numbers equal the
  grid of the capture's first book.
* Recordings written before instruments were stored still replay (default ticks).
* ``tapescope inspect --json`` of each import agrees with counts from the raw file.
* Each capture's venue is found from its own lines, so ``--venue`` may be left out.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter, defaultdict
from contextlib import closing
from decimal import Decimal
from pathlib import Path

from tapescope.engine.book import Book
from tapescope.engine.events import BookSnapshot
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.capture_meta import grid_step
from tapescope.feeds.importer import detect_capture_venue
from tapescope.feeds.replay import instruments_from_meta
from tapescope.tui.replay_cli import build_replay
from tapescope.tui.replay_config import ReplaySettings

#: Where each capture's tick and lot must come from.
SOURCES = {
    "okx": {"table", "inferred"},  # BTC-USDT is in the table; the two inverse contracts are not
    "kraken": {"inferred"},
    "coinbase": {"rest:/api/v3/brokerage/market/products"},
    "bybit": {"rest:/v5/market/instruments-info"},
    "binance_spot": {"table"},
    "binance_usdm_cf": {"inferred"},
    "binance_usdm_hft": {"table"},
}


def rest_instruments(path: Path) -> dict[str, tuple[float, float]]:
    """``market key -> (tick, lot)`` from the REST instrument lists of a cryptofeed jsonl capture."""
    out: dict[str, tuple[float, float]] = {}
    if path.suffix != ".jsonl":
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["t"] != "http":
            continue
        body = json.loads(rec["data"])
        for p in body.get("products", []):
            out[f"coinbase:{p['product_id']}"] = (float(p["price_increment"]), float(p["base_increment"]))
        result = body.get("result", {})
        for i in result.get("list", []):
            lots = i["lotSizeFilter"]
            out[f"bybit-{result['category']}:{i['symbol']}"] = (
                float(i["priceFilter"]["tickSize"]), float(lots.get("qtyStep", lots.get("basePrecision"))))
    return out


# -- instruments stored by the import ------------------------------------------------------------


async def test_stored_ticks_and_lots_fit_every_replayed_level(imported, tools, capture_name: str) -> None:
    path = imported(capture_name)
    with Recording.open(path) as rec:
        entries = {f"{e['venue']}:{e['symbol']}": e for e in rec.meta["instruments"]}
        keys = rec.symbols
    assert set(entries) == set(keys)
    assert {e["source"] for e in entries.values()} == SOURCES[capture_name]
    for key, (tick, lot) in rest_instruments(tools.DATA / tools.CAPTURES[capture_name][0]).items():
        if key in entries:  # the REST list covers every listed market; the capture records a few
            assert (entries[key]["tick_size"], entries[key]["lot_size"]) == (tick, lot)
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

    await tools.replay(path, tools.Sink(collect))
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


async def test_recordings_without_instruments_still_replay_with_default_ticks(imported, tools, tmp_path: Path) -> None:
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
        decs = await tools.replay(old, tools.Sink())
        assert sum(s.checksums_verified for d in decs for s in d.syncs.values()) > 0
        assert all(h.checksum_failures == 0 for h in tools.healths(decs))


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


def test_inspect_of_each_import_matches_the_raw_file(imported, tools, capture_name: str) -> None:
    rel, venue = tools.CAPTURES[capture_name]
    path = imported(capture_name)
    got = json.loads(tools.run_cli("inspect", str(path), "--json"))
    frames = tools.raw_frames(rel)
    assert got["messages"] == len(frames) and got["clean"] and got["gaps"] == []
    with Recording.open(path) as rec:
        conn_venue = {c: c.split("#")[0] for c in rec.conn_ids()}
        times = [m.recv_ns for m in rec.iter_messages()]
        checkpointed = {s for s, *_ in rec.checkpoints()}
    # Messages in receive-time order (what seeking relies on), and every market has a checkpoint.
    assert times == sorted(times)
    assert checkpointed == set(got["symbols"]) and got["checkpoints"] >= len(checkpointed)
    # One recorded connection per capture connection; per-type counts as the raw file says.
    assert len(got["by_conn"]) == len({c for c, _ in frames})
    expected = Counter()
    conn_of = dict(zip(sorted({c for c, _ in frames}), sorted(conn_venue.values()), strict=True))
    for conn, payload in frames:
        expected[f"{conn_of[conn]}:{raw_type(payload)}"] += 1
    assert got["by_type"] == dict(expected)
    assert [f"{i['venue']}:{i['symbol']}" for i in got["instruments"]] == got["symbols"]
    text = tools.run_cli("inspect", str(path), "--no-types")
    assert f"{len(frames):,} messages" in text and "instruments:" in text




def test_the_venue_of_every_capture_is_found_from_its_own_lines(tools, capture_name: str) -> None:
    rel, venue = tools.CAPTURES[capture_name]
    assert detect_capture_venue([tools.DATA / rel]) == venue


def test_import_without_venue_finds_it(imported, tools, tmp_path: Path) -> None:
    rel, _ = tools.CAPTURES["binance_usdm_cf"]
    out = tools.run_cli("import", str(tools.DATA / rel), "--out", str(tmp_path / "auto.db"))
    assert out.startswith("venue: binance-usdm (from the capture)\n")
    with Recording.open(tmp_path / "auto.db") as auto, Recording.open(imported("binance_usdm_cf")) as given:
        assert (auto.venues, auto.symbols, auto.meta["instruments"]) == (
            given.venues, given.symbols, given.meta["instruments"])
        assert [m.payload for m in auto.iter_messages()] == [m.payload for m in given.iter_messages()]
