"""Benchmark: heatmap history cost per second per market, and the heatmap widget's render time.

Not a test (pytest does not collect it): run by hand from the repo root,

    PYTHONPATH=$PWD/.dev python tests/bench/bench_heatmap.py [--seconds N]

Engine workload: a 1000-level-per-side book with a level on every tick, the
default ``[heatmap]`` parameters (120 rows, 240 columns, automatic row height
from 50 bps), 50 trades per second, one column closed per second. Two markets:

* ``dense-fine``: tick 0.5 at 10 000 (rows of 1 tick: ~120 levels in range);
* ``btc-like``: tick 0.1 at 60 000 (rows of 20 ticks: every one of the 2000
  levels is in range, the worst case).

Prints the mean and p99 cost of one second (column close + its trades), the
per-trade cost, and the aligned snapshot build (done once per column, for the
focused market only).

Widget: :class:`~tapescope.widgets.heatmap.LiquidityHeatmap` at 120x40 in a
headless App, fed a full 240-column history; each round assigns the next
column's snapshot and times ``rebuild`` plus drawing all 40 lines with an
empty strip cache (what one column scroll costs).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import statistics
import sys
import time

from rich.console import Console

from tapescope.engine.events import BookSnapshot, Trade
from tapescope.engine.heatmap import HeatmapHistory, HeatmapParams
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import Market

T0 = 1_700_000_000
NS = 1_000_000_000


def out(line: str) -> None:
    sys.stdout.write(line + "\n")


def build(mid: float, tick: float, levels: int = 1000, seed: int = 3) -> tuple[Market, HeatmapHistory]:
    rng = random.Random(seed)
    m = Market(Instrument("bench", "X", tick_size=tick))
    h = HeatmapHistory.attach(m, HeatmapParams())
    bids = [(round(mid - tick * (k + 1), 8), rng.uniform(0.1, 20.0)) for k in range(levels)]
    asks = [(round(mid + tick * k, 8), rng.uniform(0.1, 20.0)) for k in range(levels)]
    m.on_event(BookSnapshot("bench:X", T0 * NS, 0, bids, asks))
    return m, h


def bench_engine(name: str, mid: float, tick: float, seconds: int) -> None:
    m, h = build(mid, tick)
    rng = random.Random(5)
    trades = [Trade("bench:X", 0, 0, mid + tick * rng.randint(-30, 30), rng.uniform(0.01, 2.0),
                    rng.choice((1, -1))) for _ in range(50)]
    sec = T0 + 1
    h.on_second(sec, m)  # closes the first column and chooses the row height
    per_second = []
    for _ in range(seconds):
        sec += 1
        t0 = time.perf_counter()
        for tr in trades:
            h.on_trade(tr, m)
        h.on_second(sec, m)
        per_second.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(20):
        for tr in trades:
            h.on_trade(tr, m)
    per_trade = (time.perf_counter() - t0) / (20 * len(trades))
    snaps = []
    for _ in range(50):
        sec += 1
        h.on_second(sec, m)
        t0 = time.perf_counter()
        h.snapshot()
        snaps.append(time.perf_counter() - t0)
    in_range = sum(1 for side in (m.book.bids, m.book.asks)
                   for p in side.irange(h.snapshot().base * h.step,
                                        (h.snapshot().base + h.params.rows) * h.step))
    per_second.sort()
    out(f"{name:11s} step {h.step:g} ({round(h.step / tick)} ticks), {in_range} levels in range: "
          f"per second median {statistics.median(per_second) * 1e6:6.1f} us, "
          f"mean {statistics.mean(per_second) * 1e6:6.1f} us, "
          f"p99 {per_second[int(0.99 * (len(per_second) - 1))] * 1e6:7.1f} us "
          f"(50 trades at {per_trade * 1e6:.2f} us each + one column close); "
          f"snapshot median {statistics.median(snaps) * 1e6:6.1f} us")


async def bench_widget(rounds: int) -> None:
    from textual.app import App, ComposeResult

    from tapescope.widgets.heatmap import LiquidityHeatmap

    m, h = build(60_000.0, 0.1)
    rng = random.Random(9)
    sec = T0 + 1
    for _ in range(h.params.columns + rounds + 1):
        for _ in range(30):
            p = 60_000.0 + 0.1 * rng.randint(-40, 40)
            h.on_trade(Trade("bench:X", 0, 0, p, rng.uniform(0.01, 2.0), rng.choice((1, -1))), m)
        sec += 1
        h.on_second(sec, m)
    history = []  # snapshots one column apart, the last `rounds` of them
    for _ in range(rounds):
        sec += 1
        h.on_second(sec, m)
        history.append(h.snapshot())

    class Bench(App[None]):
        def get_theme_variable_defaults(self) -> dict[str, str]:
            return {"bid": "green", "ask": "red", "buy": "green", "sell": "red",
                    "alert": "yellow", "chart-price": "blue"}

        def compose(self) -> ComposeResult:
            yield LiquidityHeatmap()

    app = Bench()
    async with app.run_test(size=(120, 40)) as pilot:
        hm = app.query_one(LiquidityHeatmap)
        hm.heatmap = history[0]
        await pilot.pause()
        times = []
        sizes = []
        console = Console(color_system="truecolor", force_terminal=True, width=hm.size.width,
                          file=io.StringIO())
        for snap in history[1:]:
            t0 = time.perf_counter()
            hm.heatmap = snap  # watch -> rebuild (build_lines)
            hm._strips.clear()
            strips = [hm.render_line(y) for y in range(hm.size.height)]
            times.append(time.perf_counter() - t0)
            # ANSI bytes of the lines one column scroll rewrites (all of them).
            sizes.append(sum(len(strip.render(console).encode()) for strip in strips))
        await pilot.pause()
        times.sort()
        out(f"widget {hm.size.width}x{hm.size.height}: one column scroll (build + draw "
              f"{hm.size.height} lines) median {statistics.median(times) * 1e3:.2f} ms, "
              f"mean {statistics.mean(times) * 1e3:.2f} ms, "
              f"p99 {times[int(0.99 * (len(times) - 1))] * 1e3:.2f} ms over {len(times)} columns; "
              f"same snapshot again: 0 lines refreshed")
        out(f"widget {hm.size.width}x{hm.size.height}: ANSI bytes per column scroll (truecolor) "
            f"median {statistics.median(sizes) / 1024:.1f} KiB; at column_s = 1 that is the "
            f"heatmap's terminal traffic per second while shown")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=600, help="columns closed per market")
    ap.add_argument("--rounds", type=int, default=60, help="widget columns rendered")
    args = ap.parse_args(argv)
    out(f"python {sys.version.split()[0]}")
    bench_engine("dense-fine", 10_000.0, 0.5, args.seconds)
    bench_engine("btc-like", 60_000.0, 0.1, args.seconds)
    asyncio.run(bench_widget(args.rounds))


if __name__ == "__main__":
    main()
