"""Regime screen and risk_market on a simulated market with MarketAnalysis: the engine's numbers."""

from __future__ import annotations

import math

import pytest
from textual.app import App

from tapescope.engine.analysis import MarketAnalysis
from tapescope.engine.events import Trade
from tapescope.engine.hub import Hub
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.themes.extra import COLORBLIND
from tapescope.tui.screens.regime import RegimeScreen
from tapescope.tui.screens.risk_form import risk_market


@pytest.fixture(scope="module")
def market():
    feed = SimFeed(SimParams(), realtime=False)
    hub = Hub(feed.instruments)
    for m in hub.markets.values():
        MarketAnalysis.attach(m)
    key = hub.keys[0]
    volume = 0.0
    for event in feed.generate(240.0):
        hub.on_event(event)
        if isinstance(event, Trade) and event.symbol == key:
            volume += event.qty
    return hub, key, volume


def test_snapshot_analysis_sees_every_trade(market) -> None:
    hub, key, volume = market
    levels = hub.snapshot(key).analysis.levels
    assert volume > 0
    # The session and rolling profiles (1 h window) hold every traded unit of the 4 minutes.
    assert levels.profile.session.total == pytest.approx(volume)
    assert levels.profile.rolling.total == pytest.approx(volume)
    assert levels.vwap.session.volume == pytest.approx(volume)


def test_risk_market_reads_prices_forecast_and_atr(market) -> None:
    hub, key, _ = market
    snap = hub.snapshot(key)
    vol, levels = snap.analysis.volatility, snap.analysis.levels
    rm = risk_market(snap, hub.markets[key].book)
    assert (rm.best_bid, rm.best_ask) == (snap.best_bid[0], snap.best_ask[0])
    assert rm.book is hub.markets[key].book and rm.version == snap.version
    assert rm.atr == levels.zones.atr or (math.isnan(rm.atr) and math.isnan(levels.zones.atr))
    assert rm.sigma_annual == vol.garch.forecast_ann or math.isnan(vol.garch.forecast_ann)


class Host(App[None]):
    def __init__(self, screen: RegimeScreen) -> None:
        super().__init__()
        self.register_theme(COLORBLIND)
        self.theme = COLORBLIND.name
        self.regime_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.regime_screen)


async def test_screen_shows_the_snapshots_and_switches_scope(market) -> None:
    hub, key, _ = market
    screen = RegimeScreen()
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        snap = hub.snapshot(key)
        vol, levels = snap.analysis.volatility, snap.analysis.levels
        screen.snapshot = snap
        await pilot.pause()
        plain = screen.regime.plain
        assert "σ " in plain and vol.realised.state.name in plain
        if math.isfinite(levels.vpin.vpin):
            assert f"VPIN    {levels.vpin.vpin:.3f}" in plain
        assert screen.profile.profile is levels.profile.session
        assert screen.profile.tpo is levels.tpo
        rows = screen.profile.rows
        assert rows and sum(r.volume for r in rows) == pytest.approx(levels.profile.session.total)
        poc = [r for r in rows if r.zone == "poc"]
        assert len(poc) == 1 and sum(r.current for r in rows) == 1
        # The POC row's price group contains the engine's POC.
        step = levels.profile.session.step
        upper = rows[0].price - rows[1].price if len(rows) > 1 else step
        assert poc[0].price - 1e-9 <= levels.profile.session.poc < poc[0].price + upper
        await pilot.press("s")
        await pilot.pause()
        assert screen.scope == "rolling"
        assert screen.profile.profile is levels.profile.rolling and screen.profile.tpo is None
        assert "rolling" in screen.profile.border_title
        # Without an analysis the panels show placeholders instead of stale numbers.
        screen.snapshot = MarketSnapshot(snap.instrument, version=snap.version + 1)
        assert screen.profile.profile is None and "VPIN    —  z—" in screen.regime.plain
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen
