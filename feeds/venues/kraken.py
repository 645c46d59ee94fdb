"""Kraken spot websocket adapter (``kraken``): WS v2 for live use, WS v1 for captures.

Rules (``shared/data/PROTOCOLS.md`` §3; docs.kraken.com book-checksum-v1/-v2):

* apply every level of a message in array order, ``qty 0`` deletes, then
  **truncate each side to the subscribed depth** (levels pushed out are never
  deleted explicitly), then verify the checksum;
* checksum: unsigned CRC-32 over the top 10 asks (ascending) then top 10 bids
  (descending), each price and size string with ``.`` removed and leading
  zeros stripped. v1 sends fixed-decimal strings used as received; v2 sends
  JSON numbers, parsed here as :class:`~decimal.Decimal` and formatted to the
  pair's ``price_precision``/``qty_precision`` (from the ``instrument``
  channel, else the instrument's tick and lot size) before hashing;
* a mismatch moves the symbol to ``RESYNCING`` and asks for a resubscribe.

:class:`KrakenProtocol` speaks v2 (``wss://ws.kraken.com/v2``);
:class:`KrakenV1Protocol` (in :mod:`tapescope.feeds.venues.kraken_v1`) decodes
v1 frames ``[chanId, {...}, "book-N", "PAIR"]`` into the same
:class:`KrakenDepth` messages, so both share :class:`KrakenSync`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tapescope.engine.checksum import KRAKEN_DEPTH, kraken_checksum
from tapescope.engine.events import Aggressor, BookDelta, BookSnapshot, Level, Trade
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument, decimals_for
from tapescope.feeds.venues.base import BadMessage, MsgKind, Routed, SyncOutput, VenueProtocol
from tapescope.feeds.venues.common import (
    StrBook,
    SyncBase,
    bad,
    error_routes,
    error_text,
    number,
    price,
    require,
    rfc3339_ns,
    size,
)

log = logging.getLogger(__name__)

#: Book depths Kraken accepts.
DEPTHS = [10, 25, 100, 500, 1000]


@dataclass(frozen=True, slots=True)
class KrakenConfig:
    """``[venues.kraken]``: Kraken spot, websocket v2."""

    ws_url: str = "wss://ws.kraken.com/v2"
    """Public websocket v2 endpoint."""
    depth: int = field(default=100, metadata={"choices": DEPTHS})
    """Book depth subscribed (levels per side)."""
    app_ping_interval_s: float = field(default=30.0, metadata={"min": 5.0, "max": 300.0})
    """Seconds between ``{"method":"ping"}`` frames."""
    stall_timeout_s: float = field(default=15.0, metadata={"min": 3.0, "max": 600.0})
    """Seconds without any frame before the stream counts as stalled (Kraken heartbeats every second)."""
    max_symbols_per_connection: int = field(default=50, metadata={"min": 1, "max": 200})
    """Pairs per connection."""
    instrument_channel: bool = True
    """Subscribe the ``instrument`` channel to learn each pair's price/qty precision for the checksum."""
    verify_checksum: bool = True
    """Verify the book CRC-32 after every message."""


@dataclass(slots=True)
class KrakenDepth:
    """One decoded book message (v1 or v2) for a pair."""

    snapshot: bool
    """Full book (v1 ``as``/``bs``, v2 ``type == "snapshot"``)."""
    ts: int
    """Venue time, ns (latest level timestamp in v1; message ``timestamp`` in v2)."""
    bids: list[tuple[float, str, str]]
    """Bid levels ``(price, px_str, qty_str)`` in message order."""
    asks: list[tuple[float, str, str]]
    """Ask levels ``(price, px_str, qty_str)`` in message order."""
    checksum: int | None
    """Venue CRC-32, ``None`` when the message carries none (v1 snapshots)."""
    depth: int
    """Subscribed depth to truncate to."""


class KrakenSync(SyncBase):
    """Depth-truncating, checksum-verified state machine for one Kraken pair."""

    def __init__(
        self, instrument: Instrument, health: SymbolHealth, verify_checksum: bool = True
    ) -> None:
        super().__init__(instrument, health)
        self.book = StrBook()
        """Levels with their checksum strings."""
        self.synced = False
        """A snapshot has been applied since the last reset."""
        self.verify_checksum = verify_checksum
        """Check the venue checksum."""
        self.checksums_verified = 0
        """Messages whose checksum matched."""

    def _clear(self) -> None:
        self.book.clear()
        self.synced = False

    @staticmethod
    def _apply(levels: list[tuple[float, str, str]], side: Any) -> list[Level]:
        out: list[Level] = []
        append = out.append
        pop = side.pop
        for px, px_s, sz_s in levels:
            sz = float(sz_s)
            if sz > 0.0:
                side[px] = (px_s, sz_s)
                append((px, sz))
            else:
                pop(px, None)
                append((px, 0.0))
        return out

    def on_depth(self, msg: KrakenDepth, recv_ns: int) -> SyncOutput:
        """Apply, truncate, verify. ``O(k log n)`` for ``k`` levels plus the 20-level checksum."""
        out = SyncOutput()
        self._touch(msg.ts, recv_ns)
        book = self.book
        if msg.snapshot:
            book.clear()
            self._apply(msg.bids, book.bids)
            self._apply(msg.asks, book.asks)
            book.truncate(msg.depth)
            if not self._verify(out, msg, recv_ns):
                return out
            self.synced = True
            bids, asks = book.float_levels()
            out.events.append(BookSnapshot(self.key, msg.ts, recv_ns, bids, asks))
            self._live(out, f"snapshot depth={msg.depth}", msg.ts, recv_ns)
            return out
        if not self.synced:
            return out  # updates before the (re)subscription snapshot
        bids = self._apply(msg.bids, book.bids)
        asks = self._apply(msg.asks, book.asks)
        gone_b, gone_a = book.truncate(msg.depth)
        if not self._verify(out, msg, recv_ns):
            return out
        out.events.append(BookDelta(self.key, msg.ts, recv_ns, bids + gone_b, asks + gone_a))
        if book.is_crossed():
            return self._break(
                out, "crossed", f"crossed after update (checksum {msg.checksum})", msg.ts, recv_ns
            )
        return out

    def _verify(self, out: SyncOutput, msg: KrakenDepth, recv_ns: int) -> bool:
        if msg.checksum is None or not self.verify_checksum:
            return True
        ours = kraken_checksum(self.book.top_asks(KRAKEN_DEPTH), self.book.top_bids(KRAKEN_DEPTH))
        if ours == msg.checksum:
            self.checksums_verified += 1
            return True
        self._break(
            out,
            "checksum_failures",
            f"checksum mismatch: venue {msg.checksum} != local {ours}",
            msg.ts,
            recv_ns,
        )
        return False


def _reject_constant(name: str) -> Any:
    raise BadMessage(f"kraken: non-finite number {name[:12]!r}")


def _loads_decimal(payload: bytes | str) -> Any:
    """JSON with every non-integer number as an exact Decimal (v2 checksums need the digits)."""
    try:
        return json.loads(payload, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, TypeError, RecursionError) as exc:
        if isinstance(exc, BadMessage):
            raise
        raise BadMessage("kraken: bad JSON") from None


def _fixed(value: object, places: int, what: str, key: str) -> tuple[float, str]:
    """A v2 JSON number to ``(float, string with exactly `places` decimals)``."""
    v = number(value)
    if v is None or type(value) is str:
        raise bad("kraken", f"bad {what}", value, key)
    text = f"{Decimal(value):.{places}f}"  # type: ignore[arg-type]
    return v, text


class KrakenProtocol(VenueProtocol):
    """Kraken spot websocket v2: ``book`` + ``trade`` (+ ``instrument`` for precisions)."""

    venue = "kraken"

    def __init__(self, config: KrakenConfig | None = None) -> None:
        self.config = config or KrakenConfig()
        """Settings in force."""
        self.ws_url = self.config.ws_url
        self.max_symbols_per_connection = self.config.max_symbols_per_connection
        self.app_ping_interval_s = self.config.app_ping_interval_s
        self.stall_timeout_s = self.config.stall_timeout_s
        self._keys: dict[str, str] = {}
        self.precision: dict[str, tuple[int, int]] = {}
        """Pair -> (price_precision, qty_precision) used to format v2 numbers."""
        self._from_venue: set[str] = set()
        self._warned: set[str] = set()
        self._req = 0

    # -- subscription ------------------------------------------------------

    def _frame(self, method: str, params: dict[str, Any]) -> str:
        self._req += 1
        return json.dumps(
            {"method": method, "params": params, "req_id": self._req}, separators=(",", ":")
        )

    def connect_url(self, base_url: str, symbols: list[str]) -> str:
        """Kraken takes subscriptions as frames: the URL is the base URL."""
        return base_url

    def subscribe_frames(self, symbols: list[str]) -> list[str]:
        """``instrument`` first (precisions before any book), then ``book`` and ``trade``."""
        frames = []
        if self.config.instrument_channel:
            frames.append(self._frame("subscribe", {"channel": "instrument", "snapshot": True}))
        frames.append(
            self._frame(
                "subscribe",
                {
                    "channel": "book",
                    "symbol": symbols,
                    "depth": self.config.depth,
                    "snapshot": True,
                },
            )
        )
        frames.append(
            self._frame("subscribe", {"channel": "trade", "symbol": symbols, "snapshot": False})
        )
        return frames

    def unsubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Drop ``book`` and ``trade`` for these pairs."""
        return [
            self._frame(
                "unsubscribe", {"channel": "book", "symbol": symbols, "depth": self.config.depth}
            ),
            self._frame("unsubscribe", {"channel": "trade", "symbol": symbols}),
        ]

    def resubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Restart only ``book`` (Kraken refuses a duplicate subscription)."""
        return [
            self._frame(
                "unsubscribe", {"channel": "book", "symbol": symbols, "depth": self.config.depth}
            ),
            self._frame(
                "subscribe",
                {
                    "channel": "book",
                    "symbol": symbols,
                    "depth": self.config.depth,
                    "snapshot": True,
                },
            ),
        ]

    def app_ping_frame(self) -> str:
        """``{"method":"ping"}``."""
        return '{"method":"ping"}'

    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> KrakenSync:
        """Register ``instrument`` (default precisions from its tick and lot) and return its sync."""
        self._keys[instrument.symbol] = instrument.key
        self.precision.setdefault(
            instrument.symbol,
            (decimals_for(instrument.tick_size), decimals_for(instrument.lot_size)),
        )
        return KrakenSync(instrument, health, self.config.verify_checksum)

    # -- decoding ----------------------------------------------------------

    def decode(self, payload: bytes | str, recv_ns: int) -> list[Routed]:
        """Decode one v2 frame.

        Raises:
            BadMessage: malformed frame; ``key`` is set when it was a book message.
        """
        msg = _loads_decimal(payload)
        if type(msg) is not dict:
            raise bad("kraken", "frame is not an object")
        channel = msg.get("channel")
        if channel is None:
            return self._method(msg)
        if channel == "book":
            return self._book(msg)
        if channel == "trade":
            return self._trades(msg, recv_ns)
        if channel == "instrument":
            return [self._instrument(msg)]
        if channel in ("heartbeat", "status"):
            return [Routed(MsgKind.CONTROL, "", {"channel": channel})]
        return [Routed(MsgKind.IGNORED)]

    def _method(self, msg: dict[str, Any]) -> list[Routed]:
        method = msg.get("method")
        if msg.get("success") is False or "error" in msg:
            text = error_text("kraken", method, "refused:", msg.get("error"))
            if method != "subscribe":
                return [Routed(MsgKind.ERROR, "", text)]
            # Kraken names the refused pair in ``symbol`` (and in the error text).
            return error_routes(text, self._keys, msg.get("symbol"))
        if method in ("subscribe", "unsubscribe", "pong"):
            result = msg.get("result")
            detail = (
                {k: str(result.get(k))[:40] for k in ("channel", "symbol") if k in result}
                if type(result) is dict
                else {}
            )
            return [Routed(MsgKind.CONTROL, "", {"method": method, **detail})]
        return [Routed(MsgKind.IGNORED)]

    def _instrument(self, msg: dict[str, Any]) -> Routed:
        data = require(msg, "data", "kraken", dict)
        pairs = data.get("pairs", [])
        if type(pairs) is not list:
            raise bad("kraken", "bad instrument pairs")
        for p in pairs:
            if type(p) is dict and p.get("symbol") in self._keys:
                pp, qp = p.get("price_precision"), p.get("qty_precision")
                if type(pp) is int and type(qp) is int and 0 <= pp <= 18 and 0 <= qp <= 18:
                    self.precision[p["symbol"]] = (pp, qp)
                    self._from_venue.add(p["symbol"])
        return Routed(MsgKind.CONTROL, "", {"channel": "instrument"})

    def _book(self, msg: dict[str, Any]) -> list[Routed]:
        kind = msg.get("type")
        if kind not in ("snapshot", "update"):
            raise bad("kraken", "bad book type", kind)
        out = []
        for d in require(msg, "data", "kraken", list):
            if type(d) is not dict:
                raise bad("kraken", "bad book item")
            symbol = d.get("symbol")
            key = self._keys.get(symbol) if type(symbol) is str else None
            if key is None:
                out.append(Routed(MsgKind.IGNORED))
                continue
            pp, qp = self.precision[symbol]  # type: ignore[index]
            if symbol not in self._from_venue and symbol not in self._warned:
                # Precisions guessed from tick/lot: a wrong guess shows up as checksum failures.
                self._warned.add(symbol)  # type: ignore[arg-type]
                log.warning(
                    "kraken: book for %s before its instrument precisions; using tick/lot (%d, %d)",
                    key,
                    pp,
                    qp,
                )
            checksum = d.get("checksum")
            if type(checksum) is not int or not 0 <= checksum < 2**32:
                raise bad("kraken", "bad checksum", checksum, key)
            stamp = d.get("timestamp")
            ts = rfc3339_ns(stamp, "kraken", key) if stamp is not None else 0
            depth = KrakenDepth(
                kind == "snapshot",
                ts,
                self._levels(d.get("bids"), pp, qp, key),
                self._levels(d.get("asks"), pp, qp, key),
                checksum,
                self.config.depth,
            )
            out.append(Routed(MsgKind.DEPTH, key, depth))
        return out

    @staticmethod
    def _levels(raw: object, pp: int, qp: int, key: str) -> list[tuple[float, str, str]]:
        if type(raw) is not list:
            raise bad("kraken", "levels not a list", None, key)
        out = []
        for lv in raw:
            if type(lv) is not dict:
                raise bad("kraken", "bad level", None, key)
            px, px_s = _fixed(lv.get("price"), pp, "price", key)
            if px == 0.0:
                raise bad("kraken", "zero price", None, key)
            _, qty_s = _fixed(lv.get("qty"), qp, "qty", key)
            out.append((px, px_s, qty_s))
        return out

    def _trades(self, msg: dict[str, Any], recv_ns: int) -> list[Routed]:
        if msg.get("type") != "update":
            return [Routed(MsgKind.IGNORED)]  # the optional snapshot is history, not live prints
        out = []
        for t in require(msg, "data", "kraken", list):
            if type(t) is not dict:
                raise bad("kraken", "bad trade")
            symbol = t.get("symbol")
            key = self._keys.get(symbol) if type(symbol) is str else None
            if key is None:
                out.append(Routed(MsgKind.IGNORED))
                continue
            side = t.get("side")
            if side not in ("buy", "sell"):
                raise bad("kraken", "bad trade side", side)
            trade_id = t.get("trade_id", "")
            ev = Trade(
                key,
                rfc3339_ns(t.get("timestamp"), "kraken"),
                recv_ns,
                price(t.get("price"), "kraken"),
                size(t.get("qty"), "kraken"),
                int(Aggressor.BUY if side == "buy" else Aggressor.SELL),
                str(trade_id)[:64],
            )
            out.append(Routed(MsgKind.EVENT, key, ev))
        return out


__all__ = ["KrakenConfig", "KrakenDepth", "KrakenProtocol", "KrakenSync"]
