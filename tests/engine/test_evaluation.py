"""Evaluation maths: detection matching, confusion, forward returns vs baseline."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from tapescope.engine.evaluation import (
    NS,
    Detection,
    Episode,
    confusion,
    evaluate_signals,
    score_detections,
    wilson,
)


def test_detection_matching_window_per_market_and_delay() -> None:
    eps = [
        Episode("iceberg", "a", 100 * NS, 110 * NS),
        Episode("iceberg", "b", 100 * NS, 110 * NS),
        Episode("vacuum", "a", 0, 5 * NS),
    ]
    dets = [
        Detection("iceberg", "a", 99 * NS),  # 1 s early: allowed (early_s=1)
        Detection("iceberg", "a", 105 * NS),  # same episode again: a true detection, not a new find
        Detection("iceberg", "b", 121 * NS),  # 11 s after the end: too late (late_s=10) -> FP
        Detection("wall", "a", 0),  # a kind with no labels: pure FP
    ]
    s = score_detections(eps, dets)
    ice = s["iceberg"]
    assert (ice.episodes, ice.detections, ice.found, ice.true_detections) == (2, 3, 1, 2)
    assert ice.precision == pytest.approx(2 / 3) and ice.recall == 0.5
    assert ice.delays_s == (-1.0,)
    assert s["vacuum"].recall == 0.0 and math.isnan(s["vacuum"].precision)
    assert s["wall"].precision == 0.0 and math.isnan(s["wall"].recall)


def test_confusion_matrix_and_accuracy() -> None:
    labels = ["TREND_UP", "TREND_DOWN", "RANGE", "VOLATILE"]
    truth = ["RANGE"] * 6 + ["TREND_UP"] * 4
    pred = ["RANGE"] * 5 + ["VOLATILE"] + ["TREND_UP"] * 3 + ["RANGE"]
    c = confusion(truth, pred, labels)
    assert (
        c.matrix[2, 2] == 5 and c.matrix[2, 3] == 1 and c.matrix[0, 0] == 3 and c.matrix[0, 2] == 1
    )
    assert c.accuracy == pytest.approx(0.8)


def test_forward_returns_hand_computed() -> None:
    t = np.arange(6)
    mid = np.array([100.0, 101.0, 102.0, 101.0, 100.0, 100.0])
    sigs = [("g", 0, 1), ("g", 2 * NS, -1)]
    (ev,) = evaluate_signals(sigs, t, mid, horizons_s=(1,))
    (h,) = ev.horizons
    long_ret = 100.0  # 100 -> 101 is +1 %
    short_ret = -(101 / 102 - 1) * 1e4  # 102 -> 101 for a short
    assert h.count == 2 and h.hit_rate == 1.0
    assert h.mean_return_bps == pytest.approx((long_ret + short_ret) / 2)
    # Baseline: 1 s forward returns [+, +, -, -, 0]: up 2/5, down 2/5; half long, half short -> 0.4;
    # mean baseline for a balanced mix is 0.
    assert h.baseline_hit_rate == pytest.approx(0.4)
    assert h.baseline_mean_bps == pytest.approx(0.0)


def test_signals_past_the_end_are_not_counted() -> None:
    t = np.arange(5)
    mid = np.linspace(100, 104, 5)
    (ev,) = evaluate_signals([("g", 4 * NS, 1), ("g", 1 * NS, 1)], t, mid, horizons_s=(2,))
    assert ev.count == 2 and ev.horizons[0].count == 1


def test_matches_a_slow_independent_implementation() -> None:
    rng = random.Random(5)
    n = 600
    mid = [100.0]
    for _ in range(n - 1):
        mid.append(mid[-1] * (1 + rng.gauss(0, 0.001)))
    t = np.arange(1_000, 1_000 + n)
    sigs = [("g", int((1_000 + rng.randrange(n)) * NS), rng.choice([1, -1])) for _ in range(80)]
    (ev,) = evaluate_signals(sigs, t, np.array(mid), horizons_s=(10,))
    h = ev.horizons[0]
    rets = []
    for _, ts, d in sigs:
        i = ts // NS - 1_000
        if i + 10 < n:
            rets.append(d * (mid[i + 10] / mid[i] - 1) * 1e4)
    assert h.count == len(rets)
    assert h.mean_return_bps == pytest.approx(sum(rets) / len(rets))
    assert h.hit_rate == pytest.approx(sum(r > 0 for r in rets) / len(rets))
    sd = (sum((r - sum(rets) / len(rets)) ** 2 for r in rets) / (len(rets) - 1)) ** 0.5
    assert h.mean_ci_bps[1] - h.mean_ci_bps[0] == pytest.approx(
        2 * 1.959963984540054 * sd / len(rets) ** 0.5
    )


def test_wilson_edges() -> None:
    lo, hi = wilson(0, 20)
    assert lo == pytest.approx(0.0, abs=1e-12) and 0.15 < hi < 0.17
    assert all(math.isnan(x) for x in wilson(0, 0))
