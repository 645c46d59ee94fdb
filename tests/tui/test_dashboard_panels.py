"""Pilot tests of the heatmap, signals and alert panels on the dashboard (fake hub, moving clock)."""

from __future__ import annotations

from tapescope.engine.alerts import RuleKind
from tapescope.engine.events import BookSnapshot, Trade
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.tui.app import make_app
from tapescope.tui.config import Config
from tapescope.widgets.alert_log import AlertLog
from tapescope.widgets.cvd_chart import CvdChart
from tapescope.widgets.heatmap import LiquidityHeatmap
from tapescope.widgets.signals_panel import SignalsPanel
from tapescope.widgets.tape import Tape

FROZEN_NS = 1_700_000_000_005_000_000
S = 1_000_000_000


async def test_panel_keys_wide(config: Config, hub) -> None:
    app = make_app(config, None, hub, clock=lambda: FROZEN_NS)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        d = app.dashboard
        heat, chart = d.query_one(LiquidityHeatmap), d.query_one(CvdChart)
        signals, log = d.query_one(SignalsPanel), d.query_one(AlertLog)
        # Wide: chart, signals and alerts shown; heatmap hidden.
        assert (heat.display, chart.display, signals.display, log.display) == (False, True, True, True)
        await pilot.press("h")
        assert (heat.display, chart.display) == (True, False)
        await pilot.press("right_curly_bracket")
        assert heat.zoom == 0
        await pilot.press("left_curly_bracket", "left_curly_bracket")
        assert heat.zoom == 2
        await pilot.press("s", "a")
        assert (signals.display, log.display) == (False, False)
        await pilot.press("h", "s")
        assert (heat.display, chart.display, signals.display) == (False, True, True)


async def test_compact_shows_signals_on_request_in_the_tapes_place(config: Config, hub) -> None:
    app = make_app(config, None, hub, clock=lambda: FROZEN_NS)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        d = app.dashboard
        signals, log, tape = d.query_one(SignalsPanel), d.query_one(AlertLog), d.query_one(Tape)
        assert (signals.display, log.display, tape.display) == (False, False, True)
        await pilot.press("s")
        await pilot.pause()
        assert (signals.display, tape.display) == (True, False)
        assert signals.size.height >= 3
        # The fake hub's snapshots carry no analysis: the panel says so.
        assert "no signal engine" in "".join(s.text for s in signals.render_line(0))


async def test_alert_timer_fills_the_log_and_mute_silences(config: Config, hub) -> None:
    now = [FROZEN_NS]
    app = make_app(config, None, hub, clock=lambda: now[0])
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.scan_alerts()  # SOL-SIM is RESYNCING: down since now
        now[0] += 16 * S   # > 15 s: the shipped feed rule fires
        app.scan_alerts()
        await pilot.pause()
        log = app.dashboard.query_one(AlertLog)
        assert [a.kind for a in log.alerts] == [RuleKind.FEED]
        assert "SOL-SIM" in "".join(s.text for s in log.render_line(0))
        assert any("RESYNCING" in n.message for n in app._notifications)
        assert log.border_title == "Alerts · 1"
        await pilot.press("m")
        assert app.panels.muted and app.dashboard.has_class("-muted")
        assert log.border_title == "Alerts · 1 (muted)"


async def test_real_hub_feeds_the_heatmap_and_signals(config: Config) -> None:
    hub = Hub([Instrument("sim", "X", tick_size=0.5)])
    app = make_app(config, None, hub, clock=lambda: FROZEN_NS)
    market = hub.markets["sim:X"]
    assert market.analysis is not None and app.panels.heatmaps["sim:X"] in market.analyzers
    t0 = 1_700_000_000
    for k in range(5):
        hub.on_event(BookSnapshot("sim:X", (t0 + k) * S, 0, [(99.5, 1.0 + k)], [(100.0, 2.0)]))
        hub.on_event(Trade("sim:X", (t0 + k) * S + 1, 0, 100.0, 0.5, 1))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("h")
        await pilot.pause()
        heat = app.dashboard.query_one(LiquidityHeatmap)
        assert heat.heatmap is app.panels.heatmaps["sim:X"].snapshot()
        assert heat.heatmap.times.tolist() == [t0 + k for k in range(4)]
        assert app.dashboard.query_one(SignalsPanel).view is not None
