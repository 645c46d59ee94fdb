"""The real App with the demo market: r (risk), v (regime), h (health) and t through every theme."""

from __future__ import annotations

from textual.widgets import DataTable

from tapescope.engine.instrument import ContractKind
from tapescope.engine.risk import RiskInputs, size_position
from tapescope.themes import THEMES
from tapescope.themes.extra import EXTRA_THEMES
from tapescope.tui.app import make_app
from tapescope.tui.config import load_config
from tapescope.tui.screens.health import HealthScreen
from tapescope.tui.screens.regime import RegimeScreen
from tapescope.tui.screens.risk import RiskScreen
from tapescope.tui.wiring import build_demo

FROZEN_NS = 1_700_000_000_000_000_000


def demo_app(seconds: float = 30.0):
    config = load_config(read_user_file=False)
    feed, hub = build_demo(config, realtime=False)
    for event in feed.generate(seconds):
        hub.on_event(event)
    app = make_app(config, feed, hub, start_feed=False, clock=lambda: FROZEN_NS)
    return app, feed, hub


async def test_risk_key_opens_the_calculator_on_the_live_book() -> None:
    app, feed, hub = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RiskScreen)
        key = app.focused_key
        market = hub.markets[key]
        ask = market.book.best_ask()[0]
        assert screen.market.best_ask == ask and screen.market.book is market.book
        # Tab and Down move between fields (the App's Tab for the next symbol stands aside).
        assert app.focused.id == "risk-equity"
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused.id == "risk-risk_pct"
        await pilot.press("down")
        await pilot.pause()
        assert app.focused.id == "risk-side"
        stop = round(ask * 0.99, 6)
        screen.query_one("#risk-stop").focus()
        await pilot.press("ctrl+a", "ctrl+k", *str(stop))
        await pilot.pause()
        params = app.config.section("risk")
        inst = market.instrument
        want = size_position(RiskInputs(
            side=1, entry=ask, stop=stop, equity=params.equity, risk_pct=params.risk_pct,
            # The form starts spot markets at 1x (spot takes no leverage).
            leverage=1.0 if inst.kind == ContractKind.SPOT else params.leverage,
            r_multiple=params.r_multiple, entry_fee=params.taker_fee, exit_fee=params.taker_fee,
            kind=inst.kind, maintenance_margin=params.maintenance_margin), market.book)
        assert screen.outcome.result == want
        # The market moves on: the frame timer hands the calculator the new book.
        for event in feed.generate(5.0):
            hub.on_event(event)
        app.refresh_frame()
        await pilot.pause()
        await pilot.pause()
        assert screen.market.version == hub.snapshot(key).version
        assert screen.outcome.inputs.entry == hub.markets[key].book.best_ask()[0]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard
        # The symbol keys do not reach the dashboard while the calculator is open.
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert app.focused_key == key


async def test_regime_and_health_keys() -> None:
    app, feed, hub = demo_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, RegimeScreen)
        assert app.screen.snapshot is not None and app.screen.snapshot.key == app.focused_key
        await pilot.press("escape", "f")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HealthScreen)
        table = screen.query_one("#health-sym-table", DataTable)
        assert [str(k.value) for k in table.rows] == [h.key for h in feed.symbol_health()]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard


async def test_theme_key_cycles_through_every_theme() -> None:
    app, _, _ = demo_app(5.0)
    assert {t.name for t in EXTRA_THEMES} <= {t.name for t in THEMES}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        seen = [app.theme]
        for _ in range(len(THEMES)):
            await pilot.press("t")
            await pilot.pause()
            seen.append(app.theme)
        assert seen[-1] == seen[0]
        assert sorted(set(seen)) == sorted(t.name for t in THEMES)
        for name in seen:
            app.theme = name
            assert app.get_css_variables()["profile-poc"], name


async def test_palette_lists_the_new_actions() -> None:
    app, _, _ = demo_app(5.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Risk calculator", "Regime and profile", "Feed health"} <= titles
        await pilot.press("v")
        await pilot.pause()
        assert "Session/rolling profile" in {c.title for c in app.get_system_commands(app.screen)}
