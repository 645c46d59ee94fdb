"""Book: hand-computed cases, and invariants under a seeded random stress."""

from __future__ import annotations

import math
import random

import pytest
from sortedcontainers import SortedDict

from tapescope.engine.book import Book


def make(bids, asks, seq=1) -> Book:
    b = Book()
    b.apply_snapshot(bids, asks, seq)
    b._check()
    return b


def test_snapshot_skips_zero_levels_and_sorts() -> None:
    b = make([(98.0, 1.0), (99.0, 0.0), (97.5, 2.0)], [(101.0, 0.0), (100.5, 3.0), (102.0, 1.0)])
    assert b.best_bid() == (98.0, 1.0)
    assert b.best_ask() == (100.5, 3.0)
    assert b.depth() == (2, 2)
    assert b.mid() == pytest.approx(99.25)


def test_delta_sets_absolute_sizes_and_deletes() -> None:
    b = make([(99.0, 1.0), (98.0, 2.0)], [(101.0, 1.0)])
    n = b.apply_delta([(99.0, 5.0), (98.0, 0.0), (97.0, 0.0)], [(100.0, 2.0)], seq=2)
    b._check()
    assert n == 4
    assert b.top(5) == ([(99.0, 5.0)], [(100.0, 2.0), (101.0, 1.0)])
    assert b.seq == 2


def test_empty_book_queries() -> None:
    b = Book()
    assert b.best_bid() is None and b.best_ask() is None and b.mid() is None
    assert b.size_within_bps(10) == (0.0, 0.0)
    assert b.aggregated(1.0, 3) == ([], [])
    assert not b.is_crossed()


def test_size_within_bps_hand_computed() -> None:
    # mid = 100.0; 10 bps band = 0.1 -> bids >= 99.9, asks <= 100.1
    b = make([(99.95, 1.0), (99.9, 2.0), (99.89, 7.0)], [(100.05, 3.0), (100.1, 4.0), (100.2, 9.0)])
    assert b.size_within_bps(10) == (3.0, 7.0)
    assert b.size_within_levels(2) == (3.0, 7.0)
    assert b.size_within_levels(10) == (10.0, 16.0)


def test_aggregated_rows_bin_bids_down_asks_up() -> None:
    b = make(
        [(100.4, 1.0), (100.0, 2.0), (99.6, 4.0), (97.1, 8.0)],
        [(100.6, 1.5), (101.5, 2.5), (101.6, 0.5)],
    )
    bids, asks = b.aggregated(0.5, 4)
    assert bids == [(100.0, 3.0), (99.5, 4.0), (99.0, 0.0), (98.5, 0.0)]
    assert asks == [(101.0, 1.5), (101.5, 2.5), (102.0, 0.5), (102.5, 0.0)]


def test_truncate_keeps_best_levels() -> None:
    b = make([(float(p), 1.0) for p in range(90, 100)], [(float(p), 1.0) for p in range(101, 111)])
    b.truncate(3)
    assert list(b.bids.keys()) == [97.0, 98.0, 99.0]
    assert list(b.asks.keys()) == [101.0, 102.0, 103.0]


def test_walk_hand_computed() -> None:
    b = make([(99.0, 2.0), (98.0, 1.0)], [(101.0, 1.0), (102.0, 2.0)])
    assert b.walk(+1, 2.0) == (2.0, pytest.approx(101.5))
    assert b.walk(-1, 3.0) == (3.0, pytest.approx((2 * 99.0 + 98.0) / 3))
    filled, avg = b.walk(+1, 10.0)
    assert filled == 3.0 and avg == pytest.approx((101.0 + 4 * 51.0) / 3)
    assert Book().walk(+1, 1.0)[0] == 0.0 and math.isnan(Book().walk(+1, 1.0)[1])


def test_check_catches_crossed_book() -> None:
    b = Book()
    b.apply_snapshot([(101.0, 1.0)], [(100.0, 1.0)])
    with pytest.raises(AssertionError, match="crossed"):
        b._check()


def test_seeded_random_stress_matches_a_plain_dict_model() -> None:
    """100k random operations; after each, the book equals a naive model and passes _check."""
    rng = random.Random(20261122)
    book = Book()
    model_bids: dict[float, float] = {}
    model_asks: dict[float, float] = {}
    mid = 1000

    def snapshot() -> None:
        nonlocal mid
        mid = rng.randint(900, 1100)
        bids = [(float(mid - 1 - i), float(rng.randint(1, 9))) for i in range(rng.randint(0, 40))]
        asks = [(float(mid + 1 + i), float(rng.randint(1, 9))) for i in range(rng.randint(0, 40))]
        book.apply_snapshot(bids, asks)
        model_bids.clear(), model_asks.clear()
        model_bids.update(bids), model_asks.update(asks)

    def delta() -> None:
        bids, asks = [], []
        for _ in range(rng.randint(1, 20)):
            if rng.random() < 0.5:
                p = float(mid - rng.randint(1, 60))
                q = 0.0 if rng.random() < 0.2 else float(rng.randint(1, 9))
                bids.append((p, q))
            else:
                p = float(mid + rng.randint(1, 60))
                q = 0.0 if rng.random() < 0.2 else float(rng.randint(1, 9))
                asks.append((p, q))
        book.apply_delta(bids, asks)
        for model, levels in ((model_bids, bids), (model_asks, asks)):
            for p, q in levels:
                if q > 0:
                    model[p] = q
                else:
                    model.pop(p, None)

    actions = [(snapshot, 1), (delta, 200)]
    population = [a for a, w in actions for _ in range(w)]
    for _ in range(100_000):
        rng.choice(population)()
        # _check walks the whole book, so run it on a sample to keep the test quick.
        if rng.random() < 0.02:
            book._check()
        bb, ba = book.best_bid(), book.best_ask()
        assert bb == (max(model_bids.items()) if model_bids else None)
        assert ba == (min(model_asks.items()) if model_asks else None)
    book._check()
    assert dict(book.bids) == model_bids and dict(book.asks) == model_asks
    assert isinstance(book.bids, SortedDict)


def test_observed_delta_reports_old_and_new_sizes_and_matches_plain_apply() -> None:
    seen = []
    b = make([(99.0, 1.0), (98.0, 2.0)], [(101.0, 1.0)])
    plain = make([(99.0, 1.0), (98.0, 2.0)], [(101.0, 1.0)])
    delta = ([(99.0, 5.0), (98.0, 0.0), (97.0, 0.0)], [(100.0, 2.0)])
    n = b.apply_delta(*delta, seq=3, on_level=lambda *a: seen.append(a))
    plain.apply_delta(*delta, seq=3)
    assert n == 4
    assert seen == [
        (1, 99.0, 1.0, 5.0),
        (1, 98.0, 2.0, 0.0),
        (1, 97.0, 0.0, 0.0),
        (-1, 100.0, 0.0, 2.0),
    ]
    assert dict(b.bids) == dict(plain.bids) and dict(b.asks) == dict(plain.asks) and b.seq == 3
