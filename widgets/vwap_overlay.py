"""VWAP reference lines for the braille price chart: the session VWAP solid, its bands dashed.

:func:`reference_grid` maps price levels onto the same dot grid
:func:`~tapescope.widgets.braille.plot` uses for the mid-price line (same
range, same rounding), so a reference line sits exactly where the price line
would be at that price. The chart draws these dots only in cells the CVD and
price lines leave empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tapescope.engine.vwap import VwapBands

#: Dot bits by [column][row-from-top] within a braille cell (Unicode numbering).
_DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def vwap_levels(vwap: VwapBands | None) -> list[tuple[float, bool]]:
    """``(price, solid)`` of the VWAP (solid) and each band edge (dashed).

    >>> vwap_levels(VwapBands(100.0, 1.0, 5.0, ((1.0, 99.0, 101.0),)))
    [(100.0, True), (99.0, False), (101.0, False)]
    >>> vwap_levels(None), vwap_levels(VwapBands())
    ([], [])
    """
    if vwap is None or not math.isfinite(vwap.vwap):
        return []
    out = [(vwap.vwap, True)]
    for _, lower, upper in vwap.bands:
        out.extend(((lower, False), (upper, False)))
    return out


def reference_grid(levels: Sequence[tuple[float, bool]], lo: float, hi: float,
                   width: int, height: int) -> list[list[int]]:
    """Dot masks of horizontal lines at ``levels`` on a ``width x height`` braille grid over ``[lo, hi]``.

    Solid lines light both dot columns of every cell, dashed ones the left
    dot of every other cell. Levels outside ``[lo, hi]`` are not drawn.

    >>> reference_grid([(0.0, True)], 0.0, 1.0, 2, 1)      # bottom dot row
    [[192, 192]]
    >>> reference_grid([(1.0, False)], 0.0, 1.0, 3, 1)     # top row, dashed
    [[1, 0, 1]]
    >>> reference_grid([(5.0, True)], 0.0, 1.0, 2, 1)
    [[0, 0]]
    """
    grid = [[0] * width for _ in range(height)]
    if width <= 0 or height <= 0 or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return grid
    n = 4 * height
    scale = (n - 1) / (hi - lo)
    for value, solid in levels:
        if not (lo <= value <= hi):
            continue
        y = n - 1 - min(n - 1, max(0, round((value - lo) * scale)))
        row, dot = divmod(y, 4)
        bits = _DOT_BITS[0][dot] | _DOT_BITS[1][dot] if solid else _DOT_BITS[0][dot]
        line = grid[row]
        for x in range(0, width, 1 if solid else 2):
            line[x] |= bits
    return grid
