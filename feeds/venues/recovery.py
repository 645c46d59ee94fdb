"""Per-market recovery for a websocket connection: sync output, resets, snapshots, resubscribes.

Provides :class:`MarketSlot` (one market on a connection), :class:`LogOnce`
(malformed frames are logged once per kind, counted always) and the
:class:`MarketRecovery` mixin that :class:`~tapescope.feeds.venues.connection.Connection`
uses to act on what each :class:`~tapescope.feeds.venues.base.BookSync` asks
for: REST snapshots (with backoff, rate-limited per venue), resubscribing
only the broken book, and resets on disconnect or engine request.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tapescope.engine.events import BookDelta, BookSnapshot, FeedState
from tapescope.engine.health import ConnectionHealth, SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.writer import REST_CONN_PREFIX
from tapescope.feeds.base import EventSink
from tapescope.feeds.sanitize import sanitize
from tapescope.feeds.venues.base import BadMessage, BookSync, SyncOutput, VenueProtocol
from tapescope.feeds.venues.rest import RestClient, RestError
from tapescope.feeds.venues.settings import Backoff, now_ns, retry_reason

log = logging.getLogger(__name__)

#: Characters of a malformed frame kept in the one log line per problem kind.
SAMPLE_CHARS = 120


class LogOnce:
    """Logs a warning once per ``(venue, kind)``: malformed frames can arrive by the thousand."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()
        """Keys already logged."""

    def warn(self, venue: str, kind: str, message: str, sample: Any = None) -> None:
        """Log ``message`` (with a truncated sanitised ``sample``) unless this kind was logged."""
        key = (venue, kind)
        if key in self.seen:
            return
        self.seen.add(key)
        if sample is None:
            log.warning("%s: %s (further %r problems are counted, not logged)", venue, message, kind)
        else:
            text = sample.decode("utf-8", "replace") if isinstance(sample, bytes) else str(sample)
            log.warning(
                "%s: %s; sample: %s (further %r problems are counted, not logged)",
                venue,
                message,
                sanitize(text, SAMPLE_CHARS),
                kind,
            )


def problem_kind(reason: str) -> str:
    """The kind of a problem text, for log-once bookkeeping: its text before the first ``:``.

    >>> problem_kind("bad level in b: ['1', 'x']"), problem_kind("bad json")
    ('bad level in b', 'bad json')
    """
    return reason.split(":", 1)[0].strip()[:40]


@dataclass(slots=True)
class MarketSlot:
    """One market served by a connection."""

    instrument: Instrument
    """The market."""
    health: SymbolHealth
    """Its health counters (owned by the feed, shared with the sync)."""
    sync: BookSync
    """Its book-sync state machine."""
    epoch: int = 0
    """Bumped on every reset; answers to requests made in an older epoch are dropped."""
    attempt: int = 0
    """Resync requests in a row (drives the per-market backoff; reset after a quiet period or a reconnect)."""
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    """Pending snapshot fetch or resubscribe."""
    fetching: bool = False
    """Whether ``task`` is a REST snapshot fetch (not a resubscribe)."""
    last_request_ns: int = 0
    """When the last snapshot or resubscribe was requested (local ns)."""


class MarketRecovery:
    """Per-market half of a connection: deliver sync output, reset, resync with backoff.

    Mixed into :class:`~tapescope.feeds.venues.connection.Connection`, which
    provides the attributes used here: ``slots``, ``protocol``, ``backoff``,
    ``health``, ``rest_base`` and the live ``_ws``, ``_sink``, ``_rest``,
    ``_uses_rest``, ``_log_once``. Every market carries an *epoch*, bumped on
    each reset, so a snapshot or resubscribe started for an older epoch is
    dropped instead of corrupting a newer sync.
    """

    slots: dict[str, MarketSlot]
    _by_symbol: dict[str, MarketSlot]
    protocol: VenueProtocol
    backoff: Backoff
    health: ConnectionHealth
    rest_base: str
    _ws: ClientConnection | None
    _sink: EventSink | None
    _rest: RestClient
    _uses_rest: bool
    _log_once: LogOnce

    def _slot(self, key: str) -> MarketSlot | None:
        slot = self.slots.get(key)
        if slot is None:
            # Protocols may route by the venue's symbol rather than the market key.
            slot = self._by_symbol.get(key)
        return slot


    def _apply(self, slot: MarketSlot, out: SyncOutput, recv: int) -> None:
        """Deliver a sync's events and start the I/O it asked for."""
        sink = self._sink
        assert sink is not None
        h = slot.health
        epoch = slot.epoch
        for ev in out.events:
            if type(ev) is BookDelta or type(ev) is BookSnapshot:
                self._latency(h, recv, ev.ts)
            sink.on_event(ev)
            if slot.epoch != epoch:
                # The sink (the engine, on a crossed book) asked for a resync while we
                # delivered: the rest of this output belongs to the discarded book.
                return
        if h.state is FeedState.LIVE:
            h.next_retry_ns = 0
        if out.need_snapshot:
            pending = slot.task is not None and not slot.task.done() and slot.task is not asyncio.current_task()
            if not (pending and slot.fetching):
                # A sync may ask on every buffered diff; one fetch in flight is enough.
                self._schedule(slot, self._fetch_snapshot(slot, self._next_delay(slot, recv)), fetching=True)
        elif out.resubscribe:
            self._schedule(slot, self._resubscribe(slot, self._next_delay(slot, recv)))

    def _latency(self, h: SymbolHealth, recv: int, venue_ts: int) -> None:
        if venue_ts > 0:
            lat = recv - venue_ts
            h.venue_latency_ns = lat
            self.health.venue_latency_ns = lat

    def _cancel(self, slot: MarketSlot) -> None:
        if slot.task is not None and slot.task is not asyncio.current_task():
            slot.task.cancel()
        slot.task = None

    def _reset(self, slot: MarketSlot, state: FeedState, reason: str, t: int) -> SyncOutput:
        """Reset a market's sync (new epoch, pending I/O dropped) and deliver its events."""
        slot.epoch += 1
        self._cancel(slot)
        out = slot.sync.reset(state, reason, t)
        sink = self._sink
        if sink is not None:
            for ev in out.events:
                sink.on_event(ev)
        return out

    def _resync(self, slot: MarketSlot, reason: str, t: int) -> None:
        """Throw the market's book away and rebuild it from a fresh snapshot."""
        out = self._reset(slot, FeedState.RESYNCING, reason, t)
        self._recover(slot, out, t, delivered=True)

    def _recover(self, slot: MarketSlot, out: SyncOutput, t: int, delivered: bool = False) -> None:
        """Deliver a reset's events and start the snapshot or resubscribe that rebuilds the book."""
        if not delivered and self._sink is not None:
            for ev in out.events:
                self._sink.on_event(ev)
        if self._ws is None:
            return  # the reconnect resubscribes everything
        delay = self._next_delay(slot, t)
        if out.need_snapshot:
            self._schedule(slot, self._fetch_snapshot(slot, delay), fetching=True)
        elif out.resubscribe or not self._uses_rest:
            # Venues that send the snapshot over the socket need the channel re-opened;
            # REST venues' syncs ask for their snapshot on the next diff.
            self._schedule(slot, self._resubscribe(slot, delay))

    def request_resync(self, key: str, reason: str) -> bool:
        """Engine found the book crossed: rebuild it. Returns False if the market is not here."""
        slot = self._slot(key)
        if slot is None:
            return False
        slot.health.crossed += 1
        if self._ws is not None:  # while down, the reconnect rebuilds every book anyway
            self._resync(slot, sanitize(reason, 160), now_ns())
        return True

    def _next_delay(self, slot: MarketSlot, t: int) -> float:
        """Delay before this market's next resync attempt: none the first time, then backoff.

        The attempt count falls back to 0 only after a quiet period of twice the
        longest backoff, so a book that breaks again right after each resync
        (a venue bug, a broken checksum) backs off instead of hammering the venue.
        """
        if slot.attempt and t - slot.last_request_ns > 2 * self.backoff.max * 1e9:
            slot.attempt = 0
        delay = 0.0 if slot.attempt == 0 else self.backoff.delay(slot.attempt - 1)
        slot.attempt += 1
        slot.last_request_ns = t
        slot.health.next_retry_ns = t + int(delay * 1e9) if delay else 0
        return delay

    def _schedule(self, slot: MarketSlot, coro: Any, fetching: bool = False) -> None:
        if slot.task is not None and slot.task is not asyncio.current_task():
            slot.task.cancel()
        slot.fetching = fetching
        slot.task = asyncio.get_running_loop().create_task(coro)

    def _cancel_tasks(self) -> None:
        for slot in self.slots.values():
            if slot.task is not None:
                slot.task.cancel()
                slot.task = None

    async def _fetch_snapshot(self, slot: MarketSlot, delay: float) -> None:
        """Fetch the market's REST snapshot (retrying with backoff) and feed it to the sync."""
        epoch = slot.epoch
        venue = self.protocol.venue
        if delay > 0:
            await asyncio.sleep(delay)
        if slot.epoch != epoch:
            return
        while True:
            reason = ""
            retry_after = 0.0
            try:
                url = self.protocol.snapshot_url(self.rest_base, slot.instrument.symbol)
                body = await self._rest.get(venue, url)
            except RestError as exc:
                reason, retry_after = str(exc), exc.retry_after_s
            else:
                if slot.epoch != epoch:
                    return  # the market was reset meanwhile; this snapshot is for nothing
                recv = now_ns()
                if self._sink is not None:
                    # Recorder tap: the body goes in as "rest:<key>" so a replay
                    # resyncs from exactly the snapshot the live run used.
                    self._sink.on_raw(REST_CONN_PREFIX + slot.instrument.key, recv, body)
                counted = slot.health.malformed
                try:
                    out = slot.sync.on_rest_snapshot(body, recv)
                except BadMessage as exc:
                    if slot.health.malformed == counted:  # unless the sync counted it
                        slot.health.malformed += 1
                    reason = sanitize(str(exc), 160)
                    self._log_once.warn(venue, "snapshot " + problem_kind(reason), f"bad snapshot: {reason}", body[:SAMPLE_CHARS])
                else:
                    slot.task = None  # so a follow-up request starts a new task
                    self._apply(slot, out, recv)
                    return
            t = now_ns()
            wait = max(retry_after, self.backoff.delay(slot.attempt))
            slot.attempt += 1
            slot.health.next_retry_ns = t + int(wait * 1e9)
            slot.health.reason = sanitize(retry_reason(reason, slot.health.next_retry_ns), 160)
            await asyncio.sleep(wait)
            if slot.epoch != epoch:
                return

    async def _resubscribe(self, slot: MarketSlot, delay: float) -> None:
        """Re-open only this market's book channel on the live socket."""
        epoch = slot.epoch
        if delay > 0:
            await asyncio.sleep(delay)
        ws = self._ws
        if ws is None or slot.epoch != epoch:
            return
        try:
            for frame in self.protocol.resubscribe_frames([slot.instrument.symbol]):
                await ws.send(frame)
        except ConnectionClosed:
            return  # the receive loop sees the close and reconnects everything
        slot.task = None
