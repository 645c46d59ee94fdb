"""Binance local order book sync (PROTOCOLS.md section 1): spot and USD-M futures.

A sync is a per-symbol state machine. It keeps no book (the engine's
``Market`` applies the deltas); it only decides which diff events are valid,
and turns them into :class:`~tapescope.engine.events.BookSnapshot` /
:class:`~tapescope.engine.events.BookDelta` events.

States (``health.state``), each change announced with a
:class:`~tapescope.engine.events.StatusChange`:

* ``CONNECTING`` -> ``SYNCING`` on the first diff event: buffer events and ask
  for a REST snapshot (``SyncOutput.need_snapshot``).
* On the snapshot: refetch when ``lastUpdateId < U`` of the first buffered
  event; otherwise drop stale events (spot ``u <= id``, futures ``u < id``),
  check the bridge (spot ``U <= id + 1 <= u``, futures ``U <= id <= u``),
  emit the snapshot and the buffered deltas, then go ``LIVE``. When no
  buffered event reaches the snapshot yet, the snapshot is held and the next
  events are checked against it as they arrive.
* ``LIVE``: every event must chain onto the previous one (spot
  ``U == prev_u + 1``; futures ``pu == prev_u``, never the ``U`` check because
  futures ids are sparse). A break counts a gap and goes ``RESYNCING``, which
  buffers again and asks for a fresh snapshot.
* The buffer is bounded; overflowing it also goes ``RESYNCING``.

Per-message work when ``LIVE`` is a comparison, a counter bump and one
``BookDelta``; levels are handed over as parsed by the decoder.
"""

from __future__ import annotations

import logging
from collections import deque

from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, StatusChange
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import BadMessage, BookSync, SyncOutput
from tapescope.feeds.venues.binance_decode import (
    MS_TO_NS,
    BinanceDepth,
    loads,
    parse_levels,
    sanitise,
)

log = logging.getLogger(__name__)

#: Default bound on buffered diff events while waiting for a snapshot.
DEFAULT_MAX_BUFFER = 2000

_LIVE = FeedState.LIVE
_int = int


class _BinanceSync(BookSync):
    """Shared machinery; subclasses set the three venue-specific rules."""

    #: True for futures: stale is ``u < id`` (not ``<=``), bridge ``U <= id``, chain on ``pu``.
    futures: bool = False

    def __init__(self, instrument: Instrument, health: SymbolHealth, max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        super().__init__(instrument, health)
        self.key = instrument.key
        """Market key put on every event."""
        self.max_buffer = max_buffer
        """Most diff events buffered while waiting for a snapshot; more forces a resync."""
        self._buf: deque[BinanceDepth] = deque()
        self._prev_u = -1  # ``u`` of the last applied event (the local book id)
        self._snap: tuple[int, int, list, list] | None = None  # (id, ts, bids, asks) awaiting a bridge
        self._snapshot_pending = False  # a REST snapshot was requested and not yet received
        self._synced_once = False  # went LIVE at least once (later LIVEs count as resyncs)
        self._last_ts = 0

    # -- helpers ----------------------------------------------------------

    def _status(self, out: SyncOutput, state: FeedState, reason: str, recv_ns: int) -> None:
        # The reason is always kept current for the health screen; an event goes
        # out only when the state itself changes.
        h = self.health
        h.reason = reason
        if h.state == state:
            return
        h.state = state
        out.events.append(StatusChange(self.key, self._last_ts or recv_ns, recv_ns, state, reason))

    def _ask_snapshot(self, out: SyncOutput) -> None:
        if not self._snapshot_pending:
            self._snapshot_pending = True
            out.need_snapshot = True

    def _break(self, out: SyncOutput, reason: str, recv_ns: int, msg: BinanceDepth | None) -> None:
        """Throw the book away and start buffering again from ``msg``."""
        log.info("%s: %s", self.key, reason)
        self._buf.clear()
        self._snap = None
        self._prev_u = -1
        if msg is not None:
            self._buf.append(msg)
        self._status(out, FeedState.RESYNCING, reason, recv_ns)
        self._ask_snapshot(out)

    # -- BookSync ---------------------------------------------------------

    def on_depth(self, msg: BinanceDepth, recv_ns: int) -> SyncOutput:
        """Consume one decoded ``depthUpdate`` for this symbol.

        Runtime complexity: ``O(1)`` when live (levels are passed through);
        ``O(b)`` for ``b`` buffered events when it completes a sync.
        """
        h = self.health
        h.messages += 1
        h.last_recv_ns = recv_ns
        ts = msg.E * MS_TO_NS
        h.venue_latency_ns = recv_ns - ts
        self._last_ts = ts
        if h.state == _LIVE:
            prev = self._prev_u
            if (msg.pu == prev) if self.futures else (msg.U == prev + 1):
                self._prev_u = msg.u
                # Hot path: one delta, the output built in one call.
                return SyncOutput([BookDelta(self.key, ts, recv_ns, msg.bids, msg.asks, msg.u)])
            h.gaps += 1
            out = SyncOutput()
            if self.futures:
                self._break(out, f"gap: pu={msg.pu} != prev u={prev}", recv_ns, msg)
            else:
                self._break(out, f"gap: U={msg.U} != prev u+1={prev + 1}", recv_ns, msg)
            return out
        out = SyncOutput()
        if h.state != FeedState.RESYNCING and h.state != FeedState.SYNCING:
            self._status(out, FeedState.SYNCING, "waiting for REST snapshot", recv_ns)
        buf = self._buf
        if buf and not self._chains(buf[-1], msg):
            # The stream broke while buffering: what came before is useless.
            h.gaps += 1
            buf.clear()
        buf.append(msg)
        if self._snap is not None:
            # A snapshot is held waiting for the event that bridges it.
            self._try_bridge(out, recv_ns)
            return out
        if len(buf) > self.max_buffer:
            self._snapshot_pending = False
            self._break(out, f"buffer overflow: {len(buf) - 1} events without a usable snapshot", recv_ns, msg)
            return out
        self._ask_snapshot(out)
        return out

    def _chains(self, prev: BinanceDepth, m: BinanceDepth) -> bool:
        return m.pu == prev.u if self.futures else m.U == prev.u + 1

    def on_rest_snapshot(self, payload: bytes, recv_ns: int) -> SyncOutput:
        """Consume a REST depth snapshot body (``lastUpdateId``, ``bids``, ``asks``).

        Runtime complexity: ``O(n + b)`` for ``n`` snapshot levels and ``b`` buffered events.

        ``need_snapshot`` is raised once per sync attempt; when a fetch fails the
        live layer retries it (with its backoff) or calls :meth:`reset`. A
        buffer overflow also asks again.

        Raises:
            BadMessage: the body is not a valid snapshot (counted in
                ``health.malformed``; a new one is asked for with the next diff event).
        """
        self._snapshot_pending = False
        try:
            return self._parse_snapshot(payload, recv_ns)
        except BadMessage:
            self.health.malformed += 1
            raise

    def _parse_snapshot(self, payload: bytes, recv_ns: int) -> SyncOutput:
        obj = loads(payload)
        if not isinstance(obj, dict):
            raise BadMessage("snapshot is not an object")
        if "lastUpdateId" not in obj:
            if "code" in obj:
                raise BadMessage(sanitise(f"snapshot error code {obj.get('code')}: {obj.get('msg')}"))
            raise BadMessage("snapshot without lastUpdateId")
        lid = obj["lastUpdateId"]
        if lid.__class__ is not _int or lid < 0:
            raise BadMessage(f"bad lastUpdateId: {sanitise(lid, 40)}")
        try:
            bids = parse_levels(obj["bids"], "bids")
            asks = parse_levels(obj["asks"], "asks")
        except KeyError as exc:
            raise BadMessage(f"snapshot missing {sanitise(exc.args[0], 20)}") from None
        ev_time = obj.get("E")
        ts = ev_time * MS_TO_NS if ev_time.__class__ is _int else 0
        return self.apply_snapshot(lid, bids, asks, ts, recv_ns)

    def apply_snapshot(
        self, last_update_id: int, bids: list, asks: list, ts: int, recv_ns: int
    ) -> SyncOutput:
        """Start the book from an already parsed snapshot (see :meth:`on_rest_snapshot`).

        Args:
            last_update_id: the snapshot's ``lastUpdateId``.
            bids: ``(price, size)`` bid levels.
            asks: ``(price, size)`` ask levels.
            ts: venue time of the snapshot in ns, 0 when the venue gives none
                (the bridging event's time is used then).
            recv_ns: local receive time.
        """
        out = SyncOutput()
        h = self.health
        if h.state == _LIVE:
            # A late duplicate answer; the book is already in sync.
            return out
        buf = self._buf
        if buf and last_update_id < buf[0].U:
            # Older than everything buffered: the gap to the stream cannot be bridged.
            self._ask_snapshot(out)
            self._status(
                out, h.state if h.state == FeedState.RESYNCING else FeedState.SYNCING,
                f"snapshot id {last_update_id} older than first buffered U={buf[0].U}; refetching",
                recv_ns,
            )
            return out
        self._snap = (last_update_id, ts, bids, asks)
        self._try_bridge(out, recv_ns)
        return out

    def _try_bridge(self, out: SyncOutput, recv_ns: int) -> None:
        """Drop stale buffered events, bridge onto the held snapshot, drain the rest."""
        assert self._snap is not None
        lid, ts, bids, asks = self._snap
        buf = self._buf
        fut = self.futures
        while buf and (buf[0].u < lid if fut else buf[0].u <= lid):
            buf.popleft()
        if not buf:
            # Nothing reaches the snapshot yet; keep it and wait.
            self._status(out, self.health.state, f"snapshot {lid} held; waiting for the bridging event", recv_ns)
            return
        first = buf[0]
        bridged = first.U <= lid <= first.u if fut else first.U <= lid + 1 <= first.u
        if not bridged:
            self.health.gaps += 1
            self._snap = None
            bound = lid if fut else lid + 1
            self._status(
                out, self.health.state,
                f"no bridge: first event U={first.U} > {bound}; refetching snapshot", recv_ns,
            )
            self._ask_snapshot(out)
            return
        self._snap = None
        out.events.append(BookSnapshot(self.key, ts or first.E * MS_TO_NS, recv_ns, bids, asks, lid))
        # The buffer is chain-checked as it fills, so draining it cannot break.
        events = out.events
        key = self.key
        for m in buf:
            events.append(BookDelta(key, m.E * MS_TO_NS, recv_ns, m.bids, m.asks, m.u))
        prev = buf[-1]
        buf.clear()
        self._prev_u = prev.u
        if self._synced_once:
            self.health.resyncs += 1
        self._synced_once = True
        self._status(out, _LIVE, f"in sync from snapshot {lid}", recv_ns)

    def reset(self, state: FeedState, reason: str, recv_ns: int) -> SyncOutput:
        """Forget buffer, held snapshot and chain; wait for the next diff event.

        Used on disconnect, resubscribe, or when the engine finds the book
        impossible (crossed). A fresh snapshot is requested with the next event.
        """
        out = SyncOutput()
        self._buf.clear()
        self._snap = None
        self._prev_u = -1
        self._snapshot_pending = False
        self._status(out, state, sanitise(reason), recv_ns)
        return out

    @property
    def last_update_id(self) -> int:
        """``u`` of the last applied event (the local book id), -1 when not live."""
        return self._prev_u

    @property
    def buffered(self) -> int:
        """Diff events currently buffered."""
        return len(self._buf)


class BinanceSpotSync(_BinanceSync):
    """Spot rules: drop ``u <= id``, bridge ``U <= id + 1 <= u``, chain ``U == prev_u + 1``.

    >>> from tapescope.engine.instrument import Instrument
    >>> from tapescope.engine.health import SymbolHealth
    >>> s = BinanceSpotSync(Instrument("binance-spot", "BTCUSDT"), SymbolHealth("binance-spot:BTCUSDT"))
    >>> s.on_depth(BinanceDepth(1, 1, 5, 8, -1, [(10.0, 1.0)], []), 0).need_snapshot
    True
    >>> out = s.on_rest_snapshot(b'{"lastUpdateId":6,"bids":[["9.0","2"]],"asks":[["11.0","3"]]}', 0)
    >>> [type(e).__name__ for e in out.events], s.state.name
    (['BookSnapshot', 'BookDelta', 'StatusChange'], 'LIVE')
    >>> [type(e).__name__ for e in s.on_depth(BinanceDepth(2, 2, 10, 12, -1, [], []), 0).events]
    ['StatusChange']
    >>> s.state.name, s.health.gaps
    ('RESYNCING', 1)
    """

    futures = False


class BinanceUsdmSync(_BinanceSync):
    """USD-M futures rules: drop ``u < id``, bridge ``U <= id <= u``, chain ``pu == prev_u``.

    An event with ``u == lastUpdateId`` is kept and bridges (seen on real data).
    """

    futures = True
