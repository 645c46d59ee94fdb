"""CVD chart: cumulative volume delta over time, with the mid price behind it, in braille,
and volume-delta bars under it.

The screen assigns :attr:`CvdChart.series` (the snapshot's per-second
history). Each series is scaled to the full height on its own axis; where
both lines fall in one cell the CVD line wins. The dot grid is recomputed
when the data changes and the widget refreshes only when the grid (or the
labels) actually changed, so a quiet market costs no terminal bytes. The
series is per second, so :attr:`CvdChart.redraw_interval` (``[app]
chart_interval``) caps redraws at that cadence instead of the frame rate
(the last bucket's running value would otherwise move a line every frame).

Under the lines, :func:`~tapescope.widgets.delta_bars.delta_rows` lines (two
at 80x24, more on a tall chart) show each cell column's buy-minus-sell
volume, summed over the same two seconds the braille column above plots, as
half-block bars up (buying) or down (selling) from a zero axis, scaled to
the largest column in view (:func:`~tapescope.widgets.delta_bars.delta_scale`);
the label line names the scale when it fits (``Δ/2s ±7.50``).

| Component class | Used for |
|---|---|
| ``cvd-chart--cvd-up`` | the CVD line when CVD rose over the visible window |
| ``cvd-chart--cvd-down`` | the CVD line when CVD fell over the visible window |
| ``cvd-chart--price`` | the mid-price line |
| ``cvd-chart--vwap`` | session VWAP (dotted) and its bands (dashed), on the price axis |
| ``cvd-chart--label`` | axis labels |
| ``cvd-chart--delta-up`` | delta bars of columns where buyers took more |
| ``cvd-chart--delta-down`` | delta bars of columns where sellers took more |
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip

from tapescope.engine.snapshot import Series
from tapescope.engine.vwap import VwapBands
from tapescope.widgets.braille import BRAILLE_BASE, plot, value_range
from tapescope.widgets.delta_bars import (
    SAMPLES_PER_COLUMN,
    column_deltas,
    delta_bar_cells,
    delta_rows,
    delta_scale,
)
from tapescope.widgets.format import fmt_price, fmt_signed, fmt_size
from tapescope.widgets.styles import CachedStyles
from tapescope.widgets.throttle import Throttle, ThrottledRedraw
from tapescope.widgets.vwap_overlay import reference_grid, vwap_levels


class CvdChart(ThrottledRedraw, CachedStyles):
    """CVD line over time (braille) with the mid price on its own axis."""

    COMPONENT_CLASSES = {"cvd-chart--cvd-up", "cvd-chart--cvd-down", "cvd-chart--price",
                         "cvd-chart--label", "cvd-chart--delta-up", "cvd-chart--delta-down",
                         "cvd-chart--vwap"}

    DEFAULT_CSS = """
    CvdChart {
        height: 1fr;
        min-height: 3;
        & > .cvd-chart--cvd-up { color: $buy; }
        & > .cvd-chart--cvd-down { color: $sell; }
        & > .cvd-chart--price { color: $chart-price 60%; }
        & > .cvd-chart--label { color: $foreground-muted; }
        & > .cvd-chart--delta-up { color: $buy; }
        & > .cvd-chart--delta-down { color: $sell; }
        & > .cvd-chart--vwap { color: $profile-vwap 70%; }
    }
    """

    series: reactive[Series | None] = reactive(None, repaint=False, always_update=True)
    """Per-second history to draw (``None``: nothing yet)."""
    price_decimals: reactive[int] = reactive(2, repaint=False)
    """Decimals of the price labels."""
    vwap: reactive[VwapBands | None] = reactive(None, repaint=False)
    """Session VWAP and bands drawn on the price axis (picked up at the next redraw)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._key: tuple | None = None
        self._cvd_grid: list[list[int]] = []
        self._px_grid: list[list[int]] = []
        self._ref_grid: list[list[int]] = []
        self._up = True
        self._labels: tuple[str, str] = ("", "")
        self._bars: list[list[tuple[str, int]]] = []
        self._strips: list[Strip] | None = None
        self._throttle = Throttle(self, self._rebuild)


    @property
    def labels(self) -> tuple[str, str]:
        """Left (CVD) and right (price range) labels currently shown."""
        return self._labels

    @property
    def delta_bars(self) -> list[str]:
        """The delta-bar lines currently shown, top first (tests and diagnostics)."""
        return ["".join(c for c, _ in line) for line in self._bars]

    def watch_series(self) -> None:
        if self._key is None or self._key[0] == "empty":
            self._throttle.reset()  # nothing plotted yet: draw the first series at once
        self._throttle()

    def watch_price_decimals(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def styles_changed(self) -> None:
        self._strips = None
        self.refresh()

    def _rebuild(self, force: bool = False) -> None:
        width, height = self.size.width, self.size.height
        series = self.series
        bars: list[list[tuple[str, int]]] = []
        ref_grid: list[list[int]] = []
        if series is None or len(series.cvd) == 0 or width <= 0 or height <= 1:
            key: tuple = ("empty", width, height)
            cvd_grid, px_grid, up, labels = [], [], True, ("CVD —", "")
        else:
            n = 2 * width
            cvd = np.asarray(series.cvd[-n:], dtype=float)
            mid = np.asarray(series.mid[-n:], dtype=float)
            # One line for labels, the delta bars at the bottom; the lines use the rest.
            n_bars = delta_rows(height)
            plot_h = height - 1 - n_bars
            cvd_grid = plot(cvd.tolist(), width, plot_h)
            px_grid = plot(mid.tolist(), width, plot_h)
            ref_grid = reference_grid(vwap_levels(self.vwap), *value_range(mid.tolist()),
                                      width, plot_h)
            up = bool(cvd[-1] >= cvd[0])
            finite = mid[np.isfinite(mid)]
            px = (f"px {fmt_price(float(finite.min()), self.price_decimals)}"
                  f"–{fmt_price(float(finite.max()), self.price_decimals)}") if finite.size else ""
            span = len(cvd)
            left = f"CVD {fmt_signed(float(cvd[-1]))}  Δ{span}s {fmt_signed(float(cvd[-1] - cvd[0]))}"
            if len(left) + 1 + len(px) > width:
                # A narrow chart keeps the CVD and the whole price range over the window change.
                left = f"CVD {fmt_signed(float(cvd[-1]))}"
            if n_bars:
                columns = column_deltas(np.asarray(series.delta, dtype=float)[-n:].tolist(), width)
                scale = delta_scale(columns)
                bars = delta_bar_cells(columns, n_bars, scale)
                scale_text = f"Δ/{SAMPLES_PER_COLUMN}s ±{fmt_size(scale)}" if scale > 0 else ""
                if scale_text and len(left) + len(px) + len(scale_text) + 4 <= width:
                    px = f"{scale_text}  {px}"
            labels = (left, px)
            key = (width, height, up, labels, tuple(map(tuple, cvd_grid)), tuple(map(tuple, px_grid)),
                   tuple(map(tuple, bars)), tuple(map(tuple, ref_grid)))
        if not force and key == self._key:
            return
        old = (self._cvd_grid, self._px_grid, self._up, self._labels, self._bars)
        self._key = key
        self._cvd_grid, self._px_grid, self._up, self._labels = cvd_grid, px_grid, up, labels
        self._bars = bars
        old_ref, self._ref_grid = self._ref_grid, ref_grid
        self._strips = None
        if force or old[2] != up or len(old[0]) != len(cvd_grid) or len(old[4]) != len(bars):
            self.refresh()
            return
        # Only the changed plot and bar rows (and the label line) go to the terminal.
        changed = [Region(0, 0, width, 1)] if old[3] != labels else []
        changed += [Region(0, y + 1, width, 1) for y in range(len(cvd_grid))
                    if old[0][y] != cvd_grid[y] or old[1][y] != px_grid[y]
                    or (old_ref[y] if y < len(old_ref) else None) != ref_grid[y]]
        top = 1 + len(cvd_grid)
        changed += [Region(0, top + y, width, 1) for y in range(len(bars)) if old[4][y] != bars[y]]
        if changed:
            self.refresh(*changed)

    def _build_strips(self) -> list[Strip]:
        width, height = self.size.width, self.size.height
        base = self.base_style
        label = self.style_of("cvd-chart--label")
        cvd_style = self.style_of("cvd-chart--cvd-up" if self._up else "cvd-chart--cvd-down")
        px_style = self.style_of("cvd-chart--price")
        ref_style = self.style_of("cvd-chart--vwap")
        refs = self._ref_grid
        left, right = self._labels
        gap = max(1, width - len(left) - len(right))
        strips = [Strip([Segment(left, label), Segment(" " * gap, base), Segment(right, label)])
                  .crop(0, width).adjust_cell_length(width, base)]
        for y in range(height - 1 - len(self._bars)):
            if y >= len(self._cvd_grid):
                strips.append(Strip.blank(width, base))
                continue
            ref_row = refs[y] if y < len(refs) else [0] * width
            cells = ((chr(BRAILLE_BASE + c), cvd_style) if c else
                     (chr(BRAILLE_BASE + p), px_style) if p else
                     (chr(BRAILLE_BASE + r), ref_style) if r else (" ", base)
                     for c, p, r in zip(self._cvd_grid[y], self._px_grid[y], ref_row, strict=True))
            strips.append(_runs(cells, width, base))
        bar_styles = {1: self.style_of("cvd-chart--delta-up"), -1: self.style_of("cvd-chart--delta-down"),
                      0: base}
        for line in self._bars:
            strips.append(_runs(((c, bar_styles[sign]) for c, sign in line), width, base))
        return strips

    def render_line(self, y: int) -> Strip:
        if self._strips is None or len(self._strips) != self.size.height:
            self._strips = self._build_strips()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.base_style)


def _runs(cells, width: int, base: Style) -> Strip:
    """A strip of ``(char, style)`` cells, one segment per run of equal styles (fewer bytes)."""
    segs: list[Segment] = []
    run_text, run_style = "", None
    for ch, st in cells:
        if st is run_style:
            run_text += ch
        else:
            if run_text:
                segs.append(Segment(run_text, run_style))
            run_text, run_style = ch, st
    if run_text:
        segs.append(Segment(run_text, run_style))
    return Strip(segs).adjust_cell_length(width, base)
