"""DashboardPanels: attaching to a hub, per-frame inputs, the alert round, mute."""

from __future__ import annotations

from dataclasses import replace

from tapescope.engine.alerts import AlertRule, RuleKind
from tapescope.engine.analysis import MarketAnalysis
from tapescope.engine.events import BookSnapshot, StatusChange, Trade
from tapescope.engine.heatmap import HeatmapParams
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.tui.alerts import AlertSettings
from tapescope.tui.panels import DashboardPanels

S = 1_000_000_000


def hub() -> Hub:
    return Hub([Instrument("sim", "A", tick_size=1.0), Instrument("sim", "B", tick_size=1.0)])


def test_attach_every_market_once() -> None:
    h = hub()
    panels = DashboardPanels(HeatmapParams(rows=4, row_ticks=1))
    panels.attach(h)
    attached = {k: list(m.analyzers) for k, m in h.markets.items()}
    panels.attach(h)  # idempotent: nothing attached twice
    for key, m in h.markets.items():
        assert isinstance(m.analysis, MarketAnalysis)
        assert m.analyzers.count(panels.heatmaps[key]) == 1 and m.analyzers == attached[key]
    off = DashboardPanels(HeatmapParams(enabled=False))
    h2 = hub()
    off.attach(h2)
    assert off.heatmaps == {} and all(m.analysis is not None for m in h2.markets.values())


def test_frame_gives_heatmap_and_signals_of_the_focused_market() -> None:
    h = hub()
    panels = DashboardPanels(HeatmapParams(rows=4, row_ticks=1))
    panels.attach(h)
    h.on_event(BookSnapshot("sim:A", 10 * S, 0, [(99.0, 2.0)], [(101.0, 3.0)]))
    h.on_event(Trade("sim:A", 11 * S, 0, 101.0, 1.0, 1))
    frame = panels.frame(h.snapshot("sim:A"))
    assert frame.heatmap is panels.heatmaps["sim:A"].snapshot()
    assert frame.heatmap.times.tolist() == [10]
    assert frame.heatmap.sizes[:, 0].tolist() == [0.0, 2.0, 0.0, 3.0]  # rows 98..101
    assert frame.signals is not None and frame.signals.now == 11 * S
    assert panels.live_s == 120.0  # 30 s half-life x 4 half-lives
    # Same market, no new column: the very same heatmap object (the widget skips it).
    h.on_event(Trade("sim:A", 11 * S + 5, 0, 101.0, 1.0, 1))
    assert panels.frame(h.snapshot("sim:A")).heatmap is frame.heatmap


def test_scan_announces_and_mute_only_logs() -> None:
    bells: list[int] = []
    notes: list[str] = []
    settings = replace(AlertSettings(), rules=(
        AlertRule(RuleKind.FEED, threshold=5.0, cooldown_s=0.0),))
    panels = DashboardPanels(HeatmapParams(enabled=False), settings, bell=lambda: bells.append(1),
                             notify=lambda message, **kw: notes.append(message))
    h = hub()
    panels.attach(h)
    # A is live; B never got a book (CONNECTING counts as down, like DISCONNECTED).
    h.on_event(BookSnapshot("sim:A", S, 0, [(99.0, 1.0)], [(101.0, 1.0)]))
    h.on_event(StatusChange("sim:B", 0, 0, 5, "closed"))
    assert panels.scan(h, 0) == []
    assert [a.key for a in panels.scan(h, 5 * S)] == ["sim:B"]
    assert bells == [1] and notes == ["feed DISCONNECTED for 5s (closed)"]
    assert panels.toggle_mute() is True
    h.on_event(StatusChange("sim:A", 0, 0, 5, "closed"))
    panels.scan(h, 6 * S)
    assert [a.key for a in panels.scan(h, 11 * S)] == ["sim:A"]
    assert bells == [1] and len(notes) == 1  # muted: nothing announced
    assert [a.key for a in panels.sink.log] == ["sim:B", "sim:A"] and panels.sink.version == 2
    assert panels.webhook_job() is None
    disabled = DashboardPanels(alerts=replace(AlertSettings(), enabled=False))
    assert disabled.scan(h, 100 * S) == []
