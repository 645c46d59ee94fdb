"""Ring buffers: hand-computed cases and seeded randomised comparison with naive models."""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque

import numpy as np
import pytest

from tapescope.engine.ring import RecordRing, SecondRing, ValueRing


class NaiveSeconds:
    """Reference: a dict second -> sum; a window of W is seconds (now-W, now]."""

    def __init__(self, windows, capacity):
        self.windows = windows
        self.capacity = capacity
        self.values: dict[int, float] = defaultdict(float)
        self.now = -1

    def add(self, sec, v):
        if sec > self.now:
            self.now = sec
        if self.now - sec >= self.capacity:
            return
        self.values[sec] += v

    def advance(self, sec):
        self.now = max(self.now, sec)

    def total(self, i):
        w = self.windows[i]
        return sum(v for s, v in self.values.items() if self.now - w < s <= self.now)


def test_second_ring_hand_computed_window_edges() -> None:
    r = SecondRing((2, 5))
    r.add(10, 1.0)
    r.add(11, 2.0)
    r.add(12, 4.0)
    # now 12: window 2 = {11, 12} = 2 + 4; window 5 = {8..12} = 1 + 2 + 4
    assert (r.total(0), r.total(1)) == (6.0, 7.0)
    r.add(14, 8.0)
    # now 14: window 2 = {13, 14} = 8; window 5 = {10..14} = 1 + 2 + 4 + 8
    assert (r.total(0), r.total(1)) == (8.0, 15.0)
    r.advance(15)
    # 10 leaves the 5 s window: {11..15} = 2 + 4 + 8
    assert (r.total(0), r.total(1)) == (8.0, 14.0)
    r._check()
    r.advance(20)
    # {16..20} empty; gap 5 >= capacity 5 takes the fill path
    assert r.totals() == [0.0, 0.0]
    r._check()


def test_second_ring_late_values_are_booked_or_dropped() -> None:
    r = SecondRing((2, 4))
    r.add(100, 1.0)
    r.add(103, 1.0)
    r.add(102, 5.0)  # age 1: inside both windows
    r.add(101, 7.0)  # age 2: only the 4 s window
    r.add(99, 9.0)  # age 4 >= capacity 4: dropped
    assert r.total(0) == 6.0  # {102, 103}
    assert r.total(1) == 14.0  # {100..103} = 1 + 7 + 5 + 1
    assert (r.late, r.dropped) == (2, 1)
    assert r.value(101) == 7.0 and r.value(99) == 0.0 and r.value(103) == 1.0
    r._check()


def test_second_ring_rejects_bad_config() -> None:
    with pytest.raises(ValueError):
        SecondRing(())
    with pytest.raises(ValueError):
        SecondRing((0, 5))
    with pytest.raises(ValueError):
        SecondRing((10,), capacity=5)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_second_ring_matches_naive(seed: int) -> None:
    rng = random.Random(seed)
    windows = (1, 3, 7, 30)
    cap = 40
    ring = SecondRing(windows, capacity=cap)
    naive = NaiveSeconds(windows, cap)
    sec = 1_000_000

    def act_same():
        v = rng.uniform(-5, 5)
        ring.add(sec, v)
        naive.add(sec, v)

    def act_next():
        nonlocal sec
        sec += rng.choice((1, 1, 2, 5, 29, 39, 40, 41, 300))
        if rng.random() < 0.5:
            ring.advance(sec)
            naive.advance(sec)
        else:
            act_same()

    def act_late():
        s = sec - rng.randint(1, 45)
        v = rng.uniform(-5, 5)
        ring.add(s, v)
        naive.add(s, v)

    actions = [act_same] * 6 + [act_next] * 3 + [act_late]
    for _ in range(3000):
        rng.choice(actions)()
        ring._check()
        for i in range(len(windows)):
            assert ring.total(i) == pytest.approx(naive.total(i), abs=1e-9)


def test_value_ring_hand_computed() -> None:
    v = ValueRing(4)
    assert math.isnan(v.mean()) and math.isnan(v.std()) and len(v) == 0
    for x in (2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0):
        v.append(x)
        v._check()
    # last four: 5, 5, 7, 9 -> mean 6.5, var = (2.25+2.25+0.25+6.25)/4 = 2.75
    assert v.last().tolist() == [5.0, 5.0, 7.0, 9.0]
    assert v.mean() == pytest.approx(6.5)
    assert v.std() == pytest.approx(math.sqrt(2.75))
    assert v.last(1).tolist() == [9.0]
    assert not v.last().flags.writeable
    v.fill(1.0, 2)
    assert v.last().tolist() == [7.0, 9.0, 1.0, 1.0]
    v.fill(3.0, 10)
    assert v.last().tolist() == [3.0] * 4 and v.std() == 0.0
    v._check()
    v.clear()
    assert len(v) == 0 and v.last().size == 0


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_value_ring_matches_naive(seed: int) -> None:
    rng = random.Random(seed)
    cap = rng.choice((1, 7, 50))
    ring = ValueRing(cap)
    ref: deque[float] = deque(maxlen=cap)
    # A large offset with a small spread checks the shifted sums keep precision.
    base = rng.choice((0.0, 1e6))
    for _ in range(2000):
        if rng.random() < 0.05:
            x, k = base + rng.uniform(-1, 1), rng.randint(0, 2 * cap)
            ring.fill(x, k)
            ref.extend([x] * k)
        else:
            x = base + rng.uniform(-1, 1)
            ring.append(x)
            ref.append(x)
        ring._check()
        if ref:
            arr = np.array(ref)
            assert ring.last().tolist() == list(ref)
            assert ring.mean() == pytest.approx(arr.mean(), rel=1e-12, abs=1e-9)
            assert ring.std() == pytest.approx(arr.std(), rel=1e-6, abs=1e-6)


def test_record_ring_orders_rows_and_counts() -> None:
    dt = np.dtype([("t", "i8"), ("x", "f8")])
    r = RecordRing(dt, 3)
    assert r.ordered().size == 0
    for t in range(1, 6):
        r.append((t, t * 0.5))
        r._check()
    rows = r.ordered()
    assert rows["t"].tolist() == [3, 4, 5] and rows["x"].tolist() == [1.5, 2.0, 2.5]
    assert r.count == 5 and not rows.flags.writeable
