"""Tape, CVD chart, readouts, status bar and watchlist: rows, text and refresh skipping."""

from __future__ import annotations

import math

import numpy as np
from rich.color import Color

from tapescope.engine.events import FeedState
from tapescope.engine.snapshot import FlowSnapshot, Series, TradePrint
from tapescope.widgets.cvd_chart import CvdChart
from tapescope.widgets.readouts import Readouts, build_items, layout_lines
from tapescope.widgets.status_bar import StatusBar, StatusView, status_parts
from tapescope.widgets.tape import Tape, TapeRow
from tapescope.widgets.tape import build_rows as tape_rows

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


def text_of(widget, y: int) -> str:
    return "".join(seg.text for seg in widget.render_line(y))


# ------------------------------------------------------------------------ tape


def test_tape_rows_newest_first_and_big_prints() -> None:
    trades = tuple(TradePrint(T0 + i * 10**8, 100.0 + i * 0.1, 1.0, 1 if i % 2 else -1)
                   for i in range(12)) + (TradePrint(T0 + 2 * 10**9, 101.3, 6.0, 1),)
    rows = tape_rows(trades, 3, 1)
    assert rows == [
        TapeRow("00:00:02.000", "101.3", "6.00", 1, True),  # 6 >= 5 x median 1.0
        TapeRow("00:00:01.100", "101.1", "1.00", 1, False),
        TapeRow("00:00:01.000", "101.0", "1.00", -1, False),
    ]
    assert tape_rows((), 3, 1) == [] and tape_rows(trades, 0, 1) == []


async def test_tape_widget_colours_by_aggressor(host) -> None:
    tape = Tape()
    app = host(tape)
    async with app.run_test(size=(40, 4)) as pilot:
        tape.price_decimals = 1
        tape.trades = (TradePrint(T0, 100.0, 0.5, -1), TradePrint(T0 + 10**9, 100.1, 2.0, 1))
        await pilot.pause()
        assert text_of(tape, 0).startswith("00:00:01.000") and "100.1" in text_of(tape, 0)
        assert "0.500" in text_of(tape, 1)
        buy = [s for s in tape.render_line(0) if "100.1" in s.text][0]
        sell = [s for s in tape.render_line(1) if "100.0" in s.text][0]
        assert buy.style.color == Color.parse("#3fb950")  # $buy of tapescope-dark
        assert sell.style.color == Color.parse("#ff7b72")  # $sell
        assert text_of(tape, 3).strip() == ""


# ------------------------------------------------------------------- cvd chart


async def test_cvd_chart_labels_and_refresh_skip(host, monkeypatch) -> None:
    chart = CvdChart()
    app = host(chart)
    async with app.run_test(size=(20, 5)) as pilot:
        t = np.arange(10, dtype=np.int64)
        series = Series(t, np.linspace(100.0, 101.0, 10), np.arange(10, dtype=float) * 100, np.full(10, 100.0))
        chart.price_decimals = 1
        chart.series = series
        await pilot.pause()
        # 20 cells cannot hold "CVD +900  Δ10s +900" and the price range: the window change goes.
        assert chart.labels == ("CVD +900", "px 100.0–101.0")
        assert text_of(chart, 0).startswith("CVD +900")
        plotted = "".join(text_of(chart, y) for y in range(1, 5))
        assert any(0x2800 < ord(c) <= 0x28FF for c in plotted)
        calls: list = []
        monkeypatch.setattr(chart, "refresh", lambda *a, **k: calls.append(a))
        chart.series = Series(t.copy(), series.mid.copy(), series.cvd.copy(), series.delta.copy())
        assert calls == []  # same picture: no refresh
        chart.series = Series(t, series.mid, series.cvd[::-1].copy(), series.delta)
        assert len(calls) == 1


# -------------------------------------------------------------------- readouts


FLOW = FlowSnapshot(cvd=-1234.0, deltas=((10, 1.5), (60, -3.25)), tbsr=0.4, volume_ratio=3.0,
                    volume_spike=True, ofi=((10, 2.0),), imbalance_levels=0.123,
                    imbalance_bps=-0.5, microprice=100.0512, spread_ticks=2.0, spread_bps=1.99,
                    spread_z=-2.5, spread_widening=True, trades_per_s=12.25)


def test_readout_items_text_and_tones() -> None:
    items = {i.label: i.parts for i in build_items(FLOW, True, 2)}
    assert items["spr"] == (("2.0t 1.99bp ", ""), ("z-2.5", "alert"))
    assert items["imb"] == (("+0.12", "pos"), (" / ", ""), ("-0.50", "neg"))
    assert items["µp"] == (("100.051", ""),)
    assert items["ofi"] == (("10s ", ""), ("+2.00", "pos"))
    assert items["Δ"] == (("10s ", ""), ("+1.50", "pos"), (" 1m ", ""), ("-3.25", "neg"))
    assert items["tbsr"] == (("0.40", "neg"),)
    assert items["vol×"] == (("3.00!", "alert"),)
    assert items["cvd"] == (("-1.23k", "neg"),)
    assert items["tps"] == (("12.2", ""),)


def test_spread_alert_follows_the_engine_flag() -> None:
    calm = FlowSnapshot(spread_ticks=1.0, spread_bps=1.0, spread_z=5.0, spread_widening=False)
    assert {i.label: i.parts for i in build_items(calm)}["spr"][1] == ("z+5.0", "")


def test_book_readouts_blank_when_not_live() -> None:
    items = {i.label: i.parts for i in build_items(FLOW, False, 2)}
    assert items["spr"] == items["imb"] == items["µp"] == items["ofi"] == (("—", ""),)
    assert items["cvd"] == (("-1.23k", "neg"),)  # trades are still real


def test_layout_wraps_by_width() -> None:
    items = build_items(FlowSnapshot(), True, 2)
    for width in (30, 45, 80, 200):
        for line in layout_lines(items, width):
            used = sum(len(i.label) + 1 + sum(len(t) for t, _ in i.parts) for i in line) + 2 * (len(line) - 1)
            assert used <= width or len(line) == 1


async def test_readouts_skip_unchanged(host, monkeypatch) -> None:
    widget = Readouts()
    app = host(widget)
    async with app.run_test(size=(60, 6)) as pilot:
        widget.flow = FLOW
        await pilot.pause()
        assert widget.plain.startswith("spr 2.0t 1.99bp z-2.5  imb +0.12 / -0.50")
        calls: list = []
        monkeypatch.setattr(widget, "refresh", lambda *a, **k: calls.append(a))
        widget.flow = FlowSnapshot(**{**{f: getattr(FLOW, f) for f in FLOW.__slots__}, "cvd": -1234.4})
        assert calls == []  # -1234.4 still shows as -1.23k


# ------------------------------------------------------------------ status bar


def test_status_parts_and_badge_tone() -> None:
    parts = status_parts(StatusView("binance-usdm", "binance-usdm:BTCUSDT", FeedState.RESYNCING,
                                    math.nan, 250.0, 10.0, ""))
    assert "".join(t for t, _ in parts) == (
        " binance-usdm │ binance-usdm:BTCUSDT │  RESYNCING  │ — msg/s │ lat 0.25s │ 10.0 fps")
    assert (" RESYNCING ", "alert") in parts


async def test_status_bar_renders(host) -> None:
    bar = StatusBar()
    app = host(bar)
    async with app.run_test(size=(100, 1)) as pilot:
        bar.view = StatusView("sim", "sim:BTC-SIM", FeedState.LIVE, 5123.0, 1.25, 9.9, "00:00:01 UTC")
        await pilot.pause()
        assert bar.plain == " sim │ sim:BTC-SIM │  LIVE  │ 5.12k msg/s │ lat 1.2ms │ 9.9 fps │ 00:00:01 UTC"
