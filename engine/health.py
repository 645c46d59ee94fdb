"""Feed health counters shared by feeds (which count) and the UI (which shows).

A feed owns one mutable :class:`SymbolHealth` per market and one
:class:`ConnectionHealth` per socket, and bumps their counters as it works.
The UI copies them once per frame with :meth:`SymbolHealth.copy`; nothing
here reads the wall clock (times are the ns stamps the feed recorded).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tapescope.engine.events import FeedState


@dataclass(slots=True)
class SymbolHealth:
    """Sync state and error counters of one market's book."""

    key: str
    """Market key, ``"venue:SYMBOL"``."""
    state: FeedState = FeedState.CONNECTING
    """Current sync state."""
    reason: str = ""
    """Why the symbol is in its state (sanitised, one line)."""
    messages: int = 0
    """Messages received for this market."""
    gaps: int = 0
    """Sequence gaps or out-of-order messages detected."""
    checksum_failures: int = 0
    """Venue checksum mismatches."""
    resyncs: int = 0
    """Book rebuilds from a fresh snapshot after the first sync."""
    malformed: int = 0
    """Messages refused as malformed (bad JSON, missing fields, bad numbers...)."""
    crossed: int = 0
    """Times the book came out crossed after an update (treated like a gap)."""
    last_recv_ns: int = 0
    """Local receive time of the last message, ns."""
    venue_latency_ns: int = 0
    """Receive time minus venue time of the last message, ns (clock skew included)."""
    next_retry_ns: int = 0
    """When the next reconnect or resync attempt is due (local ns), 0 if none."""

    def copy(self) -> SymbolHealth:
        """A detached copy for the UI."""
        return replace(self)


@dataclass(slots=True)
class ConnectionHealth:
    """State and counters of one websocket connection."""

    conn_id: str
    """Stable id, e.g. ``"binance-usdm#0"``."""
    url: str = ""
    """Endpoint."""
    state: FeedState = FeedState.CONNECTING
    """Connection-level state (LIVE once subscribed)."""
    reason: str = ""
    """Last error or state explanation (sanitised, one line)."""
    symbols: list[str] = field(default_factory=list)
    """Market keys served by this connection."""
    messages: int = 0
    """Frames received."""
    bytes: int = 0
    """Payload bytes received."""
    reconnects: int = 0
    """Reconnections after the first connect."""
    last_recv_ns: int = 0
    """Local receive time of the last frame, ns."""
    next_retry_ns: int = 0
    """When the next connect attempt is due (local ns), 0 if connected."""
    venue_latency_ns: int = 0
    """Receive time minus venue time of the last timestamped message, ns (clock skew included)."""
    malformed: int = 0
    """Frames that could not be decoded at all (bad JSON, unknown shape)."""

    def copy(self) -> ConnectionHealth:
        """A detached copy for the UI."""
        return replace(self, symbols=list(self.symbols))
