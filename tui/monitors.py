"""Volatility and levels monitors attached to every market of the hub, for the UI's panels.

The engine's :class:`~tapescope.engine.regime.VolatilityMonitor` (realised vol,
GARCH, Kalman trend, regimes) and :class:`~tapescope.engine.levels.LevelsMonitor`
(VPIN, volume and TPO profiles, VWAP, zones with their ATR) run as Market
analyzers, so they see every event of every market whether or not a panel
shows it (architecture.md: every symbol's engine keeps running). The UI reads
their snapshots at the frame rate through :class:`MarketMonitors`.

:func:`risk_market` gathers what the risk calculator needs from one market at
one frame: best prices, the live book, the GARCH forecast and vol regime, and
the ATR.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from tapescope.engine.book import Book
from tapescope.engine.levels import LevelsAnalyzer, LevelsMonitor, LevelsSnapshot
from tapescope.engine.market import Market
from tapescope.engine.regime import VolatilityAnalyzer, VolatilityMonitor, VolatilitySnapshot
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.engine.volatility import VolRegime
from tapescope.tui.screens.risk_form import RiskMarket


class HasMarkets(Protocol):
    """A hub that exposes its markets (the engine :class:`~tapescope.engine.hub.Hub` does)."""

    @property
    def markets(self) -> Mapping[str, Market]:
        """Markets by key."""


class MarketMonitors:
    """One volatility and one levels monitor per market, attached as analyzers."""

    def __init__(self) -> None:
        self.volatility_monitors: dict[str, VolatilityMonitor] = {}
        """Volatility monitors by market key."""
        self.levels_monitors: dict[str, LevelsMonitor] = {}
        """Levels monitors by market key."""
        self.markets: dict[str, Market] = {}
        """The markets they are attached to."""

    @classmethod
    def attach(cls, hub: HasMarkets) -> MarketMonitors:
        """Create and attach monitors to every market of ``hub`` (engine defaults).

        >>> from tapescope.engine.hub import Hub
        >>> from tapescope.engine.instrument import Instrument
        >>> mons = MarketMonitors.attach(Hub([Instrument("sim", "A", tick_size=0.1)]))
        >>> sorted(mons.volatility_monitors), mons.volatility("sim:A").regime.name
        (['sim:A'], 'UNKNOWN')
        """
        monitors = cls()
        for key, market in hub.markets.items():
            monitors.add(key, market)
        return monitors

    def add(self, key: str, market: Market) -> None:
        """Attach monitors to one market (idempotent)."""
        if key in self.markets:
            return
        vol = VolatilityMonitor(key)
        levels = LevelsMonitor(key, market.instrument.tick_size)
        market.analyzers.append(VolatilityAnalyzer(vol))
        market.analyzers.append(LevelsAnalyzer(levels))
        self.volatility_monitors[key] = vol
        self.levels_monitors[key] = levels
        self.markets[key] = market

    def volatility(self, key: str) -> VolatilitySnapshot | None:
        """Volatility snapshot of ``key`` (``None`` for an unknown market)."""
        monitor = self.volatility_monitors.get(key)
        return monitor.snapshot() if monitor is not None else None

    def levels(self, key: str) -> LevelsSnapshot | None:
        """Levels snapshot of ``key`` (``None`` for an unknown market)."""
        monitor = self.levels_monitors.get(key)
        return monitor.snapshot() if monitor is not None else None

    def book(self, key: str) -> Book | None:
        """The live book of ``key`` (read-only use: walking it for a fill)."""
        market = self.markets.get(key)
        return market.book if market is not None else None


def risk_market(snap: MarketSnapshot, book: Book | None,
                vol: VolatilitySnapshot | None = None,
                levels: LevelsSnapshot | None = None) -> RiskMarket:
    """What the risk calculator reads from one market at this frame.

    >>> from tapescope.engine.instrument import Instrument
    >>> m = risk_market(MarketSnapshot(Instrument("x", "Y"), version=3, best_bid=(99.0, 1.0),
    ...                                best_ask=(100.0, 2.0)), None)
    >>> m.best_bid, m.best_ask, m.version, m.vol_regime, math.isnan(m.atr)
    (99.0, 100.0, 3, '', True)
    """
    regime = ""
    sigma = math.nan
    if vol is not None:
        sigma = vol.garch.forecast_ann
        regime = vol.vol_regime.name if vol.vol_regime != VolRegime.UNKNOWN else ""
    atr = levels.zones.atr if levels is not None else math.nan
    return RiskMarket(
        instrument=snap.instrument,
        best_bid=snap.best_bid[0] if snap.best_bid else math.nan,
        best_ask=snap.best_ask[0] if snap.best_ask else math.nan,
        book=book, version=snap.version, sigma_annual=sigma, vol_regime=regime, atr=atr,
    )
