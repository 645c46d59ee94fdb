"""Profile column beside the ladder and VWAP lines on the price chart: hand-computed rows and dots."""

from __future__ import annotations

import math

import numpy as np

from tapescope.engine.profile import ProfileStats
from tapescope.engine.snapshot import Series
from tapescope.engine.vwap import VwapBands
from tapescope.widgets.braille import BRAILLE_BASE
from tapescope.widgets.cvd_chart import CvdChart
from tapescope.widgets.ladder_rows import LadderRow
from tapescope.widgets.profile_column import ProfileColumn, column_rows, ladder_prices
from tapescope.widgets.vwap_overlay import reference_grid

#: Tick-sized bins from 100.0: volumes 2, 6, 1, 0, 3 at 100.0 .. 100.4.
PROFILE = ProfileStats(step=0.1, first_price=100.0, volumes=np.array([2.0, 6.0, 1.0, 0.0, 3.0]),
                       total=12.0, poc=100.1, val=100.0, vah=100.2)


def text_of(widget, y: int) -> str:
    return "".join(seg.text for seg in widget.render_line(y))


def test_rows_at_tick_step_are_the_bins() -> None:
    prices = [100.5, 100.4, 100.3, 100.2, 100.1, 100.0, 99.9]
    rows = column_rows(PROFILE, None, prices, 0.1, 3)
    # Largest bin 6 -> 6 half cells; 3 -> 3, 2 -> 2, 1 -> 1.
    assert [(r.volume, r.half_cells, r.zone, r.note) for r in rows] == [
        (0.0, 0, "out", ""), (3.0, 3, "out", ""), (0.0, 0, "out", ""), (1.0, 1, "value", ""),
        (6.0, 6, "poc", "◆"), (2.0, 2, "value", ""), (0.0, 0, "out", ""),
    ]


def test_rows_of_two_ticks_sum_whole_bins_and_scale_to_the_whole_profile() -> None:
    # Rows [100.0, 100.2) = 2 + 6 = 8, [100.2, 100.4) = 1 + 0 = 1, [100.4, 100.6) = 3.
    rows = column_rows(PROFILE, None, [100.4, 100.2, None, 100.0], 0.2, 2)
    assert [(r.price, r.volume, r.half_cells) if r else None for r in rows] == [
        (100.4, 3.0, 2), (100.2, 1.0, 0), None, (100.0, 8.0, 4)]
    # Only the top row visible: still scaled to the 8 of the POC row (off screen, below).
    (top,) = column_rows(PROFILE, None, [100.4], 0.2, 4)
    assert top.half_cells == round(3 / 8 * 8) and top.note == "◆↓"


def test_vwap_and_band_notes() -> None:
    vwap = VwapBands(100.2, 0.1, 12.0, ((1.0, 100.1, 100.3),))
    rows = column_rows(PROFILE, vwap, [100.3, 100.2, 100.1, 100.0], 0.1, 3)
    assert [r.note for r in rows] == ["+1σ", "VW", "-1σ", ""]


def test_no_profile_or_no_prices() -> None:
    assert column_rows(None, None, [1.0, None], 0.1, 3) == [None, None]
    empty = ProfileStats(step=0.1, first_price=100.0, volumes=np.zeros(2), total=0.0)
    assert column_rows(empty, None, [100.0], 0.1, 3) == [None]


def test_ladder_prices_from_laid_out_rows() -> None:
    rows = [LadderRow("ask", "1,000.5"), LadderRow("spread", text="spread 1t"),
            LadderRow("gap", "1,000.3"), LadderRow("bid", "1,000.0"), LadderRow("blank")]
    assert ladder_prices(rows) == (1000.5, None, 1000.3, 1000.0, None)


async def test_profile_column_draws_note_and_bar(host) -> None:
    column = ProfileColumn()
    column.styles.width = 6
    app = host(column)
    async with app.run_test(size=(6, 4)) as pilot:
        column.show_profile(PROFILE, None, (100.2, 100.1, 100.0, None), 0.1)
        await pilot.pause()
        # Bar width 6 - 3 = 3 cells = 6 half cells for the POC's 6.
        assert [text_of(column, y) for y in range(4)] == ["   ▌  ", "◆  ███", "   █  ", "      "]
        before = column.lines_refreshed
        column.show_profile(PROFILE, None, (100.2, 100.1, 100.0, None), 0.1)
        assert column.lines_refreshed == before          # same inputs: nothing recomputed


def test_reference_grid_matches_the_price_line_scale() -> None:
    # Range 0..7 over 2 rows = 8 dot levels: value v sits on level v, counted from the bottom.
    grid = reference_grid([(5.0, True), (1.0, False)], 0.0, 7.0, 4, 2)
    # 5 -> dot row 7 - 5 = 2 (top cell, third dot row): bits 0x04 | 0x20 in every cell.
    assert grid[0] == [0x24] * 4
    # 1 -> dot row 6 (bottom cell, third dot row): left dot 0x04 in every other cell.
    assert grid[1] == [0x04, 0, 0x04, 0]


async def test_chart_draws_vwap_where_the_lines_leave_room(host) -> None:
    chart = CvdChart()
    chart.redraw_interval = 0.0
    app = host(chart)
    async with app.run_test(size=(4, 3)) as pilot:
        chart.vwap = VwapBands(102.0, math.nan, 1.0, ())
        chart.series = Series(np.arange(8, dtype=np.int64), np.linspace(100.0, 107.0, 8),
                              np.zeros(8), np.zeros(8))
        await pilot.pause()
        # Price 100..107 over 2 plot rows: 102 is level 2 -> dot row 5 (bottom cell, row 1).
        line = text_of(chart, 2)
        marks = [ch for ch in line if 0 < ord(ch) - BRAILLE_BASE < 256 and (ord(ch) - BRAILLE_BASE) & 0x12 == 0x12]
        assert marks, line
