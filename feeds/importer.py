"""Import exchange captures (``shared/data`` formats) into a tapescope recording.

Every received frame of the capture becomes a recorded message with its
original receive time and payload text; REST bodies become REST snapshots
keyed ``"venue:SYMBOL"``; ``connect``/``send`` lines are counted and skipped
(a recording holds what was received). Each distinct capture connection
gets the connection id ``"<venue>#<n>"``, so replay decoders registered for
the venue prefix handle the messages.

With ``decoders`` given, the frames are also decoded into a book tracker
and the recording gets book checkpoints, exactly as a live recording would.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tapescope.engine.recorder.checkpoint import BookTracker
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.decode import DecoderFactory, DecoderRegistry
from tapescope.engine.recorder.reader import Message, RestSnapshot
from tapescope.engine.recorder.writer import Recorder
from tapescope.feeds.captures import merged, read_capture

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


async def import_captures(
    paths: Sequence[Path | str],
    out: Path | str,
    venue: str,
    *,
    symbols: Iterable[str] = (),
    decoders: Mapping[str, DecoderFactory] | None = None,
    config: RecordConfig | None = None,
) -> ImportResult:
    """Write the captures at ``paths`` (merged by time) into a new recording ``out``.

    Args:
        paths: capture files of one venue (e.g. a ``.ws`` file and its ``.http`` companion).
        out: new recording file.
        venue: venue id for connection ids and market keys (``"binance-usdm"``).
        symbols: venue symbols recorded (meta and checkpoints); REST URLs add to them.
        decoders: decoder factories by connection-id prefix, for checkpoints.
        config: recorder settings.

    Raises:
        CaptureError: a capture line does not follow its format.
        RecordingError: the recording cannot be written.
    """
    files = [Path(p) for p in paths]
    fallback = next((s for s in map(default_symbol, files) if s), "")
    keys = [f"{venue}:{s}" for s in symbols] or ([f"{venue}:{fallback}"] if fallback else [])
    tracker = BookTracker() if decoders else None
    registry = DecoderRegistry(decoders) if decoders else None
    rec = Recorder(
        out,
        config or RecordConfig(),
        venues=[venue],
        symbols=keys,
        app_config={"import": {"captures": [str(p) for p in files], "venue": venue}},
        checkpoint_source=tracker.checkpoint_source if tracker else None,
    )
    await rec.start()
    conns: dict[str, str] = {}
    n_msg = n_snap = skipped = 0
    half = rec.config.max_queue_messages // 2
    try:
        for i, r in enumerate(merged(*(read_capture(p) for p in files))):
            if r.kind == "recv":
                conn_id = conns.get(r.conn)
                if conn_id is None:
                    conn_id = conns[r.conn] = f"{venue}#{len(conns)}"
                rec.on_raw(conn_id, r.recv_ns, r.data)
                n_msg += 1
                if registry is not None and tracker is not None:
                    for ev in registry.decode(Message(n_msg, conn_id, r.recv_ns, r.data)):
                        tracker.on_event(ev)
            elif r.kind == "http":
                sym = http_symbol(r.url, fallback)
                # REST bodies naming no instrument (instrument lists...) keep the bare "venue:" key.
                key = f"{venue}:{sym}"
                if sym and key not in keys:
                    keys.append(key)
                    rec.add_symbol(key)
                rec.on_snapshot(key, r.recv_ns, r.data)
                n_snap += 1
                if registry is not None and tracker is not None:
                    for ev in registry.decode(RestSnapshot(key, r.recv_ns, n_msg, r.data)):
                        tracker.on_event(ev)
            else:
                skipped += 1
            if i % 1000 == 999:
                await asyncio.sleep(0)
                while rec.queued > half:
                    await asyncio.sleep(0.001)
    finally:
        await rec.close()
    log.info("imported %d messages and %d snapshots into %s", n_msg, n_snap, rec.files[0])
    return ImportResult(list(rec.files), n_msg, n_snap, skipped, rec.stats.checkpoints)
