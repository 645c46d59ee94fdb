"""inspect() summaries and export() of trades, book, raw messages and signals."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tapescope.engine.events import Trade
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.decode import DecoderRegistry, FunctionDecoder
from tapescope.engine.recorder.errors import OutputPathError
from tapescope.engine.recorder.export import ExportError, export
from tapescope.engine.recorder.inspect import NS_PER_HOUR, inspect
from tapescope.engine.recorder.reader import GapMarker
from tapescope.engine.recorder.synthetic import books_from, decode_synthetic, synthetic_stream
from tapescope.engine.recorder.writer import Recorder

N = 3000
STEP = 3_000_000_000  # 3 s apart: 2.5 hours of receive time


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("rec") / "s.db"
    msgs = list(synthetic_stream(N, step_ns=STEP))

    async def go() -> None:
        cfg = RecordConfig(max_queue_messages=1000, batch_max_messages=1_000_000, batch_interval_ms=10_000)
        rec = Recorder(path, cfg, venues=["t"], symbols=["t:AAA", "t:BBB"])
        await rec.start()
        for conn, recv, payload in msgs[:1000]:
            rec.on_raw(conn, recv, payload)
        rec.on_raw(*msgs[1000])  # queue full: dropped and marked
        await rec.flush()
        for i, (conn, recv, payload) in enumerate(msgs[1001:]):
            rec.on_raw(conn, recv, payload)
            if i % 500 == 499:
                await rec.flush()
        rec.on_raw("rest:t:AAA", msgs[-1][1], b"{}")
        await rec.close()

    asyncio.run(go())
    return path, msgs[:1000] + msgs[1001:]


def _registry() -> DecoderRegistry:
    return DecoderRegistry({"t#": lambda prefix: FunctionDecoder(decode_synthetic)})


def test_inspect_counts_match_an_independent_count(recorded) -> None:
    path, kept = recorded
    s = inspect(path, classify=lambda conn, payload: orjson.loads(payload)["e"])
    assert s.messages == len(kept) == N - 1
    assert s.venues == ["t"] and s.symbols == ["t:AAA", "t:BBB"]
    assert s.by_conn == dict(Counter(c for c, _, _ in kept))
    assert s.by_type == dict(Counter(orjson.loads(p)["e"] for _, _, p in kept))
    assert s.gaps == [GapMarker(kept[999][1] + STEP, kept[999][1] + STEP, 1, 1000)] and s.dropped == 1
    assert s.first_recv_ns == kept[0][1] and s.last_recv_ns == kept[-1][1]
    assert s.duration_s == pytest.approx((kept[-1][1] - kept[0][1]) / 1e9)
    assert s.snapshots == 1 and s.checkpoints == 0 and s.clean
    hours = Counter(r // NS_PER_HOUR * NS_PER_HOUR for _, r, _ in kept)
    size = Counter()
    for _, r, p in kept:
        size[r // NS_PER_HOUR * NS_PER_HOUR] += len(p)
    assert [(h.hour_ns, h.messages, h.payload_bytes) for h in s.per_hour] == [
        (h, hours[h], size[h]) for h in sorted(hours)
    ]
    assert s.payload_bytes == sum(len(p) for _, _, p in kept)
    assert sum(h.disk_bytes for h in s.per_hour) == pytest.approx(s.disk_bytes, rel=0.01)
    text = s.to_text()
    assert "2,999 messages" in text and "gaps       1 (1 messages dropped" in text


def test_inspect_summary_as_json(recorded) -> None:
    path, kept = recorded
    d = orjson.loads(orjson.dumps(inspect(path).to_dict()))
    assert d["messages"] == len(kept) and d["dropped"] == 1 and d["clean"] is True
    assert d["gaps"][0]["dropped"] == 1 and d["files"][0]["path"] == str(path)
    assert sum(h["messages"] for h in d["per_hour"]) == len(kept)


def test_inspect_without_classifier_counts_by_connection(recorded) -> None:
    path, kept = recorded
    s = inspect(path)
    assert s.by_type == s.by_conn == {"t#0": sum(1 for c, _, _ in kept if c == "t#0"),
                                      "t#1": sum(1 for c, _, _ in kept if c == "t#1")}


async def test_inspect_flags_an_unclosed_recording(tmp_path: Path) -> None:
    path = tmp_path / "open.db"
    rec = Recorder(path)
    await rec.start()
    rec.on_raw("c", 5, b"x")
    await rec.flush()
    s = inspect(path)
    assert not s.clean and "NOT closed cleanly" in s.to_text()
    await rec.close()
    assert inspect(path).clean


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_export_trades_csv(recorded, tmp_path: Path) -> None:
    path, kept = recorded
    out = tmp_path / "trades.csv"
    n = export(path, out, "trades", decoders=_registry())
    expected = [ev for c, r, p in kept for ev in decode_synthetic(c, r, p) if isinstance(ev, Trade)]
    rows = _read_csv(out)
    assert n == len(rows) == len(expected) > 100
    assert [(int(r["recv_ns"]), r["symbol"], float(r["price"]), float(r["qty"]), int(r["side"])) for r in rows] == [
        (t.recv_ts, t.symbol, t.price, t.qty, t.side) for t in expected
    ]


def test_export_book_csv_final_rows_match_the_oracle(recorded, tmp_path: Path) -> None:
    path, kept = recorded
    out = tmp_path / "book.csv"
    export(path, out, "book", decoders=_registry(), levels=3, symbols=["t:BBB"])
    rows = _read_csv(out)
    assert {r["symbol"] for r in rows} == {"t:BBB"}
    oracle = books_from(kept)["t:BBB"]
    bids, asks = oracle.top(3)
    last = rows[-1]
    assert [(float(last[f"bid_px_{i}"]), float(last[f"bid_sz_{i}"])) for i in (1, 2, 3)] == bids
    assert [(float(last[f"ask_px_{i}"]), float(last[f"ask_sz_{i}"])) for i in (1, 2, 3)] == asks
    assert int(last["seq"]) == oracle.seq


def test_export_messages_with_time_window(recorded, tmp_path: Path) -> None:
    path, kept = recorded
    out = tmp_path / "m.csv"
    lo, hi = kept[10][1], kept[19][1]
    assert export(path, out, "messages", start_ns=lo, end_ns=hi) == 10
    rows = _read_csv(out)
    assert [bytes.fromhex(r["payload_hex"]) for r in rows] == [p for _, _, p in kept[10:20]]


def test_export_signals_uses_the_given_pipeline_or_refuses(recorded, tmp_path: Path) -> None:
    path, _ = recorded
    with pytest.raises(ExportError, match="signal pipeline"):
        export(path, tmp_path / "s.csv", "signals", decoders=_registry())

    def big_trades(ev):
        if isinstance(ev, Trade) and ev.qty >= 5:
            yield {"ts_ns": ev.ts, "symbol": ev.symbol, "score": ev.side * 1.0}

    n = export(path, tmp_path / "s.csv", "signals", decoders=_registry(), signal_fn=big_trades)
    rows = _read_csv(tmp_path / "s.csv")
    assert n == len(rows) > 0 and {r["score"] for r in rows} <= {"1.0", "-1.0"}


def test_export_refuses_bad_requests(recorded, tmp_path: Path) -> None:
    path, _ = recorded
    with pytest.raises(ExportError, match="unknown export kind 'candles'"):
        export(path, tmp_path / "x.csv", "candles", decoders=_registry())
    with pytest.raises(ExportError, match="needs decoders"):
        export(path, tmp_path / "x.csv", "trades")
    (tmp_path / "taken.csv").write_text("keep me")
    with pytest.raises(OutputPathError, match="already exists"):
        export(path, tmp_path / "taken.csv", "trades", decoders=_registry())
    assert (tmp_path / "taken.csv").read_text() == "keep me"


def test_parquet_needs_pyarrow(recorded, tmp_path: Path) -> None:
    path, kept = recorded
    out = tmp_path / "t.parquet"
    if importlib.util.find_spec("pyarrow") is None:
        with pytest.raises(ExportError, match="pip install 'tapescope\\[parquet\\]'"):
            export(path, out, "messages", fmt="parquet")
        assert not out.exists()
    else:  # pragma: no cover - depends on the optional extra
        import pyarrow.parquet as pq

        assert export(path, out, "messages", fmt="parquet") == len(kept)
        assert pq.read_table(out).num_rows == len(kept)
