"""Benchmark: per-event cost of Market.on_event over a bare Book.apply_delta.

Not a test (pytest does not collect it): run by hand from the repo root,

    PYTHONPATH=$PWD/.dev python tests/bench/bench_market.py [--messages N]

Workload: a 1000-level-per-side book; deltas of 20 levels (10 per side), prices
concentrated near the touch (so the top 5 levels change often and OFI does real
work), 20 % deletes, 100 messages per second of event time (so second closes
are included). Prints us/message for:

* bare ``Book.apply_delta`` and ``Market.on_event`` (the engine overhead);
* the project target: Binance-style JSON through orjson + float parsing into a
  bare SortedDict (baseline) against the same parse + ``Market.on_event``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import orjson
from sortedcontainers import SortedDict

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Trade
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import Market

MID = 10_000.0
TICK = 0.5
LEVELS = 1000
T0 = 1_700_000_000


def make_workload(n: int, seed: int = 7):
    rng = random.Random(seed)

    def level(side: int) -> tuple[float, float]:
        k = min(1 + int(rng.expovariate(1 / 25)), LEVELS)
        price = MID - side * k * TICK if side > 0 else MID + k * TICK
        qty = 0.0 if rng.random() < 0.2 else round(rng.uniform(0.001, 5.0), 3)
        return price, qty

    bids0 = [(MID - k * TICK, 1.0) for k in range(1, LEVELS + 1)]
    asks0 = [(MID + k * TICK, 1.0) for k in range(1, LEVELS + 1)]
    deltas = []
    for i in range(n):
        ts = (T0 * 1000 + i * 10) * 1_000_000  # 100 msg/s of event time
        deltas.append((ts, [level(+1) for _ in range(10)], [level(-1) for _ in range(10)]))
    return bids0, asks0, deltas


def best_of(fns, repeat: int) -> list[float]:
    """Best time of each function, running them interleaved so load spikes hit all alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            times[i].append(fn())
    return [min(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    n = args.messages
    bids0, asks0, deltas = make_workload(n)
    inst = Instrument("bench", "X", tick_size=TICK)
    key = inst.key
    events = [BookDelta(key, ts, ts, b, a, i) for i, (ts, b, a) in enumerate(deltas)]
    raws = [
        orjson.dumps({"e": "depthUpdate", "E": ts // 1_000_000, "s": "X", "U": i, "u": i,
                      "b": [[str(p), str(q)] for p, q in b], "a": [[str(p), str(q)] for p, q in a]})
        for i, (ts, b, a) in enumerate(deltas)
    ]

    def run_book() -> float:
        book = Book()
        book.apply_snapshot(bids0, asks0)
        t = time.process_time()
        for _, b, a in deltas:
            book.apply_delta(b, a)
        return (time.process_time() - t) / n

    def new_market() -> Market:
        m = Market(inst)
        m.on_event(BookSnapshot(key, T0 * 10**9 - 1, 0, bids0, asks0))
        # A trade per second keeps the flow rings non-trivial.
        m.on_event(Trade(key, T0 * 10**9, 0, MID, 1.0, 1))
        return m

    def run_market() -> float:
        m = new_market()
        on_event = m.on_event
        t = time.process_time()
        for ev in events:
            on_event(ev)
        dt = (time.process_time() - t) / n
        assert m.crossed == 0
        return dt

    def run_parse_sorteddict() -> float:
        bids, asks = SortedDict(bids0), SortedDict(asks0)
        loads = orjson.loads
        t = time.process_time()
        for raw in raws:
            msg = loads(raw)
            for side, levels in ((bids, msg["b"]), (asks, msg["a"])):
                for p, q in levels:
                    p, q = float(p), float(q)
                    if q > 0.0:
                        side[p] = q
                    else:
                        side.pop(p, None)
        return (time.process_time() - t) / n

    def run_parse_market() -> float:
        m = new_market()
        on_event = m.on_event
        loads = orjson.loads
        t = time.process_time()
        for raw in raws:
            msg = loads(raw)
            ts = msg["E"] * 1_000_000
            on_event(BookDelta(key, ts, ts, [(float(p), float(q)) for p, q in msg["b"]],
                               [(float(p), float(q)) for p, q in msg["a"]], msg["u"]))
        return (time.process_time() - t) / n

    book_us, market_us, base_us, full_us = (
        t * 1e6 for t in best_of((run_book, run_market, run_parse_sorteddict, run_parse_market), args.repeat)
    )
    lines = [
        f"messages {n}, 20 levels each, book {LEVELS} levels/side, CPU time, best of {args.repeat}",
        f"Book.apply_delta           {book_us:7.2f} us/msg",
        f"Market.on_event            {market_us:7.2f} us/msg   overhead {market_us - book_us:5.2f} us",
        f"parse + SortedDict (base)  {base_us:7.2f} us/msg   {1e6 / base_us:9.0f} msg/s",
        f"parse + Market.on_event    {full_us:7.2f} us/msg   {1e6 / full_us:9.0f} msg/s"
        f"   = {base_us / full_us:.0%} of baseline (target >= 50 %)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
