"""Honest evaluation: detector precision/recall against labelled truth, regime
confusion, and signal forward returns against the unconditional baseline.

Pure functions over plain records, so ``tapescope eval`` can feed them from
the simulator's labels or from a recording.

Detector matching: a labelled episode ``(kind, key, start, end)`` is *found*
by the first detection of the same kind on the same market whose time lies in
``[start - early, end + late]``; detection delay is ``detection.ts - start``.
A detection that matches no episode is a false positive. Precision counts
detections, recall counts episodes.

Signal evaluation, per horizon ``h``: forward return of a signal at ``t`` is
``direction * (mid(t+h) / mid(t) - 1)``; a hit is a positive forward return.
The baseline applies each signal's direction to *every* second of the series
(the unconditional drift for that direction mix), so a generator that only
rides the session's trend shows no edge. Hit rates get Wilson 95 % intervals,
mean returns normal-approximation 95 % intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

NS = 1_000_000_000
Z95 = 1.959963984540054


class Episode(NamedTuple):
    """A labelled episode (ground truth)."""

    kind: str
    key: str
    start_ns: int
    end_ns: int


class Detection(NamedTuple):
    """A detector output to score."""

    kind: str
    key: str
    ts: int


@dataclass(frozen=True, slots=True)
class DetectionScore:
    """Precision, recall and delay for one detector kind."""

    kind: str
    episodes: int
    detections: int
    found: int
    """Episodes with at least one matching detection."""
    true_detections: int
    """Detections that matched an episode."""
    delays_s: tuple[float, ...] = ()
    """Detection delay of each found episode, seconds."""

    @property
    def precision(self) -> float:
        return self.true_detections / self.detections if self.detections else math.nan

    @property
    def recall(self) -> float:
        return self.found / self.episodes if self.episodes else math.nan

    @property
    def median_delay_s(self) -> float:
        return float(np.median(self.delays_s)) if self.delays_s else math.nan


def score_detections(
    episodes: Iterable[Episode],
    detections: Iterable[Detection],
    early_s: float = 1.0,
    late_s: float = 10.0,
) -> dict[str, DetectionScore]:
    """Score detections against episodes, per kind (matching rule in the module docstring).

    >>> eps = [Episode("spoof", "m", 10 * NS, 15 * NS), Episode("spoof", "m", 100 * NS, 105 * NS)]
    >>> dets = [Detection("spoof", "m", 12 * NS), Detection("spoof", "m", 50 * NS)]
    >>> s = score_detections(eps, dets)["spoof"]
    >>> s.precision, s.recall, s.delays_s
    (0.5, 0.5, (2.0,))

    Runtime complexity: ``O(E log E + D log E)``.
    """
    early, late = int(early_s * NS), int(late_s * NS)
    by_kind: dict[str, list[Episode]] = {}
    for e in episodes:
        by_kind.setdefault(e.kind, []).append(e)
    dets_by_kind: dict[str, list[Detection]] = {}
    for d in detections:
        dets_by_kind.setdefault(d.kind, []).append(d)
    out = {}
    for kind in sorted(set(by_kind) | set(dets_by_kind)):
        eps = sorted(by_kind.get(kind, []), key=lambda e: e.start_ns)
        dets = sorted(dets_by_kind.get(kind, []), key=lambda d: d.ts)
        first_hit: dict[int, int] = {}
        true_dets = 0
        for d in dets:
            matched = False
            for i, e in enumerate(eps):
                if e.key == d.key and e.start_ns - early <= d.ts <= e.end_ns + late:
                    matched = True
                    first_hit.setdefault(i, d.ts)
            true_dets += matched
        delays = tuple((first_hit[i] - eps[i].start_ns) / NS for i in sorted(first_hit))
        out[kind] = DetectionScore(kind, len(eps), len(dets), len(first_hit), true_dets, delays)
    return out


@dataclass(frozen=True, slots=True)
class Confusion:
    """Confusion matrix of a per-second classification."""

    labels: tuple[str, ...]
    matrix: np.ndarray
    """``matrix[i, j]`` = seconds whose truth is ``labels[i]`` and prediction ``labels[j]``."""

    @property
    def accuracy(self) -> float:
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else math.nan


def confusion(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> Confusion:
    """Per-sample confusion; samples where either side is empty are skipped.

    >>> c = confusion(["UP", "UP", "RANGE", ""], ["UP", "RANGE", "RANGE", "UP"], ["UP", "RANGE"])
    >>> c.matrix.tolist(), c.accuracy
    ([[1, 1], [0, 1]], 0.6666666666666666)
    """
    index = {label: i for i, label in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        if t in index and p in index:
            m[index[t], index[p]] += 1
    return Confusion(tuple(labels), m)


@dataclass(frozen=True, slots=True)
class HorizonStats:
    """A generator's forward-return figures at one horizon."""

    horizon_s: int
    count: int
    hit_rate: float
    hit_ci: tuple[float, float]
    mean_return_bps: float
    mean_ci_bps: tuple[float, float]
    baseline_hit_rate: float
    baseline_mean_bps: float

    @property
    def edge(self) -> bool:
        """The mean return's 95 % interval lies wholly above the baseline."""
        return self.mean_ci_bps[0] > self.baseline_mean_bps


@dataclass(frozen=True, slots=True)
class SignalEvaluation:
    """One generator's evaluation across horizons."""

    name: str
    count: int
    horizons: tuple[HorizonStats, ...] = field(default_factory=tuple)


def wilson(hits: int, n: int) -> tuple[float, float]:
    """Wilson 95 % interval for a proportion.

    >>> tuple(round(x, 4) for x in wilson(8, 10))
    (0.4902, 0.9433)
    """
    if n == 0:
        return math.nan, math.nan
    p = hits / n
    denom = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denom
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denom
    return centre - half, centre + half


def evaluate_signals(
    signals: Iterable[tuple[str, int, int]],
    t_s: np.ndarray,
    mid: np.ndarray,
    horizons_s: Sequence[int] = (10, 60, 300),
) -> list[SignalEvaluation]:
    """Forward-return evaluation of signals on a per-second mid series.

    Args:
        signals: ``(generator_name, ts_ns, direction)`` records.
        t_s: whole-second timestamps of the series, ascending, step 1.
        mid: mid price at each of those seconds.
        horizons_s: forward horizons, seconds.

    Returns:
        One :class:`SignalEvaluation` per generator, sorted by name. Signals
        too close to the end of the series for a horizon are not counted at it.

    Runtime complexity: ``O(S + H * T)`` for ``S`` signals, ``H`` horizons and ``T`` seconds.
    """
    t_s = np.asarray(t_s, dtype=np.int64)
    mid = np.asarray(mid, dtype=np.float64)
    if len(t_s) == 0:
        return []
    t0 = int(t_s[0])
    by_name: dict[str, list[tuple[int, int]]] = {}
    for name, ts, direction in signals:
        by_name.setdefault(name, []).append((int(ts // NS) - t0, direction))
    results = []
    for name in sorted(by_name):
        rows = by_name[name]
        stats = []
        for h in horizons_s:
            fwd = np.full(len(mid), np.nan)
            if h < len(mid):
                fwd[:-h] = (mid[h:] / mid[:-h] - 1.0) * 1e4
            valid_all = fwd[~np.isnan(fwd)]
            rets = [d * fwd[i] for i, d in rows if 0 <= i < len(fwd) and not math.isnan(fwd[i])]
            dirs = [d for i, d in rows if 0 <= i < len(fwd) and not math.isnan(fwd[i])]
            n = len(rets)
            if n == 0 or len(valid_all) == 0:
                stats.append(
                    HorizonStats(
                        h,
                        0,
                        math.nan,
                        (math.nan, math.nan),
                        math.nan,
                        (math.nan, math.nan),
                        math.nan,
                        math.nan,
                    )
                )
                continue
            arr = np.asarray(rets)
            hits = int((arr > 0).sum())
            mean = float(arr.mean())
            sd = float(arr.std(ddof=1)) if n > 1 else math.nan
            half = Z95 * sd / math.sqrt(n) if n > 1 else math.nan
            long_share = sum(d > 0 for d in dirs) / n
            up, down = float((valid_all > 0).mean()), float((valid_all < 0).mean())
            drift = float(valid_all.mean())
            base_hit = long_share * up + (1 - long_share) * down
            base_mean = (2 * long_share - 1) * drift
            stats.append(
                HorizonStats(
                    h,
                    n,
                    hits / n,
                    wilson(hits, n),
                    mean,
                    (mean - half, mean + half),
                    base_hit,
                    base_mean,
                )
            )
        results.append(SignalEvaluation(name, len(rows), tuple(stats)))
    return results
