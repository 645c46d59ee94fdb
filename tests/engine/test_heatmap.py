"""Heatmap history: hand-computed cells for a crafted book and trade sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, StatusChange, Trade
from tapescope.engine.heatmap import HeatmapHistory, HeatmapParams, HeatmapSnapshot, auto_row_ticks
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import Market

S = 1_000_000_000
NAN = math.nan


def market(params: HeatmapParams, tick: float = 0.5) -> tuple[Market, HeatmapHistory]:
    m = Market(Instrument("sim", "X", tick_size=tick))
    return m, HeatmapHistory.attach(m, params)


def col(snap: HeatmapSnapshot, c: int, name: str = "sizes") -> list[float]:
    return [float(v) for v in getattr(snap, name)[:, c]]


def assert_cells(got: list[float], want: list[float]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (math.isnan(g) and math.isnan(w)) or g == pytest.approx(w), (got, want)


@pytest.fixture
def crafted() -> tuple[Market, HeatmapHistory]:
    """Tick 0.5, rows of 2 ticks (1.0), 6 rows, ring of 5 one-second columns."""
    m, h = market(HeatmapParams(rows=6, row_ticks=2, columns=5, column_s=1))
    ev = m.on_event
    # Second 10: mid 100.0 -> base floor(100) - 3 = 97, rows 97..102.
    ev(BookSnapshot("sim:X", 10 * S, 0, [(99.5, 1.0), (99.0, 2.0), (97.0, 4.0)],
                    [(100.5, 3.0), (101.0, 1.0), (104.0, 9.0)]))
    ev(Trade("sim:X", 10 * S + 1, 0, 100.5, 0.5, 1))
    ev(Trade("sim:X", 10 * S + 2, 0, 99.5, 0.25, -1))
    ev(Trade("sim:X", 10 * S + 3, 0, 99.0, 1.0, -1))
    # Second 11: the 100.5 ask goes, a 100.0 bid arrives: mid 100.5, base still 97.
    ev(BookDelta("sim:X", 11 * S + 200_000_000, 0, [(100.0, 5.0)], [(100.5, 0.0)]))
    ev(Trade("sim:X", 11 * S + 500_000_000, 0, 101.0, 2.0, 1))
    # Second 12: 97.0 bid cancelled, then the whole book moves up: mid 102.5, base 99.
    ev(BookDelta("sim:X", 12 * S + 100_000_000, 0, [(97.0, 0.0)], []))
    ev(BookSnapshot("sim:X", 12 * S + 500_000_000, 0, [(102.0, 1.0), (101.5, 2.0)],
                    [(103.0, 4.0), (106.0, 2.0)]))
    # Nothing during 13 and 14; second 15: a print, then the feed loses sync.
    ev(Trade("sim:X", 15 * S, 0, 102.0, 1.0, -1))
    ev(StatusChange("sim:X", 15 * S + 1, 0, FeedState.RESYNCING, "gap"))
    ev(Trade("sim:X", 16 * S, 0, 102.5, 3.0, 1))  # closes column 15
    return m, h


def test_hand_computed_cells_of_a_crafted_sequence(crafted) -> None:
    _, h = crafted
    s = h.snapshot()
    h._check()
    # Columns 11..15 kept (6 closed, ring of 5: column 10 fell out).
    assert s.times.tolist() == [11, 12, 13, 14, 15] and s.version == 6
    assert s.step == 1.0 and s.base == 99
    assert s.row_prices.tolist() == [99.0, 100.0, 101.0, 102.0, 103.0, 104.0]
    # Column 11 was recorded on base 97 (rows 97..102): at the end of second 11 the book
    # held 97:4, 99: 1+2, 100: bid 5, 101: ask 1. Aligned to base 99 it moves down two rows
    # and its rows 103/104 are unknown (outside its range then).
    assert_cells(col(s, 0), [3.0, 5.0, 1.0, 0.0, NAN, NAN])
    assert_cells(col(s, 0, "buys"), [0.0, 0.0, 2.0, 0.0, 0.0, 0.0])  # 2 bought at 101.0
    # Column 12 (base 99): bids 101.5 (row 101) 2, 102.0 (row 102) 1; ask 103.0 4; 106 outside.
    assert_cells(col(s, 1), [0.0, 0.0, 2.0, 1.0, 4.0, 0.0])
    # 13 and 14 had no event: the book stood still, same sizes, no trades.
    assert_cells(col(s, 2), col(s, 1))
    assert_cells(col(s, 3), col(s, 1))
    assert s.trades[:, 1:4].sum() == 0.0
    # Column 15 ended RESYNCING: sizes unknown, but its print (sell 1 at 102.0) is kept.
    assert_cells(col(s, 4), [NAN] * 6)
    assert_cells(col(s, 4, "sells"), [0.0, 0.0, 0.0, 1.0, 0.0, 0.0])
    assert s.mids[:4].tolist() == [100.5, 102.5, 102.5, 102.5] and math.isnan(s.mids[4])


def test_first_column_before_it_leaves_the_ring() -> None:
    m, h = market(HeatmapParams(rows=6, row_ticks=2, columns=10))
    m.on_event(BookSnapshot("sim:X", 10 * S, 0, [(99.5, 1.0), (99.0, 2.0), (97.0, 4.0)],
                            [(100.5, 3.0), (101.0, 1.0), (104.0, 9.0)]))
    m.on_event(Trade("sim:X", 10 * S + 1, 0, 100.5, 0.5, 1))
    m.on_event(Trade("sim:X", 10 * S + 2, 0, 99.5, 0.25, -1))
    m.on_event(Trade("sim:X", 10 * S + 3, 0, 99.0, 1.0, -1))
    m.on_event(Trade("sim:X", 11 * S, 0, 99.0, 1.0, -1))
    s = h.snapshot()
    assert s.base == 97 and s.times.tolist() == [10]
    # 97: 4; 98: 0; 99: 1 + 2; 100: ask 100.5 = 3; 101: 1; 102: 0 (104 is outside).
    assert_cells(col(s, 0), [4.0, 0.0, 3.0, 3.0, 1.0, 0.0])
    assert_cells(col(s, 0, "buys"), [0.0, 0.0, 0.0, 0.5, 0.0, 0.0])
    assert_cells(col(s, 0, "sells"), [0.0, 0.0, 1.25, 0.0, 0.0, 0.0])


def test_snapshot_is_cached_read_only_and_changes_once_per_column(crafted) -> None:
    m, h = crafted
    s = h.snapshot()
    assert h.snapshot() is s
    with pytest.raises(ValueError):
        s.sizes[0, 0] = 1.0
    # More events inside the open second 16 do not change the snapshot.
    m.on_event(Trade("sim:X", 16 * S + 10, 0, 102.5, 1.0, 1))
    assert h.snapshot() is s
    m.on_event(Trade("sim:X", 17 * S, 0, 102.5, 1.0, 1))
    assert h.snapshot() is not s and h.snapshot().version == 7


def test_column_period_groups_seconds() -> None:
    m, h = market(HeatmapParams(rows=4, row_ticks=1, columns=8, column_s=5), tick=1.0)
    m.on_event(BookSnapshot("sim:X", 12 * S, 0, [(99.0, 1.0)], [(101.0, 1.0)]))  # column 10
    m.on_event(Trade("sim:X", 13 * S, 0, 101.0, 1.0, 1))
    m.on_event(Trade("sim:X", 14 * S, 0, 101.0, 2.0, 1))
    assert h.count == 0  # seconds 12..14 are all column 10
    m.on_event(Trade("sim:X", 15 * S, 0, 99.0, 1.0, -1))  # column 15 opens, 10 closes
    m.on_event(Trade("sim:X", 31 * S, 0, 99.0, 1.0, -1))  # closes 15, repeats 20 and 25
    s = h.snapshot()
    assert s.times.tolist() == [10, 15, 20, 25] and s.column_s == 5
    # base = floor(100) - 2 = 98: rows 98, 99, 100, 101.
    assert_cells(col(s, 0), [0.0, 1.0, 0.0, 1.0])
    assert_cells(col(s, 0, "buys"), [0.0, 0.0, 0.0, 3.0])
    assert_cells(col(s, 1, "sells"), [0.0, 1.0, 0.0, 0.0])
    assert s.trades[:, 2:].sum() == 0.0


def test_a_gap_longer_than_the_ring_costs_one_ring() -> None:
    m, h = market(HeatmapParams(rows=4, row_ticks=1, columns=10), tick=1.0)
    m.on_event(BookSnapshot("sim:X", 100 * S, 0, [(99.0, 1.0)], [(101.0, 1.0)]))
    m.on_event(Trade("sim:X", 1_000_000 * S, 0, 101.0, 1.0, 1))
    s = h.snapshot()
    h._check()
    assert s.times.tolist() == list(range(999_990, 1_000_000))
    assert h.count == 11  # column 100, then only the gap's last ring-full (10) was written


def test_automatic_row_height_from_the_first_live_mid() -> None:
    m, h = market(HeatmapParams(rows=120, row_ticks=0, span_bps=50.0), tick=0.1)
    m.on_event(StatusChange("sim:X", 0, 0, FeedState.SYNCING, ""))
    m.on_event(Trade("sim:X", 1 * S, 0, 60_000.0, 1.0, 1))
    m.on_event(Trade("sim:X", 2 * S, 0, 60_000.0, 1.0, 1))  # no live book yet: nothing recorded
    assert h.count == 0 and h.step == 0.0 and h.snapshot().sizes.shape == (0, 0)
    m.on_event(BookSnapshot("sim:X", 2 * S + 1, 0, [(59_999.9, 1.0)], [(60_000.1, 1.0)]))
    m.on_event(StatusChange("sim:X", 0, 0, FeedState.LIVE, ""))
    m.on_event(Trade("sim:X", 3 * S, 0, 60_000.0, 1.0, 1))
    # 60000 * 50 bps = 300 over 120 rows = 2.5 = 25 ticks, nearest 1-2-5 on a log scale: 20.
    assert h.step == pytest.approx(2.0) and h.count == 1
    assert h.snapshot().base == 30_000 - 60


def test_auto_row_ticks_picks_the_nearest_1_2_5_step() -> None:
    # 50 bps of 100 is 0.5; over 100 rows 0.005 = half a tick: never below one tick.
    assert auto_row_ticks(100.0, 0.01, 100, 50.0) == 1
    assert auto_row_ticks(100.0, 0.01, 10, 50.0) == 5      # 0.05 = 5 ticks
    assert auto_row_ticks(100.0, 0.01, 3, 50.0) == 20      # 16.7 ticks: log-nearer 20 than 10
    assert auto_row_ticks(100.0, 0.01, 7, 50.0) == 10      # 7.14 ticks: log-nearer 10 than 5
    assert auto_row_ticks(100.0, 0.01, 8, 50.0) == 5       # 6.25 ticks: log-nearer 5 than 10


def test_rows_follow_mid_and_every_level_in_range_is_counted_once() -> None:
    rng = np.random.default_rng(7)
    m, h = market(HeatmapParams(rows=40, row_ticks=3, columns=50), tick=0.25)
    t = 1 * S
    mid = 1000.0
    for _ in range(60):
        mid += float(rng.integers(-4, 5)) * 0.25
        bids = [(mid - 0.25 * k, float(rng.integers(1, 9))) for k in range(1, 80)]
        asks = [(mid + 0.25 * k, float(rng.integers(1, 9))) for k in range(1, 80)]
        m.on_event(BookSnapshot("sim:X", t, 0, bids, asks))
        t += S
        m.on_event(Trade("sim:X", t, 0, mid, 1.0, 1))
        s = h.snapshot()
        h._check()
        step = 0.75
        base = math.floor(mid / step + 1e-9) - 20
        assert s.base == base
        # Brute force: every level whose floor(price/step) lands in the rows.
        want = [0.0] * 40
        for p, q in bids + asks:
            r = math.floor(p / step + 1e-9) - base
            if 0 <= r < 40:
                want[r] += q
        assert_cells(col(s, -1), want)


def test_every_kept_column_is_aligned_like_a_brute_force_replay() -> None:
    """Random walk with jumps and silent gaps: each aligned cell equals an independent recount."""
    rng = np.random.default_rng(11)
    rows, step = 12, 0.5  # tick 0.25, 2 ticks per row
    m, h = market(HeatmapParams(rows=rows, row_ticks=2, columns=15), tick=0.25)
    books: dict[int, tuple[list, list]] = {}  # second -> book at its end
    trades: dict[int, list[tuple[float, float, int]]] = {}
    mid, sec = 500.0, 100
    for _ in range(40):
        mid += float(rng.integers(-6, 7)) * 0.25
        bids = [(mid - 0.25 * k, float(rng.integers(1, 5))) for k in range(1, 25)]
        asks = [(mid + 0.25 * k, float(rng.integers(1, 5))) for k in range(1, 25)]
        m.on_event(BookSnapshot("sim:X", sec * S, 0, bids, asks))
        books[sec] = (bids, asks)
        for j in range(int(rng.integers(0, 4))):
            p, q, side = mid + 0.25 * float(rng.integers(-3, 4)), float(rng.integers(1, 3)), 1 - 2 * (j % 2)
            m.on_event(Trade("sim:X", sec * S + 10 + j, 0, p, q, side))
            trades.setdefault(sec, []).append((p, q, side))
        sec += int(rng.choice([1, 1, 1, 3]))  # some seconds pass with no event at all
    m.on_event(Trade("sim:X", sec * S, 0, mid, 1.0, 1))  # closes the last open second
    s = h.snapshot()
    h._check()
    # Expected: every second from the first, the book of the latest second with an event.
    last, expect = None, {}
    for t in range(100, sec):
        if t in books:
            last = t
        expect[t] = last
    kept = list(range(100, sec))[-15:]
    assert s.times.tolist() == kept
    bids_last, asks_last = books[expect[kept[-1]]]
    mid_last = (bids_last[0][0] + asks_last[0][0]) / 2
    ref = math.floor(mid_last / step + 1e-9) - rows // 2
    assert s.base == ref
    for c, t in enumerate(kept):
        bids, asks = books[expect[t]]
        col_mid = (bids[0][0] + asks[0][0]) / 2
        col_base = math.floor(col_mid / step + 1e-9) - rows // 2
        want = []
        for r in range(rows):
            a = ref + r
            if not col_base <= a < col_base + rows:
                want.append(NAN)
                continue
            want.append(sum(q for p, q in bids + asks if math.floor(p / step + 1e-9) == a))
        assert_cells(col(s, c), want)
        buys = [0.0] * rows
        for p, q, side in trades.get(t, []):
            a = math.floor(p / step + 1e-9)
            if side > 0 and col_base <= a < col_base + rows and 0 <= a - ref < rows:
                buys[a - ref] += q
        assert_cells(col(s, c, "buys"), buys)
