"""One websocket connection's lifecycle: connect, subscribe, route, ping, stall, reconnect.

A :class:`Connection` serves a fixed set of markets of one venue. It owns the
socket and, per market, a :class:`MarketSlot` holding the venue's
:class:`~tapescope.feeds.venues.base.BookSync` and the market's
:class:`~tapescope.engine.health.SymbolHealth`. It never raises out of
:meth:`Connection.run` except ``CancelledError``: network trouble becomes a
``DISCONNECTED``/``STALE`` state with a reason and a retry time, bad frames
become health counters.

Life of a connection::

    CONNECTING --open+subscribe--> (symbols SYNCING, then LIVE via their BookSync)
        ^                                  |
        |                     closed / error / no frame for stall_timeout_s
        +----- backoff(attempt) ----- DISCONNECTED or STALE
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from tapescope.engine.events import FeedState, StatusChange
from tapescope.engine.health import ConnectionHealth, SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.base import EventSink
from tapescope.feeds.sanitize import sanitize
from tapescope.feeds.venues.base import BadMessage, MsgKind, VenueProtocol
from tapescope.feeds.venues.recovery import LogOnce, MarketRecovery, MarketSlot, problem_kind
from tapescope.feeds.venues.rest import RestClient, is_loopback
from tapescope.feeds.venues.settings import Backoff, VenuesSettings, now_ns, retry_reason

log = logging.getLogger(__name__)

#: Longest frame accepted from a venue, bytes (a 5000-level snapshot frame fits easily).
MAX_FRAME_BYTES = 32 * 1024 * 1024

__all__ = ["Connection", "LogOnce", "MarketSlot", "problem_kind"]


class Connection(MarketRecovery):
    """One websocket to one venue carrying a fixed list of markets."""

    def __init__(
        self,
        conn_id: str,
        protocol: VenueProtocol,
        instruments: list[Instrument],
        healths: dict[str, SymbolHealth],
        ws_base: str,
        rest_base: str,
        settings: VenuesSettings,
        log_once: LogOnce,
        seed: int | None = None,
        url_index: int = 0,
    ) -> None:
        """Build the connection; nothing is opened until :meth:`run`.

        Args:
            conn_id: Stable id, e.g. ``"binance-usdm#0"``.
            protocol: The venue's wire format.
            instruments: Markets this connection carries.
            healths: Market key -> that market's health record (shared with the feed).
            ws_base: Websocket base URL.
            rest_base: REST base URL (may be empty for venues that need none).
            settings: Retry and timeout policy.
            log_once: Shared log-once registry.
            seed: Seeds the jitter for deterministic tests.
            url_index: Which of the protocol's ``connect_urls`` this socket opens. 0 is
                the book connection; a higher index is a side connection (Binance USD-M
                ``aggTrade`` on ``/market``) that carries events only and leaves the
                markets' sync state to the book connection.
        """
        self.conn_id = conn_id
        self.protocol = protocol
        self.ws_base = ws_base
        self.rest_base = rest_base
        self.settings = settings
        self.slots: dict[str, MarketSlot] = {}
        """Market key -> slot, in watchlist order."""
        self._by_symbol: dict[str, MarketSlot] = {}
        for inst in instruments:
            h = healths[inst.key]
            slot = MarketSlot(inst, h, protocol.new_sync(inst, h))
            self.slots[inst.key] = slot
            self._by_symbol[inst.symbol] = slot
        self.url_index = url_index
        """Index into the protocol's ``connect_urls`` (0: the book connection)."""
        self.health = ConnectionHealth(conn_id, symbols=list(self.slots))
        """This socket's health record."""
        self.backoff = Backoff.from_settings(settings, seed)
        """Reconnect and resync delays."""
        self._log_once = log_once
        self._ws: ClientConnection | None = None
        self._sink: EventSink | None = None
        self._got_data = False
        self._stalled = False
        self._uses_rest = type(protocol).snapshot_url is not VenueProtocol.snapshot_url
        stall = settings.stall_timeout_s or protocol.stall_timeout_s
        self.stall_timeout_s = stall if stall > 0 else 30.0
        """Seconds without a frame before the stream counts as stalled."""

    # -- the loop -----------------------------------------------------------

    async def run(self, sink: EventSink, rest: RestClient) -> None:
        """Keep the connection up until cancelled; never raises anything else.

        Args:
            sink: Where events and raw frames go.
            rest: Shared REST client for snapshots.
        """
        self._sink = sink
        self._rest = rest
        attempt = 0
        opened_before = False
        symbols = [s.instrument.symbol for s in self.slots.values()]
        while True:
            state, reason = FeedState.DISCONNECTED, "connection closed"
            self.health.state = FeedState.CONNECTING
            self.health.next_retry_ns = 0
            self._got_data = False
            try:
                url = self._url(symbols)
                self.health.url = sanitize(url, 200)
                async with connect(
                    url,
                    open_timeout=self.settings.connect_timeout_s,
                    ping_interval=self.settings.ws_ping_interval_s,
                    ping_timeout=self.settings.ws_ping_interval_s,
                    close_timeout=2.0,
                    max_size=MAX_FRAME_BYTES,
                    max_queue=4096,
                    # Market data is small JSON arriving fast: inflating it costs more
                    # CPU than the bandwidth it saves on a server near the venue.
                    compression=None,
                    proxy=None if is_loopback(url) else True,
                ) as ws:
                    if opened_before:
                        self.health.reconnects += 1
                    opened_before = True
                    self._ws = ws
                    state, reason = await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except InvalidURI as exc:
                reason = f"bad url: {exc}"
            except InvalidHandshake as exc:
                reason = f"handshake refused: {exc}"
            except ConnectionClosed as exc:
                reason = _closed_reason(exc)
            except TimeoutError:
                reason = f"connect timed out after {self.settings.connect_timeout_s:g}s"
            except OSError as exc:
                reason = f"unreachable: {exc.strerror or type(exc).__name__}"
            except Exception as exc:  # the feed must survive a protocol bug, loudly
                log.exception("%s: unexpected error", self.conn_id)
                reason = f"internal error: {type(exc).__name__}"
            finally:
                self._ws = None
                self._cancel_tasks()
            if self._got_data:
                attempt = 0
            delay = self.backoff.delay(attempt)
            attempt += 1
            self._went_down(state, sanitize(reason, 160), delay)
            await asyncio.sleep(delay)

    def _url(self, symbols: list[str]) -> str:
        if self.url_index == 0:
            return self.protocol.connect_url(self.ws_base, symbols)
        return self.protocol.connect_urls(self.ws_base, symbols)[self.url_index]  # type: ignore[attr-defined]

    async def _serve(self, ws: ClientConnection) -> tuple[FeedState, str]:
        """Subscribe, then receive until the socket closes or stalls."""
        t = now_ns()
        if self.url_index == 0:
            for slot in self.slots.values():
                slot.attempt = 0
                slot.health.next_retry_ns = 0
                self._reset(slot, FeedState.SYNCING, "connected; waiting for the book", t)
            symbols = [s.instrument.symbol for s in self.slots.values()]
            for frame in self.protocol.subscribe_frames(symbols):
                await ws.send(frame)
        self.health.state = FeedState.LIVE
        self.health.reason = "subscribed"
        pinger = None
        interval = self.protocol.app_ping_interval_s
        if interval > 0 and self.protocol.app_ping_frame() is not None:
            pinger = asyncio.create_task(self._app_ping(ws, interval), name=f"{self.conn_id} ping")
        stall = self.stall_timeout_s
        self._stalled = False
        # One watchdog per socket instead of a timeout around every recv: arming and
        # cancelling a timer per message costs several microseconds at venue rates.
        watchdog = asyncio.create_task(self._watchdog(ws, stall, now_ns()), name=f"{self.conn_id} watchdog")
        try:
            recv = ws.recv
            on_frame = self._on_frame
            while True:
                try:
                    payload = await recv()
                except ConnectionClosed as exc:
                    if self._stalled:
                        return FeedState.STALE, f"stalled: no message for {stall:g}s"
                    return FeedState.DISCONNECTED, _closed_reason(exc)
                on_frame(payload)
        finally:
            watchdog.cancel()
            if pinger is not None:
                pinger.cancel()

    async def _watchdog(self, ws: ClientConnection, stall: float, opened_ns: int) -> None:
        """Abort the socket once no frame arrived for ``stall`` seconds (checked 4 times per period)."""
        period = min(1.0, stall / 4)
        limit_ns = int(stall * 1e9)
        while True:
            await asyncio.sleep(period)
            if now_ns() - max(self.health.last_recv_ns, opened_ns) > limit_ns:
                self._stalled = True
                # Abort, not close: a stalled peer may never answer a close handshake.
                ws.transport.abort()
                return

    async def _app_ping(self, ws: ClientConnection, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            frame = self.protocol.app_ping_frame()
            if frame is None:
                return
            try:
                await ws.send(frame)
            except ConnectionClosed:
                return

    def _went_down(self, state: FeedState, reason: str, delay: float) -> None:
        """Every market of this connection goes ``state`` with the reason and retry time."""
        t = now_ns()
        retry_ns = t + int(delay * 1e9)
        text = retry_reason(reason, retry_ns)
        self.health.state = state
        self.health.reason = text
        self.health.next_retry_ns = retry_ns
        if self.url_index == 0:  # a side connection's loss costs trades, not the book
            for slot in self.slots.values():
                out = self._reset(slot, state, text, t)
                if self._sink is not None and not any(isinstance(ev, StatusChange) for ev in out.events):
                    # Same state as before (a further failed attempt): the engine still
                    # needs the new reason and retry time for the badge.
                    self._sink.on_event(StatusChange(slot.instrument.key, t, t, state, text))
                # Syncs report a state change once; the reason and retry time must
                # still follow every failed attempt.
                slot.health.reason = text
                slot.health.next_retry_ns = retry_ns
        log.info("%s: %s", self.conn_id, text)

    # -- frames ------------------------------------------------------------

    def _on_frame(self, payload: bytes | str) -> None:
        """Tap, count, decode and route one frame. ``O(frame)``."""
        recv = now_ns()
        sink = self._sink
        assert sink is not None
        sink.on_raw(self.conn_id, recv, payload)
        h = self.health
        h.messages += 1
        h.bytes += len(payload)
        h.last_recv_ns = recv
        try:
            routed = self.protocol.decode(payload, recv)
        except BadMessage as exc:
            text = sanitize(str(exc), 160)
            self._log_once.warn(self.protocol.venue, problem_kind(text), f"malformed frame: {text}", payload)
            slot = self._slot(exc.key) if getattr(exc, "key", "") else None
            if slot is None:
                h.malformed += 1
            else:
                # The decoder knows whose book lost an update: that book is suspect.
                self._malformed_depth(slot, text, recv)
            return
        except Exception as exc:  # a decoder bug is a malformed frame, not a dead feed
            h.malformed += 1
            self._log_once.warn(self.protocol.venue, f"decoder {type(exc).__name__}", f"decoder failed: {exc!r}", payload)
            return
        for msg in routed:
            kind = msg.kind
            if kind is MsgKind.DEPTH:
                if self.url_index == 0:
                    self._on_depth(msg.key, msg.payload, recv)
            elif kind is MsgKind.EVENT:
                slot = self.slots.get(msg.key)
                if slot is None:
                    continue
                ev = msg.payload
                if slot.health.last_recv_ns != recv:  # a frame of several trades is one message
                    slot.health.messages += 1
                    slot.health.last_recv_ns = recv
                self._latency(slot.health, recv, ev.ts)
                sink.on_event(ev)
                self._got_data = True
            elif kind is MsgKind.ERROR:
                self._on_error(msg.key, sanitize(str(msg.payload), 160))
            elif kind is MsgKind.CONTROL:
                self._on_control(msg.payload)

    def _on_depth(self, key: str, payload: Any, recv: int) -> None:
        slot = self._slot(key)
        if slot is None:
            return
        h = slot.health
        # One message per frame and market. The live layer counts them; a sync that
        # counts them itself (Binance's) must not be counted twice.
        first = h.last_recv_ns != recv
        counted = h.messages
        h.last_recv_ns = recv
        self._got_data = True
        try:
            out = slot.sync.on_depth(payload, recv)
            if first and h.messages == counted:
                h.messages = counted + 1
        except BadMessage as exc:
            if first and h.messages == counted:
                h.messages = counted + 1
            text = sanitize(str(exc), 160)
            self._log_once.warn(self.protocol.venue, problem_kind(text), f"malformed depth: {text}", repr(payload))
            self._malformed_depth(slot, text, recv)
            return
        self._apply(slot, out, recv)

    def _malformed_depth(self, slot: MarketSlot, text: str, recv: int) -> None:
        """A depth frame of this market was refused: the book lost an update, rebuild it."""
        slot.epoch += 1
        self._cancel(slot)
        out = slot.sync.on_malformed(text, recv)  # counts it and resets to RESYNCING
        self._recover(slot, out, recv)

    def _on_error(self, key: str, text: str) -> None:
        self._log_once.warn(self.protocol.venue, "venue error " + problem_kind(text), f"venue error: {text}")
        slot = self._slot(key) if key else self._named_in(text)
        if slot is None:
            self.health.reason = f"venue error: {text}"
            return
        # A refused (or dropped) subscription: show why, retry it later with backoff.
        t = now_ns()
        self._reset(slot, FeedState.DISCONNECTED, f"subscription refused: {text}", t)
        self._schedule(slot, self._resubscribe(slot, self._next_delay(slot, t)))

    def _named_in(self, text: str) -> MarketSlot | None:
        """The one market of this connection whose venue symbol the error text names, if exactly one.

        Venues name the refused topic in the error text (Bybit ``orderbook.50.BTCUSDT``,
        OKX ``instId:BTC-USDT``, Binance ``btcusdt@depth``) without a structured key.
        """
        found = [
            slot
            for sym, slot in self._by_symbol.items()
            if re.search(rf"(?<![A-Za-z0-9/_-]){re.escape(sym)}(?![A-Za-z0-9/_-])", text, re.IGNORECASE)
        ]
        return found[0] if len(found) == 1 else None

    def _on_control(self, payload: Any) -> None:
        # Acks, pongs and heartbeats only prove the connection is alive, which
        # the frame counters already record. A venue-reported subscription
        # failure comes as ERROR, not CONTROL.
        if isinstance(payload, dict) and payload.get("event") == "error":
            self.health.reason = sanitize(str(payload), 160)


def _closed_reason(exc: ConnectionClosed) -> str:
    """Short text for a closed socket, with the close code when there was one."""
    rcvd = exc.rcvd
    if rcvd is None:
        return "connection lost (no close frame)"
    text = f"closed by venue: code {rcvd.code}"
    return f"{text} {rcvd.reason}" if rcvd.reason else text
