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
from pathlib import Path
from types import SimpleNamespace

import pytest

pa = pytest.importorskip("pyarrow", reason="pyarrow (the [parquet] extra) is not installed")
import pyarrow.parquet as pq  # noqa: E402

#: Window exported (from the first message): long enough for detectors to fire.
WINDOW = "+150s"


@pytest.fixture
def recording(imported) -> Path:
    """The Binance spot capture imported through ``tapescope import``."""
    return imported("binance_spot")


@pytest.fixture
def both(tools: SimpleNamespace, recording: Path, tmp_path: Path):
    """``what -> (csv rows, parquet rows as csv would write them, parquet columns)`` of one export."""
    return lambda what: _both(tools, recording, what, tmp_path)


def _both(tools: SimpleNamespace, recording: Path, what: str, tmp_path: Path):
    c, p = tmp_path / f"{what}.csv", tmp_path / f"{what}.parquet"
    for out, fmt in ((c, "csv"), (p, "parquet")):
        tools.run_cli("export", str(recording), "--what", what, "--out", str(out), "--format", fmt, "--to", WINDOW)
    with c.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    table = pq.read_table(p)
    cols = table.column_names
    as_text = [["" if v is None else str(v) for v in row] for row in zip(*table.to_pydict().values(), strict=True)]
    assert rows[0] == cols
    return rows[1:], as_text, cols


def test_parquet_trades_equal_csv_and_the_capture(tools, both) -> None:
    rows, parquet_rows, cols = both("trades")
    assert parquet_rows == rows and len(rows) > 1000
    # Independently: the capture's trade messages received within the window.
    first_ns, trades = None, []
    with gzip.open(tools.DATA / tools.CAPTURES["binance_spot"][0], "rt", encoding="utf-8") as fh:
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


def test_parquet_book_equals_csv(both, tmp_path: Path) -> None:
    rows, parquet_rows, cols = both("book")
    assert parquet_rows == rows and len(rows) > 1000
    table = pq.read_table(tmp_path / "book.parquet")
    # Prices are typed columns, not text: a consumer can compute with them.
    assert pa.types.is_floating(table.schema.field("bid_px_1").type)
    assert pa.types.is_integer(table.schema.field("seq").type)
    bid, ask = cols.index("bid_px_1"), cols.index("ask_px_1")
    assert all(float(r[bid]) < float(r[ask]) for r in rows)


def test_parquet_signals_equal_csv(both) -> None:
    rows, parquet_rows, cols = both("signals")
    assert parquet_rows == rows and len(rows) > 0
    assert {"ts", "market", "type", "kind"} <= set(cols)
    assert {r[cols.index("market")] for r in rows} == {"binance-spot:BTCUSDT"}
