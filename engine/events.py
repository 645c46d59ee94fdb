"""Normalised market events: the only things the engine consumes.

Every feed (venue adapters, the simulator, replay) turns its bytes into these
immutable records. Each carries two clocks, both integer nanoseconds since
the Unix epoch:

* ``ts``: venue (exchange) time. The engine's windows, bars and session
  boundaries run on this clock, so replaying a recording reproduces the live
  run exactly.
* ``recv_ts``: local receive time. Used only for latency figures.

Events are ``NamedTuple``s: immutable, cheap to build (about 0.3 us) and
cheap to unpack in the hot path.

>>> t = Trade("sim:BTC", 1_000, 1_050, 100.5, 2.0, Aggressor.BUY, "7")
>>> t.side * t.qty
2.0
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

#: One price level: ``(price, size)``. Sizes are absolute; 0 deletes the level.
Level = tuple[float, float]


class Aggressor(IntEnum):
    """Which side took liquidity in a trade (the taker's side)."""

    BUY = 1
    """The taker bought: the trade lifted an ask."""
    SELL = -1
    """The taker sold: the trade hit a bid."""


class FeedState(IntEnum):
    """Sync state of one symbol's book, as shown in the status bar and health screen.

    Only ``LIVE`` means the book on screen is the venue's book. Every other
    state hides the ladder behind a badge and silences signals.
    """

    CONNECTING = 0
    """Opening the connection; nothing received yet."""
    SYNCING = 1
    """Connected; buffering diffs and waiting for the first snapshot."""
    LIVE = 2
    """Book in sync with the venue."""
    RESYNCING = 3
    """A gap, checksum mismatch or bad message broke the book; rebuilding from a snapshot."""
    STALE = 4
    """No message for longer than the stall limit; the book may be out of date."""
    DISCONNECTED = 5
    """Connection lost; waiting to reconnect."""


class BookSnapshot(NamedTuple):
    """A full replacement of one symbol's book."""

    symbol: str
    """Market key, ``"venue:SYMBOL"``."""
    ts: int
    """Venue time, ns."""
    recv_ts: int
    """Local receive time, ns."""
    bids: list[Level]
    """Bid levels, any order."""
    asks: list[Level]
    """Ask levels, any order."""
    seq: int = 0
    """Venue sequence id after this snapshot (0 where the venue has none)."""


class BookDelta(NamedTuple):
    """Changed levels of one symbol's book, with absolute sizes (0 deletes)."""

    symbol: str
    """Market key, ``"venue:SYMBOL"``."""
    ts: int
    """Venue time, ns."""
    recv_ts: int
    """Local receive time, ns."""
    bids: list[Level]
    """Changed bid levels, in the venue's order."""
    asks: list[Level]
    """Changed ask levels, in the venue's order."""
    seq: int = 0
    """Venue sequence id after this delta (0 where the venue has none)."""


class Trade(NamedTuple):
    """One print on the tape."""

    symbol: str
    """Market key, ``"venue:SYMBOL"``."""
    ts: int
    """Venue time, ns."""
    recv_ts: int
    """Local receive time, ns."""
    price: float
    """Trade price."""
    qty: float
    """Trade size in base units (contracts times contract size for derivatives)."""
    side: int
    """:class:`Aggressor` value: +1 the taker bought, -1 the taker sold."""
    trade_id: str = ""
    """Venue trade id, as a string."""


class OpenInterest(NamedTuple):
    """Open interest of a derivative, as streamed or polled from the venue."""

    symbol: str
    """Market key, ``"venue:SYMBOL"``."""
    ts: int
    """Venue time, ns."""
    recv_ts: int
    """Local receive time, ns."""
    open_interest: float
    """Open interest in base units."""


class StatusChange(NamedTuple):
    """The feed moved a symbol to a new :class:`FeedState`."""

    symbol: str
    """Market key, ``"venue:SYMBOL"``."""
    ts: int
    """Time of the change, ns (venue time of the last message where known)."""
    recv_ts: int
    """Local time of the change, ns."""
    state: FeedState
    """The new state."""
    reason: str = ""
    """Short, already-sanitised human explanation (e.g. ``"gap: U=12 > local+1=10"``)."""


#: Any event a feed can emit.
Event = BookSnapshot | BookDelta | Trade | OpenInterest | StatusChange

#: Nanoseconds per second, for converting event time.
NS_PER_S = 1_000_000_000
