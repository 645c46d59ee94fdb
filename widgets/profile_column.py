"""Profile column: the session volume profile beside the depth ladder, one bar per ladder row.

Why beside the ladder and not beside the CVD/price chart: the ladder's rows
are exact, fixed price steps that move only when the ladder re-anchors, so
each bar lines up one-to-one with a row label (volume traded at the price
next to the liquidity resting there, the classic DOM "volume at price"
column), and a frame redraws only the rows whose bar changed. The chart's
price axis is rescaled to the recent min/max every redraw, so aligned bars
there would jump with every new high or low.

A row labelled ``p`` on a ladder of row height ``step`` shows the volume
traded in ``[p, p + step)``: the profile's bins are spread uniformly over
their own width and integrated over the row (:func:`column_rows`), which is
exact whenever the row height is a multiple of the bin height (ladder rows
and profile bins are both multiples of the tick). Bars are scaled to the
largest row of the *whole* session profile at this row height, so a quiet
part of the book does not look busy. The POC row is drawn in the POC colour
with ``◆``; value-area rows in the value colour; ``VW`` / ``±kσ`` notes mark
the session VWAP and its bands; a POC above or below the visible rows is
pointed at (``◆↑`` / ``◆↓``) on the top or bottom row.

The widget draws what :meth:`ProfileColumn.show_profile` hands it and holds
no market state (style.md section 3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.segment import Segment
from textual.strip import Strip

from tapescope.engine.profile import ProfileStats
from tapescope.engine.vwap import VwapBands
from tapescope.widgets.profile_draw import (
    NOTE_WIDTH,
    PROFILE_CLASSES,
    ZONE_CLASSES,
    ProfileRow,
    band_notes,
    bar_text,
    profile_css,
)
from tapescope.widgets.styles import RowLines

#: Ladder line kinds that stand for one price row.
PRICE_KINDS = frozenset({"ask", "bid", "gap", "spread"})
#: Relative tolerance when snapping a row edge onto the profile's bin grid.
_SNAP = 1e-6


def ladder_prices(rows: Sequence[object]) -> tuple[float | None, ...]:
    """The price of each ladder line (``None`` for lines that are not a price row).

    Reads the laid-out lines of :class:`~tapescope.widgets.ladder.DepthLadder`
    (``kind`` and the formatted ``price``), so the column follows whatever
    grid the ladder chose.

    >>> from tapescope.widgets.ladder_rows import LadderRow
    >>> ladder_prices([LadderRow("ask", "60,002.0"), LadderRow("spread", text="1t"),
    ...                LadderRow("bid", "59,998.5"), LadderRow("badge", text="RESYNCING")])
    (60002.0, None, 59998.5, None)
    """
    out: list[float | None] = []
    for row in rows:
        price = getattr(row, "price", "")
        if getattr(row, "kind", "") in PRICE_KINDS and price:
            try:
                out.append(float(price.replace(",", "")))
                continue
            except ValueError:
                pass
        out.append(None)
    return tuple(out)


def _cumulative(profile: ProfileStats) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges and the cumulative volume at each edge."""
    vols = np.asarray(profile.volumes, dtype=float)
    edges = profile.first_price + profile.step * np.arange(vols.size + 1)
    return edges, np.concatenate(([0.0], np.cumsum(vols)))


def _volume_between(edges: np.ndarray, cum: np.ndarray, bin_step: float, x: np.ndarray) -> np.ndarray:
    """Cumulative volume below each price of ``x`` (bins spread uniformly over their width)."""
    # A price on a bin boundary up to float noise is moved onto that boundary, so a
    # row edge at a bin edge takes no sliver of the neighbouring bin.
    t = (x - edges[0]) / bin_step
    k = np.rint(t)
    on_edge = (np.abs(t - k) < _SNAP) & (k >= 0) & (k < edges.size)
    x = np.where(on_edge, edges[np.clip(k, 0, edges.size - 1).astype(np.int64)], x)
    return np.interp(x, edges, cum)


def column_rows(profile: ProfileStats | None, vwap: VwapBands | None,
                prices: Sequence[float | None], step: float, bar_width: int) -> list[ProfileRow | None]:
    """One row per ladder line: the profile volume in ``[price, price + step)``.

    Args:
        profile: Session volume profile (``None`` or empty: nothing to draw).
        vwap: Session VWAP and bands to mark.
        prices: Price of each ladder line, ``None`` for lines without one.
        step: Ladder row height, price units.
        bar_width: Cells for the longest bar.

    Returns:
        ``None`` for lines without a price (or everything without a profile).

    Runtime complexity: ``O(lines + bins)``.

    >>> p = ProfileStats(step=1.0, first_price=100.0, volumes=np.array([1.0, 4.0, 2.0, 3.0]),
    ...                  total=10.0, poc=101.0, val=101.0, vah=102.0)
    >>> rows = column_rows(p, None, [104.0, 102.0, None, 100.0], 2.0, 4)
    >>> [(r.price, r.volume, r.half_cells, r.zone) if r else None for r in rows]
    [(104.0, 0.0, 0, 'out'), (102.0, 5.0, 8, 'value'), None, (100.0, 5.0, 8, 'poc')]
    """
    if profile is None or not (profile.step > 0) or not (profile.total > 0) or not (step > 0):
        return [None] * len(prices)
    edges, cum = _cumulative(profile)
    bin_step = profile.step
    # Scale: the largest row of the whole profile on this ladder's grid (rows at multiples of step).
    k0 = math.floor(edges[0] / step + 1e-9)
    k1 = math.ceil(edges[-1] / step - 1e-9)
    grid = _volume_between(edges, cum, bin_step, step * np.arange(k0, k1 + 1, dtype=float))
    top = float(np.diff(grid).max()) if grid.size > 1 else 0.0
    shown = [(i, p) for i, p in enumerate(prices) if p is not None]
    if not shown or top <= 0:
        return [None if p is None else ProfileRow(p, 0.0, 0, "out", False, "", "") for p in prices]
    lo = np.array([p for _, p in shown])
    vol = _volume_between(edges, cum, bin_step, lo + step) - _volume_between(edges, cum, bin_step, lo)
    keys = {math.floor(p / step + 1e-9): i for i, p in shown}

    def row_of(x: float) -> int | None:
        return keys.get(math.floor(x / step + 1e-9)) if math.isfinite(x) else None

    poc = row_of(profile.poc)
    notes = band_notes(vwap, row_of)
    in_value = (lo < profile.vah + bin_step - 1e-9 * step) & (lo + step > profile.val + 1e-9 * step) \
        if math.isfinite(profile.val) and math.isfinite(profile.vah) else np.zeros(lo.size, bool)
    out: list[ProfileRow | None] = [None] * len(prices)
    for j, (i, p) in enumerate(shown):
        v = max(0.0, float(vol[j]))
        zone = "poc" if i == poc else "value" if in_value[j] else "out"
        note = notes.get(i, "◆" if i == poc else "")
        out[i] = ProfileRow(p, v, int(round(v / top * bar_width * 2)), zone, False, note, "")
    if poc is None and math.isfinite(profile.poc):
        # Point at a POC outside the visible rows (rows run from high prices at the top).
        top_i, bottom_i = shown[0][0], shown[-1][0]
        hi_first = shown[0][1] >= shown[-1][1]
        above = profile.poc >= max(shown[0][1], shown[-1][1]) + step
        at = (top_i if hi_first else bottom_i) if above else (bottom_i if hi_first else top_i)
        row = out[at]
        if row is not None and not row.note:
            out[at] = row._replace(note="◆↑" if above else "◆↓")
    return out


class ProfileColumn(RowLines):
    """Session volume profile aligned to the depth ladder's rows (see the module docstring)."""

    COMPONENT_CLASSES = set(PROFILE_CLASSES)

    DEFAULT_CSS = profile_css("ProfileColumn", "width: 8;\nheight: 1fr;")

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(cache_size=256, name=name, id=id, classes=classes)
        self._key: tuple | None = None
        self._args: tuple = (None, None, (), 1.0)

    def show_profile(self, profile: ProfileStats | None, vwap: VwapBands | None,
                     prices: tuple[float | None, ...], step: float) -> None:
        """Draw ``profile`` beside ladder lines priced ``prices`` (row height ``step``).

        Cheap when nothing changed: the inputs are compared by identity
        (profile) and value (prices, VWAP) before anything is computed.
        """
        key = (id(profile), vwap, prices, step, self.size.width)
        if key == self._key:
            return
        self._key = key
        self._args = (profile, vwap, prices, step)
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def _rebuild(self, force: bool = False) -> None:
        profile, vwap, prices, step = self._args
        bar_w = max(1, self.size.width - NOTE_WIDTH)
        self.show_rows(column_rows(profile, vwap, prices, step, bar_w), force)

    def _draw(self, row: ProfileRow | None, width: int) -> Strip:
        if row is None or width < NOTE_WIDTH:
            return Strip.blank(width, self.base_style)
        note_style = "profile--poc" if row.note.startswith("◆") else "profile--vwap"
        # Both parts are padded to their widths: the strip is exactly ``width`` cells.
        return Strip([Segment(row.note.ljust(NOTE_WIDTH)[:NOTE_WIDTH], self.style_of(note_style)),
                      Segment(bar_text(row.half_cells, width - NOTE_WIDTH),
                              self.style_of(ZONE_CLASSES[row.zone]))], width)
