"""OKX v5 public websocket adapter (``okx``): ``books``, ``trades``, ``open-interest``.

Wire format (https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel;
rules in ``shared/data/PROTOCOLS.md`` §2):

* subscribe ``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}, ...]}``;
  application ping is the text ``ping`` (answer ``pong``) at least every 30 s;
* ``books``: ``action`` ``snapshot`` then ``update``; levels ``[px, sz, "0", numOrders]``
  as strings; ``sz == "0"`` deletes;
* sequence: each update's ``prevSeqId`` equals the previous ``seqId``. A
  keep-alive (empty, ``prevSeqId == seqId``) and a maintenance reset
  (``seqId < prevSeqId``) both satisfy that chain and are accepted;
* checksum: signed CRC-32 over the top 25 levels interleaved bid/ask, price
  and size strings exactly as received, verified after every message while
  OKX sends a non-zero value (``0`` means "not provided" since the 2026
  deprecation). A mismatch moves the symbol to ``RESYNCING`` and resubscribes;
* sizes are in contracts for SWAP/FUTURES/OPTION: events carry
  ``size * instrument.contract_size`` (base units), the checksum uses the raw strings;
* ``trades``: ``side`` is the taker side; ``open-interest``: ``oiCcy`` (base
  currency) when present, else ``oi * contract_size``.

One :class:`OkxProtocol` per connection; it routes only registered symbols.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from tapescope.engine.checksum import okx_checksum
from tapescope.engine.events import (
    Aggressor,
    BookDelta,
    BookSnapshot,
    Level,
    OpenInterest,
    Trade,
)
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import MsgKind, Routed, SyncOutput, VenueProtocol
from tapescope.feeds.venues.common import (
    StrBook,
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

#: Channels this adapter subscribes.
BOOKS, TRADES, OPEN_INTEREST = "books", "trades", "open-interest"


@dataclass(frozen=True, slots=True)
class OkxConfig:
    """``[venues.okx]``: OKX v5 public market data."""

    ws_url: str = "wss://ws.okx.com:8443/ws/v5/public"
    """Public websocket endpoint."""
    app_ping_interval_s: float = field(default=25.0, metadata={"min": 5.0, "max": 29.0})
    """Seconds between ``ping`` texts (OKX closes an idle connection after 30 s)."""
    stall_timeout_s: float = field(default=30.0, metadata={"min": 5.0, "max": 600.0})
    """Seconds without any frame before the stream counts as stalled."""
    max_symbols_per_connection: int = field(default=50, metadata={"min": 1, "max": 300})
    """Symbols per connection (up to 3 channels each)."""
    max_args_per_request: int = field(default=60, metadata={"min": 1, "max": 300})
    """Channel args per subscribe frame (OKX caps a request's size; 60 stays far below it)."""
    open_interest: bool = True
    """Subscribe ``open-interest`` for derivative instIds (those with 3+ dash parts)."""
    verify_checksum: bool = True
    """Verify the ``books`` CRC-32 whenever OKX sends a non-zero one."""


@dataclass(slots=True)
class OkxDepth:
    """One decoded ``books`` message for a symbol."""

    snapshot: bool
    """``action == "snapshot"``."""
    ts: int
    """Venue time, ns."""
    bids: list[tuple[float, str, str]]
    """Bid levels ``(price, px_str, sz_str)`` in message order."""
    asks: list[tuple[float, str, str]]
    """Ask levels ``(price, px_str, sz_str)`` in message order."""
    checksum: int
    """Venue checksum (``0``: not provided)."""
    seq_id: int | None = None
    """``seqId`` when sent."""
    prev_seq_id: int | None = None
    """``prevSeqId`` when sent (``-1`` on a snapshot)."""


def _levels(raw: object, key: str) -> list[tuple[float, str, str]]:
    if type(raw) is not list:
        raise bad("okx", "levels not a list", None, key)
    out = []
    append = out.append
    for lv in raw:
        if type(lv) is not list or len(lv) < 2:
            raise bad("okx", "bad level", lv, key)
        px_s, sz_s = lv[0], lv[1]
        px = price(px_s, "okx", key)
        size(sz_s, "okx", key)
        append((px, px_s, sz_s))
    return out


class OkxSync(SyncBase):
    """seqId chain + CRC-32 state machine for one OKX ``books`` channel.

    Keeps its own string book (price -> ``(px_str, sz_str)``) because the
    checksum is defined over the strings exactly as received.
    """

    def __init__(
        self, instrument: Instrument, health: SymbolHealth, verify_checksum: bool = True
    ) -> None:
        super().__init__(instrument, health)
        self.book = StrBook()
        """Levels with their raw strings."""
        self.seq_id: int | None = None
        """Last ``seqId`` applied (``None``: none yet or the venue sends none)."""
        self.synced = False
        """A snapshot has been applied since the last reset."""
        self.verify_checksum = verify_checksum
        """Check non-zero checksums."""
        self.checksums_verified = 0
        """Messages whose non-zero checksum matched."""
        self._cs = instrument.contract_size if instrument.contract_size > 0 else 1.0

    def _clear(self) -> None:
        self.book.clear()
        self.seq_id = None
        self.synced = False

    def _apply(self, levels: list[tuple[float, str, str]], side: Any) -> list[Level]:
        """Merge levels into one side of the string book; return float levels for the engine."""
        cs = self._cs
        out: list[Level] = []
        append = out.append
        pop = side.pop
        for px, px_s, sz_s in levels:
            sz = float(sz_s)
            if sz > 0.0:
                side[px] = (px_s, sz_s)
                append((px, sz * cs))
            else:
                pop(px, None)
                append((px, 0.0))
        return out

    def on_depth(self, msg: OkxDepth, recv_ns: int) -> SyncOutput:
        """Apply one ``books`` message. ``O(k log n)`` for ``k`` levels, plus the 50-level checksum."""
        out = SyncOutput()
        self._touch(msg.ts, recv_ns)
        book = self.book
        if msg.snapshot:
            book.clear()
            bids = self._apply(msg.bids, book.bids)
            asks = self._apply(msg.asks, book.asks)
            if not self._verify(out, msg, recv_ns):
                return out
            self.synced = True
            self.seq_id = msg.seq_id
            out.events.append(BookSnapshot(self.key, msg.ts, recv_ns, bids, asks, msg.seq_id or 0))
            self._live(
                out,
                f"snapshot seqId={msg.seq_id}" if msg.seq_id is not None else "snapshot",
                msg.ts,
                recv_ns,
            )
            return out
        if not self.synced:
            return out  # updates before the (re)subscription snapshot
        if (
            msg.prev_seq_id is not None
            and self.seq_id is not None
            and msg.prev_seq_id != self.seq_id
        ):
            return self._break(
                out,
                "gaps",
                f"gap: prevSeqId={msg.prev_seq_id} != last seqId={self.seq_id} (seqId={msg.seq_id})",
                msg.ts,
                recv_ns,
            )
        bids = self._apply(msg.bids, book.bids)
        asks = self._apply(msg.asks, book.asks)
        if not self._verify(out, msg, recv_ns):
            return out
        if msg.seq_id is not None:
            self.seq_id = msg.seq_id
        if bids or asks:
            out.events.append(BookDelta(self.key, msg.ts, recv_ns, bids, asks, msg.seq_id or 0))
        if book.is_crossed():
            return self._break(out, "crossed", f"crossed after seqId={msg.seq_id}", msg.ts, recv_ns)
        return out

    def _verify(self, out: SyncOutput, msg: OkxDepth, recv_ns: int) -> bool:
        """Check the venue checksum; on mismatch break the book and return False."""
        if not msg.checksum or not self.verify_checksum:
            return True
        ours = okx_checksum(self.book.top_bids(25), self.book.top_asks(25))
        if ours == msg.checksum:
            self.checksums_verified += 1
            return True
        self._break(
            out,
            "checksum_failures",
            f"checksum mismatch: venue {msg.checksum} != local {ours} (seqId={msg.seq_id})",
            msg.ts,
            recv_ns,
        )
        return False


class OkxProtocol(VenueProtocol):
    """OKX v5 public websocket (``books``/``trades``/``open-interest``)."""

    venue = "okx"

    def __init__(self, config: OkxConfig | None = None) -> None:
        self.config = config or OkxConfig()
        """Settings in force."""
        self.ws_url = self.config.ws_url
        self.max_symbols_per_connection = self.config.max_symbols_per_connection
        self.app_ping_interval_s = self.config.app_ping_interval_s
        self.stall_timeout_s = self.config.stall_timeout_s
        self._instruments: dict[str, Instrument] = {}

    # -- subscription ------------------------------------------------------

    def _args(self, symbols: list[str], book_only: bool = False) -> list[dict[str, str]]:
        args = [{"channel": BOOKS, "instId": s} for s in symbols]
        if not book_only:
            args += [{"channel": TRADES, "instId": s} for s in symbols]
            if self.config.open_interest:
                args += [
                    {"channel": OPEN_INTEREST, "instId": s} for s in symbols if s.count("-") >= 2
                ]
        return args

    def _frames(self, op: str, args: list[dict[str, str]]) -> list[str]:
        step = self.config.max_args_per_request
        return [
            orjson.dumps({"op": op, "args": args[i : i + step]}).decode()
            for i in range(0, len(args), step)
        ]

    def connect_url(self, base_url: str, symbols: list[str]) -> str:
        """OKX takes subscriptions as frames: the URL is the base URL."""
        return base_url

    def subscribe_frames(self, symbols: list[str]) -> list[str]:
        """``books`` + ``trades`` (+ ``open-interest`` for derivatives)."""
        return self._frames("subscribe", self._args(symbols))

    def unsubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Drop every channel of these symbols."""
        return self._frames("unsubscribe", self._args(symbols))

    def resubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Restart only ``books`` (OKX answers with a fresh snapshot)."""
        args = self._args(symbols, book_only=True)
        return self._frames("unsubscribe", args) + self._frames("subscribe", args)

    def app_ping_frame(self) -> str:
        """The text ``ping``."""
        return "ping"

    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> OkxSync:
        """Register ``instrument`` for routing and return its sync."""
        self._instruments[instrument.symbol] = instrument
        return OkxSync(instrument, health, self.config.verify_checksum)

    # -- decoding ----------------------------------------------------------

    def decode(self, payload: bytes | str, recv_ns: int) -> list[Routed]:
        """Decode one frame.

        Raises:
            BadMessage: malformed frame; ``key`` is set when it was a ``books`` message.
        """
        if payload == "pong" or payload == b"pong":
            return [Routed(MsgKind.CONTROL, "", {"op": "pong"})]
        msg = loads(payload, "okx")
        if type(msg) is not dict:
            raise bad("okx", "frame is not an object")
        event = msg.get("event")
        if event is not None:
            return self._event(msg, event)
        arg = require(msg, "arg", "okx", dict)
        channel = arg.get("channel")
        inst_id = arg.get("instId")
        inst = self._instruments.get(inst_id) if type(inst_id) is str else None
        if inst is None:
            return [Routed(MsgKind.IGNORED)]
        key = inst.key
        if channel == BOOKS:
            return [Routed(MsgKind.DEPTH, key, self._depth(msg, key))]
        if channel == TRADES:
            return self._trades(msg, inst, recv_ns)
        if channel == OPEN_INTEREST:
            return self._open_interest(msg, inst, recv_ns)
        return [Routed(MsgKind.IGNORED, key)]

    def _event(self, msg: dict[str, Any], event: object) -> list[Routed]:
        if event == "error":
            text = error_text("okx", "error", msg.get("code"), msg.get("msg"))
            # OKX names the refused instId in ``msg`` ("...instId:BTC-USDT doesn't exist").
            return error_routes(text, {s: i.key for s, i in self._instruments.items()})
        arg = msg.get("arg")
        detail = {k: str(v)[:40] for k, v in arg.items()} if type(arg) is dict else {}
        return [
            Routed(
                MsgKind.CONTROL,
                "",
                {"event": str(event)[:40], "code": str(msg.get("code", ""))[:12], **detail},
            )
        ]

    @staticmethod
    def _depth(msg: dict[str, Any], key: str) -> OkxDepth:
        action = msg.get("action")
        if action not in ("snapshot", "update"):
            raise bad("okx", "bad books action", action, key)
        data = require(msg, "data", "okx", list, key)
        if len(data) != 1:
            raise bad("okx", "books data must hold one item", None, key)
        d = data[0]
        if type(d) is not dict:
            raise bad("okx", "bad books item", None, key)
        checksum = d.get("checksum", 0)
        if type(checksum) is not int:
            raise bad("okx", "bad checksum", checksum, key)
        seq = d.get("seqId")
        prev = d.get("prevSeqId")
        return OkxDepth(
            action == "snapshot",
            ms_to_ns(d.get("ts"), "okx", key),
            _levels(d.get("bids"), key),
            _levels(d.get("asks"), key),
            checksum,
            None if seq is None else integer(seq, "okx", "seqId", key),
            None if prev is None else integer(prev, "okx", "prevSeqId", key, signed=True),
        )

    @staticmethod
    def _trades(msg: dict[str, Any], inst: Instrument, recv_ns: int) -> list[Routed]:
        key = inst.key
        cs = inst.contract_size if inst.contract_size > 0 else 1.0
        out = []
        for t in require(msg, "data", "okx", list):
            if type(t) is not dict:
                raise bad("okx", "bad trade")
            side = t.get("side")
            if side == "buy":
                aggressor = Aggressor.BUY
            elif side == "sell":
                aggressor = Aggressor.SELL
            else:
                raise bad("okx", "bad trade side", side)
            trade_id = t.get("tradeId")
            if type(trade_id) is not str:
                raise bad("okx", "bad trade id")
            ev = Trade(
                key,
                ms_to_ns(t.get("ts"), "okx"),
                recv_ns,
                price(t.get("px"), "okx"),
                size(t.get("sz"), "okx") * cs,
                int(aggressor),
                trade_id[:64],
            )
            out.append(Routed(MsgKind.EVENT, key, ev))
        return out

    @staticmethod
    def _open_interest(msg: dict[str, Any], inst: Instrument, recv_ns: int) -> list[Routed]:
        key = inst.key
        out = []
        for d in require(msg, "data", "okx", list):
            if type(d) is not dict:
                raise bad("okx", "bad open-interest item")
            ccy = d.get("oiCcy")
            if ccy not in (None, ""):
                oi = size(ccy, "okx")
            else:
                oi = size(d.get("oi"), "okx") * (
                    inst.contract_size if inst.contract_size > 0 else 1.0
                )
            out.append(
                Routed(
                    MsgKind.EVENT, key, OpenInterest(key, ms_to_ns(d.get("ts"), "okx"), recv_ns, oi)
                )
            )
        return out


__all__ = ["OkxConfig", "OkxDepth", "OkxProtocol", "OkxSync"]
