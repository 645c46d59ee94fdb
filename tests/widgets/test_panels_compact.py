"""Heatmap, signals panel and alert log together at 80x24; theme switches; UI doctests of these modules."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical

from tapescope.engine.alerts import Alert, RuleKind, Severity
from tapescope.engine.events import BookSnapshot, Trade
from tapescope.engine.heatmap import HeatmapHistory, HeatmapParams
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import Market
from tapescope.engine.signals.base import Signal
from tapescope.engine.signals.fusion import FusedScore, Verdict
from tapescope.widgets.alert_log import AlertLog
from tapescope.widgets.heatmap import LiquidityHeatmap
from tapescope.widgets.signals_panel import SignalsPanel, SignalsView

S = 1_000_000_000
T0 = 1_700_000_000
MARKET = {"bid": "#2ea043", "ask": "#f85149", "buy": "#3fb950", "sell": "#ff7b72",
          "alert": "#d29922", "chart-price": "#79c0ff"}


class Compact(App[None]):
    """The three panels as a compact dashboard would place them."""

    CSS = """
    #heat { width: 46; }
    #side { width: 1fr; }
    #log { height: 6; }
    """

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return MARKET

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield LiquidityHeatmap(id="heat")
            with Vertical(id="side"):
                yield SignalsPanel(id="signals")
                yield AlertLog(id="log")


def history() -> HeatmapHistory:
    m = Market(Instrument("sim", "BTCUSDT", tick_size=0.1))
    h = HeatmapHistory.attach(m, HeatmapParams(rows=60, columns=120, row_ticks=10))
    rng = np.random.default_rng(1)
    mid = 60_000.0
    for k in range(80):
        mid += float(rng.integers(-3, 4))
        bids = [(round(mid - 0.5 - i, 1), float(rng.integers(1, 30))) for i in range(40)]
        asks = [(round(mid + 0.5 + i, 1), float(rng.integers(1, 30))) for i in range(40)]
        m.on_event(BookSnapshot("sim:BTCUSDT", (T0 + k) * S, 0, bids, asks))
        m.on_event(Trade("sim:BTCUSDT", (T0 + k) * S + 1, 0, mid + 0.5, 0.5 + k % 3, 1 - 2 * (k % 2)))
    return h


def lines(widget) -> list[str]:
    return ["".join(s.text for s in widget.render_line(y)) for y in range(widget.size.height)]


async def test_compact_80x24_is_readable() -> None:
    app = Compact()
    async with app.run_test(size=(80, 24)) as pilot:
        heat = app.query_one(LiquidityHeatmap)
        signals = app.query_one(SignalsPanel)
        log = app.query_one(AlertLog)
        heat.heatmap = history().snapshot()
        sig = Signal("sim:BTCUSDT", (T0 + 70) * S, "compression_breakout", 1, 0.8, 0.6,
                     ("range 12t broke +3t", "vol COMPRESSED 40s ago"), 60_010.0)
        signals.view = SignalsView(FusedScore(0.62, 0.6, False, 1), (Verdict(sig, True),), (T0 + 80) * S)
        log.alerts = tuple(
            Alert("binance-usdm:BTCUSDT", (T0 + 60 + i) * S, "score >= 0.6", RuleKind.SCORE,
                  Severity.WARNING, f"fused score +0.6{i} (conf 0.60, 1 signals)", 1)
            for i in range(8))
        await pilot.pause()
        assert heat.size == (46, 24) and signals.size == (34, 18) and log.size == (34, 6)
        heat_lines = lines(heat)
        # Every line is exactly the panel width; the price axis shows the mid row label.
        assert all(len(t) == 46 for t in heat_lines)
        assert any("60,0" in t for t in heat_lines[:-1])
        assert ":" in heat_lines[-1]  # the time axis
        sig_lines = lines(signals)
        assert sig_lines[0].startswith("+0.62 ") and sig_lines[0].rstrip().endswith("c0.60")
        # Too narrow for name, numbers, age and state: the name is cut, the state stays.
        assert sig_lines[2] == "▲ compression_br… 10s ✓ actionable"
        assert sig_lines[3].startswith("  range 12t broke +3t")
        log_lines = lines(log)
        assert len(log_lines) == 6 and all(len(t) == 34 for t in log_lines)
        assert log_lines[0] == "22:14:27 BTCUSDT ▲ fused score +0…"


async def test_theme_switch_recolours_the_heatmap() -> None:
    app = Compact()
    async with app.run_test(size=(80, 24)) as pilot:
        heat = app.query_one(LiquidityHeatmap)
        heat.heatmap = history().snapshot()
        await pilot.pause()
        dark = [s.color for s in heat._ramp_styles()]
        strip_dark = heat.render_line(5)
        app.theme = "textual-light"
        await pilot.pause()
        light = [s.color for s in heat._ramp_styles()]
        # $primary differs between the two themes ($warning and $error do not).
        assert dark[0] != light[0] and dark[-1] == light[-1]
        assert heat.render_line(5) is not strip_dark  # the strip cache was dropped


@pytest.mark.parametrize("name", ["tapescope.widgets.line_panel", "tapescope.widgets.heatmap",
                                  "tapescope.widgets.signals_panel", "tapescope.widgets.alert_log",
                                  "tapescope.tui.alerts"])
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
