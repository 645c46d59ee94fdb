"""``tapescope bench``: engine throughput and latency on a generated Binance stream.

Four paths run on the same bytes (:mod:`tapescope.feeds.venues.synth`, a
Binance USD-M-format stream) in the same run:

* ``loads``: a bare ``orjson.loads`` loop (the floor: parsing alone).
* ``sorteddict``: a bare book: ``orjson.loads``, float conversion and
  ``SortedDict`` set/del, no validation, no sequence checks, no metrics.
* ``engine``: the real path: :meth:`BinanceUsdmProtocol.decode`, the
  :class:`BinanceUsdmSync` state machine (including its REST snapshot at the
  first frame) and ``Market.on_event`` (book, flow metrics, tape).
* ``full``: ``engine`` with :class:`~tapescope.engine.analysis.MarketAnalysis`
  attached (every detector, monitor, signal generator and the fusion).

The paths and the measuring live in :mod:`tapescope.tui.bench_paths`; this
module generates the stream, runs the rounds and builds the report.
Each path is measured twice on fresh state: one pass timed as a whole for
throughput (messages/s and level updates/s), one pass with
``time.perf_counter_ns`` around every message for p50/p99 latency. The paths
run in ``repeats`` interleaved rounds and each keeps its fastest round, so a
burst of load from other processes does not land on one path only. Each path
runs in a forked child so its peak resident set size can be read on its own:
Linux ``VmHWM`` from ``/proc/self/status``, reset through
``/proc/self/clear_refs`` when the path starts (falling back to
``resource.getrusage(...).ru_maxrss``, which then includes the parent's peak).
The report says which method was used.

Target: the engine path at least 50 % of the bare book's messages/s.

Nothing here imports Textual; the report table is drawn with rich
(:mod:`tapescope.tui.bench_report`).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from tapescope.feeds.venues.synth import SynthParams, generate
from tapescope.tui.bench_memory import SymbolMemory, symbol_memory
from tapescope.tui.bench_paths import (
    PATHS,
    SETUPS,
    HotSpot,
    PathResult,
    measure_isolated,
    measure_path,
    profile_engine,
    setup_engine,
    setup_full,
    setup_loads,
    setup_sorteddict,
)
from tapescope.tui.bench_report import hot_spot_table, print_report, report_table

__all__ = [
    "BenchParams", "BenchReport", "HotSpot", "PathResult", "PATHS", "TARGET_RATIO",
    "SETUPS", "bench", "hot_spot_table", "measure_path", "print_report", "profile_engine", "report_table",
    "run_bench", "setup_engine", "setup_full", "setup_loads", "setup_sorteddict",
]

#: Engine messages/s as a share of the bare book's that the engine path should reach.
TARGET_RATIO = 0.5
#: Full-pipeline throughput target, messages/s.
FULL_TARGET_MSGS = 50_000
#: Full-pipeline per-message p99 target, microseconds.
FULL_TARGET_P99_US = 100.0
_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class BenchParams:
    """What ``tapescope bench`` generates and measures."""

    messages: int = field(default=20000, metadata={"min": 100, "max": 10_000_000})
    """Frames in the generated stream (depth diffs plus trades)."""
    levels: int = field(default=1000, metadata={"min": 10, "max": 100_000})
    """Book levels per side."""
    changes: int = field(default=20, metadata={"min": 1, "max": 1000})
    """Mean level changes per depth message."""
    delete_fraction: float = field(default=0.2, metadata={"min": 0.0, "max": 0.9})
    """Share of level changes that delete a level."""
    trade_ratio: float = field(default=0.25, metadata={"min": 0.0, "max": 0.9})
    """Share of frames that are trades."""
    seed: int = 7
    """Stream seed (equal seeds give identical bytes)."""
    repeats: int = field(default=3, metadata={"min": 1, "max": 50})
    """Rounds over all paths; each path keeps its best round (the machine may be shared)."""
    isolate: bool = True
    """Run each path in a forked child so peak RSS is per path (Linux); else in-process."""
    profile: bool = False
    """Also profile the engine path with cProfile and report the hot spots."""
    profile_top: int = field(default=12, metadata={"min": 1, "max": 100})
    """Hot spots listed when profiling."""
    profile_path: str = field(default="full", metadata={"choices": ["engine", "full", "tick"]})
    """Path profiled when ``profile`` is set (``tick``: only the full path's once-a-second ticks)."""
    memory: bool = True
    """Also measure the heap one symbol's full pipeline retains (:mod:`tapescope.tui.bench_memory`)."""


@dataclass(slots=True)
class BenchReport:
    """Everything ``tapescope bench`` measured (also the source of README figures)."""

    params: BenchParams
    """What was generated."""
    depth_messages: int
    """Depth frames in the stream."""
    trades: int
    """Trade frames in the stream."""
    level_updates: int
    """Level entries over all depth frames."""
    stream_bytes: int
    """Total frame bytes."""
    results: list[PathResult]
    """One per path, in :data:`PATHS` order."""
    engine_vs_book: float
    """Engine messages/s divided by bare-book messages/s."""
    target: float = TARGET_RATIO
    """Required :attr:`engine_vs_book`."""
    rss_method: str = ""
    """How peak RSS was measured."""
    python: str = ""
    """Interpreter and platform."""
    engine_books_match: bool = False
    """The engine's final book equals the bare book's (both paths did the same work)."""
    hot_spots: list[HotSpot] = field(default_factory=list)
    """Profile of the profiled path, slowest first (empty unless profiled)."""
    full_vs_book: float = 0.0
    """Full-pipeline messages/s divided by bare-book messages/s."""
    full_books_match: bool = False
    """The full pipeline's final book equals the bare book's."""
    memory: SymbolMemory | None = None
    """Heap one symbol's full pipeline retains (None when not measured)."""
    profiled: str = "engine"
    """Which path :attr:`hot_spots` profiles."""
    kernel_warm_up_s: float = 0.0
    """Seconds ``warm_up_kernels()`` took before the paths ran (numba import + cache load or compile)."""
    load_avg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """1, 5 and 15 minute load averages when the paths had run (the machine may be shared)."""

    @property
    def meets_full_target(self) -> bool:
        """True when the full pipeline reaches :data:`FULL_TARGET_MSGS` and :data:`FULL_TARGET_P99_US`."""
        full = self.result("full")
        return full.msgs_per_s >= FULL_TARGET_MSGS and full.p99_us < FULL_TARGET_P99_US

    @property
    def meets_target(self) -> bool:
        """True when the engine path reaches the target share of the bare book."""
        return self.engine_vs_book >= self.target

    def result(self, name: str) -> PathResult:
        """The result of path ``name``."""
        return next(r for r in self.results if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready) of the report."""
        d = asdict(self)
        d["meets_target"] = self.meets_target
        d["meets_full_target"] = self.meets_full_target
        return d


def run_bench(params: BenchParams | None = None) -> BenchReport:
    """Generate the stream and measure every path (see module docstring).

    Returns:
        The report; print it with :func:`print_report`.
    """
    p = params or BenchParams()
    stream = generate(
        SynthParams(
            messages=p.messages, levels=p.levels, changes=p.changes,
            delete_fraction=p.delete_fraction, trade_ratio=p.trade_ratio, seed=p.seed,
        )
    )
    isolate = p.isolate and hasattr(os, "fork") and sys.platform.startswith("linux")
    # The app loads the numba kernels in a thread after its first frame; load
    # them here before any path runs (forked children inherit them), so the
    # full path measures steady state and the load is reported on its own.
    from tapescope.engine.volatility import warm_up_kernels

    t_warm = time.perf_counter()
    warm_up_kernels()
    kernel_warm_up_s = time.perf_counter() - t_warm
    books: dict[str, Any] = {}
    per_path_rss = True
    best: dict[str, PathResult] = {}
    for _round in range(p.repeats):
        for name in PATHS:
            res, book, reset_ok = measure_isolated(name, stream) if isolate else measure_path(name, stream)
            per_path_rss &= reset_ok
            books[name] = book
            prev = best.get(name)
            if prev is None:
                best[name] = res
                continue
            peak = max(prev.peak_rss_mib, res.peak_rss_mib)
            growth = max(prev.rss_growth_mib, res.rss_growth_mib)
            if res.seconds < prev.seconds:
                prev.seconds, prev.msgs_per_s, prev.levels_per_s = res.seconds, res.msgs_per_s, res.levels_per_s
            prev.cpu_msgs_per_s = max(prev.cpu_msgs_per_s, res.cpu_msgs_per_s)
            if res.p50_us < prev.p50_us:
                prev.p50_us, prev.p99_us, prev.max_us = res.p50_us, res.p99_us, res.max_us
            prev.peak_rss_mib, prev.rss_growth_mib = peak, growth
    results = [best[name] for name in PATHS]
    if isolate and per_path_rss:
        method = "VmHWM (/proc/self/status) per forked child, peak reset via /proc/self/clear_refs"
    elif isolate:
        method = "ru_maxrss per forked child (includes the parent's peak at fork)"
    else:
        method = "ru_maxrss of this process (cumulative high-water mark across paths)"
    by = {r.name: r for r in results}
    ratio = by["engine"].msgs_per_s / by["sorteddict"].msgs_per_s if by["sorteddict"].msgs_per_s else 0.0
    report = BenchReport(
        params=p,
        depth_messages=stream.depth_messages,
        trades=stream.trades,
        level_updates=stream.level_updates,
        stream_bytes=sum(map(len, stream.frames)),
        results=results,
        engine_vs_book=ratio,
        rss_method=method,
        python=f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}",
        engine_books_match=books["engine"] == books["sorteddict"],
    )
    report.kernel_warm_up_s = kernel_warm_up_s
    if hasattr(os, "getloadavg"):
        report.load_avg = os.getloadavg()
    full = by["full"]
    report.full_vs_book = full.msgs_per_s / by["sorteddict"].msgs_per_s if by["sorteddict"].msgs_per_s else 0.0
    report.full_books_match = books["full"] == books["sorteddict"]
    if p.memory:
        report.memory = symbol_memory(stream)
    if p.profile:
        report.hot_spots = profile_engine(stream, p.profile_top, p.profile_path)
        report.profiled = p.profile_path
    return report


def bench(params: BenchParams | None = None, console: Any = None) -> BenchReport:
    """Run the benchmark and print its tables (what ``tapescope bench`` calls).

    Args:
        params: what to generate and measure (defaults: :class:`BenchParams`).
        console: a ``rich.console.Console`` to print on (stdout by default).

    Returns:
        The report, for callers that also want the figures (README, JSON).
    """
    report = run_bench(params)
    print_report(report, console)
    return report
