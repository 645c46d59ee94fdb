"""Throughput of decode + sync + engine-book apply per venue on its real capture.

Run from the worktree root (not collected by pytest):

    PYTHONPATH=$PWD/.dev python tests/feeds/venues/bench_venues.py

Frames are loaded into memory first; each venue is replayed ``REPEATS`` times
through :class:`OfflineDriver` (decode, route, BookSync, ``Book`` apply, cross
check) and the best run is reported as frames/s and book messages/s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tapescope.engine.instrument import Instrument
from tapescope.feeds.captures import read_capture
from tapescope.feeds.venues.bybit import bybit_protocol
from tapescope.feeds.venues.coinbase import CoinbaseProtocol
from tapescope.feeds.venues.kraken_v1 import KrakenV1Protocol
from tapescope.feeds.venues.offline import OfflineDriver
from tapescope.feeds.venues.okx import OkxProtocol

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
REPEATS = 5
#: Substrings naming a book channel (to find the last book snapshot).
BOOK_CHANNELS = ('"topic":"orderbook.', '"channel":"books"', '"channel":"l2_data"')

KRAKEN_PAIRS = [
    "WAVES/EUR",
    "XMR/USD",
    "KSM/XBT",
    "GRT/ETH",
    "SC/EUR",
    "ETH/CHF",
    "OCEAN/XBT",
    "OMG/USD",
    "XBT/CHF",
    "ADA/XBT",
]
CASES = [
    (
        "bybit-linear",
        "bybit/BYBIT.jsonl",
        "BYBIT.ws.2",
        lambda: bybit_protocol("bybit-linear"),
        ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"],
    ),
    (
        "bybit-spot",
        "bybit/BYBIT.jsonl",
        "BYBIT.ws.3",
        lambda: bybit_protocol("bybit-spot"),
        ["BTCUSDT", "ETHUSDT"],
    ),
    ("okx", "okx/OKX.ws.1.0", None, OkxProtocol, ["BTC-USDT", "UNI-USD-SWAP", "BTC-USD-220527"]),
    ("kraken (v1)", "kraken/KRAKEN.ws.50.0", None, KrakenV1Protocol, KRAKEN_PAIRS),
    ("coinbase", "coinbase/COINBASE.jsonl", None, CoinbaseProtocol, ["BTC-USD", "ETH-USD"]),
]


def _run(make, venue: str, symbols: list[str], warm: list, timed: list) -> tuple[float, int]:
    """Best-of-``REPEATS`` seconds to feed ``timed`` after an untimed ``warm`` prefix, and its book messages."""
    best, depth = float("inf"), 0
    for _ in range(REPEATS):
        driver = OfflineDriver(make(), [Instrument(venue, s) for s in symbols])
        driver.feed_all(warm)
        before = sum(h.messages for h in driver.health.values())
        t0 = time.perf_counter()
        driver.feed_all(timed)
        best = min(best, time.perf_counter() - t0)
        depth = sum(h.messages for h in driver.health.values()) - before
    return best, depth


def main() -> int:
    """Print one line per venue: the whole capture, then steady state after the last snapshot."""
    if not DATA.is_dir():
        sys.stderr.write(f"captures not found at {DATA}\n")
        return 1
    out = sys.stdout
    out.write(f"{'venue':16} {'frames':>7} {'book msgs':>9} {'frames/s':>10} {'book msgs/s':>11}\n")
    for name, rel, conn, make, symbols in CASES:
        frames = [
            (r.recv_ns, r.data)
            for r in read_capture(DATA / rel)
            if r.kind == "recv" and (conn is None or r.conn == conn)
        ]
        venue = make().venue
        # Steady state: only the frames after the last book snapshot (Coinbase's two
        # ~45,000-level snapshots dominate its whole-file figure).
        last = max(
            i
            for i, (_, p) in enumerate(frames)
            if ('"snapshot"' in p and any(c in p for c in BOOK_CHANNELS)) or '{"as":' in p
        )
        for label, warm, timed in (
            (name, [], frames),
            ("  after snapshot", frames[: last + 1], frames[last + 1 :]),
        ):
            secs, depth = _run(make, venue, symbols, warm, timed)
            out.write(
                f"{label:16} {len(timed):7d} {depth:9d} {len(timed) / secs:10.0f} {depth / secs:11.0f}\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
