"""Honest evaluation: detector precision/recall against labelled truth, regime
confusion, and signal forward returns against the unconditional baseline.

Pure functions over plain records, so ``tapescope eval`` can feed them from
the simulator's labels or from a recording.

Detector matching: a labelled episode ``(kind, key, start, end, side, price)``
is *found* by the first detection of the same kind on the same market whose
time lies in ``[start - early, end + late]``, on the same side when both name
one (non-zero), and, for kinds given a price tolerance, at a price within that
many bps of the episode's; detection delay is ``detection.ts - start``. A
detection that matches no episode is a false positive. Precision counts
detections, recall counts episodes. Without the side and price test, any wall
on the same market during a labelled wall would count as finding it, which
flatters both precision and recall on a book full of levels.

Signal evaluation, per horizon ``h``: forward return of a signal at ``t`` is
``direction * (mid(t+h) / mid(t) - 1)``; a hit is a positive forward return.
The baseline applies each signal's direction to *every* second of the series
(the unconditional drift for that direction mix), so a generator that only
rides the session's trend shows no edge. Hit rates get Wilson 95 % intervals,
mean returns normal-approximation 95 % intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
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
    side: int = 0
    """+1 bid, -1 ask, 0 unsided (matches any side)."""
    price: float = math.nan
    """Episode price level (``nan``: no price test)."""


class Detection(NamedTuple):
    """A detector output to score."""

    kind: str
    key: str
    ts: int
    side: int = 0
    """+1 bid, -1 ask, 0 unsided (matches any side)."""
    price: float = math.nan
    """Detected price level (``nan``: no price test)."""


def _same_place(e: Episode, d: Detection, tol_bps: float | None) -> bool:
    if e.side and d.side and e.side != d.side:
        return False
    if tol_bps is None or not (e.price == e.price and d.price == d.price) or e.price == 0:
        return True
    return abs(d.price - e.price) / abs(e.price) * 1e4 <= tol_bps + 1e-9


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
    price_tol_bps: Mapping[str, float] | None = None,
) -> dict[str, DetectionScore]:
    """Score detections against episodes, per kind (matching rule in the module docstring).

    Args:
        episodes: labelled truth.
        detections: detector outputs.
        early_s: a detection may precede its episode's start by this much.
        late_s: ...or follow its end by this much.
        price_tol_bps: per kind, the largest price distance (bps) at which a
            detection can match an episode; kinds not listed are not price-tested.

    >>> eps = [Episode("spoof", "m", 10 * NS, 15 * NS), Episode("spoof", "m", 100 * NS, 105 * NS)]
    >>> dets = [Detection("spoof", "m", 12 * NS), Detection("spoof", "m", 50 * NS)]
    >>> s = score_detections(eps, dets)["spoof"]
    >>> s.precision, s.recall, s.delays_s
    (0.5, 0.5, (2.0,))
    >>> eps = [Episode("wall", "m", 10 * NS, 20 * NS, 1, 100.0)]
    >>> dets = [Detection("wall", "m", 12 * NS, 1, 99.0), Detection("wall", "m", 13 * NS, 1, 100.0)]
    >>> s = score_detections(eps, dets, price_tol_bps={"wall": 0.5})["wall"]
    >>> s.precision, s.recall, s.delays_s
    (0.5, 1.0, (3.0,))

    Runtime complexity: ``O(E log E + D E_k)`` for ``E_k`` episodes of a kind.
    """
    tols = dict(price_tol_bps or {})
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
        tol = tols.get(kind)
        for d in dets:
            matched = False
            for i, e in enumerate(eps):
                if (
                    e.key == d.key
                    and e.start_ns - early <= d.ts <= e.end_ns + late
                    and _same_place(e, d, tol)
                ):
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
    return evaluate_signals_pooled(
        (("", name, ts, d) for name, ts, d in signals), {"": (t_s, mid)}, horizons_s
    )


def evaluate_signals_pooled(
    signals: Iterable[tuple[str, str, int, int]],
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    horizons_s: Sequence[int] = (10, 60, 300),
) -> list[SignalEvaluation]:
    """Forward-return evaluation pooled over several markets.

    Each signal's forward return is measured on its own market's series; the
    baseline pools every second of every market (same rule as
    :func:`evaluate_signals`, which is this function on one market).

    Args:
        signals: ``(market_key, generator_name, ts_ns, direction)`` records;
            signals of a market without a series are ignored.
        series: per market, ``(t_s, mid)`` as in :func:`evaluate_signals`.
        horizons_s: forward horizons, seconds.

    >>> t = np.arange(0, 20)
    >>> up, down = 100.0 + t, 100.0 - 0.5 * t
    >>> ev = evaluate_signals_pooled(
    ...     [("a", "x", 0, 1), ("b", "x", 0, -1)], {"a": (t, up), "b": (t, down)}, (10,)
    ... )
    >>> h = ev[0].horizons[0]
    >>> (h.count, h.hit_rate, round(h.mean_return_bps, 1))
    (2, 1.0, 750.0)

    Runtime complexity: ``O(S + H * T)`` for ``T`` seconds over all markets.
    """
    fwd_by_key: dict[str, dict[int, np.ndarray]] = {}
    t0_by_key: dict[str, int] = {}
    pooled: dict[int, list[np.ndarray]] = {h: [] for h in horizons_s}
    for key, (t_s, mid) in series.items():
        t_arr = np.asarray(t_s, dtype=np.int64)
        m = np.asarray(mid, dtype=np.float64)
        if len(t_arr) == 0:
            continue
        t0_by_key[key] = int(t_arr[0])
        per_h = {}
        for h in horizons_s:
            fwd = np.full(len(m), np.nan)
            if h < len(m):
                fwd[:-h] = (m[h:] / m[:-h] - 1.0) * 1e4
            per_h[h] = fwd
            pooled[h].append(fwd[~np.isnan(fwd)])
        fwd_by_key[key] = per_h
    if not fwd_by_key:
        return []
    valid_all = {h: np.concatenate(pooled[h]) for h in horizons_s}
    by_name: dict[str, list[tuple[str, int, int]]] = {}
    for key, name, ts, direction in signals:
        if key in t0_by_key:
            by_name.setdefault(name, []).append((key, int(ts // NS) - t0_by_key[key], direction))
    results = []
    for name in sorted(by_name):
        rows = by_name[name]
        stats = []
        for h in horizons_s:
            rets, dirs = [], []
            for key, i, d in rows:
                fwd = fwd_by_key[key][h]
                if 0 <= i < len(fwd) and not math.isnan(fwd[i]):
                    rets.append(d * fwd[i])
                    dirs.append(d)
            stats.append(_horizon_stats(h, rets, dirs, valid_all[h]))
        results.append(SignalEvaluation(name, len(rows), tuple(stats)))
    return results


def _horizon_stats(
    h: int, rets: list[float], dirs: list[int], valid_all: np.ndarray
) -> HorizonStats:
    n = len(rets)
    if n == 0 or len(valid_all) == 0:
        nan2 = (math.nan, math.nan)
        return HorizonStats(h, 0, math.nan, nan2, math.nan, nan2, math.nan, math.nan)
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
    return HorizonStats(
        h, n, hits / n, wilson(hits, n), mean, (mean - half, mean + half), base_hit, base_mean
    )
