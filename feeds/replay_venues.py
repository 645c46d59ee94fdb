"""Replay decoders for venue recordings: the venue's own parser and book-sync rules.

:class:`VenueDecoder` does offline what the live layer does with each frame:
``VenueProtocol.decode`` routes it, depth goes through the symbol's
:class:`~tapescope.feeds.venues.base.BookSync` (snapshot bridging, sequence
checks, checksums), trades and other ready events pass through, and REST
snapshot bodies recorded beside the stream feed ``on_rest_snapshot``. So a
replayed venue session produces the events the live session produced.

A book sync carries state from the whole stream, so after a seek it cannot
simply start at a checkpoint unless it offers ``resume(seq, recv_ns)``;
without that, :class:`VenueDecoder` reports ``needs_warmup`` and the replay
feed re-decodes the stream silently up to the checkpoint first.

Older wire versions a recording may hold (an imported Kraken **v1** capture,
while the live adapter speaks v2) are listed in :data:`WIRE_VARIANTS`; their
connections are recorded as ``"<venue>#<variant>-<n>"`` and
:func:`venue_decoders` registers a decoder with that version's protocol under
the longer prefix, which :class:`~tapescope.engine.recorder.decode.DecoderRegistry`
prefers over the venue's own ``"<venue>#"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from tapescope.engine.events import Event
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.checkpoint import Checkpoint
from tapescope.engine.recorder.decode import DecoderFactory
from tapescope.feeds.venues.base import BadMessage, BookSync, MsgKind, VenueProtocol
from tapescope.feeds.venues.kraken_v1 import KrakenV1Protocol
from tapescope.feeds.venues.registry import make_protocol

log = logging.getLogger(__name__)

#: Older wire versions replayable per venue: ``venue -> {variant: protocol factory}``.
WIRE_VARIANTS: dict[str, dict[str, Callable[[], VenueProtocol]]] = {
    "kraken": {"v1": KrakenV1Protocol},
}


def variant_prefix(venue: str, variant: str) -> str:
    """Connection-id prefix of a venue's connections in an older wire version (``""`` = current).

    >>> variant_prefix("kraken", "v1"), variant_prefix("okx", "")
    ('kraken#v1-', 'okx#')
    """
    return f"{venue}#{variant}-" if variant else f"{venue}#"


class VenueDecoder:
    """Decodes one venue's recorded frames into engine events with its real sync rules."""

    def __init__(self, protocol: VenueProtocol, instruments: Iterable[Instrument]) -> None:
        self.protocol = protocol
        """The venue's wire protocol."""
        self.health: dict[str, SymbolHealth] = {}
        """Per-market health, updated by the syncs (gaps, checksum failures...)."""
        self.syncs: dict[str, BookSync] = {}
        """Per-market book syncs."""
        for inst in instruments:
            self.health[inst.key] = SymbolHealth(inst.key)
            self.syncs[inst.key] = protocol.new_sync(inst, self.health[inst.key])
        self.malformed = 0
        """Frames the protocol refused."""
        self.snapshot_requests = 0
        """Times a sync asked for a REST snapshot (a replay can only use recorded ones)."""

    @property
    def needs_warmup(self) -> bool:
        """True when a seek must re-decode the stream up to the checkpoint (syncs cannot resume)."""
        return not all(callable(getattr(s, "resume", None)) for s in self.syncs.values())

    def on_message(self, conn_id: str, recv_ns: int, payload: bytes | str) -> list[Event]:
        """Events of one recorded frame. ``O(frame)``."""
        try:
            routed = self.protocol.decode(payload, recv_ns)
        except BadMessage as exc:
            self.malformed += 1
            sync = self.syncs.get(getattr(exc, "key", ""))
            if sync is not None and callable(getattr(sync, "on_malformed", None)):
                return list(sync.on_malformed(str(exc), recv_ns).events)
            return []
        out: list[Event] = []
        for r in routed:
            if r.kind is MsgKind.DEPTH:
                sync = self.syncs.get(r.key)
                if sync is not None:
                    res = sync.on_depth(r.payload, recv_ns)
                    self.snapshot_requests += res.need_snapshot
                    out.extend(res.events)
            elif r.kind is MsgKind.EVENT and r.payload[0] in self.syncs:
                out.append(r.payload)
        return out

    def on_snapshot(self, symbol: str, recv_ns: int, payload: bytes | str) -> list[Event]:
        """Events from a recorded REST snapshot body of ``symbol``."""
        sync = self.syncs.get(symbol)
        if sync is None:
            return []
        body = payload.encode() if isinstance(payload, str) else payload
        try:
            return list(sync.on_rest_snapshot(body, recv_ns).events)
        except BadMessage:
            self.malformed += 1
            return []

    def on_checkpoint(self, cp: Checkpoint) -> None:
        """A seek loaded ``cp``: let the sync resume from it when it can."""
        sync = self.syncs.get(cp.symbol)
        resume = getattr(sync, "resume", None)
        if callable(resume):
            resume(cp.seq, cp.recv_ns)


def venue_decoders(protocols: Sequence[VenueProtocol], instruments: Iterable[Instrument]) -> dict[str, DecoderFactory]:
    """Decoder factories for recordings of these venues (connection ids ``"<venue>#<n>"``).

    Each venue with older wire versions in :data:`WIRE_VARIANTS` also gets a
    factory per version under ``"<venue>#<variant>-"``.

    >>> from tapescope.feeds.venues.binance import BinanceUsdmProtocol
    >>> from tapescope.feeds.venues.kraken import KrakenProtocol
    >>> sorted(venue_decoders([BinanceUsdmProtocol(), KrakenProtocol()], []))
    ['binance-usdm#', 'kraken#', 'kraken#v1-']
    """
    insts = list(instruments)
    out: dict[str, DecoderFactory] = {}
    for proto in protocols:
        mine = [i for i in insts if i.venue == proto.venue]
        out[proto.venue + "#"] = lambda prefix, p=proto, m=mine: VenueDecoder(p, m)
        for variant, factory in WIRE_VARIANTS.get(proto.venue, {}).items():
            out[variant_prefix(proto.venue, variant)] = lambda prefix, f=factory, m=mine: VenueDecoder(f(), m)
    return out


def capture_decoders(venues: Iterable[str], instruments: Iterable[Instrument]) -> dict[str, DecoderFactory]:
    """Decoder factories for an import of these registry venues (each with its wire variants).

    Raises:
        KeyError: a venue the venue registry does not know.

    >>> sorted(capture_decoders(["bybit-linear", "kraken"], []))
    ['bybit-linear#', 'kraken#', 'kraken#v1-']
    """
    return venue_decoders([make_protocol(v) for v in dict.fromkeys(venues)], instruments)
