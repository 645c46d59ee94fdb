"""Contract between a venue's pure protocol code and the live connection layer.

A venue adapter is split in two so the hard part is testable offline:

* :class:`VenueProtocol`: everything about the venue's wire format that does
  not need a socket: URLs, subscription frames, connection limits, decoding a
  received frame into routed messages, building per-symbol book syncs.
* :class:`BookSync`: a per-symbol state machine that applies the venue's
  documented book-sync rules (snapshot + buffered diffs + sequence checks +
  checksums) and turns depth messages into engine events. It does no I/O and
  reads no clock; it *asks* for I/O through :class:`SyncOutput`.

The live layer (``feeds/venues/live.py``) owns sockets, REST calls, pings,
reconnects and stall detection, and drives these two. Conformance tests feed
recorded captures straight into them, and the loopback emulator serves the
same captures over a real websocket.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tapescope.engine.events import Event, FeedState
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument


@dataclass(slots=True)
class SyncOutput:
    """What a :class:`BookSync` produced and what it needs from the live layer."""

    events: list[Event] = field(default_factory=list)
    """Engine events to deliver, in order (BookSnapshot/BookDelta/StatusChange)."""
    need_snapshot: bool = False
    """Fetch a REST snapshot for this symbol and pass it to :meth:`BookSync.on_rest_snapshot`."""
    resubscribe: bool = False
    """Unsubscribe and resubscribe this symbol's book channel (venues whose snapshot comes over ws)."""


class MsgKind(Enum):
    """Kinds of routed message a :class:`VenueProtocol` decodes."""

    DEPTH = "depth"
    """Book data for one symbol: ``payload`` goes to that symbol's :class:`BookSync`."""
    EVENT = "event"
    """A ready engine event (trade, open interest): ``payload`` is the event."""
    CONTROL = "control"
    """Subscription ack, pong, heartbeat: ``payload`` is a dict for the live layer."""
    ERROR = "error"
    """Venue error frame or refused subscription: ``payload`` is a sanitised string."""
    IGNORED = "ignored"
    """A known message we do not use (klines, tickers without OI, ...)."""


@dataclass(slots=True)
class Routed:
    """One decoded message and where it goes."""

    kind: MsgKind
    """What it is."""
    key: str = ""
    """Market key it belongs to (empty for connection-level messages)."""
    payload: Any = None
    """Venue depth message, engine event, control dict or error text."""


class BadMessage(ValueError):
    """A frame that cannot be decoded: bad JSON, missing fields, bad numbers.

    The message is already sanitised and short, fit for the health screen.
    """

    def __init__(self, reason: str = "", key: str = "") -> None:
        super().__init__(reason)
        self.key = key
        """Market key of the book the frame belonged to, when the decoder could
        tell (its book may now miss an update: pass the error to that symbol's
        :meth:`BookSync.on_malformed`); empty for connection-level frames."""


class BookSync(ABC):
    """Per-symbol book-sync state machine. Pure: no I/O, no clock.

    It updates ``health`` (state, gaps, checksum failures, resyncs) itself and
    emits a :class:`~tapescope.engine.events.StatusChange` whenever the state
    changes, so the engine hides the book while it is not ``LIVE``.
    """

    def __init__(self, instrument: Instrument, health: SymbolHealth) -> None:
        self.instrument = instrument
        self.health = health

    @property
    def state(self) -> FeedState:
        """Current sync state."""
        return self.health.state

    @abstractmethod
    def on_depth(self, msg: Any, recv_ns: int) -> SyncOutput:
        """Consume one venue depth message for this symbol."""

    def on_rest_snapshot(self, payload: bytes, recv_ns: int) -> SyncOutput:
        """Consume a REST snapshot body (venues that need one).

        Raises:
            BadMessage: when the body is not a valid snapshot.
        """
        raise NotImplementedError(f"{type(self).__name__} takes no REST snapshot")

    @abstractmethod
    def reset(self, state: FeedState, reason: str, recv_ns: int) -> SyncOutput:
        """Forget everything (disconnect, resubscribe, engine-reported bad book) and wait for a fresh start."""

    def on_malformed(self, reason: str, recv_ns: int) -> SyncOutput:
        """A frame for this symbol was refused (``BadMessage.key`` named it); its book is suspect.

        Default: count it in ``health.malformed`` and :meth:`reset` to
        ``RESYNCING`` (whose output asks for the resubscribe or REST snapshot).
        """
        self.health.malformed += 1
        return self.reset(FeedState.RESYNCING, f"malformed: {reason}", recv_ns)


class VenueProtocol(ABC):
    """Wire format and limits of one venue market (e.g. Binance USD-M futures)."""

    #: Venue id used in config and market keys, e.g. ``"binance-usdm"``.
    venue: str = ""
    #: Default public websocket URL (config overrides it; tests point it at loopback).
    ws_url: str = ""
    #: Default REST base URL, or ``""`` when the venue needs no REST snapshot.
    rest_url: str = ""
    #: Most symbols one connection may carry (the venue's stream / subscription limits).
    max_symbols_per_connection: int = 50
    #: Seconds between application-level pings (0: the venue uses websocket pings only).
    app_ping_interval_s: float = 0.0
    #: Seconds without any frame after which the stream counts as stalled.
    stall_timeout_s: float = 30.0

    @abstractmethod
    def connect_url(self, base_url: str, symbols: list[str]) -> str:
        """URL to open for these venue symbols (combined-stream venues put streams in the URL)."""

    @abstractmethod
    def subscribe_frames(self, symbols: list[str]) -> list[str]:
        """Text frames to send after connecting (may be empty)."""

    def unsubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Text frames that drop these symbols' book channels (for a resubscribe)."""
        return []

    def resubscribe_frames(self, symbols: list[str]) -> list[str]:
        """Text frames that restart only these symbols' book channels (fresh snapshot).

        Default: :meth:`unsubscribe_frames` then :meth:`subscribe_frames`.
        Venues that refuse a duplicate subscription override it.
        """
        return self.unsubscribe_frames(symbols) + self.subscribe_frames(symbols)

    def app_ping_frame(self) -> str | None:
        """Application-level ping text, if the venue wants one."""
        return None

    def snapshot_url(self, rest_base: str, symbol: str) -> str:
        """REST snapshot URL for a symbol (venues that need one)."""
        raise NotImplementedError(f"{self.venue} takes no REST snapshot")

    @abstractmethod
    def decode(self, payload: bytes | str, recv_ns: int) -> list[Routed]:
        """Decode one received frame.

        Raises:
            BadMessage: the frame is malformed; the caller counts it and carries on.
        """

    @abstractmethod
    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> BookSync:
        """A fresh book-sync state machine for one symbol."""
