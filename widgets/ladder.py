"""Depth ladder: aggregated book rows around a pinned spread row, drawn with the line API.

The widget is a dumb renderer: it receives a :class:`LadderView` (built by the
screen from a :class:`~tapescope.engine.snapshot.MarketSnapshot`) and draws it.
Lines are laid out by the pure functions of :mod:`tapescope.widgets.ladder_rows`
(anchored price grid by default, or pinned inside market), sizes quantised to a
few significant digits, so most lines are identical from one frame to the next;
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
| ``depth-ladder--spread`` | the spread row and empty price rows inside the spread |
| ``depth-ladder--badge`` | the state badge shown instead of a non-LIVE book |
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip

from tapescope.widgets.ladder_rows import (
    SIZE_WIDTH,
    LadderRow,
    LadderView,
    build_anchored_rows,
    build_rows,
)
from tapescope.widgets.styles import RowLines

__all__ = ["SIZE_WIDTH", "DepthLadder", "LadderRow", "LadderView", "build_rows"]

class DepthLadder(RowLines):
    """Depth ladder with size bars, best bid/ask always in view and a spread row."""

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
    anchored: reactive[bool] = reactive(True, repaint=False)
    """Fixed price grid that re-centres only when needed (``False``: inside market pinned)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(cache_size=512, name=name, id=id, classes=classes)
        self._anchor: int | None = None
        self._anchor_for: tuple[str, float] | None = None

    @property
    def rows_per_side(self) -> int:
        """How many rows per side the layout may show (what to ask the engine for)."""
        height = self.size.height
        if self.anchored:
            return max(1, height - 1)
        return max(1, height - 1 - (height - 1) // 2)

    @property
    def rows(self) -> list[LadderRow]:
        """The lines currently on screen (for tests and diagnostics)."""
        return list(self._rows)

    def watch_view(self) -> None:
        self._rebuild()

    def watch_size_digits(self) -> None:
        self._rebuild()

    def watch_anchored(self) -> None:
        self._anchor = None
        self._rebuild(force=True)

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def _rebuild(self, force: bool = False) -> None:
        """Recompute the lines; refresh only those that changed."""
        height, width = self.size.height, self.size.width
        view = self.view
        if view is None:
            rows: list[LadderRow] = []
        elif self.anchored:
            # A new market or row height starts a new grid.
            ident = (view.key, view.ladder.step)
            if ident != self._anchor_for or force:
                self._anchor, self._anchor_for = None, ident
            rows, self._anchor = build_anchored_rows(view, height, width, self.size_digits,
                                                     anchor=self._anchor)
        else:
            rows = build_rows(view, height, width, self.size_digits)
        self.show_rows(rows, force)

    def _draw(self, row: LadderRow, width: int) -> Strip:
        base = self.base_style
        if row.kind == "blank":
            return Strip.blank(width, base)
        if row.kind == "gap" or (row.kind == "spread" and row.price):
            # A price row inside the spread (anchored layout); one of them names the spread.
            style = self.style_of("depth-ladder--spread")
            return Strip([Segment(row.price, style),
                          Segment("  " + row.text if row.text else "", style)]
                         ).crop(0, width).adjust_cell_length(width, base)
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
        size_style = base + Style(bold=row.best)
        segs = [Segment(row.price, price_style), Segment(" " + row.size, size_style)]
        used = len(row.price) + 1 + len(row.size)
        if width > used + 1:
            bar_w = width - used - 1
            cells = min(row.bar, bar_w)
            # The separator shares the size's style (bold is invisible on a space):
            # each style change costs a full colour sequence on the wire.
            segs += [Segment(" ", size_style), Segment(" " * cells, bar_style),
                     Segment(" " * (bar_w - cells), base)]
        return Strip(segs).simplify().crop(0, width).adjust_cell_length(width, base)
