"""Loopback throughput of the live layer: emulator -> websocket -> LiveFeed -> sink.

:func:`measure_loopback` is what ``tapescope bench`` calls to report how many
venue frames per second the whole live path (socket read, raw tap, decode,
book sync, event delivery) sustains on this machine, with the real adapter
of the venue and an optional engine sink. The wall clock is read here, in
``feeds``, never in ``engine``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tapescope.engine.events import Event, FeedState
from tapescope.feeds.emulator.faults import Fault
from tapescope.feeds.emulator.scripts.base import Script
from tapescope.feeds.emulator.scripts.binance import generate
from tapescope.feeds.emulator.server import Emulator
from tapescope.feeds.venues.live import LiveFeed
from tapescope.feeds.venues.settings import VenueEndpoint, VenuesSettings


class CountingSink:
    """A sink that only counts (measures the live layer without the engine)."""

    def __init__(self) -> None:
        self.events = 0
        """Events received."""
        self.raw = 0
        """Raw frames seen by the tap."""

    def on_event(self, event: Event) -> None:
        self.events += 1

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        self.raw += 1


@dataclass(slots=True)
class LoopbackResult:
    """What one loopback run measured."""

    venue: str
    """Venue id."""
    markets: int
    """Markets on the watchlist."""
    frames: int
    """Frames the emulator sent."""
    seconds: float
    """Wall time from the feed's start until it had received every frame."""
    frames_per_s: float
    """``frames / seconds``."""
    events: int
    """Events delivered to the sink."""
    states: dict[str, str] = field(default_factory=dict)
    """Final state of each market."""
    problems: dict[str, int] = field(default_factory=dict)
    """Summed gaps, resyncs, malformed frames and reconnects (0 in a clean run)."""


async def measure_loopback(
    venue: str = "binance-usdm",
    symbols: Sequence[str] = ("BTCUSDT",),
    n_events: int = 20_000,
    *,
    script: Script | None = None,
    sink: Any = None,
    faults: Sequence[Fault] = (),
    rate: float = 0.0,
    venue_config: Any = None,
    timeout_s: float = 120.0,
) -> LoopbackResult:
    """Serve a market on loopback and time the live feed consuming it.

    Args:
        venue: Venue id (generated markets exist for ``binance-usdm``/``binance-spot``;
            pass ``script`` for the others).
        symbols: Symbols of the generated market.
        n_events: Book diffs per symbol in the generated market.
        script: A ready script instead of a generated one.
        sink: Where events go (default: a :class:`CountingSink`; pass an engine Hub
            to include the engine).
        faults: Faults to inject.
        rate: Emulator pacing, frames/s (0: as fast as the feed reads).
        venue_config: The venue's settings dataclass; its URLs are replaced by the
            emulator's when it has ``ws_url``/``rest_url`` fields.
        timeout_s: Give up after this long.

    Returns:
        The measurement.
    """
    script = script or generate(venue, list(symbols), n_events, seed=1)
    sink = sink if sink is not None else CountingSink()
    settings = VenuesSettings(backoff_base_s=0.05, backoff_max_s=1.0, rest_min_interval_s=0.0, stall_timeout_s=10.0)
    async with Emulator(venue, script, faults, rate=rate) as emu:
        if venue_config is not None:
            import dataclasses

            names = {f.name for f in dataclasses.fields(venue_config)}
            urls = {k: v for k, v in (("ws_url", emu.ws_url), ("rest_url", emu.rest_url)) if k in names}
            cfg: Any = dataclasses.replace(venue_config, **urls)
        else:
            cfg = VenueEndpoint(emu.ws_url, emu.rest_url)
        keys = [f"{venue}:{s}" for s in script.symbols if s]
        feed = LiveFeed({venue: cfg}, keys, settings=settings)
        t0 = time.perf_counter()
        task = asyncio.create_task(feed.run(sink))
        try:
            await emu.wait_done(timeout_s)

            async def received_all() -> None:
                while sum(c.messages for c in feed.connection_health()) < emu.stats["frames_sent"]:
                    await asyncio.sleep(0.005)

            await asyncio.wait_for(received_all(), timeout_s)
            seconds = time.perf_counter() - t0
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    health = feed.symbol_health()
    conns = feed.connection_health()
    frames = emu.stats["frames_sent"]
    return LoopbackResult(
        venue=venue,
        markets=len(keys),
        frames=frames,
        seconds=seconds,
        frames_per_s=frames / seconds if seconds > 0 else 0.0,
        events=getattr(sink, "events", 0),
        states={h.key: FeedState(h.state).name for h in health},
        problems={
            "gaps": sum(h.gaps for h in health),
            "resyncs": sum(h.resyncs for h in health),
            "malformed": sum(h.malformed for h in health) + sum(c.malformed for c in conns),
            "reconnects": sum(c.reconnects for c in conns),
        },
    )
