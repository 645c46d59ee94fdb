"""import / inspect / export entry points: exit codes, reports, and the files they write."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tapescope.engine.events import Trade
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.captures import read_capture
from tapescope.feeds.sim import SimParams
from tapescope.feeds.sim.codec import decode
from tapescope.tui.recording_cli import run_export, run_import, run_inspect

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared capture data not found at {DATA}")


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory: pytest.TempPathFactory, record_sim) -> Path:
    params = SimParams(seed=9, symbols=("BTC-SIM", "ETH-SIM"), duration_s=60.0)
    return record_sim(tmp_path_factory.mktemp("rc") / "sim.db", params)


@needs_data
def test_import_brings_the_http_companion_and_inspect_reports_it(tmp_path: Path) -> None:
    ws = DATA / "binance_usdm" / "BINANCE_FUTURES.ws.1.0"
    out = io.StringIO()
    assert run_import([ws], tmp_path / "cf.db", "binance-usdm", stream=out) == 0, out.getvalue()
    recv = sum(1 for r in read_capture(ws) if r.kind == "recv")
    assert out.getvalue().startswith(f"imported {recv:,} messages, 4 REST snapshots")
    report = io.StringIO()
    assert run_inspect(tmp_path / "cf.db", as_json=True, stream=report) == 0
    summary = json.loads(report.getvalue())
    assert summary["messages"] == recv and len(summary["symbols"]) == 4
    text = io.StringIO()
    assert run_inspect(tmp_path / "cf.db", stream=text) == 0 and "binance-usdm" in text.getvalue()


@needs_data
def test_import_of_an_hftbacktest_file_writes_checkpoints(tmp_path: Path) -> None:
    out = io.StringIO()
    src = DATA / "binance_usdm" / "btcusdt_20240808.gz"
    assert run_import([src], tmp_path / "um.db", "binance-usdm", config=RecordConfig(checkpoint_interval_s=60.0),
                      stream=out) == 0
    with Recording.open(tmp_path / "um.db") as rec:
        assert rec.symbols == ["binance-usdm:BTCUSDT"] and len(rec.checkpoints("binance-usdm:BTCUSDT")) >= 5


def test_import_errors(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_import([tmp_path / "none.gz"], tmp_path / "x.db", "binance-usdm", stream=out) == 1
    bad = tmp_path / "bad_20240101.gz"
    bad.write_bytes(b"not gzip")
    assert run_import([bad], tmp_path / "y.db", "nowhere", stream=out) == 2
    assert "nowhere" in out.getvalue()


def test_export_trades_and_refusals(sim_db: Path, tmp_path: Path) -> None:
    with Recording.open(sim_db) as rec:
        trades = [e for m in rec.iter_messages() if isinstance(e := decode(m.payload), Trade)
                  and e.symbol == "sim:ETH-SIM"]
    out = io.StringIO()
    assert run_export(sim_db, tmp_path / "t.csv", "trades", symbols=["ETH-SIM"], stream=out) == 0, out.getvalue()
    with (tmp_path / "t.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(trades) > 0 and out.getvalue() == f"exported {len(trades):,} trades rows -> {tmp_path / 't.csv'}\n"
    assert run_export(sim_db, tmp_path / "t.csv", "trades", stream=out) == 1  # exists: never overwritten
    assert run_export(sim_db, tmp_path / "k.csv", "candles", stream=out) == 2
    assert run_export(sim_db, tmp_path / "w.csv", "trades", from_text="soon", stream=out) == 2
    assert run_export(sim_db, tmp_path / "s.csv", "signals", stream=out) == 0
