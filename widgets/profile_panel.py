"""Profile panel: volume profile and TPO letters beside price, with POC, value area and VWAP bands.

A dumb line-API renderer (style.md section 3) of the engine's
:class:`~tapescope.engine.profile.ProfileStats` (a session or rolling volume
profile), :class:`~tapescope.engine.profile.TpoSnapshot` and
:class:`~tapescope.engine.vwap.VwapBands`. One screen row per price group,
highest price on top::

    64,210.0   ███████▌           ABC
    64,200.0 VW██████████████     ABCDE      <- VWAP in this row
    64,190.0▶  ████████████████   BCDEF      <- the current price (marker)
    64,180.0 -1σ█████             DE

Rows are groups of ``m`` engine bins, with ``m`` the smallest whole number
that fits the profile (and the current price) into the panel's height; groups
are aligned to multiples of ``m`` bins, so rows keep their prices while the
profile grows and a frame redraws only the rows whose bar, letters or marks
changed (architecture.md rule 4). Bars use half cells; the POC row and the
value-area rows have their own colours and the POC row also carries a ``◆``,
so nothing relies on colour alone.

| Component class | Used for |
|---|---|
| ``profile--price`` | price labels |
| ``profile--current`` | the current-price marker and its row's price |
| ``profile--bar`` | bars outside the value area |
| ``profile--value`` | bars inside the value area |
| ``profile--poc`` | the POC bar and mark |
| ``profile--vwap`` | VWAP and band marks |
| ``profile--tpo`` | TPO letters |
"""

from __future__ import annotations

import math

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tapescope.engine.profile import ProfileStats, TpoSnapshot
from tapescope.engine.vwap import VwapBands
from tapescope.widgets.profile_draw import (
    NOTE_WIDTH,
    PROFILE_CLASSES,
    ZONE_CLASSES,
    ProfileRow,
    band_notes,
    bar_text,
    profile_css,
    zone_of,
)

__all__ = ["NOTE_WIDTH", "ProfilePanel", "ProfileRow", "group_size", "profile_rows"]
#: Share of the space right of the price column given to bars (the rest shows TPO letters).
BAR_SHARE = 0.6
#: Order of TPO period letters (A..Z, then a..z).
_LETTER_ORDER = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")}


def group_size(lo_bin: int, hi_bin: int, height: int) -> int:
    """Bins per row so that bins ``lo_bin..hi_bin``, grouped on multiples, fit ``height`` rows.

    >>> group_size(0, 9, 10), group_size(0, 10, 10), group_size(3, 22, 10), group_size(5, 5, 1)
    (1, 2, 3, 1)
    """
    m = max(1, math.ceil((hi_bin - lo_bin + 1) / max(height, 1)))
    while hi_bin // m - lo_bin // m + 1 > height:
        m += 1
    return m


def _merge_letters(words: list[str]) -> str:
    seen = set("".join(words))
    return "".join(sorted(seen, key=lambda c: _LETTER_ORDER.get(c, 99)))


def profile_rows(profile: ProfileStats, tpo: TpoSnapshot | None, vwap: VwapBands | None,
                 price: float, height: int, bar_width: int) -> list[ProfileRow]:
    """The rows to draw, top (highest price) first.

    Args:
        profile: Volume profile (dense bins of ``step`` from ``first_price``).
        tpo: TPO profile drawn as letters beside the bars (``None``: no letters).
        vwap: VWAP and bands to mark (``None`` or ``nan``: no marks).
        price: Current price, marked and kept in view (``nan``: none).
        height: Rows available.
        bar_width: Cells available for the longest bar.

    Returns:
        At most ``height`` rows; empty when the profile has no volume.

    >>> p = ProfileStats(step=1.0, first_price=100.0, volumes=np.array([1.0, 4.0, 2.0, 0.0]),
    ...                  total=7.0, poc=101.0, val=101.0, vah=102.0)
    >>> [(r.price, r.volume, r.half_cells, r.zone, r.current)
    ...  for r in profile_rows(p, None, None, 101.5, 10, 4)]
    [(103.0, 0.0, 0, 'out', False), (102.0, 2.0, 4, 'value', False), (101.0, 4.0, 8, 'poc', True), (100.0, 1.0, 2, 'out', False)]
    >>> [(r.price, r.volume) for r in profile_rows(p, None, None, 101.5, 2, 4)]
    [(102.0, 2.0), (100.0, 5.0)]
    """
    vols = np.asarray(profile.volumes, dtype=float)
    step = profile.step
    if vols.size == 0 or not (step > 0) or not (profile.total > 0) or height <= 0:
        return []
    b0 = int(round(profile.first_price / step))
    lo_bin, hi_bin = b0, b0 + vols.size - 1
    if math.isfinite(price):
        pb = math.floor(price / step + 1e-9)
        lo_bin, hi_bin = min(lo_bin, pb), max(hi_bin, pb)
    m = group_size(lo_bin, hi_bin, height)
    g_lo, g_hi = lo_bin // m, hi_bin // m
    groups = np.bincount((np.arange(b0, b0 + vols.size) // m) - g_lo, weights=vols,
                         minlength=g_hi - g_lo + 1)
    top = float(groups.max()) if groups.size else 0.0
    width = m * step

    def group_of(x: float) -> int | None:
        if not math.isfinite(x):
            return None
        return math.floor(x / step + 1e-9) // m

    poc_g = group_of(profile.poc)
    val_g, vah_g = group_of(profile.val), group_of(profile.vah)
    price_g = group_of(price)
    notes = band_notes(vwap, group_of)
    letters: dict[int, list[str]] = {}
    if tpo is not None and tpo.stats.step > 0 and tpo.letters:
        t0 = tpo.stats.first_price
        for i, word in enumerate(tpo.letters):
            if word:
                g = group_of(t0 + i * tpo.stats.step)
                if g is not None:
                    letters.setdefault(g, []).append(word)
    rows = []
    for g in range(g_hi, g_lo - 1, -1):
        volume = float(groups[g - g_lo])
        half = int(round(volume / top * bar_width * 2)) if top > 0 else 0
        zone = zone_of(g, poc_g, val_g, vah_g)
        rows.append(ProfileRow(round(g * width, 12), volume, half, zone, g == price_g,
                               notes.get(g, ""), _merge_letters(letters.get(g, []))))
    return rows


class ProfilePanel(Widget):
    """Volume profile and TPO letters of the focused market, beside price."""

    COMPONENT_CLASSES = set(PROFILE_CLASSES)

    DEFAULT_CSS = profile_css("ProfilePanel", "height: 1fr;")

    # always_update: the stats hold numpy arrays (no truth value for ==); the rows are diffed instead.
    profile: reactive[ProfileStats | None] = reactive(None, repaint=False, always_update=True)
    """Volume profile to draw (session or rolling, the caller chooses)."""
    tpo: reactive[TpoSnapshot | None] = reactive(None, repaint=False, always_update=True)
    """TPO profile drawn as letters (``None``: no letters)."""
    vwap: reactive[VwapBands | None] = reactive(None, repaint=False)
    """VWAP and bands to mark."""
    price: reactive[float] = reactive(math.nan, repaint=False)
    """Current price (marked, kept in view)."""
    price_decimals: reactive[int] = reactive(2, repaint=False)
    """Decimals of a price label."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[ProfileRow] = []
        self._cache: LRUCache[tuple[ProfileRow, int, int], Strip] = LRUCache(256)
        self._styles: dict[str, Style] = {}
        self.lines_refreshed = 0
        """Screen lines marked for repaint since mount (a stable profile adds none)."""

    @property
    def rows(self) -> list[ProfileRow]:
        """The rows currently drawn, top first (for tests)."""
        return list(self._rows)

    def _layout(self) -> tuple[int, int, int]:
        """``(price column width, bar width, letters width)`` for the current size."""
        top = max((abs(r.price) for r in self._rows), default=0.0)
        price_w = len(f"{top:,.{self.price_decimals}f}") + 1
        rest = max(self.size.width - price_w - NOTE_WIDTH, 2)
        bar_w = max(1, int(rest * BAR_SHARE))
        return price_w, bar_w, max(rest - bar_w - 1, 0)

    def watch_profile(self) -> None:
        self._rebuild()

    def watch_tpo(self) -> None:
        self._rebuild()

    def watch_vwap(self) -> None:
        self._rebuild()

    def watch_price(self) -> None:
        self._rebuild()

    def watch_price_decimals(self) -> None:
        self._rebuild(force=True)

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._cache.clear()
        self.refresh()

    def _rebuild(self, force: bool = False) -> None:
        old = self._rows
        if self.profile is None:
            rows: list[ProfileRow] = []
        else:
            _, bar_w, _ = self._layout()
            rows = profile_rows(self.profile, self.tpo, self.vwap, self.price,
                                self.size.height, bar_w)
            # The bar width depends on the price column, which depends on the rows.
            self._rows = rows
            _, bar_w2, _ = self._layout()
            if bar_w2 != bar_w:
                rows = profile_rows(self.profile, self.tpo, self.vwap, self.price,
                                    self.size.height, bar_w2)
        self._rows = rows
        width = self.size.width
        if force or len(rows) != len(old):
            self.lines_refreshed += self.size.height
            self.refresh()
            return
        changed = [Region(0, y, width, 1) for y, (a, b) in enumerate(zip(rows, old, strict=True))
                   if a != b]
        if changed:
            self.lines_refreshed += len(changed)
            self.refresh(*changed)

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.rich_style + self.get_component_rich_style(name)
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._rows):
            if y == 0:
                return Strip([Segment("no trades yet".ljust(width)[:width], self._style(
                    "profile--price"))]).simplify()
            return Strip.blank(width, self.rich_style)
        row = self._rows[y]
        key = (row, width, self.price_decimals)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._cache[key] = self._draw(row, width)
        return strip

    def _draw(self, row: ProfileRow, width: int) -> Strip:
        price_w, bar_w, tpo_w = self._layout()
        label = f"{row.price:,.{self.price_decimals}f}".rjust(price_w - 1)
        bar_style = ZONE_CLASSES[row.zone]
        letters = row.letters if len(row.letters) <= tpo_w else row.letters[: max(tpo_w - 1, 0)] + "+"
        segments = [
            Segment(label, self._style("profile--current" if row.current else "profile--price")),
            Segment("▶" if row.current else ("◆" if row.zone == "poc" else " "),
                    self._style("profile--current" if row.current else "profile--poc")),
            Segment(row.note.ljust(NOTE_WIDTH)[:NOTE_WIDTH], self._style("profile--vwap")),
            Segment(bar_text(row.half_cells, bar_w), self._style(bar_style)),
            Segment(" ", self.rich_style),
            Segment(letters.ljust(tpo_w)[:tpo_w], self._style("profile--tpo")),
        ]
        return Strip(segments).crop_extend(0, width, self.rich_style).simplify()
