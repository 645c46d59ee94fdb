"""Pluggable decoding of recorded raw messages back into engine events.

A recording stores bytes; turning them into events needs the venue's parser
(and, for books, its sync state machine), which lives in ``feeds/``. The
engine must not import feeds, so callers plug decoders in by connection-id
prefix: ``DecoderRegistry({"sim": make_sim_decoder, "binance-usdm": ...})``.
One decoder instance is created per prefix (a venue), shared by all that
venue's connections and its REST snapshots, so it can keep per-symbol state
such as a book-sync machine.

>>> from tapescope.engine.recorder.reader import Message
>>> reg = DecoderRegistry({"x": lambda conn: FunctionDecoder(lambda c, t, p: [p])})
>>> reg.decode(Message(1, "x#0", 5, "hi")), reg.decode(Message(2, "y#0", 6, "?")), reg.undecoded
(['hi'], [], 1)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from tapescope.engine.events import Event
from tapescope.engine.recorder.reader import GapMarker, Message, Record, RestSnapshot

log = logging.getLogger(__name__)


class RecordDecoder(Protocol):
    """Decodes the raw messages of one connection."""

    def on_message(self, conn_id: str, recv_ns: int, payload: bytes | str) -> list[Event]:
        """Events carried by one raw message (may be empty)."""

    def on_snapshot(self, symbol: str, recv_ns: int, payload: bytes | str) -> list[Event]:
        """Events from a REST snapshot body for ``symbol`` (may be empty)."""


#: ``prefix -> decoder`` for the connections under that prefix.
DecoderFactory = Callable[[str], RecordDecoder]
#: A stateless decode function ``(conn_id, recv_ns, payload) -> events``.
DecodeFn = Callable[[str, int, bytes | str], list[Event]]


class FunctionDecoder:
    """Adapts a plain decode function to :class:`RecordDecoder` (REST snapshots give no events)."""

    def __init__(self, fn: DecodeFn) -> None:
        self.fn = fn

    def on_message(self, conn_id: str, recv_ns: int, payload: bytes | str) -> list[Event]:
        """Call the function."""
        return self.fn(conn_id, recv_ns, payload)

    def on_snapshot(self, symbol: str, recv_ns: int, payload: bytes | str) -> list[Event]:
        """Stateless decoders take no REST snapshots."""
        return []


class DecoderRegistry:
    """Routes each record to the decoder registered for its connection-id prefix.

    The longest matching prefix wins. REST snapshots go to the decoder of
    the venue named by the market key (``"venue:SYMBOL"`` is routed like the
    connection id ``"venue#"``). Messages nobody decodes are counted in :attr:`undecoded`;
    decoders that raise are counted in :attr:`errors` and the message yields
    no events (a recording holds whatever the venue sent, garbage included).
    """

    def __init__(self, factories: Mapping[str, DecoderFactory]) -> None:
        self.factories = dict(factories)
        self._prefixes = sorted(self.factories, key=len, reverse=True)
        self._by_conn: dict[str, RecordDecoder | None] = {}
        self._by_prefix: dict[str, RecordDecoder] = {}
        self.undecoded = 0
        """Messages whose connection id matched no registered prefix."""
        self.errors = 0
        """Messages whose decoder raised."""

    def decoder_for(self, conn_id: str) -> RecordDecoder | None:
        """The (cached) decoder of a connection. ``O(1)`` after the first call."""
        try:
            return self._by_conn[conn_id]
        except KeyError:
            pass
        dec = None
        for prefix in self._prefixes:
            if conn_id.startswith(prefix):
                dec = self._by_prefix.get(prefix)
                if dec is None:
                    dec = self._by_prefix[prefix] = self.factories[prefix](prefix)
                break
        self._by_conn[conn_id] = dec
        return dec

    def decoders(self) -> list[RecordDecoder]:
        """Every registered prefix's decoder, built now if not yet built. ``O(prefixes)``."""
        for prefix in self._prefixes:
            if prefix not in self._by_prefix:
                self._by_prefix[prefix] = self.factories[prefix](prefix)
        return [self._by_prefix[p] for p in self._prefixes]

    def decode(self, record: Record) -> list[Event]:
        """Events for one record (gap markers give none). ``O(message)``."""
        if isinstance(record, Message):
            dec = self.decoder_for(record.conn_id)
            if dec is None:
                self.undecoded += 1
                return []
            try:
                return dec.on_message(record.conn_id, record.recv_ns, record.payload)
            except Exception as exc:  # a bad recorded frame must not stop a replay
                self.errors += 1
                log.debug("message %d on %s not decodable: %s", record.id, record.conn_id, exc)
                return []
        if isinstance(record, RestSnapshot):
            # Route by the venue of the market key, as a connection id of that venue would be.
            venue = record.symbol.partition(":")[0]
            dec = self.decoder_for(venue + "#")
            if dec is None:
                self.undecoded += 1
                return []
            try:
                return dec.on_snapshot(record.symbol, record.recv_ns, record.payload)
            except Exception as exc:
                self.errors += 1
                log.debug("snapshot of %s not decodable: %s", record.symbol, exc)
                return []
        assert isinstance(record, GapMarker)
        return []
