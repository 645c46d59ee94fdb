"""Regime panel: hand-built volatility, VPIN and flow snapshots rendered line by line."""

from __future__ import annotations

import math

from textual.app import App, ComposeResult

from tapescope.engine.kalman import TrendSnapshot
from tapescope.engine.regime import MarketRegime, VolatilitySnapshot
from tapescope.engine.snapshot import FlowSnapshot
from tapescope.engine.volatility import (
    SECONDS_PER_YEAR,
    GarchSnapshot,
    RealisedVolSnapshot,
    VolRegime,
    VolState,
)
from tapescope.engine.vpin import VpinSnapshot
from tapescope.themes.colours import parse_rgb
from tapescope.themes.extra import COLORBLIND
from tapescope.widgets.regime_panel import RegimePanel, regime_lines


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.register_theme(COLORBLIND)
        self.theme = COLORBLIND.name

    def compose(self) -> ComposeResult:
        yield RegimePanel(id="regime")


def vol_snapshot(forecast: float = 0.4234, regime: MarketRegime = MarketRegime.TREND_UP,
                 tstat: float = 3.41) -> VolatilitySnapshot:
    return VolatilitySnapshot(
        realised=RealisedVolSnapshot(vols=((60, 0.512), (300, 0.38), (3600, 0.3)), short=0.38,
                                     long=0.3, ratio=38 / 30, state=VolState.EXPANDING,
                                     short_z=2.04),
        garch=GarchSnapshot(bars=240, fitted=True, forecast_ann=forecast),
        vol_regime=VolRegime.MEDIUM,
        trend=TrendSnapshot(samples=300, slope_bps=0.4249, tstat=tstat),
        regime=regime,
    )


VPIN = VpinSnapshot(buckets=60, vpin=0.3124, z=1.26, fill=0.47)
FLOW = FlowSnapshot(spread_ticks=2.0, spread_bps=0.5, spread_z=3.4, spread_widening=True)


def test_lines_hand_computed() -> None:
    lines = regime_lines(vol_snapshot(), VPIN, FLOW)
    text = ["".join(t for t, _ in line.parts) for line in lines]
    hour = 0.4234 * math.sqrt(3600 / SECONDS_PER_YEAR) * 100  # 0.4524 %
    assert f"{hour:.3g}" == "0.452"
    assert text == [
        "σ 42.3%  1h ±0.452%  MEDIUM  fit",
        "EXPANDING  1m 51.2%  5m 38.0%  1h 30.0%  ×1.27  z+2.0",
        "▲ TREND_UP  +0.425bp/s  t+3.4",
        "0.312  z+1.3  bucket 40%",
        "2.0t  0.50bp  z+3.4  WIDENING",
    ]
    tones = {t: tone for line in lines for t, tone in line.parts}
    assert tones["EXPANDING"] == "alert"
    assert tones["  z+2.0"] == "alert"  # |z| >= 2 flagged
    assert tones["  z+1.3"] == ""
    assert tones["▲ TREND_UP"] == "up"
    assert tones["  WIDENING"] == "alert"


def test_empty_inputs_show_placeholders() -> None:
    text = ["".join(t for t, _ in line.parts) for line in regime_lines(None, None, None)]
    assert text == ["σ —  UNKNOWN", "UNKNOWN  ×—  z—", "? UNKNOWN  —  t—",
                    "—  z—  bucket 0%", "—  —  z—"]
    ewma = VolatilitySnapshot(garch=GarchSnapshot(fitted=False, forecast_ann=0.2))
    assert regime_lines(ewma, None, None)[0].parts[-1] == ("  ewma", "calm")


async def test_widget_repaints_only_when_text_changes() -> None:
    app = Host()
    async with app.run_test(size=(80, 10)) as pilot:
        panel = app.query_one(RegimePanel)
        panel.volatility, panel.vpin, panel.flow = vol_snapshot(), VPIN, FLOW
        await pilot.pause()
        assert panel.plain.splitlines()[2] == "Trend   ▲ TREND_UP  +0.425bp/s  t+3.4"
        count = panel.repaints
        # A forecast change below the shown precision and an equal VPIN: no repaint.
        panel.volatility = vol_snapshot(forecast=0.42339)
        panel.vpin = VpinSnapshot(buckets=61, vpin=0.31241, z=1.26, fill=0.49)
        assert panel.repaints == count
        panel.volatility = vol_snapshot(regime=MarketRegime.TREND_DOWN, tstat=-3.0)
        assert panel.repaints == count + 1
        assert "▼ TREND_DOWN" in panel.plain
        # A book that is not live blanks the spread line.
        panel.live = False
        assert panel.plain.splitlines()[-1] == "Spread  —"
        await pilot.pause()
        # The trend label is drawn in the theme's downtrend colour.
        text = panel.render()
        span = next(s for s in text.spans if text.plain[s.start:s.end] == "▼ TREND_DOWN")
        triplet = span.style.color.get_truecolor()
        assert (triplet.red, triplet.green, triplet.blue) == parse_rgb(
            COLORBLIND.variables["regime-down"])
