"""The loopback exchange: a real websocket + HTTP server on 127.0.0.1 serving a venue script.

Usage (tests, ``tapescope bench``)::

    script = load_hftbacktest(path, "binance-usdm")
    async with Emulator(venue="binance-usdm", script=script, faults=[Fault(FaultKind.DROP, at=50)]) as emu:
        feed = LiveFeed({"binance-usdm": VenueEndpoint(emu.ws_url, emu.rest_url)}, ["BTCUSDT"])
        ...
        await emu.wait_done()

The emulator is one market: a producer walks the script's timeline once, at
``rate`` frames per second (0: as fast as the sockets take them), applies
each frame to the venue's true book and broadcasts it to every connection
subscribed to its channel, with the faults applied on the way. Like a real
venue, the market does not wait for a client that reconnects: what it missed
is gone, and it must resync from a fresh snapshot (REST or a resubscription),
which the dialect builds from the true book.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tapescope.feeds.emulator.faults import (
    BURST_FACTOR,
    DEFAULT_BURST,
    Fault,
    FaultKind,
    corrupt_json,
    wrong_types,
)
from tapescope.feeds.emulator.scripts import dialect_for
from tapescope.feeds.emulator.scripts.base import Script, ScriptFrame, Session

log = logging.getLogger(__name__)

#: Frames sent between two yields to the event loop when ``rate`` is 0.
YIELD_EVERY = 16


class Emulator:
    """A loopback venue serving one script, usable as an async context manager."""

    def __init__(
        self,
        venue: str,
        script: Script,
        faults: Sequence[Fault] = (),
        *,
        rate: float = 0.0,
        start_delay_s: float = 0.0,
        wait_for_subscriber: bool = True,
        tail_s: float = 0.0,
    ) -> None:
        """Configure the emulator; sockets open in ``__aenter__``.

        Args:
            venue: Venue id whose dialect to speak (``binance-usdm``, ``okx``, ...).
            script: The market timeline to serve.
            faults: Faults to inject.
            rate: Frames per second (0: as fast as possible).
            start_delay_s: Pause between the first subscription and the first frame
                (lets a client's initial snapshot request land first).
            wait_for_subscriber: Hold the timeline until some connection subscribed.
            tail_s: After the last frame, keep connections open (no frames) this long
                before :meth:`wait_done` returns.
        """
        self.venue = venue
        self.script = script
        self.dialect = dialect_for(venue)(script)
        """The venue's server-side protocol and true book."""
        self.rate = rate
        self.start_delay_s = start_delay_s
        self.wait_for_subscriber = wait_for_subscriber
        self.tail_s = tail_s
        self._faults = list(faults)
        for f in self._faults:
            if f.kind is FaultKind.REFUSE:
                self.dialect.refuse[f.symbol] = self.dialect.refuse.get(f.symbol, 0) + f.count
                self.dialect.refuse_text = f.text
        self._rest_limits = [f for f in self._faults if f.kind is FaultKind.REST_LIMIT]
        self._fired: set[int] = set()
        self._sessions: dict[int, tuple[Session, ServerConnection]] = {}
        self._next_id = 0
        self._subscribed = asyncio.Event()
        self._done = asyncio.Event()
        self._server: Server | None = None
        self._runner: web.AppRunner | None = None
        self._producer: asyncio.Task[None] | None = None
        self._held: dict[tuple[str, str], dict[int, str]] = {}
        self.paths: list[str] = []
        """Request path (with query) of every connection accepted, in order."""
        self.ws_url = ""
        """``ws://127.0.0.1:PORT`` (set on enter)."""
        self.rest_url = ""
        """``http://127.0.0.1:PORT`` (set on enter)."""
        self.stats: dict[str, int] = {
            "connections": 0, "frames_sent": 0, "book_frames": 0, "rest_requests": 0,
            "client_frames": 0, "faults_fired": 0,
        }
        """Counters: connections accepted, frames sent, timeline book frames walked, REST requests, ..."""

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> Emulator:
        self._server = await serve(self._handle, "127.0.0.1", 0, ping_interval=None, compression=None, max_size=2**20)
        port = self._server.sockets[0].getsockname()[1]
        self.ws_url = f"ws://127.0.0.1:{port}"
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        hport = self._runner.addresses[0][1]
        self.rest_url = f"http://127.0.0.1:{hport}"
        self._producer = asyncio.create_task(self._produce(), name="emulator producer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._producer is not None:
            self._producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._producer
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_done(self, timeout: float | None = None) -> None:
        """Wait until the whole timeline was sent (plus ``tail_s``)."""
        await asyncio.wait_for(self._done.wait(), timeout)

    @property
    def connection_count(self) -> int:
        """Connections currently open."""
        return len(self._sessions)

    def sessions(self) -> list[Session]:
        """Open connections' sessions (their subscriptions), oldest first."""
        return [s for s, _ in self._sessions.values()]

    async def close_all(self, code: int = 1001, reason: str = "going away") -> None:
        """Close every open connection from the venue side."""
        for _, ws in list(self._sessions.values()):
            await ws.close(code, reason)

    # -- websocket side ------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        ident = self._next_id
        self._next_id += 1
        self.stats["connections"] += 1
        session = Session(ident, ws.request.path if ws.request else "")
        self.paths.append(session.path)
        self._sessions[ident] = (session, ws)
        try:
            for text in self.dialect.on_connect(session):
                await self._send(session, ws, text)
            if session.subs:
                self._subscribed.set()
            async for message in ws:
                self.stats["client_frames"] += 1
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                try:
                    replies = self.dialect.on_client_frame(session, text)
                except Exception:  # a request of an unexpected shape: answer like a venue would
                    log.debug("emulator: bad client frame %.80r", text, exc_info=True)
                    replies = [self.dialect.error_frame("Invalid request")]
                for reply in replies:
                    await self._send(session, ws, reply)
                if session.subs:
                    self._subscribed.set()
        except ConnectionClosed:
            pass
        finally:
            self._sessions.pop(ident, None)

    async def _send(
        self,
        session: Session,
        ws: ServerConnection,
        text: str,
        mutate: Callable[[str], str] | None = None,
        stamped: bool = False,
    ) -> None:
        """Send one message: stamped (sequence) in send order, then mutated by a fault."""
        async with session.lock:
            if not stamped:
                text = self.dialect.stamp(session, text)
            loop_now = asyncio.get_running_loop().time()
            if session.stalled_until >= 0 and loop_now < session.stalled_until:
                return
            if mutate is not None:
                text = mutate(text)
            try:
                await ws.send(text)
                self.stats["frames_sent"] += 1
            except ConnectionClosed:
                pass

    # -- REST side -----------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        self.stats["rest_requests"] += 1
        for i, f in enumerate(self._rest_limits):
            if f.count > 0:
                self._rest_limits[i] = Fault(f.kind, f.at, f.symbol, f.count - 1, f.duration_s, f.text)
                self.stats["faults_fired"] += 1
                headers = {"Retry-After": f"{f.duration_s:g}"} if f.duration_s > 0 else {}
                body = orjson.dumps({"code": -1003, "msg": f.text or "Too many requests"})
                return web.Response(status=429, body=body, content_type="application/json", headers=headers)
        status, body = self.dialect.rest(request.path, dict(request.query))
        return web.Response(status=status, body=body, content_type="application/json")

    # -- the timeline --------------------------------------------------------

    def _due(self, frame: ScriptFrame, index: int, per_symbol: int) -> list[tuple[int, Fault]]:
        out = []
        for i, f in enumerate(self._faults):
            if i in self._fired or f.kind in (FaultKind.REFUSE, FaultKind.REST_LIMIT):
                continue
            if f.symbol and f.symbol != frame.symbol:
                continue
            if (per_symbol if f.symbol else index) == f.at:
                out.append((i, f))
        return out

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        if self.wait_for_subscriber:
            await self._subscribed.wait()
        if self.start_delay_s > 0:
            await asyncio.sleep(self.start_delay_s)
        book_index = 0
        per_symbol: dict[str, int] = {}
        burst_left = 0
        t_next = loop.time()
        for n, frame in enumerate(self.script.frames):
            faults: list[tuple[int, Fault]] = []
            if frame.channel == "book":
                k = per_symbol.get(frame.symbol, 0)
                faults = self._due(frame, book_index, k)
                per_symbol[frame.symbol] = k + 1
                book_index += 1
                self.stats["book_frames"] = book_index
            for i, f in faults:
                self._fired.add(i)
                self.stats["faults_fired"] += 1
                if f.kind is FaultKind.BURST:
                    burst_left = f.count or DEFAULT_BURST
            self.dialect.apply(frame)
            await self._broadcast(frame, [f for _, f in faults])
            # Pacing: absolute schedule so sleep granularity does not slow the rate.
            if self.rate > 0:
                step = 1.0 / (self.rate * (BURST_FACTOR if burst_left > 0 else 1.0))
                t_next += step
                delay = t_next - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -1.0:
                    t_next = loop.time()  # far behind (slow consumer): do not catch up in a rush
            elif burst_left <= 0 and n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            if burst_left > 0:
                burst_left -= 1
        for held in self._held.values():
            for session, ws in list(self._sessions.values()):
                if session.ident in held:
                    await self._send(session, ws, held[session.ident], stamped=True)
        self._held.clear()
        if self.tail_s > 0:
            await asyncio.sleep(self.tail_s)
        self._done.set()

    async def _broadcast(self, frame: ScriptFrame, faults: list[Fault]) -> None:
        kinds = {f.kind for f in faults}
        sessions = [(s, ws) for s, ws in list(self._sessions.values()) if self.dialect.wants(s, frame)]
        if FaultKind.DROP in kinds:
            for session, _ in sessions:
                self.dialect.on_dropped(session, frame)
            return
        if FaultKind.BAD_CHECKSUM in kinds:
            frame = self.dialect.corrupt_size(frame)
        if FaultKind.REORDER in kinds:
            # Rendered now (connection sequence numbers stay those of the true order),
            # sent after the next frame of the same symbol and channel.
            self._held[(frame.symbol, frame.channel)] = {
                s.ident: self.dialect.stamp(s, self.dialect.render(s, frame)) for s, _ in sessions
            }
            return
        held = self._held.pop((frame.symbol, frame.channel), {})
        loop_now = asyncio.get_running_loop().time()
        for session, ws in sessions:
            for f in faults:
                if f.kind is FaultKind.ERROR:
                    await self._send(session, ws, self.dialect.error_frame(f.text or "Service unavailable"))
            text = self.dialect.render(session, frame)
            mutate = None
            if FaultKind.CORRUPT_JSON in kinds:
                mutate = corrupt_json
            elif FaultKind.WRONG_TYPES in kinds:
                mutate = wrong_types
            await self._send(session, ws, text, mutate)
            if FaultKind.DUPLICATE in kinds:
                await self._send(session, ws, text)
            if session.ident in held:
                await self._send(session, ws, held[session.ident], stamped=True)
            for f in faults:
                if f.kind is FaultKind.STALL:
                    session.stalled_until = loop_now + f.duration_s if f.duration_s > 0 else math.inf
                elif f.kind is FaultKind.DISCONNECT:
                    await ws.close(1001, "emulator: disconnect fault")

    def true_book(self, symbol: str) -> Any:
        """The venue's true book of ``symbol`` (dialect-specific structure, see ``dialect.snapshot``)."""
        return self.dialect.snapshot(symbol)  # type: ignore[attr-defined]
