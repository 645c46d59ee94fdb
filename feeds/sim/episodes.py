"""Labelled microstructure episodes the simulator injects into one market.

The hooks they use are described in :mod:`tapescope.feeds.sim.episode_base`.
One episode runs per market at a time, so their controls never fight (random
arrivals that find the market busy are dropped, injected ones wait); regime
changes are not episodes and can happen at any time.

What each kind guarantees in the emitted events (``tests/feeds/sim``
re-derives all of it from the events alone), and its ``extra`` fields:

* ``wall`` (side +1 bid / -1 ask): ``extra["size"]`` appears at ``price`` at
  ``start_ns`` within 1 % of mid, is at least 5x the median level within 1 %
  on its side, stays until ``end_ns`` (>= 5 s) and is removed then. Takers
  never reach it (it holds the price). Extra: ``size``, ``median``,
  ``distance_bps``.
* ``spoof``: ``extra["size"]`` (wall-sized) appears at ``price`` within
  10 bps of the same side's touch and is removed at ``end_ns`` (< 10 s
  later) with no trade at that price in between, after the touch or the
  prints came toward it. Sequences repeat (one label per placement). Extra:
  ``size``, ``distance_ticks``, ``distance_bps``, ``cancel_distance_ticks``,
  ``group`` (start of the sequence), ``index``.
* ``iceberg``: the touch level at ``price`` is traded through and refills
  ``extra["refills"]`` (>= 3) times from ``extra["hidden"]`` (> display);
  more trades there than was ever displayed. Extra: ``display``, ``hidden``,
  ``refills``, ``executed_hidden``.
* ``absorption`` (side = the absorbing side: +1 bids absorb sells): over
  ``window_s`` aggressive volume into that side is ``extra["multiple"]``
  (>= 3, default 5) times its typical rate, while that side's best price
  stays within one tick of ``price``. Extra: ``volume``, ``typical_per_s``,
  ``window_s``, ``multiple``, ``refills``. The absorber holds its price by
  reloading its level each time takers empty it: that *is* an iceberg by
  the definition (trades beyond the displayed size, refilled), so when it
  refills at least 3 times the episode also writes an ``iceberg`` label over
  the same span with ``extra["within"] = "absorption"`` (before, the
  iceberg detector finding it was scored a false positive).
* ``vacuum`` (side 0, price = mid at start): resting size within
  ``band_bps`` of mid drops to about ``factor`` of what it was and stays
  below 0.3x its typical level until ``end_ns``. Extra: ``band_bps``,
  ``before``, ``after``, ``factor``.

The episode classes live in :mod:`tapescope.feeds.sim.resting_episodes`
(``wall``, ``spoof``) and :mod:`tapescope.feeds.sim.taker_episodes`
(``iceberg``, ``absorption``, ``vacuum``); this module registers them
(:data:`KINDS`), starts them and schedules their random arrivals.
"""

from __future__ import annotations

from typing import Any

from tapescope.feeds.sim.episode_base import Episode
from tapescope.feeds.sim.labels import EpisodeKind
from tapescope.feeds.sim.market import SimMarket
from tapescope.feeds.sim.resting_episodes import SPOOF_RAMP, Spoof, Wall
from tapescope.feeds.sim.taker_episodes import (
    ICEBERG_MAX_S,
    MIN_REFILLS,
    VACUUM_MARGIN,
    Absorption,
    Iceberg,
    Vacuum,
)

__all__ = [
    "ICEBERG_MAX_S",
    "KINDS",
    "MIN_REFILLS",
    "RETRY_S",
    "SPOOF_RAMP",
    "VACUUM_MARGIN",
    "Absorption",
    "Iceberg",
    "Spoof",
    "Vacuum",
    "Wall",
    "schedule_arrivals",
    "start",
]

#: Seconds between retries when an injected episode waits for the running one.
RETRY_S = 0.5


#: Episode classes by kind.
KINDS: dict[str, type[Episode]] = {
    EpisodeKind.WALL.value: Wall,
    EpisodeKind.SPOOF.value: Spoof,
    EpisodeKind.ICEBERG.value: Iceberg,
    EpisodeKind.ABSORPTION.value: Absorption,
    EpisodeKind.VACUUM.value: Vacuum,
}


def start(ts: int, arg: tuple[SimMarket, str, dict[str, Any], bool]) -> None:
    """Scheduled action: start an episode, or retry later while another runs.

    ``arg`` is ``(market, kind, opts, injected)``. Random arrivals that find
    the market busy are dropped (so intensities are upper bounds); injected
    ones wait and retry every ``RETRY_S``.
    """
    m, kind, opts, injected = arg
    if kind == EpisodeKind.REGIME_CHANGE.value:
        m.force_regime(ts, opts)
        return
    if m.ep is not None:
        if injected:
            m.schedule(ts + int(RETRY_S * 1e9), start, arg)
        return
    ep = KINDS[kind](m, opts)
    m.ep = ep
    if not ep.begin(ts):
        ep.release()


def schedule_arrivals(m: SimMarket) -> None:
    """Schedule the random (Poisson) episode arrivals configured in ``[sim.episodes]``."""
    p = m.params.episodes
    rates = {
        EpisodeKind.WALL.value: p.wall_per_hour,
        EpisodeKind.SPOOF.value: p.spoof_per_hour,
        EpisodeKind.ICEBERG.value: p.iceberg_per_hour,
        EpisodeKind.ABSORPTION.value: p.absorption_per_hour,
        EpisodeKind.VACUUM.value: p.vacuum_per_hour,
    }
    for kind, per_hour in rates.items():
        if per_hour > 0:
            _next_arrival(m.now, (m, kind, 3600.0 / per_hour))


def _next_arrival(ts: int, arg: tuple[SimMarket, str, float]) -> None:
    m, _kind, mean_s = arg
    m.schedule(ts + max(1, int(m.rng.expovariate(1.0 / mean_s) * 1e9)), _arrive, arg)


def _arrive(ts: int, arg: tuple[SimMarket, str, float]) -> None:
    m, kind, _mean_s = arg
    start(ts, (m, kind, {}, False))
    _next_arrival(ts, arg)
