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
    fill_latency_ms: float = field(default=250.0, metadata={"min": 0.0, "max": 10_000.0})
    """Trades up to this long before a book update can explain a size decrease as a fill."""
    spoof_touch_bps: float = field(default=10.0, metadata={"min": 0.1, "max": 1000.0})
    """A spoof candidate appears within this many bps of the touch."""
    spoof_max_life_s: float = field(default=10.0, metadata={"min": 0.1, "max": 600.0})
    """...and is cancelled within this long."""
    spoof_min_cancel_frac: float = field(default=0.8, metadata={"min": 0.0, "max": 1.0})
    """Share of the candidate's size that must leave by cancellation (not fills)."""
    spoof_repeat_window_s: float = field(default=300.0, metadata={"min": 1.0})
    """Window over which repeated spoofs on one side raise the score."""
    iceberg_min_refills: int = field(default=3, metadata={"min": 1, "max": 100})
    """Refills needed before a level is called an iceberg."""
    iceberg_idle_s: float = field(default=60.0, metadata={"min": 1.0})
    """A tracked level untouched this long is forgotten."""
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
    vacuum_history_s: int = field(default=300, metadata={"min": 30, "max": 86_400})
    """Per-second samples in the rolling median."""
    spread_z: float = field(default=3.0, metadata={"min": 0.5, "max": 20.0})
    """Spread widening event above this z-score."""
