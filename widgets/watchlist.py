"""Watchlist: every market on the feed, as a side table (wide) or a one-line bar (compact).

Both widgets render a tuple of :class:`WatchRow` assigned by the screen at the
watchlist cadence (slower than the frame rate). :class:`Watchlist` is a
:class:`~textual.widgets.DataTable` updated by diff: ``update_cell`` only for
cells whose text changed, ``add_row``/``remove_row`` for markets that came or
went; it is never cleared and rebuilt.

| Component class | Used for |
|---|---|
| ``watchlist--up`` / ``symbol-bar--up`` | a positive change |
| ``watchlist--down`` / ``symbol-bar--down`` | a negative change |
| ``watchlist--alert`` / ``symbol-bar--alert`` | a market whose book is not ``LIVE`` |
| ``symbol-bar--focused`` | the focused market on the bar |
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from tapescope.engine.events import FeedState
from tapescope.widgets.format import MISSING, fmt_fixed, fmt_price

#: Column keys and labels of the side table.
COLUMNS = (("n", "#"), ("symbol", "Symbol"), ("last", "Last"), ("chg", "Chg%"),
           ("spr", "Spr bp"), ("state", "State"))


#: Watchlist labels of the book states: at most six cells, so the side table fits 45 columns.
STATE_LABELS = {
    FeedState.CONNECTING: "CONN",
    FeedState.SYNCING: "SYNC",
    FeedState.LIVE: "LIVE",
    FeedState.RESYNCING: "RESYNC",
    FeedState.STALE: "STALE",
    FeedState.DISCONNECTED: "DOWN",
}


class WatchRow(NamedTuple):
    """One market's watchlist summary."""

    key: str
    """Market key."""
    symbol: str
    """Display symbol."""
    last: float
    """Last trade price (``nan`` before the first trade)."""
    change: float
    """Fractional change since the session open (``nan`` if unknown)."""
    spread_bps: float
    """Spread, basis points."""
    state: FeedState
    """Book state."""
    price_decimals: int = 2
    """Decimals of the price."""


def cell_texts(n: int, row: WatchRow) -> tuple[str, ...]:
    """Plain texts of the table cells of ``row`` (1-based position ``n``).

    >>> cell_texts(1, WatchRow("sim:BTC", "BTC", 100.5, 0.01234, 0.5, FeedState.LIVE, 1))
    ('1', 'BTC', '100.5', '+1.23', '0.50', 'LIVE')
    >>> cell_texts(2, WatchRow("x:Y", "Y", float("nan"), float("nan"), float("nan"), FeedState.DISCONNECTED))[-1]
    'DOWN'
    """
    change = row.change * 100 if math.isfinite(row.change) else math.nan
    return (str(n), row.symbol, fmt_price(row.last, row.price_decimals),
            fmt_fixed(change, 2, signed=True), fmt_fixed(row.spread_bps, 2), STATE_LABELS[row.state])


class Watchlist(DataTable):
    """Side table of every market; the cursor row is the focused market."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {"watchlist--up", "watchlist--down",
                                                        "watchlist--alert"}

    DEFAULT_CSS = """
    Watchlist {
        & > .watchlist--up { color: $buy; }
        & > .watchlist--down { color: $sell; }
        & > .watchlist--alert { color: $alert; text-style: bold; }
    }
    """

    @dataclass
    class MarketClicked(Message):
        """A market's row was clicked."""

        watchlist: Watchlist
        """The watchlist clicked."""
        key: str
        """Market key of the row."""

        @property
        def control(self) -> Watchlist:
            """The watchlist clicked."""
            return self.watchlist

    rows_data: reactive[tuple[WatchRow, ...]] = reactive((), repaint=False, init=False)
    """Markets to show, in watchlist order."""
    focused_key: reactive[str] = reactive("", repaint=False, init=False)
    """Key of the focused market (the cursor row)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes, cursor_type="row",
                         zebra_stripes=False, show_cursor=True)
        self.can_focus = False
        self._texts: dict[str, tuple[str, ...]] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def _styled(self, column: int, text: str, row: WatchRow) -> Text | str:
        if column == 3 and math.isfinite(row.change) and text != "+0.00" and text != "-0.00":
            return Text(text, self.get_component_rich_style(
                "watchlist--up" if row.change > 0 else "watchlist--down"))
        if column == 5 and row.state != FeedState.LIVE:
            return Text(text, self.get_component_rich_style("watchlist--alert"))
        return Text(text)

    def watch_rows_data(self, rows: tuple[WatchRow, ...]) -> None:
        self._apply(rows, force=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Cell styles come from the theme: restyle every cell on a theme change.
        if self.is_mounted and self._texts:
            self._apply(self.rows_data, force=True)

    def _apply(self, rows: tuple[WatchRow, ...], force: bool) -> None:
        wanted = {r.key for r in rows}
        for key in [k for k in self._texts if k not in wanted]:
            self.remove_row(key)
            del self._texts[key]
        for n, row in enumerate(rows, start=1):
            texts = cell_texts(n, row)
            old = self._texts.get(row.key)
            if old is None:
                self.add_row(*(self._styled(i, t, row) for i, t in enumerate(texts)), key=row.key)
            elif force:
                for i, text in enumerate(texts):
                    self.update_cell(row.key, COLUMNS[i][0], self._styled(i, text, row))
            elif old != texts:
                self._update_row(row, old, texts)
            self._texts[row.key] = texts
        self._move_cursor()

    def _update_row(self, row: WatchRow, old: tuple[str, ...], texts: tuple[str, ...]) -> None:
        """Store the changed cells of one row and repaint only that row.

        ``DataTable.update_cell`` repaints the whole table, and Textual sends
        every repainted line to the terminal, empty ones included: at one
        watchlist update per second that was most of the panel's bytes. Here
        the cells are stored as ``update_cell`` stores them (its data and its
        render-cache generation counter) and only the row's region is refreshed.
        """
        cells = self._data[RowKey(row.key)]
        for i, (a, b) in enumerate(zip(old, texts, strict=True)):
            if a != b:
                cells[ColumnKey(COLUMNS[i][0])] = self._styled(i, b, row)
        self._update_count += 1
        self.refresh_row(self.get_row_index(row.key))

    def watch_focused_key(self) -> None:
        self._move_cursor()

    def on_click(self, event: events.Click) -> None:
        # A click on a row asks for that market; the App decides (and moves the cursor).
        row = event.style.meta.get("row")
        if isinstance(row, int) and 0 <= row < self.row_count:
            self.post_message(self.MarketClicked(self, self.ordered_rows[row].key.value))

    def _move_cursor(self) -> None:
        if self.focused_key in self._texts:
            index = self.get_row_index(self.focused_key)
            if index != self.cursor_row:
                # scroll=True would scroll the *screen* when the table is hidden (compact layout).
                self.move_cursor(row=index, animate=False, scroll=self.display)


class SymbolBar(Widget):
    """Compact watchlist: one line of ``n SYMBOL last chg%`` items, focused one highlighted."""

    COMPONENT_CLASSES = {"symbol-bar--up", "symbol-bar--down", "symbol-bar--alert",
                         "symbol-bar--focused"}

    DEFAULT_CSS = """
    SymbolBar {
        height: 1;
        & > .symbol-bar--up { color: $buy; }
        & > .symbol-bar--down { color: $sell; }
        & > .symbol-bar--alert { color: $alert; }
        & > .symbol-bar--focused { text-style: bold reverse; }
    }
    """

    rows_data: reactive[tuple[WatchRow, ...]] = reactive((), repaint=False)
    """Markets to show, in watchlist order."""
    focused_key: reactive[str] = reactive("", repaint=False)
    """Key of the focused market (highlighted)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._shown: tuple = ()

    def watch_rows_data(self) -> None:
        self._rebuild()

    def watch_focused_key(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        shown = (self.focused_key,) + tuple(cell_texts(n, r) + (r.key,)
                                            for n, r in enumerate(self.rows_data, start=1))
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for n, row in enumerate(self.rows_data, start=1):
            if n > 1:
                text.append(" │ ")
            cells = cell_texts(n, row)
            item_style = self.get_component_rich_style("symbol-bar--focused") \
                if row.key == self.focused_key else None
            text.append(f"{cells[0]} {cells[1]} ", item_style)
            if row.state != FeedState.LIVE:
                text.append(row.state.name, self.get_component_rich_style("symbol-bar--alert"))
                continue
            text.append(cells[2] + " ")
            tone = None
            if math.isfinite(row.change) and cells[3] not in ("+0.00", "-0.00", MISSING):
                tone = self.get_component_rich_style(
                    "symbol-bar--up" if row.change > 0 else "symbol-bar--down")
            text.append(cells[3] + "%", tone)
        return text
