"""Immutable per-symbol snapshots: everything a renderer may read.

The engine builds a :class:`MarketSnapshot` on request (the UI asks at its
frame rate, not per message) and caches it until the market changes. Widgets
receive pieces of it and draw them; they never touch the live book.

Everything here is frozen and holds tuples or read-only numpy arrays, so a
snapshot can be handed to another thread or kept for a diff without copying.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from tapescope.engine.detectors.micro import MicroSnapshot
from tapescope.engine.events import FeedState, Level
from tapescope.engine.instrument import Instrument
from tapescope.engine.levels import LevelsSnapshot
from tapescope.engine.regime import VolatilitySnapshot
from tapescope.engine.signals.fusion import FusedScore, Verdict

NAN = math.nan


class TradePrint(NamedTuple):
    """One trade as shown on the tape."""

    ts: int
    """Venue time, ns."""
    price: float
    """Trade price."""
    qty: float
    """Size, base units."""
    side: int
    """+1 taker bought, -1 taker sold."""


@dataclass(frozen=True, slots=True)
class Ladder:
    """Depth ladder rows aggregated to a display step.

    ``bids`` descend from the best bid row, ``asks`` ascend from the best ask
    row; both are contiguous (empty rows have size 0) so the widget can draw
    price rows without gaps.
    """

    step: float
    """Row height in price units (a multiple of the tick size)."""
    bids: tuple[Level, ...] = ()
    """``(row_price, size)`` from the best bid row down."""
    asks: tuple[Level, ...] = ()
    """``(row_price, size)`` from the best ask row up."""


@dataclass(frozen=True, slots=True)
class FlowSnapshot:
    """Flow metrics of detectors.md section Flow, plus spread statistics.

    Undefined values (no trades yet, empty window) are ``nan``.
    """

    cvd: float = 0.0
    """Cumulative volume delta since the session boundary, base units."""
    cvd_quote: float = 0.0
    """Cumulative volume delta in quote notional (sum of side*price*qty)."""
    deltas: tuple[tuple[int, float], ...] = ()
    """Rolling delta per window: ``((seconds, delta), ...)``."""
    delta_flip: int = 0
    """+1/-1 when the last closed second saw a significant flip of the flip-window delta, else 0."""
    tbsr: float = NAN
    """Taker buy volume / (buy + sell) over the TBSR window, in [0, 1]."""
    volume_ratio: float = NAN
    """Volume of the current bar over the mean of the previous bars."""
    volume_spike: bool = False
    """``volume_ratio`` at or above the spike threshold."""
    ofi: tuple[tuple[int, float], ...] = ()
    """Best-level OFI summed per window: ``((seconds, ofi), ...)``."""
    ofi_multi: tuple[tuple[int, float], ...] = ()
    """Multi-level OFI (top L levels) summed per window."""
    imbalance_levels: float = NAN
    """(B - A) / (B + A) over the best N levels per side."""
    imbalance_bps: float = NAN
    """(B - A) / (B + A) over size within X bps of mid."""
    microprice: float = NAN
    """(Pb*qa + Pa*qb) / (qa + qb)."""
    spread_ticks: float = NAN
    """Best ask minus best bid, in ticks."""
    spread_bps: float = NAN
    """Spread over mid, basis points."""
    spread_z: float = NAN
    """Z-score of the current spread against its rolling per-second samples."""
    spread_widening: bool = False
    """``spread_z`` above the widening threshold (detectors.md: z > 3)."""
    trades_per_s: float = NAN
    """Trades per second over the last 10 s."""


@dataclass(frozen=True, slots=True)
class Series:
    """Per-second history for charts (read-only arrays of equal length)."""

    t: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """Second timestamps (venue time, whole seconds since epoch)."""
    mid: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Mid price at the end of each second."""
    cvd: np.ndarray = field(default_factory=lambda: np.empty(0))
    """CVD at the end of each second."""
    delta: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Volume delta within each second."""


@dataclass(frozen=True, slots=True)
class AnalysisSnapshot:
    """Detectors and signals of one market at one instant."""

    micro: MicroSnapshot = field(default_factory=MicroSnapshot)
    """Microstructure detectors: walls, recent events, fill/cancel totals."""
    fused: FusedScore = field(default_factory=FusedScore)
    """Fused signal score."""
    signals: tuple[Verdict, ...] = ()
    """Recent signals with their validation verdicts, oldest first."""
    volatility: VolatilitySnapshot = field(default_factory=VolatilitySnapshot)
    """Realised vol, GARCH forecast and regime, vol state, Kalman trend, market regime."""
    levels: LevelsSnapshot = field(default_factory=LevelsSnapshot)
    """VPIN, volume/TPO profiles, VWAP bands, velocity, open interest, zones."""


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """Everything the dashboard shows for one market, at one instant."""

    instrument: Instrument
    """The market."""
    version: int = 0
    """Events applied so far; equal versions mean equal snapshots."""
    ts: int = 0
    """Venue time of the last event, ns."""
    recv_ts: int = 0
    """Receive time of the last event, ns (for event-to-screen latency)."""
    state: FeedState = FeedState.CONNECTING
    """Book sync state; only ``LIVE`` books may be drawn as real."""
    state_reason: str = ""
    """Why the market is in ``state``."""
    best_bid: Level | None = None
    """Best bid ``(price, size)``."""
    best_ask: Level | None = None
    """Best ask ``(price, size)``."""
    last_price: float = NAN
    """Price of the last trade."""
    session_open: float = NAN
    """First trade price of the current session (for the change column)."""
    depth: tuple[int, int] = (0, 0)
    """Number of bid and ask levels held."""
    ladder: Ladder = field(default_factory=lambda: Ladder(1.0))
    """Aggregated depth rows for the ladder."""
    trades: tuple[TradePrint, ...] = ()
    """Recent trades, oldest first."""
    flow: FlowSnapshot = field(default_factory=FlowSnapshot)
    """Flow metrics."""
    series: Series = field(default_factory=Series)
    """Per-second history."""
    messages: int = 0
    """Events applied for this market."""
    open_interest: float = NAN
    """Last open interest, base units (``nan`` where the venue has none)."""
    cvd_slope: float = NAN
    """CVD slope: least-squares slope of CVD over the last ``[flow] cvd_slope_window`` closed
    seconds, base units per minute (``nan`` until half the window is held; see engine.slope)."""
    analysis: AnalysisSnapshot | None = None
    """Detectors and signals, when a MarketAnalysis is attached."""

    @property
    def key(self) -> str:
        """Market key."""
        return self.instrument.key

    @property
    def mid(self) -> float:
        """Mid price, ``nan`` without a two-sided book."""
        if self.best_bid is None or self.best_ask is None:
            return NAN
        return (self.best_bid[0] + self.best_ask[0]) * 0.5

    @property
    def change(self) -> float:
        """Fractional change of the last price from the session open (``nan`` if unknown)."""
        if not (self.session_open > 0.0) or math.isnan(self.last_price):
            return NAN
        return self.last_price / self.session_open - 1.0
