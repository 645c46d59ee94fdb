"""Signals panel and alert log: exact text for known snapshots, validation states, refresh economy."""

from __future__ import annotations

from tapescope.engine.alerts import Alert, RuleKind, Severity
from tapescope.engine.events import FeedState
from tapescope.engine.instrument import Instrument
from tapescope.engine.signals.base import Signal
from tapescope.engine.signals.fusion import FusedScore, Verdict
from tapescope.engine.snapshot import AnalysisSnapshot, MarketSnapshot
from tapescope.widgets.alert_log import AlertLog
from tapescope.widgets.signals_panel import (
    SignalsPanel,
    SignalsView,
    build_lines,
    gauge,
    signals_view,
)

S = 1_000_000_000
NOW = 1_700_000_400 * S  # 22:20:00 UTC


def verdict(age_s: int, name: str, direction: int, strength: float, conf: float,
            reasons: tuple[str, ...], filtered_by: str = "") -> Verdict:
    sig = Signal("sim:X", NOW - age_s * S, name, direction, strength, conf, reasons, 100.0)
    return Verdict(sig, not filtered_by, filtered_by)


VERDICTS = (
    verdict(300, "trap", -1, 0.9, 0.8, ("failed breakout",)),
    verdict(50, "level_play", 1, 0.6, 0.5, ("at POC 100.0",), "cooldown"),
    verdict(20, "flow_inflection", -1, 0.7, 0.65, ("delta -120", "ofi -30"), "unconfirmed"),
    verdict(5, "void_swept", -1, 0.5, 0.4, (), "stale"),
)


def snapshot(state: FeedState = FeedState.LIVE, now: int = NOW) -> MarketSnapshot:
    return MarketSnapshot(Instrument("sim", "X"), ts=now, state=state,
                          analysis=AnalysisSnapshot(fused=FusedScore(-0.35, 0.72, True, 3),
                                                    signals=VERDICTS))


def right(left: str, right_text: str, width: int = 60) -> str:
    return left + " " * (width - len(left) - len(right_text)) + right_text


EXPECTED = [
    # 60 - 6 (score) - 6 (conf) - 11 (conflict) = 37 cells: 18 a side, round(0.35 * 18) = 6 filled.
    "-0.35 " + "─" * 12 + "█" * 6 + "┼" + "─" * 18 + " c0.72 ⚠ conflict",
    "3 live · 4 total".ljust(60),
    right("▼ void_swept 0.50×0.40", "5s ✗ stale"),
    right("▼ flow_inflection 0.70×0.65", "20s ✗ unconfirmed"),
    "  delta -120; ofi -30".ljust(60),
    right("▲ level_play 0.60×0.50", "50s ✗ cooldown"),
    "  at POC 100.0".ljust(60),
    "── history".ljust(60),
    right("22:15:00 ▼ trap", "✓ actionable"),  # 300 s before 22:20:00, outside the 120 s horizon
    " " * 60,
]


async def test_panel_text_for_a_known_snapshot(host, line_text) -> None:
    panel = SignalsPanel()
    async with host(panel).run_test(size=(60, 10)) as pilot:
        panel.view = signals_view(snapshot(), live_s=120.0)
        await pilot.pause()
        assert [line_text(panel, y) for y in range(10)] == EXPECTED
        # Validation states carry their own colours.
        line3 = list(panel.render_line(3))
        seg = next(s for s in line3 if s.text == "✗ unconfirmed")
        assert seg.style.color == panel.get_component_rich_style("signals--unconfirmed").color
        seg = next(s for s in panel.render_line(2) if s.text == "✗ stale")
        assert seg.style.color == panel.get_component_rich_style("signals--stale").color
        seg = next(s for s in panel.render_line(0) if s.text == "█" * 6)
        assert seg.style.color == panel.get_component_rich_style("signals--short").color


async def test_narrow_panel_keeps_the_validation_state_and_cuts_the_name(host, line_text) -> None:
    panel = SignalsPanel()
    async with host(panel).run_test(size=(30, 10)) as pilot:
        panel.view = signals_view(snapshot())
        await pilot.pause()
        # "▼ flow_inflection 0.70×0.65" (27) + "20s ✗ unconfirmed" (17) needs 45 cells: the
        # name is cut to 30 - 17 - 1 = 12 cells, ending in an ellipsis.
        assert line_text(panel, 3) == "▼ flow_infl… 20s ✗ unconfirmed"
        assert line_text(panel, 2) == "▼ void_swept 0.50×… 5s ✗ stale"  # 30 - 10 - 1 = 19 cells


async def test_not_live_book_silences_and_unchanged_views_cost_nothing(host, line_text) -> None:
    panel = SignalsPanel()
    async with host(panel).run_test(size=(60, 10)) as pilot:
        panel.view = signals_view(snapshot())
        await pilot.pause()
        before = panel.lines_refreshed
        panel.view = signals_view(snapshot())  # equal view: no work
        await pilot.pause()
        assert panel.lines_refreshed == before
        # One second later only the three age columns change.
        panel.view = signals_view(snapshot(now=NOW + S))
        await pilot.pause()
        assert panel.lines_refreshed == before + 3
        assert line_text(panel, 2) == right("▼ void_swept 0.50×0.40", "6s ✗ stale")
        panel.view = signals_view(snapshot(FeedState.RESYNCING, now=NOW + S))
        await pilot.pause()
        assert line_text(panel, 1) == "silenced: book RESYNCING".ljust(60)


def test_compact_width_and_height() -> None:
    view = SignalsView(FusedScore(0.8, 0.5, False, 1), VERDICTS, NOW, 120.0)
    lines = build_lines(view, 30, 3)
    # 30 - 6 - 6 = 18 -> 17 cells, 8 a side, round(0.8 * 8) = 6 filled.
    assert [ln.text for ln in lines] == ["+0.80 ────────┼██████── c0.50", "3 live · 4 total",
                                         "▼ void_swept 0.50×0.40"]
    assert gauge(0.04, 9) == [("────", "signals--muted"), ("┼", "signals--muted"),
                              ("────", "signals--muted")]


async def test_no_analysis_says_so(host, line_text) -> None:
    panel = SignalsPanel()
    assert signals_view(MarketSnapshot(Instrument("sim", "X"))) is None
    async with host(panel).run_test(size=(40, 4)) as pilot:
        await pilot.pause()
        assert line_text(panel, 0).startswith("no signal engine for this market")


def alert(t: int, sev: Severity, msg: str, direction: int = 0) -> Alert:
    return Alert("binance:BTCUSDT", (1_700_000_000 + t) * S, "rule", RuleKind.DETECTOR, sev, msg,
                 direction)


async def test_alert_log_newest_first_with_severity_colours(host, line_text) -> None:
    log = AlertLog()
    async with host(log).run_test(size=(50, 3)) as pilot:
        await pilot.pause()
        assert line_text(log, 0).startswith("no alerts")
        log.alerts = (alert(0, Severity.INFO, "first"), alert(1, Severity.CRITICAL, "feed down"))
        await pilot.pause()
        assert line_text(log, 0) == "22:13:21 BTCUSDT · feed down · rule".ljust(50)
        assert line_text(log, 1) == "22:13:20 BTCUSDT · first · rule".ljust(50)
        seg = next(s for s in log.render_line(0) if s.text == "feed down")
        assert seg.style.color == log.get_component_rich_style("alert-log--critical").color
        log.alerts = log.alerts + (alert(2, Severity.WARNING, "spoof", -1),)
        await pilot.pause()
        assert line_text(log, 0) == "22:13:22 BTCUSDT ▼ spoof · rule".ljust(50)
        assert line_text(log, 2) == "22:13:20 BTCUSDT · first · rule".ljust(50)
        log.show_market = False
        await pilot.pause()
        assert line_text(log, 0) == "22:13:22 ▼ spoof · rule".ljust(50)
