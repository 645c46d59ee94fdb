"""BandScan and the numpy median against the book queries and statistics.median they replace."""

from __future__ import annotations

import heapq
import math
import random
from statistics import median as smedian

import numpy as np
import pytest

from tapescope.engine.book import Book
from tapescope.engine.detectors.band import BandScan, median, median_and_kth_largest, seqsum


def _book(rng: random.Random, n: int) -> Book:
    book = Book()
    bids = [(round(100.0 - 0.01 * (k + 1) * rng.randint(1, 3), 2), rng.choice([0.3, 1.1, 2.7, 40.0])) for k in range(n)]
    asks = [(round(100.0 + 0.01 * (k + 1) * rng.randint(1, 3), 2), rng.choice([0.3, 1.1, 2.7, 40.0])) for k in range(n)]
    book.apply_snapshot(bids, asks, 0)
    return book


@pytest.mark.parametrize("seed", range(20))
def test_band_scan_reads_the_same_levels_as_irange(seed: int) -> None:
    rng = random.Random(seed)
    book = _book(rng, rng.randint(0, 300))
    mid = book.mid() or 100.0
    for pct in (0.05, 0.3, 1.0, 5.0):
        band = mid * pct / 100.0
        scan = BandScan.of(book, mid, mid - band, mid + band)
        want_b = [(p, book.bids[p]) for p in book.bids.irange(minimum=mid - band)]
        want_a = [(p, book.asks[p]) for p in book.asks.irange(maximum=mid + band)]
        assert list(zip(scan.bid_prices.tolist(), scan.bid_sizes.tolist(), strict=True)) == want_b
        assert list(zip(scan.ask_prices.tolist(), scan.ask_sizes.tolist(), strict=True)) == want_a
        for bps in (1.0, 20.0, 60.0, 600.0):
            got = scan.resting_within(bps)
            if mid * bps * 1e-4 <= band:
                # Bit-identical sums (same levels, same order), not approximately equal.
                assert got == book.size_within_bps(bps)
            else:
                assert got is None  # the scan does not cover the vacuum band: the caller asks the book


def test_median_is_bit_identical_to_statistics_median() -> None:
    rng = np.random.default_rng(5)
    for n in range(1, 80):
        for _ in range(20):
            xs = (rng.exponential(3.0, n) * rng.choice([1e-3, 1.0, 1e3])).tolist()
            assert median(np.array(xs)) == smedian(xs)
            assert type(median(np.array(xs))) is float


def test_median_and_kth_largest_from_one_partition() -> None:
    rng = np.random.default_rng(11)
    for n in range(1, 60):
        for _ in range(10):
            # Few distinct sizes (ties, as on a real book) or continuous ones.
            xs = (rng.choice([0.002, 0.01, 0.5, 3.0], n) if rng.random() < 0.5 else rng.exponential(2.0, n)).tolist()
            for k in (1, 2, 3, 5, n, n + 1):
                med, kth = median_and_kth_largest(np.array(xs), k)
                assert med == smedian(xs) and type(med) is float
                if k <= n:
                    assert kth == heapq.nlargest(k, xs)[-1]
                else:
                    assert math.isnan(kth)


def test_seqsum_adds_left_to_right_like_sum() -> None:
    rng = np.random.default_rng(3)
    for n in range(0, 200, 7):
        xs = (rng.exponential(1.0, n) * rng.choice([1e-6, 1.0, 1e9], n)).tolist()
        assert seqsum(np.array(xs, dtype=np.float64)) == sum(xs)
        # np.sum (pairwise) is not what the detectors used; the sequential sum is.
    assert seqsum(np.array([])) == 0 and type(seqsum(np.array([]))) is int
