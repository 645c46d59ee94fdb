"""Importing real captures from shared/data into recordings, byte for byte."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tapescope.engine.recorder.inspect import inspect
from tapescope.engine.recorder.reader import Message, Recording, RestSnapshot
from tapescope.feeds.captures import read_capture
from tapescope.feeds.importer import import_captures

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared capture data not found at {DATA}")


async def test_import_hftbacktest_usdm_capture_keeps_every_line(tmp_path: Path) -> None:
    src = DATA / "binance_usdm" / "btcusdt_20240808.gz"
    res = await import_captures([src], tmp_path / "um.db", "binance-usdm")
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        lines = [ln.rstrip("\n").split(" ", 1) for ln in fh if ln.strip()]
    http_at = [i for i, (_, p) in enumerate(lines) if not p.startswith('{"stream"')]
    assert len(http_at) == 1
    assert res.messages == len(lines) - 1 == 93_953 and res.snapshots == 1 and res.skipped == 0
    with Recording.open(res.files[0]) as r:
        recs = list(r.iter_records())
        assert len(recs) == len(lines)
        for rec, (stamp, payload) in zip(recs, lines, strict=True):
            assert rec.recv_ns == int(stamp) and rec.payload == payload
        snap = recs[http_at[0]]
        assert isinstance(snap, RestSnapshot) and snap.symbol == "binance-usdm:BTCUSDT"
        assert snap.after_msg_id == http_at[0]
        assert all(isinstance(x, Message) and x.conn_id == "binance-usdm#0" for x in recs if x is not snap)
        assert r.symbols == ["binance-usdm:BTCUSDT"]


async def test_import_cryptofeed_v1_ws_and_http_companion(tmp_path: Path) -> None:
    ws = DATA / "binance_usdm" / "BINANCE_FUTURES.ws.1.0"
    http = DATA / "binance_usdm" / "BINANCE_FUTURES.http.0.0"
    res = await import_captures([ws, http], tmp_path / "cf.db", "binance-usdm")
    records = list(read_capture(ws)) + list(read_capture(http))
    recv = [x for x in records if x.kind == "recv"]
    assert res.messages == len(recv) and res.snapshots == 4
    assert res.skipped == sum(1 for x in records if x.kind in ("connect", "send")) > 0
    s = inspect(res.files[0])
    assert sorted(s.symbols) == sorted(f"binance-usdm:{x}" for x in ("SUSHIUSDT", "AKROUSDT", "KEEPUSDT", "CTKUSDT"))
    with Recording.open(res.files[0]) as r:
        assert sorted(m.payload for m in r.iter_messages()) == sorted(x.data for x in recv)
        times = [m.recv_ns for m in r.iter_messages()]
        assert times == sorted(times)


async def test_import_cryptofeed_jsonl(tmp_path: Path) -> None:
    src = DATA / "bybit" / "BYBIT.jsonl"
    res = await import_captures([src], tmp_path / "by.db", "bybit")
    recv = [x for x in read_capture(src) if x.kind == "recv"]
    assert res.messages == len(recv)
    # The family "bybit" splits by connection URL into the two registry venues.
    assert res.venues == ["bybit-linear", "bybit-spot"]
    # The file holds one connection's lines after the other's: the recording interleaves them by
    # receive time and keeps each connection's own order.
    assert any(b.recv_ns < a.recv_ns for a, b in zip(recv, recv[1:], strict=False))
    with Recording.open(res.files[0]) as r:
        msgs = list(r.iter_messages())
        assert [m.recv_ns for m in msgs] == sorted(x.recv_ns for x in recv)
        for conn, recorded in (("BYBIT.ws.2", "bybit-linear#0"), ("BYBIT.ws.3", "bybit-spot#0")):
            assert [m.payload for m in msgs if m.conn_id == recorded] == [x.data for x in recv if x.conn == conn]
        # Instrument lists name no symbol: keyed by the venue their category names.
        assert {s.symbol for s in r.snapshots()} == {"bybit-linear:", "bybit-spot:"}


async def test_inspect_types_of_an_imported_capture_match_sources_md(tmp_path: Path) -> None:
    from tapescope.engine.recorder.inspect import message_type

    src = DATA / "binance_usdm" / "btcusdt_20240808.gz"
    res = await import_captures([src], tmp_path / "um.db", "binance-usdm")
    s = inspect(res.files[0], classify=message_type)
    # Counts published in shared/data/SOURCES.md for this capture.
    assert s.by_type == {
        "binance-usdm:depthUpdate": 6_551,
        "binance-usdm:bookTicker": 66_089,
        "binance-usdm:trade": 21_313,
    }
    assert s.snapshots == 1 and s.messages == 93_953
    assert 340 <= s.duration_s <= 350  # "~345 s"


async def test_import_records_only_the_markets_asked_for(tmp_path: Path) -> None:
    src = DATA / "bybit" / "BYBIT.jsonl"
    res = await import_captures([src], tmp_path / "one.db", "bybit", symbols=["bybit-spot:BTCUSDT"],
                                checkpoints=True)
    with Recording.open(res.files[0]) as r:
        assert r.symbols == ["bybit-spot:BTCUSDT"]
        assert {s for s, *_ in r.checkpoints()} == {"bybit-spot:BTCUSDT"}
        assert [i["symbol"] for i in r.meta["instruments"]] == ["BTCUSDT"]
        assert r.message_count == res.messages  # every frame is still recorded
    # A bare symbol names that market on each venue of the capture.
    res = await import_captures([src], tmp_path / "both.db", "bybit", symbols=["ETHUSDT"])
    with Recording.open(res.files[0]) as r:
        assert r.symbols == ["bybit-linear:ETHUSDT", "bybit-spot:ETHUSDT"]


async def test_import_with_checkpoints_refuses_an_unknown_venue_before_reading(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="unknown venue 'nowhere'; known: .*bybit.*okx"):
        await import_captures([tmp_path / "missing.gz"], tmp_path / "x.db", "nowhere", checkpoints=True)
    assert not (tmp_path / "x.db").exists()
