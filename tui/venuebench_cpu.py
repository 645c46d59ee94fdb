"""Client CPU for 100 symbols on one connection set, fed by the loopback emulator at recorded speed.

The issue's second target: the process stays under 50 % of one core with at
least 100 symbols at each venue's normal rates. :func:`measure_cpu`:

1. builds a script that replicates the venue's recorded stream (book + trades)
   across ``symbols`` new symbol names, with sequence ids shifted per copy so
   every copy is a valid, independent chain (:func:`fanout_script`);
2. starts the emulator **in a separate process** (its CPU is not counted),
   paced at the recorded mean rate times the number of copies (constant
   pacing: the recording's bursts are spread evenly);
3. runs one :class:`LiveFeed` into an engine :class:`Hub` in this process
   (optionally with :meth:`MarketAnalysis.attach` on every market), waits until
   every book is LIVE (or ``warmup_s`` passed), then reads
   ``time.process_time()`` (CPU of this process, all threads) and the wall
   clock over ``seconds`` and reports CPU as % of one core, together with the
   frames/s actually received, so a run where the emulator could not keep up
   is visible.

The wall clock is read here (``tui``), never in ``engine``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tapescope.engine.events import FeedState
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import ContractKind, Instrument
from tapescope.feeds.captures import read_capture
from tapescope.feeds.emulator.scripts.base import Script, ScriptFrame

__all__ = [
    "CPU_NOTES", "CPU_TARGET_PCT", "CPU_VENUES", "CpuParams", "CpuResult", "bench_cpu", "cpu_table",
    "fanout_script", "measure_cpu", "recorded_rate",
]

#: Most CPU (% of one core) the client may use with 100 symbols at normal rates.
CPU_TARGET_PCT = 50.0
#: Venues the CPU measurement supports: capture path and channels replayed.
CPU_VENUES = {
    "binance-usdm": "binance_usdm/btcusdt_20240808.gz",
    "binance-usdm-alts": "binance_usdm/BINANCE_FUTURES.ws.1.0",
    "bybit-linear": "bybit/BYBIT.jsonl",
}
#: What each CPU stream is (for the report).
CPU_NOTES = {
    "binance-usdm": "BTCUSDT depth@0ms + trades (busiest contract, unthrottled diffs: a worst case)",
    "binance-usdm-alts": "SUSHI/AKRO/KEEP/CTK depth@100ms + aggTrade (typical alt rates)",
    "bybit-linear": "BTC/ETH/SOL/DOGE orderbook.200 + publicTrade",
}
#: Depth stream speed our Binance adapter subscribes (``@depth@100ms``).
BINANCE_DEPTH_SPEED = "100ms"
#: Shift of sequence ids between two copies (keeps every copy's chain distinct and > 1).
ID_SHIFT = 1_000_000_007


@dataclass(frozen=True, slots=True)
class CpuParams:
    """What the CPU measurement runs."""

    venue: str = field(default="binance-usdm", metadata={"choices": sorted(CPU_VENUES)})
    """Venue whose recorded stream is replicated."""
    symbols: int = field(default=100, metadata={"min": 1, "max": 1000})
    """Symbols on the watchlist (copies of the recorded symbols)."""
    seconds: float = field(default=40.0, metadata={"min": 1.0, "max": 3600.0})
    """Measured window."""
    warmup_s: float = field(default=30.0, metadata={"min": 0.0, "max": 600.0})
    """Longest wait for every book to be LIVE before the window opens."""
    analysis: bool = True
    """Attach ``MarketAnalysis`` (detectors, signals, volatility, levels) to every market."""
    speed: float = field(default=1.0, metadata={"min": 0.01, "max": 100.0})
    """Multiple of the recorded rate (1.0: recorded speed)."""
    data_dir: str = ""
    """Folder holding the captures (empty: ``../shared/data`` beside the repository)."""


@dataclass(slots=True)
class CpuResult:
    """One CPU measurement."""

    params: CpuParams
    """What was run."""
    recorded_fps: float
    """Recorded frames/s (book + trades) of the original capture, all its symbols."""
    target_fps: float
    """Emulator pacing: ``recorded_fps * copies * speed``."""
    received_fps: float
    """Frames/s the client received in the window (below target: the emulator fell behind)."""
    cpu_pct: float
    """Client process CPU in the window, % of one core."""
    cpu_pct_at_target: float
    """``cpu_pct`` scaled to the target rate when fewer frames arrived (CPU per frame held constant)."""
    seconds: float
    """Window length (wall): ``params.seconds``, or less when the capture's timeline ends first."""
    connections: int
    """Websocket connections the feed opened."""
    live: int
    """Markets LIVE when the window closed."""
    warmup_s: float
    """Time until every market was LIVE (or the cap)."""
    events: int
    """Events the hub received in the window."""
    problems: dict[str, int] = field(default_factory=dict)
    """Gaps, resyncs, malformed frames and reconnects over the whole run."""

    @property
    def meets_target(self) -> bool:
        """Under :data:`CPU_TARGET_PCT` at the target rate with every market LIVE."""
        return self.cpu_pct_at_target < CPU_TARGET_PCT and self.live == self.params.symbols

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        d = asdict(self)
        d["meets_target"] = self.meets_target
        return d


def _data_dir(params: CpuParams) -> Path:
    if params.data_dir:
        return Path(params.data_dir)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _venue(stream: str) -> str:
    """Venue id of a CPU stream name (``binance-usdm-alts`` is ``binance-usdm``)."""
    return "binance-usdm" if stream.startswith("binance") else stream


def _keep(venue: str, rec, linear: set[str]) -> bool:
    if venue.startswith("binance"):
        head = rec.data[:48]
        return rec.data.startswith('{"stream"') and ("@depth" in head or "@trade" in head or "@aggTrade" in head)
    return rec.conn in linear and rec.data.startswith(('{"topic":"orderbook.', '{"topic":"publicTrade.'))


def recorded_rate(venue: str, data_dir: Path) -> float:
    """Mean recorded frames/s (book + trades, all symbols) of ``venue``'s capture."""
    linear: set[str] = set()
    first = last = None
    n = 0
    for rec in read_capture(data_dir / CPU_VENUES[venue]):
        if rec.kind == "connect" and rec.url.rstrip("/").endswith("/linear"):
            linear.add(rec.conn)
        elif rec.kind == "recv" and _keep(venue, rec, linear):
            first = rec.recv_ns if first is None else first
            last = rec.recv_ns
            n += 1
    if n < 2 or last == first:
        raise ValueError(f"{venue}: capture too short to know its rate")
    return (n - 1) / ((last - first) / 1e9)


def _base_script(venue: str, data_dir: Path) -> Script:
    path = str(data_dir / CPU_VENUES[venue])
    if venue == "binance-usdm":
        from tapescope.feeds.emulator.scripts.binance import load_hftbacktest

        return load_hftbacktest(path, venue, ("book", "trade"))
    if venue == "binance-usdm-alts":
        from tapescope.feeds.captures import companion_http
        from tapescope.feeds.emulator.scripts.binance import load_cryptofeed

        return load_cryptofeed(path, str(companion_http(path)), "binance-usdm", ("book", "trade"))
    from tapescope.feeds.emulator.scripts.bybit import load_jsonl

    return load_jsonl(path, "linear", ("book", "trade"))


def _copy_frame(venue: str, f: ScriptFrame, sym: str, shift: int) -> ScriptFrame:
    """Copy ``f`` for ``sym``, with its text pre-rendered as our client subscribes it.

    Trade frames keep only what the emulator's dialect reads (their text is
    final); book frames keep their data, which the dialect applies to its true
    book (REST snapshots are built from it).
    """
    dumps = orjson.dumps
    d = f.data
    if venue.startswith("binance"):
        from tapescope.feeds.emulator.scripts.binance import _as_trade_kind

        if f.channel == "book":
            d = {**d, "s": sym, "U": d["U"] + shift, "u": d["u"] + shift, "pu": d["pu"] + shift}
            stream = f"{sym.lower()}@depth@{BINANCE_DEPTH_SPEED}"
            return ScriptFrame(sym, "book", d, dumps({"stream": stream, "data": d}).decode())
        d = _as_trade_kind({**d, "s": sym}, "trade")
        return ScriptFrame(sym, "trade", {}, dumps({"stream": f"{sym.lower()}@trade", "data": d}).decode())
    topic = d["topic"].rpartition(".")[0] + "." + sym
    if f.channel == "book":
        inner = d["data"]
        inner = {**inner, "s": sym, "u": inner["u"] + shift, "seq": inner.get("seq", 0) + shift}
        msg = {**d, "topic": topic, "data": inner}
        return ScriptFrame(sym, "book", msg, dumps(msg).decode())
    msg = {**d, "topic": topic, "data": [{**t, "s": sym} for t in d["data"]]}
    return ScriptFrame(sym, "trade", {"topic": topic}, dumps(msg).decode())


def fanout_script(venue: str, base: Script, symbols: int, frames_per_symbol_set: int) -> tuple[Script, list[str]]:
    """Replicate ``base``'s first ``frames_per_symbol_set`` frames across ``symbols`` names.

    Copy ``c`` of recorded symbol ``S`` is named ``X{c:03d}S``; its sequence ids
    are shifted by ``(c + 1) * ID_SHIFT`` (REST snapshot ``lastUpdateId`` too),
    so each copy is a valid chain of its own. Frames are interleaved: every
    recorded frame is followed by its copies, so each copy runs at the recorded
    rate.

    Returns:
        The script and the new symbol names (``symbols`` of them).
    """
    originals = base.symbols
    copies = math.ceil(symbols / len(originals))
    names = [(c, o, f"X{c:03d}{o}") for c in range(copies) for o in originals][:symbols]
    by_orig: dict[str, list[tuple[int, str]]] = {}
    for c, o, name in names:
        by_orig.setdefault(o, []).append(((c + 1) * ID_SHIFT, name))
    frames: list[ScriptFrame] = []
    for f in base.frames[:frames_per_symbol_set]:
        for shift, name in by_orig.get(f.symbol, ()):
            frames.append(_copy_frame(venue, f, name, shift))
    snaps = {}
    for o, targets in by_orig.items():
        snap = base.snapshots.get(o)
        if snap is not None:
            for shift, name in targets:
                snaps[name] = {**snap, "lastUpdateId": snap["lastUpdateId"] + shift}
    return Script(base.venue, frames, snaps), [n for _, _, n in names]


# -- the emulator process -------------------------------------------------------------


def _serve(params: CpuParams, conn) -> None:
    """Child process: build the fan-out script, serve it, report the URLs, run until told to stop."""
    from tapescope.feeds.emulator.server import Emulator

    data = _data_dir(params)
    rate = recorded_rate(params.venue, data)
    base = _base_script(params.venue, data)
    per_symbol_set = math.ceil(rate * (params.seconds + params.warmup_s + 10.0) * params.speed)
    script, names = fanout_script(params.venue, base, params.symbols, per_symbol_set)
    target = rate * params.speed * params.symbols / len(base.symbols)

    async def run() -> None:
        async with Emulator(_venue(params.venue), script, rate=target, wait_for_subscriber=True) as emu:
            # Frames are pre-rendered for the streams our client subscribes, so the
            # emulator process spends its time sending, not re-encoding JSON.
            render = emu.dialect.render
            emu.dialect.render = lambda session, frame: frame.text or render(session, frame)
            conn.send((emu.ws_url, emu.rest_url, names, rate, target, len(script.frames) / target))
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)  # the parent says stop

    asyncio.run(run())


def _instrument(venue: str, sym: str) -> Instrument:
    # Tick sizes of the recorded symbols (the copies keep their prices).
    ticks = {"BTCUSDT": 0.1, "ETHUSDT": 0.01, "SOLUSDT": 0.01, "DOGEUSDT": 0.00001}
    return Instrument(venue, sym, tick_size=ticks.get(sym[4:], 0.01), lot_size=0.001, kind=ContractKind.LINEAR)


async def _client(params: CpuParams, ws_url: str, rest_url: str, names: list[str], timeline_s: float):
    from tapescope.feeds.venues.live import LiveFeed
    from tapescope.feeds.venues.settings import VenueEndpoint, VenuesSettings

    venue = _venue(params.venue)
    instruments = [_instrument(venue, s) for s in names]
    hub = Hub(instruments)
    if params.analysis:
        from tapescope.engine.analysis import MarketAnalysis

        for m in hub.markets.values():
            MarketAnalysis.attach(m)
    # REST spacing shortened so 100 snapshots do not take 25 s of warm-up (outside the window).
    settings = VenuesSettings(rest_min_interval_s=0.01, stall_timeout_s=30.0)
    feed = LiveFeed({venue: VenueEndpoint(ws_url, rest_url)}, instruments, settings=settings)
    hub.on_invalid = feed.request_resync
    task = asyncio.create_task(feed.run(hub))
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < params.warmup_s:
            if all(h.state == FeedState.LIVE for h in feed.symbol_health()):
                break
            await asyncio.sleep(0.1)
        warm = time.perf_counter() - t0
        frames0 = sum(c.messages for c in feed.connection_health())
        events0 = hub.events
        cpu0, wall0 = time.process_time(), time.perf_counter()
        # A short capture ends before the window would: close the window 1 s before it does.
        await asyncio.sleep(max(1.0, min(params.seconds, timeline_s - (wall0 - t0) - 1.0)))
        cpu1, wall1 = time.process_time(), time.perf_counter()
        frames1 = sum(c.messages for c in feed.connection_health())
        health, conns = feed.symbol_health(), feed.connection_health()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    wall = wall1 - wall0
    return {
        "cpu_pct": 100.0 * (cpu1 - cpu0) / wall,
        "seconds": wall,
        "received_fps": (frames1 - frames0) / wall,
        "events": hub.events - events0,
        "connections": len(conns),
        "live": sum(1 for h in health if h.state == FeedState.LIVE),
        "warmup_s": warm,
        "problems": {
            "gaps": sum(h.gaps for h in health),
            "resyncs": sum(h.resyncs for h in health),
            "malformed": sum(h.malformed for h in health) + sum(c.malformed for c in conns),
            "reconnects": sum(c.reconnects for c in conns),
        },
    }


def measure_cpu(params: CpuParams | None = None) -> CpuResult:
    """Serve ``params.symbols`` replicated symbols from a separate emulator process and measure this client.

    Raises:
        FileNotFoundError: the capture folder does not exist.
        RuntimeError: the emulator process did not start.
    """
    params = params or CpuParams()
    if not _data_dir(params).is_dir():
        raise FileNotFoundError(f"captures not found at {_data_dir(params)}")
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(params, child), name="tapescope emulator", daemon=True)
    proc.start()
    try:
        if not parent.poll(300):
            raise RuntimeError("the emulator process did not report its URLs")
        ws_url, rest_url, names, rate, target, timeline_s = parent.recv()
        out = asyncio.run(_client(params, ws_url, rest_url, names, timeline_s))
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
    scale = max(1.0, target / out["received_fps"]) if out["received_fps"] > 0 else float("inf")
    return CpuResult(
        params=params, recorded_fps=rate, target_fps=target, cpu_pct_at_target=out["cpu_pct"] * scale, **out
    )


def cpu_table(results: list[CpuResult]) -> Any:
    """The CPU results as a rich table (one row per run)."""
    from rich.table import Table

    t = Table(title=f"client CPU, one LiveFeed + Hub, loopback emulator in its own process (target < {CPU_TARGET_PCT:g} %)")
    for col in ("stream", "symbols", "analysis", "target f/s", "received f/s", "CPU %", "CPU % at target", "live",
                "problems"):
        t.add_column(col, justify="left" if col in ("stream", "problems") else "right")
    for r in results:
        p = r.params
        t.add_row(
            p.venue, str(p.symbols), "yes" if p.analysis else "no", f"{r.target_fps:,.0f}", f"{r.received_fps:,.0f}",
            f"{r.cpu_pct:.1f}", f"{r.cpu_pct_at_target:.1f}", f"{r.live}/{p.symbols}",
            ", ".join(f"{k} {v}" for k, v in r.problems.items() if v) or "none",
        )
    t.caption = "CPU % at target = CPU per received frame x target rate (when the emulator or a busy machine fell behind). " + \
        "; ".join(f"{k}: {v}" for k, v in CPU_NOTES.items())
    return t


def bench_cpu(params: list[CpuParams], console: Any = None) -> list[CpuResult]:
    """Run :func:`measure_cpu` for each of ``params`` in turn and print the table."""
    from rich.console import Console

    results = [measure_cpu(p) for p in params]
    (console or Console()).print(cpu_table(results))
    return results


if __name__ == "__main__":  # pragma: no cover - manual run
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venue", default="binance-usdm", choices=sorted(CPU_VENUES))
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--no-analysis", action="store_true")
    ap.add_argument("--speed", type=float, default=1.0)
    a = ap.parse_args()
    r = measure_cpu(CpuParams(a.venue, a.symbols, a.seconds, analysis=not a.no_analysis, speed=a.speed))
    import orjson

    print(orjson.dumps(r.to_dict(), option=orjson.OPT_INDENT_2).decode())  # noqa: T201 - CLI output
