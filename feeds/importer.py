"""Import exchange captures (``shared/data`` formats) into a tapescope recording.

Every received frame of the capture becomes a recorded message with its
original receive time and payload text; REST bodies become REST snapshots
keyed ``"venue:SYMBOL"``; ``connect``/``send`` lines are counted and skipped
(a recording holds what was received).

A first pass (:func:`scan_captures`) reads what the capture says about
itself (:mod:`tapescope.feeds.capture_meta`): each connection's registry
venue (a family such as ``bybit`` splits into ``bybit-linear`` and
``bybit-spot`` by URL) and wire version, the symbols its subscriptions
name, and the instrument lists recorded over REST. Each connection then gets
the id ``"<venue>#<n>"`` (``"<venue>#<variant>-<n>"`` for an older wire, e.g.
``kraken#v1-0``), so the replay decoders registered for that prefix handle it.

With ``checkpoints`` (or explicit ``decoders``) the frames are also decoded
through the venue's own parser into a book tracker, and the recording gets
book checkpoints exactly as a live recording would.

Every recorded market gets its instrument stored in the recording's
``instruments`` meta, with tick and lot from, in order: a REST instrument
list in the capture, :data:`~tapescope.feeds.capture_meta.KNOWN_SPECS`, or
the grid of the market's first decoded book snapshot; the ``source`` field
of each entry says which.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tapescope.engine.events import BookSnapshot
from tapescope.engine.recorder.checkpoint import BookTracker
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.decode import DecoderFactory, DecoderRegistry
from tapescope.engine.recorder.reader import Message, RestSnapshot
from tapescope.engine.recorder.storage import amend_meta
from tapescope.engine.recorder.writer import Recorder
from tapescope.feeds.capture_meta import (
    DETECT_LINES,
    KNOWN_SPECS,
    InstrumentSpec,
    build_instrument,
    connection_venue,
    detect_venue,
    grid_step,
    instrument_meta,
    is_known_venue,
    known_venues,
    rest_specs,
    subscribed_symbols,
    wire_variant,
)
from tapescope.feeds.captures import CaptureRecord, merged, read_capture
from tapescope.feeds.replay_venues import capture_decoders, variant_prefix

log = logging.getLogger(__name__)

#: Query parameters that name the instrument in venue REST snapshot URLs.
SYMBOL_PARAMS = ("symbol", "instId", "pair", "product_id")
_HFT_NAME = re.compile(r"^([a-z0-9]+)_\d{8}\.gz$")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What :func:`import_captures` wrote."""

    files: list[Path]
    """Recording files."""
    messages: int
    """Received frames recorded."""
    snapshots: int
    """REST bodies recorded."""
    skipped: int
    """``connect``/``send`` lines skipped."""
    checkpoints: int
    """Book checkpoints written (0 without decoders)."""
    venues: list[str] = field(default_factory=list)
    """Registry venues recorded (a family such as ``bybit`` is split)."""
    instruments: list[dict[str, object]] = field(default_factory=list)
    """Instrument entries stored in the recording's meta (tick, lot, kind, source)."""


@dataclass(slots=True)
class CaptureScan:
    """What a first pass over the capture files found (see :func:`scan_captures`)."""

    conns: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Capture connection -> ``(registry venue, wire variant)``."""
    symbols: dict[str, list[str]] = field(default_factory=dict)
    """Registry venue -> symbols its subscriptions name, in first-seen order."""
    specs: dict[str, InstrumentSpec] = field(default_factory=dict)
    """Market key -> spec from a REST instrument list in the capture."""
    unordered: set[Path] = field(default_factory=set)
    """Files whose lines go back in time (e.g. a jsonl written one connection after another)."""


def http_symbol(url: str, default: str = "") -> str:
    """The instrument a REST snapshot URL asks for, upper-cased.

    >>> http_symbol("https://fapi.binance.com/fapi/v1/depth?symbol=sushiusdt&limit=1000")
    'SUSHIUSDT'
    >>> http_symbol("https://x/api", "BTCUSDT")
    'BTCUSDT'
    """
    query = parse_qs(urlparse(url).query)
    for name in SYMBOL_PARAMS:
        if query.get(name):
            return query[name][0].upper()
    return default


def default_symbol(path: Path) -> str:
    """Symbol implied by an hftbacktest file name (``btcusdt_20240808.gz`` -> ``BTCUSDT``).

    >>> default_symbol(Path("btcusdt_20240808.gz")), default_symbol(Path("OKX.ws.1.0"))
    ('BTCUSDT', '')
    """
    m = _HFT_NAME.match(path.name)
    return m.group(1).upper() if m else ""


def scan_captures(paths: Sequence[Path], venue: str) -> CaptureScan:
    """First pass: connection venues and wire versions, subscribed symbols, REST specs, time order.

    Reads every line once (``O(file)``) but parses only ``connect``, ``send``
    and ``http`` records. A connection seen with no ``connect`` line uses its
    own name as URL (cryptofeed v1 names connections by URL).

    Raises:
        CaptureError: a capture line does not follow its format.
    """
    scan = CaptureScan()
    urls: dict[str, str] = {}
    for path in paths:
        prev = 0
        for r in read_capture(path):
            if r.recv_ns < prev:
                scan.unordered.add(path)
            prev = r.recv_ns
            if r.kind == "recv":
                if r.conn not in scan.conns:
                    url = urls.get(r.conn, r.conn if "://" in r.conn else "")
                    scan.conns[r.conn] = (connection_venue(venue, url), wire_variant(venue, url))
                continue
            if r.kind == "connect":
                urls[r.conn] = r.url
            url = urls.get(r.conn, r.url)
            v = connection_venue(venue, url or r.url)
            if r.kind in ("connect", "send"):
                found = subscribed_symbols(r.kind, url, r.data)
                if found:
                    mine = scan.symbols.setdefault(v, [])
                    mine.extend(s for s in found if s not in mine)
            elif r.kind == "http":
                scan.specs.update(rest_specs(v, r.url, r.data))
    return scan


def time_ordered(path: Path, unordered: bool) -> Iterator[CaptureRecord]:
    """A capture's records in receive-time order, each connection's lines kept in file order.

    A file whose lines go back in time (the Bybit jsonl holds one connection's
    lines after the other's) is read whole and its connections are merged by
    time, ``O(file)`` memory; any other file streams as it is.
    """
    if not unordered:
        return read_capture(path)
    by_conn: dict[str, list[CaptureRecord]] = {}
    for r in read_capture(path):
        by_conn.setdefault(r.conn, []).append(r)
    return heapq.merge(*by_conn.values(), key=lambda r: r.recv_ns)


def detect_capture_venue(paths: Sequence[Path]) -> str | None:
    """The venue (or family) of capture files, from their first lines (see :func:`detect_venue`).

    Raises:
        CaptureError: a capture line does not follow its format.
    """
    def head(path: Path) -> Iterator[tuple[str, str, str]]:
        for i, r in enumerate(read_capture(path)):
            if i >= DETECT_LINES:
                return
            yield r.kind, r.url or (r.conn if "://" in r.conn else ""), r.data

    return detect_venue(x for p in paths for x in head(p))


def _market_keys(scan: CaptureScan, venues: list[str], symbols: Iterable[str], fallback: str) -> list[str]:
    """Recorded market keys: the given symbols (bare ones on every venue) or the subscribed ones."""
    given = [s.strip() for s in symbols if s.strip()]
    keys: list[str] = []
    for s in given:
        if ":" in s:
            keys.append(s)
        else:
            keys.extend(f"{v}:{s}" for v in venues)
    if not given:
        for v in venues:
            keys.extend(f"{v}:{s}" for s in scan.symbols.get(v, []))
        if not keys and fallback:
            keys.extend(f"{v}:{fallback}" for v in venues)
    return list(dict.fromkeys(keys))


class _SpecCollector:
    """Infers tick and lot from each market's first decoded book snapshot (markets lacking a spec)."""

    def __init__(self, wanted: Iterable[str]) -> None:
        self.wanted = set(wanted)
        self.found: dict[str, InstrumentSpec] = {}

    def on_event(self, ev: object) -> None:
        if type(ev) is BookSnapshot and ev.symbol in self.wanted:
            self.wanted.discard(ev.symbol)
            levels = ev.bids + ev.asks
            tick = grid_step(p for p, _ in levels)
            if tick is not None:
                self.found[ev.symbol] = InstrumentSpec(tick, grid_step(q for _, q in levels), None, "inferred")


async def import_captures(
    paths: Sequence[Path | str],
    out: Path | str,
    venue: str,
    *,
    symbols: Iterable[str] = (),
    decoders: Mapping[str, DecoderFactory] | None = None,
    checkpoints: bool = False,
    config: RecordConfig | None = None,
) -> ImportResult:
    """Write the captures at ``paths`` (merged by time) into a new recording ``out``.

    Args:
        paths: capture files of one venue (e.g. a ``.ws`` file and its ``.http`` companion).
        out: new recording file.
        venue: registry venue id (``"binance-usdm"``) or family (``"bybit"``) of the capture.
        symbols: venue symbols (or ``venue:SYMBOL`` keys) to record as markets; default:
            the symbols the capture subscribed to (or the hftbacktest file name's).
        decoders: decoder factories by connection-id prefix, for checkpoints.
        checkpoints: decode through the venues' own parsers (:func:`capture_decoders`) and write
            book checkpoints; implied by ``decoders``.
        config: recorder settings.

    Raises:
        CaptureError: a capture line does not follow its format.
        KeyError: ``checkpoints`` for a venue the venue registry does not know.
        RecordingError: the recording cannot be written.
    """
    if checkpoints and decoders is None and not is_known_venue(venue):
        raise KeyError(f"unknown venue {venue!r}; known: {', '.join(known_venues())}")
    files = [Path(p) for p in paths]
    fallback = next((s for s in map(default_symbol, files) if s), "")
    scan = await asyncio.to_thread(scan_captures, files, venue)
    venues = list(dict.fromkeys(v for v, _ in scan.conns.values())) or [venue]
    keys = _market_keys(scan, venues, symbols, fallback)
    specs = {k: s for k, s in ((k, scan.specs.get(k)) for k in keys) if s is not None}
    for k in keys:
        if k not in specs and k in KNOWN_SPECS:
            specs[k] = InstrumentSpec(*KNOWN_SPECS[k], None, "table")
    if decoders is None and checkpoints:
        decoders = capture_decoders(venues, [build_instrument(*k.split(":", 1), specs.get(k)) for k in keys])
    tracker = BookTracker() if decoders else None
    registry = DecoderRegistry(decoders) if decoders else None
    inferred = _SpecCollector(k for k in keys if k not in specs)
    rec = Recorder(
        out,
        config or RecordConfig(),
        venues=venues,
        symbols=keys,
        app_config={"import": {"captures": [str(p) for p in files], "venue": venue}},
        checkpoint_source=tracker.checkpoint_source if tracker else None,
    )
    await rec.start()
    conns: dict[str, str] = {}
    per_prefix: dict[str, int] = {}
    n_msg = n_snap = skipped = 0
    half = rec.config.max_queue_messages // 2
    try:
        records = merged(*(time_ordered(p, p in scan.unordered) for p in files))
        for i, r in enumerate(records):
            if r.kind == "recv":
                conn_id = conns.get(r.conn)
                if conn_id is None:
                    prefix = variant_prefix(*scan.conns.get(r.conn, (venue, "")))
                    n = per_prefix[prefix] = per_prefix.get(prefix, -1) + 1
                    conn_id = conns[r.conn] = f"{prefix}{n}"
                rec.on_raw(conn_id, r.recv_ns, r.data)
                n_msg += 1
                if registry is not None and tracker is not None:
                    for ev in registry.decode(Message(n_msg, conn_id, r.recv_ns, r.data)):
                        tracker.on_event(ev)
                        inferred.on_event(ev)
            elif r.kind == "http":
                v = connection_venue(venue, r.url)
                sym = http_symbol(r.url, fallback)
                # REST bodies naming no instrument (instrument lists...) keep the bare "venue:" key.
                key = f"{v}:{sym}"
                if sym and key not in keys:
                    keys.append(key)
                    rec.add_symbol(key)
                rec.on_snapshot(key, r.recv_ns, r.data)
                n_snap += 1
                if registry is not None and tracker is not None:
                    for ev in registry.decode(RestSnapshot(key, r.recv_ns, n_msg, r.data)):
                        tracker.on_event(ev)
                        inferred.on_event(ev)
            else:
                skipped += 1
            if i % 1000 == 999:
                await asyncio.sleep(0)
                while rec.queued > half:
                    await asyncio.sleep(0.001)
    finally:
        await rec.close()
    specs.update(inferred.found)
    insts = []
    for k in keys:
        v, _, s = k.partition(":")
        spec = specs.get(k)
        insts.append(instrument_meta(build_instrument(v, s, spec), spec.source if spec else "default"))
    await asyncio.to_thread(amend_meta, rec.files, {"instruments": insts})
    log.info("imported %d messages and %d snapshots into %s", n_msg, n_snap, rec.files[0])
    return ImportResult(list(rec.files), n_msg, n_snap, skipped, rec.stats.checkpoints, venues, insts)
