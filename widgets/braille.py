"""Pure braille plotting: a series of values to a grid of braille cells.

Each terminal cell holds a 2x4 braille dot matrix, so a ``w x h`` cell area
plots ``2w`` points at ``4h`` vertical levels. Consecutive points are joined
by filling the dots between them, so steep moves draw as a continuous line.
No Textual here: the chart widget turns the grid into strips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: First braille code point (no dots).
BRAILLE_BASE = 0x2800
#: Dot bits by [column][row-from-top] within a cell (Unicode braille numbering).
_DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))


def value_range(values: Sequence[float]) -> tuple[float, float]:
    """Finite min and max of ``values``, widened when flat; ``(nan, nan)`` if none.

    >>> value_range([1.0, 3.0, float("nan")])
    (1.0, 3.0)
    >>> value_range([0.0, 0.0])
    (-0.5, 0.5)
    """
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan
    lo, hi = min(finite), max(finite)
    if hi == lo:
        # A flat series is drawn across the middle.
        pad = abs(lo) * 1e-3 if lo else 0.5
        return lo - pad, hi + pad
    return lo, hi


def plot(values: Sequence[float], width: int, height: int,
         lo: float | None = None, hi: float | None = None) -> list[list[int]]:
    """Plot the last ``2 * width`` values as a braille line.

    Args:
        values: Samples, oldest first; non-finite samples leave a gap.
        width: Cells across.
        height: Cells down.
        lo: Value at the bottom edge (default: the minimum shown).
        hi: Value at the top edge (default: the maximum shown).

    Returns:
        ``height`` rows of ``width`` dot masks (0 = empty cell); add
        :data:`BRAILLE_BASE` to get the character.

    >>> grid = plot([0.0, 1.0], 1, 1)
    >>> chr(BRAILLE_BASE + grid[0][0])
    '⣸'
    """
    grid = [[0] * width for _ in range(height)]
    if width <= 0 or height <= 0:
        return grid
    shown = list(values[-2 * width:])
    if lo is None or hi is None:
        rlo, rhi = value_range(shown)
        lo = rlo if lo is None else lo
        hi = rhi if hi is None else hi
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return grid
    levels = 4 * height
    scale = (levels - 1) / (hi - lo)
    # Right-align: the newest sample sits in the last dot column.
    x0 = 2 * width - len(shown)
    prev: int | None = None
    for i, v in enumerate(shown):
        if not math.isfinite(v):
            prev = None
            continue
        level = min(levels - 1, max(0, round((v - lo) * scale)))
        y = levels - 1 - level
        x = x0 + i
        ys = range(min(y, prev), max(y, prev) + 1) if prev is not None else (y,)
        for yy in ys:
            grid[yy // 4][x // 2] |= _DOT_BITS[x % 2][yy % 4]
        prev = y
    return grid


def to_text(grid: list[list[int]]) -> list[str]:
    """Braille strings of a dot grid (empty cells become spaces).

    >>> to_text([[0, 0xFF]])
    [' ⣿']
    """
    return ["".join(chr(BRAILLE_BASE + m) if m else " " for m in row) for row in grid]
