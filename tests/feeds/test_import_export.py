"""``tapescope export`` of an imported capture: Parquet read back with pyarrow equals the CSV export.

The Binance spot capture is imported through ``tapescope import``; then
``tapescope export --what trades|book|signals`` writes the same window once
as CSV and once as Parquet. The Parquet file, read back with pyarrow, must
hold exactly the CSV's columns and rows (CSV writes each value with
``str()`` and a missing value as an empty cell, so that is the comparison),
and the trade rows must also equal the capture's own trade messages.
"""

from __future__ import annotations

import csv
import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tapescope.tui.cli import app

pa = pytest.importorskip("pyarrow", reason="pyarrow (the [parquet] extra) is not installed")
import pyarrow.parquet as pq  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SRC = DATA / "binance_spot" / "btcusdt_20240808.gz"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared capture data not found at {DATA}")

#: Window exported (from the first message): long enough for detectors to fire.
WINDOW = "+150s"


def cli(*args: str) -> None:
    """Run one ``tapescope`` command in a thread (it calls asyncio.run) and insist on success."""
    with ThreadPoolExecutor(1) as pool:
        res = pool.submit(CliRunner().invoke, app, list(args)).result()
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "spot.db"
    cli("import", str(SRC), "--venue", "binance-spot", "--out", str(out))
    return out


def both(recording: Path, what: str, tmp_path: Path) -> tuple[list[list[str]], list[list[str]], list[str]]:
    """``(csv rows, parquet rows as csv would write them, parquet columns)`` of one export."""
    c, p = tmp_path / f"{what}.csv", tmp_path / f"{what}.parquet"
    for out, fmt in ((c, "csv"), (p, "parquet")):
        cli("export", str(recording), "--what", what, "--out", str(out), "--format", fmt, "--to", WINDOW)
    with c.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    table = pq.read_table(p)
    cols = table.column_names
    as_text = [["" if v is None else str(v) for v in row] for row in zip(*table.to_pydict().values(), strict=True)]
    assert rows[0] == cols
    return rows[1:], as_text, cols


def test_parquet_trades_equal_csv_and_the_capture(recording: Path, tmp_path: Path) -> None:
    rows, parquet_rows, cols = both(recording, "trades", tmp_path)
    assert parquet_rows == rows and len(rows) > 1000
    # Independently: the capture's trade messages received within the window.
    first_ns, trades = None, []
    with gzip.open(SRC, "rt", encoding="utf-8") as fh:
        for line in fh:
            ns, payload = line.split(" ", 1)
            first_ns = first_ns or int(ns)
            if int(ns) > first_ns + 150 * 10**9:
                break
            if '@trade"' in payload:
                d = json.loads(payload)["data"]
                trades.append((float(d["p"]), float(d["q"]), -1 if d["m"] else 1, str(d["t"])))
    got = [(float(r[cols.index("price")]), float(r[cols.index("qty")]), int(r[cols.index("side")]),
            r[cols.index("trade_id")]) for r in rows]
    assert got == trades


def test_parquet_book_equals_csv(recording: Path, tmp_path: Path) -> None:
    rows, parquet_rows, cols = both(recording, "book", tmp_path)
    assert parquet_rows == rows and len(rows) > 1000
    table = pq.read_table(tmp_path / "book.parquet")
    # Prices are typed columns, not text: a consumer can compute with them.
    assert pa.types.is_floating(table.schema.field("bid_px_1").type)
    assert pa.types.is_integer(table.schema.field("seq").type)
    bid, ask = cols.index("bid_px_1"), cols.index("ask_px_1")
    assert all(float(r[bid]) < float(r[ask]) for r in rows)


def test_parquet_signals_equal_csv(recording: Path, tmp_path: Path) -> None:
    rows, parquet_rows, cols = both(recording, "signals", tmp_path)
    assert parquet_rows == rows and len(rows) > 0
    assert {"ts", "market", "type", "kind"} <= set(cols)
    assert {r[cols.index("market")] for r in rows} == {"binance-spot:BTCUSDT"}
