"""Tape (time and sales): recent trades, newest on top, coloured by aggressor.

Dumb renderer on the line API: the screen assigns :attr:`Tape.trades` (the
snapshot's recent prints, oldest first); each visible line is a
:class:`TapeRow` and its strip is cached in an LRU cache keyed by the row, so
an unchanged print costs a dictionary lookup.

Every new print shifts every line down, so each redraw rewrites the whole
panel on the terminal. :attr:`Tape.redraw_interval` (``[app] tape_interval``)
caps the redraw cadence: trades arriving in between are drawn together at
the next redraw (see :class:`~tapescope.widgets.throttle.Throttle`).

| Component class | Used for |
|---|---|
| ``tape--buy`` | prints where the taker bought |
| ``tape--sell`` | prints where the taker sold |
| ``tape--time`` | the time column |
| ``tape--big`` | extra style of prints at least 5x the median visible size |
"""

from __future__ import annotations

import statistics
from typing import NamedTuple

from rich.segment import Segment
from textual.reactive import reactive
from textual.strip import Strip

from tapescope.engine.snapshot import TradePrint
from tapescope.widgets.format import fmt_price, fmt_size, fmt_time, quantise
from tapescope.widgets.styles import RowLines
from tapescope.widgets.throttle import Throttle, ThrottledRedraw

#: A print this many times the median visible size is highlighted.
BIG_PRINT_FACTOR = 5.0


class TapeRow(NamedTuple):
    """One line of the tape (hashable: it is the line cache key)."""

    time: str
    """Clock time with milliseconds."""
    price: str
    """Trade price at tick precision."""
    size: str
    """Quantised size."""
    side: int
    """+1 taker bought, -1 taker sold."""
    big: bool = False
    """Unusually large print."""


def build_rows(trades: tuple[TradePrint, ...], height: int, price_decimals: int,
               size_digits: int = 3, utc: bool = True) -> list[TapeRow]:
    """The newest ``height`` trades as tape lines, newest first.

    >>> t = (TradePrint(1_700_000_000_000_000_000, 100.5, 0.5, 1),
    ...      TradePrint(1_700_000_000_250_000_000, 100.4, 12.345, -1))
    >>> build_rows(t, 5, 1)
    [TapeRow(time='22:13:20.250', price='100.4', size='12.3', side=-1, big=False), TapeRow(time='22:13:20.000', price='100.5', size='0.500', side=1, big=False)]
    """
    if height <= 0 or not trades:
        return []
    shown = trades[-height:][::-1]
    sizes = [t.qty for t in trades[-max(height, 20):]]
    threshold = statistics.median(sizes) * BIG_PRINT_FACTOR if len(sizes) >= 10 else float("inf")
    return [
        TapeRow(fmt_time(t.ts, utc), fmt_price(t.price, price_decimals),
                fmt_size(quantise(t.qty, size_digits), size_digits), 1 if t.side > 0 else -1,
                t.qty >= threshold)
        for t in shown
    ]


class Tape(ThrottledRedraw, RowLines):
    """Time and sales: newest trade on the top line."""

    COMPONENT_CLASSES = {"tape--buy", "tape--sell", "tape--time", "tape--big"}

    DEFAULT_CSS = """
    Tape {
        height: 1fr;
        & > .tape--buy { color: $buy; }
        & > .tape--sell { color: $sell; }
        & > .tape--time { color: $foreground-muted; }
        & > .tape--big { text-style: bold reverse; }
    }
    """

    trades: reactive[tuple[TradePrint, ...]] = reactive((), repaint=False)
    """Recent trades, oldest first."""
    price_decimals: reactive[int] = reactive(2, repaint=False)
    """Decimals of a price."""
    size_digits: reactive[int] = reactive(3, repaint=False)
    """Significant digits of sizes."""
    utc: reactive[bool] = reactive(True, repaint=False)
    """Show times in UTC (else the local zone)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(cache_size=1024, name=name, id=id, classes=classes)
        self._throttle = Throttle(self, self._rebuild)


    @property
    def rows(self) -> list[TapeRow]:
        """The lines currently on screen (for tests and diagnostics)."""
        return list(self._rows)

    def watch_trades(self) -> None:
        if not self._rows:
            self._throttle.reset()  # nothing on screen yet: draw the first prints at once
        self._throttle()

    def watch_price_decimals(self) -> None:
        self._rebuild()

    def watch_size_digits(self) -> None:
        self._rebuild()

    def watch_utc(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def _rebuild(self, force: bool = False) -> None:
        rows = build_rows(self.trades, self.size.height, self.price_decimals, self.size_digits, self.utc)
        self.show_rows(rows, force)

    def _draw(self, row: TapeRow, width: int) -> Strip:
        base = self.base_style
        side_cls = "tape--buy" if row.side > 0 else "tape--sell"
        side = self.style_of(side_cls, "tape--big") if row.big else self.style_of(side_cls)
        time_style = self.style_of("tape--time")
        rest = max(0, width - len(row.time) - 1)
        size_w = 8
        price_w = max(len(row.price), min(12, rest - size_w))
        # Few segments per line: each style change costs a full colour sequence
        # (about 40 bytes in truecolor) on the wire, so the separator rides with
        # the time and the price, size and padding share the side's style.
        pad = base if row.big else side  # reverse video would show a padded bar
        segs = [
            Segment(row.time + " ", time_style),
            Segment(row.price.rjust(price_w) + row.size.rjust(size_w), side),
            Segment(" " * max(0, width - len(row.time) - 1 - price_w - size_w), pad),
        ]
        return Strip(segs).simplify().crop(0, width).adjust_cell_length(width, base)
