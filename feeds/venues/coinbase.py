"""Coinbase Advanced Trade websocket adapter (``coinbase``): ``level2`` + ``market_trades``.

Wire format (``wss://advanced-trade-ws.coinbase.com``; docs.cdp.coinbase.com
Advanced Trade websocket channels; ``shared/data/PROTOCOLS.md`` §5):

* one subscribe frame per channel: ``{"type":"subscribe","channel":"level2","product_ids":[...]}``,
  plus ``heartbeats`` (most channels close after 60-90 s without updates);
* every frame carries a **connection-level** ``sequence_num`` counting all
  channels. A jump (or a repeat) means frames were lost: every book on the
  connection is suspect, so the decoder routes a :class:`CoinbaseGap` to each
  registered product and each sync moves to ``RESYNCING`` and asks for a
  resubscribe. ``sequence_num == 0`` starts a new connection's count;
* ``l2_data`` events: ``snapshot`` / ``update`` with ``updates`` of
  ``{side: bid|offer, price_level, new_quantity}``; ``new_quantity`` is
  absolute, ``"0"`` removes the level. There is no checksum;
* ``market_trades`` ``update`` events: ``side`` is the **maker** order's side
  (checked on the capture: SELL prints trade at the ask), so the aggressor is
  the opposite. The ``snapshot`` event (recent history) is ignored.

The sequence counter is per connection, so use **one** :class:`CoinbaseProtocol`
per websocket connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from tapescope.engine.events import Aggressor, BookDelta, BookSnapshot, Level, Trade
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import MsgKind, Routed, SyncOutput, VenueProtocol
from tapescope.feeds.venues.common import (
    SyncBase,
    bad,
    error_routes,
    error_text,
    integer,
    loads,
    price,
    require,
    rfc3339_ns,
    size,
)

#: Channels subscribed: the book, the tape, and heartbeats to keep the connection open.
LEVEL2, TRADES, HEARTBEATS = "level2", "market_trades", "heartbeats"


@dataclass(frozen=True, slots=True)
class CoinbaseConfig:
    """``[venues.coinbase]``: Coinbase Advanced Trade market data."""

    ws_url: str = "wss://advanced-trade-ws.coinbase.com"
    """Public websocket endpoint."""
    stall_timeout_s: float = field(default=10.0, metadata={"min": 3.0, "max": 600.0})
    """Seconds without any frame before the stream counts as stalled (heartbeats arrive every second)."""
    max_symbols_per_connection: int = field(default=20, metadata={"min": 1, "max": 100})
    """Products per connection (level2 for busy products is heavy)."""


@dataclass(slots=True)
class CoinbaseDepth:
    """One ``l2_data`` event for a product."""

    snapshot: bool
    """``type == "snapshot"``."""
    ts: int
    """Venue time, ns (the frame's ``timestamp``)."""
    seq: int
    """Connection ``sequence_num`` of the frame."""
    bids: list[Level]
    """Bid levels in message order."""
    asks: list[Level]
    """Offer levels in message order."""


@dataclass(slots=True)
class CoinbaseGap:
    """The connection lost frames: every book on it must be rebuilt."""

    expected: int
    """The ``sequence_num`` that should have come."""
    got: int
    """The one that came."""
    ts: int
    """Venue time of the frame that revealed the gap, ns."""


class CoinbaseSync(SyncBase):
    """Snapshot/update state machine for one product's ``level2`` book.

    Sequencing is checked per connection by the decoder, which routes a
    :class:`CoinbaseGap` here when frames were lost.
    """

    def __init__(self, instrument: Instrument, health: SymbolHealth) -> None:
        super().__init__(instrument, health)
        self.synced = False
        """A snapshot has been applied since the last reset."""

    def _clear(self) -> None:
        self.synced = False

    def on_depth(self, msg: CoinbaseDepth | CoinbaseGap, recv_ns: int) -> SyncOutput:
        """Apply one ``l2_data`` event or a connection gap. ``O(k)`` for ``k`` levels."""
        out = SyncOutput()
        if type(msg) is CoinbaseGap:
            # Even a book still waiting for its snapshot resubscribes: the lost
            # frames may have held that snapshot.
            return self._break(
                out,
                "gaps",
                f"connection gap: sequence_num={msg.got}, expected {msg.expected}",
                msg.ts,
                recv_ns,
            )
        self._touch(msg.ts, recv_ns)
        if msg.snapshot:
            self.synced = True
            out.events.append(BookSnapshot(self.key, msg.ts, recv_ns, msg.bids, msg.asks, msg.seq))
            self._live(out, f"snapshot sequence_num={msg.seq}", msg.ts, recv_ns)
            return out
        if self.synced:
            out.events.append(BookDelta(self.key, msg.ts, recv_ns, msg.bids, msg.asks, msg.seq))
        return out


class CoinbaseProtocol(VenueProtocol):
    """Coinbase Advanced Trade public websocket, one instance per connection."""

    venue = "coinbase"
    app_ping_interval_s = 0.0  # the heartbeats channel keeps the connection open

    def __init__(self, config: CoinbaseConfig | None = None) -> None:
        self.config = config or CoinbaseConfig()
        """Settings in force."""
        self.ws_url = self.config.ws_url
        self.max_symbols_per_connection = self.config.max_symbols_per_connection
        self.stall_timeout_s = self.config.stall_timeout_s
        self._keys: dict[str, str] = {}
        self.last_seq: int | None = None
        """Last ``sequence_num`` seen on this connection (``None`` before the first frame)."""
        self.gaps = 0
        """Connection-level sequence gaps seen."""

    # -- subscription ------------------------------------------------------

    @staticmethod
    def _frame(kind: str, channel: str, symbols: list[str]) -> str:
        return orjson.dumps({"type": kind, "product_ids": symbols, "channel": channel}).decode()

    def connect_url(self, base_url: str, symbols: list[str]) -> str:
        """Subscriptions are frames: the URL is the base URL."""
        return base_url

    def subscribe_frames(self, symbols: list[str]) -> list[str]:
        """``heartbeats`` first (keeps the connection open), then ``level2`` and ``market_trades``."""
        return [self._frame("subscribe", ch, symbols) for ch in (HEARTBEATS, LEVEL2, TRADES)]

    def unsubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Drop ``level2`` and ``market_trades`` (heartbeats stay, they keep the socket open)."""
        return [self._frame("unsubscribe", ch, symbols) for ch in (LEVEL2, TRADES)]

    def resubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Restart only ``level2`` (Coinbase answers with a fresh snapshot)."""
        return [
            self._frame("unsubscribe", LEVEL2, symbols),
            self._frame("subscribe", LEVEL2, symbols),
        ]

    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> CoinbaseSync:
        """Register ``instrument`` for routing and return its sync."""
        self._keys[instrument.symbol] = instrument.key
        return CoinbaseSync(instrument, health)

    # -- decoding ----------------------------------------------------------

    def decode(self, payload: bytes | str, recv_ns: int) -> list[Routed]:
        """Decode one frame; a ``sequence_num`` jump first routes a :class:`CoinbaseGap` to every product.

        Raises:
            BadMessage: malformed frame; ``key`` is set when it was a single-product book event.
        """
        msg = loads(payload, "coinbase")
        if type(msg) is not dict:
            raise bad("coinbase", "frame is not an object")
        if msg.get("type") == "error":
            # A refused product is named in the message: attribute it to that market.
            text = error_text("coinbase", "error:", msg.get("message"), msg.get("reason"))
            return error_routes(text, self._keys)
        channel = msg.get("channel")
        if type(channel) is not str:
            raise bad("coinbase", "missing channel")
        seq = integer(msg.get("sequence_num"), "coinbase", "sequence_num")
        ts = rfc3339_ns(msg.get("timestamp"), "coinbase")
        events = require(msg, "events", "coinbase", list)
        out: list[Routed] = []
        last = self.last_seq
        if last is not None and seq != last + 1 and seq != 0:
            self.gaps += 1
            gap = CoinbaseGap(last + 1, seq, ts)
            out = [Routed(MsgKind.DEPTH, key, gap) for key in self._keys.values()]
        # Advance before parsing the body: a malformed frame still counts as received,
        # so it is not reported a second time as a gap by the next frame. A late or
        # repeated frame does not move the count backwards (one reorder, not three gaps).
        self.last_seq = seq if seq == 0 or last is None else max(last, seq)
        if channel == "l2_data":
            out += self._l2(events, seq, ts)
        elif channel == TRADES:
            out += self._trades(events, recv_ns)
        elif channel in ("subscriptions", HEARTBEATS):
            out.append(Routed(MsgKind.CONTROL, "", {"channel": channel, "sequence_num": seq}))
        else:
            out.append(Routed(MsgKind.IGNORED))
        return out

    def _l2(self, events: list[Any], seq: int, ts: int) -> list[Routed]:
        out = []
        for e in events:
            if type(e) is not dict:
                raise bad("coinbase", "bad l2 event")
            product = e.get("product_id")
            key = self._keys.get(product) if type(product) is str else None
            if key is None:
                out.append(Routed(MsgKind.IGNORED))
                continue
            kind = e.get("type")
            if kind not in ("snapshot", "update"):
                raise bad("coinbase", "bad l2 event type", kind, key)
            updates = e.get("updates")
            if type(updates) is not list:
                raise bad("coinbase", "missing updates", None, key)
            bids: list[Level] = []
            asks: list[Level] = []
            for u in updates:
                if type(u) is not dict:
                    raise bad("coinbase", "bad level", None, key)
                side = u.get("side")
                level = (
                    price(u.get("price_level"), "coinbase", key),
                    size(u.get("new_quantity"), "coinbase", key),
                )
                if side == "bid":
                    bids.append(level)
                elif side == "offer":
                    asks.append(level)
                else:
                    raise bad("coinbase", "bad level side", side, key)
            out.append(
                Routed(MsgKind.DEPTH, key, CoinbaseDepth(kind == "snapshot", ts, seq, bids, asks))
            )
        return out

    def _trades(self, events: list[Any], recv_ns: int) -> list[Routed]:
        out: list[Routed] = []
        for e in events:
            if type(e) is not dict:
                raise bad("coinbase", "bad trades event")
            if e.get("type") != "update":
                out.append(Routed(MsgKind.IGNORED))  # snapshot = recent history, not live prints
                continue
            trades = e.get("trades")
            if type(trades) is not list:
                raise bad("coinbase", "missing trades")
            for t in trades:
                if type(t) is not dict:
                    raise bad("coinbase", "bad trade")
                product = t.get("product_id")
                key = self._keys.get(product) if type(product) is str else None
                if key is None:
                    out.append(Routed(MsgKind.IGNORED))
                    continue
                side = t.get("side")
                if side not in ("BUY", "SELL"):
                    raise bad("coinbase", "bad trade side", side)
                trade_id = t.get("trade_id")
                if type(trade_id) is not str:
                    raise bad("coinbase", "bad trade id")
                ev = Trade(
                    key,
                    rfc3339_ns(t.get("time"), "coinbase"),
                    recv_ns,
                    price(t.get("price"), "coinbase"),
                    size(t.get("size"), "coinbase"),
                    # ``side`` is the maker's: a SELL maker was lifted by a buying taker.
                    int(Aggressor.BUY if side == "SELL" else Aggressor.SELL),
                    trade_id[:64],
                )
                out.append(Routed(MsgKind.EVENT, key, ev))
        return out


__all__ = ["CoinbaseConfig", "CoinbaseDepth", "CoinbaseGap", "CoinbaseProtocol", "CoinbaseSync"]
