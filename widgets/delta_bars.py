"""Pure layout of volume-delta bars: per-column buy-minus-sell volume as half-block bars.

The CVD chart plots two per-second samples per cell column (a braille cell is
two dots wide), newest sample in the last dot column. :func:`column_deltas`
sums the per-second deltas with exactly that alignment, so each bar sits
under the stretch of the CVD line it explains. :func:`delta_bar_cells` draws
the sums in ``rows`` lines around a zero axis through the middle of the
area: buying grows up from the axis, selling down, in half-cell steps
(``▄``/``▀``/``█``), so the sign reads from the shape as well as the colour.
No Textual here: the chart widget turns the cells into strips.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Samples (seconds of the series) per cell column: the braille plot's dot columns per cell.
SAMPLES_PER_COLUMN = 2
#: Character of a cell by (top half filled, bottom half filled).
_HALVES = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def column_deltas(delta: Sequence[float], width: int) -> list[float]:
    """Sum of the per-second deltas falling in each of ``width`` cell columns.

    The last ``2 * width`` samples are right-aligned as
    :func:`tapescope.widgets.braille.plot` aligns them: sample ``i`` of ``n``
    shown lands in dot column ``2 * width - n + i``, cell column half of that.
    Columns with no sample (a short history) sum to 0; non-finite samples count 0.

    >>> column_deltas([1.0, 2.0, -4.0], 2)   # dots 1, 2, 3 -> columns 0, 1, 1
    [1.0, -2.0]
    >>> column_deltas([5.0, 1.0, 1.0, -1.0, 3.0], 2)  # only the last 4 samples fit
    [2.0, 2.0]
    """
    out = [0.0] * max(0, width)
    if width <= 0:
        return out
    shown = list(delta[-SAMPLES_PER_COLUMN * width:])
    x0 = SAMPLES_PER_COLUMN * width - len(shown)
    for i, v in enumerate(shown):
        if math.isfinite(v):
            out[(x0 + i) // SAMPLES_PER_COLUMN] += float(v)
    return out


def delta_scale(columns: Sequence[float]) -> float:
    """Bar scale: the largest absolute column sum (0 when flat), drawn full height.

    With two to six half-cells a side there is no resolution to spare for a
    rounded-up scale; the bars redraw every second anyway as the series scrolls.

    >>> delta_scale([3.2, -7.5, 0.0]), delta_scale([0.0, 0.0])
    (7.5, 0.0)
    """
    return max((abs(v) for v in columns), default=0.0)


def bar_halves(value: float, scale: float, rows: int) -> int:
    """Half-cells of the bar of ``value`` (signed): at least one for any non-zero value.

    ``rows`` lines hold ``rows`` half-cells on each side of the axis.

    >>> bar_halves(10.0, 10.0, 2), bar_halves(-4.0, 10.0, 2), bar_halves(0.1, 10.0, 4), bar_halves(0.0, 10.0, 4)
    (2, -1, 1, 0)
    """
    if value == 0.0 or not scale > 0.0 or rows <= 0:
        return 0
    # Half up (not Python's half-to-even round): 2.5 half-cells draw as 3.
    h = min(rows, max(1, math.floor(abs(value) / scale * rows + 0.5)))
    return h if value > 0 else -h


def delta_bar_cells(columns: Sequence[float], rows: int, scale: float) -> list[list[tuple[str, int]]]:
    """The bar area: ``rows`` lines of ``(char, sign)`` cells, top line first.

    Half-cells are numbered from the top, ``0 .. 2 * rows - 1``; the axis lies
    between half ``rows - 1`` and half ``rows``. A bar of ``h`` half-cells fills
    halves ``rows - h .. rows - 1`` (buying) or ``rows .. rows + h - 1`` (selling).
    ``sign`` is +1, -1 or 0 (empty cell), for the colour.

    >>> ["".join(c for c, _ in line) for line in delta_bar_cells([10.0, 5.0, -2.5, -10.0, 0.0], 2, 10.0)]
    ['█▄   ', '  ▀█ ']
    >>> ["".join(c for c, _ in line) for line in delta_bar_cells([3.0, -3.0], 1, 10.0)]
    ['▀▄']
    """
    lines = [[(" ", 0)] * len(columns) for _ in range(rows)]
    for x, value in enumerate(columns):
        h = bar_halves(value, scale, rows)
        if h == 0:
            continue
        first, last = (rows - h, rows - 1) if h > 0 else (rows, rows - h - 1)
        sign = 1 if h > 0 else -1
        for r in range(first // 2, last // 2 + 1):
            top = first <= 2 * r <= last
            bottom = first <= 2 * r + 1 <= last
            lines[r][x] = (_HALVES[(top, bottom)], sign)
    return lines


def delta_rows(height: int) -> int:
    """Lines given to the delta bars in a chart ``height`` lines tall (label line included).

    Two lines at 80x24 (the chart there is about 7 lines), more when the chart
    is tall, none when the CVD line would be left under three lines.

    >>> [delta_rows(h) for h in (4, 5, 7, 11, 12, 20, 24, 40)]
    [0, 1, 2, 2, 3, 5, 6, 6]
    """
    if height < 5:
        return 0
    if height < 7:
        return 1
    if height < 12:
        return 2
    return min(6, height // 4)
