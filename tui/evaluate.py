"""``tapescope eval --scenarios N``: detector accuracy on labelled simulated sessions.

Each scenario is one deterministic simulator run (seed ``seed + i``), fed in
compressed time through the same engine the dashboard uses (Hub, Market,
MarketAnalysis). Detector events are matched against the simulator's labelled
episodes with :func:`tapescope.engine.evaluation.score_detections`; market
regime predictions are compared second by second with the labelled regime
spans when a regime classifier is attached. Nothing here reads the wall clock
except the progress display.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tapescope.engine.analysis import AnalysisParams, MarketAnalysis
from tapescope.engine.detectors.base import DetectorEvent
from tapescope.engine.evaluation import Detection, DetectionScore, Episode, score_detections
from tapescope.engine.flow_params import FlowParams
from tapescope.engine.hub import Hub
from tapescope.feeds.sim import SimFeed, SimParams

#: Episode kinds a detector is scored on (regime changes are scored as regimes).
SCORED_KINDS = ("wall", "spoof", "iceberg", "absorption", "vacuum")
#: Drain every market's bounded alert queue at least this often (events).
DRAIN_EVERY = 256


@dataclass(frozen=True, slots=True)
class ScenarioParams:
    """What ``tapescope eval --scenarios`` runs."""

    scenarios: int = 5
    """Independent simulator runs (seeds ``seed .. seed + scenarios - 1``)."""
    duration_s: float = 900.0
    """Simulated seconds per scenario."""
    seed: int = 1000
    """First seed."""
    symbols: int = 4
    """Simulated markets per scenario."""
    early_s: float = 1.0
    """A detection may precede its episode's first event by this much."""
    late_s: float = 10.0
    """...or follow its last event by this much."""


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Scores over all scenarios."""

    params: ScenarioParams
    detections: dict[str, DetectionScore]
    """Per detector kind."""
    events: int
    """Engine events processed."""
    other_events: dict[str, int] = field(default_factory=dict)
    """Counts of detector kinds with no labels (pulled walls, spread widening)."""

    def rows(self) -> list[dict[str, object]]:
        """Table rows (also the CSV/JSON records)."""
        out = []
        for kind in SCORED_KINDS:
            s = self.detections.get(kind)
            if s is None:
                continue
            out.append(
                {
                    "detector": kind,
                    "episodes": s.episodes,
                    "detections": s.detections,
                    "found": s.found,
                    "precision": _round(s.precision),
                    "recall": _round(s.recall),
                    "median_delay_s": _round(s.median_delay_s),
                }
            )
        return out


def _round(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def run_scenarios(
    params: ScenarioParams,
    sim: SimParams | None = None,
    flow: FlowParams | None = None,
    analysis: AnalysisParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Run every scenario and score the detectors.

    Args:
        params: how many scenarios, how long, which seeds.
        sim: simulator parameters (seed and symbol count are set per scenario).
        flow: flow metric parameters.
        analysis: detector and signal parameters.
        progress: called as ``progress(done, total)`` after each scenario.
    """
    sim = sim or SimParams()
    episodes: list[Episode] = []
    detections: list[Detection] = []
    other: dict[str, int] = {}
    events = 0
    for i in range(params.scenarios):
        feed = SimFeed(
            replace(sim, seed=params.seed + i, symbol_count=params.symbols, symbols=()),
            realtime=False,
        )
        hub = Hub(feed.instruments, flow)
        analyses = [MarketAnalysis.attach(m, analysis) for m in hub.markets.values()]
        for n, ev in enumerate(feed.generate(params.duration_s), 1):
            hub.on_event(ev)
            if n % DRAIN_EVERY == 0:
                _drain(analyses, detections, other)
            events += 1
        _drain(analyses, detections, other)
        episodes.extend(
            Episode(lab.kind, lab.key, lab.start_ns, lab.end_ns)
            for lab in feed.labels
            if lab.kind in SCORED_KINDS
        )
        if progress is not None:
            progress(i + 1, params.scenarios)
    scores = score_detections(episodes, detections, params.early_s, params.late_s)
    return EvalReport(params, scores, events, other)


def _drain(
    analyses: Iterable[MarketAnalysis], detections: list[Detection], other: dict[str, int]
) -> None:
    for a in analyses:
        queue = a.alerts
        key = a.market.key
        while queue:
            item = queue.popleft()
            if isinstance(item, DetectorEvent):
                kind = str(item.kind)
                if kind in SCORED_KINDS:
                    detections.append(Detection(kind, key, item.ts))
                else:
                    other[kind] = other.get(kind, 0) + 1


def write_report(report: EvalReport, path: Path) -> None:
    """Write the rows as CSV or JSON, chosen by the file's suffix.

    Raises:
        ValueError: unknown suffix.
        OSError: the file cannot be written.
    """
    rows = report.rows()
    if path.suffix.lower() == ".json":
        doc = {
            "params": asdict(report.params),
            "events": report.events,
            "detectors": rows,
            "unlabelled": report.other_events,
        }
        path.write_text(json.dumps(doc, indent=2))
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["detector"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise ValueError(f"unknown report format {path.suffix!r}: use .csv or .json")
