"""Bookmap-style liquidity heatmap: resting size by price over time, trades as dots.

The widget draws a :class:`~tapescope.engine.heatmap.HeatmapSnapshot` (the
engine's per-market history). Each terminal cell holds two vertical pixels
(upper half block ``▀`` in the upper pixel's colour on the lower pixel's
background). A pixel is one price row of the history, two pixels per row when
zoomed in, or the sum of 2, 4, 8 rows when zoomed out. Colours run through a
quantised ramp built from theme colours (component classes below), so a
frame changes only where the history changed; trades traded in a cell are
drawn over it as a dot sized by volume (``·`` ``•`` ``●``) in the buy or sell
colour of the net aggressor.

The history only changes when a column closes (once per column period, not
per frame): assigning the same snapshot object again does nothing, and the
whole picture scrolls by one column at a time. The view is auto-centred on
mid with hysteresis (it recentres when mid leaves the middle half), so small
moves do not shift every line. Columns recorded while the book was not LIVE
are drawn in the "unknown" colour, never as empty book.

The pure functions :func:`build_grid`, :func:`reference` and :func:`levels_of`
hold the arithmetic, testable without an App.

| Component class | Used for |
|---|---|
| ``heatmap--low`` | colour (``color``) of the smallest non-zero size |
| ``heatmap--mid`` | second ramp stop |
| ``heatmap--high`` | third ramp stop |
| ``heatmap--max`` | colour of sizes at or above the reference size |
| ``heatmap--unknown`` | background of cells whose book was not LIVE or not recorded |
| ``heatmap--buy`` | trade dots where takers bought more |
| ``heatmap--sell`` | trade dots where takers sold more |
| ``heatmap--axis`` | price and time labels |
| ``heatmap--mid-price`` | the price label of the row holding mid |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.color import Color, blend_rgb
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip

from tapescope.engine.heatmap import HeatmapSnapshot
from tapescope.widgets.line_panel import LinePanel, TextLine, clock_text

#: Zoom levels as (pixels per price row, price rows per pixel), most zoomed-in first.
ZOOMS: tuple[tuple[int, int], ...] = ((2, 1), (1, 1), (1, 2), (1, 4), (1, 8))
#: Colour levels of the ramp (sizes are quantised to these).
LEVELS = 8
#: Percentile of the shown non-zero sizes that maps to the top colour.
REF_PERCENTILE = 97.0
#: Ramp exponent: below 1 lifts small sizes so thin liquidity stays visible.
GAMMA = 0.5
#: Dot glyphs by trade size class (1 small .. 3 large).
DOTS = ("", "·", "•", "●")
#: Pixel level of a cell with no column at all (left of the oldest column).
BLANK = -2
#: Pixel level of a cell whose book was unknown (not LIVE, or outside the recorded rows).
UNKNOWN = -1
#: Seconds between time labels, the first that leaves at least 10 cells between labels.
_TIME_PERIODS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


@dataclass(frozen=True, slots=True, eq=False)
class HeatGrid:
    """Pixels of one view: ``(pixels, columns)`` arrays, pixel 0 at the top."""

    sizes: np.ndarray
    """Resting size per pixel; ``nan`` unknown."""
    buys: np.ndarray
    """Taker-buy volume per pixel."""
    sells: np.ndarray
    """Taker-sell volume per pixel."""
    low_rows: np.ndarray
    """Absolute row index of the lowest price row each pixel covers."""
    pad: int
    """Columns on the left with no history (drawn blank)."""


def build_grid(snap: HeatmapSnapshot, centre: int, pixels: int, columns: int, zoom: int) -> HeatGrid:
    """Resample the history to ``pixels`` x ``columns`` around absolute row ``centre``.

    Pixel ``pixels // 2`` holds ``centre`` (as its lowest row); the newest
    column is the rightmost.

    Args:
        snap: the history.
        centre: absolute price row index to centre on.
        pixels: vertical pixels (twice the text lines).
        columns: columns shown.
        zoom: index into :data:`ZOOMS`.

    >>> s = HeatmapSnapshot(1.0, 10, np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32),
    ...                     np.zeros((4, 1)), np.zeros((4, 1)), np.array([0]), np.array([12.0]))
    >>> g = build_grid(s, 12, 4, 2, 1)   # one row per pixel: rows 14, 13, 12, 11 from the top
    >>> g.sizes.tolist(), g.low_rows.tolist(), g.pad
    ([[nan], [4.0], [3.0], [2.0]], [14, 13, 12, 11], 1)
    >>> build_grid(s, 12, 2, 1, 2).sizes.tolist()   # two rows per pixel: 14+15 (unknown), 12+13
    [[nan], [7.0]]
    """
    per_row, per_px = ZOOMS[zoom]
    n_rows = snap.sizes.shape[0]
    shown = min(columns, snap.sizes.shape[1])
    pad = columns - shown
    c = pixels // 2
    first = centre - ((pixels - 1 - c) // per_row) * per_px
    p = np.arange(pixels)[:, None]
    j = np.arange(per_px)[None, :]
    rows = first + ((pixels - 1 - p) // per_row) * per_px + j  # (pixels, per_px) absolute rows
    idx = rows - snap.base
    inside = (idx >= 0) & (idx < n_rows)
    idx = np.clip(idx, 0, max(n_rows - 1, 0))
    sl = slice(snap.sizes.shape[1] - shown, None)
    if n_rows == 0 or shown == 0:
        empty = np.full((pixels, 0), math.nan)
        return HeatGrid(empty, empty.copy(), empty.copy(), rows[:, 0], pad)
    vals = snap.sizes[:, sl][idx].astype(np.float64)  # (pixels, per_px, shown)
    vals[~inside] = math.nan
    known = ~np.isnan(vals)
    sizes = np.where(known.any(axis=1), np.where(known, vals, 0.0).sum(axis=1), math.nan)
    mask = inside[:, :, None]
    buys = np.where(mask, snap.buys[:, sl][idx], 0.0).sum(axis=1)
    sells = np.where(mask, snap.sells[:, sl][idx], 0.0).sum(axis=1)
    return HeatGrid(sizes, buys, sells, rows[:, 0], pad)


def reference(sizes: np.ndarray) -> float:
    """The size that maps to the top colour: the 97th percentile of the positive sizes shown.

    >>> reference(np.array([[0.0, 1.0, 2.0, 3.0, np.nan]]))   # 1 + 0.97 * 2 (linear)
    2.94
    >>> reference(np.array([[0.0, np.nan]]))
    0.0
    """
    pos = sizes[np.isfinite(sizes) & (sizes > 0)]
    return round(float(np.percentile(pos, REF_PERCENTILE)), 12) if pos.size else 0.0


def levels_of(sizes: np.ndarray, ref: float, n: int = LEVELS, gamma: float = GAMMA) -> np.ndarray:
    """Colour level per pixel: ``-1`` unknown, ``0`` empty, ``1..n`` by ``ceil(n * (size/ref)**gamma)``.

    >>> levels_of(np.array([np.nan, 0.0, 0.01, 1.0, 4.0, 100.0]), 4.0).tolist()
    [-1, 0, 1, 4, 8, 8]
    """
    out = np.zeros(sizes.shape, dtype=np.int16)
    known = np.isfinite(sizes)
    out[~known] = UNKNOWN
    pos = known & (sizes > 0)
    if ref > 0 and pos.any():
        frac = np.minimum(1.0, sizes[pos] / ref) ** gamma
        out[pos] = np.clip(np.ceil(n * frac - 1e-9), 1, n)
    elif pos.any():
        out[pos] = n
    return out


def dot_classes(volume: np.ndarray) -> np.ndarray:
    """Dot size class per cell: 0 none, else 1..3 by thirds of the largest volume shown.

    >>> dot_classes(np.array([0.0, 1.0, 3.4, 5.0, 9.0])).tolist()
    [0, 1, 2, 2, 3]
    """
    out = np.zeros(volume.shape, dtype=np.int16)
    top = float(volume.max()) if volume.size else 0.0
    if top <= 0:
        return out
    traded = volume > 0
    out[traded] = np.clip(np.ceil(3 * volume[traded] / top - 1e-9), 1, 3)
    return out


class LiquidityHeatmap(LinePanel):
    """Resting size by price and time with trade dots (see the module docstring)."""

    COMPONENT_CLASSES = {
        "heatmap--low",
        "heatmap--mid",
        "heatmap--high",
        "heatmap--max",
        "heatmap--unknown",
        "heatmap--buy",
        "heatmap--sell",
        "heatmap--axis",
        "heatmap--mid-price",
    }

    DEFAULT_CSS = """
    LiquidityHeatmap {
        height: 1fr;
        min-height: 4;
        & > .heatmap--low { color: $primary-darken-3; }
        & > .heatmap--mid { color: $primary; }
        & > .heatmap--high { color: $warning; }
        & > .heatmap--max { color: $error; }
        & > .heatmap--unknown { background: $panel; }
        & > .heatmap--buy { color: $buy; text-style: bold; }
        & > .heatmap--sell { color: $sell; text-style: bold; }
        & > .heatmap--axis { color: $foreground-muted; }
        & > .heatmap--mid-price { color: $foreground; text-style: bold reverse; }
    }
    """

    heatmap: reactive[HeatmapSnapshot | None] = reactive(None, repaint=False)
    """History to draw (compared by identity: reassigning the same snapshot is free)."""
    zoom: reactive[int] = reactive(1, repaint=False)
    """Index into :data:`ZOOMS` (0 most zoomed-in)."""
    price_decimals: reactive[int] = reactive(2, repaint=False)
    """Decimals of the price labels."""
    utc: reactive[bool] = reactive(True, repaint=False)
    """Time labels in UTC (else local time)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._centre: int | None = None
        self._cell_styles: dict[tuple[int, int, int], Style] = {}
        self._ramp: list[Style] = []

    # -- inputs ------------------------------------------------------------

    def watch_heatmap(self) -> None:
        self._recentre(force=False)
        self.rebuild()

    def watch_zoom(self) -> None:
        self._recentre(force=True)
        self.rebuild()

    def watch_price_decimals(self) -> None:
        self.rebuild()

    def watch_utc(self) -> None:
        self.rebuild()

    def validate_zoom(self, zoom: int) -> int:
        return max(0, min(len(ZOOMS) - 1, zoom))

    def zoom_in(self) -> None:
        """Show fewer price rows, each taller."""
        self.zoom -= 1

    def zoom_out(self) -> None:
        """Show more price rows (summed into each pixel)."""
        self.zoom += 1

    def on_resize(self) -> None:
        self._recentre(force=True)
        super().on_resize()

    @property
    def centre(self) -> int | None:
        """Absolute price row the view is centred on (``None`` before any history)."""
        return self._centre

    def _mid_row(self) -> int | None:
        snap = self.heatmap
        if snap is None or snap.step <= 0 or snap.mids.size == 0:
            return None
        finite = snap.mids[np.isfinite(snap.mids)]
        if finite.size == 0:
            return None
        return math.floor(float(finite[-1]) / snap.step + 1e-9)

    def _recentre(self, force: bool) -> None:
        mid = self._mid_row()
        if mid is None:
            return
        per_row, per_px = ZOOMS[self.zoom]
        span = max(1, (2 * max(self.size.height - 1, 1)) * per_px // per_row)
        # Hysteresis: follow mid only when it leaves the middle half of the view.
        if force or self._centre is None or abs(mid - self._centre) > span // 4:
            self._centre = mid

    # -- lines -----------------------------------------------------------------

    def build_lines(self, width: int, height: int) -> list[object]:
        snap = self.heatmap
        if snap is None or snap.sizes.shape[1] == 0 or self._centre is None:
            lines: list[object] = [TextLine()] * height
            lines[height // 2] = TextLine((("heatmap: waiting for a live book", "heatmap--axis"),))
            return lines
        time_axis = height >= 6
        body = height - 1 if time_axis else height
        label_w = len(f"{(self._centre + body) * snap.step:,.{self.price_decimals}f}") + 1
        label_w = min(label_w, max(0, width - 4))
        cols = max(1, width - label_w)
        grid = build_grid(snap, self._centre, 2 * body, cols, self.zoom)
        levels = levels_of(grid.sizes, reference(grid.sizes))
        volume = grid.buys + grid.sells
        # Trade dots per cell (two pixels), side by net aggressor.
        cell_vol = volume[0::2] + volume[1::2]
        cell_net = (grid.buys[0::2] + grid.buys[1::2]) - (grid.sells[0::2] + grid.sells[1::2])
        dots = dot_classes(cell_vol) * np.where(cell_net >= 0, 1, -1).astype(np.int16)
        pad = np.full(grid.pad, BLANK, dtype=np.int16)
        pad0 = np.zeros(grid.pad, dtype=np.int16)
        mid = self._mid_row()
        out: list[object] = []
        for y in range(body):
            up = np.concatenate([pad, levels[2 * y]])
            lo = np.concatenate([pad, levels[2 * y + 1]])
            dot = np.concatenate([pad0, dots[y]])
            low_row = int(grid.low_rows[2 * y + 1])
            top_row = int(grid.low_rows[2 * y]) + ZOOMS[self.zoom][1] - 1
            holds_mid = mid is not None and low_row <= mid <= top_row
            label, cls = "", "heatmap--axis"
            if holds_mid:
                label, cls = self._price(mid * snap.step), "heatmap--mid-price"
            elif y % 4 == (body // 2) % 4:
                label = self._price(low_row * snap.step)
            out.append(("cells", up.tobytes(), lo.tobytes(), dot.tobytes(), label[:label_w - 1],
                        cls, label_w))
        if time_axis:
            out.append(self._time_axis(snap, cols, grid.pad))
        return out

    def _price(self, price: float) -> str:
        return f"{price:,.{self.price_decimals}f}"

    def _time_axis(self, snap: HeatmapSnapshot, cols: int, pad: int) -> TextLine:
        period = next((p for p in _TIME_PERIODS if p // snap.column_s >= 10), _TIME_PERIODS[-1])
        chars = [" "] * cols
        times = snap.times[-(cols - pad):] if cols > pad else snap.times[:0]
        for i, t in enumerate(times.tolist()):
            x = pad + i
            if t % period == 0 and x + 8 <= cols:
                chars[x:x + 8] = clock_text(t * 1_000_000_000, self.utc)
        return TextLine((("".join(chars[:cols]), "heatmap--axis"),))

    # -- drawing -----------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._cell_styles.clear()
        self._ramp = []
        super().notify_style_update()

    def _ramp_styles(self) -> list[Style]:
        if not self._ramp:
            stops = [self.get_component_rich_style(f"heatmap--{n}").color
                     for n in ("low", "mid", "high", "max")]
            rgb = [(c or Color.from_rgb(128, 128, 128)).get_truecolor() for c in stops]
            ramp = []
            for level in range(1, LEVELS + 1):
                pos = (level - 1) / (LEVELS - 1) * (len(rgb) - 1)
                i = min(int(pos), len(rgb) - 2)
                ramp.append(Color.from_triplet(blend_rgb(rgb[i], rgb[i + 1], pos - i)))
            self._ramp = [Style(color=c) for c in ramp]
        return self._ramp

    def _colour(self, level: int) -> Color | None:
        if level <= 0:
            if level == UNKNOWN:
                return self.style_of("heatmap--unknown").bgcolor
            return self.base_style.bgcolor
        return self._ramp_styles()[level - 1].color

    def _cell_style(self, up: int, lo: int, dot: int) -> Style:
        key = (up, lo, dot)
        style = self._cell_styles.get(key)
        if style is None:
            base = self.base_style
            if dot:
                fg = self.style_of("heatmap--buy" if dot > 0 else "heatmap--sell")
                bg = self._colour(max(up, lo) if min(up, lo) >= 0 else min(up, lo))
                style = base + fg + Style(bgcolor=bg)
            else:
                style = base + Style(color=self._colour(up), bgcolor=self._colour(lo))
            self._cell_styles[key] = style
        return style

    def draw_line(self, line: object, width: int) -> Strip:
        if isinstance(line, TextLine):
            return self.draw_text_line(line, width)
        assert isinstance(line, tuple)
        _, up_b, lo_b, dot_b, label, label_cls, label_w = line
        up = np.frombuffer(up_b, dtype=np.int16).tolist()
        lo = np.frombuffer(lo_b, dtype=np.int16).tolist()
        dot = np.frombuffer(dot_b, dtype=np.int16).tolist()
        segs: list[Segment] = []
        run_key: tuple[int, int, int] | None = None
        run_text: list[str] = []
        for u, low, d in zip(up, lo, dot, strict=True):
            if d:
                ch = DOTS[abs(d)]
            elif u == low or u == BLANK:
                ch = " "
            else:
                ch = "▀"
            key = (u, low if ch != " " or d else u, d)
            if key != run_key:
                if run_text:
                    segs.append(Segment("".join(run_text), self._cell_style(*run_key)))
                run_key, run_text = key, []
            run_text.append(ch)
        if run_text and run_key is not None:
            segs.append(Segment("".join(run_text), self._cell_style(*run_key)))
        if label_w:
            text = (" " + label).ljust(label_w)[:label_w]
            segs.append(Segment(text, self.style_of(label_cls) if label else self.base_style))
        return Strip(segs).adjust_cell_length(width, self.base_style)
