"""Replay throughput by stage: read, parse, book + flow, + analysis, and the full headless replay.

Usage (from the worktree root)::

    PYTHONPATH=$PWD/.dev python tests/bench/bench_replay.py [RECORDING.db]

Without an argument it imports the Binance USD-M capture of ``shared/data``
first. Each stage is timed in CPU seconds of this process (``process_time``),
so a busy shared machine does not distort the figures; wall time is shown too.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.decode import DecoderRegistry
from tapescope.engine.recorder.reader import Message, Recording
from tapescope.feeds.importer import import_captures
from tapescope.tui.replay import analysis_hub, recording_decoders, replay_headless

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT.parent / "shared" / "data" / "binance_usdm" / "btcusdt_20240808.gz"
USDM = [Instrument("binance-usdm", "BTCUSDT", tick_size=0.1)]


def _stage(name: str, fn, n: int) -> None:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    sys.stdout.write(f"{name:<34} {cpu:7.2f} s cpu {n / cpu:>10,.0f} msg/s   ({wall:6.2f} s wall)\n")


def main(path: Path) -> None:
    with Recording.open(path) as rec:
        records = list(rec.iter_records())
        venues = rec.venues
    n = sum(1 for r in records if isinstance(r, Message)) + 0
    sys.stdout.write(f"{path}: {len(records):,} records ({n:,} messages)\n")

    def read() -> None:
        with Recording.open(path) as rec:
            for _ in rec.iter_records():
                pass

    def parse() -> None:
        reg = DecoderRegistry(recording_decoders(venues, USDM))
        for r in records:
            reg.decode(r)

    def book(with_analysis: bool) -> None:
        reg = DecoderRegistry(recording_decoders(venues, USDM))
        hub = analysis_hub(USDM) if with_analysis else __import__(
            "tapescope.engine.hub", fromlist=["Hub"]).Hub(USDM)
        on_event = hub.on_event
        for r in records:
            for ev in reg.decode(r):
                on_event(ev)

    _stage("read (SQLite)", read, len(records))
    _stage("read list + parse + book sync", parse, len(records))
    _stage("+ book + flow metrics (Hub)", lambda: book(False), len(records))
    _stage("+ MarketAnalysis (all detectors)", lambda: book(True), len(records))
    with tempfile.TemporaryDirectory() as tmp:
        _stage("replay_headless (ReplayFeed, CSV)",
               lambda: replay_headless(path, Path(tmp) / "ev.csv", instruments=USDM), len(records))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "um.db"
            asyncio.run(import_captures([CAPTURE], out, "binance-usdm", symbols=["BTCUSDT"],
                                        config=RecordConfig(checkpoint_interval_s=30.0)))
            main(out)
