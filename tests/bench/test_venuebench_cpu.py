"""The 100-symbol CPU measurement: fan-out script validity and a tiny end-to-end run (no timing asserts)."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from tapescope.feeds.emulator.scripts.binance import load_hftbacktest
from tapescope.feeds.emulator.scripts.bybit import load_jsonl
from tapescope.tui.venuebench_cpu import (
    ID_SHIFT,
    CpuParams,
    cpu_table,
    fanout_script,
    measure_cpu,
    recorded_rate,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"captures not found at {DATA}")


def test_binance_fanout_keeps_every_copy_a_valid_chain() -> None:
    base = load_hftbacktest(str(DATA / "binance_usdm/btcusdt_20240808.gz"), "binance-usdm", ("book", "trade"))
    script, names = fanout_script("binance-usdm", base, 5, 300)
    assert names == [f"X{c:03d}BTCUSDT" for c in range(5)]
    assert len(script.frames) == 5 * 300
    originals = base.frames[:300]
    for i, name in enumerate(names):
        mine = [f for f in script.frames if f.symbol == name]
        assert [f.channel for f in mine] == [f.channel for f in originals]
        books = [f.data for f in mine if f.channel == "book"]
        orig_books = [f.data for f in originals if f.channel == "book"]
        shift = (i + 1) * ID_SHIFT
        assert all(b["s"] == name and b["u"] == o["u"] + shift and b["pu"] == o["pu"] + shift
                   for b, o in zip(books, orig_books, strict=True))
        # The recorded pu chain survives the shift.
        assert all(b["pu"] == a["u"] for a, b in zip(books[1:-1], books[2:], strict=True))
        # Texts are pre-rendered as our client subscribes them, and carry the copy's data.
        for f in mine:
            env = orjson.loads(f.text)
            assert env["data"]["s"] == name
            if f.channel == "book":
                assert env["stream"] == f"{name.lower()}@depth@100ms" and env["data"] == f.data
            else:
                assert env["stream"] == f"{name.lower()}@trade" and env["data"]["e"] == "trade"
        snap = script.snapshots[name]
        assert snap["lastUpdateId"] == base.snapshots["BTCUSDT"]["lastUpdateId"] + shift
        assert snap["bids"] is base.snapshots["BTCUSDT"]["bids"]
    # The originals are untouched (the loader's script is cached and shared).
    assert all(f.symbol == "BTCUSDT" for f in base.frames)


def test_bybit_fanout_renames_topics_and_shifts_u() -> None:
    base = load_jsonl(str(DATA / "bybit/BYBIT.jsonl"), "linear", ("book", "trade"))
    script, names = fanout_script("bybit-linear", base, 6, 200)
    assert len(names) == 6 and len(set(names)) == 6
    assert names[:4] == [f"X000{s}" for s in base.symbols]
    for f in script.frames:
        msg = orjson.loads(f.text)
        assert msg["topic"].endswith("." + f.symbol) and f.data["topic"] == msg["topic"]
        if f.channel == "book":
            assert msg == f.data
            assert msg["data"]["s"] == f.symbol and msg["data"]["u"] > ID_SHIFT
        else:
            assert all(t["s"] == f.symbol for t in msg["data"])


def test_recorded_rate_of_binance_usdm() -> None:
    # 6,551 depth + 21,313 trade frames over the ~345 s hftbacktest session.
    assert recorded_rate("binance-usdm", DATA) == pytest.approx(27864 / 345, rel=0.02)


def test_small_end_to_end_run() -> None:
    r = measure_cpu(CpuParams(symbols=3, seconds=2.0, warmup_s=20.0, analysis=True, data_dir=str(DATA)))
    assert r.live == 3 and r.connections >= 1
    assert r.problems == {"gaps": 0, "resyncs": 0, "malformed": 0, "reconnects": 0}
    assert r.target_fps == pytest.approx(3 * r.recorded_fps)
    assert r.received_fps > 0 and r.events > 0
    assert 0 < r.cpu_pct <= r.cpu_pct_at_target and r.seconds >= 2.0
    assert r.to_dict()["meets_target"] == r.meets_target
    out = io.StringIO()
    Console(file=out, width=200).print(cpu_table([r]))
    assert "binance-usdm" in out.getvalue() and "3/3" in out.getvalue()
