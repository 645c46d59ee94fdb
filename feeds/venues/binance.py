"""Binance spot and USD-M futures venue protocols (wire format, URLs, limits).

:class:`BinanceSpotProtocol` and :class:`BinanceUsdmProtocol` implement
:class:`~tapescope.feeds.venues.base.VenueProtocol`; their book syncs are
:class:`~tapescope.feeds.venues.binance_sync.BinanceSpotSync` and
:class:`~tapescope.feeds.venues.binance_sync.BinanceUsdmSync`.

Connection model: one combined stream per connection,
``<ws_url>/stream?streams=btcusdt@depth@100ms/btcusdt@trade/...``, two
streams per symbol (diff depth + trades). Binance also accepts
``{"method":"SUBSCRIBE","params":[...],"id":n}`` frames on a bare
``/stream`` connection (``subscribe_mode = "frames"``).

Limits (Binance docs, read from stored copies): spot allows 1024 streams per
connection and 5 incoming messages per second; USD-M futures pages have said
200 streams per connection (the newest copy says 1024) and 10 incoming
messages per second, so the futures default stays at the conservative 200.
Connect URLs longer than about 8000 characters are refused, so long stream
lists switch to SUBSCRIBE frames automatically.

USD-M routing (Binance "Important WebSocket Change Notice", legacy unrouted
URLs retired 2026-04-23): ``wss://fstream.binance.com/public`` carries the
high-frequency streams (``@depth``, ``@bookTicker``, and ``@trade`` per
third-party clients), ``/market`` the rest (``@aggTrade``, ``@markPrice``,
klines). A connection receives only its own path's streams, silently, so the
default puts ``@depth`` and ``@trade`` together on ``/public``; ``aggTrade``
needs ``trade_ws_url`` (a second connection, :meth:`connect_urls`).

Settings: ``[venues.binance-spot]`` -> :class:`BinanceSpotConfig`,
``[venues.binance-usdm]`` -> :class:`BinanceUsdmConfig`.

>>> p = BinanceUsdmProtocol()
>>> p.connect_url(p.ws_url, ["BTCUSDT", "ETHUSDT"])
'wss://fstream.binance.com/public/stream?streams=btcusdt@depth@100ms/btcusdt@trade/ethusdt@depth@100ms/ethusdt@trade'
>>> p.snapshot_url(p.rest_url, "BTCUSDT")
'https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000'
>>> r = p.decode(b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":5,"s":"BTCUSDT","a":9,'
...              b'"p":"100.5","q":"2","f":1,"l":2,"T":4,"m":true}}', 7)
>>> r[0].kind.name, r[0].key, r[0].payload.side, r[0].payload.ts
('EVENT', 'binance-usdm:BTCUSDT', -1, 4000000)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import orjson

from tapescope.engine.events import Trade
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import BadMessage, MsgKind, Routed, VenueProtocol
from tapescope.feeds.venues.binance_decode import (
    MS_TO_NS,
    decode_depth,
    error_text,
    loads,
    parse_price,
    sanitise,
)
from tapescope.feeds.venues.binance_sync import BinanceSpotSync, BinanceUsdmSync

#: Streams each symbol uses: diff depth and trades.
STREAMS_PER_SYMBOL = 2
#: Most stream names put in one SUBSCRIBE frame (keeps frames well under size limits).
MAX_PARAMS_PER_FRAME = 200
#: Longest connect URL used; longer stream lists go in SUBSCRIBE frames instead
#: (Binance refuses URLs over about 8000 characters).
MAX_URL_CHARS = 8000
#: Most symbol keys cached by a protocol (bounds memory against hostile symbol names).
_KEY_CACHE_MAX = 4096

_DEPTH = MsgKind.DEPTH
_EVENT = MsgKind.EVENT
_IGNORED = MsgKind.IGNORED
_dict = dict
_loads = orjson.loads
_str = str
_int = int


@dataclass(frozen=True, slots=True)
class BinanceSpotConfig:
    """Settings of the Binance spot adapter (``[venues.binance-spot]``)."""

    ws_url: str = "wss://stream.binance.com:9443"
    """Websocket base URL (``/stream`` is appended)."""
    rest_url: str = "https://api.binance.com"
    """REST base URL for depth snapshots."""
    depth_limit: int = field(default=5000, metadata={"choices": [5, 10, 20, 50, 100, 500, 1000, 5000]})
    """Levels per side asked for in the REST snapshot (5000 costs weight 250)."""
    depth_speed: str = field(default="100ms", metadata={"choices": ["100ms", "1000ms"]})
    """Diff-depth push interval."""
    trade_stream: str = field(default="trade", metadata={"choices": ["trade", "aggTrade"]})
    """Trade stream: every fill (``trade``) or fills aggregated per taker order (``aggTrade``)."""
    subscribe_mode: str = field(default="url", metadata={"choices": ["url", "frames"]})
    """``url``: streams in the connect URL; ``frames``: SUBSCRIBE frames after connecting."""
    max_streams_per_connection: int = field(default=1024, metadata={"min": 2, "max": 1024})
    """Streams one connection may carry (Binance limit 1024; two per symbol)."""
    stall_timeout_s: float = field(default=30.0, metadata={"min": 1.0, "max": 600.0})
    """Seconds without any frame after which the connection counts as stalled."""
    max_buffered_events: int = field(default=2000, metadata={"min": 10, "max": 100000})
    """Diff events buffered while waiting for a snapshot; more forces a resync."""


@dataclass(frozen=True, slots=True)
class BinanceUsdmConfig:
    """Settings of the Binance USD-M futures adapter (``[venues.binance-usdm]``)."""

    ws_url: str = "wss://fstream.binance.com/public"
    """Websocket base URL (``/stream`` is appended). Since April 2026 Binance routes USD-M
    streams by path: ``/public`` carries ``@depth``, ``@bookTicker`` and ``@trade``."""
    trade_ws_url: str = ""
    """When set (e.g. ``wss://fstream.binance.com/market`` for ``aggTrade``), trades go on
    their own connection to this URL (see ``connect_urls``); empty: with depth on ``ws_url``."""
    rest_url: str = "https://fapi.binance.com"
    """REST base URL for depth snapshots."""
    depth_limit: int = field(default=1000, metadata={"choices": [5, 10, 20, 50, 100, 500, 1000]})
    """Levels per side asked for in the REST snapshot (1000 costs weight 20)."""
    depth_speed: str = field(default="100ms", metadata={"choices": ["100ms", "250ms", "500ms"]})
    """Diff-depth push interval (``250ms`` is the plain ``@depth`` stream)."""
    trade_stream: str = field(default="trade", metadata={"choices": ["trade", "aggTrade"]})
    """Trade stream: ``trade`` (every fill, ``/public`` path) or ``aggTrade`` (``/market`` path:
    needs ``trade_ws_url``)."""
    subscribe_mode: str = field(default="url", metadata={"choices": ["url", "frames"]})
    """``url``: streams in the connect URL; ``frames``: SUBSCRIBE frames after connecting."""
    max_streams_per_connection: int = field(default=200, metadata={"min": 2, "max": 1024})
    """Streams one connection may carry (docs have said 200 and 1024; 200 is safe under both)."""
    stall_timeout_s: float = field(default=30.0, metadata={"min": 1.0, "max": 600.0})
    """Seconds without any frame after which the connection counts as stalled."""
    max_buffered_events: int = field(default=2000, metadata={"min": 10, "max": 100000})
    """Diff events buffered while waiting for a snapshot; more forces a resync."""


class _BinanceProtocol(VenueProtocol):
    """Shared wire handling; subclasses set venue, paths and defaults."""

    #: REST depth path.
    depth_path: str = ""
    #: Stream suffix per ``depth_speed`` value.
    depth_suffixes: dict[str, str] = {}

    def __init__(self, config: BinanceSpotConfig | BinanceUsdmConfig) -> None:
        self.config = config
        """The adapter settings."""
        self.ws_url = config.ws_url
        self.rest_url = config.rest_url
        self.max_symbols_per_connection = max(1, config.max_streams_per_connection // STREAMS_PER_SYMBOL)
        self.stall_timeout_s = config.stall_timeout_s
        self._depth_suffix = self.depth_suffixes[config.depth_speed]
        self._ids = itertools.count(1)
        self._prefix = self.venue + ":"
        self._keys: dict[str, str] = {}

    # -- connection -------------------------------------------------------

    @property
    def split_trades(self) -> bool:
        """True when trades stream on their own connection (``trade_ws_url`` set)."""
        return bool(getattr(self.config, "trade_ws_url", ""))

    def streams(self, symbols: list[str]) -> list[str]:
        """Streams of the main connection for these venue symbols, in order.

        Depth and trades (two per symbol), or depth only when trades are split off.

        >>> BinanceSpotProtocol().streams(["BTCUSDT"])
        ['btcusdt@depth@100ms', 'btcusdt@trade']
        """
        out = []
        trade = "@" + self.config.trade_stream
        split = self.split_trades
        for s in symbols:
            low = s.lower()
            out.append(low + self._depth_suffix)
            if not split:
                out.append(low + trade)
        return out

    def _use_frames(self, symbols: list[str]) -> bool:
        if self.config.subscribe_mode == "frames":
            return True
        # URL mode, unless the stream list makes the URL too long for Binance. The
        # base URL is left out (budgeted at 200 characters) so connect_url and
        # subscribe_frames always agree, whichever base the live layer passes.
        return sum(len(x) + 1 for x in self.streams(symbols)) > MAX_URL_CHARS - 200

    def connect_url(self, base_url: str, symbols: list[str]) -> str:
        """Combined-stream URL of the main connection; the bare ``/stream`` in frames mode.

        Frames mode is used when configured, or automatically when the URL would
        exceed :data:`MAX_URL_CHARS`; :meth:`subscribe_frames` follows the same choice.

        Raises:
            ValueError: more symbols than one connection may carry.
        """
        if len(symbols) > self.max_symbols_per_connection:
            raise ValueError(
                f"{len(symbols)} symbols exceed {self.max_symbols_per_connection} per {self.venue} connection"
            )
        base = base_url.rstrip("/")
        if not symbols or self._use_frames(symbols):
            return base + "/stream"
        return base + "/stream?streams=" + "/".join(self.streams(symbols))

    def connect_urls(self, base_url: str, symbols: list[str]) -> list[str]:
        """Every URL to open for these symbols: the main one, plus the trade one when split.

        A live layer that opens only :meth:`connect_url` still gets depth; trades
        then need ``trade_ws_url`` empty (trades on the main connection).

        >>> p = BinanceUsdmProtocol(BinanceUsdmConfig(trade_stream="aggTrade",
        ...                                           trade_ws_url="wss://fstream.binance.com/market"))
        >>> p.connect_urls(p.ws_url, ["BTCUSDT"])  # doctest: +NORMALIZE_WHITESPACE
        ['wss://fstream.binance.com/public/stream?streams=btcusdt@depth@100ms',
         'wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade']
        """
        urls = [self.connect_url(base_url, symbols)]
        if self.split_trades and symbols:
            trade = "@" + self.config.trade_stream
            urls.append(
                self.config.trade_ws_url.rstrip("/") + "/stream?streams="
                + "/".join(s.lower() + trade for s in symbols)
            )
        return urls

    def _frames(self, method: str, streams: list[str]) -> list[str]:
        return [
            orjson.dumps(
                {"method": method, "params": streams[i : i + MAX_PARAMS_PER_FRAME], "id": next(self._ids)}
            ).decode()
            for i in range(0, len(streams), MAX_PARAMS_PER_FRAME)
        ]

    def subscribe_frames(self, symbols: list[str]) -> list[str]:
        """SUBSCRIBE frames for the main connection in frames mode; none when streams are in the URL.

        >>> p = BinanceSpotProtocol(BinanceSpotConfig(subscribe_mode="frames"))
        >>> p.subscribe_frames(["BTCUSDT"])
        ['{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@trade"],"id":1}']
        """
        if not symbols or not self._use_frames(symbols):
            return []
        return self._frames("SUBSCRIBE", self.streams(symbols))

    def unsubscribe_frames(self, symbols: list[str]) -> list[str]:
        """UNSUBSCRIBE frames for these symbols' depth streams (Binance resyncs by REST, so rarely used)."""
        if not symbols:
            return []
        return self._frames("UNSUBSCRIBE", [s.lower() + self._depth_suffix for s in symbols])

    def resubscribe_frames(self, symbols: list[str]) -> list[str]:
        """SUBSCRIBE frames for these symbols' depth streams (pairs with :meth:`unsubscribe_frames`)."""
        if not symbols:
            return []
        return self._frames("SUBSCRIBE", [s.lower() + self._depth_suffix for s in symbols])

    def snapshot_url(self, rest_base: str, symbol: str) -> str:
        """REST depth snapshot URL for a venue symbol."""
        return f"{rest_base.rstrip('/')}{self.depth_path}?symbol={symbol.upper()}&limit={self.config.depth_limit}"

    # -- decoding ---------------------------------------------------------

    def _key(self, sym: Any) -> str:
        key = self._keys.get(sym)
        if key is not None:
            return key
        # Delivery contracts carry an underscore (BTCUSDT_240927); nothing else is allowed.
        if sym.__class__ is not _str or not (sym.isascii() and sym.replace("_", "").isalnum()) or len(sym) > 40:
            raise BadMessage(f"bad symbol: {sanitise(sym, 40)}")
        key = self._prefix + sym.upper()
        if len(self._keys) < _KEY_CACHE_MAX:
            self._keys[sym] = key
        return key

    def decode(self, payload: bytes | str, recv_ns: int) -> list[Routed]:
        """Decode one frame (combined-stream envelope or raw event).

        Runtime complexity: ``O(k)`` for ``k`` levels in a depth event.

        Raises:
            BadMessage: malformed frame (bad JSON, missing field, bad number, wrong type).
        """
        try:
            obj = _loads(payload)
        except (orjson.JSONDecodeError, TypeError):
            obj = loads(payload)  # raises the sanitised BadMessage
        if obj.__class__ is not _dict:
            raise BadMessage("frame is not a JSON object")
        data = obj.get("data")
        if data is None:
            data = obj
        elif data.__class__ is not _dict:
            raise BadMessage("data is not an object")
        try:
            e = data.get("e")
            if e == "depthUpdate":
                return [Routed(_DEPTH, self._key(data["s"]), decode_depth(data))]
            if e == "trade" or e == "aggTrade":
                return [self._trade(data, e, recv_ns)]
            if e is None:
                return [self._other(data)]
            if e.__class__ is not _str:
                raise BadMessage("bad event type")
            if e == "bookTicker":
                return [self._book_ticker(data)]
            return [Routed(_IGNORED, "", sanitise(e, 40))]
        except KeyError as exc:
            raise BadMessage(f"missing field {sanitise(exc.args[0], 20)}") from None
        except (TypeError, AttributeError):
            raise BadMessage("wrong field type") from None

    def _trade(self, d: dict, e: str, recv_ns: int) -> Routed:
        key = self._key(d["s"])
        x = d.get("X")
        if x is not None and x != "MARKET":
            # Futures insurance-fund / ADL fills never traded on the book.
            return Routed(_IGNORED, key, "trade X=" + sanitise(x, 20))
        price = parse_price(d["p"], "p")
        qty = parse_price(d["q"], "q")
        if price <= 0.0:
            raise BadMessage("trade price <= 0")
        t = d["T"]
        if t.__class__ is not _int or t < 0:
            raise BadMessage(f"bad T: {sanitise(t, 40)}")
        m = d["m"]
        if m is True:
            side = -1
        elif m is False:
            side = 1
        else:
            raise BadMessage(f"bad m: {sanitise(m, 20)}")
        tid = d["t"] if e == "trade" else d["a"]
        if tid.__class__ is not _int:
            raise BadMessage(f"bad trade id: {sanitise(tid, 40)}")
        return Routed(_EVENT, key, Trade(key, t * MS_TO_NS, recv_ns, price, qty, side, str(tid)))

    def _book_ticker(self, d: dict) -> Routed:
        """Validated bookTicker as a dict of floats (the live path ignores it)."""
        u = d["u"]
        if u.__class__ is not _int:
            raise BadMessage(f"bad u: {sanitise(u, 40)}")
        top = {
            "u": u,
            "b": parse_price(d["b"], "b"),
            "B": parse_price(d["B"], "B"),
            "a": parse_price(d["a"], "a"),
            "A": parse_price(d["A"], "A"),
        }
        return Routed(_IGNORED, self._key(d["s"]), top)

    def _other(self, obj: dict) -> Routed:
        """Frames without ``e``: spot bookTicker, acks, errors."""
        if "A" in obj and "B" in obj and "u" in obj:
            return self._book_ticker(obj)
        text = error_text(obj)
        if text is not None:
            return Routed(MsgKind.ERROR, "", text)
        if "result" in obj and "id" in obj:
            return Routed(MsgKind.CONTROL, "", {"result": obj["result"], "id": obj["id"]})
        raise BadMessage("unknown frame")


class BinanceSpotProtocol(_BinanceProtocol):
    """Binance spot: ``stream.binance.com`` diff depth + trades, REST ``/api/v3/depth``."""

    venue = "binance-spot"
    depth_path = "/api/v3/depth"
    depth_suffixes = {"100ms": "@depth@100ms", "1000ms": "@depth"}

    def __init__(self, config: BinanceSpotConfig | None = None) -> None:
        super().__init__(config or BinanceSpotConfig())

    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> BinanceSpotSync:
        """A spot book sync for one symbol."""
        return BinanceSpotSync(instrument, health, self.config.max_buffered_events)


class BinanceUsdmProtocol(_BinanceProtocol):
    """Binance USD-M futures: ``fstream.binance.com`` diff depth + trades, REST ``/fapi/v1/depth``."""

    venue = "binance-usdm"
    depth_path = "/fapi/v1/depth"
    depth_suffixes = {"100ms": "@depth@100ms", "250ms": "@depth", "500ms": "@depth@500ms"}

    def __init__(self, config: BinanceUsdmConfig | None = None) -> None:
        super().__init__(config or BinanceUsdmConfig())

    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> BinanceUsdmSync:
        """A USD-M futures book sync for one symbol."""
        return BinanceUsdmSync(instrument, health, self.config.max_buffered_events)
