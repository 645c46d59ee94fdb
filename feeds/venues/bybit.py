"""Bybit v5 public websocket adapter: ``bybit-linear`` (USDT perpetuals) and ``bybit-spot``.

Wire format (https://bybit-exchange.github.io/docs/v5/ws/connect and the
orderbook / publicTrade / tickers pages; rules in ``shared/data/PROTOCOLS.md`` §4):

* subscribe ``{"op":"subscribe","req_id":..,"args":["orderbook.200.BTCUSDT", ...]}``;
  spot takes at most 10 args per request and any public connection at most
  21,000 characters of args, so frames are chunked (``max_args_per_request``);
* application ping ``{"op":"ping"}`` every 20 s (the venue drops a connection
  after 10 minutes without traffic);
* ``orderbook.N.SYM``: ``snapshot`` replaces the book; each ``delta`` must have
  ``u == prev_u + 1``, anything else is a gap (resubscribe); ``u == 1`` is a
  venue reset and overwrites the book; a depth-1 snapshot resent with the same
  ``u`` is normal;
* ``publicTrade.SYM``: ``S`` is the taker side; ``v`` is in base coin;
* ``tickers.SYM`` (linear only): ``openInterest`` (base coin) becomes an
  :class:`~tapescope.engine.events.OpenInterest` event whenever it is sent.

One :class:`BybitProtocol` per connection (it is cheap); it routes only the
symbols registered through :meth:`BybitProtocol.new_sync`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from tapescope.engine.events import (
    Aggressor,
    BookDelta,
    BookSnapshot,
    FeedState,
    Level,
    OpenInterest,
    Trade,
)
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
    ms_to_ns,
    price,
    require,
    size,
)

#: Topic prefixes.
BOOK, TRADE, TICKER = "orderbook", "publicTrade", "tickers"
#: Order-book depths Bybit publishes for linear and spot.
DEPTHS = [1, 50, 200, 1000]


@dataclass(frozen=True, slots=True)
class BybitLinearConfig:
    """``[venues.bybit-linear]``: Bybit v5 USDT perpetuals."""

    ws_url: str = "wss://stream.bybit.com/v5/public/linear"
    """Public websocket endpoint."""
    depth: int = field(default=200, metadata={"choices": DEPTHS})
    """Order-book depth subscribed (``orderbook.{depth}.{symbol}``)."""
    app_ping_interval_s: float = field(default=20.0, metadata={"min": 5.0, "max": 300.0})
    """Seconds between ``{"op":"ping"}`` frames (Bybit recommends 20 s)."""
    stall_timeout_s: float = field(default=30.0, metadata={"min": 5.0, "max": 600.0})
    """Seconds without any frame before the stream counts as stalled."""
    max_symbols_per_connection: int = field(default=50, metadata={"min": 1, "max": 200})
    """Symbols per connection (3 topics each; Bybit caps args at 21,000 characters)."""
    max_args_per_request: int = field(default=10, metadata={"min": 1, "max": 10})
    """Topics per subscribe frame (spot refuses more than 10)."""
    open_interest: bool = True
    """Subscribe ``tickers`` and emit open interest."""


@dataclass(frozen=True, slots=True)
class BybitSpotConfig:
    """``[venues.bybit-spot]``: Bybit v5 spot."""

    ws_url: str = "wss://stream.bybit.com/v5/public/spot"
    """Public websocket endpoint."""
    depth: int = field(default=200, metadata={"choices": DEPTHS})
    """Order-book depth subscribed (``orderbook.{depth}.{symbol}``)."""
    app_ping_interval_s: float = field(default=20.0, metadata={"min": 5.0, "max": 300.0})
    """Seconds between ``{"op":"ping"}`` frames (Bybit recommends 20 s)."""
    stall_timeout_s: float = field(default=30.0, metadata={"min": 5.0, "max": 600.0})
    """Seconds without any frame before the stream counts as stalled."""
    max_symbols_per_connection: int = field(default=50, metadata={"min": 1, "max": 200})
    """Symbols per connection (2 topics each)."""
    max_args_per_request: int = field(default=10, metadata={"min": 1, "max": 10})
    """Topics per subscribe frame (spot refuses more than 10)."""


@dataclass(slots=True)
class BybitDepth:
    """One decoded ``orderbook`` message for a symbol."""

    snapshot: bool
    """``type == "snapshot"``."""
    u: int
    """Update id."""
    seq: int
    """Cross sequence (comparable with trades)."""
    ts: int
    """Venue time, ns (``cts`` when present, else ``ts``)."""
    bids: list[Level]
    """Bid levels in message order."""
    asks: list[Level]
    """Ask levels in message order."""


def _levels(raw: object, key: str) -> list[Level]:
    """``[[px, sz], ...]`` strings to floats."""
    if type(raw) is not list:
        raise bad("bybit", "levels not a list", None, key)
    out: list[Level] = []
    append = out.append
    for lv in raw:
        if type(lv) is not list or len(lv) < 2:
            raise bad("bybit", "bad level", lv, key)
        append((price(lv[0], "bybit", key), size(lv[1], "bybit", key)))
    return out


class BybitSync(SyncBase):
    """``u``-chain state machine for one Bybit ``orderbook`` topic.

    >>> from tapescope.engine.health import SymbolHealth
    >>> s = BybitSync(Instrument("bybit-linear", "BTCUSDT"), SymbolHealth("bybit-linear:BTCUSDT"))
    >>> s.on_depth(BybitDepth(True, 10, 0, 1, [(1.0, 1.0)], [(2.0, 1.0)]), 5).events[-1].state.name
    'LIVE'
    >>> out = s.on_depth(BybitDepth(False, 12, 0, 2, [], []), 6)
    >>> out.resubscribe, s.health.gaps, out.events[-1].reason
    (True, 1, 'gap: u=12 after u=10 (expected 11)')
    """

    def __init__(self, instrument: Instrument, health: SymbolHealth) -> None:
        super().__init__(instrument, health)
        self.prev_u: int | None = None
        """``u`` of the last applied message, ``None`` before the first snapshot."""

    def _clear(self) -> None:
        self.prev_u = None

    def on_depth(self, msg: BybitDepth, recv_ns: int) -> SyncOutput:
        """Apply one orderbook message. ``O(k)`` for ``k`` levels in it."""
        out = SyncOutput()
        self._touch(msg.ts, recv_ns)
        prev = self.prev_u
        # u == 1 is Bybit's reset after a service restart (or a delisting /
        # auction / tick change): overwrite whatever we hold, never a gap.
        if msg.snapshot or msg.u == 1:
            self.prev_u = msg.u
            out.events.append(BookSnapshot(self.key, msg.ts, recv_ns, msg.bids, msg.asks, msg.u))
            if msg.u == 1 and not msg.bids and not msg.asks:
                self._set_state(
                    out,
                    FeedState.SYNCING,
                    "u=1 reset with an empty book (delisting or pre-market)",
                    msg.ts,
                    recv_ns,
                )
            else:
                self._live(out, f"snapshot u={msg.u}", msg.ts, recv_ns)
            return out
        if prev is None:
            return out  # deltas before the (re)subscription snapshot are stale
        if msg.u != prev + 1:
            return self._break(
                out, "gaps", f"gap: u={msg.u} after u={prev} (expected {prev + 1})", msg.ts, recv_ns
            )
        self.prev_u = msg.u
        out.events.append(BookDelta(self.key, msg.ts, recv_ns, msg.bids, msg.asks, msg.u))
        if self.health.state != FeedState.LIVE:
            # Levels arriving on an empty u=1 baseline make a real book again.
            self._live(out, f"delta u={msg.u} on u=1 baseline", msg.ts, recv_ns)
        return out


class BybitProtocol(VenueProtocol):
    """Bybit v5 public stream for one category (``linear`` or ``spot``)."""

    def __init__(self, config: BybitLinearConfig | BybitSpotConfig) -> None:
        self.config = config
        """Settings in force."""
        self.category = "linear" if isinstance(config, BybitLinearConfig) else "spot"
        """Bybit category: ``linear`` or ``spot``."""
        self.venue = f"bybit-{self.category}"
        self.ws_url = config.ws_url
        self.max_symbols_per_connection = config.max_symbols_per_connection
        self.app_ping_interval_s = config.app_ping_interval_s
        self.stall_timeout_s = config.stall_timeout_s
        self._keys: dict[str, str] = {}
        self._req = 0

    # -- subscription ------------------------------------------------------

    def _topics(self, symbols: list[str], book_only: bool = False) -> list[str]:
        depth = self.config.depth
        topics = [f"{BOOK}.{depth}.{s}" for s in symbols]
        if not book_only:
            topics += [f"{TRADE}.{s}" for s in symbols]
            if getattr(self.config, "open_interest", False):
                topics += [f"{TICKER}.{s}" for s in symbols]
        return topics

    def _frames(self, op: str, topics: list[str]) -> list[str]:
        step = self.config.max_args_per_request
        frames = []
        for i in range(0, len(topics), step):
            self._req += 1
            frames.append(
                orjson.dumps(
                    {"op": op, "req_id": f"{op[:5]}{self._req}", "args": topics[i : i + step]}
                ).decode()
            )
        return frames

    def connect_url(self, base_url: str, symbols: list[str]) -> str:
        """Bybit takes subscriptions as frames: the URL is the base URL."""
        return base_url

    def subscribe_frames(self, symbols: list[str]) -> list[str]:
        """Book, trade (and on linear, ticker) topics, at most ``max_args_per_request`` per frame."""
        return self._frames("subscribe", self._topics(symbols))

    def unsubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Drop every topic of these symbols (so unsubscribe + subscribe is consistent)."""
        return self._frames("unsubscribe", self._topics(symbols))

    def resubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Restart only the book topics: Bybit answers a new subscription with a snapshot."""
        topics = self._topics(symbols, book_only=True)
        return self._frames("unsubscribe", topics) + self._frames("subscribe", topics)

    def app_ping_frame(self) -> str:
        """``{"op":"ping"}``."""
        return '{"op":"ping"}'

    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> BybitSync:
        """Register ``instrument`` for routing and return its sync."""
        self._keys[instrument.symbol] = instrument.key
        return BybitSync(instrument, health)

    # -- decoding ----------------------------------------------------------

    def decode(self, payload: bytes | str, recv_ns: int) -> list[Routed]:
        """Decode one frame (see the module docstring for the message kinds).

        Raises:
            BadMessage: malformed frame; ``key`` is set when it was a book message.
        """
        msg = loads(payload, "bybit")
        if type(msg) is not dict:
            raise bad("bybit", "frame is not an object")
        topic = msg.get("topic")
        if topic is None:
            return self._control(msg)
        if type(topic) is not str:
            raise bad("bybit", "bad topic")
        kind, _, rest = topic.partition(".")
        symbol = rest.rpartition(".")[2]
        key = self._keys.get(symbol)
        if key is None:
            return [Routed(MsgKind.IGNORED)]
        if kind == BOOK:
            return [Routed(MsgKind.DEPTH, key, self._depth(msg, key))]
        if kind == TRADE:
            return self._trades(msg, key, recv_ns)
        if kind == TICKER:
            return [self._ticker(msg, key, recv_ns)]
        return [Routed(MsgKind.IGNORED, key)]

    def _control(self, msg: dict[str, Any]) -> list[Routed]:
        op = msg.get("op")
        if msg.get("success") is False:
            text = error_text("bybit", op, "refused:", msg.get("ret_msg"))
            # A refused subscription names its topics: attribute it to those markets.
            return (
                error_routes(text, self._keys)
                if op == "subscribe"
                else [Routed(MsgKind.ERROR, "", text)]
            )
        if op in ("subscribe", "unsubscribe", "ping", "pong", "auth"):
            return [
                Routed(MsgKind.CONTROL, "", {"op": op, "req_id": str(msg.get("req_id", ""))[:40]})
            ]
        if "ret_msg" in msg or "retMsg" in msg:
            return [
                Routed(
                    MsgKind.ERROR, "", error_text("bybit", msg.get("ret_msg") or msg.get("retMsg"))
                )
            ]
        return [Routed(MsgKind.IGNORED)]

    def _depth(self, msg: dict[str, Any], key: str) -> BybitDepth:
        data = require(msg, "data", "bybit", dict, key)
        kind = msg.get("type")
        if kind not in ("snapshot", "delta"):
            raise bad("bybit", "bad book type", kind, key)
        u = integer(data.get("u"), "bybit", "u", key)
        seq = integer(data.get("seq", 0), "bybit", "seq", key)
        ts = ms_to_ns(msg.get("cts", msg.get("ts")), "bybit", key)
        return BybitDepth(
            kind == "snapshot", u, seq, ts, _levels(data.get("b"), key), _levels(data.get("a"), key)
        )

    def _trades(self, msg: dict[str, Any], key: str, recv_ns: int) -> list[Routed]:
        data = require(msg, "data", "bybit", list)
        out = []
        for t in data:
            if type(t) is not dict:
                raise bad("bybit", "bad trade")
            side = t.get("S")
            if side == "Buy":
                aggressor = Aggressor.BUY
            elif side == "Sell":
                aggressor = Aggressor.SELL
            else:
                raise bad("bybit", "bad trade side", side)
            trade_id = t.get("i")
            if type(trade_id) is not str:
                raise bad("bybit", "bad trade id")
            out.append(
                Routed(
                    MsgKind.EVENT,
                    key,
                    Trade(
                        key,
                        ms_to_ns(t.get("T"), "bybit"),
                        recv_ns,
                        price(t.get("p"), "bybit"),
                        size(t.get("v"), "bybit"),
                        int(aggressor),
                        trade_id[:64],
                    ),
                )
            )
        return out

    def _ticker(self, msg: dict[str, Any], key: str, recv_ns: int) -> Routed:
        data = require(msg, "data", "bybit", dict)
        oi = data.get("openInterest")
        if oi is None or self.category != "linear":
            return Routed(MsgKind.IGNORED, key)
        return Routed(
            MsgKind.EVENT,
            key,
            OpenInterest(key, ms_to_ns(msg.get("ts"), "bybit"), recv_ns, size(oi, "bybit")),
        )


def bybit_protocol(
    venue: str, config: BybitLinearConfig | BybitSpotConfig | None = None
) -> BybitProtocol:
    """The protocol for ``"bybit-linear"`` or ``"bybit-spot"`` with default or given settings.

    Raises:
        ValueError: unknown venue id.
    """
    if venue == "bybit-linear":
        return BybitProtocol(config or BybitLinearConfig())
    if venue == "bybit-spot":
        return BybitProtocol(config or BybitSpotConfig())
    raise ValueError(f"not a Bybit venue: {venue!r}")


__all__ = [
    "BybitDepth",
    "BybitLinearConfig",
    "BybitProtocol",
    "BybitSpotConfig",
    "BybitSync",
    "bybit_protocol",
]
