"""Braille plotting against hand-computed dot masks."""

from __future__ import annotations

import math

from tapescope.widgets.braille import plot, to_text, value_range


def test_rising_line_in_one_cell_row() -> None:
    # 4 points over 2 cells, levels 0..3 bottom-up: y = 3, 2, 1, 0 (top-down).
    grid = plot([0.0, 1.0, 2.0, 3.0], width=2, height=1)
    # cell 0: x0 row3 (0x40) and x1 rows 2..3 joined (0x20 | 0x80)
    # cell 1: x2 rows 1..2 (0x02 | 0x04) and x3 rows 0..1 (0x08 | 0x10)
    assert grid == [[0x40 | 0x20 | 0x80, 0x02 | 0x04 | 0x08 | 0x10]]
    assert to_text(grid) == ["⣠⠞"]


def test_newest_point_is_rightmost_and_history_is_clipped() -> None:
    grid = plot([9.0, 9.0, 0.0, 1.0], width=1, height=1)
    # Only the last 2 points fit; they span the full height.
    assert grid == [[0x40 | 0x08 | 0x10 | 0x20 | 0x80]]


def test_short_series_is_right_aligned() -> None:
    grid = plot([5.0], width=3, height=1)
    assert grid[0][0] == 0 and grid[0][1] == 0 and grid[0][2] != 0


def test_multi_row_scaling_and_gaps() -> None:
    grid = plot([0.0, math.nan, 7.0], width=2, height=2, lo=0.0, hi=7.0)
    # Three points right-aligned in 4 dot columns sit at x = 1, 2, 3. Level 0 is the
    # bottom dot of the bottom cell row, level 7 the top dot of the top row; the nan
    # at x = 2 breaks the line, so nothing joins them.
    assert grid[1][0] == 0x80
    assert grid[0][1] == 0x08
    assert grid[0][0] == 0 and grid[1][1] == 0


def test_flat_and_empty_series() -> None:
    assert all(math.isnan(v) for v in value_range([]))
    grid = plot([3.0, 3.0], width=1, height=2)
    assert sum(bool(m) for row in grid for m in row) == 1  # a flat line in the middle
    assert plot([], 2, 2) == [[0, 0], [0, 0]]
