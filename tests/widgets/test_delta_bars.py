"""Delta bars under the CVD chart: column sums aligned with the braille line, half-cell heights."""

from __future__ import annotations

import numpy as np
import pytest

from tapescope.engine.snapshot import Series
from tapescope.themes import THEMES
from tapescope.widgets.braille import plot
from tapescope.widgets.cvd_chart import CvdChart
from tapescope.widgets.delta_bars import (
    bar_halves,
    column_deltas,
    delta_bar_cells,
    delta_rows,
    delta_scale,
)


def lines(columns: list[float], rows: int) -> list[str]:
    return ["".join(c for c, _ in line) for line in delta_bar_cells(columns, rows, delta_scale(columns))]


def test_column_sums_follow_the_braille_columns() -> None:
    # 7 samples in 4 columns: dot columns 1..7 -> cell columns 0,1,1,2,2,3,3.
    assert column_deltas([1.0, 2.0, 3.0, -4.0, 5.0, 6.0, -7.0], 4) == [1.0, 5.0, 1.0, -1.0]
    # 9 samples in 4 columns: the oldest one does not fit.
    assert column_deltas([100.0, 1.0, 2.0, 3.0, -4.0, 5.0, 6.0, -7.0, 0.5], 4) == [3.0, -1.0, 11.0, -6.5]
    assert column_deltas([float("nan"), 2.0], 1) == [2.0]
    assert column_deltas([], 3) == [0.0, 0.0, 0.0]


def test_half_cell_heights_hand_computed() -> None:
    # Scale = largest |sum| = 8; 2 rows = 2 half-cells a side: h = floor(|v| / 8 * 2 + 0.5).
    cols = [8.0, 6.0, 2.0, 1.0, 0.0, -1.0, -4.0, -8.0]
    assert [bar_halves(v, 8.0, 2) for v in cols] == [2, 2, 1, 1, 0, -1, -1, -2]
    # 8 -> 2.0 + 0.5 -> 2; 6 -> 1.5 + 0.5 -> 2; 2 -> 0.5 + 0.5 -> 1; 1 -> 0.25 + 0.5 -> 0, but a
    # non-zero sum shows at least 1 half; -4 -> 1.0 + 0.5 -> 1.
    assert lines(cols, 2) == ["██▄▄    ",
                              "     ▀▀█"]
    # 4 rows: halves 0..7 from the top, the axis between halves 3 and 4. 6 -> 3.0 + 0.5 -> 3
    # halves (1..3: the lower half of row 0 and all of row 1); -4 -> 2 halves (4, 5: row 2).
    assert [bar_halves(v, 8.0, 4) for v in cols] == [4, 3, 1, 1, 0, -1, -2, -4]
    assert lines(cols, 4) == ["█▄      ",
                              "██▄▄    ",
                              "     ▀██",
                              "       █"]
    # One row: the axis runs through the middle of the cells; the sign only.
    assert lines([3.0, -0.5, 0.0], 1) == ["▀▄ "]
    # Three rows: the axis through the middle row (between halves 2 and 3). 9 -> 3 halves
    # (0..2), 3 -> 1 (2), -6 -> 2.5 -> 2 (3, 4), -9 -> 3 (3..5).
    assert lines([9.0, 3.0, -6.0, -9.0], 3) == ["█   ",
                                               "▀▀▄▄",
                                               "  ▀█"]


def test_rows_by_chart_height() -> None:
    assert [delta_rows(h) for h in range(3, 13)] == [0, 0, 1, 1, 2, 2, 2, 2, 2, 3]
    assert delta_rows(40) == 6


def test_a_burst_of_buying_is_under_the_cvd_jump() -> None:
    # An independent check of the alignment: the braille column holding the CVD line's
    # vertical jump is the bar column of the burst.
    delta = np.zeros(23)
    delta[14] = 50.0
    cvd = np.cumsum(delta)
    width = 12
    grid = plot(cvd.tolist(), width, 4)
    cols = column_deltas(delta.tolist(), width)
    # The jump joins the top and bottom rows in exactly one column.
    jump = [x for x in range(width) if grid[0][x] and grid[-1][x]]
    assert jump == [cols.index(50.0)] == [(2 * width - 23 + 14) // 2]


async def test_widget_draws_bars_under_the_line_in_theme_colours(host) -> None:
    chart = CvdChart()
    app = host(chart)
    delta = np.array([4.0, -2.0, 1.0, 1.0, -8.0, 0.0, 2.0, 6.0])
    series = Series(np.arange(8, dtype=np.int64), np.linspace(100.0, 101.0, 8), np.cumsum(delta), delta)
    async with app.run_test(size=(6, 7)) as pilot:  # 7 lines: label, 4 plot lines, 2 bar lines
        chart.series = series
        await pilot.pause()
        # 8 samples in 6 columns: dots 4..11 -> columns 2,2,3,3,4,4,5,5: sums 2, 2, -8, 8.
        # Scale 8; 2 half-cells a side: 2 -> 0.5 -> 1 half; 8 -> 2 halves.
        assert chart.delta_bars == ["  ▄▄ █",
                                    "    █ "]
        text = ["".join(seg.text for seg in chart.render_line(y)) for y in range(7)]
        assert text[5:] == chart.delta_bars
        up = next(seg for seg in chart.render_line(5) if "▄" in seg.text)
        down = next(seg for seg in chart.render_line(6) if "█" in seg.text)
        assert up.style.color == chart.get_component_rich_style("cvd-chart--delta-up").color
        assert down.style.color == chart.get_component_rich_style("cvd-chart--delta-down").color


@pytest.mark.parametrize("theme", [t.name for t in THEMES])
async def test_bars_differ_by_shape_and_colour_in_every_theme(host, theme: str) -> None:
    chart = CvdChart()
    app = host(chart)
    delta = np.array([5.0, 5.0, -5.0, -5.0])
    series = Series(np.arange(4, dtype=np.int64), np.linspace(1.0, 2.0, 4), np.cumsum(delta), delta)
    async with app.run_test(size=(2, 5)) as pilot:  # 5 lines: one bar line, axis through it
        app.theme = theme
        chart.series = series
        await pilot.pause()
        assert chart.delta_bars == ["▀▄"]  # up half vs down half: no colour needed
        segs = [seg for seg in chart.render_line(4) if seg.text.strip()]
        assert segs[0].style.color != segs[1].style.color


async def test_only_changed_bar_lines_refresh(host, monkeypatch) -> None:
    chart = CvdChart()
    app = host(chart)
    delta = np.array([1.0, 1.0, -1.0, -1.0, 2.0, 2.0])
    t = np.arange(6, dtype=np.int64)
    mid = np.full(6, 100.0)
    async with app.run_test(size=(3, 7)) as pilot:
        chart.series = Series(t, mid, np.zeros(6), delta)
        await pilot.pause()
        # Columns 2, -2, 4 on scale 4: 1, -1 and 2 halves.
        assert chart.delta_bars == ["▄ █", " ▀ "]
        regions: list = []
        monkeypatch.setattr(chart, "refresh", lambda *r, **k: regions.extend(r))
        # Same CVD line and labels, the selling column turns to buying: only the bar lines change.
        chart.series = Series(t, mid, np.zeros(6), np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0]))
        assert chart.delta_bars == ["▄▄█", "   "]
        assert sorted(r.y for r in regions) == [5, 6]


async def test_label_line_keeps_what_fits(host) -> None:
    chart = CvdChart()
    app = host(chart)
    delta = np.array([1.0, -3.0, 2.0, 2.0])
    series = Series(np.arange(4, dtype=np.int64), np.array([10.0, 10.5, 11.0, 12.0]), np.cumsum(delta), delta)
    async with app.run_test(size=(60, 7)) as pilot:
        chart.price_decimals = 1
        chart.series = series
        await pilot.pause()
        # Wide: CVD, its change over the window, the bar scale and the price range.
        # 4 samples in 60 columns: columns 58 (1 - 3 = -2) and 59 (2 + 2 = 4): scale 4.
        assert chart.labels == ("CVD +2.00  Δ4s +1.00", "Δ/2s ±4.00  px 10.0–12.0")
        await pilot.resize_terminal(40, 7)
        await pilot.pause()
        assert chart.labels == ("CVD +2.00  Δ4s +1.00", "px 10.0–12.0")
