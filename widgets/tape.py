"""Tape (time and sales): recent trades, newest on top, coloured by aggressor.

Dumb renderer on the line API: the screen assigns :attr:`Tape.trades` (the
snapshot's recent prints, oldest first); each visible line is a
:class:`TapeRow` and its strip is cached in an LRU cache keyed by the row, so
an unchanged print costs a dictionary lookup.

Every new print shifts every line down, so each redraw rewrites the whole
panel on the terminal. :attr:`Tape.redraw_interval` (``[app] tape_interval``)
caps the redraw cadence: trades arriving in between are drawn together at
the next redraw (see :class:`~tapescope.widgets.throttle.Throttle`).

Two views a tape reader asks for (:func:`build_rows`):

* **Burst aggregation**: consecutive prints at the same price by the same
  aggressor, each within :attr:`Tape.burst_ms` of the previous one, are one
  line with their summed size and a ``×n`` count (one market order sweeping a
  queue arrives as many fills; 0 shows every fill).
* **Size filter**: only lines whose notional (price x size, quote units) is at
  least :attr:`Tape.min_notional` are shown. The filter applies to the
  aggregated line, so a sweep made of small fills still shows.

"Large" (``tape--big``) compares a line with the median of the recent
aggregated lines, filtered or not, so it keeps meaning "large for this
market".

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
    count: int = 1
    """Prints aggregated into this line (a same-price burst)."""


def aggregate(trades: tuple[TradePrint, ...], burst_ns: int) -> list[tuple[TradePrint, int]]:
    """Merge same-price, same-aggressor bursts: ``(print, count)`` oldest first.

    A print joins the line before it when it has the same price and side and
    arrives at most ``burst_ns`` after the previous print of that line; the
    line takes the last print's time and the summed size. ``burst_ns <= 0``
    keeps every print. ``O(len(trades))``.

    >>> t = (TradePrint(0, 100.0, 1.0, 1), TradePrint(10, 100.0, 2.0, 1),
    ...      TradePrint(20, 100.0, 1.0, -1), TradePrint(200, 100.0, 1.0, -1))
    >>> [(p.ts, p.qty, p.side, n) for p, n in aggregate(t, 50)]
    [(10, 3.0, 1, 2), (20, 1.0, -1, 1), (200, 1.0, -1, 1)]
    """
    if burst_ns <= 0:
        return [(t, 1) for t in trades]
    out: list[tuple[TradePrint, int]] = []
    for t in trades:
        if out:
            last, n = out[-1]
            if t.price == last.price and t.side == last.side and 0 <= t.ts - last.ts <= burst_ns:
                out[-1] = (TradePrint(t.ts, t.price, last.qty + t.qty, t.side), n + 1)
                continue
        out.append((t, 1))
    return out


def build_rows(trades: tuple[TradePrint, ...], height: int, price_decimals: int,
               size_digits: int = 3, utc: bool = True, min_notional: float = 0.0,
               burst_ns: int = 0) -> list[TapeRow]:
    """The newest ``height`` tape lines, newest first.

    Bursts are aggregated first (``burst_ns``, see :func:`aggregate`), then
    lines under ``min_notional`` (price x size) are left out.

    >>> t = (TradePrint(1_700_000_000_000_000_000, 100.5, 0.5, 1),
    ...      TradePrint(1_700_000_000_250_000_000, 100.4, 12.345, -1))
    >>> build_rows(t, 5, 1)
    [TapeRow(time='22:13:20.250', price='100.4', size='12.3', side=-1, big=False, count=1), TapeRow(time='22:13:20.000', price='100.5', size='0.500', side=1, big=False, count=1)]
    >>> [(r.size, r.count) for r in build_rows(t, 5, 1, min_notional=100.0)]  # 50.25 is filtered
    [('12.3', 1)]
    """
    if height <= 0 or not trades:
        return []
    lines = aggregate(trades, burst_ns)
    sizes = [t.qty for t, _ in lines[-max(height, 20):]]
    threshold = statistics.median(sizes) * BIG_PRINT_FACTOR if len(sizes) >= 10 else float("inf")
    if min_notional > 0:
        lines = [(t, n) for t, n in lines if t.price * t.qty >= min_notional]
    return [
        TapeRow(fmt_time(t.ts, utc), fmt_price(t.price, price_decimals),
                fmt_size(quantise(t.qty, size_digits), size_digits), 1 if t.side > 0 else -1,
                t.qty >= threshold, n)
        for t, n in lines[-height:][::-1]
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
    min_notional: reactive[float] = reactive(0.0, repaint=False)
    """Hide lines whose notional (price x size) is below this (0: show all)."""
    burst_ms: reactive[float] = reactive(0.0, repaint=False)
    """Aggregate same-price, same-side prints at most this far apart (0: every print)."""

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

    def watch_min_notional(self) -> None:
        self._rebuild()

    def watch_burst_ms(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def _rebuild(self, force: bool = False) -> None:
        rows = build_rows(self.trades, self.size.height, self.price_decimals, self.size_digits, self.utc,
                          self.min_notional, int(self.burst_ms * 1_000_000))
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
        count = f" ×{row.count}" if row.count > 1 else ""
        segs = [
            Segment(row.time + " ", time_style),
            Segment(row.price.rjust(price_w) + row.size.rjust(size_w) + count, side),
            Segment(" " * max(0, width - len(row.time) - 1 - price_w - size_w - len(count)), pad),
        ]
        return Strip(segs).simplify().crop(0, width).adjust_cell_length(width, base)
