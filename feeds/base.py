"""The feed interface: venue adapters, the simulator and replay all implement it.

A :class:`Feed` turns an outside source into normalised engine events and
pushes them into an :class:`EventSink` (the engine hub, possibly wrapped by a
recorder tap). Model: harlequin's ``HarlequinAdapter`` ABC and cryptofeed's
``Feed`` with one module per venue.

Contract:

* ``run(sink)`` runs until cancelled. It must never raise for bad input or
  network trouble: it counts the problem in :meth:`Feed.health`, emits a
  :class:`~tapescope.engine.events.StatusChange`, and recovers (reconnect,
  resync). It returns only when the source is exhausted (replay, a finite
  simulation) and propagates ``asyncio.CancelledError``.
* Every event's ``symbol`` is one of ``[i.key for i in feed.instruments]``.
* Raw payloads go to ``sink.on_raw`` before they are parsed, so a recording
  holds exactly what the venue sent, parseable or not.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from tapescope.engine.events import Event
from tapescope.engine.health import ConnectionHealth, SymbolHealth
from tapescope.engine.instrument import Instrument


class EventSink(Protocol):
    """Where a feed delivers its output."""

    def on_event(self, event: Event) -> None:
        """Consume one normalised event (engine time advances to ``event.ts``)."""

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        """See one raw message exactly as received (recorder tap; may be a no-op)."""


class Feed(ABC):
    """A source of normalised events for a fixed set of instruments."""

    #: Feed id shown in the status bar, e.g. ``"sim"`` or ``"binance-usdm"``.
    name: str = "feed"

    @property
    @abstractmethod
    def instruments(self) -> list[Instrument]:
        """The markets this feed serves, in watchlist order."""

    @abstractmethod
    async def run(self, sink: EventSink) -> None:
        """Stream events into ``sink`` until cancelled or exhausted.

        Raises:
            asyncio.CancelledError: when cancelled; nothing else escapes.
        """

    def request_resync(self, key: str, reason: str) -> None:
        """The engine found this market's book impossible (crossed); rebuild it.

        Feeds whose books cannot go wrong (the simulator, replay) ignore it.
        """
        return None

    def symbol_health(self) -> list[SymbolHealth]:
        """Detached copies of per-market health, one per instrument."""
        return []

    def connection_health(self) -> list[ConnectionHealth]:
        """Detached copies of per-connection health."""
        return []
