"""Signal record, the per-second feature view generators read, and their parameters.

A generator never reaches into the engine: once per second of event time the
Market fills a :class:`Features` record from its metrics and detectors, and
every generator reads only that. This keeps generators testable with crafted
feature sequences and makes their inputs explicit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tapescope.engine.detectors.base import DetectorEvent

NAN = math.nan


@dataclass(frozen=True, slots=True)
class Signal:
    """One directional call with its evidence (detectors.md, Signals)."""

    symbol: str
    """Market key."""
    ts: int
    """Event time, ns."""
    name: str
    """Generator name, e.g. ``"compression_breakout"``."""
    direction: int
    """+1 long / -1 short."""
    strength: float
    """How far the evidence goes past its thresholds, in [0, 1]."""
    confidence: float
    """How much of the supporting evidence agrees, in [0, 1]."""
    reasons: tuple[str, ...] = ()
    """Short human-readable strings naming the values that fired."""
    price: float = NAN
    """Mid price when it fired (for evaluation and dedup)."""


@dataclass(slots=True)
class Features:
    """What generators may look at, refreshed once per second of event time.

    ``nan`` or empty means "not available yet" and every generator must treat
    it as no evidence.
    """

    symbol: str = ""
    """Market key."""
    ts: int = 0
    """Event time at the end of the second, ns."""
    mid: float = NAN
    """Mid price."""
    tick: float = 0.01
    """Tick size."""
    vol_state: str = ""
    """COMPRESSED / NORMAL / EXPANDING, or "" when unknown."""
    vol_ratio: float = NAN
    """Short over long realised volatility."""
    rv_z: float = NAN
    """Z-score of short realised volatility against its own history."""
    spread_z: float = NAN
    """Z-score of the spread."""
    delta_short: float = NAN
    """Rolling volume delta over the short window (default 10 s)."""
    delta_mid: float = NAN
    """Rolling volume delta over the medium window (default 60 s)."""
    ofi: float = NAN
    """Best-level OFI over the medium window."""
    delta_flip: int = 0
    """+1 / -1 when a significant delta flip closed this second."""
    cvd: float = NAN
    """Cumulative volume delta."""
    vwap: float = NAN
    """Session VWAP."""
    poc: float = NAN
    """Volume profile point of control."""
    levels: tuple[float, ...] = ()
    """Other reference levels: value-area edges, high-volume nodes, zone edges."""
    walls: tuple[tuple[int, float, float], ...] = ()
    """Active walls ``(side, price, size)``."""
    events: tuple[DetectorEvent, ...] = ()
    """Detector events raised during this second."""
    vacuum: bool = False
    """A liquidity vacuum is in progress."""


@dataclass(frozen=True, slots=True)
class SignalParams:
    """Generator, fusion and validation parameters (config section ``[signals]``)."""

    range_lookback_s: int = field(default=300, metadata={"min": 30, "max": 86_400})
    """Seconds of mid history defining the recent range (breakouts, traps, swings)."""
    compression_memory_s: int = field(default=180, metadata={"min": 1, "max": 86_400})
    """A COMPRESSED volatility state this recent arms compression_breakout."""
    breakout_ticks: float = field(default=2.0, metadata={"min": 0.0, "max": 1000.0})
    """Price must leave the range by this many ticks to count as a breakout."""
    trap_window_s: int = field(default=60, metadata={"min": 1, "max": 3600})
    """A breakout back inside the range within this long, with opposing flow, is a trap."""
    level_ticks: float = field(default=3.0, metadata={"min": 0.0, "max": 1000.0})
    """Price within this many ticks of a level counts as at the level."""
    absorption_memory_s: int = field(default=20, metadata={"min": 1, "max": 600})
    """An absorption this recent supports liquidity_fulcrum."""
    stress_z: float = field(default=2.0, metadata={"min": 0.5, "max": 20.0})
    """volatility_stress fires when realised-vol z and spread z both exceed this."""
    sweep_bps: float = field(default=10.0, metadata={"min": 0.1, "max": 10_000.0})
    """void_swept needs a move of at least this many bps over the sweep window."""
    sweep_window_s: int = field(default=5, metadata={"min": 1, "max": 600})
    """Window over which a sweep through a vacuum is measured."""
    half_life_s: float = field(default=30.0, metadata={"min": 1.0, "max": 3600.0})
    """Half-life of a signal's weight in the fused score."""
    alive_half_lives: float = field(default=4.0, metadata={"min": 1.0, "max": 20.0})
    """Signals older than this many half-lives leave the fused score."""
    conflict_confidence: float = field(default=0.6, metadata={"min": 0.0, "max": 1.0})
    """Opposing signals both above this confidence cut the fused confidence."""
    cooldown_s: float = field(default=60.0, metadata={"min": 0.0, "max": 86_400.0})
    """Minimum time between actionable signals of one generator on one symbol."""
    dedup_ticks: float = field(default=5.0, metadata={"min": 0.0, "max": 10_000.0})
    """Same generator and direction within this many ticks of the last one is a duplicate."""
    min_confirmation: float = field(default=0.05, metadata={"min": 0.0, "max": 1.0})
    """Fused score in the signal's direction needed for it to be actionable."""
    session_filter: str = field(
        default="off", metadata={"choices": ["off", "london", "new_york", "london_new_york"]}
    )
    """Only mark signals actionable during these sessions (UTC hours below)."""
    stale_after_s: float = field(default=5.0, metadata={"min": 0.1, "max": 3600.0})
    """A book without an update for this long (event time) is stale: nothing fires."""
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "compression_breakout": 1.0,
            "flow_inflection": 0.8,
            "liquidity_fulcrum": 1.0,
            "volatility_stress": 0.5,
            "level_play": 0.8,
            "void_swept": 0.7,
            "trap": 0.9,
        }
    )
    """Fusion weight per generator."""
