"""Everything computed on top of a Market's book and flow: detectors and signals.

:class:`MarketAnalysis` attaches to one :class:`~tapescope.engine.market.Market`
as an analyzer (trades, seconds) and as its level observer (every changed
level of every delta), runs the microstructure detectors and, once per second
of event time, builds the :class:`~tapescope.engine.signals.base.Features`
record and steps the signal engine. :meth:`MarketAnalysis.snapshot` gives the
immutable view the dashboard and alerts read.

Per-event work is the detectors' ``O(changed levels)``; the per-second work is
bounded by the detectors' and generators' fixed windows.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from tapescope.engine.detectors.base import DetectorEvent, DetectorParams
from tapescope.engine.detectors.micro import Microstructure
from tapescope.engine.events import NS_PER_S, Trade
from tapescope.engine.levels import LevelsAnalyzer, LevelsMonitor
from tapescope.engine.markers import MarkerParams
from tapescope.engine.market import Market
from tapescope.engine.regime import VolatilityAnalyzer, VolatilityMonitor
from tapescope.engine.signals.base import Features, SignalParams
from tapescope.engine.signals.fusion import SignalEngine, Verdict
from tapescope.engine.snapshot import AnalysisSnapshot

NAN = math.nan


@dataclass(frozen=True, slots=True)
class AnalysisParams:
    """Parameters of everything :class:`MarketAnalysis` runs."""

    detectors: DetectorParams = field(default_factory=DetectorParams)
    """Microstructure detector parameters (``[detectors]``)."""
    signals: SignalParams = field(default_factory=SignalParams)
    """Signal, fusion and validation parameters (``[signals]``)."""
    delta_short_s: int = 10
    """Flow window generators read as the short delta (one of ``[flow] delta_windows``)."""
    delta_mid_s: int = 60
    """Flow window generators read as the medium delta (one of ``[flow] delta_windows``)."""
    ofi_s: int = 60
    """OFI window generators read (one of ``[flow] ofi_windows``)."""
    volatility: dict[str, object] = field(default_factory=dict)
    """Keyword arguments for :class:`~tapescope.engine.regime.VolatilityMonitor` (its config objects)."""
    levels: dict[str, object] = field(default_factory=dict)
    """Keyword arguments for :class:`~tapescope.engine.levels.LevelsMonitor` (its config objects)."""
    markers: MarkerParams = field(default_factory=MarkerParams)
    """Ladder marker lifetimes and bound (``[markers]``)."""


class MarketAnalysis:
    """Detectors and signals for one market (attach with :meth:`attach`)."""

    def __init__(self, market: Market, params: AnalysisParams | None = None) -> None:
        p = params or AnalysisParams()
        self.params = p
        self.market = market
        tick = market.instrument.tick_size
        self.micro = Microstructure(p.detectors, tick, markers=p.markers)
        """The microstructure detectors."""
        self.signals = SignalEngine(p.signals, tick)
        """Generators, fusion and validation."""
        self.volatility = VolatilityMonitor(market.key, **p.volatility)
        """Realised vol, GARCH, vol regime and state, Kalman trend, market regime."""
        self.levels = LevelsMonitor(market.key, tick, **p.levels)
        """VPIN, volume/TPO profiles, VWAP, velocity, open interest, zones."""
        self.alerts: deque[DetectorEvent | Verdict] = deque(maxlen=256)
        """Detector events and signal verdicts not yet taken by the alert engine (bounded)."""
        self._version = -1
        self._cache = AnalysisSnapshot()

    @classmethod
    def attach(cls, market: Market, params: AnalysisParams | None = None) -> MarketAnalysis:
        """Create the analysis and hook it into ``market``."""
        analysis = cls(market, params)
        # The monitors close their second before the signals read them.
        market.analyzers.append(VolatilityAnalyzer(analysis.volatility))
        market.analyzers.append(LevelsAnalyzer(analysis.levels))
        market.analyzers.append(analysis)
        market.level_observer = analysis.micro
        market.analysis = analysis
        return analysis

    # -- Analyzer protocol ------------------------------------------------

    def on_book(self, ts: int, market: Market) -> None:
        """Nothing per book update: the level observer already saw every level."""

    def on_trade(self, trade: Trade, market: Market) -> None:
        """Feed a print to the detectors. ``O(1)``."""
        self.micro.on_trade(trade.ts, trade.price, trade.qty, trade.side)

    def on_second(self, ts_s: int, market: Market) -> None:
        """Close a second: per-second detectors, then features and signals."""
        if market.flow.sec < 0:
            return
        ts = ts_s * NS_PER_S
        book = market.book
        flow = market.flow
        bb, ba = book.best_bid(), book.best_ask()
        tick = market.instrument.tick_size
        mid = (bb[0] + ba[0]) * 0.5 if bb and ba and market.valid else NAN
        spread_ticks = (ba[0] - bb[0]) / tick if bb and ba else NAN
        spread_z = flow.spread_z(spread_ticks) if spread_ticks == spread_ticks else NAN
        micro = self.micro
        if market.valid:
            micro.on_second(ts, book, spread_z, spread_ticks)
        # Everything the detectors raised since the last second (level events
        # arrive between seconds, per-second ones just now).
        fresh = micro.new_events
        micro.new_events = []
        self.alerts.extend(fresh)
        p = self.params
        vol = self.volatility.snapshot()
        lv = self.levels.snapshot()
        f = Features(
            symbol=market.key,
            ts=ts,
            mid=mid,
            tick=tick,
            vol_state=vol.realised.state.name if vol.realised.state else "",
            vol_ratio=vol.realised.ratio,
            rv_z=vol.realised.short_z,
            spread_z=spread_z,
            delta_short=flow.window_delta(p.delta_short_s),
            delta_mid=flow.window_delta(p.delta_mid_s),
            ofi=flow.window_ofi(p.ofi_s),
            delta_flip=flow.delta_flip,
            cvd=flow.cvd,
            vwap=lv.vwap.session.vwap,
            poc=lv.profile.session.poc,
            levels=lv.reference_levels(),
            walls=tuple([(side, price, size) for (side, price), size in micro.walls.active.items()]),
            events=tuple(fresh),
            vacuum=micro.vacuum.active,
        )
        last = market.last_book_event
        self.alerts.extend(self.signals.step(f, market.valid, last.ts if last is not None else 0))
        self.signals.new_verdicts.clear()

    # -- read ---------------------------------------------------------------

    def snapshot(self) -> AnalysisSnapshot:
        """Immutable view, rebuilt only after new events. ``O(events + signals)``."""
        if self._version == self.market.messages:
            return self._cache
        self._cache = AnalysisSnapshot(
            micro=self.micro.snapshot(self.market.ts),
            volatility=self.volatility.snapshot(),
            levels=self.levels.snapshot(),
            fused=self.signals.fused,
            signals=tuple(self.signals.verdicts),
        )
        self._version = self.market.messages
        return self._cache
