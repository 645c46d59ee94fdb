"""CVD chart: cumulative volume delta over time, with the mid price behind it, in braille.

The screen assigns :attr:`CvdChart.series` (the snapshot's per-second
history). Each series is scaled to the full height on its own axis; where
both lines fall in one cell the CVD line wins. The dot grid is recomputed
when the data changes and the widget refreshes only when the grid (or the
labels) actually changed, so a quiet market costs no terminal bytes. The
series is per second, so :attr:`CvdChart.redraw_interval` (``[app]
chart_interval``) caps redraws at that cadence instead of the frame rate
(the last bucket's running value would otherwise move a line every frame).

| Component class | Used for |
|---|---|
| ``cvd-chart--cvd-up`` | the CVD line when CVD rose over the visible window |
| ``cvd-chart--cvd-down`` | the CVD line when CVD fell over the visible window |
| ``cvd-chart--price`` | the mid-price line |
| ``cvd-chart--vwap`` | session VWAP (dotted) and its bands (dashed), on the price axis |
| ``cvd-chart--label`` | axis labels |
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip

from tapescope.engine.snapshot import Series
from tapescope.engine.vwap import VwapBands
from tapescope.widgets.braille import BRAILLE_BASE, plot, value_range
from tapescope.widgets.format import fmt_price, fmt_signed
from tapescope.widgets.styles import CachedStyles
from tapescope.widgets.throttle import Throttle, ThrottledRedraw
from tapescope.widgets.vwap_overlay import reference_grid, vwap_levels


class CvdChart(ThrottledRedraw, CachedStyles):
    """CVD line over time (braille) with the mid price on its own axis."""

    COMPONENT_CLASSES = {"cvd-chart--cvd-up", "cvd-chart--cvd-down", "cvd-chart--price",
                         "cvd-chart--label", "cvd-chart--vwap"}

    DEFAULT_CSS = """
    CvdChart {
        height: 1fr;
        min-height: 3;
        & > .cvd-chart--cvd-up { color: $buy; }
        & > .cvd-chart--cvd-down { color: $sell; }
        & > .cvd-chart--price { color: $chart-price 60%; }
        & > .cvd-chart--label { color: $foreground-muted; }
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
        self._strips: list[Strip] | None = None
        self._throttle = Throttle(self, self._rebuild)


    @property
    def labels(self) -> tuple[str, str]:
        """Left (CVD) and right (price range) labels currently shown."""
        return self._labels

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
        if series is None or len(series.cvd) == 0 or width <= 0 or height <= 1:
            key: tuple = ("empty", width, height)
            cvd_grid, px_grid, up, labels = [], [], True, ("CVD —", "")
            ref_grid: list[list[int]] = []
        else:
            n = 2 * width
            cvd = np.asarray(series.cvd[-n:], dtype=float)
            mid = np.asarray(series.mid[-n:], dtype=float)
            # One line for labels; the plot uses the rest.
            cvd_grid = plot(cvd.tolist(), width, height - 1)
            px_grid = plot(mid.tolist(), width, height - 1)
            ref_grid = reference_grid(vwap_levels(self.vwap), *value_range(mid.tolist()),
                                      width, height - 1)
            up = bool(cvd[-1] >= cvd[0])
            finite = mid[np.isfinite(mid)]
            px = (f"px {fmt_price(float(finite.min()), self.price_decimals)}"
                  f"–{fmt_price(float(finite.max()), self.price_decimals)}") if finite.size else ""
            span = len(cvd)
            labels = (f"CVD {fmt_signed(float(cvd[-1]))}  Δ{span}s {fmt_signed(float(cvd[-1] - cvd[0]))}",
                      px)
            key = (width, height, up, labels, tuple(map(tuple, cvd_grid)), tuple(map(tuple, px_grid)),
                   tuple(map(tuple, ref_grid)))
        if not force and key == self._key:
            return
        old = (self._cvd_grid, self._px_grid, self._up, self._labels)
        self._key = key
        self._cvd_grid, self._px_grid, self._up, self._labels = cvd_grid, px_grid, up, labels
        old_ref, self._ref_grid = self._ref_grid, ref_grid
        self._strips = None
        if force or old[2] != up or len(old[0]) != len(cvd_grid):
            self.refresh()
            return
        # Only the changed plot rows (and the label line) go to the terminal.
        changed = [Region(0, 0, width, 1)] if old[3] != labels else []
        changed += [Region(0, y + 1, width, 1) for y in range(len(cvd_grid))
                    if old[0][y] != cvd_grid[y] or old[1][y] != px_grid[y]
                    or (old_ref[y] if y < len(old_ref) else None) != ref_grid[y]]
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
        for y in range(height - 1):
            if y >= len(self._cvd_grid):
                strips.append(Strip.blank(width, base))
                continue
            segs: list[Segment] = []
            run_text, run_style = "", None
            ref_row = refs[y] if y < len(refs) else [0] * width
            for c, p, r in zip(self._cvd_grid[y], self._px_grid[y], ref_row, strict=True):
                if c:
                    ch, st = chr(BRAILLE_BASE + c), cvd_style
                elif p:
                    ch, st = chr(BRAILLE_BASE + p), px_style
                elif r:
                    ch, st = chr(BRAILLE_BASE + r), ref_style
                else:
                    ch, st = " ", base
                if st is run_style:
                    run_text += ch
                else:
                    if run_text:
                        segs.append(Segment(run_text, run_style))
                    run_text, run_style = ch, st
            if run_text:
                segs.append(Segment(run_text, run_style))
            strips.append(Strip(segs).adjust_cell_length(width, base))
        return strips

    def render_line(self, y: int) -> Strip:
        if self._strips is None or len(self._strips) != self.size.height:
            self._strips = self._build_strips()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.base_style)

