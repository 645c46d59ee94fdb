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

Markers (:mod:`tapescope.widgets.ladder_marks`): one letter per detector kind
in the two left cells of the price column (``S`` spoof, ``I`` iceberg, ``A``
absorption, ``P`` pulled wall, ``V`` vacuum, ``W`` live wall), fresh ones in
reverse video and old ones in lower case and dim; a live wall's size cell is
highlighted; the last trade is tagged at the right end of its row (``▲``
taker bought, ``▼`` taker sold, then its size).

| Component class | Used for |
|---|---|
| ``depth-ladder--ask`` | ask prices |
| ``depth-ladder--bid`` | bid prices |
| ``depth-ladder--ask-bar`` | ask size bars |
| ``depth-ladder--bid-bar`` | bid size bars |
| ``depth-ladder--best`` | extra style of the best bid and ask rows |
| ``depth-ladder--spread`` | the spread row and empty price rows inside the spread |
| ``depth-ladder--badge`` | the state badge shown instead of a non-LIVE book |
| ``depth-ladder--wall`` | the size cell of a row holding a live wall |
| ``depth-ladder--mark-<kind>`` | marker glyphs per kind (``spoof``, ``iceberg``, ``absorption``, ``wall_pulled``, ``vacuum``, ``wall``) |
| ``depth-ladder--mark-fresh`` | extra style of a marker in the first third of its life |
| ``depth-ladder--mark-old`` | extra style of a marker in the last third of its life |
| ``depth-ladder--buy`` / ``depth-ladder--sell`` | the last-trade tag by aggressor |
| ``depth-ladder--note`` | a marker's size tag (wide ladders) |
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip

from tapescope.widgets.ladder_marks import MARK_WIDTH, Mark
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
        "depth-ladder--wall",
        "depth-ladder--mark-spoof",
        "depth-ladder--mark-iceberg",
        "depth-ladder--mark-absorption",
        "depth-ladder--mark-wall_pulled",
        "depth-ladder--mark-vacuum",
        "depth-ladder--mark-wall",
        "depth-ladder--mark-fresh",
        "depth-ladder--mark-old",
        "depth-ladder--buy",
        "depth-ladder--sell",
        "depth-ladder--note",
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
        & > .depth-ladder--wall { background: $alert 35%; text-style: bold; }
        & > .depth-ladder--mark-spoof { color: $alert; text-style: bold; }
        & > .depth-ladder--mark-iceberg { color: $accent; text-style: bold; }
        & > .depth-ladder--mark-absorption { color: $primary; text-style: bold; }
        & > .depth-ladder--mark-wall_pulled { color: $secondary; text-style: bold; }
        & > .depth-ladder--mark-vacuum { color: $warning; text-style: bold; }
        & > .depth-ladder--mark-wall { color: $foreground; text-style: bold; }
        & > .depth-ladder--mark-fresh { text-style: bold reverse; }
        & > .depth-ladder--mark-old { text-style: dim; }
        & > .depth-ladder--buy { color: $buy; text-style: bold; }
        & > .depth-ladder--sell { color: $sell; text-style: bold; }
        & > .depth-ladder--note { color: $foreground-muted; }
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

    def _marks(self, marks: tuple[Mark, ...], pad: str = " ", pad_style: Style | None = None
               ) -> list[Segment]:
        """The glyph cells of a row (:data:`MARK_WIDTH` cells, unused ones ``pad``)."""
        segs = []
        for char, kind, step in marks[:MARK_WIDTH]:
            fade = ("depth-ladder--mark-fresh", "", "depth-ladder--mark-old")[step]
            # The kind's colour last: a component style carries the inherited colour too.
            segs.append(Segment(char, self.style_of(fade, f"depth-ladder--mark-{kind}")))
        if len(marks) < MARK_WIDTH:
            segs.append(Segment(pad * (MARK_WIDTH - len(marks)), pad_style or self.base_style))
        return segs

    def _price(self, row: LadderRow, style: Style) -> list[Segment]:
        """The price column, with marker glyphs over its free left cells."""
        if not row.marks:
            return [Segment(row.price, style)]
        return [*self._marks(row.marks), Segment(row.price[MARK_WIDTH:], style)]

    def _over(self, fg: str, bg: str) -> Style:
        """Component ``fg``'s text style on component ``bg``'s background (cached per theme).

        Component styles carry inherited colours, so adding two would let the
        second one's foreground (or background) win.
        """
        key = f"{fg}|{bg}"
        style = self._style_memo.get(key)
        if style is None:
            style = self._style_memo[key] = self.style_of(fg) + Style(
                bgcolor=self.get_component_rich_style(bg).bgcolor)
        return style

    def _tail(self, row: LadderRow, bar_w: int, bar_cells: int, bar_style: Style,
              fill_style: Style) -> list[Segment]:
        """The bar area: ``bar_cells`` of bar, then blank, with the row's tag at its right end."""
        tag = row.tag if len(row.tag) < bar_w else ""
        start = bar_w - len(tag)  # first cell of the tag
        cells = min(bar_cells, bar_w)
        segs = [Segment(" " * min(cells, start), bar_style),
                Segment(" " * max(0, start - cells), fill_style)]
        if tag:
            tag_cls = f"depth-ladder--{row.tag_style}"
            under = max(0, cells - start)  # tag cells drawn over the bar
            if under:
                bar_cls = "depth-ladder--ask-bar" if row.kind == "ask" else "depth-ladder--bid-bar"
                segs.append(Segment(tag[:under], self._over(tag_cls, bar_cls)))
            segs.append(Segment(tag[under:], self.style_of(tag_cls)))
        return segs

    def _draw(self, row: LadderRow, width: int) -> Strip:
        base = self.base_style
        if row.kind == "blank":
            return Strip.blank(width, base)
        if row.kind == "gap" or (row.kind == "spread" and row.price):
            # A price row inside the spread (anchored layout); one of them names the spread.
            style = self.style_of("depth-ladder--spread")
            segs = [*self._price(row, style),
                    Segment("  " + row.text if row.text else "", style)]
            used = len(row.price) + (2 + len(row.text) if row.text else 0)
            if row.tag and width - used > len(row.tag) + 1:
                segs += self._tail(row, width - used, 0, base, base)
            return Strip(segs).crop(0, width).adjust_cell_length(width, base)
        if row.kind in ("spread", "badge", "note"):
            cls = {"spread": "depth-ladder--spread", "badge": "depth-ladder--badge",
                   "note": "depth-ladder--spread"}[row.kind]
            text = f" {row.text} " if row.kind == "badge" else row.text
            text = text[:width]
            pad = max(0, width - len(text))
            left = pad // 2
            fill = "─" if row.kind == "spread" else " "
            style = self.style_of(cls)
            fill_style = style if row.kind == "spread" else base
            head: list[Segment] = [Segment(fill * left, fill_style)]
            if row.marks and left >= MARK_WIDTH:
                head = [*self._marks(row.marks, fill, fill_style),
                        Segment(fill * (left - MARK_WIDTH), fill_style)]
            right = pad - left
            tail = [Segment(fill * right, fill_style)]
            if row.tag and right > len(row.tag) + 1:
                tail = [Segment(fill * (right - len(row.tag) - 1) + " ", fill_style),
                        Segment(row.tag, self.style_of(f"depth-ladder--{row.tag_style}"))]
            return Strip([*head, Segment(text, style), *tail], width)
        side = "depth-ladder--ask" if row.kind == "ask" else "depth-ladder--bid"
        price_style = self.style_of(side, "depth-ladder--best") if row.best else self.style_of(side)
        bar_style = self.style_of(side + "-bar")
        size_style = base + Style(bold=row.best)
        cell_style = self.style_of("depth-ladder--wall") if row.wall else size_style
        segs = [*self._price(row, price_style), Segment(" ", size_style), Segment(row.size, cell_style)]
        used = len(row.price) + 1 + len(row.size)
        if width > used + 1:
            bar_w = width - used - 1
            # The separator shares the size's style (bold is invisible on a space):
            # each style change costs a full colour sequence on the wire.
            segs += [Segment(" ", size_style), *self._tail(row, bar_w, row.bar, bar_style, base)]
        return Strip(segs).simplify().crop(0, width).adjust_cell_length(width, base)
