"""SVG snapshots of a marker-rich ladder and delta bars, in the default and a colour-blind theme.

Hand-made data (no engine, no clock): every marker kind at every fade step,
a live wall, the last trade, and a CVD chart whose delta bars go both ways.
Regenerate with ``--snapshot-update`` and look at the pictures.
"""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.containers import Horizontal

from tapescope.engine.detectors.base import DetectorKind
from tapescope.engine.markers import LadderMarker
from tapescope.engine.snapshot import Ladder, Series, TradePrint
from tapescope.themes import THEMES, market_variable_defaults
from tapescope.widgets.cvd_chart import CvdChart
from tapescope.widgets.ladder import DepthLadder, LadderView

K = DetectorKind
BIDS = tuple((round(99.5 - 0.5 * i, 1), float(s)) for i, s in enumerate([2, 4, 1, 0, 3, 25, 2, 1, 5, 2]))
ASKS = tuple((round(100.0 + 0.5 * i, 1), float(s)) for i, s in enumerate([1, 3, 2, 6, 0, 2, 30, 1, 4, 2]))
MARKERS = (
    LadderMarker(K.SPOOF, -1, 101.0, 12.0, age_s=2.0, life_s=30.0),     # fresh
    LadderMarker(K.WALL_PULLED, -1, 102.0, 30.0, age_s=9.0, life_s=20.0),  # mid
    LadderMarker(K.ICEBERG, 1, 98.0, 6.0, age_s=50.0, life_s=60.0),     # old
    LadderMarker(K.ABSORPTION, 1, 99.5, 40.0, age_s=12.0, life_s=30.0),  # mid, best bid
    LadderMarker(K.VACUUM, 0, 99.75, 0.0, age_s=1.0, life_s=15.0),      # fresh, at mid
    LadderMarker(K.WALL, 1, 97.0, 25.0),
    LadderMarker(K.WALL, -1, 103.0, 30.0),
)
VIEW = LadderView(Ladder(0.5, BIDS, ASKS), price_decimals=1, spread_ticks=1.0, spread_bps=50.0,
                  key="X", markers=MARKERS, last_trade=TradePrint(0, 100.0, 1.25, 1))
DELTA = np.array([3.0, 1.0, -2.0, -4.0, 0.5, 0.5, 6.0, 2.0, -1.0, -1.0, -7.0, -3.0, 2.0, 0.0] * 3)
SERIES = Series(np.arange(len(DELTA), dtype=np.int64), 100.0 + np.cumsum(DELTA) * 0.01,
                np.cumsum(DELTA), DELTA)


class LadderChartApp(App[None]):
    """A ladder beside a CVD chart, fed hand-made data."""

    CSS = "DepthLadder { width: 42; } CvdChart { width: 1fr; }"

    def __init__(self, theme: str) -> None:
        super().__init__()
        for t in THEMES:
            self.register_theme(t)
        self.theme = theme
        self.ladder = DepthLadder()
        self.chart = CvdChart()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return market_variable_defaults()

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield self.ladder
            yield self.chart


@pytest.mark.parametrize("theme", ["tapescope-dark", "tapescope-colorblind"])
def test_markers_and_delta_bars(snap_compare, theme: str) -> None:
    app = LadderChartApp(theme)

    async def run_before(pilot) -> None:
        app.ladder.anchored = False
        app.ladder.view = VIEW
        app.chart.price_decimals = 2
        app.chart.series = SERIES
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 16), run_before=run_before)
