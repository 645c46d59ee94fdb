"""Watchlist widgets: a virtualised side table (wide layouts) and a one-line symbol bar (compact).

Both draw a tuple of :class:`~tapescope.widgets.watch_rows.WatchRow` that the
screen assigns at the watchlist cadence, already in display order (sorted
by :func:`~tapescope.widgets.watch_rows.sort_rows`). They hold no market
state.

:class:`Watchlist` is a line-API widget (:class:`~tapescope.widgets.styles.RowLines`):
line 0 is the header, the other lines show only the rows in the visible
window, so 60 or 600 markets cost the same per refresh, and only lines whose
text or tone changed are sent to the terminal. The window follows the
focused market (Tab past the bottom scrolls one row) until the mouse wheel
scrolls it elsewhere; a thumb in the last column shows the position when
the rows overflow. Columns are fitted to the width
(:func:`~tapescope.widgets.watch_rows.layout`).

:class:`SymbolBar` shows ``n SYMBOL last chg%`` items in display order and
slides its window so the focused item is always on screen, with ``‹k`` /
``›k`` counts of the items cut at either end.

| Component class | Used for |
|---|---|
| ``watchlist--header`` | the header line |
| ``watchlist--up`` / ``watchlist--down`` | positive / negative change, imbalance, CVD slope, score |
| ``watchlist--calm`` | low volatility regime |
| ``watchlist--alert`` | high volatility regime, a book not ``LIVE`` |
| ``watchlist--muted`` | the score gauge's track |
| ``watchlist--focused`` | the focused market's line |
| ``watchlist--thumb`` | the scroll thumb |
| ``symbol-bar--up`` / ``symbol-bar--down`` | a positive / negative change |
| ``symbol-bar--alert`` | a market whose book is not ``LIVE`` |
| ``symbol-bar--focused`` | the focused market on the bar |
| ``symbol-bar--more`` | the counts of items cut at either end |
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tapescope.widgets.format import MISSING
from tapescope.widgets.signals_panel import gauge
from tapescope.widgets.styles import RowLines
from tapescope.widgets.watch_rows import (
    GAP,
    SORT_COLUMN,
    SORT_LABELS,
    Column,
    WatchRow,
    cell_texts,
    layout,
    tone,
)

#: Rows the mouse wheel scrolls per notch.
WHEEL_ROWS = 3
#: Gauge tones of :func:`~tapescope.widgets.signals_panel.gauge` mapped to the watchlist's.
_GAUGE_TONES = {"signals--long": "up", "signals--short": "down", "signals--muted": "muted"}
#: Separator between symbol bar items.
BAR_SEP = " │ "


class WatchLine(NamedTuple):
    """One screen line of the table, laid out (hashable: it is the line cache key)."""

    cells: tuple[tuple[str, str], ...]
    """``(text, tone)`` runs, left to right, already padded to their columns."""
    focused: bool = False
    """The focused market's line."""
    thumb: str = ""
    """Scroll column: ``""`` (none), ``"track"`` or ``"thumb"``."""


def header_line(cols: Sequence[Column], sort: tuple[str, bool]) -> WatchLine:
    """The header, with ``▲``/``▼`` beside the sorted column's label.

    >>> from tapescope.widgets.watch_rows import COLUMNS
    >>> cols = [c._replace(width=7) if c.width == 0 else c for c in COLUMNS[1:4]]
    >>> "".join(t for t, _ in header_line(cols, ("change", True)).cells)
    'Symbol     Last ▼Chg%'
    >>> "".join(t for t, _ in header_line(cols, ("symbol", False)).cells)
    'Symbol▲    Last  Chg%'
    """
    arrow_col = SORT_COLUMN.get(sort[0], "")
    arrow = "▼" if sort[1] else "▲"
    parts = []
    for i, c in enumerate(cols):
        label = c.header
        gap = " " * GAP if i else ""
        if c.id == arrow_col and c.right:
            text = arrow + label
            if len(text) > c.width and gap:
                # An arrow that does not fit the column takes the gap before it.
                text, gap = text.rjust(c.width + GAP), ""
            text = text.rjust(c.width)[-c.width - (0 if gap or not i else GAP):]
        elif c.id == arrow_col:
            text = (label + arrow)[: c.width].ljust(c.width)
        else:
            text = label.rjust(c.width) if c.right else label.ljust(c.width)
        parts.append(gap + text)
    return WatchLine((("".join(parts), "header"),))


@lru_cache(maxsize=1024)
def row_line(row: WatchRow, cols: tuple[Column, ...], focused: bool) -> WatchLine:
    """The line of one market: every column's text padded, with its tone (cached per row value).

    >>> from tapescope.engine.events import FeedState
    >>> from tapescope.widgets.watch_rows import COLUMNS
    >>> r = WatchRow("k", "ETH", 2, 2000.5, -0.01, 0.5, FeedState.LIVE, 1, 0.3, 12.0)
    >>> cols = tuple(c._replace(width=6) if c.width == 0 else c for c in COLUMNS[:4])
    >>> row_line(r, cols, False).cells
    ((' 2', ''), (' ', ''), ('ETH   ', ''), (' ', ''), ('2,000.5', ''), (' ', ''), ('-1.00', 'down'))
    """
    texts = cell_texts(row)
    cells: list[tuple[str, str]] = []
    for i, c in enumerate(cols):
        if i:
            cells.append((" " * GAP, ""))
        if c.id == "gauge":
            if math.isfinite(row.score):
                cells.extend((t, _GAUGE_TONES[s]) for t, s in gauge(row.score, c.width) if t)
            else:
                cells.append((MISSING.center(c.width), "muted"))
            continue
        text = texts[c.id]
        padded = text.rjust(c.width) if c.right else text.ljust(c.width)
        cells.append((padded, tone(c.id, row, text)))
    return WatchLine(tuple(cells), focused)


def follow(offset: int, index: int, visible: int, total: int) -> int:
    """The window offset that keeps row ``index`` visible, moving as little as possible.

    >>> follow(0, 12, 10, 60), follow(5, 3, 10, 60), follow(5, 8, 10, 60), follow(55, 0, 10, 8)
    (3, 3, 5, 0)
    """
    if visible <= 0:
        return 0
    if index >= 0:
        if index < offset:
            offset = index
        elif index >= offset + visible:
            offset = index - visible + 1
    return max(0, min(offset, total - visible))


def thumb_span(offset: int, visible: int, total: int) -> tuple[int, int]:
    """First line and length of the scroll thumb over a track of ``visible`` lines.

    >>> thumb_span(0, 10, 60), thumb_span(50, 10, 60), thumb_span(25, 10, 60)
    ((0, 2), (8, 2), (4, 2))
    """
    length = max(1, round(visible * visible / total))
    top = round(offset * (visible - length) / max(1, total - visible))
    return top, length


class Watchlist(RowLines):
    """Side table of every market, in display order; the focused market's line is highlighted."""

    COMPONENT_CLASSES = {"watchlist--header", "watchlist--up", "watchlist--down",
                         "watchlist--calm", "watchlist--alert", "watchlist--muted",
                         "watchlist--focused", "watchlist--thumb"}

    DEFAULT_CSS = """
    Watchlist {
        & > .watchlist--header { color: $foreground-muted; text-style: bold; }
        & > .watchlist--up { color: $buy; }
        & > .watchlist--down { color: $sell; }
        & > .watchlist--calm { color: $regime-calm; }
        & > .watchlist--alert { color: $alert; text-style: bold; }
        & > .watchlist--muted { color: $foreground-muted; }
        & > .watchlist--focused { background: $primary 35%; text-style: bold; }
        & > .watchlist--thumb { color: $foreground-muted; }
    }
    """

    @dataclass
    class MarketClicked(Message):
        """A market's line was clicked."""

        watchlist: Watchlist
        """The watchlist clicked."""
        key: str
        """Market key of the line."""

        @property
        def control(self) -> Watchlist:
            """The watchlist clicked."""
            return self.watchlist

    rows_data: reactive[tuple[WatchRow, ...]] = reactive((), repaint=False, init=False)
    """Markets to show, in display order."""
    focused_key: reactive[str] = reactive("", repaint=False, init=False)
    """Key of the focused market (highlighted, kept in view)."""
    sort: reactive[tuple[str, bool]] = reactive(("watchlist", False), repaint=False, init=False)
    """``(sort key, descending)`` the rows are in (the header's arrow)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(cache_size=256, name=name, id=id, classes=classes)
        self.top = 0
        """Index of the first row in the window."""
        self.following = True
        """The window follows the focused market (off after a wheel scroll, on at a focus change)."""
        self._title = ""

    @property
    def visible_rows(self) -> int:
        """Rows the window shows (the height minus the header line)."""
        return max(0, self.size.height - 1)

    @property
    def window(self) -> tuple[WatchRow, ...]:
        """The rows currently on screen, top first."""
        return self.rows_data[self.top:self.top + self.visible_rows]

    def watch_rows_data(self) -> None:
        self._rebuild()

    def watch_focused_key(self) -> None:
        self.following = True
        self._rebuild()

    def watch_sort(self) -> None:
        self.following = True
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def scroll_rows(self, delta: int) -> None:
        """Scroll the window by ``delta`` rows and stop following the focus."""
        self.following = False
        self.top += delta
        self._rebuild()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_rows(WHEEL_ROWS)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_rows(-WHEEL_ROWS)

    def on_click(self, event: events.Click) -> None:
        # A click on a line asks for that market; the App decides.
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        index = self.top + offset.y - 1
        if index < len(self.rows_data):
            self.post_message(self.MarketClicked(self, self.rows_data[index].key))

    def _rebuild(self, force: bool = False) -> None:
        if not self.display:
            return  # hidden (compact layout): drawn when shown (on_resize)
        rows = self.rows_data
        total, visible = len(rows), self.visible_rows
        focus = next((i for i, r in enumerate(rows) if r.key == self.focused_key), -1)
        self.top = follow(self.top, focus if self.following else -1, visible, total)
        overflow = total > visible > 0
        width = self.size.width - (1 if overflow else 0)
        cols = layout(rows, width)
        lines = [header_line(cols, self.sort)]
        top, length = thumb_span(self.top, visible, total) if overflow else (0, 0)
        for y, row in enumerate(rows[self.top:self.top + visible]):
            thumb = ("thumb" if top <= y < top + length else "track") if overflow else ""
            lines.append(row_line(row, cols, row.key == self.focused_key)._replace(thumb=thumb))
        self._set_title(total)
        self.show_rows(lines, force)

    def _set_title(self, total: int) -> None:
        key, descending = self.sort
        title = f"Watchlist · {total}"
        if key != "watchlist" or descending:
            title += f" · {SORT_LABELS[key]} {'▼' if descending else '▲'}"
        if title != self._title:
            # Setting a border title repaints the widget: only when it changes.
            self._title = title
            self.border_title = title

    def _draw(self, row: WatchLine, width: int) -> Strip:
        focus = "watchlist--focused" if row.focused else ""
        body = width - (1 if row.thumb else 0)
        segments = [Segment(text, self.style_of(f"watchlist--{t}" if t else "", focus))
                    for text, t in row.cells]
        used = sum(len(text) for text, _ in row.cells)   # cell texts are single-width
        strip = Strip(segments, used)
        if used != body:
            strip = strip.crop_extend(0, body, self.style_of("", focus))
        if row.thumb:
            strip = Strip([*strip, Segment("┃" if row.thumb == "thumb" else "│",
                                           self.style_of("watchlist--thumb"))], width)
        return strip


# ------------------------------------------------------------------------ symbol bar


def bar_item(row: WatchRow) -> list[tuple[str, str]]:
    """``(text, tone)`` runs of one symbol bar item.

    >>> from tapescope.engine.events import FeedState
    >>> bar_item(WatchRow("k", "BTC", 1, 100.5, 0.01, 1.0, FeedState.LIVE, 1))
    [('1 BTC ', ''), ('100.5 ', ''), ('+1.00%', 'up')]
    >>> bar_item(WatchRow("k", "ETH", 2, 1.0, 0.0, 1.0, FeedState.STALE, 1))
    [('2 ETH ', ''), ('STALE', 'alert')]
    """
    texts = cell_texts(row)
    head = f"{row.n} {texts['sym']} "
    if not row.live:
        return [(head, ""), (row.state.name, "alert")]
    chg = texts["chg"]
    return [(head, ""), (texts["last"] + " ", ""),
            (chg + ("%" if chg != MISSING else ""), tone("chg", row, chg))]


def _more(count: int, left: bool) -> str:
    return "" if count <= 0 else (f"‹{count} " if left else f" ›{count}")


def bar_window(lengths: Sequence[int], focus: int, start: int, width: int) -> tuple[int, int]:
    """Items ``[start, end)`` the bar shows: from ``start`` (moved as little as needed), focus included.

    >>> bar_window([10] * 8, 0, 0, 40)      # 3 items + 2 separators + " ›5"
    (0, 3)
    >>> bar_window([10] * 8, 5, 0, 40)      # slides right until item 5 fits
    (4, 6)
    >>> bar_window([10] * 8, 1, 4, 40)      # focus left of the window: it starts there
    (1, 3)
    """
    n = len(lengths)
    if n == 0:
        return 0, 0
    focus = max(0, min(focus, n - 1))
    start = max(0, min(start, n - 1))
    if focus < start:
        start = focus
    sep = len(BAR_SEP)

    def fits(s: int, e: int) -> bool:
        used = sum(lengths[s:e]) + sep * (e - s - 1) + len(_more(s, True)) + len(_more(n - e, False))
        return used <= width

    while start < focus and not fits(start, focus + 1):
        start += 1
    end = max(focus + 1, start + 1)
    while end < n and fits(start, end + 1):
        end += 1
    return start, end


class SymbolBar(Widget):
    """Compact watchlist: one line of ``n SYMBOL last chg%`` items; the focused one always shown."""

    COMPONENT_CLASSES = {"symbol-bar--up", "symbol-bar--down", "symbol-bar--alert",
                         "symbol-bar--focused", "symbol-bar--more"}

    DEFAULT_CSS = """
    SymbolBar {
        height: 1;
        & > .symbol-bar--up { color: $buy; }
        & > .symbol-bar--down { color: $sell; }
        & > .symbol-bar--alert { color: $alert; }
        & > .symbol-bar--focused { text-style: bold reverse; }
        & > .symbol-bar--more { color: $foreground-muted; }
    }
    """

    rows_data: reactive[tuple[WatchRow, ...]] = reactive((), repaint=False)
    """Markets to show, in display order."""
    focused_key: reactive[str] = reactive("", repaint=False)
    """Key of the focused market (highlighted, always on the bar)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._start = 0
        self._shown: tuple = ()
        self._runs: list[tuple[str, str]] = []

    def watch_rows_data(self) -> None:
        self._rebuild()

    def watch_focused_key(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild(force=True)

    @property
    def shown_keys(self) -> list[str]:
        """Keys of the items on the bar now, left to right."""
        return [k for k in self._shown[1:]]

    def _rebuild(self, force: bool = False) -> None:
        if not self.display:
            return  # hidden (wide layouts): drawn when shown (on_resize)
        rows = self.rows_data
        items = [bar_item(r) for r in rows]
        lengths = [sum(len(t) for t, _ in it) for it in items]
        focus = next((i for i, r in enumerate(rows) if r.key == self.focused_key), 0)
        start, end = bar_window(lengths, focus, self._start, self.size.width)
        self._start = start
        runs: list[tuple[str, str]] = []
        if start > 0:
            runs.append((_more(start, True), "more"))
        for i in range(start, end):
            if i > start:
                runs.append((BAR_SEP, ""))
            focused = rows[i].key == self.focused_key
            runs.extend((t, f"{tn}+focused" if focused else tn) for t, tn in items[i])
        if end < len(rows):
            runs.append((_more(len(rows) - end, False), "more"))
        shown = (tuple(runs),) + tuple(r.key for r in rows[start:end])
        if force or shown != self._shown:
            self._shown, self._runs = shown, runs
            self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        for run, tn in self._runs:
            base, _, focused = tn.partition("+")
            style = self.get_component_rich_style(f"symbol-bar--{base}") if base else None
            if focused:
                focus = self.get_component_rich_style("symbol-bar--focused")
                style = style + focus if style is not None else focus
            text.append(run, style)
        return text
