"""Capture readers: line counts and record kinds on the real files, and bad-line errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from tapescope.feeds.captures import (
    CaptureError,
    companion_http,
    merged,
    read_capture,
    read_cryptofeed_v1,
    seconds_to_ns,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"real captures not found at {DATA}")


@needs_data
@pytest.mark.parametrize(
    ("rel", "lines", "http"),
    [
        ("okx/OKX.ws.1.0", 414, 0),
        ("kraken/KRAKEN.ws.50.0", 4323, 0),  # 4,325 lines, two of them blank
        ("binance_spot/btcusdt_20240808.gz", 41249, 1),
        ("binance_usdm/btcusdt_20240808.gz", 93954, 1),
        ("binance_usdm/BINANCE_FUTURES.http.0.0", 4, 4),
        ("bybit/BYBIT.jsonl", 3255, 2),  # 3,256 lines minus the header
        ("coinbase/COINBASE.jsonl", 1037, None),
    ],
)
def test_real_captures_read_completely(rel: str, lines: int, http: int | None) -> None:
    records = list(read_capture(DATA / rel))
    assert len(records) == lines
    kinds = Counter(r.kind for r in records)
    if http is not None:
        assert kinds["http"] == http
    # Every received payload is JSON, and within one connection time never goes
    # backwards by more than a second (the jsonl files group records by connection).
    last: dict[str, int] = {}
    for rec in records:
        if rec.kind in ("recv", "http"):
            orjson.loads(rec.data)
        assert rec.recv_ns - last.get(rec.conn, 0) > -1_000_000_000
        last[rec.conn] = rec.recv_ns


@needs_data
def test_binance_futures_ws_and_http_merge_in_time_order() -> None:
    ws = DATA / "binance_usdm/BINANCE_FUTURES.ws.1.0"
    http = companion_http(ws)
    assert http is not None and http.name == "BINANCE_FUTURES.http.0.0"
    records = list(merged(read_capture(ws), read_capture(http)))
    assert [r.recv_ns for r in records] == sorted(r.recv_ns for r in records)
    assert sum(r.kind == "http" for r in records) == 4
    # The recv records of a v1 file belong to the connection opened before them.
    assert all(
        r.conn.startswith("wss://fstream.binance.com/stream") for r in records if r.kind == "recv"
    )


def test_v1_line_kinds_and_exact_timestamps(tmp_path: Path) -> None:
    f = tmp_path / "X.ws.1.0"
    f.write_text(
        "wss://a/b <-> 1.5\n"
        'wss://a/b <- 2.000000001: {"op":"subscribe"}\n'
        '3.25: {"x": "a: b"}\n'
        'https://a/depth -> 4: {"lastUpdateId": 1}\n'
    )
    recs = list(read_cryptofeed_v1(f))
    assert [r.kind for r in recs] == ["connect", "send", "recv", "http"]
    assert [r.recv_ns for r in recs] == [1_500_000_000, 2_000_000_001, 3_250_000_000, 4_000_000_000]
    assert recs[2].data == '{"x": "a: b"}' and recs[2].conn == "wss://a/b"
    assert recs[3].url == "https://a/depth"


def test_bad_lines_name_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.ws.1.0"
    f.write_text("1.0: {}\nnot a timestamp: {}\n")
    with pytest.raises(CaptureError, match=r"bad\.ws\.1\.0:2"):
        list(read_cryptofeed_v1(f))
    j = tmp_path / "bad.jsonl"
    j.write_text('{"t":"recv","ts":1.0,"data":"{}"}\n{"t":"bogus","ts":1}\n')
    with pytest.raises(CaptureError, match=r"bad\.jsonl:2"):
        list(read_capture(j))
    g = tmp_path / "bad.txt.gz"
    import gzip

    with gzip.open(g, "wt") as fh:
        fh.write("123 {}\nxyz {}\n")
    with pytest.raises(CaptureError, match=":2"):
        list(read_capture(g))


def test_seconds_to_ns_rejects_garbage() -> None:
    assert seconds_to_ns("0.000000001") == 1
    with pytest.raises(ValueError):
        seconds_to_ns("1e9")
