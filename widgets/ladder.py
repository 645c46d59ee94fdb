"""Depth ladder: aggregated book rows around a pinned spread row, drawn with the line API.

The widget is a dumb renderer: it receives a :class:`LadderView` (built by the
screen from a :class:`~tapescope.engine.snapshot.MarketSnapshot`) and draws it.
Rows are computed by the pure :func:`build_rows`, sizes quantised to a few
significant digits, so most lines are identical from one frame to the next;
only changed lines are refreshed and each distinct line is cached as a
:class:`~textual.strip.Strip` in an :class:`~textual.cache.LRUCache`.

A book that is not ``LIVE`` is never drawn as if it were: the ladder is
replaced by a badge naming the state and the reason.

| Component class | Used for |
|---|---|
| ``depth-ladder--ask`` | ask prices |
| ``depth-ladder--bid`` | bid prices |
| ``depth-ladder--ask-bar`` | ask size bars |
| ``depth-ladder--bid-bar`` | bid size bars |
| ``depth-ladder--best`` | extra style of the best bid and ask rows |
| ``depth-ladder--spread`` | the spread row |
| ``depth-ladder--badge`` | the state badge shown instead of a non-LIVE book |
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip

from tapescope.engine.events import FeedState
from tapescope.engine.snapshot import Ladder
from tapescope.widgets.format import fmt_fixed, fmt_price, fmt_size, quantise
from tapescope.widgets.styles import CachedStyles

#: Width of the size column, cells.
SIZE_WIDTH = 7


@dataclass(frozen=True, slots=True)
class LadderView:
    """Everything the ladder draws for one frame."""

    ladder: Ladder
    """Aggregated rows (bids from the best down, asks from the best up)."""
    state: FeedState = FeedState.LIVE
    """Book sync state; anything but ``LIVE`` shows the badge."""
    reason: str = ""
    """Why the book is in ``state``."""
    price_decimals: int = 2
    """Decimals of a price at the row step."""
    spread_ticks: float = math.nan
    """Spread in ticks."""
    spread_bps: float = math.nan
    """Spread in basis points of mid."""


class LadderRow(NamedTuple):
    """One screen line of the ladder (hashable: it is the line cache key)."""

    kind: str
    """``"ask"``, ``"bid"``, ``"spread"``, ``"blank"``, ``"badge"`` or ``"note"``."""
    price: str = ""
    """Row price text."""
    size: str = ""
    """Quantised size text."""
    fill: float = 0.0
    """Bar length as a fraction of the widest bar on screen."""
    best: bool = False
    """The best bid or best ask row."""
    text: str = ""
    """Free text of spread, badge and note rows."""


def spread_text(view: LadderView) -> str:
    """The spread row label, e.g. ``"spread 1t · 0.52bp"``.

    >>> spread_text(LadderView(Ladder(0.1), spread_ticks=1.0, spread_bps=0.5234))
    'spread 1t · 0.52bp'
    """
    ticks = view.spread_ticks
    # Spreads in ticks are whole numbers up to float noise (19.000000001).
    whole = math.isfinite(ticks) and abs(ticks - round(ticks)) < 1e-6
    ticks_text = f"{round(ticks)}t" if whole else f"{fmt_fixed(ticks, 1)}t"
    return f"spread {ticks_text} · {fmt_fixed(view.spread_bps, 2)}bp"


def build_rows(view: LadderView, height: int, size_digits: int = 3) -> list[LadderRow]:
    """The ``height`` screen lines for ``view``: asks above, spread row, bids below.

    The best ask sits just above the spread row and the best bid just below,
    whatever the height, so the inside market never moves on screen.

    >>> v = LadderView(Ladder(0.5, bids=((99.5, 2.0), (99.0, 4.0)), asks=((100.0, 1.0234),)),
    ...                price_decimals=1, spread_ticks=1.0, spread_bps=50.1)
    >>> [(r.kind, r.price, r.size, r.fill, r.best) for r in build_rows(v, 5)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('blank', '', '', 0.0, False), ('ask', '100.0', '1.02', 0.255, True),
     ('spread', '', '', 0.0, False), ('bid', '99.5', '2.00', 0.5, True), ('bid', '99.0', '4.00', 1.0, False)]
    """
    if height <= 0:
        return []
    if view.state != FeedState.LIVE:
        rows = [LadderRow("blank")] * height
        mid = max(0, (height - 1) // 2)
        rows[mid] = LadderRow("badge", text=view.state.name)
        if view.reason and mid + 1 < height:
            rows[mid + 1] = LadderRow("note", text=view.reason)
        return rows
    n_ask = (height - 1) // 2
    n_bid = height - 1 - n_ask
    asks = view.ladder.asks[:n_ask]
    bids = view.ladder.bids[:n_bid]
    sizes = [quantise(s, size_digits) for _, s in asks] + [quantise(s, size_digits) for _, s in bids]
    top = max(sizes, default=0.0)

    def row(kind: str, price: float, size: float, best: bool) -> LadderRow:
        q = quantise(size, size_digits)
        fill = round(q / top, 3) if top > 0 else 0.0
        text = fmt_size(q, size_digits) if q > 0 else ""
        return LadderRow(kind, fmt_price(price, view.price_decimals), text, fill, best)

    rows = [LadderRow("blank")] * (n_ask - len(asks))
    rows += [row("ask", p, s, i == 0) for i, (p, s) in reversed(list(enumerate(asks)))]
    rows.append(LadderRow("spread", text=spread_text(view)))
    rows += [row("bid", p, s, i == 0) for i, (p, s) in enumerate(bids)]
    rows += [LadderRow("blank")] * (n_bid - len(bids))
    return rows


class DepthLadder(CachedStyles):
    """Depth ladder with size bars, pinned best bid/ask and a spread row."""

    COMPONENT_CLASSES = {
        "depth-ladder--ask",
        "depth-ladder--bid",
        "depth-ladder--ask-bar",
        "depth-ladder--bid-bar",
        "depth-ladder--best",
        "depth-ladder--spread",
        "depth-ladder--badge",
    }

    DEFAULT_CSS = """
    DepthLadder {
        height: 1fr;
        min-width: 24;
        & > .depth-ladder--ask { color: $ask; }
        & > .depth-ladder--bid { color: $bid; }
        & > .depth-ladder--ask-bar { background: $ask 30%; }
        & > .depth-ladder--bid-bar { background: $bid 30%; }
        & > .depth-ladder--best { text-style: bold; }
        & > .depth-ladder--spread { color: $foreground-muted; }
        & > .depth-ladder--badge { color: $alert; text-style: bold reverse; }
    }
    """

    view: reactive[LadderView | None] = reactive(None, repaint=False, always_update=True)
    """What to draw; ``None`` draws nothing (no market yet)."""
    size_digits: reactive[int] = reactive(3, repaint=False)
    """Significant digits of sizes."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[LadderRow] = []
        self._cache: LRUCache[tuple[LadderRow, int], Strip] = LRUCache(512)

    @property
    def rows_per_side(self) -> int:
        """How many rows per side fit at the current height (what to ask the engine for)."""
        return max(1, self.size.height - 1 - (self.size.height - 1) // 2)

    @property
    def rows(self) -> list[LadderRow]:
        """The lines currently on screen (for tests and diagnostics)."""
        return list(self._rows)

    def watch_view(self) -> None:
        self._rebuild()

    def watch_size_digits(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def styles_changed(self) -> None:
        # A theme switch changes every colour: drop cached strips.
        self._cache.clear()
        self.refresh()

    def _rebuild(self, force: bool = False) -> None:
        """Recompute the lines; refresh only those that changed."""
        height = self.size.height
        rows = build_rows(self.view, height, self.size_digits) if self.view is not None else []
        old = self._rows
        self._rows = rows
        if force or len(old) != len(rows):
            self.refresh()
            return
        width = self.size.width
        changed = [Region(0, y, width, 1)
                   for y, (a, b) in enumerate(zip(old, rows, strict=True)) if a != b]
        if changed:
            self.refresh(*changed)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._rows):
            return Strip.blank(width, self.base_style)
        row = self._rows[y]
        key = (row, width)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._draw(row, width)
            self._cache[key] = strip
        return strip

    def _draw(self, row: LadderRow, width: int) -> Strip:
        base = self.base_style
        if row.kind == "blank":
            return Strip.blank(width, base)
        if row.kind in ("spread", "badge", "note"):
            cls = {"spread": "depth-ladder--spread", "badge": "depth-ladder--badge",
                   "note": "depth-ladder--spread"}[row.kind]
            text = f" {row.text} " if row.kind == "badge" else row.text
            text = text[:width]
            pad = max(0, width - len(text))
            left = pad // 2
            fill = "─" if row.kind == "spread" else " "
            style = self.style_of(cls)
            segs = [Segment(fill * left, style if row.kind == "spread" else base),
                    Segment(text, style),
                    Segment(fill * (pad - left), style if row.kind == "spread" else base)]
            return Strip(segs, width)
        side = "depth-ladder--ask" if row.kind == "ask" else "depth-ladder--bid"
        price_style = self.style_of(side, "depth-ladder--best") if row.best else self.style_of(side)
        bar_style = self.style_of(side + "-bar")
        # A fixed price column (not the text's length) keeps rows aligned.
        price_w = max(len(row.price), min(12, width // 3))
        price_text = row.price.rjust(price_w)[:width]
        size_text = (" " + row.size.rjust(SIZE_WIDTH))[: max(0, width - len(price_text))]
        bar_w = max(0, width - len(price_text) - len(size_text) - 1)
        cells = min(bar_w, round(row.fill * bar_w))
        segs = [Segment(price_text, price_style), Segment(size_text, base + Style(bold=row.best))]
        if bar_w:
            segs.append(Segment(" ", base))
            segs.append(Segment(" " * cells, bar_style))
            segs.append(Segment(" " * (bar_w - cells), base))
        return Strip(segs, width).adjust_cell_length(width, base)
