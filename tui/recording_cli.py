"""What ``tapescope import``, ``inspect`` and ``export`` call: one blocking function per command.

Each returns an exit code (0 done, 1 the files could not be read or
written, 2 bad arguments) and writes its report or the reason to
``stream``, so ``tui/cli.py`` only parses arguments and calls them.
Decoders are chosen from the recording's venues
(:func:`~tapescope.tui.replay.recording_decoders`); ``export --kind signals``
runs the same detector and signal pipeline as the headless replay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from tapescope.engine.analysis import AnalysisParams
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.decode import DecoderRegistry
from tapescope.engine.recorder.errors import RecordingError
from tapescope.engine.recorder.export import ExportError, export
from tapescope.engine.recorder.inspect import inspect, message_type
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.capture_meta import known_venues
from tapescope.feeds.captures import companion_http
from tapescope.feeds.importer import detect_capture_venue, import_captures
from tapescope.feeds.replay import instruments_from_meta
from tapescope.tui.replay import recording_decoders, select_instruments, signal_fn
from tapescope.tui.replay_cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, resolve_window

log = logging.getLogger(__name__)


def run_import(
    paths: Sequence[Path | str],
    out: Path | str,
    venue: str,
    *,
    symbols: Iterable[str] = (),
    config: RecordConfig | None = None,
    stream: TextIO | None = None,
) -> int:
    """``tapescope import CAPTURE... --venue V --out FILE.db [--symbols A,B]``.

    A cryptofeed ``.ws`` file brings its ``.http`` companion along when it was
    not given. The frames are decoded through the venues' own parsers and the
    recording gets book checkpoints and each market's instrument (tick, lot).
    ``V`` is a venue id or a family (``bybit``), found from the capture's URLs
    (or Binance stream shape) when empty; the markets are the given
    symbols (``SYM`` or ``venue:SYM``) or the ones the capture subscribed to.
    """
    stream = stream if stream is not None else sys.stderr
    files = [Path(p) for p in paths]
    for p in list(files):
        extra = companion_http(p)
        if extra is not None and extra not in files:
            files.append(extra)
    syms = [_upper_symbol(s) for s in symbols if s.strip()]
    try:
        if not venue:
            venue = detect_capture_venue(files) or ""
            if not venue:
                stream.write(f"tapescope import: cannot tell the venue of {files[0].name} from its URLs or "
                             f"streams; pass --venue ({', '.join(known_venues())})\n")
                return EXIT_USAGE
            stream.write(f"venue: {venue} (from the capture)\n")
        res = asyncio.run(import_captures(files, out, venue, symbols=syms, checkpoints=True, config=config))
    except (RecordingError, OSError) as exc:
        stream.write(f"tapescope import: {exc}\n")
        return EXIT_FAILED
    except KeyError as exc:  # a venue the registry does not know
        stream.write(f"tapescope import: {exc.args[0] if exc.args else exc}\n")
        return EXIT_USAGE
    except ValueError as exc:  # CaptureError is a ValueError too: a file not in its format
        stream.write(f"tapescope import: {exc}\n")
        return EXIT_USAGE
    stream.write(f"imported {res.messages:,} messages, {res.snapshots:,} REST snapshots "
                 f"({res.skipped:,} lines skipped), {res.checkpoints:,} checkpoints -> "
                 f"{', '.join(str(f) for f in res.files)}\n")
    for inst in res.instruments:
        stream.write(f"  {inst['venue']}:{inst['symbol']}  tick {inst['tick_size']:g}  lot {inst['lot_size']:g}  "
                     f"{inst['kind']}  ({inst['source']})\n")
    return EXIT_OK


def _upper_symbol(entry: str) -> str:
    """``"okx:btc-usdt"`` -> ``"okx:BTC-USDT"``; venue ids stay as given."""
    venue, sep, sym = entry.strip().rpartition(":")
    return f"{venue}{sep}{sym.upper()}"


def run_inspect(path: Path | str, *, as_json: bool = False, types: bool = True,
                stream: TextIO | None = None) -> int:
    """``tapescope inspect FILE.db [--json] [--no-types]``: the summary on ``stream`` (stdout)."""
    stream = stream if stream is not None else sys.stdout
    try:
        summary = inspect(path, classify=message_type if types else None)
    except (RecordingError, OSError) as exc:
        sys.stderr.write(f"tapescope inspect: {exc}\n")
        return EXIT_FAILED
    stream.write((json.dumps(summary.to_dict(), indent=2) if as_json else summary.to_text()) + "\n")
    return EXIT_OK


def run_export(
    path: Path | str,
    out: Path | str,
    kind: str,
    *,
    fmt: str = "csv",
    symbols: Iterable[str] | None = None,
    from_text: str | None = None,
    to_text: str | None = None,
    levels: int = 5,
    analysis: AnalysisParams | None = None,
    stream: TextIO | None = None,
) -> int:
    """``tapescope export FILE.db --kind trades|book|messages|signals --out OUT [--format csv|parquet]
    [--symbols A,B] [--from T] [--to T] [--levels N]``."""
    stream = stream if stream is not None else sys.stderr
    try:
        lo, hi = resolve_window(path, from_text, to_text)
        with Recording.open(path) as rec:
            insts = select_instruments(instruments_from_meta(rec), symbols)
            venues = rec.venues
        decoders = DecoderRegistry(recording_decoders(venues, insts))
        n = export(path, out, kind, decoders=decoders, fmt=fmt, symbols=[i.key for i in insts] if symbols else None,
                   start_ns=lo, end_ns=hi, levels=levels,
                   signal_fn=signal_fn(insts, analysis=analysis) if kind == "signals" else None)
    except (ValueError, ExportError) as exc:
        stream.write(f"tapescope export: {exc}\n")
        return EXIT_USAGE
    except (RecordingError, OSError) as exc:
        stream.write(f"tapescope export: {exc}\n")
        return EXIT_FAILED
    stream.write(f"exported {n:,} {kind} rows -> {out}\n")
    return EXIT_OK
