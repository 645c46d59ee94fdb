"""Liquidity heatmap: hand-computed cells for a known history, dots, labels, refresh economy."""

from __future__ import annotations

import math

import numpy as np

from tapescope.engine.heatmap import HeatmapSnapshot
from tapescope.widgets.heatmap import (
    UNKNOWN,
    ZOOMS,
    LiquidityHeatmap,
    build_grid,
    dot_classes,
    levels_of,
    reference,
)

NAN = math.nan


def known(sizes_00: float = 0.0) -> HeatmapSnapshot:
    """Rows 100..103 (step 1), three columns, the last one unknown (book not LIVE)."""
    sizes = np.array([[1.0, sizes_00, NAN],    # row 100
                      [2.0, 4.0, NAN],         # row 101
                      [0.0, 4.0, NAN],         # row 102
                      [0.0, 0.0, NAN]],        # row 103
                     dtype=np.float32)
    buys = np.zeros((4, 3), dtype=np.float32)
    sells = np.zeros((4, 3), dtype=np.float32)
    buys[1, 1] = 3.0   # bought 3 at 101 in column 1
    sells[2, 0] = 1.0  # sold 1 at 102 in column 0
    return HeatmapSnapshot(1.0, 100, sizes, buys, sells, np.array([10, 11, 12]),
                           np.array([101.5, 101.5, NAN]), 1, 3)


def test_reference_levels_and_dots_by_hand() -> None:
    g = build_grid(known(), 101, 4, 5, 1)
    # Pixels from the top: rows 103, 102, 101, 100; two blank columns on the left.
    assert g.pad == 2 and g.low_rows.tolist() == [103, 102, 101, 100]
    np.testing.assert_array_equal(g.sizes, [[0, 0, NAN], [0, 4, NAN], [2, 4, NAN], [1, 0, NAN]])
    # Positive sizes 1, 2, 4, 4: the 97th percentile (linear) is 4.
    assert reference(g.sizes) == 4.0
    # ceil(8 * sqrt(size / 4)): 1 -> 4, 2 -> ceil(5.66) = 6, 4 -> 8.
    assert levels_of(g.sizes, 4.0).tolist() == [[0, 0, UNKNOWN], [0, 8, UNKNOWN],
                                                [6, 8, UNKNOWN], [4, 0, UNKNOWN]]
    assert dot_classes(np.array([[1.0, 0.0], [0.0, 3.0]])).tolist() == [[1, 0], [0, 3]]


def test_zoomed_in_pixels_repeat_rows_and_zoomed_out_sum_them() -> None:
    s = known()
    tall = build_grid(s, 101, 4, 3, 0)  # two pixels per row: 102, 102, 101, 101
    assert tall.low_rows.tolist() == [102, 102, 101, 101]
    np.testing.assert_array_equal(tall.sizes[:, 0], [0, 0, 2, 2])
    wide = build_grid(s, 101, 2, 3, 2)  # two rows per pixel: 103+104, 101+102
    np.testing.assert_array_equal(wide.sizes[:, 0], [0, 2])
    np.testing.assert_array_equal(wide.sizes[:, 1], [0, 8])
    np.testing.assert_array_equal(wide.buys[:, 1], [0, 3])
    assert ZOOMS[2] == (1, 2)


async def test_widget_text_and_colours_for_a_known_history(host, line_text) -> None:
    hm = LiquidityHeatmap()
    async with host(hm).run_test(size=(12, 4)) as pilot:
        hm.heatmap = known()
        await pilot.pause()
        assert hm.centre == 101
        # 8 pixels, rows 105..98 from the top. Label column: len("105.00") + 1 = 7; 5 cell
        # columns, the first two blank. Line 0 (rows 105/104) is outside the history: unknown.
        assert line_text(hm, 0) == " " * 12
        # Line 1 (rows 103/102): a sell dot at 102 in column 0, then level 0 over 8, unknown.
        assert line_text(hm, 1) == "  ·▀ " + " " * 7
        # Line 2 (rows 101/100): 6 over 4, the buy dot (largest volume: ●), unknown; mid label.
        assert line_text(hm, 2) == "  ▀● " + " 101.00"
        strip = list(hm.render_line(2))
        ramp = hm._ramp_styles()
        half = next(s for s in strip if s.text == "▀")
        assert half.style.color == ramp[5].color and half.style.bgcolor == ramp[3].color
        dot = next(s for s in strip if s.text == "●")
        assert dot.style.color == hm.get_component_rich_style("heatmap--buy").color
        assert dot.style.bgcolor == ramp[7].color  # the brighter of its two pixels (8 over 0)
        unknown_bg = hm.get_component_rich_style("heatmap--unknown").bgcolor
        tail = [s for s in strip if s.style and s.style.bgcolor == unknown_bg]
        assert "".join(s.text for s in tail).startswith(" ")
        sell = next(s for s in hm.render_line(1) if s.text == "·")
        assert sell.style.color == hm.get_component_rich_style("heatmap--sell").color


async def test_same_snapshot_costs_nothing_and_a_change_refreshes_its_line_only(host) -> None:
    hm = LiquidityHeatmap()
    async with host(hm).run_test(size=(12, 4)) as pilot:
        first = known()
        hm.heatmap = first
        await pilot.pause()
        before = hm.lines_refreshed
        lines = hm.lines
        hm.heatmap = first  # the frame timer assigns the same object every frame
        await pilot.pause()
        assert hm.lines_refreshed == before and hm.lines == lines
        hm.heatmap = known(sizes_00=1.0)  # row 100, column 1 now 1 (level 4): line 2 only
        await pilot.pause()
        assert hm.lines_refreshed == before + 1
        assert [a == b for a, b in zip(hm.lines, lines, strict=True)] == [True, True, False, True]


async def test_zoom_clamps_and_recentres(host, line_text) -> None:
    hm = LiquidityHeatmap()
    async with host(hm).run_test(size=(12, 4)) as pilot:
        hm.heatmap = known()
        await pilot.pause()
        for _ in range(10):
            hm.zoom_out()
        assert hm.zoom == len(ZOOMS) - 1
        for _ in range(10):
            hm.zoom_in()
        await pilot.pause()
        assert hm.zoom == 0 and hm.centre == 101
        # Zoomed in: each row is a full cell (rows 103..100); line 2 is row 101: level 6 as a
        # full cell, the buy dot, unknown, and the mid label.
        assert line_text(hm, 2) == "   ● " + " 101.00"


async def test_time_axis_labels_whole_periods(host, line_text) -> None:
    n = 40
    t0 = 1_700_000_000  # 22:13:20 UTC
    sizes = np.ones((10, n), dtype=np.float32)
    snap = HeatmapSnapshot(1.0, 100, sizes, np.zeros_like(sizes), np.zeros_like(sizes),
                           np.arange(t0 - n + 1, t0 + 1), np.full(n, 105.0), 1, n)
    hm = LiquidityHeatmap()
    async with host(hm).run_test(size=(50, 8)) as pilot:
        hm.heatmap = snap
        await pilot.pause()
        axis = line_text(hm, 7)
        # 43 cell columns (labels 7 wide): 3 blank, then the 40 columns. Labels every 10 s at
        # t % 10 == 0: column i holds t0 - 39 + i, so i = 9 (22:12:50), 19, 29; 39 (22:13:20)
        # would overrun the right edge.
        assert axis[3 + 9:3 + 17] == "22:12:50"
        assert axis[3 + 19:3 + 27] == "22:13:00" and axis[3 + 29:3 + 37] == "22:13:10"
        assert axis.count(":") == 6


async def test_waiting_message_without_history(host, line_text) -> None:
    hm = LiquidityHeatmap()
    async with host(hm).run_test(size=(40, 5)) as pilot:
        await pilot.pause()
        assert "waiting for a live book" in line_text(hm, 2)
