"""Recorder benchmark: sustained record rate, bytes on disk per million messages, seek time.

Run from the repo root (not collected by pytest: the name does not start with ``test_``)::

    PYTHONPATH=$PWD/.dev python tests/bench/bench_recorder.py [--n 1000000] [--hours 1]

With ``../shared/data`` present it also records real Binance USD-M frames
(the hftbacktest capture) to show bytes on disk for venue-sized payloads.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import sys
import time
from pathlib import Path

from tapescope.engine.recorder.bench import run_recorder_bench

ROOT = Path(__file__).resolve().parents[2]
CAPTURE = ROOT.parent / "shared" / "data" / "binance_usdm" / "btcusdt_20240808.gz"


def _capture_payloads(limit: int = 100_000) -> list[bytes]:
    out = []
    with gzip.open(CAPTURE, "rb") as fh:
        for line in fh:
            out.append(line.rstrip(b"\n").split(b" ", 1)[1])
            if len(out) >= limit:
                break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="messages per record run")
    parser.add_argument("--hours", type=float, default=1.0, help="receive-time span of the seek recording")
    parser.add_argument("--rate", type=float, default=200.0, help="messages/s of the seek recording")
    parser.add_argument("--paced", type=float, default=20_000.0, help="messages/s of the paced stall run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    payloads = _capture_payloads() if CAPTURE.exists() else None
    for line in run_recorder_bench(time.perf_counter_ns, args.n, args.hours, args.rate, args.paced, payloads):
        sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main()
