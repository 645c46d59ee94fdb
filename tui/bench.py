"""``tapescope bench``: engine throughput and latency on a generated Binance stream.

Three paths run on the same bytes (:mod:`tapescope.feeds.venues.synth`, a
Binance USD-M-format stream) in the same run:

* ``loads``: a bare ``orjson.loads`` loop (the floor: parsing alone).
* ``sorteddict``: a bare book: ``orjson.loads``, float conversion and
  ``SortedDict`` set/del, no validation, no sequence checks, no metrics.
* ``engine``: the real path: :meth:`BinanceUsdmProtocol.decode`, the
  :class:`BinanceUsdmSync` state machine (including its REST snapshot at the
  first frame) and ``Market.on_event`` (book, flow metrics, tape).

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

import cProfile
import gc
import io
import os
import platform
import pstats
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sortedcontainers import SortedDict

from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import ContractKind, Instrument
from tapescope.feeds.venues.base import MsgKind
from tapescope.feeds.venues.binance import BinanceUsdmProtocol
from tapescope.feeds.venues.synth import SynthParams, SynthStream, generate
from tapescope.tui.bench_memory import (
    SymbolMemory,
    peak_mib,
    reset_peak,
    rss_now_mib,
    symbol_memory,
)
from tapescope.tui.bench_report import hot_spot_table, print_report, report_table

__all__ = [
    "BenchParams", "BenchReport", "HotSpot", "PathResult", "PATHS", "TARGET_RATIO",
    "bench", "hot_spot_table", "print_report", "profile_engine", "report_table", "run_bench",
]

#: Engine messages/s as a share of the bare book's that the engine path should reach.
TARGET_RATIO = 0.5
#: Full-pipeline throughput target, messages/s.
FULL_TARGET_MSGS = 50_000
#: Full-pipeline per-message p99 target, microseconds.
FULL_TARGET_P99_US = 100.0
#: Names and labels of the measured paths, in report order.
PATHS = {
    "loads": "(a) orjson.loads only",
    "sorteddict": "(b) bare SortedDict book",
    "engine": "(c) decode + sync + Market",
    "full": "(d) full pipeline: (c) + MarketAnalysis",
}
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
    profile_path: str = field(default="full", metadata={"choices": ["engine", "full"]})
    """Path profiled when ``profile`` is set."""
    memory: bool = True
    """Also measure the heap one symbol's full pipeline retains (:mod:`tapescope.tui.bench_memory`)."""


@dataclass(slots=True)
class PathResult:
    """Measurements of one path."""

    name: str
    """Path id: ``loads``, ``sorteddict`` or ``engine``."""
    label: str
    """Human label."""
    messages: int
    """Frames processed per pass."""
    level_updates: int
    """Level entries processed per pass (0 for ``loads``, which parses only)."""
    seconds: float
    """Wall time of the throughput pass."""
    msgs_per_s: float
    """Frames per second (throughput pass)."""
    levels_per_s: float
    """Level updates per second (throughput pass)."""
    p50_us: float
    """Median per-message latency, microseconds (latency pass)."""
    p99_us: float
    """99th percentile per-message latency, microseconds."""
    max_us: float
    """Slowest message, microseconds."""
    peak_rss_mib: float
    """Peak resident set size while the path ran, MiB (see ``BenchReport.rss_method``)."""
    rss_growth_mib: float
    """Peak minus resident size when the path started, MiB."""
    cpu_msgs_per_s: float = 0.0
    """Frames per CPU second of the throughput pass (``process_time``: less sensitive to other load)."""


@dataclass(slots=True)
class HotSpot:
    """One function from the engine-path profile."""

    function: str
    """``file:line(name)``, path shortened to the package."""
    calls: int
    """Primitive calls."""
    tottime_s: float
    """Time inside the function itself."""
    cumtime_s: float
    """Time including callees."""
    share: float
    """``tottime`` as a share of the profiled total."""


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


# -- the three paths ----------------------------------------------------------

#: A path: ``setup(stream) -> (step, finish)``; ``step(frame, recv_ns)`` processes one
#: frame, ``finish()`` returns the final book as ``(bids, asks)`` dicts or None.
Setup = Callable[[SynthStream], tuple[Callable[[bytes, int], None], Callable[[], Any]]]


def setup_loads(stream: SynthStream):
    """Path (a): parse only."""
    loads = orjson.loads

    def step(frame: bytes, recv_ns: int) -> None:
        loads(frame)

    return step, lambda: None


def setup_sorteddict(stream: SynthStream):
    """Path (b): the bare book, snapshot loaded at setup."""
    loads = orjson.loads
    snap = loads(stream.snapshot)
    bids = SortedDict((float(p), float(q)) for p, q in snap["bids"])
    asks = SortedDict((float(p), float(q)) for p, q in snap["asks"])
    bid_pop, ask_pop = bids.pop, asks.pop

    def step(frame: bytes, recv_ns: int) -> None:
        d = loads(frame)["data"]
        if d["e"] == "depthUpdate":
            for p, q in d["b"]:
                q = float(q)
                if q:
                    bids[float(p)] = q
                else:
                    bid_pop(float(p), None)
            for p, q in d["a"]:
                q = float(q)
                if q:
                    asks[float(p)] = q
                else:
                    ask_pop(float(p), None)

    return step, lambda: (dict(bids), dict(asks))


def setup_engine(stream: SynthStream, analysis: bool = False):
    """Path (c): protocol decode, book sync and the engine Market.

    With ``analysis`` it is path (d): :meth:`MarketAnalysis.attach` on the
    market, so every detector, monitor, generator and the fusion run too.
    """
    from tapescope.engine.flow import FlowParams
    from tapescope.engine.market import Market

    proto = BinanceUsdmProtocol()
    inst = Instrument(proto.venue, stream.symbol, tick_size=0.1, lot_size=0.001, kind=ContractKind.LINEAR)
    sync = proto.new_sync(inst, SymbolHealth(inst.key))
    market = Market(inst, FlowParams())
    if analysis:
        from tapescope.engine.analysis import MarketAnalysis

        MarketAnalysis.attach(market)
    on_event = market.on_event
    decode = proto.decode
    on_depth = sync.on_depth
    snapshot = stream.snapshot
    depth, event = MsgKind.DEPTH, MsgKind.EVENT

    def step(frame: bytes, recv_ns: int) -> None:
        for r in decode(frame, recv_ns):
            kind = r.kind
            if kind is depth:
                out = on_depth(r.payload, recv_ns)
                for ev in out.events:
                    on_event(ev)
                if out.need_snapshot:
                    # The live layer would fetch it; here the body is at hand.
                    for ev in sync.on_rest_snapshot(snapshot, recv_ns).events:
                        on_event(ev)
            elif kind is event:
                on_event(r.payload)

    def finish():
        return dict(market.book.bids), dict(market.book.asks)

    return step, finish


def setup_full(stream: SynthStream):
    """Path (d): the engine path with the full analysis attached."""
    return setup_engine(stream, analysis=True)


SETUPS: dict[str, Setup] = {
    "loads": setup_loads, "sorteddict": setup_sorteddict, "engine": setup_engine, "full": setup_full,
}


# -- measuring ----------------------------------------------------------------


def _percentile(sorted_ns: list[int], q: float) -> float:
    """Nearest-rank percentile of sorted nanosecond samples, in microseconds."""
    if not sorted_ns:
        return 0.0
    idx = min(len(sorted_ns) - 1, max(0, int(round(q * len(sorted_ns) + 0.5)) - 1))
    return sorted_ns[idx] / 1000.0


def measure_path(name: str, stream: SynthStream) -> tuple[PathResult, Any, bool]:
    """Run one path twice (throughput, then per-message latency) on fresh state.

    Returns:
        The result, the path's final book (or None), and whether peak RSS was
        measured per path (``clear_refs`` worked).
    """
    frames = stream.frames
    gc.collect()
    start_rss = rss_now_mib()
    reset_ok = reset_peak()
    step, _ = SETUPS[name](stream)
    t0, c0 = time.perf_counter(), time.process_time()
    for i, f in enumerate(frames):
        step(f, i)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    step, finish = SETUPS[name](stream)
    pc = time.perf_counter_ns
    lat = [0] * len(frames)
    for i, f in enumerate(frames):
        t = pc()
        step(f, i)
        lat[i] = pc() - t
    book = finish()
    peak = peak_mib(reset_ok)
    lat.sort()
    levels = 0 if name == "loads" else stream.level_updates
    n = len(frames)
    result = PathResult(
        name=name,
        label=PATHS[name],
        messages=n,
        level_updates=levels,
        seconds=seconds,
        msgs_per_s=n / seconds if seconds > 0 else 0.0,
        levels_per_s=levels / seconds if seconds > 0 else 0.0,
        p50_us=_percentile(lat, 0.50),
        p99_us=_percentile(lat, 0.99),
        max_us=lat[-1] / 1000.0 if lat else 0.0,
        peak_rss_mib=peak,
        rss_growth_mib=max(0.0, peak - start_rss),
        cpu_msgs_per_s=n / cpu if cpu > 0 else 0.0,
    )
    return result, book, reset_ok


def _measure_isolated(name: str, stream: SynthStream) -> tuple[PathResult, Any, bool]:
    """:func:`measure_path` in a forked child, so each path's peak RSS is its own."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(r)
            payload = orjson.dumps(_encode(measure_path(name, stream)))
            with os.fdopen(w, "wb") as fh:
                fh.write(payload)
        except BaseException:  # noqa: BLE001 - the child must never return into the caller
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        raise RuntimeError(f"bench path {name!r} failed in its child process")
    return _decode(orjson.loads(data))


def _encode(res: tuple[PathResult, Any, bool]) -> dict:
    result, book, reset_ok = res
    enc_book = None
    if book is not None:
        enc_book = [list(book[0].items()), list(book[1].items())]
    return {"result": asdict(result), "book": enc_book, "reset_ok": reset_ok}


def _decode(d: dict) -> tuple[PathResult, Any, bool]:
    book = None
    if d["book"] is not None:
        book = (dict(map(tuple, d["book"][0])), dict(map(tuple, d["book"][1])))
    return PathResult(**d["result"]), book, d["reset_ok"]


def profile_engine(stream: SynthStream, top: int = 12, path: str = "engine") -> list[HotSpot]:
    """cProfile a path (``engine`` or ``full``) over the stream; the ``top`` functions by own time."""
    step, _ = SETUPS[path](stream)
    prof = cProfile.Profile()
    prof.enable()
    for i, f in enumerate(stream.frames):
        step(f, i)
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    total = stats.total_tt or 1e-12
    rows = []
    for (filename, line, func), (cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename
        for marker in ("/tapescope/", "/site-packages/"):
            if marker in filename:
                start = filename.rindex(marker)
                # Keep "tapescope/..." but drop the "site-packages/" prefix itself.
                short = filename[start + 1 :] if marker == "/tapescope/" else filename[start + len(marker) :]
                break
        rows.append(HotSpot(f"{short}:{line}({func})", cc, tt, ct, tt / total))
    rows.sort(key=lambda h: h.tottime_s, reverse=True)
    return rows[:top]


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
            res, book, reset_ok = _measure_isolated(name, stream) if isolate else measure_path(name, stream)
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
