"""Kraken spot websocket **v1** decoder, used for captures (``kraken/KRAKEN.ws.50.0``).

v1 frames are arrays ``[chanId, {...}(, {...}), "book-N", "PAIR"]``:

* snapshot: one dict with ``as``/``bs`` lists of ``[price, volume, timestamp]``;
* update: one dict with ``a`` or ``b``, or two dicts (``a`` then ``b``); an
  entry may carry a 4th field ``"r"`` (republish); the checksum is the string
  field ``c`` in the **last** dict;
* the depth ``N`` comes from the channel name, so the sync truncates to what
  was actually subscribed;
* ``[chanId, [[price, volume, time, side, type, misc], ...], "trade", "PAIR"]``:
  trades, ``side`` ``b``/``s`` is the taker side.

Event frames (``systemStatus``, ``subscriptionStatus``, ``heartbeat``,
``pong``, ``error``) are dicts. Decoded book messages are
:class:`~tapescope.feeds.venues.kraken.KrakenDepth`, so v1 and v2 share
:class:`~tapescope.feeds.venues.kraken.KrakenSync`.
"""

from __future__ import annotations

from typing import Any

import orjson

from tapescope.engine.events import NS_PER_S, Aggressor, Trade
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.sanitize import sanitize_symbol
from tapescope.feeds.venues.base import MsgKind, Routed, VenueProtocol
from tapescope.feeds.venues.common import bad, error_text, integer, loads, price, size
from tapescope.feeds.venues.kraken import DEPTHS, KrakenDepth, KrakenSync

#: Largest book depth accepted from a channel name.
MAX_DEPTH = max(DEPTHS)


def seconds_ns(value: object, key: str = "") -> int:
    """A v1 ``"1618678133.365913"`` seconds string to integer ns, exactly.

    >>> seconds_ns("1618678133.365913")
    1618678133365913000

    Raises:
        BadMessage: not a decimal seconds string.
    """
    if type(value) is not str:
        raise bad("kraken", "bad timestamp", value, key)
    whole, _, frac = value.partition(".")
    if not (whole.isdigit() and whole.isascii() and len(whole) <= 11) or (
        frac and not (frac.isdigit() and frac.isascii())
    ):
        raise bad("kraken", "bad timestamp", value, key)
    return int(whole) * NS_PER_S + int((frac + "000000000")[:9])


class KrakenV1Protocol(VenueProtocol):
    """Kraken websocket v1 (``wss://ws.kraken.com``): ``book-N`` and ``trade``."""

    venue = "kraken"
    ws_url = "wss://ws.kraken.com"
    app_ping_interval_s = 30.0
    stall_timeout_s = 15.0

    def __init__(self, depth: int = 100, verify_checksum: bool = True) -> None:
        if depth not in DEPTHS:
            raise ValueError(f"Kraken book depth must be one of {DEPTHS}, not {depth}")
        self.depth = depth
        """Depth subscribed by :meth:`subscribe_frames`."""
        self.verify_checksum = verify_checksum
        """Verify checksums in the syncs this protocol creates."""
        self._keys: dict[str, str] = {}

    def connect_url(self, base_url: str, symbols: list[str]) -> str:
        """Subscriptions are frames: the URL is the base URL."""
        return base_url

    def subscribe_frames(self, symbols: list[str]) -> list[str]:
        """``book`` at :attr:`depth` and ``trade`` for these pairs."""
        return [
            orjson.dumps(
                {
                    "event": "subscribe",
                    "pair": symbols,
                    "subscription": {"name": "book", "depth": self.depth},
                }
            ).decode(),
            orjson.dumps(
                {"event": "subscribe", "pair": symbols, "subscription": {"name": "trade"}}
            ).decode(),
        ]

    def unsubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Drop ``book`` and ``trade`` for these pairs."""
        return [
            f.replace('"event":"subscribe"', '"event":"unsubscribe"', 1)
            for f in self.subscribe_frames(symbols)
        ]

    def resubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Restart only ``book``."""
        book = self.subscribe_frames(symbols)[0]
        return [book.replace('"event":"subscribe"', '"event":"unsubscribe"', 1), book]

    def app_ping_frame(self) -> str:
        """``{"event":"ping"}``."""
        return '{"event":"ping"}'

    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> KrakenSync:
        """Register ``instrument`` for routing and return its sync."""
        self._keys[instrument.symbol] = instrument.key
        return KrakenSync(instrument, health, self.verify_checksum)

    def decode(self, payload: bytes | str, recv_ns: int) -> list[Routed]:
        """Decode one v1 frame.

        Raises:
            BadMessage: malformed frame; ``key`` is set when it was a book message.
        """
        msg = loads(payload, "kraken")
        if type(msg) is dict:
            return [self._event(msg)]
        if type(msg) is not list or len(msg) < 4:
            raise bad("kraken", "frame is neither an event nor a channel array")
        channel, pair = msg[-2], msg[-1]
        if type(channel) is not str or type(pair) is not str:
            raise bad("kraken", "bad channel name or pair")
        key = self._keys.get(pair)
        if key is None:
            return [Routed(MsgKind.IGNORED)]
        if channel.startswith("book-"):
            return [Routed(MsgKind.DEPTH, key, self._book(msg, channel, key))]
        if channel == "trade":
            return self._trades(msg[1], key, recv_ns)
        return [Routed(MsgKind.IGNORED, key)]

    def _event(self, msg: dict[str, Any]) -> Routed:
        event = msg.get("event")
        if event == "error" or msg.get("status") == "error":
            pair = msg.get("pair")
            text = error_text(
                "kraken",
                event,
                sanitize_symbol(pair) if pair is not None else "",
                msg.get("errorMessage"),
            )
            # A refused subscription names its pair: attribute it to that market.
            key = self._keys.get(pair) if type(pair) is str else None
            return Routed(MsgKind.ERROR, key or "", text)
        if event in ("heartbeat", "systemStatus", "subscriptionStatus", "pong"):
            return Routed(
                MsgKind.CONTROL, "", {"event": event, "status": str(msg.get("status", ""))[:20]}
            )
        return Routed(MsgKind.IGNORED)

    @staticmethod
    def _book(msg: list[Any], channel: str, key: str) -> KrakenDepth:
        depth = integer(channel[5:], "kraken", "book depth", key)
        if not 1 <= depth <= MAX_DEPTH:
            raise bad("kraken", "bad book depth", depth, key)
        parts = msg[1:-2]
        if not parts or any(type(p) is not dict for p in parts):
            raise bad("kraken", "bad book payload", None, key)
        first = parts[0]
        snapshot = "as" in first or "bs" in first
        bids: list[tuple[float, str, str]] = []
        asks: list[tuple[float, str, str]] = []
        ts = 0
        for part in parts:
            for field_name, side in (("as", asks), ("a", asks), ("bs", bids), ("b", bids)):
                raw = part.get(field_name)
                if raw is None:
                    continue
                if type(raw) is not list:
                    raise bad("kraken", "levels not a list", None, key)
                for lv in raw:
                    if (
                        type(lv) is not list
                        or len(lv) < 3
                        or type(lv[0]) is not str
                        or type(lv[1]) is not str
                    ):
                        raise bad("kraken", "bad level", lv, key)
                    px = price(lv[0], "kraken", key)
                    size(lv[1], "kraken", key)
                    t = seconds_ns(lv[2], key)
                    if t > ts:
                        ts = t
                    side.append((px, lv[0], lv[1]))
        checksum = None
        if not snapshot:
            c = parts[-1].get("c")
            if c is not None:
                checksum = integer(c, "kraken", "checksum", key)
                if checksum >= 2**32:
                    raise bad("kraken", "bad checksum", c, key)
        return KrakenDepth(snapshot, ts, bids, asks, checksum, depth)

    @staticmethod
    def _trades(raw: object, key: str, recv_ns: int) -> list[Routed]:
        if type(raw) is not list:
            raise bad("kraken", "bad trade list")
        out = []
        for t in raw:
            if type(t) is not list or len(t) < 4:
                raise bad("kraken", "bad trade")
            if t[3] not in ("b", "s"):
                raise bad("kraken", "bad trade side", t[3])
            ev = Trade(
                key,
                seconds_ns(t[2]),
                recv_ns,
                price(t[0], "kraken"),
                size(t[1], "kraken"),
                int(Aggressor.BUY if t[3] == "b" else Aggressor.SELL),
            )
            out.append(Routed(MsgKind.EVENT, key, ev))
        return out


__all__ = ["KrakenV1Protocol", "seconds_ns"]
