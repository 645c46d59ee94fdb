"""Volatility vocabulary and settings: regime and state enums, their configs and classifiers.

Shared by the estimators (:mod:`tapescope.engine.realised_vol`,
:mod:`tapescope.engine.garch`), the market regime (:mod:`tapescope.engine.regime`)
and the widgets that colour a regime; :mod:`tapescope.engine.volatility`
re-exports every name, and the definitions are documented there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

#: Seconds in a (365-day) year: crypto trades around the clock.
SECONDS_PER_YEAR = 365 * 86400
NAN = math.nan


class VolRegime(IntEnum):
    """Level of the annualised GARCH volatility forecast."""

    UNKNOWN = 0
    """Not enough data for a forecast."""
    LOW = 1
    """Below the low threshold."""
    MEDIUM = 2
    """Between the thresholds."""
    HIGH = 3
    """Above the high threshold."""


class VolState(IntEnum):
    """Short over long realised volatility."""

    UNKNOWN = 0
    """The long window is not yet filled enough."""
    COMPRESSED = 1
    """Ratio below the compressed threshold."""
    NORMAL = 2
    """Ratio between the thresholds."""
    EXPANDING = 3
    """Ratio above the expanding threshold."""


@dataclass(frozen=True)
class RealisedVolConfig:
    """``[volatility.realised]``: realised volatility and volatility state."""

    windows_s: tuple[int, ...] = (60, 300, 3600)
    """Rolling windows reported, seconds of 1 s returns."""
    short_window_s: int = field(default=300, metadata={"min": 2, "max": 86400})
    """Short window of the volatility state ratio, seconds."""
    long_window_s: int = field(default=3600, metadata={"min": 3, "max": 86400})
    """Long window of the volatility state ratio, seconds."""
    compressed_below: float = field(default=0.6, metadata={"min": 0.0, "max": 1.0})
    """State COMPRESSED when short/long vol is below this."""
    expanding_above: float = field(default=1.5, metadata={"min": 1.0, "max": 100.0})
    """State EXPANDING when short/long vol is above this."""
    min_samples: int = field(default=30, metadata={"min": 2, "max": 86400})
    """A window reports nan until it holds this many 1 s returns (or is full)."""
    z_history_s: int = field(default=3600, metadata={"min": 10, "max": 7 * 86400})
    """Per-second values of the short-window vol kept for its z-score."""
    z_min_samples: int = field(default=120, metadata={"min": 2, "max": 7 * 86400})
    """The short-vol z-score is nan until this many past values exist."""


@dataclass(frozen=True)
class GarchConfig:
    """``[volatility.garch]``: GARCH(1,1) on bar returns of mid."""

    bar_s: int = field(default=60, metadata={"min": 1, "max": 86400})
    """Bar length, seconds (60: 1 m log-returns)."""
    window_bars: int = field(default=1440, metadata={"min": 50, "max": 100000})
    """Rolling estimation window, bars."""
    refit_every: int = field(default=15, metadata={"min": 1, "max": 100000})
    """Refit the parameters every this many bars; one-step variance updates in between."""
    min_bars: int = field(default=120, metadata={"min": 30, "max": 100000})
    """First maximum-likelihood fit once this many returns are held."""
    max_evals: int = field(default=4000, metadata={"min": 100, "max": 1000000})
    """Cap on likelihood evaluations per fit."""
    ewma_lambda: float = field(default=0.94, metadata={"min": 0.5, "max": 0.9999})
    """Decay of the EWMA variance used before the first fit."""
    fallback_min_bars: int = field(default=5, metadata={"min": 1, "max": 1000})
    """Bars needed before the EWMA fallback reports a forecast."""


@dataclass(frozen=True)
class VolRegimeConfig:
    """``[volatility.regime]``: annualised vol thresholds (fractions, 0.30 = 30 %) and their input."""

    source: str = field(default="garch", metadata={"choices": ["garch", "realised"]})
    """Vol classified: the GARCH next-bar forecast (detectors.md), or realised vol over
    ``realised_window_s`` (reacts within minutes; see the regime module for measurements)."""
    realised_window_s: int = field(default=120, metadata={"min": 10, "max": 86400})
    """Realised-vol window used when ``source = "realised"``, seconds."""
    low: float = field(default=0.30, metadata={"min": 0.0, "max": 100.0})
    """LOW below this annualised vol."""
    high: float = field(default=0.45, metadata={"min": 0.0, "max": 100.0})
    """HIGH above this annualised vol."""
    overrides: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per-symbol ``"venue:SYMBOL" = [low, high]``."""

    def thresholds_for(self, symbol: str) -> tuple[float, float]:
        """``(low, high)`` for ``symbol``: its override, else the defaults. O(1).

        >>> VolRegimeConfig(overrides={"x:DOGE": (0.6, 0.9)}).thresholds_for("x:DOGE")
        (0.6, 0.9)
        """
        low, high = self.overrides.get(symbol, (self.low, self.high))
        return float(low), float(high)


def classify_regime(ann_vol: float, low: float, high: float) -> VolRegime:
    """Volatility regime of an annualised vol. O(1).

    >>> classify_regime(0.29, 0.30, 0.45).name, classify_regime(0.30, 0.30, 0.45).name
    ('LOW', 'MEDIUM')
    >>> classify_regime(0.46, 0.30, 0.45).name, classify_regime(float("nan"), 0.3, 0.45).name
    ('HIGH', 'UNKNOWN')
    """
    if not math.isfinite(ann_vol):
        return VolRegime.UNKNOWN
    if ann_vol < low:
        return VolRegime.LOW
    if ann_vol > high:
        return VolRegime.HIGH
    return VolRegime.MEDIUM


def classify_state(ratio: float, compressed_below: float, expanding_above: float) -> VolState:
    """Volatility state of a short/long vol ratio. O(1).

    >>> classify_state(0.5, 0.6, 1.5).name, classify_state(1.0, 0.6, 1.5).name, classify_state(1.6, 0.6, 1.5).name
    ('COMPRESSED', 'NORMAL', 'EXPANDING')
    """
    if not math.isfinite(ratio):
        return VolState.UNKNOWN
    if ratio < compressed_below:
        return VolState.COMPRESSED
    if ratio > expanding_above:
        return VolState.EXPANDING
    return VolState.NORMAL
