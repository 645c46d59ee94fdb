"""Flow metrics against hand-computed values on small crafted sequences."""

from __future__ import annotations

import math
import random

import pytest

from tapescope.engine.book import Book
from tapescope.engine.book_view import ask_size_to, bid_size_from, top_asks, top_bids
from tapescope.engine.flow import FlowMetrics, FlowParams

NS = 1_000_000_000
#: An arbitrary second of event time, a multiple of 60 (bars align to it).
T = 1_700_000_040
#: UTC midnight of day 19700 (2023-12-09).
MIDNIGHT = 19_700 * 86_400


def snap(f: FlowMetrics, book: Book, sec: int, bids, asks) -> None:
    book.apply_snapshot(bids, asks)
    assert f.on_book(sec * NS, book, snapshot=True)
    f._check()


def delta(f: FlowMetrics, book: Book, sec: int, bids=(), asks=()) -> None:
    book.apply_delta(bids, asks)
    assert f.on_book(sec * NS, book)
    f._check()


def trade(f: FlowMetrics, sec: float, price: float, qty: float, side: int) -> None:
    f.on_trade(int(sec * NS), price, qty, side)
    f._check()


def ofi(f: FlowMetrics, book: Book) -> tuple[dict, dict]:
    s = f.snapshot(book)
    return dict(s.ofi), dict(s.ofi_multi)


def test_ofi_single_and_multi_level_hand_computed() -> None:
    # e = 1[Pb>=Pb'] qb - 1[Pb<=Pb'] qb' - 1[Pa<=Pa'] qa + 1[Pa>=Pa'] qa'
    f = FlowMetrics(FlowParams(ofi_levels=2, ofi_windows=(2, 10)), tick_size=0.5)
    b = Book()
    snap(f, b, T, [(100.0, 5.0), (99.0, 3.0)], [(101.0, 4.0), (102.0, 6.0), (103.0, 1.0)])
    assert ofi(f, b) == ({2: 0.0, 10: 0.0}, {2: 0.0, 10: 0.0})
    steps = [
        # U1 equal bid price, size 5 -> 7: L1 bid +7 - 5 = +2; L2 unchanged 0.
        (T, [(100.0, 7.0)], [], 2.0, 2.0),
        # U2 bid price up (new 100.5 x2): L1 100.5>100: +2; L2 (100,7) vs (99,3): 100>99: +7.
        (T, [(100.5, 2.0)], [], 2.0, 9.0),
        # U3 ask price up (101 removed): L1 (102,6) vs (101,4): 102>=101: +qa'=+4;
        #    L2 (103,1) vs (102,6): +6.
        (T + 1, [], [(101.0, 0.0)], 4.0, 10.0),
        # U4 ask price down (new 101.5 x3): L1 vs (102,6): 101.5<=102: -3;
        #    L2 (102,6) vs (103,1): 102<=103: -6.
        (T + 1, [], [(101.5, 3.0)], -3.0, -9.0),
        # U5 bid price down (100.5 removed): L1 (100,7) vs (100.5,2): -qb' = -2;
        #    L2 (99,3) vs (100,7): -7.
        (T + 2, [(100.5, 0.0)], [], -2.0, -9.0),
        # U6 equal prices both sides: bid 7 -> 4: -3; ask 3 -> 5: -5 + 3 = -2 -> -5. L2 same: 0.
        (T + 3, [(100.0, 4.0)], [(101.5, 5.0)], -5.0, -5.0),
    ]
    cum1 = cumm = 0.0
    for sec, bids, asks, e1, em in steps:
        delta(f, b, sec, bids, asks)
        cum1 += e1
        cumm += em
        single, multi = ofi(f, b)
        assert single[10] == pytest.approx(cum1) and multi[10] == pytest.approx(cumm)
    # Cumulative single: 2, 4, 8, 5, 3, -2; multi: 2, 11, 21, 12, 3, -2.
    assert (cum1, cumm) == (-2.0, -2.0)
    # The 2 s window at T+3 holds T+2 and T+3 only: single -2 - 5, multi -9 - 5.
    single, multi = ofi(f, b)
    assert single[2] == pytest.approx(-7.0) and multi[2] == pytest.approx(-14.0)


def test_ofi_snapshot_reanchors_without_spurious_flow() -> None:
    f = FlowMetrics(FlowParams(ofi_levels=2, ofi_windows=(10,)), tick_size=0.5)
    b = Book()
    snap(f, b, T, [(100.0, 5.0)], [(101.0, 4.0)])
    delta(f, b, T, [(100.0, 6.0)])  # +1
    # A resync snapshot far away: the jump from the old top is not order flow.
    snap(f, b, T + 1, [(50.0, 1.0), (49.0, 9.0)], [(51.0, 1.0)])
    assert ofi(f, b) == ({10: 1.0}, {10: 1.0})
    # The next delta is measured against the snapshot: bid 50 1 -> 3 is +2.
    delta(f, b, T + 1, [(50.0, 3.0)])
    assert ofi(f, b) == ({10: 3.0}, {10: 3.0})
    # A second ask level appears where there was none: L2 ask (52,2) vs (+inf,0): -2.
    delta(f, b, T + 1, [], [(52.0, 2.0)])
    assert ofi(f, b) == ({10: 3.0}, {10: 1.0})


def test_crossed_book_is_refused() -> None:
    f = FlowMetrics(FlowParams(), tick_size=1.0)
    b = Book()
    snap(f, b, T, [(100.0, 1.0)], [(101.0, 1.0)])
    b.apply_delta([(101.0, 2.0)], [])
    assert f.on_book(T * NS, b) is False
    assert (f.bid, f.ask) == (-math.inf, math.inf)


def test_cvd_resets_at_session_boundary() -> None:
    f = FlowMetrics(FlowParams(), tick_size=0.5)
    trade(f, MIDNIGHT - 2, 100.0, 2.0, +1)  # cvd 2, quote 200
    trade(f, MIDNIGHT - 1.5, 101.0, 0.5, -1)  # cvd 1.5, quote 200 - 50.5 = 149.5
    assert (f.cvd, f.cvd_quote) == (1.5, 149.5)
    trade(f, MIDNIGHT + 0.25, 102.0, 1.0, +1)  # new session: cvd 1, quote 102
    assert (f.cvd, f.cvd_quote) == (1.0, 102.0)
    assert f.session == 19_700 and f.snapshot(Book()).cvd == 1.0


def test_cvd_session_reset_time_and_book_driven_reset() -> None:
    f = FlowMetrics(FlowParams(session_reset="01:00"), tick_size=0.5)
    b = Book()
    b.apply_snapshot([(99.0, 1.0)], [(100.0, 1.0)])
    trade(f, MIDNIGHT - 1, 100.0, 2.0, +1)
    trade(f, MIDNIGHT + 1, 100.0, 1.0, +1)  # 00:00 is not the boundary: cvd 3
    assert f.cvd == 3.0
    # Only a book update after 01:00: the new session starts with cvd 0.
    assert f.on_book((MIDNIGHT + 3600) * NS, b)
    assert (f.cvd, f.cvd_quote) == (0.0, 0.0)
    with pytest.raises(ValueError):
        FlowParams(session_reset="25:00")
    with pytest.raises(ValueError):
        FlowParams(session_reset="1:00")


def test_rolling_deltas_across_window_edges() -> None:
    f = FlowMetrics(FlowParams(delta_windows=(2, 5)), tick_size=1.0)
    b = Book()
    b.apply_snapshot([(99.0, 1.0)], [(100.0, 1.0)])
    trade(f, T, 100.0, 1.0, +1)
    trade(f, T + 1, 100.0, 3.0, -1)
    trade(f, T + 3, 100.0, 2.0, +1)
    trade(f, T + 5, 100.0, 4.0, +1)
    # At T+5: 2 s window {T+4, T+5} = 4; 5 s window {T+1..T+5} = -3 + 2 + 4 = 3.
    assert dict(f.snapshot(b).deltas) == {2: 4.0, 5: 3.0}
    f.on_book((T + 6) * NS, b)
    # At T+6: {T+5, T+6} = 4; {T+2..T+6} = 2 + 4 = 6.
    assert dict(f.snapshot(b).deltas) == {2: 4.0, 5: 6.0}
    f.on_book((T + 11) * NS, b)
    # At T+11: {T+7..T+11} is empty.
    assert dict(f.snapshot(b).deltas) == {2: 0.0, 5: 0.0}
    assert f.cvd == 4.0


def test_tbsr() -> None:
    f = FlowMetrics(FlowParams(tbsr_window=60), tick_size=1.0)
    b = Book()
    assert math.isnan(f.snapshot(b).tbsr)
    trade(f, T, 100.0, 3.0, +1)
    trade(f, T + 30, 100.0, 1.0, -1)
    assert f.snapshot(b).tbsr == 0.75  # 3 / (3 + 1)
    trade(f, T + 60, 100.0, 1.0, +1)
    # Window {T+1..T+60}: buy 1, sell 1 -> 0.5 (the T buy of 3 left).
    assert f.snapshot(b).tbsr == 0.5


def test_volume_ratio_and_spike() -> None:
    f = FlowMetrics(FlowParams(volume_bar_s=60, volume_bars=3, volume_spike=2.5), tick_size=1.0)
    b = Book()
    trade(f, T + 30, 100.0, 100.0, +1)  # bar 0 is partial: never history
    assert math.isnan(f.snapshot(b).volume_ratio)
    trade(f, T + 60, 100.0, 2.0, +1)  # bar 1: 2 + 2 = 4
    trade(f, T + 100, 100.0, 2.0, -1)
    assert math.isnan(f.snapshot(b).volume_ratio)  # no closed bar yet
    trade(f, T + 120, 100.0, 6.0, +1)  # bar 2: 6; closed bars [4]
    s = f.snapshot(b)
    assert s.volume_ratio == pytest.approx(6.0 / 4.0) and not s.volume_spike
    # Bar 3 has no trade; bar 4 starts: closed bars [4, 6, 0], mean 10/3.
    trade(f, T + 245, 100.0, 5.0, -1)
    s = f.snapshot(b)
    assert s.volume_ratio == pytest.approx(5.0 / (10.0 / 3.0)) and not s.volume_spike  # 1.5
    trade(f, T + 250, 100.0, 7.0, +1)
    s = f.snapshot(b)
    assert s.volume_ratio == pytest.approx(12.0 / (10.0 / 3.0)) and s.volume_spike  # 3.6


def test_delta_flip() -> None:
    p = FlowParams(delta_flip_window=2, delta_flip_k=1.5, delta_flip_history=10, delta_flip_min_history=3)
    f = FlowMetrics(p, tick_size=1.0)
    # Per-second deltas d: +1, +1, +1, +1, -10, -1. The flip-window delta at the
    # close of second s is D(s) = d(s-1) + d(s): 1, 2, 2, 2, -9, -11.
    for i, (q, side) in enumerate([(1, 1), (1, 1), (1, 1), (1, 1), (10, -1)]):
        trade(f, T + i, 100.0, q, side)
    # Closing T+3 (at the T+4 trade): history [1, 2, 2] has mean 5/3, var 2/9,
    # sigma 0.4714, k sigma 0.7071 < |2|: significant, first sign +1, no flip.
    assert f.delta_flip == 0 and f.flips == 0
    trade(f, T + 5, 100.0, 1.0, -1)
    # Closing T+4: D = -9; history [1, 2, 2, 2] sigma 0.4330, k sigma 0.6495
    # < 9 and the sign is opposite to the last significant one: flip -1.
    assert f.delta_flip == -1 and f.flips == 1 and f.last_flip_s == T + 4
    trade(f, T + 6, 100.0, 1.0, -1)
    # Closing T+5: D = -11, significant but the same sign: no new flip.
    assert f.delta_flip == 0 and f.flips == 1
    assert f._flip_hist.last().tolist() == [1.0, 2.0, 2.0, 2.0, -9.0, -11.0]


def test_delta_flip_ignores_insignificant_sign_change() -> None:
    p = FlowParams(delta_flip_window=1, delta_flip_k=1.5, delta_flip_history=10, delta_flip_min_history=3)
    f = FlowMetrics(p, tick_size=1.0)
    # D(s) = d(s): +4, -4, +4, -4, +1 ... sigma of [4, -4, 4] is 3.77, k sigma 5.66:
    # none of these is significant, so nothing flips despite the sign changes.
    for i, side in enumerate([1, -1, 1, -1, 1, -1]):
        trade(f, T + i, 100.0, 4.0, side)
        assert f.delta_flip == 0
    assert f.flips == 0


def test_delta_flip_gap_fills_history() -> None:
    p = FlowParams(delta_flip_window=2, delta_flip_history=10, delta_flip_min_history=3)
    f = FlowMetrics(p, tick_size=1.0)
    trade(f, T, 100.0, 5.0, 1)
    trade(f, T + 100, 100.0, 1.0, 1)
    # Closes T (D=5) and T+1 (D=5, one second later the T trade is still in the
    # 2 s window), then 98 seconds of D = 0; only the last 10 are kept.
    assert f._flip_hist.last().tolist() == [0.0] * 10
    assert f.delta_flip == 0


def test_imbalance_microprice_spread() -> None:
    p = FlowParams(imbalance_levels=2, imbalance_bps=6.0)
    f = FlowMetrics(p, tick_size=0.05)
    b = Book()
    b.apply_snapshot([(99.95, 1.0), (99.9, 2.0), (99.8, 4.0)], [(100.05, 3.0), (100.1, 1.0), (100.3, 5.0)])
    s = f.snapshot(b)
    # Levels: B = 1 + 2 = 3, A = 3 + 1 = 4 -> (3 - 4) / 7.
    assert s.imbalance_levels == pytest.approx(-1.0 / 7.0)
    # mid 100, 6 bps = 0.06: bids >= 99.94 -> 1; asks <= 100.06 -> 3 -> (1 - 3) / 4.
    assert s.imbalance_bps == pytest.approx(-0.5)
    # (99.95 * 3 + 100.05 * 1) / 4 = 399.9 / 4.
    assert s.microprice == pytest.approx(99.975)
    assert s.spread_ticks == pytest.approx(2.0)  # 0.1 / 0.05
    assert s.spread_bps == pytest.approx(10.0)  # 0.1 / 100 * 1e4
    empty = f.snapshot(Book())
    assert math.isnan(empty.microprice) and math.isnan(empty.imbalance_levels) and math.isnan(empty.spread_z)


def test_spread_z_score() -> None:
    p = FlowParams(spread_window=5, spread_min_samples=3, spread_min_std_ticks=0.5, spread_z=3.0)
    f = FlowMetrics(p, tick_size=1.0)
    b = Book()
    snap(f, b, T, [(100.0, 1.0)], [(101.0, 1.0)])  # spread 1
    delta(f, b, T + 1, [(100.0, 2.0)])  # 1
    delta(f, b, T + 2, [], [(101.0, 0.0), (102.0, 1.0)])  # 2
    assert math.isnan(f.snapshot(b).spread_z)  # 2 samples (T, T+1) < 3
    delta(f, b, T + 3, [], [(101.0, 1.0), (102.0, 0.0)])  # 1
    # Samples 1, 1, 2: mean 4/3, sigma sqrt(2/9) = 0.471 floored to 0.5; now 1:
    s = f.snapshot(b)
    assert s.spread_z == pytest.approx((1.0 - 4.0 / 3.0) / 0.5) and not s.spread_widening
    delta(f, b, T + 4, [(100.0, 0.0), (97.0, 1.0)])  # 4
    # Samples 1, 1, 2, 1: mean 1.25, sigma 0.433 -> 0.5; z = (4 - 1.25) / 0.5 = 5.5.
    s = f.snapshot(b)
    assert s.spread_z == pytest.approx(5.5) and s.spread_widening
    delta(f, b, T + 7, [(97.0, 2.0)])
    # T+4..T+6 closed at 4 ticks: window of 5 holds 2, 1, 4, 4, 4 (mean 3).
    assert f._spread.last().tolist() == [2.0, 1.0, 4.0, 4.0, 4.0]
    sigma = math.sqrt(((2 - 3) ** 2 + (1 - 3) ** 2 + 3 * (4 - 3) ** 2) / 5)  # sqrt(8/5)
    assert f.snapshot(b).spread_z == pytest.approx((4.0 - 3.0) / sigma)


def test_trades_per_second() -> None:
    f = FlowMetrics(FlowParams(trades_window=10), tick_size=1.0)
    b = Book()
    for i in range(10):
        for _ in range(3 if i < 5 else 2):
            trade(f, T + i + 0.5, 100.0, 1.0, 1)
    assert f.snapshot(b).trades_per_s == pytest.approx(25 / 10)  # 15 + 10 in T..T+9
    f.on_book((T + 12) * NS, b)
    # Window T+3..T+12: 3 + 3 + 5 * 2 = 16.
    assert f.snapshot(b).trades_per_s == pytest.approx(1.6)


def test_late_trade_is_booked_into_its_second() -> None:
    f = FlowMetrics(FlowParams(delta_windows=(2, 10)), tick_size=1.0)
    trade(f, T + 5, 100.0, 1.0, 1)
    trade(f, T + 3, 100.0, 2.0, -1)  # late, inside the 10 s window only
    assert dict(f.snapshot(Book()).deltas) == {2: 1.0, 10: -1.0}
    assert f.cvd == -1.0


@pytest.mark.parametrize("seed", [11, 12])
def test_top_levels_match_book_top(seed: int) -> None:
    rng = random.Random(seed)
    b = Book()
    for _ in range(300):
        p = round(rng.uniform(90, 110), 1)
        if p < 100:
            b.apply_delta([(p, rng.choice((0.0, 1.0, 2.0)))], [])
        else:
            b.apply_delta([], [(p + 0.1, rng.choice((0.0, 1.0, 2.0)))])
        for n in (1, 5, 40):
            bids, asks = b.top(n)
            assert top_bids(b.bids, n) == [p for p, _ in bids]
            assert top_asks(b.asks, n) == [p for p, _ in asks]


def test_params_reject_bad_values() -> None:
    with pytest.raises(ValueError):
        FlowParams(delta_windows=())
    with pytest.raises(ValueError):
        FlowParams(ofi_windows=(0,))
    with pytest.raises(ValueError):
        FlowParams(spread_window=5, spread_min_samples=6)
    assert FlowParams(delta_windows=[5, 7]).delta_windows == (5, 7)


def test_top_levels_across_sublists() -> None:
    # More levels than one SortedList sublist holds (load 1000): the best keys
    # may straddle two sublists, which takes the public-API fallback.
    rng = random.Random(13)
    b = Book()
    b.apply_snapshot([(float(i), 1.0) for i in range(1, 5001)], [(float(i), 1.0) for i in range(5001, 10001)])
    for _ in range(400):
        bp = float(rng.randint(4900, 5000))
        ap = float(rng.randint(5001, 5100))
        b.apply_delta([(bp, rng.choice((0.0, 1.0)))], [(ap, rng.choice((0.0, 1.0)))])
        for n in (5, 50):
            bids, asks = b.top(n)
            assert top_bids(b.bids, n) == [p for p, _ in bids]
            assert top_asks(b.asks, n) == [p for p, _ in asks]
        # Band sums: inside the touch sublist, across sublists, and beyond the book.
        for bps in (1.0, 10.0, 2500.0, 20_000.0):
            mid = b.mid()
            band = mid * bps * 1e-4
            assert (bid_size_from(b.bids, mid - band), ask_size_to(b.asks, mid + band)) == b.size_within_bps(bps)


def test_config_toml_flow_section_matches_defaults() -> None:
    import dataclasses
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    section = tomllib.loads((root / "config.toml").read_text(encoding="utf-8"))["flow"]
    defaults = {f.name: f.default for f in dataclasses.fields(FlowParams)}
    assert set(section) == set(defaults)
    assert FlowParams(**section) == FlowParams()


def naive_e(prev, cur, levels: int) -> tuple[float, float]:
    """Reference OFI of one update from two (bids, asks) tops, written straight from the formula."""

    def level(side, i, missing_price):
        return side[i] if i < len(side) else (missing_price, 0.0)

    e_levels = []
    for i in range(levels):
        pb, qb = level(cur[0], i, -math.inf)
        pb0, qb0 = level(prev[0], i, -math.inf)
        pa, qa = level(cur[1], i, math.inf)
        pa0, qa0 = level(prev[1], i, math.inf)
        e = (qb if pb >= pb0 else 0.0) - (qb0 if pb <= pb0 else 0.0)
        e += -(qa if pa <= pa0 else 0.0) + (qa0 if pa >= pa0 else 0.0)
        e_levels.append(e)
    return e_levels[0], sum(e_levels)


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_ofi_matches_naive_formula_on_random_updates(seed: int) -> None:
    rng = random.Random(seed)
    L = rng.choice((1, 3, 5))
    f = FlowMetrics(FlowParams(ofi_levels=L, ofi_windows=(100,)), tick_size=1.0)
    b = Book()
    snap(f, b, T, [(99.0, 1.0)], [(101.0, 1.0)])
    want1 = wantm = 0.0
    for i in range(2000):
        prev = b.top(L)
        bids, asks = [], []
        for _ in range(rng.randint(1, 4)):
            # Bids 90..99.5 and asks 100..110 never cross; sizes repeat often so
            # equal-price, equal-size cases occur.
            if rng.random() < 0.5:
                bids.append((90.0 + rng.randint(0, 19) * 0.5, rng.choice((0.0, 0.0, 1.0, 2.0, 3.5))))
            else:
                asks.append((100.0 + rng.randint(0, 20) * 0.5, rng.choice((0.0, 0.0, 1.0, 2.0, 3.5))))
        delta(f, b, T + i // 50, bids, asks)
        e1, em = naive_e(prev, b.top(L), L)
        want1 += e1
        wantm += em
        single, multi = ofi(f, b)
        assert single[100] == pytest.approx(want1, abs=1e-9)
        assert multi[100] == pytest.approx(wantm, abs=1e-9)


def test_delta_flip_needs_spread_in_the_history() -> None:
    p = FlowParams(delta_flip_window=2, delta_flip_history=10, delta_flip_min_history=3)
    f = FlowMetrics(p, tick_size=1.0)
    for i in range(4):
        trade(f, T + i, 100.0, 1.0, 1)
    trade(f, T + 100, 100.0, 1.0, -1)
    # Closing T+3 made +1 the significant sign (see test_delta_flip); then a
    # quiet spell leaves ten zeros (sigma 0) in the history.
    assert f._flip_hist.last().tolist() == [0.0] * 10
    trade(f, T + 101, 100.0, 1.0, -1)
    # Closing T+100: D = -1 against sigma 0 is no evidence, so no flip.
    assert f.delta_flip == 0 and f.flips == 0


def test_book_measures_agree_with_book_queries() -> None:
    rng = random.Random(41)
    p = FlowParams(imbalance_levels=7, imbalance_bps=25.0)
    f = FlowMetrics(p, tick_size=0.5)
    b = Book()
    b.apply_snapshot([(5000.0 - i * 0.5, 1.0 + i % 3) for i in range(2500)],
                     [(5000.5 + i * 0.5, 1.0 + i % 5) for i in range(2500)])
    for _ in range(200):
        b.apply_delta([(5000.0 - rng.randint(0, 40) * 0.5, rng.choice((0.0, 1.0, 2.5)))],
                      [(5000.5 + rng.randint(0, 40) * 0.5, rng.choice((0.0, 1.0, 2.5)))])
        s = f.snapshot(b)
        bl, al = b.size_within_levels(7)
        bb, ab = b.size_within_bps(25.0)
        assert s.imbalance_levels == pytest.approx((bl - al) / (bl + al), abs=1e-12)
        assert s.imbalance_bps == pytest.approx((bb - ab) / (bb + ab), abs=1e-12)


@pytest.mark.parametrize("seed", [51, 52])
def test_trade_metrics_match_naive_recomputation(seed: int) -> None:
    """Rolling trade metrics against a brute-force recomputation from the full history."""
    rng = random.Random(seed)
    p = FlowParams(delta_windows=(3, 20), tbsr_window=7, trades_window=5, volume_bar_s=10, volume_bars=4)
    f = FlowMetrics(p, tick_size=1.0)
    history: list[tuple[int, float, float, int]] = []
    t = (MIDNIGHT - 150) * NS
    for _ in range(1500):
        t += int(rng.choice((0.0, 0.01, 0.3, 1.0, 2.5, 12.0, 40.0)) * NS)
        price, qty, side = rng.uniform(99, 101), rng.uniform(0.1, 3.0), rng.choice((1, -1))
        f.on_trade(t, price, qty, side)
        history.append((t // NS, price, qty, side))
        now = t // NS
        s = f.snapshot(Book())

        def window(w, now=now):
            return [h for h in history if now - w < h[0] <= now]

        session = (now // 86_400)
        cvd = sum(q * sd for sec, _, q, sd in history if sec // 86_400 == session)
        assert s.cvd == pytest.approx(cvd, abs=1e-9)
        for w, d in s.deltas:
            assert d == pytest.approx(sum(q * sd for _, _, q, sd in window(w)), abs=1e-9)
        buys = sum(q for _, _, q, sd in window(7) if sd > 0)
        sells = sum(q for _, _, q, sd in window(7) if sd < 0)
        if buys + sells > 0:
            assert s.tbsr == pytest.approx(buys / (buys + sells), abs=1e-9)
        assert s.trades_per_s == pytest.approx(len(window(5)) / 5)
        bars: dict[int, float] = {}
        for sec, _, q, _ in history:
            bars[sec // 10] = bars.get(sec // 10, 0.0) + q
        first, cur = history[0][0] // 10, now // 10
        closed = [bars.get(b, 0.0) for b in range(first + 1, cur)][-4:]
        if closed and sum(closed) > 0:
            assert s.volume_ratio == pytest.approx(bars.get(cur, 0.0) / (sum(closed) / len(closed)), rel=1e-9)
        else:
            assert math.isnan(s.volume_ratio)
