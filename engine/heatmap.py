"""Per-market liquidity heatmap history: resting size by price row over time, plus traded volume.

:class:`HeatmapHistory` is an :class:`~tapescope.engine.market.Analyzer`.
Once per column period of event time (``[heatmap] column_s``, default one
second) it samples the book as it stood at the end of the period: the
resting size of both sides summed into ``rows`` price rows of
``row_ticks`` ticks each, centred on mid, into a fixed ring of ``columns``
columns. Trades are summed per row into the open column (buy and sell volume
apart) and written with it when it closes.

Row ``i`` of a column covers prices ``[i * step, (i + 1) * step)`` (absolute
row index ``floor(price / step)``), for bids, asks and trades alike, so at a
row height above one tick the touch row can hold both sides: that is the
aggregation the trader asked for.

Rules kept here:

* Work per message is one dict update per trade and nothing per book event;
  closing a column costs ``O(rows + log n + k)`` for ``k`` book levels inside
  the column's price range (architecture.md rule 1).
* A book that is not valid (not ``LIVE``, or crossed) is never recorded as
  if it were: its column holds ``nan`` sizes ("unknown"), not zeros
  (architecture.md rule 5). Trades are real whatever the book state, and are
  kept.
* Seconds without any event repeat the last sample (the book did not change),
  at most one ring's worth.
* :meth:`HeatmapHistory.snapshot` aligns every column to the newest column's
  rows and returns a frozen :class:`HeatmapSnapshot` of read-only arrays,
  cached until the next column closes: the UI scrolls by whole columns at
  the column cadence, never per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sortedcontainers import SortedDict

from tapescope.engine.events import Trade
from tapescope.engine.market import Market

NAN = math.nan
#: Tolerance in row units for prices that sit on a row edge up to float noise.
_EPS = 1e-9
#: Mantissas of automatic row heights (1, 2, 5, 10, 20, 50... ticks).
_MANTISSAS = (1, 2, 5)


@dataclass(frozen=True, slots=True)
class HeatmapParams:
    """Heatmap history parameters (config section ``[heatmap]``)."""

    enabled: bool = True
    """Record heatmap history for every market (off saves the per-column work and memory)."""
    column_s: int = field(default=1, metadata={"min": 1, "max": 60})
    """Seconds of event time per column; the heatmap scrolls by one column this often."""
    columns: int = field(default=240, metadata={"min": 10, "max": 3600})
    """Columns kept per market (history length = columns * column_s seconds)."""
    rows: int = field(default=120, metadata={"min": 10, "max": 1000})
    """Price rows recorded per column, centred on mid."""
    row_ticks: int = field(default=0, metadata={"min": 0, "max": 1_000_000})
    """Row height in ticks; 0 chooses it from span_bps at the first live mid."""
    span_bps: float = field(default=50.0, metadata={"min": 0.1, "max": 10_000.0})
    """Automatic row height: all rows together span about this many bps of mid (1-2-5 ticks)."""


def auto_row_ticks(mid: float, tick: float, rows: int, span_bps: float) -> int:
    """The 1-2-5 row height in ticks nearest (log scale) to ``span_bps`` of ``mid`` over ``rows``.

    >>> auto_row_ticks(60_000.0, 0.1, 120, 50.0)   # 300 over 120 rows = 25 ticks -> 20
    20
    >>> auto_row_ticks(1.0, 0.0001, 100, 50.0), auto_row_ticks(float("nan"), 0.1, 10, 5.0)
    (1, 1)

    Runtime complexity: ``O(1)``.
    """
    if not (mid > 0.0 and tick > 0.0 and rows > 0 and span_bps > 0.0):
        return 1
    target = max(1.0, mid * span_bps * 1e-4 / rows / tick)
    steps = [m * 10**e for e in range(10) for m in _MANTISSAS]
    return min(steps, key=lambda s: abs(math.log(s / target)))


def _binned(side: SortedDict, base: int, step: float, rows: int) -> np.ndarray:
    """Sizes of one book side summed into ``rows`` rows from absolute row ``base``.

    One bisection per end, then a slice of keys and values and one vectorised
    binning: ``O(log n + k)`` for ``k`` levels in range, with the per-level
    work in numpy rather than the interpreter.

    >>> _binned(SortedDict({9.5: 1.0, 10.0: 2.0, 10.5: 4.0, 12.0: 8.0}), 10, 1.0, 2).tolist()
    [6.0, 0.0]
    """
    # Both ends with a hair of slack; the exact row index test below decides.
    i = side.bisect_left(base * step - step * _EPS)
    j = side.bisect_right((base + rows) * step)
    if i >= j:
        return np.zeros(rows)
    prices = np.fromiter(side.keys()[i:j], dtype=np.float64, count=j - i)
    qty = np.fromiter(side.values()[i:j], dtype=np.float64, count=j - i)
    r = np.floor(prices / step + _EPS).astype(np.int64) - base
    keep = (r >= 0) & (r < rows)
    return np.bincount(r[keep], weights=qty[keep], minlength=rows)[:rows]


@dataclass(frozen=True, slots=True, eq=False)
class HeatmapSnapshot:
    """The heatmap history of one market, aligned to the newest column's rows.

    Compared by identity (``eq=False``): the history hands out the same object
    until a column closes, so "unchanged" is an ``is`` test, never an array compare.

    Arrays are ``(rows, columns)``, row 0 the lowest price, column 0 the
    oldest; all are read-only. ``sizes`` is ``nan`` where that column did not
    record the row (outside its price range then, or the book was not valid).
    """

    step: float = 0.0
    """Row height in price units (``0`` before the first column)."""
    base: int = 0
    """Absolute row index of row 0: its price is ``base * step``."""
    sizes: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.float32))
    """Resting size (bids + asks) per row and column; ``nan`` unknown."""
    buys: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.float32))
    """Taker-buy volume traded per row during each column."""
    sells: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.float32))
    """Taker-sell volume traded per row during each column."""
    times: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """Start of each column, whole seconds of event time."""
    mids: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Mid price at the end of each column (``nan`` when the book was not valid)."""
    column_s: int = 1
    """Seconds per column."""
    version: int = 0
    """Columns closed so far; equal versions mean equal snapshots."""

    @property
    def row_prices(self) -> np.ndarray:
        """Lower edge price of each row (ascending).

        >>> HeatmapSnapshot(step=0.5, base=200, sizes=np.zeros((3, 1))).row_prices.tolist()
        [100.0, 100.5, 101.0]
        """
        return np.round((self.base + np.arange(self.sizes.shape[0])) * self.step, 12)

    @property
    def trades(self) -> np.ndarray:
        """Traded volume per row and column (buys + sells)."""
        return self.buys + self.sells


class HeatmapHistory:
    """Resting size by price row over time for one market (an Analyzer).

    >>> from tapescope.engine.events import BookSnapshot
    >>> from tapescope.engine.instrument import Instrument
    >>> m = Market(Instrument("sim", "X", tick_size=1.0))
    >>> h = HeatmapHistory.attach(m, HeatmapParams(rows=4, row_ticks=1, columns=10))
    >>> m.on_event(BookSnapshot("sim:X", 10**9, 0, [(99.0, 2.0), (98.0, 1.0)], [(101.0, 3.0)]))
    >>> m.on_event(Trade("sim:X", 2 * 10**9, 0, 101.0, 0.5, 1))   # closes second 1
    >>> s = h.snapshot(); s.row_prices.tolist(), s.sizes[:, 0].tolist(), s.times.tolist()
    ([98.0, 99.0, 100.0, 101.0], [1.0, 2.0, 0.0, 3.0], [1])
    """

    def __init__(self, params: HeatmapParams, tick_size: float) -> None:
        """Create an empty history.

        Args:
            params: heatmap parameters.
            tick_size: the instrument's tick (row heights are multiples of it).
        """
        self.params = params
        self.tick_size = tick_size
        self.step: float = params.row_ticks * tick_size if params.row_ticks else 0.0
        """Row height in price units; ``0`` until chosen (automatic mode)."""
        cap, rows = params.columns, params.rows
        self._sizes = np.full((cap, rows), NAN, dtype=np.float32)
        self._buys = np.zeros((cap, rows), dtype=np.float32)
        self._sells = np.zeros((cap, rows), dtype=np.float32)
        self._times = np.zeros(cap, dtype=np.int64)
        self._bases = np.zeros(cap, dtype=np.int64)
        self._mids = np.full(cap, NAN)
        self.count: int = 0
        """Columns closed since creation (the ring holds the last ``columns``)."""
        self._col = -1  # start second of the open column; -1 before the first event
        self._base: int | None = None  # base of the last closed column
        self._trades: dict[int, list[float]] = {}  # absolute row -> [buy, sell], open column
        self._cache: HeatmapSnapshot = HeatmapSnapshot(column_s=params.column_s)
        self._cache_count = 0

    @classmethod
    def attach(cls, market: Market, params: HeatmapParams | None = None) -> HeatmapHistory:
        """Create a history for ``market`` and append it to ``market.analyzers``."""
        history = cls(params or HeatmapParams(), market.instrument.tick_size)
        market.analyzers.append(history)
        return history

    # -- Analyzer protocol ------------------------------------------------

    def on_book(self, ts: int, market: Market) -> None:
        """Nothing per book event: the book is sampled when a column closes."""

    def on_trade(self, trade: Trade, market: Market) -> None:
        """Add a print to its row of the open column. ``O(1)``."""
        step = self.step
        if step <= 0.0:
            return
        row = math.floor(trade.price / step + _EPS)
        acc = self._trades.get(row)
        if acc is None:
            acc = self._trades[row] = [0.0, 0.0]
        acc[0 if trade.side > 0 else 1] += trade.qty

    def on_second(self, ts_s: int, market: Market) -> None:
        """Close the open column when event time has left it.

        Runtime complexity: ``O(1)`` inside a column; ``O(rows + log n + k)``
        when a column closes (``k`` book levels in its range), plus
        ``O(rows)`` per skipped column, at most ``columns`` of them.
        """
        period = self.params.column_s
        start = ts_s - ts_s % period
        if self._col < 0:
            self._col = start
            return
        if start <= self._col:
            return
        self._close(self._col, market)
        # Columns with no event at all: the book stood still, repeat its sample.
        gap = (start - self._col) // period - 1
        if gap > 0 and self.count:
            last = (self.count - 1) % self.params.columns
            for k in range(max(1, gap - self.params.columns + 1), gap + 1):
                self._repeat(last, self._col + k * period)
        self._col = start

    # -- recording ----------------------------------------------------------

    def _close(self, col_start: int, market: Market) -> None:
        p = self.params
        rows = p.rows
        book = market.book
        valid = market.valid
        mid = book.mid() if valid else None
        if self.step <= 0.0:
            if mid is None:
                # No grid yet (automatic row height needs a live mid): nothing to record.
                self._trades.clear()
                return
            self.step = auto_row_ticks(mid, self.tick_size, rows, p.span_bps) * self.tick_size
        step = self.step
        if mid is not None:
            base = math.floor(mid / step + _EPS) - rows // 2
        elif self._base is not None:
            base = self._base
        else:
            self._trades.clear()
            return
        i = self.count % p.columns
        sizes = self._sizes[i]
        if mid is None:
            sizes.fill(NAN)
        else:
            sizes[:] = _binned(book.bids, base, step, rows) + _binned(book.asks, base, step, rows)
        buys, sells = self._buys[i], self._sells[i]
        buys.fill(0.0)
        sells.fill(0.0)
        for row, (b, s) in self._trades.items():
            r = row - base
            if 0 <= r < rows:
                buys[r] = b
                sells[r] = s
        self._trades.clear()
        self._times[i] = col_start
        self._bases[i] = base
        self._mids[i] = mid if mid is not None else NAN
        self._base = base
        self.count += 1

    def _repeat(self, src: int, col_start: int) -> None:
        i = self.count % self.params.columns
        if i != src:
            self._sizes[i] = self._sizes[src]
            self._bases[i] = self._bases[src]
            self._mids[i] = self._mids[src]
        self._buys[i].fill(0.0)
        self._sells[i].fill(0.0)
        self._times[i] = col_start
        self.count += 1

    # -- read -----------------------------------------------------------------

    def snapshot(self) -> HeatmapSnapshot:
        """Every kept column aligned to the newest column's rows, oldest first.

        Cached until the next column closes. Runtime complexity: ``O(1)`` when
        cached, else ``O(rows * columns)`` (vectorised).
        """
        if self._cache_count == self.count:
            return self._cache
        p = self.params
        cap, rows = p.columns, p.rows
        n = min(self.count, cap)
        if n == 0:
            return self._cache
        order = np.arange(self.count - n, self.count) % cap
        bases = self._bases[order]
        ref = int(bases[-1])
        # Column c holds absolute row A at local index A - base_c; output row r is A = ref + r.
        local = np.arange(rows)[:, None] + (ref - bases)[None, :]
        inside = (local >= 0) & (local < rows)
        idx = np.clip(local, 0, rows - 1)
        cols = order[None, :]
        sizes = np.where(inside, self._sizes[cols, idx], np.float32(NAN))
        buys = np.where(inside, self._buys[cols, idx], np.float32(0.0))
        sells = np.where(inside, self._sells[cols, idx], np.float32(0.0))
        times = self._times[order].copy()
        mids = self._mids[order].copy()
        for a in (sizes, buys, sells, times, mids):
            a.flags.writeable = False
        snap = HeatmapSnapshot(self.step, ref, sizes, buys, sells, times, mids, p.column_s, self.count)
        self._cache = snap
        self._cache_count = self.count
        return snap

    def _check(self) -> None:
        """Assert invariants: column times strictly increase, trade volume never negative."""
        s = self.snapshot()
        assert np.all(np.diff(s.times) > 0)
        assert np.all(s.buys >= 0) and np.all(s.sells >= 0)
        assert s.sizes.shape == (self.params.rows, min(self.count, self.params.columns))
        finite = s.sizes[np.isfinite(s.sizes)]
        assert np.all(finite >= 0)
