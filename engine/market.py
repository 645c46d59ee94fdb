"""One market's live state: book, flow metrics, tape, history and sync state.

:class:`Market` consumes the normalised events of one symbol in order and
builds an immutable :class:`~tapescope.engine.snapshot.MarketSnapshot` on
request. Detectors attach through the :class:`Analyzer` protocol
(``market.analyzers``: book, trade and per-second hooks) and, when they need
every level's old and new size, one :class:`LevelObserver`
(``market.level_observer``).

Sync state rules (architecture.md rule 5):

* A market starts ``CONNECTING``.
* A :class:`~tapescope.engine.events.StatusChange` always wins: it sets the
  state and reason, whatever the engine thought, with one exception: a
  ``LIVE`` status cannot make a book the engine found crossed look live
  before a fresh snapshot has been applied (architecture.md rule 5).
* A feed that never emits status (the simulator, tests) must still work: a
  ``BookSnapshot`` applied while no StatusChange has ever been seen moves
  ``CONNECTING`` to ``LIVE``. Once the feed has spoken, snapshots do not
  change the state (the feed says ``LIVE`` when its sync is complete).
* After every book update the book is checked for a cross (best bid >= best
  ask). A crossed book sets ``RESYNCING`` with reason ``"crossed book"``,
  counts it in :attr:`Market.crossed`, calls ``on_invalid(key, reason)`` once
  (the feed then rebuilds), and freezes the book-driven metrics (OFI, spread
  samples, analyzers' ``on_book``) until a snapshot arrives. A fresh
  uncrossed snapshot clears an engine-raised ``RESYNCING`` back to ``LIVE``
  even from a feed that ignored the request; a feed that answers with its
  own StatusChange overrides that as usual.

Per-event work is ``O(changed levels)`` for the book plus ``O(L)`` for OFI;
once per second of event time the per-second series and rings close their
second. Snapshots are built only when asked, and cached until the next event.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from typing import Protocol

import numpy as np

from tapescope.engine.book import Book
from tapescope.engine.events import (
    NS_PER_S,
    BookDelta,
    BookSnapshot,
    Event,
    FeedState,
    OpenInterest,
    StatusChange,
    Trade,
)
from tapescope.engine.flow import FlowMetrics, FlowParams
from tapescope.engine.instrument import Instrument
from tapescope.engine.ring import RecordRing
from tapescope.engine.slope import cvd_slope
from tapescope.engine.snapshot import AnalysisSnapshot, Ladder, MarketSnapshot, Series, TradePrint

log = logging.getLogger(__name__)

NAN = math.nan
#: Row layout of the per-second history (whole seconds of venue time).
SERIES_DTYPE = np.dtype([("t", "i8"), ("mid", "f8"), ("cvd", "f8"), ("delta", "f8")])
#: Reason given when the engine finds a crossed book.
CROSSED = "crossed book"

#: Callback the engine calls when a market's book proved impossible: ``(key, reason)``.
InvalidCallback = Callable[[str, str], None]


class Analyzer(Protocol):
    """A detector attached to a :class:`Market` (``market.analyzers.append(a)``).

    Hooks run synchronously inside :meth:`Market.on_event`, after the market
    and its flow metrics have absorbed the event, so an analyzer reads
    ``market.book``, ``market.flow`` and ``market.state`` as of that event.
    They must keep their own work proportional to what the event changed.
    """

    def on_book(self, ts: int, market: Market) -> None:
        """A snapshot or delta was applied and the book is valid (not crossed).

        ``market.last_book_event`` is the event just applied: a
        ``BookSnapshot`` (the book was replaced; vanished levels are not
        cancels) or a ``BookDelta`` whose ``bids``/``asks`` are the changed
        levels, so the analyzer's work can stay proportional to them.
        """

    def on_trade(self, trade: Trade, market: Market) -> None:
        """A trade was booked."""

    def on_second(self, ts_s: int, market: Market) -> None:
        """Event time entered second ``ts_s``; every second before it is closed.

        Called once per crossing (not once per skipped second), before the
        event that crossed is applied, so the market still shows the state at
        the end of the previous second.
        """


class LevelObserver(Protocol):
    """Sees every level of every delta as it is applied (``Market.level_observer``).

    For detectors that need each level's old and new size (fill/cancel
    attribution, walls, spoofing, icebergs) without a second pass over the
    message; the signatures match ``engine.detectors.micro.Microstructure``.
    Not called while the book is known to be crossed (old sizes are then
    meaningless) nor for snapshots (the book is replaced, nothing was
    cancelled); analyzers learn about snapshots from ``on_book``.
    """

    def begin_update(self, ts: int, book: Book) -> None:
        """A delta is about to be applied to ``book`` (still in its previous state)."""

    def on_level(self, side: int, price: float, old: float, new: float) -> object:
        """One level changed: ``side`` +1 bid / -1 ask, sizes before and after."""

    def end_update(self, ts: int) -> None:
        """The delta is fully applied."""

    # Optional: an observer with ``on_levels(changes)`` gets the whole update in
    # one call instead of ``on_level`` per level, ``changes`` being the list of
    # ``(side, price, old, new)`` (see ``Book.apply_delta_collect``).


class AnalysisSource(Protocol):
    """What a market needs from an attached analysis: an immutable snapshot."""

    def snapshot(self) -> AnalysisSnapshot:
        """Detectors and signals now."""


class Market:
    """Book, flow metrics, tape and history of one instrument.

    >>> from tapescope.engine.events import BookSnapshot, Trade
    >>> m = Market(Instrument("sim", "X", tick_size=0.5))
    >>> m.on_event(BookSnapshot("sim:X", 10**9, 0, [(100.0, 1.0)], [(100.5, 2.0)]))
    >>> m.on_event(Trade("sim:X", 2 * 10**9, 0, 100.5, 0.5, 1))
    >>> s = m.snapshot(); s.state.name, s.best_bid, s.last_price, s.flow.cvd
    ('LIVE', (100.0, 1.0), 100.5, 0.5)
    >>> m.snapshot() is s
    True
    """

    def __init__(
        self,
        instrument: Instrument,
        params: FlowParams | None = None,
        on_invalid: InvalidCallback | None = None,
    ) -> None:
        """Create an empty market.

        Args:
            instrument: the market (its key routes events, its tick sizes the ladder).
            params: flow parameters.
            on_invalid: called as ``on_invalid(key, reason)`` when the book
                turns out crossed, so the feed can rebuild it.
        """
        self.instrument: Instrument = instrument
        """The market."""
        self.key: str = instrument.key
        """Market key, ``"venue:SYMBOL"``."""
        self.book: Book = Book()
        """The L2 book."""
        p = params if params is not None else FlowParams()
        self.flow: FlowMetrics = FlowMetrics(p, instrument.tick_size)
        """Flow metrics."""
        self.analyzers: list[Analyzer] = []
        """Attached detectors, called in order."""
        self.level_observer: LevelObserver | None = None
        self.analysis: AnalysisSource | None = None
        """Detectors and signals attached by ``MarketAnalysis.attach`` (shown in snapshots)."""
        """Optional per-level observer of deltas (see :class:`LevelObserver`)."""
        self.on_invalid: InvalidCallback | None = on_invalid
        """Crossed-book callback."""
        self.state: FeedState = FeedState.CONNECTING
        """Sync state."""
        self.reason: str = ""
        """Why the market is in :attr:`state`."""
        self.crossed: int = 0
        """Times the book came out crossed."""
        self.messages: int = 0
        """Events applied."""
        self.ts: int = 0
        """Venue time of the last event, ns."""
        self.recv_ts: int = 0
        """Receive time of the last event, ns."""
        self.last_price: float = NAN
        """Last trade price."""
        self.session_open: float = NAN
        """First trade price of the current session."""
        self.open_interest: float = NAN
        """Last open interest, base units."""
        self.open_interest_ts: int = 0
        """Venue time of :attr:`open_interest`, ns."""
        self.trades: deque[TradePrint] = deque(maxlen=p.tape_trades)
        """Recent trades, oldest first."""
        self.series: RecordRing = RecordRing(SERIES_DTYPE, p.series_seconds)
        """Per-second history (closed seconds)."""
        self.last_book_event: BookSnapshot | BookDelta | None = None
        """The last snapshot or delta applied (analyzers read its changed levels)."""
        self._sec = -1
        self._session = -1
        self._status_seen = False
        self._engine_resync = False
        self._invalid = False
        self._cache: MarketSnapshot | None = None
        self._cache_key: tuple[int, int, int] = (-1, 0, 0)
        self._series_cache: tuple[int, Series] = (-1, Series())
        self._slope_window = p.cvd_slope_window
        self._slope_cache: tuple[int, float] = (-1, NAN)
        self._ladder_cache: tuple[tuple[int, int, int], Ladder] = ((-1, 0, 0), Ladder(1.0))
        self._dispatch = {
            BookDelta: self._on_delta,
            BookSnapshot: self._on_snapshot,
            Trade: self._on_trade,
            OpenInterest: self._on_oi,
            StatusChange: self._on_status,
        }

    # -- events -----------------------------------------------------------

    def on_event(self, ev: Event) -> None:
        """Apply one event of this market.

        Runtime complexity: ``O(k log n)`` for a delta of ``k`` levels, plus
        ``O(L)`` flow work; ``O(n log n)`` for a snapshot of ``n`` levels.

        Raises:
            TypeError: for an object that is not an engine event.

        >>> m = Market(Instrument("sim", "X"))
        >>> m.on_event(BookSnapshot("sim:X", 10**9, 0, [(1.0, 1.0)], [(1.01, 2.0)]))
        >>> m.on_event(BookDelta("sim:X", 10**9, 0, [(1.02, 1.0)], []))   # crosses 1.01
        >>> m.state.name, m.reason, m.crossed
        ('RESYNCING', 'crossed book', 1)
        """
        handler = self._dispatch.get(type(ev))
        if handler is None:
            raise TypeError(f"not an engine event: {type(ev).__name__}")
        handler(ev)

    def _tick(self, sec: int) -> None:
        """Close seconds up to ``sec``: per-second series, flow rings, analyzers."""
        h = self._sec
        if h >= 0:
            flow = self.flow
            mid = NAN
            if not self._invalid:
                m = self.book.mid()
                if m is not None:
                    mid = m
            cvd = flow.cvd
            series = self.series
            series.append((h, mid, cvd, flow.second_delta))
            # Skipped seconds repeat the last mid and CVD with zero delta (a
            # regular time axis for charts); at most one ring's worth.
            first = max(h + 1, sec - series.capacity)
            session = flow.session
            for t in range(first, sec):
                series.append((t, mid, cvd if flow.session_of(t) == session else 0.0, 0.0))
        flow = self.flow
        flow.roll(sec)
        if flow.session != self._session:
            # A new session has no open price until its first trade.
            self.session_open = NAN
        self._sec = sec
        for a in self.analyzers:
            a.on_second(sec, self)

    def _on_delta(self, ev: BookDelta) -> None:
        _, ts, recv, bids, asks, seq = ev
        sec = ts // NS_PER_S
        if sec > self._sec:
            self._tick(sec)
        obs = self.level_observer
        if obs is None or self._invalid:
            self.book.apply_delta(bids, asks, seq)
        else:
            obs.begin_update(ts, self.book)
            on_levels = getattr(obs, "on_levels", None)
            if on_levels is None:
                self.book.apply_delta(bids, asks, seq, on_level=obs.on_level)
            else:
                # A batch observer sees the same (side, price, old, new) sequence in one call.
                changes: list[tuple[int, float, float, float]] = []
                self.book.apply_delta_collect(bids, asks, seq, changes)
                on_levels(changes)
            obs.end_update(ts)
        self.last_book_event = ev
        self.messages += 1
        self.ts = ts
        self.recv_ts = recv
        if self._invalid:
            return
        if not self.flow.on_book(ts, self.book):
            self._mark_crossed()
            return
        for a in self.analyzers:
            a.on_book(ts, self)

    def _on_snapshot(self, ev: BookSnapshot) -> None:
        _, ts, recv, bids, asks, seq = ev
        sec = ts // NS_PER_S
        if sec > self._sec:
            self._tick(sec)
        self.book.apply_snapshot(bids, asks, seq)
        self.last_book_event = ev
        self.messages += 1
        self.ts = ts
        self.recv_ts = recv
        if not self.flow.on_book(ts, self.book, snapshot=True):
            self._invalid = False  # let _mark_crossed count this fresh failure
            self._mark_crossed()
            return
        self._invalid = False
        if self._engine_resync or (self.state is FeedState.CONNECTING and not self._status_seen):
            self.state = FeedState.LIVE
            self.reason = ""
        self._engine_resync = False
        for a in self.analyzers:
            a.on_book(ts, self)

    def _mark_crossed(self) -> None:
        if self._invalid:
            return
        self._invalid = True
        self._engine_resync = True
        self.crossed += 1
        self.state = FeedState.RESYNCING
        self.reason = CROSSED
        log.warning(
            "%s: crossed book (bid %s >= ask %s), resync requested",
            self.key,
            self.book.best_bid(),
            self.book.best_ask(),
        )
        if self.on_invalid is not None:
            self.on_invalid(self.key, CROSSED)

    def _on_trade(self, ev: Trade) -> None:
        _, ts, recv, price, qty, side, _tid = ev
        sec = ts // NS_PER_S
        if sec > self._sec:
            self._tick(sec)
        flow = self.flow
        flow.on_trade(ts, price, qty, side)
        self.trades.append(TradePrint(ts, price, qty, side))
        self.last_price = price
        if flow.session != self._session and flow.session_of(sec) == flow.session:
            self._session = flow.session
            self.session_open = price
        self.messages += 1
        self.ts = ts
        self.recv_ts = recv
        for a in self.analyzers:
            a.on_trade(ev, self)

    def _on_oi(self, ev: OpenInterest) -> None:
        sec = ev.ts // NS_PER_S
        if sec > self._sec:
            self._tick(sec)
        self.open_interest = ev.open_interest
        self.open_interest_ts = ev.ts
        self.messages += 1
        self.ts = ev.ts
        self.recv_ts = ev.recv_ts

    def _on_status(self, ev: StatusChange) -> None:
        # Status times come from the feed's own clock bookkeeping; they do
        # not advance event time (a reconnect notice must not close seconds).
        self._status_seen = True
        state = FeedState(ev.state)
        if state is FeedState.LIVE and self._invalid:
            # The feed believes its book is fine, but the copy here is crossed
            # and has had no snapshot since: never show it as live (rule 5).
            self.state = FeedState.RESYNCING
            self.reason = CROSSED
        else:
            self._engine_resync = False
            self.state = state
            self.reason = ev.reason
        self.messages += 1
        self.recv_ts = ev.recv_ts

    # -- read -------------------------------------------------------------

    @property
    def valid(self) -> bool:
        """True when the book may be shown as the venue's (``LIVE`` and not crossed). ``O(1)``.

        >>> m = Market(Instrument("sim", "X")); m.valid
        False
        >>> m.on_event(BookSnapshot("sim:X", 1, 0, [(1.0, 1.0)], [(1.01, 1.0)])); m.valid
        True
        """
        return self.state is FeedState.LIVE and not self._invalid

    def series_snapshot(self) -> Series:
        """Per-second history, oldest first, as read-only arrays.

        Cached until another second closes. Runtime complexity: ``O(rows)``
        when rebuilt, ``O(1)`` otherwise.

        >>> m = Market(Instrument("sim", "X"))
        >>> m.on_event(Trade("sim:X", 10**9, 0, 5.0, 2.0, 1))
        >>> m.on_event(Trade("sim:X", 3 * 10**9, 0, 5.0, 1.0, -1))
        >>> s = m.series_snapshot(); s.t.tolist(), s.cvd.tolist(), s.delta.tolist()
        ([1, 2], [2.0, 2.0], [2.0, 0.0])
        """
        count, cached = self._series_cache
        if count == self.series.count:
            return cached
        rows = self.series.ordered()
        s = Series(t=rows["t"], mid=rows["mid"], cvd=rows["cvd"], delta=rows["delta"])
        self._series_cache = (self.series.count, s)
        return s

    def cvd_slope(self) -> float:
        """CVD slope over the last ``[flow] cvd_slope_window`` closed seconds, per minute.

        Cached until another second closes. Runtime complexity: ``O(window)``
        when a second closed since the last call, ``O(1)`` otherwise.

        >>> m = Market(Instrument("sim", "X"), FlowParams(cvd_slope_window=4))
        >>> for s in range(1, 6):
        ...     m.on_event(Trade("sim:X", s * 10**9, 0, 5.0, 2.0, 1))
        >>> m.cvd_slope()    # four closed seconds of +2 each: +120 per minute
        120.0
        """
        count, slope = self._slope_cache
        if count != self.series.count:
            slope = cvd_slope(self.series_snapshot().delta, self._slope_window)
            self._slope_cache = (self.series.count, slope)
        return slope

    def snapshot(self, ladder_step_ticks: int = 1, ladder_rows: int = 40) -> MarketSnapshot:
        """An immutable view of the market now.

        Args:
            ladder_step_ticks: ladder row height in ticks (>= 1).
            ladder_rows: rows per side.

        Returns:
            The same object as the previous call when no event arrived since
            and the arguments are equal.

        Runtime complexity: ``O(1)`` when cached; otherwise
        ``O(rows + trades + log n + k)`` plus ``O(history)`` when a second
        closed since the last build.

        >>> m = Market(Instrument("sim", "X", tick_size=0.5))
        >>> m.on_event(BookSnapshot("sim:X", 1, 0, [(10.5, 1.0), (10.0, 2.0)], [(11.0, 1.0)]))
        >>> m.snapshot(ladder_step_ticks=2, ladder_rows=2).ladder
        Ladder(step=1.0, bids=((10.0, 3.0), (9.0, 0.0)), asks=((11.0, 1.0), (12.0, 0.0)))
        """
        key = (self.messages, ladder_step_ticks, ladder_rows)
        if self._cache is not None and key == self._cache_key:
            return self._cache
        if ladder_step_ticks < 1 or ladder_rows < 0:
            raise ValueError(
                f"ladder step {ladder_step_ticks} ticks / {ladder_rows} rows out of range"
            )
        book = self.book
        lkey = (book.updates, ladder_step_ticks, ladder_rows)
        if self._ladder_cache[0] == lkey:
            ladder = self._ladder_cache[1]
        else:
            # Trades and status changes leave the book alone: reuse its ladder.
            step = ladder_step_ticks * self.instrument.tick_size
            bids, asks = book.aggregated(step, ladder_rows) if ladder_rows else ([], [])
            ladder = Ladder(step, tuple(bids), tuple(asks))
            self._ladder_cache = (lkey, ladder)
        snap = MarketSnapshot(
            instrument=self.instrument,
            version=self.messages,
            ts=self.ts,
            recv_ts=self.recv_ts,
            state=self.state,
            state_reason=self.reason,
            best_bid=book.best_bid(),
            best_ask=book.best_ask(),
            last_price=self.last_price,
            session_open=self.session_open,
            depth=book.depth(),
            ladder=ladder,
            trades=tuple(self.trades),
            flow=self.flow.snapshot(book),
            series=self.series_snapshot(),
            messages=self.messages,
            open_interest=self.open_interest,
            cvd_slope=self.cvd_slope(),
            analysis=self.analysis.snapshot() if self.analysis is not None else None,
        )
        self._cache = snap
        self._cache_key = key
        return snap

    def _check(self) -> None:
        """Assert invariants: book sane unless flagged invalid, flow consistent, counters."""
        if not self._invalid:
            self.book._check()
        self.flow._check()
        self.series._check()
        assert self._sec == self.flow.sec or self._sec < 0
        assert self.crossed >= 0 and self.messages >= 0
