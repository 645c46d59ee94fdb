"""Throughput of the simulator in compressed mode (events per CPU second).

Benchmarks and the lead's ``tapescope`` tooling call :func:`measure`; it
reports CPU time of this process as well as wall time, because on a shared
machine the wall clock measures the neighbours too.

>>> r = measure(SimParams(symbols=("SOL-SIM",)), 2.0)
>>> r.events > 100 and r.events_per_s > 0
True
"""

from __future__ import annotations

import time
from typing import NamedTuple

from tapescope.feeds.sim.feed import SimFeed
from tapescope.feeds.sim.params import SimParams


class GenerationRate(NamedTuple):
    """One compressed-mode run."""

    events: int
    """Events generated (including the opening status and snapshots)."""
    symbols: int
    """Markets simulated."""
    virtual_s: float
    """Virtual seconds generated."""
    cpu_s: float
    """CPU time this process spent, seconds."""
    wall_s: float
    """Wall time, seconds."""

    @property
    def events_per_s(self) -> float:
        """Events per CPU second."""
        return self.events / self.cpu_s if self.cpu_s > 0 else float("inf")

    @property
    def speedup(self) -> float:
        """Virtual seconds per CPU second (how much faster than real time)."""
        return self.virtual_s / self.cpu_s if self.cpu_s > 0 else float("inf")


def measure(params: SimParams, duration_s: float) -> GenerationRate:
    """Generate ``duration_s`` virtual seconds as fast as possible and time it.

    Args:
        params: simulator settings (symbols, rates, episodes...).
        duration_s: virtual seconds to generate.

    Returns:
        Counts and timings; feed construction (seeding the books) is excluded.
    """
    feed = SimFeed(params, realtime=False)
    n = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in feed.generate(duration_s):
        n += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return GenerationRate(n, len(feed.instruments), duration_s, cpu, wall)
