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
