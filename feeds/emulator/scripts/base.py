"""What a venue script is: a timeline of frames plus the venue's dialect.

* :class:`ScriptFrame`: one message of the market timeline (a book diff or
  snapshot, a trade, a ticker), already parsed so the emulator can keep the
  venue's true book and re-render the frame for each connection.
* :class:`Script`: the timeline and the initial REST snapshots of one venue.
* :class:`Dialect`: how a venue talks: where subscriptions come from (URL or
  frames), what acks, refusals and error frames look like, how a frame is
  rendered for one connection, the venue's own book (applied as frames go
  out), and the REST/websocket snapshots it serves from that book.
"""

from __future__ import annotations

import asyncio
import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from tapescope.feeds.emulator.faults import alter_size


@dataclass(slots=True)
class ScriptFrame:
    """One message of a venue's timeline."""

    symbol: str
    """Venue symbol the frame belongs to (as the venue writes it)."""
    channel: str
    """``"book"``, ``"trade"``, ``"ticker"`` or ``"other"``."""
    data: Any
    """The parsed payload (the dialect renders it back to text)."""
    text: str = ""
    """The frame text as captured, sent verbatim when nothing needs rewriting."""


@dataclass(slots=True)
class Script:
    """A venue's scripted market: frames in time order plus starting books."""

    venue: str
    """Venue id the script is written for, e.g. ``"binance-usdm"``."""
    frames: list[ScriptFrame]
    """The timeline."""
    snapshots: dict[str, Any] = field(default_factory=dict)
    """Venue symbol -> initial book as the venue's REST snapshot body (parsed), where it has one."""

    @property
    def symbols(self) -> list[str]:
        """Symbols in the timeline, in first-seen order."""
        return list(dict.fromkeys(f.symbol for f in self.frames))


@dataclass(slots=True)
class Session:
    """One client connection as the emulator sees it."""

    ident: int
    """Connection number (0 for the first accepted)."""
    path: str = ""
    """Request path with query string."""
    subs: dict[tuple[str, str], str] = field(default_factory=dict)
    """(symbol, channel) -> the name the client subscribed it under."""
    sequence: int = 0
    """Per-connection message counter (Coinbase ``sequence_num``)."""
    stalled_until: float = -1.0
    """Loop time until which nothing is sent (``inf``: stalled for good; negative: not stalled)."""
    state: dict[str, Any] = field(default_factory=dict)
    """Dialect-specific per-connection state."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Serialises sends, so per-connection sequence numbers go out in order."""


class Dialect(ABC):
    """A venue's wire protocol, server side."""

    #: Venue ids this dialect serves.
    venues: tuple[str, ...] = ()

    def __init__(self, script: Script) -> None:
        self.script = script
        """The timeline being served."""
        self.refuse: dict[str, int] = {}
        """Venue symbol -> book subscriptions still to refuse."""
        self.refuse_text = ""
        """Refusal text ('' for the dialect's default)."""

    @abstractmethod
    def on_connect(self, session: Session) -> list[str]:
        """Frames to send right after the handshake (subscriptions from the URL, welcome messages)."""

    @abstractmethod
    def on_client_frame(self, session: Session, text: str) -> list[str]:
        """Handle a client frame (subscribe, unsubscribe, ping); returns the replies."""

    @abstractmethod
    def render(self, session: Session, frame: ScriptFrame) -> str:
        """The frame as this connection receives it."""

    @abstractmethod
    def apply(self, frame: ScriptFrame) -> None:
        """Advance the venue's true state with a frame of the timeline."""

    def rest(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        """Answer a REST request (status, body); venues without REST snapshots answer 404."""
        return 404, b'{"error":"not found"}'

    @abstractmethod
    def error_frame(self, text: str) -> str:
        """A venue error frame carrying ``text``."""

    def corrupt_size(self, frame: ScriptFrame) -> ScriptFrame:
        """A copy of ``frame`` with one size altered (``BAD_CHECKSUM``); default: its first level."""
        data = copy.deepcopy(frame.data)
        alter_size(data)
        return ScriptFrame(frame.symbol, frame.channel, data, "")

    def stamp(self, session: Session, text: str) -> str:
        """Finish a message at the moment it is sent (per-connection sequence numbers); default as is."""
        return text

    def on_dropped(self, session: Session, frame: ScriptFrame) -> None:
        """A frame this connection should have had was lost (venues with connection sequences count it)."""
        return None

    def wants(self, session: Session, frame: ScriptFrame) -> bool:
        """Whether this connection subscribed to the frame's channel."""
        return (frame.symbol, frame.channel) in session.subs

    def take_refusal(self, symbol: str) -> bool:
        """Consume one pending refusal for ``symbol``'s book subscription, if any."""
        left = self.refuse.get(symbol, 0)
        if left <= 0:
            return False
        self.refuse[symbol] = left - 1
        return True


class TruthBook:
    """A venue's true book for the emulator: price -> the level exactly as the venue writes it.

    Keeping the venue's own level (strings and extra fields) lets snapshots and
    checksums be rebuilt byte-exact from it.

    >>> b = TruthBook()
    >>> b.put(True, 10.0, ["10.0", "1"]); b.put(True, 9.5, ["9.5", "2"]); b.put(False, 11.0, ["11", "3"])
    >>> b.put(True, 10.0, None)
    >>> b.top_bids(5), b.top_asks(5)
    ([['9.5', '2']], [['11', '3']])
    """

    __slots__ = ("bids", "asks")

    def __init__(self) -> None:
        self.bids: dict[float, Any] = {}
        """Bid price -> level."""
        self.asks: dict[float, Any] = {}
        """Ask price -> level."""

    def clear(self) -> None:
        """Drop every level."""
        self.bids.clear()
        self.asks.clear()

    def put(self, bid: bool, price: float, level: Any) -> None:
        """Set a level, or delete it when ``level`` is None."""
        side = self.bids if bid else self.asks
        if level is None:
            side.pop(price, None)
        else:
            side[price] = level

    def top_bids(self, n: int) -> list[Any]:
        """Best ``n`` bids, best first. ``O(b log b)`` (the emulator is not the hot path)."""
        return [self.bids[p] for p in sorted(self.bids, reverse=True)[:n]]

    def top_asks(self, n: int) -> list[Any]:
        """Best ``n`` asks, best first."""
        return [self.asks[p] for p in sorted(self.asks)[:n]]
