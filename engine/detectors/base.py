"""Detector event record and the parameters of every microstructure detector."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class DetectorKind(StrEnum):
    """What a detector saw."""

    WALL = "wall"
    """A large resting level near mid that has rested long enough."""
    WALL_PULLED = "wall_pulled"
    """A wall disappeared mostly by cancellation."""
    SPOOF = "spoof"
    """A wall-sized order near the touch cancelled, not filled, as price approached."""
    ICEBERG = "iceberg"
    """A level traded through more than it showed and kept refilling."""
    ABSORPTION = "absorption"
    """Heavy aggressive flow into one side while its best price held."""
    VACUUM = "vacuum"
    """Resting size near mid fell far below its typical level."""
    SPREAD_WIDENING = "spread_widening"
    """Spread z-score above its threshold."""


@dataclass(frozen=True, slots=True)
class DetectorEvent:
    """One detection, as shown on the ladder and in the alert log."""

    kind: DetectorKind
    """What was detected."""
    ts: int
    """Event time of the detection, ns."""
    side: int
    """+1 bid side / buy, -1 ask side / sell, 0 when not sided."""
    price: float
    """Price the detection refers to (level price, or mid)."""
    size: float = 0.0
    """Size involved: wall size, spoof size, hidden size, absorbed volume..."""
    score: float = 0.0
    """Strength in [0, 1] (documented per detector)."""
    detail: str = ""
    """Short human-readable explanation naming the values that fired."""


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Parameters of the microstructure detectors (config section ``[detectors]``)."""

    wall_range_pct: float = field(default=1.0, metadata={"min": 0.01, "max": 20.0})
    """Walls are searched within this percent of mid."""
    wall_k: float = field(default=5.0, metadata={"min": 1.0, "max": 100.0})
    """A wall is at least this multiple of the median level size on its side in range."""
    wall_min_rest_s: float = field(default=5.0, metadata={"min": 0.0, "max": 3600.0})
    """A wall must rest at least this long (event time) before it is reported."""
    wall_median_s: int = field(default=60, metadata={"min": 0, "max": 3600})
    """The side median a wall is measured against is the larger of the current one and the
    median of the per-second medians of the last this-many seconds (0: current only), so a
    book hollowed out for a few seconds (a liquidity vacuum) does not turn every ordinary
    level around the hole into a wall."""
    wall_touch_k: float = field(default=5.0, metadata={"min": 0.0, "max": 1000.0})
    """A wall (and a spoof's added size) must also be at least this multiple of the mean
    size of the ``wall_touch_levels`` levels nearest mid on its side (0 disables the test).
    On a deep real book most levels within 1 % are tiny, so the median alone calls any
    ordinary order a wall."""
    wall_touch_levels: int = field(default=5, metadata={"min": 1, "max": 100})
    """Levels nearest mid on a side whose mean size is the touch reference of ``wall_touch_k``."""
    wall_local_levels: int = field(default=5, metadata={"min": 0, "max": 100})
    """Neighbouring levels on each side of a wall candidate whose median it is compared
    with (0 disables the local-prominence test)."""
    wall_local_k: float = field(default=2.0, metadata={"min": 1.0, "max": 100.0})
    """A wall is also at least this multiple of the median of its neighbouring levels."""
    wall_max_per_side: int = field(default=3, metadata={"min": 0, "max": 1000})
    """Only the this-many largest levels on a side within range can become new walls
    (0: no limit; flood control for the ladder, it costs recall when natural levels are
    bigger than the wall of interest). The n-th largest level is also part of the spoof
    detector's "wall-sized" threshold. On the Binance USD-M capture, 3 takes walls from
    151 to 2.3 a minute (with ``wall_touch_k`` 5), the round-number resting orders of
    tens to hundreds of BTC a trader watches."""
    wall_release_frac: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0})
    """A reported wall stays the same wall until its size falls below this fraction of
    the threshold (hysteresis)."""
    wall_rereport_s: float = field(default=60.0, metadata={"min": 0.0, "max": 3600.0})
    """A level whose wall ended is not reported as a wall again within this long."""
    wall_rereport_growth: float = field(default=1.5, metadata={"min": 1.0, "max": 100.0})
    """...unless it comes back at least this multiple of the largest size the ended wall
    showed; an active wall grown to this multiple of its reported size is reported again."""
    fill_latency_ms: float = field(default=250.0, metadata={"min": 0.0, "max": 10_000.0})
    """Trades up to this long before a book update can explain a size decrease as a fill."""
    spoof_touch_bps: float = field(default=10.0, metadata={"min": 0.1, "max": 1000.0})
    """A spoof candidate appears within this many bps of the touch."""
    spoof_min_touch_bps: float = field(default=2.0, metadata={"min": 0.0, "max": 1000.0})
    """...and at least this many bps behind it: an order in the queues right behind the
    touch is there to trade, and pulling it as price comes is a market maker managing
    risk, not a false show of depth (0: any distance of at least a tick)."""
    spoof_max_life_s: float = field(default=10.0, metadata={"min": 0.1, "max": 600.0})
    """...and is cancelled within this long."""
    spoof_min_cancel_frac: float = field(default=0.8, metadata={"min": 0.0, "max": 1.0})
    """Share of the candidate's size that must leave by cancellation (not fills), in one
    book update (one pull, not a gradual trim)."""
    spoof_min_approach_frac: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0})
    """When the order is pulled, the touch must have covered at least this fraction of its
    distance to the order at placement (0: any approach of mid counts)."""
    spoof_max_prior_frac: float = field(default=0.5, metadata={"min": 0.0, "max": 100.0})
    """A candidate must be a stand-alone addition: the level held at most this fraction of
    the added size before it."""
    spoof_repeat_window_s: float = field(default=300.0, metadata={"min": 1.0})
    """Window over which repeated spoofs on one side raise the score."""
    iceberg_min_refills: int = field(default=3, metadata={"min": 1, "max": 100})
    """Refills needed before a level is called an iceberg."""
    iceberg_idle_s: float = field(default=60.0, metadata={"min": 1.0})
    """A tracked level untouched this long is forgotten."""
    iceberg_refill_ms: float = field(default=0.0, metadata={"min": 0.0, "max": 60_000.0})
    """A refill counts only if the level shows size again within this long after the
    prints that emptied it (0: only in the same book update)."""
    iceberg_clip_ratio: float = field(default=2.0, metadata={"min": 1.0, "max": 100.0})
    """Refill clips must lie within this factor of the median clip so far; an outlier
    restarts the count."""
    iceberg_min_traded_x: float = field(default=2.0, metadata={"min": 1.0, "max": 100.0})
    """Traded volume at the level during a refill streak must be at least this multiple of
    the largest refill clip."""
    absorption_window_s: int = field(default=10, metadata={"min": 1, "max": 600})
    """Window W over which aggressive volume is summed."""
    absorption_k: float = field(default=3.0, metadata={"min": 1.0, "max": 100.0})
    """Aggressive volume over W must be at least k times its typical value."""
    absorption_history_s: int = field(default=300, metadata={"min": 30, "max": 86_400})
    """History used for the typical per-window volume."""
    absorption_max_ticks: float = field(default=1.0, metadata={"min": 0.0, "max": 100.0})
    """The absorbing side's best price may move at most this many ticks over W."""
    vacuum_bps: float = field(default=20.0, metadata={"min": 0.1, "max": 1000.0})
    """Resting size is measured within this many bps of mid."""
    vacuum_k: float = field(default=0.3, metadata={"min": 0.01, "max": 1.0})
    """A vacuum is resting size below k times its rolling median."""
    vacuum_min_s: int = field(default=2, metadata={"min": 1, "max": 600})
    """Consecutive seconds below the threshold before a vacuum is reported."""
    vacuum_history_s: int = field(default=300, metadata={"min": 30, "max": 86_400})
    """Per-second samples in the rolling median."""
    spread_z: float = field(default=3.0, metadata={"min": 0.5, "max": 20.0})
    """Spread widening event above this z-score."""
