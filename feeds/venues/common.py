"""Shared pieces of the Bybit, OKX, Kraken and Coinbase adapters.

* strict wire-value parsers that raise :class:`BadMessage` (JSON, prices,
  sizes, integer ids, millisecond and RFC 3339 timestamps);
* :class:`SyncBase`, the state bookkeeping every book sync shares (health
  counters, ``StatusChange`` on every state change, resync counting);
* :class:`StrBook`, a book that keeps each level's price and size strings as
  received, for the venues whose checksum is computed over those strings.

Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import orjson
from sortedcontainers import SortedDict

from tapescope.engine.events import NS_PER_S, FeedState, Level, StatusChange
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.sanitize import sanitize
from tapescope.feeds.venues.base import BadMessage, BookSync, MsgKind, Routed, SyncOutput

#: ASCII digits: the first and last character of every numeric string.
_DIGITS = frozenset("0123456789")
#: RFC 3339 UTC time with optional fraction (any number of digits) and ``Z`` or ``+00:00``.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?(?:[Zz]|\+00:?00)"
).fullmatch
#: Nanoseconds per millisecond.
NS_PER_MS = 1_000_000
#: Timestamps past this (ms since the epoch, year 2286) are refused as garbage.
MAX_MS = 10_000_000_000_000


def loads(payload: bytes | str, venue: str) -> Any:
    """Parse a JSON frame with orjson.

    Raises:
        BadMessage: the frame is not JSON.
    """
    try:
        return orjson.loads(payload)
    except (orjson.JSONDecodeError, TypeError):
        raise BadMessage(f"{venue}: bad JSON") from None


def bad(venue: str, what: str, value: object = None, key: str = "") -> BadMessage:
    """Build a short, sanitised :class:`BadMessage`."""
    if value is None:
        return BadMessage(sanitize(f"{venue}: {what}", 120), key)
    return BadMessage(sanitize(f"{venue}: {what} {str(value)[:40]!r}", 120), key)


def number(value: object) -> float | None:
    """A finite non-negative number from a decimal string or JSON number, else ``None``.

    Strings must be plain ASCII decimals as venues write them: ``float()``'s
    extras (signs, spaces, ``_`` separators, ``inf``/``nan``, non-ASCII digits)
    are refused.

    >>> number("65114.20"), number(3), number("1e-8"), number("-1"), number("nan"), number(True)
    (65114.2, 3.0, 1e-08, None, None, None)
    >>> number("1_0"), number(" 1"), number("1e999"), number("0.10")
    (None, None, None, 0.1)
    """
    tv = type(value)
    if tv is str:
        try:
            v = float(value)  # type: ignore[arg-type]
        except ValueError:
            return None
        # Cheaper than a regex: the first and last characters must be ASCII digits
        # (rules out signs, spaces, "inf", "nan", "1."), and no "_" or non-ASCII digit inside.
        if not (
            value[0] in _DIGITS and value[-1] in _DIGITS and value.isascii() and "_" not in value
        ):  # type: ignore[index,union-attr,operator]
            return None
    elif tv is float or tv is int or tv is Decimal:
        v = float(value)  # type: ignore[arg-type]
    else:
        return None
    if v >= 0.0 and v != math.inf:  # False for NaN too
        return v
    return None


def price(value: object, venue: str, key: str = "") -> float:
    """A strictly positive finite price.

    Raises:
        BadMessage: non-numeric, negative, zero, NaN or infinite.
    """
    v = number(value)
    if v is None or v == 0.0:
        raise bad(venue, "bad price", value, key)
    return v


def size(value: object, venue: str, key: str = "") -> float:
    """A non-negative finite size (0 deletes a level).

    Raises:
        BadMessage: non-numeric, negative, NaN or infinite.
    """
    v = number(value)
    if v is None:
        raise bad(venue, "bad size", value, key)
    return v


def integer(value: object, venue: str, what: str, key: str = "", signed: bool = False) -> int:
    """An integer id from a JSON int or a decimal-digit string.

    >>> integer("42", "x", "id"), integer(-1, "x", "id", signed=True)
    (42, -1)

    Raises:
        BadMessage: not an integer (or negative when ``signed`` is false).
    """
    tv = type(value)
    if tv is int:
        v = value
    elif (
        tv is str
        and 0 < len(value) <= 20
        and (value.isdigit() or (signed and value[:1] == "-" and value[1:].isdigit()))
        and value.isascii()
    ):  # type: ignore[union-attr]
        v = int(value)  # type: ignore[arg-type]
    else:
        raise bad(venue, f"bad {what}", value, key)
    if v < 0 and not signed:  # type: ignore[operator]
        raise bad(venue, f"negative {what}", value, key)
    return v  # type: ignore[return-value]


def ms_to_ns(value: object, venue: str, key: str = "") -> int:
    """Venue milliseconds (int or digit string) to integer nanoseconds.

    >>> ms_to_ns("1652459225464", "okx")
    1652459225464000000

    Raises:
        BadMessage: not a plausible millisecond timestamp.
    """
    ms = integer(value, venue, "timestamp", key)
    if ms > MAX_MS:
        raise bad(venue, "bad timestamp", value, key)
    return ms * NS_PER_MS


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def rfc3339_ns(value: object, venue: str, key: str = "") -> int:
    """An RFC 3339 UTC timestamp to integer nanoseconds, keeping all 9 fraction digits.

    >>> rfc3339_ns("2026-08-09T21:05:48.228568804Z", "coinbase")
    1786309548228568804
    >>> rfc3339_ns("1970-01-01T00:00:01Z", "kraken")
    1000000000

    Raises:
        BadMessage: not an RFC 3339 UTC time.
    """
    m = _RFC3339(value) if type(value) is str else None
    if m is None:
        raise bad(venue, "bad time", value, key)
    y, mo, d, hh, mm, ss = (int(g) for g in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and hh < 24 and mm < 60 and ss < 61):
        raise bad(venue, "bad time", value, key)
    frac = m.group(7) or ""
    seconds = _days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss
    return seconds * NS_PER_S + (int(frac.ljust(9, "0")) if frac else 0)


def require(obj: object, field: str, venue: str, kind: type, key: str = "") -> Any:
    """``obj[field]`` checked to be a dict entry of the given type.

    Raises:
        BadMessage: ``obj`` is not a dict, or the field is missing or of another type.
    """
    if type(obj) is not dict:
        raise bad(venue, f"expected object holding {field!r}", None, key)
    value = obj.get(field)  # type: ignore[union-attr]
    if type(value) is not kind:
        raise bad(venue, f"missing or bad {field!r}", None, key)
    return value


def error_text(venue: str, *parts: object) -> str:
    """One sanitised line describing a venue error frame."""
    return sanitize(f"{venue}: " + " ".join(str(p) for p in parts if p not in (None, "")), 200)


def error_routes(text: str, keys: dict[str, str], named: object = None) -> list[Routed]:
    """ERROR messages for a refusal, one per registered symbol it names, else one for the connection.

    The live layer attributes a refused subscription to the markets in
    ``Routed.key``. ``named`` is a symbol field the venue put in the frame
    (Kraken's ``symbol``/``pair``); otherwise registered symbols are looked
    for as whole tokens in ``text`` (``BTC-USD`` does not match inside
    ``BTC-USD-SWAP``).

    Args:
        text: the sanitised error line to deliver.
        keys: registered venue symbol -> market key.
        named: a symbol field from the frame, if any.

    >>> [r.key for r in error_routes("okx: error 60018 channel:books,instId:BTC-USDT doesn't exist",
    ...                              {"BTC-USDT": "okx:BTC-USDT", "BTC-USDT-SWAP": "okx:BTC-USDT-SWAP"})]
    ['okx:BTC-USDT']
    >>> [r.key for r in error_routes("bybit: bad request", {"BTCUSDT": "bybit-spot:BTCUSDT"})]
    ['']
    """
    if type(named) is str and named in keys:
        return [Routed(MsgKind.ERROR, keys[named], text)]
    hits = [
        key
        for symbol, key in keys.items()
        if symbol in text and re.search(rf"(?<![\w/-]){re.escape(symbol)}(?![\w/-])", text)
    ]
    if not hits:
        return [Routed(MsgKind.ERROR, "", text)]
    return [Routed(MsgKind.ERROR, key, text) for key in hits]


class SyncBase(BookSync):
    """State bookkeeping shared by this package's book syncs.

    Subclasses call :meth:`_live`, :meth:`_break` and :meth:`_set_state`; every
    state change appends a :class:`StatusChange` to the output and updates
    ``health.state``/``health.reason``. ``resyncs`` counts each return to
    ``LIVE`` after the first one.
    """

    def __init__(self, instrument: Instrument, health: SymbolHealth) -> None:
        super().__init__(instrument, health)
        self.key = instrument.key
        """Market key of the events this sync emits."""
        self.synced_once = False
        """True once a first snapshot has been applied."""
        self.last_ts = 0
        """Venue time of the last depth message, ns (StatusChange time when nothing better)."""

    def _clear(self) -> None:
        """Forget the book baseline (subclasses drop their sequence and level state)."""

    def _touch(self, ts: int, recv_ns: int) -> None:
        """Note the venue time of a depth message (``messages``/``last_recv_ns`` are the live layer's to count)."""
        if ts:
            self.last_ts = ts
            self.health.venue_latency_ns = recv_ns - ts

    def _set_state(
        self, out: SyncOutput, state: FeedState, reason: str, ts: int, recv_ns: int
    ) -> None:
        """Move to ``state``; emit a StatusChange when the state actually changes."""
        h = self.health
        reason = sanitize(reason)
        if h.state != state:
            h.state = state
            h.reason = reason
            out.events.append(
                StatusChange(self.key, ts or self.last_ts or recv_ns, recv_ns, state, reason)
            )
        else:
            h.reason = reason

    def _live(self, out: SyncOutput, reason: str, ts: int, recv_ns: int) -> None:
        """A snapshot was applied: go ``LIVE`` (counting a resync if this is not the first)."""
        if self.health.state != FeedState.LIVE:
            if self.synced_once:
                self.health.resyncs += 1
            self.synced_once = True
            self._set_state(out, FeedState.LIVE, reason, ts, recv_ns)

    def _break(
        self, out: SyncOutput, counter: str, reason: str, ts: int, recv_ns: int
    ) -> SyncOutput:
        """The book broke (gap, checksum, crossed): count it, drop state, ask for a resubscribe."""
        h = self.health
        setattr(h, counter, getattr(h, counter) + 1)
        self._clear()
        self._set_state(out, FeedState.RESYNCING, reason, ts, recv_ns)
        out.resubscribe = True
        return out

    def reset(self, state: FeedState, reason: str, recv_ns: int) -> SyncOutput:
        """Forget the book and wait for a fresh snapshot in ``state``.

        ``RESYNCING`` also asks the live layer to resubscribe the book channel
        (these venues send their snapshot over the websocket).
        """
        out = SyncOutput()
        self._clear()
        self._set_state(out, state, reason, 0, recv_ns)
        out.resubscribe = state == FeedState.RESYNCING
        return out


class StrBook:
    """Price levels keyed by float price, each keeping its ``(price_str, size_str)`` as received.

    Used by the checksum venues; the engine keeps its own float book fed by
    the sync's events. Bids and asks are both ascending by price, so the best
    bid is the last key and the best ask the first.

    >>> b = StrBook()
    >>> b.set_bid(10.0, "10.0", "1"); b.set_bid(9.5, "9.5", "2"); b.set_ask(10.5, "10.50", "3")
    >>> b.top_bids(5), b.top_asks(5)
    ([('10.0', '1'), ('9.5', '2')], [('10.50', '3')])

    Runtime complexity: set/delete ``O(log n)``; top ``k`` ``O(log n + k)``.
    """

    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        """Bid price -> (price_str, size_str), ascending."""
        self.asks: SortedDict = SortedDict()
        """Ask price -> (price_str, size_str), ascending."""

    def clear(self) -> None:
        """Drop every level. ``O(n)``."""
        self.bids.clear()
        self.asks.clear()

    def set_bid(self, px: float, px_s: str, sz_s: str) -> None:
        """Insert or replace one bid level. ``O(log n)``."""
        self.bids[px] = (px_s, sz_s)

    def set_ask(self, px: float, px_s: str, sz_s: str) -> None:
        """Insert or replace one ask level. ``O(log n)``."""
        self.asks[px] = (px_s, sz_s)

    def top_bids(self, n: int) -> list[tuple[str, str]]:
        """Best ``n`` bids, highest first. ``O(log n + k)``."""
        bids = self.bids
        return [bids[p] for p in bids.islice(max(len(bids) - n, 0), reverse=True)]

    def top_asks(self, n: int) -> list[tuple[str, str]]:
        """Best ``n`` asks, lowest first. ``O(log n + k)``."""
        asks = self.asks
        return [asks[p] for p in asks.islice(0, n)]

    def truncate(self, depth: int) -> tuple[list[Level], list[Level]]:
        """Keep the best ``depth`` levels per side; return the removed ones as ``(price, 0.0)`` deletes.

        ``O(r log n)`` for ``r`` removed levels.
        """
        bids, asks = self.bids, self.asks
        gone_b: list[Level] = []
        gone_a: list[Level] = []
        while len(bids) > depth:
            gone_b.append((bids.popitem(0)[0], 0.0))
        while len(asks) > depth:
            gone_a.append((asks.popitem(-1)[0], 0.0))
        return gone_b, gone_a

    def is_crossed(self) -> bool:
        """Best bid >= best ask. ``O(1)``."""
        return (
            bool(self.bids and self.asks) and self.bids.peekitem(-1)[0] >= self.asks.peekitem(0)[0]
        )

    def float_levels(self) -> tuple[list[Level], list[Level]]:
        """Every level as ``(price, size)`` floats (for a BookSnapshot). ``O(n)``."""
        return (
            [(p, float(s[1])) for p, s in self.bids.items()],
            [(p, float(s[1])) for p, s in self.asks.items()],
        )
