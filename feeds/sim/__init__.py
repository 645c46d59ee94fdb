"""Deterministic market simulator: a :class:`~tapescope.feeds.base.Feed` with labelled episodes.

>>> from tapescope.feeds.sim import SimFeed, SimParams
>>> feed = SimFeed(SimParams(seed=7), realtime=False)
>>> len(feed.instruments) >= 8
True
"""

from tapescope.feeds.sim.codec import decode, encode
from tapescope.feeds.sim.feed import SimFeed
from tapescope.feeds.sim.labels import (
    EpisodeKind,
    EpisodeLabel,
    MarketRegime,
    RegimeSpan,
    VolRegime,
)
from tapescope.feeds.sim.params import (
    UNIVERSE,
    BurstParams,
    EpisodeParams,
    RegimeParams,
    SimParams,
    SymbolSpec,
)

__all__ = [
    "UNIVERSE",
    "BurstParams",
    "EpisodeKind",
    "EpisodeLabel",
    "EpisodeParams",
    "MarketRegime",
    "RegimeParams",
    "RegimeSpan",
    "SimFeed",
    "SimParams",
    "SymbolSpec",
    "VolRegime",
    "decode",
    "encode",
]
