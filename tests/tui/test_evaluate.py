"""Scenario evaluation end to end on a short simulated session."""

from __future__ import annotations

import json
from pathlib import Path

from tapescope.tui.evaluate import SCORED_KINDS, ScenarioParams, run_scenarios, write_report


def test_short_scenario_scores_every_labelled_kind_and_writes_reports(tmp_path: Path) -> None:
    calls = []
    report = run_scenarios(
        ScenarioParams(scenarios=1, duration_s=120, symbols=2, seed=3),
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(1, 1)]
    assert report.events > 1000
    for kind, score in report.detections.items():
        assert kind in SCORED_KINDS
        assert 0 <= score.found <= score.episodes and score.true_detections <= score.detections
    rows = report.rows()
    write_report(report, tmp_path / "r.json")
    write_report(report, tmp_path / "r.csv")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["detectors"] == rows and doc["params"]["duration_s"] == 120
    assert (tmp_path / "r.csv").read_text().splitlines()[0].startswith("detector,episodes")


def test_same_seed_same_scores() -> None:
    p = ScenarioParams(scenarios=1, duration_s=60, symbols=1, seed=11)
    assert run_scenarios(p).rows() == run_scenarios(p).rows()


def test_regime_confusion_against_the_spans_with_a_constant_classifier() -> None:
    from dataclasses import replace

    from tapescope.feeds.sim import SimFeed, SimParams
    from tapescope.tui.evaluate import MARKET_REGIMES, VOL_REGIMES

    p = ScenarioParams(scenarios=1, duration_s=240, symbols=2, seed=5, regime_warmup_s=60)
    report = run_scenarios(p, regimes=lambda market: lambda: ("RANGE", "UNKNOWN"))
    reg = report.regimes
    assert reg is not None and reg.warmup_s == 60
    # Independently: per market, the seconds from its first event + 60 s up to (not
    # including) the second of its last event, labelled by the span covering each.
    feed = SimFeed(replace(SimParams(), seed=5, symbol_count=2, symbols=()), realtime=False)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for ev in feed.generate(240):
        sec = ev.ts // 1_000_000_000
        first.setdefault(ev.symbol, sec)
        last[ev.symbol] = sec
    counts = dict.fromkeys(MARKET_REGIMES, 0)
    vol_counts = dict.fromkeys(VOL_REGIMES, 0)
    for key in first:
        for sec in range(first[key] + 60, last[key]):
            (span,) = [
                s
                for s in feed.regimes
                if s.key == key and s.start_ns <= sec * 1_000_000_000 < s.end_ns
            ]
            counts[span.market_regime] += 1
            vol_counts[span.vol_regime] += 1
    total = sum(counts.values())
    assert reg.scored_seconds == total
    # Every prediction is RANGE: one column holds everything, rows are the true counts.
    m = reg.market.matrix
    assert m[:, MARKET_REGIMES.index("RANGE")].tolist() == [counts[x] for x in MARKET_REGIMES]
    assert reg.market.accuracy == counts["RANGE"] / total
    assert reg.market_coverage == 1.0
    # No volatility prediction ("UNKNOWN"): nothing scored, coverage 0.
    assert reg.vol.matrix.sum() == 0 and reg.vol_coverage == 0.0
    assert sum(vol_counts.values()) == total


def test_detection_and_regime_tables_render(tmp_path: Path) -> None:
    from rich.console import Console

    from tapescope.tui.eval_render import render_detection_report, render_regime_report

    report = run_scenarios(
        ScenarioParams(scenarios=1, duration_s=90, symbols=1, seed=3, regime_warmup_s=10),
        regimes=lambda market: lambda: ("RANGE", "MEDIUM"),
    )
    console = Console(record=True, width=160)
    console.print(render_detection_report(report))
    console.print(render_regime_report(report))
    text = console.export_text()
    assert "precision" in text and "Market regime: accuracy" in text
    assert "first 10 s of each scenario excluded" in text
    path = tmp_path / "r.json"
    write_report(report, path)
    doc = json.loads(path.read_text())["regimes"]
    assert doc["market"]["labels"] == ["TREND_UP", "TREND_DOWN", "RANGE", "VOLATILE"]
    assert doc["market"]["matrix"] == report.regimes.market.matrix.tolist()
    assert doc["scored_seconds"] == report.regimes.scored_seconds
    assert render_regime_report(run_scenarios(ScenarioParams(1, 30, symbols=1))) is None


def test_volatility_monitor_attached_as_the_regime_classifier() -> None:
    from tapescope.engine.market import Market
    from tapescope.engine.regime import VolatilityAnalyzer
    from tapescope.tui.evaluate import volatility_regimes

    attached: list[Market] = []
    factory = volatility_regimes()

    def spy(market: Market):
        attached.append(market)
        return factory(market)

    p = ScenarioParams(scenarios=1, duration_s=420, symbols=1, seed=8, regime_warmup_s=300)
    reg = run_scenarios(p, regimes=spy).regimes
    assert reg is not None and len(attached) == 1
    assert any(isinstance(a, VolatilityAnalyzer) for a in attached[0].analyzers)
    assert 100 <= reg.scored_seconds <= 120  # seconds 300..~419 of one market
    # The Kalman trend has long warmed up by 300 s: every second gets a market regime.
    assert reg.market_coverage == 1.0
    assert reg.market.matrix.sum() == reg.scored_seconds
