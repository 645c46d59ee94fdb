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

from tapescope.engine.alerts import drain
from tapescope.engine.analysis import AnalysisParams, MarketAnalysis
from tapescope.engine.detectors.base import DetectorEvent
from tapescope.engine.evaluation import (
    Confusion,
    Detection,
    DetectionScore,
    Episode,
    confusion,
    score_detections,
)
from tapescope.engine.events import NS_PER_S
from tapescope.engine.flow_params import FlowParams
from tapescope.engine.hub import Hub
from tapescope.engine.market import Market
from tapescope.engine.regime import VolatilityAnalyzer, VolatilityMonitor
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.feeds.sim.labels import RegimeSpan

#: Market regime labels scored, in confusion-matrix order.
MARKET_REGIMES = ("TREND_UP", "TREND_DOWN", "RANGE", "VOLATILE")
#: Volatility regime labels scored, in confusion-matrix order.
VOL_REGIMES = ("LOW", "MEDIUM", "HIGH")

#: Reads a market's predicted ``(market_regime, vol_regime)`` names now ("" or any name
#: outside the label sets = no prediction yet).
RegimeProbe = Callable[[], tuple[str, str]]
#: Attaches a regime classifier to a market and returns its probe.
RegimeAttach = Callable[[Market], RegimeProbe]

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
    level_tol_bps: float = 0.5
    """Wall, spoof and iceberg detections must name the episode's price level within this
    many bps (on the same book side)."""
    absorption_tol_bps: float = 2.0
    """Absorption detections must be on the episode's side within this many bps of its price."""
    regime_warmup_s: float = 0.0
    """Regime predictions are not scored during the first this-many seconds of a scenario.
    0 by default: the classifier reports UNKNOWN while it warms up (``[volatility.market_regime]
    warmup_s``), and those seconds count against its coverage, not its accuracy."""
    regime_settle_s: float = 120.0
    """Seconds after a label changes before a second counts as "settled": the settled
    accuracy leaves out the classifier's detection lag after each regime switch."""
    detectors: bool = True
    """Run the microstructure detectors (False: only the regime classifier, for long
    regime runs; the detector table is then empty)."""


@dataclass(frozen=True, slots=True)
class RegimeScores:
    """Per-second regime classification against the simulator's regime spans."""

    market: Confusion
    """Market regime (labels :data:`MARKET_REGIMES`)."""
    vol: Confusion
    """Volatility regime (labels :data:`VOL_REGIMES`)."""
    warmup_s: float
    """Seconds excluded at the start of each scenario."""
    scored_seconds: int
    """Labelled market-seconds after the warm-up."""
    market_coverage: float
    """Share of those seconds with a market-regime prediction."""
    vol_coverage: float
    """Share of those seconds with a volatility-regime prediction."""
    market_settled: Confusion | None = None
    """Market regime on the seconds at least ``settle_s`` after the market label changed."""
    vol_settled: Confusion | None = None
    """Volatility regime on the seconds at least ``settle_s`` after the vol label changed."""
    settle_s: float = 0.0
    """See :attr:`ScenarioParams.regime_settle_s`."""

    @property
    def market_strict(self) -> float:
        """Market-regime accuracy counting seconds without a prediction as wrong."""
        return self.market.accuracy * self.market_coverage

    @property
    def vol_strict(self) -> float:
        """Volatility-regime accuracy counting seconds without a prediction as wrong."""
        return self.vol.accuracy * self.vol_coverage


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
    regimes: RegimeScores | None = None
    """Regime classification scores (``None`` when no classifier was attached)."""

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
    regimes: RegimeAttach | None = None,
) -> EvalReport:
    """Run every scenario and score the detectors (and regimes, given a classifier).

    Args:
        params: how many scenarios, how long, which seeds.
        sim: simulator parameters (seed and symbol count are set per scenario).
        flow: flow metric parameters.
        analysis: detector and signal parameters.
        progress: called as ``progress(done, total)`` after each scenario.
        regimes: attaches a regime classifier to each market; its prediction at
            the end of every second is compared with the regime span covering
            that second, after ``params.regime_warmup_s``.
    """
    sim = sim or SimParams()
    episodes: list[Episode] = []
    detections: list[Detection] = []
    other: dict[str, int] = {}
    truth_m: list[str] = []
    truth_v: list[str] = []
    age_m: list[float] = []  # seconds since the true label last changed
    age_v: list[float] = []
    pred_m: list[str] = []
    pred_v: list[str] = []
    events = 0
    for i in range(params.scenarios):
        feed = SimFeed(
            replace(sim, seed=params.seed + i, symbol_count=params.symbols, symbols=()),
            realtime=False,
        )
        hub = Hub(feed.instruments, flow)
        analyses = (
            [MarketAnalysis.attach(m, analysis) for m in hub.markets.values()]
            if params.detectors
            else []
        )
        probes = {k: regimes(m) for k, m in hub.markets.items()} if regimes else {}
        samples: dict[str, list[tuple[int, str, str]]] = {k: [] for k in probes}
        last_sec: dict[str, int] = {}
        for n, ev in enumerate(feed.generate(params.duration_s), 1):
            if probes:
                _sample_regimes(ev, probes, samples, last_sec)
            hub.on_event(ev)
            if n % DRAIN_EVERY == 0:
                _drain(analyses, detections, other)
            events += 1
        _drain(analyses, detections, other)
        if probes:
            spans = feed.regimes
            for key, rows in samples.items():
                start = rows[0][0] if rows else 0
                mine = sorted((s for s in spans if s.key == key), key=lambda s: s.start_ns)
                since_m, since_v = _label_runs(mine)
                for sec, j, pm, pv in _label_seconds(rows, mine):
                    if sec - start >= params.regime_warmup_s:
                        tm, tv = mine[j].market_regime, mine[j].vol_regime
                        age_m.append(sec - since_m[j] / NS_PER_S)
                        age_v.append(sec - since_v[j] / NS_PER_S)
                        truth_m.append(tm)
                        truth_v.append(tv)
                        pred_m.append(pm)
                        pred_v.append(pv)
        if params.detectors:  # without detectors, episodes would read as all missed
            episodes.extend(
                Episode(lab.kind, lab.key, lab.start_ns, lab.end_ns, lab.side, lab.price)
                for lab in feed.labels
                if lab.kind in SCORED_KINDS
            )
        if progress is not None:
            progress(i + 1, params.scenarios)
    scores = score_detections(
        episodes, detections, params.early_s, params.late_s, price_tolerances(params)
    )
    reg = None
    if regimes is not None:
        n = len(truth_m)
        reg = RegimeScores(
            confusion(truth_m, pred_m, MARKET_REGIMES),
            confusion(truth_v, pred_v, VOL_REGIMES),
            params.regime_warmup_s,
            n,
            sum(p in MARKET_REGIMES for p in pred_m) / n if n else math.nan,
            sum(p in VOL_REGIMES for p in pred_v) / n if n else math.nan,
            _settled(truth_m, pred_m, age_m, params.regime_settle_s, MARKET_REGIMES),
            _settled(truth_v, pred_v, age_v, params.regime_settle_s, VOL_REGIMES),
            params.regime_settle_s,
        )
    return EvalReport(params, scores, events, other, reg)


def volatility_regimes(volatility: dict[str, object] | None = None) -> RegimeAttach:
    """Regime classifier for :func:`run_scenarios`: each market's own volatility monitor.

    Reads the :class:`~tapescope.engine.regime.VolatilityMonitor` that
    :class:`~tapescope.engine.analysis.MarketAnalysis` already runs (so the
    ``[volatility]`` settings, the regime source included, apply and nothing is
    computed twice). A market without MarketAnalysis (``ScenarioParams.detectors``
    False) gets a monitor of its own, built from ``volatility`` (the keyword
    arguments of ``AnalysisParams.volatility``).
    """

    def attach(market: Market) -> RegimeProbe:
        analysis = market.analysis
        if isinstance(analysis, MarketAnalysis):
            monitor = analysis.volatility
        else:
            monitor = VolatilityMonitor(market.key, **(volatility or {}))
            market.analyzers.append(VolatilityAnalyzer(monitor))

        def probe() -> tuple[str, str]:
            snap = monitor.snapshot()
            return snap.regime.name, snap.vol_regime.name

        return probe

    return attach


def _sample_regimes(
    ev: object,
    probes: dict[str, RegimeProbe],
    samples: dict[str, list[tuple[int, str, str]]],
    last_sec: dict[str, int],
) -> None:
    """Before an event of a new second: record the market's prediction for the seconds
    that just closed (forward-filled over silent seconds). ``O(seconds closed)``."""
    key = getattr(ev, "symbol", None)
    probe = probes.get(key) if key is not None else None
    if probe is None:
        return
    sec = ev.ts // NS_PER_S  # type: ignore[attr-defined]
    prev = last_sec.get(key)
    if prev is None:
        last_sec[key] = sec
        return
    if sec > prev:
        market_pred, vol_pred = probe()
        rows = samples[key]
        for s in range(prev, sec):
            rows.append((s, market_pred, vol_pred))
        last_sec[key] = sec


def _settled(
    truth: list[str], pred: list[str], age: list[float], settle_s: float, labels: tuple[str, ...]
) -> Confusion:
    """Confusion over the seconds at least ``settle_s`` into their label. ``O(n)``."""
    keep = [i for i, a in enumerate(age) if a >= settle_s]
    return confusion([truth[i] for i in keep], [pred[i] for i in keep], labels)


def _label_runs(spans: list[RegimeSpan]) -> tuple[list[int], list[int]]:
    """Per span (ascending), when its market label and its vol label last changed (ns):
    the start of the run of consecutive spans sharing that label. ``O(spans)``.

    >>> sp = [RegimeSpan("k", a, b, v, m, 0.0, 0.0) for a, b, v, m in
    ...       [(0, 5, "LOW", "RANGE"), (5, 9, "HIGH", "RANGE"), (9, 12, "HIGH", "TREND_UP")]]
    >>> _label_runs(sp)
    ([0, 0, 9], [0, 5, 5])
    """
    since_m: list[int] = []
    since_v: list[int] = []
    for j, s in enumerate(spans):
        prev = spans[j - 1] if j else None
        same_m = prev is not None and prev.market_regime == s.market_regime
        same_v = prev is not None and prev.vol_regime == s.vol_regime
        since_m.append(since_m[-1] if same_m else s.start_ns)
        since_v.append(since_v[-1] if same_v else s.start_ns)
    return since_m, since_v


def _label_seconds(
    rows: list[tuple[int, str, str]], spans: list[RegimeSpan]
) -> Iterable[tuple[int, int, str, str]]:
    """Pair each sampled second with the index of the span covering its start:
    ``(sec, span index, predicted market, predicted vol)``.
    ``rows`` and ``spans`` ascending; ``O(rows + spans)``."""
    j = 0
    for sec, pm, pv in rows:
        t = sec * NS_PER_S
        while j < len(spans) and spans[j].end_ns <= t:
            j += 1
        if j == len(spans):
            return
        span = spans[j]
        if span.start_ns <= t:
            yield sec, j, pm, pv


def price_tolerances(params: ScenarioParams) -> dict[str, float]:
    """Per-kind price tolerance (bps) used when matching detections to episodes."""
    lvl = params.level_tol_bps
    return {"wall": lvl, "spoof": lvl, "iceberg": lvl, "absorption": params.absorption_tol_bps}


def _drain(
    analyses: Iterable[MarketAnalysis], detections: list[Detection], other: dict[str, int]
) -> None:
    for a in analyses:
        key = a.market.key
        for item in drain(a.alerts):
            if isinstance(item, DetectorEvent):
                kind = str(item.kind)
                if kind in SCORED_KINDS:
                    detections.append(Detection(kind, key, item.ts, item.side, item.price))
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
        reg = report.regimes
        if reg is not None:
            doc["regimes"] = {
                "warmup_s": reg.warmup_s,
                "scored_seconds": reg.scored_seconds,
                "market_coverage": _round(reg.market_coverage),
                "vol_coverage": _round(reg.vol_coverage),
                "market_strict": _round(reg.market_strict),
                "vol_strict": _round(reg.vol_strict),
                "settle_s": reg.settle_s,
                "market_settled": _confusion_doc(reg.market_settled) if reg.market_settled else None,
                "vol_settled": _confusion_doc(reg.vol_settled) if reg.vol_settled else None,
                "market": _confusion_doc(reg.market),
                "vol": _confusion_doc(reg.vol),
            }
        path.write_text(json.dumps(doc, indent=2))
    elif path.suffix.lower() == ".csv":
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["detector"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise ValueError(f"unknown report format {path.suffix!r}: use .csv or .json")


def _confusion_doc(c: Confusion) -> dict[str, object]:
    return {"labels": list(c.labels), "matrix": c.matrix.tolist(), "accuracy": _round(c.accuracy)}
