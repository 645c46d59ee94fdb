"""The measured paths of ``tapescope bench`` and how one is measured.

Each path is a ``setup(stream) -> (step, finish)`` pair (:data:`SETUPS`):
``loads``, ``sorteddict``, ``engine`` and ``full`` (see
:mod:`tapescope.tui.bench`). :func:`measure_path` times one path for
throughput and per-message latency on fresh state, :func:`measure_isolated`
does so in a forked child (its own peak RSS), and :func:`profile_engine`
reports cProfile hot spots of a path or of its once-a-second ticks only.
Nothing here imports Textual.
"""

from __future__ import annotations

import cProfile
import gc
import io
import os
import pstats
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sortedcontainers import SortedDict

from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import ContractKind, Instrument
from tapescope.feeds.venues.base import MsgKind
from tapescope.feeds.venues.binance import BinanceUsdmProtocol
from tapescope.feeds.venues.synth import SynthStream
from tapescope.tui.bench_memory import peak_mib, reset_peak, rss_now_mib

__all__ = [
    "PATHS", "SETUPS", "HotSpot", "PathResult", "Setup", "measure_isolated", "measure_path",
    "profile_engine", "setup_engine", "setup_full", "setup_loads", "setup_sorteddict",
]

#: Names and labels of the measured paths, in report order.
PATHS = {
    "loads": "(a) orjson.loads only",
    "sorteddict": "(b) bare SortedDict book",
    "engine": "(c) decode + sync + Market",
    "full": "(d) full pipeline: (c) + MarketAnalysis",
}

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


def measure_isolated(name: str, stream: SynthStream) -> tuple[PathResult, Any, bool]:
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
    """cProfile a path over the stream; the ``top`` functions by own time.

    ``path`` is ``engine`` or ``full`` (every message), or ``tick``: the full
    path with the profiler on only while ``Market`` closes a second (the
    once-a-second tick that sets the full path's p99).
    """
    prof = cProfile.Profile()
    if path == "tick":
        from tapescope.engine.market import Market

        step, _ = SETUPS["full"](stream)
        market = _market_of(step)
        close = market._tick

        def profiled_tick(sec: int) -> None:
            prof.enable()
            try:
                close(sec)
            finally:
                prof.disable()

        # An instance attribute shadows the method for this one market only.
        assert isinstance(market, Market)
        market._tick = profiled_tick  # type: ignore[method-assign]
        for i, f in enumerate(stream.frames):
            step(f, i)
    else:
        step, _ = SETUPS[path](stream)
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


def _market_of(step: Callable[[bytes, int], None]) -> Any:
    """The ``Market`` a path's ``step`` closure feeds (its ``on_event`` bound method)."""
    for cell in step.__closure__ or ():
        owner = getattr(cell.cell_contents, "__self__", None)
        if type(owner).__name__ == "Market":
            return owner
    raise LookupError("the path's step does not feed a Market")
