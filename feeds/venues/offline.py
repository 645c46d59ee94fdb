"""Drive a venue protocol and its book syncs from recorded frames, without sockets.

:class:`OfflineDriver` does what the live layer does with each received
frame (decode, route, sync, apply to an engine :class:`~tapescope.engine.book.Book`)
but synchronously and with no I/O, so conformance tests, throughput
measurements and capture checks run the real adapter code on real bytes.
It also plays the engine's part of checking every applied book for a cross
and reporting it back (``health.crossed``, reset to ``RESYNCING``).

>>> from tapescope.feeds.venues.bybit import bybit_protocol
>>> from tapescope.engine.instrument import Instrument
>>> d = OfflineDriver(bybit_protocol("bybit-spot"), [Instrument("bybit-spot", "BTCUSDT")])
>>> d.feed('{"topic":"orderbook.200.BTCUSDT","type":"snapshot","ts":1,'
...        '"data":{"s":"BTCUSDT","b":[["99","1"]],"a":[["101","2"]],"u":5,"seq":9}}', 10)
>>> d.books["bybit-spot:BTCUSDT"].best_bid(), d.health["bybit-spot:BTCUSDT"].state.name
((99.0, 1.0), 'LIVE')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, StatusChange
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import BadMessage, BookSync, MsgKind, SyncOutput, VenueProtocol


class OfflineDriver:
    """Feed frames through ``protocol`` and per-symbol syncs into engine books."""

    def __init__(
        self, protocol: VenueProtocol, instruments: Iterable[Instrument], check_cross: bool = True
    ) -> None:
        self.protocol = protocol
        """The venue protocol under test."""
        self.health: dict[str, SymbolHealth] = {}
        """Per-market health records (the syncs update them)."""
        self.syncs: dict[str, BookSync] = {}
        """Per-market book syncs."""
        self.books: dict[str, Book] = {}
        """Per-market engine books fed with the syncs' events."""
        for inst in instruments:
            self.health[inst.key] = SymbolHealth(inst.key)
            self.syncs[inst.key] = protocol.new_sync(inst, self.health[inst.key])
            self.books[inst.key] = Book()
        self.check_cross = check_cross
        """Check each book for a cross after every applied event, as the engine does."""
        self.frames = 0
        """Frames fed."""
        self.kinds: Counter[MsgKind] = Counter()
        """Routed messages by kind."""
        self.bad: list[BadMessage] = []
        """Frames refused as malformed."""
        self.errors: list[str] = []
        """Venue error texts."""
        self.events: list = []
        """Every engine event emitted (only when ``keep_events``)."""
        self.keep_events = False
        """Keep every event in :attr:`events` (tests); off for throughput runs."""
        self.status: list[StatusChange] = []
        """Every StatusChange emitted."""
        self.resubscribes: list[tuple[int, str]] = []
        """``(frame index, key)`` of each resubscribe request."""
        self.snapshot_requests: list[tuple[int, str]] = []
        """``(frame index, key)`` of each REST snapshot request."""
        self.applied = 0
        """Book snapshots and deltas applied to the engine books."""

    def feed(self, payload: bytes | str, recv_ns: int) -> None:
        """Decode one frame and apply everything it produces."""
        self.frames += 1
        try:
            routed = self.protocol.decode(payload, recv_ns)
        except BadMessage as exc:
            self.bad.append(exc)
            sync = self.syncs.get(exc.key)
            if sync is not None:
                self._apply(exc.key, sync.on_malformed(str(exc), recv_ns), recv_ns)
            return
        for r in routed:
            kind = r.kind
            self.kinds[kind] += 1
            if kind is MsgKind.DEPTH:
                # Counted here, as the live layer does, not by the sync.
                health = self.health[r.key]
                health.messages += 1
                health.last_recv_ns = recv_ns
                self._apply(r.key, self.syncs[r.key].on_depth(r.payload, recv_ns), recv_ns)
            elif kind is MsgKind.EVENT:
                if self.keep_events:
                    self.events.append(r.payload)
            elif kind is MsgKind.ERROR:
                self.errors.append(r.payload)

    def feed_all(self, frames: Iterable[tuple[int, bytes | str]]) -> None:
        """Feed ``(recv_ns, payload)`` pairs in order."""
        for recv_ns, payload in frames:
            self.feed(payload, recv_ns)

    def _apply(self, key: str, out: SyncOutput, recv_ns: int) -> None:
        book = self.books[key]
        keep = self.keep_events
        for ev in out.events:
            if keep:
                self.events.append(ev)
            t = type(ev)
            if t is BookDelta:
                book.apply_delta(ev.bids, ev.asks, ev.seq)
                self.applied += 1
            elif t is BookSnapshot:
                book.apply_snapshot(ev.bids, ev.asks, ev.seq)
                self.applied += 1
            elif t is StatusChange:
                self.status.append(ev)
                if ev.state != FeedState.LIVE:
                    # The engine hides (and here forgets) a book that is not LIVE.
                    book.clear()
        if out.resubscribe:
            self.resubscribes.append((self.frames, key))
        if out.need_snapshot:
            self.snapshot_requests.append((self.frames, key))
        if self.check_cross and out.events and book.is_crossed():
            health = self.health[key]
            health.crossed += 1
            self._apply(
                key,
                self.syncs[key].reset(
                    FeedState.RESYNCING,
                    f"crossed book: {book.best_bid()} >= {book.best_ask()}",
                    recv_ns,
                ),
                recv_ns,
            )
