"""Ground truth the simulator writes down: episode labels and regime spans.

Detector evaluation scores the engine against these records, so each one
describes something that is really visible in the emitted events (the tests
in ``tests/feeds/sim`` re-derive every kind from the event stream).

>>> lab = EpisodeLabel("wall", "sim:BTC-SIM", 10, 20, 1, 59000.0, {"size": 12.5})
>>> lab.duration_ns, lab.extra["size"]
(10, 12.5)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EpisodeKind(StrEnum):
    """Kinds of labelled microstructure episode (detectors.md section Microstructure)."""

    WALL = "wall"
    """A large resting order within 1 % of mid that rests at least 5 s."""
    SPOOF = "spoof"
    """A wall-sized order near the touch, cancelled unfilled within 10 s as price approaches."""
    ICEBERG = "iceberg"
    """A level that refills after being traded through, at least 3 times."""
    ABSORPTION = "absorption"
    """Heavy aggressive flow into one side while that side's best price holds."""
    VACUUM = "vacuum"
    """Resting size near mid drops far below its typical level for a while."""
    REGIME_CHANGE = "regime_change"
    """The volatility or market (drift) regime switched."""


class VolRegime(StrEnum):
    """Volatility regime of the latent price (thresholds in detectors.md: 30 % / 45 %)."""

    LOW = "LOW"
    """Annualised volatility below 30 % (simulated at ``RegimeParams.low_vol``)."""
    MEDIUM = "MEDIUM"
    """Annualised volatility 30-45 % (simulated at ``RegimeParams.medium_vol``)."""
    HIGH = "HIGH"
    """Annualised volatility above 45 % (simulated at ``RegimeParams.high_vol``)."""


class MarketRegime(StrEnum):
    """Drift regime of the latent price, the target of market-regime classification."""

    TREND_UP = "TREND_UP"
    """Positive drift."""
    TREND_DOWN = "TREND_DOWN"
    """Negative drift."""
    RANGE = "RANGE"
    """Mean-reverting around the level where the range began."""
    VOLATILE = "VOLATILE"
    """No drift, volatility forced to HIGH."""


@dataclass(frozen=True, slots=True)
class EpisodeLabel:
    """One injected episode as it appears in the emitted events.

    ``side`` is the book side the episode's liquidity rests on: ``+1`` bid,
    ``-1`` ask (for absorption, the side that absorbs the aggressive flow; a
    bid absorbs sells), ``0`` for both sides or none (vacuum, regime change).
    """

    kind: str
    """An :class:`EpisodeKind` value."""
    key: str
    """Market key, ``"sim:SYMBOL"``."""
    start_ns: int
    """Venue time of the first event showing the episode."""
    end_ns: int
    """Venue time of the last event belonging to the episode (the removal or refill)."""
    side: int
    """+1 bid, -1 ask, 0 both / none."""
    price: float
    """The episode's price level (mid for vacuum and regime change)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Kind-specific facts, in base units and prices (see each episode class)."""

    @property
    def duration_ns(self) -> int:
        """``end_ns - start_ns``."""
        return self.end_ns - self.start_ns


@dataclass(frozen=True, slots=True)
class RegimeSpan:
    """A stretch of time during which one market's regimes did not change."""

    key: str
    """Market key."""
    start_ns: int
    """Start, venue time ns (inclusive)."""
    end_ns: int
    """End, venue time ns (exclusive; for the open span, the last generated time)."""
    vol_regime: str
    """Effective :class:`VolRegime` value (HIGH while the market regime is VOLATILE)."""
    market_regime: str
    """:class:`MarketRegime` value."""
    annual_vol: float
    """Annualised volatility of the latent log price in this span."""
    drift_per_s: float
    """Drift of the latent log price per second (0 for RANGE and VOLATILE)."""
