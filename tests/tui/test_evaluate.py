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

    from tapescope.feeds.sim import RegimeParams, SimFeed, SimParams
    from tapescope.tui.evaluate import MARKET_REGIMES, VOL_REGIMES

    p = ScenarioParams(
        scenarios=1, duration_s=240, symbols=2, seed=5, regime_warmup_s=60, regime_settle_s=30
    )
    # Regimes switching every ~40 s, so some seconds are within 30 s of a market-label change.
    fast = RegimeParams(trend_mean_s=40.0, range_mean_s=40.0, volatile_mean_s=40.0)
    sim = replace(SimParams(), regimes=fast)
    report = run_scenarios(p, sim=sim, regimes=lambda market: lambda: ("RANGE", "UNKNOWN"))
    reg = report.regimes
    assert reg is not None and reg.warmup_s == 60
    # Independently: per market, the seconds from its first event + 60 s up to (not
    # including) the second of its last event, labelled by the span covering each.
    feed = SimFeed(replace(sim, seed=5, symbol_count=2, symbols=()), realtime=False)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for ev in feed.generate(240):
        sec = ev.ts // 1_000_000_000
        first.setdefault(ev.symbol, sec)
        last[ev.symbol] = sec
    counts = dict.fromkeys(MARKET_REGIMES, 0)
    vol_counts = dict.fromkeys(VOL_REGIMES, 0)
    settled = dict.fromkeys(MARKET_REGIMES, 0)  # market label unchanged for >= 30 s
    for key in first:
        for sec in range(first[key] + 60, last[key]):
            (span,) = [
                s
                for s in feed.regimes
                if s.key == key and s.start_ns <= sec * 1_000_000_000 < s.end_ns
            ]
            counts[span.market_regime] += 1
            vol_counts[span.vol_regime] += 1
            before = sec - 30
            labels = {
                s.market_regime
                for s in feed.regimes
                if s.key == key
                and s.end_ns > before * 1_000_000_000
                and s.start_ns <= sec * 1_000_000_000
            }
            # the label held over [sec - 30, sec] (the scenario start counts as a change)
            if labels == {span.market_regime} and before * 1_000_000_000 >= feed.start_ns:
                settled[span.market_regime] += 1
    total = sum(counts.values())
    assert reg.scored_seconds == total
    # Every prediction is RANGE: one column holds everything, rows are the true counts.
    m = reg.market.matrix
    assert m[:, MARKET_REGIMES.index("RANGE")].tolist() == [counts[x] for x in MARKET_REGIMES]
    assert reg.market.accuracy == counts["RANGE"] / total
    assert reg.market_coverage == 1.0
    assert reg.settle_s == 30 and reg.market_settled is not None
    col = reg.market_settled.matrix[:, MARKET_REGIMES.index("RANGE")].tolist()
    assert col == [settled[x] for x in MARKET_REGIMES]
    assert 0 < sum(settled.values()) < total
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

    p = ScenarioParams(scenarios=1, duration_s=480, symbols=1, seed=8, regime_warmup_s=360)
    reg = run_scenarios(p, regimes=spy).regimes
    assert reg is not None and len(attached) == 1
    assert any(isinstance(a, VolatilityAnalyzer) for a in attached[0].analyzers)
    assert 100 <= reg.scored_seconds <= 120  # seconds 360..~479 of one market
    # The Kalman trend (120 s) and the GARCH source's EWMA fallback (5 one-minute returns,
    # from 360 s) have warmed up: every second gets a market regime.
    assert reg.market_coverage == 1.0
    assert reg.market.matrix.sum() == reg.scored_seconds
    assert reg.market_strict == reg.market.accuracy


def test_regimes_only_runs_no_detectors_and_reports_the_warm_up_as_coverage() -> None:
    from tapescope.engine.kalman import KalmanConfig
    from tapescope.engine.regime import MarketRegimeConfig, VolatilityAnalyzer
    from tapescope.engine.volatility import VolRegimeConfig
    from tapescope.tui.evaluate import volatility_regimes

    vol = {
        "regime": VolRegimeConfig(source="realised", realised_window_s=60),
        "kalman": KalmanConfig(),
        "market": MarketRegimeConfig(warmup_s=100),
    }
    markets = []
    factory = volatility_regimes(vol)

    def spy(market):
        markets.append(market)
        return factory(market)

    p = ScenarioParams(scenarios=1, duration_s=300, symbols=1, seed=4, detectors=False)
    report = run_scenarios(p, regimes=spy)
    assert report.detections == {} and report.rows() == []
    (market,) = markets
    assert market.analysis is None
    (an,) = [a for a in market.analyzers if isinstance(a, VolatilityAnalyzer)]
    assert an.monitor.realised.returns > 290
    reg = report.regimes
    assert reg is not None and reg.warmup_s == 0.0
    # Seconds 0..~299 labelled; the first 100 (Kalman warm-up) and the first 61 of the
    # realised window are UNKNOWN: coverage ~200/299 for the market, ~238/299 for the vol.
    assert 295 <= reg.scored_seconds <= 300
    assert reg.market.matrix.sum() == round(reg.market_coverage * reg.scored_seconds)
    assert abs(reg.market.matrix.sum() - (reg.scored_seconds - 100)) <= 2
    assert abs(reg.vol.matrix.sum() - (reg.scored_seconds - 61)) <= 2
    assert reg.market_strict == reg.market.accuracy * reg.market_coverage < reg.market.accuracy
