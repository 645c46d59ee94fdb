"""The Microstructure per-level fast paths (``on_level``, ``on_levels``) against the full per-level step.

``Microstructure._on_level_full`` runs every detector on every level; the fast
paths skip levels no detector can use. On random books, prints and deltas
(growths, shrinks, deletes, new levels, unchanged sizes, refills of traded-out
levels, wall-sized additions and pulls near the touch), all three must leave
identical detector state and raise identical events.
"""

from __future__ import annotations

import random

import pytest

from tapescope.engine.book import Book
from tapescope.engine.detectors.base import DetectorParams
from tapescope.engine.detectors.micro import Microstructure

S = 1_000_000_000
TICK = 0.01
#: Thresholds low enough that walls, spoofs and icebergs all fire on a small random book.
PARAMS = DetectorParams(
    wall_k=2.0, wall_min_rest_s=1.0, wall_local_k=1.2, spoof_touch_bps=30.0, spoof_max_prior_frac=1.0,
    spoof_min_approach_frac=0.0, iceberg_min_refills=2, iceberg_min_traded_x=1.0, iceberg_refill_ms=300.0,
)


def _state(m: Microstructure) -> tuple:
    return (
        [(e.kind.name, e.ts, e.side, e.price, e.size, e.score, e.detail) for e in m.events],
        m.fill_cancel.fills,
        m.fill_cancel.cancels,
        dict(m.fill_cancel._unexplained),
        {k: list(v) for k, v in m.walls._lost.items()},
        dict(m.walls.active),
        {k: list(v) for k, v in m.spoofs._candidates.items()},
        {k: (v.traded, v.refills, list(v.clips), v.depleted_ts, v.reported) for k, v in m.icebergs._levels.items()},
    )


class _Session:
    """One Microstructure fed the same way as the Market would, through one of three level hooks."""

    def __init__(self, mode: str, bids: list, asks: list) -> None:
        self.mode = mode
        self.book = Book()
        self.book.apply_snapshot(bids, asks, 0)
        self.micro = Microstructure(PARAMS, TICK, max_events=10_000)

    def delta(self, ts: int, bids: list, asks: list) -> None:
        m, book = self.micro, self.book
        m.begin_update(ts, book)
        if self.mode == "batch":
            changes: list = []
            book.apply_delta_collect(bids, asks, 0, changes)
            m.on_levels(changes)
        elif self.mode == "level":
            book.apply_delta(bids, asks, 0, on_level=m.on_level)
        else:
            book.apply_delta(bids, asks, 0, on_level=m._on_level_full)
        m.end_update(ts)


def _levels(rng: random.Random, mid: float, side: int, n: int) -> list[tuple[float, float]]:
    return [(round(mid - side * (k + 1) * TICK, 2), rng.choice([1.0, 2.0, 3.0])) for k in range(n)]


def _random_delta(rng: random.Random, book: Book, side: int) -> list[tuple[float, float]]:
    levels = book.bids if side > 0 else book.asks
    out = []
    for _ in range(rng.randint(1, 6)):
        r = rng.random()
        if levels and r < 0.75:
            price = levels.keys()[-1 - rng.randrange(min(8, len(levels)))] if side > 0 else levels.keys()[
                rng.randrange(min(8, len(levels)))]
            old = levels[price]
            size = rng.choice([0.0, old, max(0.0, old - rng.choice([0.5, 1.0, 2.0])), old + rng.choice([0.5, 1.0]),
                               old + 12.0, old * 0.1])
        else:
            touch = (levels.keys()[-1] if side > 0 else levels.keys()[0]) if levels else 100.0
            # Mostly near the touch; sometimes around and beyond spoof_touch_bps (30 ticks here).
            price = round(touch - side * TICK * (rng.randint(-1, 10) if rng.random() < 0.7 else rng.randint(20, 80)), 2)
            size = rng.choice([0.0, 1.0, 2.0, 15.0])
        out.append((price, size))
    return out


def _drive(rng: random.Random, runs: list[_Session], check: bool) -> None:
    """3000 random prints, deltas and second closes, applied to every run alike."""
    ref = runs[0]
    ts = S
    for _ in range(3000):
        ts += rng.choice([1_000_000, 50_000_000, 200_000_000, 400_000_000])
        book = ref.book
        if rng.random() < 0.35 and book.bids and book.asks:
            side = rng.choice([1, -1])
            levels = book.asks if side > 0 else book.bids
            price = levels.keys()[0] if side > 0 else levels.keys()[-1]
            qty = rng.choice([0.5, 1.0, levels[price], levels[price] + 1.0])
            for run in runs:
                run.micro.on_trade(ts, price, qty, side)
        else:
            bd = _random_delta(rng, book, 1) if rng.random() < 0.6 else []
            ad = _random_delta(rng, book, -1) if rng.random() < 0.6 else []
            for run in runs:
                run.delta(ts, bd, ad)
        if rng.random() < 0.08:
            for run in runs:
                run.micro.on_second(ts, run.book, 0.0, 1.0)
        if check:
            want = _state(ref.micro)
            for run in runs[1:]:
                assert _state(run.micro) == want, run.mode


@pytest.mark.parametrize("seed", range(12))
def test_fast_paths_match_the_full_step(seed: int) -> None:
    rng = random.Random(seed)
    bids, asks = _levels(rng, 100.0, 1, 25), _levels(rng, 100.0, -1, 25)
    runs = [_Session(mode, bids, asks) for mode in ("full", "level", "batch")]
    _drive(rng, runs, check=True)
    ref = runs[0].micro
    assert ref.fill_cancel.fills > 0 and ref.fill_cancel.cancels > 0
    assert ref.events, "the random session must raise detector events for the comparison to mean anything"


def test_the_random_sessions_exercise_every_level_detector() -> None:
    kinds: set[str] = set()
    for seed in range(12):
        rng = random.Random(seed)
        run = _Session("batch", _levels(rng, 100.0, 1, 25), _levels(rng, 100.0, -1, 25))
        _drive(rng, [run], check=False)
        kinds |= {e.kind.name for e in run.micro.events}
    assert {"WALL", "SPOOF", "ICEBERG"} <= kinds, kinds
