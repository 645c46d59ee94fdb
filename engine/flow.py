"""Flow metrics (detectors.md section Flow) plus spread statistics, per market.

:class:`FlowMetrics` is fed every trade and every applied book update of one
market, in event order, and keeps rolling state on event time:

* **CVD** in base and quote units, reset when event time crosses the session
  boundary (``session_reset`` UTC, default midnight).
* **Rolling delta** (sum of ``side * qty``) per window, and the **delta flip**
  event on the ``delta_flip_window`` delta.
* **TBSR**: taker buy volume / (buy + sell) over ``tbsr_window``.
* **Volume ratio / spike**: current bar volume over the mean of the previous
  ``volume_bars`` closed bars (bars aligned to multiples of ``volume_bar_s``
  seconds of event time).
* **OFI** (Cont, Kukanov & Stoikov 2014) at the best level and summed over the
  top ``ofi_levels`` levels, summed per window.
* **Spread** sampled once per second (value at the end of the second, in
  ticks) for a rolling mean/std and the z-score of the current spread.
* **Trades per second** over ``trades_window``.

The instantaneous book measures (imbalance by levels and by bps, microprice,
spread) are computed only in :meth:`FlowMetrics.snapshot`, at read time, by
:func:`tapescope.engine.flow_book.book_measures`; the per-update OFI
arithmetic is :class:`tapescope.engine.flow_book.OfiTracker`.

Definitions and choices written down here (detectors.md allows "or better,
with the change written down"):

* A window of ``W`` s is the open, partial second of event time plus the
  ``W - 1`` whole seconds before it (:class:`~tapescope.engine.ring.SecondRing`).
  ``trades_per_s`` is the trade count in that window divided by ``W``.
* **OFI and book snapshots.** A snapshot replaces the whole book (first sync,
  resync after a gap, reconnect minutes later), so the change from the old top
  to the new one is not order flow. A snapshot update contributes ``e = 0``
  and only re-anchors the previous-top reference; the next delta is measured
  against the snapshot's top. A missing level (side empty or fewer than ``L``
  levels) is a level of size 0 priced at ``-inf`` (bids) or ``+inf`` (asks)
  (:func:`~tapescope.engine.flow_book.read_top`).
* **Delta flip.** At the close of each second the flip-window delta ``D`` is
  compared with ``k`` times the population std of its previous per-second
  values (at least ``delta_flip_min_history`` of them, at most
  ``delta_flip_history``). A reading with ``|D| > k sigma`` is *significant*;
  a flip is a significant reading whose sign is opposite to the previous
  significant reading. (A plain "sign changed at this second" test would
  almost never fire, because a rolling sum crosses zero through small values.)
  A history with zero spread (a quiet spell) makes nothing significant.
* **Volume bars.** The bar in progress when the first event arrives is
  partial, so it is not used as history. ``volume_ratio`` is ``nan`` until one
  closed bar exists or while the mean of the closed bars is 0.
* **Spread z-score** ``(s - mean) / max(std, spread_min_std_ticks)`` over the
  last ``spread_window`` per-second samples (in ticks; ``nan`` under
  ``spread_min_samples``). The floor keeps a spread pinned at one tick from
  producing an infinite z the first time it widens: with the default 0.5 a
  move from a constant 1 tick to 3 ticks scores z = 4.

Per-event work is proportional to what the event changed: a trade is a few
float additions; a book update reads the top ``L`` levels (``O(L)``, no depth
or history scan) and does the OFI arithmetic only for a side whose top
``L`` changed. Once per second of event time the rings close their second
(``O(windows)``). There is no numba kernel here on purpose: per event the
work is a handful of scalar float operations on values already held as
Python objects, where a jitted call (dispatch plus boxing the lists) costs
more than the arithmetic it would replace; numpy is used where whole arrays
are touched (ring recomputation, history copies).
"""

from __future__ import annotations

import math

from tapescope.engine.book import Book
from tapescope.engine.events import NS_PER_S
from tapescope.engine.flow_book import OfiTracker, book_measures, read_top
from tapescope.engine.flow_params import FlowParams
from tapescope.engine.ring import SecondRing, ValueRing
from tapescope.engine.snapshot import FlowSnapshot

__all__ = ["FlowMetrics", "FlowParams"]

NAN = math.nan
NEG_INF = -math.inf
POS_INF = math.inf
#: Seconds in a day, for the session boundary.
DAY_S = 86_400


class FlowMetrics:
    """Incremental flow metrics of one market.

    >>> from tapescope.engine.book import Book
    >>> f = FlowMetrics(FlowParams(), tick_size=0.5)
    >>> b = Book(); b.apply_snapshot([(100.0, 2.0)], [(100.5, 1.0)])
    >>> f.on_book(1_000 * NS_PER_S, b, snapshot=True)
    True
    >>> f.on_trade(1_000 * NS_PER_S, 100.5, 3.0, +1)
    >>> f.on_trade(1_001 * NS_PER_S, 100.0, 1.0, -1)
    >>> s = f.snapshot(b)
    >>> s.cvd, s.cvd_quote, s.deltas[0], s.tbsr
    (2.0, 201.5, (10, 2.0), 0.75)
    >>> s.spread_ticks, s.microprice
    (1.0, 100.33333333333333)
    """

    __slots__ = (
        "params", "tick_size", "sec", "session", "cvd", "cvd_quote", "trades", "book_updates",
        "bid", "ask", "delta_flip", "flips", "last_flip_s",
        "_offset", "_delta", "_flip_idx", "_buy", "_sell", "_count", "_ofi", "_ofi_multi",
        "_flip_hist", "_flip_sign", "_bar", "_bar_vol", "_bar_partial", "_bars", "_spread",
        "_L", "_ofi_ref",
    )  # fmt: skip

    def __init__(self, params: FlowParams | None = None, tick_size: float = 0.01) -> None:
        """Create empty metrics.

        Args:
            params: parameters (defaults from detectors.md).
            tick_size: instrument tick, for the spread in ticks.
        """
        p = params if params is not None else FlowParams()
        self.params: FlowParams = p
        """Parameters."""
        self.tick_size: float = float(tick_size)
        """Price tick."""
        self.sec: int = -1
        """Open second of event time (-1 before the first event)."""
        self.session: int = -1
        """Session number (days since epoch, shifted by the reset time)."""
        self.cvd: float = 0.0
        """Session CVD, base units."""
        self.cvd_quote: float = 0.0
        """Session CVD, quote notional."""
        self.trades: int = 0
        """Trades seen."""
        self.book_updates: int = 0
        """Book updates seen (snapshots included, crossed books excluded)."""
        self.bid: float = NEG_INF
        """Best bid price after the last book update (``-inf`` when none)."""
        self.ask: float = POS_INF
        """Best ask price after the last book update (``+inf`` when none)."""
        self.delta_flip: int = 0
        """Flip verdict of the last closed second: +1, -1 or 0."""
        self.flips: int = 0
        """Flips detected so far."""
        self.last_flip_s: int = -1
        """Second of the last flip (-1 if none)."""
        self._offset = p.session_offset_s()
        delta_ws = tuple(sorted(set(p.delta_windows) | {p.delta_flip_window}))
        self._delta = SecondRing(delta_ws)
        self._flip_idx = delta_ws.index(p.delta_flip_window)
        self._buy = SecondRing((p.tbsr_window,))
        self._sell = SecondRing((p.tbsr_window,))
        self._count = SecondRing((p.trades_window,))
        self._ofi = SecondRing(p.ofi_windows)
        self._ofi_multi = SecondRing(p.ofi_windows)
        self._flip_hist = ValueRing(p.delta_flip_history)
        self._flip_sign = 0
        self._bar = -1
        self._bar_vol = 0.0
        self._bar_partial = True
        self._bars = ValueRing(p.volume_bars)
        self._spread = ValueRing(p.spread_window)
        self._L = p.ofi_levels
        self._ofi_ref = OfiTracker(p.ofi_levels)

    # -- time -------------------------------------------------------------

    def session_of(self, sec: int) -> int:
        """Session number of an event second. ``O(1)``.

        >>> f = FlowMetrics(FlowParams(session_reset="01:00"))
        >>> f.session_of(86_400 + 3_599), f.session_of(86_400 + 3_600)
        (0, 1)
        """
        return (sec - self._offset) // DAY_S

    @property
    def second_delta(self) -> float:
        """Volume delta booked in the open second so far. ``O(1)``.

        >>> f = FlowMetrics(); f.on_trade(5 * NS_PER_S, 1.0, 2.0, -1); f.second_delta
        -2.0
        """
        return self._delta.cur

    def roll(self, sec: int) -> None:
        """Advance event time to second ``sec``, closing every earlier second.

        Closes the rolling windows, evaluates the delta flip for each closed
        second, samples the spread, closes volume bars and resets the session
        at the boundary. Called by :meth:`on_trade` and :meth:`on_book`; a
        caller that needs the state at the end of a second (the market's
        per-second series) reads it first and then calls this.

        Runtime complexity: ``O(w)`` per closed second, bounded by the ring
        capacities for a long jump.

        >>> f = FlowMetrics(FlowParams(delta_windows=(2,)))
        >>> f.on_trade(10 * NS_PER_S, 1.0, 2.0, 1); f.roll(11); f.snapshot(Book()).deltas
        ((2, 2.0),)
        >>> f.roll(12); f.snapshot(Book()).deltas
        ((2, 0.0),)
        """
        h = self.sec
        if sec <= h:
            return
        p = self.params
        if h < 0:
            for ring in (
                self._delta,
                self._buy,
                self._sell,
                self._count,
                self._ofi,
                self._ofi_multi,
            ):
                ring.advance(sec)
            self.sec = sec
            self.session = self.session_of(sec)
            self._bar = sec // p.volume_bar_s
            return
        gap = sec - h
        # Delta flip: evaluate each closed second while the flip window can
        # still hold trades; after that the delta is 0 and cannot flip.
        delta = self._delta
        fi = self._flip_idx
        hist = self._flip_hist
        evaluate = self._flip_at
        stepped = min(gap, p.delta_flip_window)
        verdict = 0
        for i in range(stepped):
            verdict = evaluate(h + i, delta.total(fi))
            delta.step()
        if gap > stepped:
            verdict = 0
            hist.fill(0.0, gap - stepped)
        delta.advance(sec)
        self.delta_flip = verdict
        for ring in (self._buy, self._sell, self._count, self._ofi, self._ofi_multi):
            ring.advance(sec)
        # Spread: the value at the end of each closed second (it held through
        # any skipped seconds, since no book update arrived).
        bid, ask = self.bid, self.ask
        if ask > bid > NEG_INF and ask < POS_INF:
            self._spread.fill((ask - bid) / self.tick_size, gap)
        # Volume bars.
        bar = sec // p.volume_bar_s
        if bar != self._bar:
            if self._bar_partial:
                self._bar_partial = False
            else:
                self._bars.append(self._bar_vol)
            self._bars.fill(0.0, bar - self._bar - 1)
            self._bar = bar
            self._bar_vol = 0.0
        session = self.session_of(sec)
        if session != self.session:
            self.session = session
            self.cvd = 0.0
            self.cvd_quote = 0.0
        self.sec = sec

    def _flip_at(self, sec: int, d: float) -> int:
        """Evaluate the delta flip for the close of ``sec`` with flip-window delta ``d``."""
        hist = self._flip_hist
        p = self.params
        verdict = 0
        # sigma == 0 (a quiet spell filled the history with zeros) makes every
        # non-zero delta "infinitely" significant; treat it as no evidence.
        sigma = hist.std() if len(hist) >= p.delta_flip_min_history else 0.0
        if d != 0.0 and sigma > 0.0 and abs(d) > p.delta_flip_k * sigma:
            sign = 1 if d > 0.0 else -1
            if self._flip_sign and sign != self._flip_sign:
                verdict = sign
                self.flips += 1
                self.last_flip_s = sec
            self._flip_sign = sign
        hist.append(d)
        return verdict

    # -- events -----------------------------------------------------------

    def on_trade(self, ts: int, price: float, qty: float, side: int) -> None:
        """Book one trade.

        Args:
            ts: venue time, ns.
            price: trade price.
            qty: size, base units.
            side: +1 taker bought, -1 taker sold.

        A trade older than the open second is booked into its own second's
        buckets while they are still held (and into CVD when it belongs to
        the current session).

        Runtime complexity: ``O(1)`` (plus :meth:`roll` when a second closes).

        >>> f = FlowMetrics(); f.on_trade(NS_PER_S, 10.0, 2.0, 1); f.on_trade(NS_PER_S, 11.0, 1.0, -1)
        >>> f.cvd, f.cvd_quote, f.trades
        (1.0, 9.0, 2)
        """
        sec = ts // NS_PER_S
        if sec != self.sec:
            if sec > self.sec:
                self.roll(sec)
            else:
                self._late_trade(sec, price, qty, side)
                return
        v = qty if side > 0 else -qty
        self.cvd += v
        self.cvd_quote += v * price
        self._delta.cur += v
        if side > 0:
            self._buy.cur += qty
        else:
            self._sell.cur += qty
        self._count.cur += 1.0
        self._bar_vol += qty
        self.trades += 1

    def _late_trade(self, sec: int, price: float, qty: float, side: int) -> None:
        v = qty if side > 0 else -qty
        if self.session_of(sec) == self.session:
            self.cvd += v
            self.cvd_quote += v * price
        self._delta.add(sec, v)
        (self._buy if side > 0 else self._sell).add(sec, qty)
        self._count.add(sec, 1.0)
        if sec // self.params.volume_bar_s == self._bar:
            self._bar_vol += qty
        self.trades += 1

    def on_book(self, ts: int, book: Book, snapshot: bool = False) -> bool:
        """Record one applied book update (call after the snapshot or delta is applied).

        Args:
            ts: venue time, ns.
            book: the book after the update.
            snapshot: the update replaced the whole book; it re-anchors the
                OFI reference and contributes no OFI (see module docstring).

        Returns:
            False when the book is crossed: nothing is recorded and the
            caller should treat the book as invalid until a snapshot.

        Runtime complexity: ``O(L)`` for ``L`` OFI levels; no depth scan.

        >>> f = FlowMetrics(FlowParams(ofi_windows=(10,)))
        >>> b = Book(); b.apply_snapshot([(9.0, 1.0)], [(10.0, 1.0)])
        >>> f.on_book(NS_PER_S, b, snapshot=True)
        True
        >>> _ = b.apply_delta([(9.0, 4.0)], []); f.on_book(NS_PER_S, b)   # bid size +3
        True
        >>> f.snapshot(b).ofi
        ((10, 3.0),)
        """
        sec = ts // NS_PER_S
        if sec > self.sec:
            self.roll(sec)
        top = read_top(book, self._L)
        if top is None:
            # No spread samples from a book that cannot be the venue's.
            self.bid = NEG_INF
            self.ask = POS_INF
            return False
        bp, bq, ap, aq = top
        self.bid = bp[0]
        self.ask = ap[0]
        self.book_updates += 1
        if snapshot:
            self._ofi_ref.anchor(bp, bq, ap, aq)
            return True
        e1, em = self._ofi_ref.step(bp, bq, ap, aq)
        self._ofi.cur += e1
        self._ofi_multi.cur += em
        return True

    # -- read -------------------------------------------------------------

    def spread_z(self, spread_ticks: float) -> float:
        """Z-score of a spread (ticks) against the per-second samples (``nan`` too early). ``O(1)``.

        For per-second detectors that need the z-score without a full
        :meth:`snapshot`: ``flow.spread_z((ask - bid) / tick)``.

        >>> f = FlowMetrics(FlowParams(spread_min_samples=2, spread_min_std_ticks=0.5), tick_size=1.0)
        >>> f._spread.fill(1.0, 5); f.spread_z(3.0)    # sigma 0 floored at 0.5
        4.0
        """
        sp = self._spread
        p = self.params
        if len(sp) < p.spread_min_samples:
            return NAN
        return (spread_ticks - sp.mean()) / max(sp.std(), p.spread_min_std_ticks)

    def window_delta(self, window: int) -> float:
        """Rolling volume delta over one of the configured ``delta_windows``. ``O(1)``.

        Raises:
            ValueError: ``window`` is not a configured window.
        """
        return self._delta.total(self._delta.windows.index(window))

    def window_ofi(self, window: int) -> float:
        """Best-level OFI summed over one of the configured ``ofi_windows``. ``O(1)``.

        Raises:
            ValueError: ``window`` is not a configured window.
        """
        return self._ofi.total(self._ofi.windows.index(window))

    def snapshot(self, book: Book, tick_size: float | None = None) -> FlowSnapshot:
        """Flow metrics now, plus the instantaneous book measures of ``book``.

        Args:
            book: the market's book (read, not modified).
            tick_size: tick for the spread in ticks (defaults to the one
                given at construction).

        Runtime complexity: ``O(w + log n + k)`` for ``k`` levels inside the
        imbalance bands; nothing proportional to history.

        >>> b = Book(); b.apply_snapshot([(99.0, 3.0)], [(101.0, 1.0)])
        >>> s = FlowMetrics(tick_size=0.5).snapshot(b)
        >>> s.imbalance_levels, s.microprice, s.spread_ticks, s.spread_bps
        (0.5, 100.5, 4.0, 200.0)
        """
        p = self.params
        tick = self.tick_size if tick_size is None else tick_size
        dt = self._delta.totals()
        dws = self._delta.windows
        deltas = tuple((w, dt[dws.index(w)]) for w in p.delta_windows)
        buy, sell = self._buy.total(0), self._sell.total(0)
        # Clamp: the window sums carry rounding residue of order 1e-16 * volume.
        buy = buy if buy > 0.0 else 0.0
        sell = sell if sell > 0.0 else 0.0
        tbsr = min(buy / (buy + sell), 1.0) if buy + sell > 0.0 else NAN
        ratio = NAN
        if len(self._bars):
            mean = self._bars.mean()
            if mean > 0.0:
                ratio = self._bar_vol / mean
        ows = self._ofi.windows
        ofi = tuple(zip(ows, self._ofi.totals(), strict=True))
        ofi_multi = tuple(zip(ows, self._ofi_multi.totals(), strict=True))

        imb_levels, imb_bps, micro, s_ticks, s_bps = book_measures(
            book, tick, p.imbalance_levels, p.imbalance_bps
        )
        s_z = self.spread_z(s_ticks)  # nan when a side is empty (s_ticks is nan)
        return FlowSnapshot(
            cvd=self.cvd,
            cvd_quote=self.cvd_quote,
            deltas=deltas,
            delta_flip=self.delta_flip,
            tbsr=tbsr,
            volume_ratio=ratio,
            volume_spike=ratio >= p.volume_spike,
            ofi=ofi,
            ofi_multi=ofi_multi,
            imbalance_levels=imb_levels,
            imbalance_bps=imb_bps,
            microprice=micro,
            spread_ticks=s_ticks,
            spread_bps=s_bps,
            spread_z=s_z,
            spread_widening=s_z > p.spread_z,
            trades_per_s=self._count.total(0) / p.trades_window,
        )

    def _check(self) -> None:
        """Assert invariants: rings consistent and aligned on the open second."""
        for ring in (self._delta, self._buy, self._sell, self._count, self._ofi, self._ofi_multi):
            ring._check()
            assert ring.sec == self.sec, (ring.sec, self.sec)
        for vr in (self._flip_hist, self._bars, self._spread):
            vr._check()
        assert self._buy.cur >= 0.0 and self._sell.cur >= 0.0 and self._bar_vol >= 0.0
        self._ofi_ref._check()
        assert self._ofi_ref.levels == self._L
