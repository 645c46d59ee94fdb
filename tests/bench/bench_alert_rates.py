"""Detector events per minute on the real Binance USD-M capture (the alert rate a trader sees).

Usage (from the worktree root)::

    PYTHONPATH=$PWD/.dev python tests/bench/bench_alert_rates.py [RECORDING.db] [name=value ...]

Without a recording it imports ``shared/data/binance_usdm/btcusdt_20240808.gz``
first (as ``bench_replay.py`` does). ``name=value`` pairs override
``[detectors]`` settings for the run, e.g. ``wall_max_per_side=0
wall_touch_k=0 spoof_min_touch_bps=0`` for the rules of detectors.md alone.
Rates are per minute of event time over the whole capture.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import Counter
from dataclasses import fields, replace
from pathlib import Path

from tapescope.engine.alerts import drain
from tapescope.engine.analysis import AnalysisParams
from tapescope.engine.detectors.base import DetectorEvent, DetectorParams
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.decode import DecoderRegistry
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.importer import import_captures
from tapescope.tui.replay import analysis_hub, recording_decoders

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT.parent / "shared" / "data" / "binance_usdm" / "btcusdt_20240808.gz"
USDM = [Instrument("binance-usdm", "BTCUSDT", tick_size=0.1)]


def rates(path: Path, detectors: DetectorParams) -> tuple[float, Counter[str]]:
    """Replay ``path`` through MarketAnalysis; return (minutes of event time, events per kind)."""
    with Recording.open(path) as rec:
        records = list(rec.iter_records())
        venues = rec.venues
    reg = DecoderRegistry(recording_decoders(venues, USDM))
    hub = analysis_hub(USDM, analysis=AnalysisParams(detectors=detectors))
    analysis = next(iter(hub.markets.values())).analysis
    counts: Counter[str] = Counter()
    first = last = None
    for r in records:
        for ev in reg.decode(r):
            hub.on_event(ev)
            ts = getattr(ev, "ts", None)
            if ts:
                first = ts if first is None else first
                last = ts
        for item in drain(analysis.alerts):
            if isinstance(item, DetectorEvent):
                counts[str(item.kind)] += 1
    minutes = (last - first) / 60e9 if first is not None and last is not None else 0.0
    return minutes, counts


def _overrides(args: list[str]) -> DetectorParams:
    types = {f.name: type(getattr(DetectorParams(), f.name)) for f in fields(DetectorParams)}
    kw = {}
    for arg in args:
        name, _, value = arg.partition("=")
        if name not in types:
            raise SystemExit(f"unknown [detectors] setting {name!r}")
        kw[name] = types[name](value)
    return replace(DetectorParams(), **kw)


def main(path: Path, args: list[str]) -> None:
    minutes, counts = rates(path, _overrides(args))
    sys.stdout.write(f"{path}: {minutes * 60:.0f} s of event time {' '.join(args)}\n")
    for kind, n in sorted(counts.items()):
        sys.stdout.write(f"{kind:<16} {n:7d} {n / minutes:9.2f} /min\n")


if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv and "=" not in argv[0]:
        main(Path(argv[0]), argv[1:])
    else:
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "um.db"
            asyncio.run(import_captures([CAPTURE], out, "binance-usdm", symbols=["BTCUSDT"],
                                        config=RecordConfig(checkpoint_interval_s=30.0)))
            main(out, argv)
