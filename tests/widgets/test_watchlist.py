"""Watchlist side table and symbol bar: exact cells, sort orders, focus kept, virtual window."""

from __future__ import annotations

import math

import pytest

from tapescope.engine.events import FeedState
from tapescope.engine.volatility import VolRegime
from tapescope.widgets.watch_rows import SORT_KEYS, WatchRow, cell_texts, layout, sort_rows
from tapescope.widgets.watchlist import SymbolBar, Watchlist, bar_window, follow, thumb_span

LIVE = FeedState.LIVE


def text_of(widget, y: int) -> str:
    return "".join(seg.text for seg in widget.render_line(y))


def rows3() -> tuple[WatchRow, ...]:
    """Three markets in configured order with hand-picked figures."""
    return (
        WatchRow("sim:BTC", "BTC", 1, 60000.5, 0.0123, 0.17, LIVE, 1, 0.25, 12.5, VolRegime.HIGH, 0.42),
        WatchRow("sim:ETH", "ETH", 2, 3000.25, -0.004, 0.5, LIVE, 2, -0.6, -340.0, VolRegime.LOW, -0.1),
        WatchRow("sim:SOL", "SOL", 3, 150.0, math.nan, math.nan, FeedState.RESYNCING, 3, 0.9, 1500.0,
                 VolRegime.MEDIUM, math.nan),
    )


def many(n: int) -> tuple[WatchRow, ...]:
    """``n`` markets: change rises with the position, so 'change' descending reverses the list."""
    return tuple(WatchRow(f"sim:S{i:02d}", f"S{i:02d}", i, 100.0 + i, i / 1000, 1.0, LIVE, 2)
                 for i in range(1, n + 1))


# ------------------------------------------------------------------------ cells


def test_cell_texts_of_live_and_resyncing_markets() -> None:
    btc, _, sol = rows3()
    cells = cell_texts(btc)
    assert [cells[c] for c in ("n", "sym", "last", "chg", "spr", "imb", "cvd", "vol", "score")] == \
        ["1", "BTC", "60,000.5", "+1.23", "0.17", "+25", "+12", "H", "+0.42"]
    cells = cell_texts(sol)
    # Out of sync: the state replaces the price, book figures are withheld.
    assert [cells[c] for c in ("last", "chg", "spr", "imb", "cvd", "vol", "score")] == \
        ["RESYNC", "—", "—", "—", "+1.5k", "M", "—"]


def test_layout_drops_gauge_then_position_when_narrow() -> None:
    rows = rows3()
    assert [c.id for c in layout(rows, 60)][-1] == "gauge"
    # sym 6 + last 8 + chg 5 + spr 4 + imb 3 + cvd 5 + vol 1 + score 5 + 7 gaps = 44
    assert [c.id for c in layout(rows, 44)] == ["sym", "last", "chg", "spr", "imb", "cvd", "vol", "score"]
    # One cell short: the spread goes first (44 - 4 - 1 = 39).
    assert [c.id for c in layout(rows, 43)] == ["sym", "last", "chg", "imb", "cvd", "vol", "score"]


# ------------------------------------------------------------------------ sorting


@pytest.mark.parametrize(("key", "descending", "expected"), [
    ("watchlist", False, ["sim:BTC", "sim:ETH", "sim:SOL"]),
    ("watchlist", True, ["sim:SOL", "sim:ETH", "sim:BTC"]),
    ("symbol", False, ["sim:BTC", "sim:ETH", "sim:SOL"]),
    ("change", True, ["sim:BTC", "sim:ETH", "sim:SOL"]),      # SOL has no change: last
    ("change", False, ["sim:ETH", "sim:BTC", "sim:SOL"]),     # ... in both directions
    ("spread", True, ["sim:ETH", "sim:BTC", "sim:SOL"]),
    ("imbalance", True, ["sim:BTC", "sim:ETH", "sim:SOL"]),   # SOL's book is out of sync
    ("cvd_slope", True, ["sim:SOL", "sim:BTC", "sim:ETH"]),
    ("cvd_slope", False, ["sim:ETH", "sim:BTC", "sim:SOL"]),
    ("vol", True, ["sim:BTC", "sim:SOL", "sim:ETH"]),
    ("score", True, ["sim:BTC", "sim:ETH", "sim:SOL"]),
    ("score", False, ["sim:ETH", "sim:BTC", "sim:SOL"]),
])
def test_sort_rows(key: str, descending: bool, expected: list[str]) -> None:
    assert [r.key for r in sort_rows(rows3(), key, descending)] == expected


def test_sort_ties_keep_configured_order_both_ways() -> None:
    rows = [WatchRow(f"k{i}", f"K{i}", i, 1.0, 0.01 if i != 2 else 0.02, 1.0, LIVE) for i in range(1, 5)]
    assert [r.n for r in sort_rows(rows, "change", True)] == [2, 1, 3, 4]
    assert [r.n for r in sort_rows(rows, "change", False)] == [1, 3, 4, 2]
    with pytest.raises(ValueError, match="unknown sort key"):
        sort_rows(rows, "volume")
    assert len(SORT_KEYS) == 8


# ------------------------------------------------------------------------ side table


async def test_watchlist_lines_exact(host) -> None:
    table = Watchlist()
    app = host(table)
    async with app.run_test(size=(44, 5)) as pilot:
        table.rows_data = rows3()
        table.focused_key = "sim:ETH"
        await pilot.pause()
        assert [text_of(table, y) for y in range(4)] == [
            "Symbol     Last  Chg%  Spr Imb CVD/m V Score",
            "BTC    60,000.5 +1.23 0.17 +25   +12 H +0.42",
            "ETH    3,000.25 -0.40 0.50 -60  -340 L -0.10",
            "SOL      RESYNC     —    —   — +1.5k M     —",
        ]
        focused = [table.render_line(y) for y in range(1, 4)]
        bg = [strip._segments[0].style.bgcolor for strip in focused]
        assert bg[1] is not None and bg[0] != bg[1] and bg[2] == bg[0]
        assert table.border_title == "Watchlist · 3"


async def test_sorted_header_arrow_and_focus_kept(host) -> None:
    table = Watchlist()
    app = host(table)
    async with app.run_test(size=(44, 5)) as pilot:
        table.focused_key = "sim:ETH"
        table.sort = ("cvd_slope", False)
        table.rows_data = sort_rows(rows3(), "cvd_slope", False)
        await pilot.pause()
        assert text_of(table, 0) == "Symbol     Last  Chg%  Spr Imb▲CVD/m V Score"
        # ETH moved to the top and is still the highlighted line.
        assert [ln.focused for ln in table._rows[1:]] == [True, False, False]
        assert text_of(table, 1).startswith("ETH")
        assert table.border_title == "Watchlist · 3 · CVD slope ▲"


async def test_window_follows_focus_past_the_bottom(host) -> None:
    table = Watchlist()
    app = host(table)
    async with app.run_test(size=(50, 11)) as pilot:   # header + 10 rows
        table.rows_data = many(60)
        table.focused_key = "sim:S01"
        await pilot.pause()
        assert [r.n for r in table.window] == list(range(1, 11))
        table.focused_key = "sim:S13"                     # index 12: scrolls by 3
        await pilot.pause()
        assert table.top == 3 and table.window[-1].key == "sim:S13"
        assert table._rows[-1].focused
        # Thumb: 10 visible of 60 -> 2 lines, at round(3 * 8 / 50) = 0.
        assert [ln.thumb for ln in table._rows[1:4]] == ["thumb", "thumb", "track"]
        assert text_of(table, 1).endswith("┃") and text_of(table, 3).endswith("│")
        # Wheel: the window moves away from the focus and stays there on refresh.
        table.scroll_rows(30)
        table.rows_data = many(60)
        await pilot.pause()
        assert table.top == 33 and not table.following
        table.focused_key = "sim:S02"
        await pilot.pause()
        assert table.top == 1 and table.window[0].key == "sim:S02"


async def test_changed_row_refreshes_one_line(host) -> None:
    table = Watchlist()
    app = host(table)
    async with app.run_test(size=(50, 11)) as pilot:
        rows = many(60)
        table.rows_data = rows
        await pilot.pause()
        before = table.lines_refreshed
        changed = list(rows)
        changed[4] = changed[4]._replace(last=999.0)
        changed[40] = changed[40]._replace(last=999.0)     # off screen: no line
        table.rows_data = tuple(changed)
        assert table.lines_refreshed - before == 1


def test_follow_and_thumb() -> None:
    assert follow(0, 59, 10, 60) == 50
    assert follow(20, -1, 10, 60) == 20                   # not following: stays
    assert follow(58, -1, 10, 60) == 50                   # clamped to the end
    assert thumb_span(50, 10, 60) == (8, 2)


# ------------------------------------------------------------------------ symbol bar


def test_bar_window_keeps_focus_visible() -> None:
    lengths = [12] * 60
    start, end = bar_window(lengths, 30, 0, 80)
    assert start <= 30 < end
    # 12-cell items + 3-cell separators: "‹k " + n items + " ›m" within 80 cells.
    used = 12 * (end - start) + 3 * (end - start - 1) + len(f"‹{start} ") + len(f" ›{60 - end}")
    assert used <= 80 and used + 15 > 80


async def test_symbol_bar_shows_focus_and_state(host) -> None:
    bar = SymbolBar()
    app = host(bar)
    async with app.run_test(size=(80, 1)) as pilot:
        bar.rows_data = (WatchRow("sim:A", "A", 1, 1.5, 0.01, 1.0, LIVE, 1),
                         WatchRow("sim:B", "B", 2, 2.5, -0.02, 1.0, FeedState.SYNCING, 1))
        bar.focused_key = "sim:B"
        await pilot.pause()
        assert text_of(bar, 0).rstrip() == "1 A 1.5 +1.00% │ 2 B SYNCING"


async def test_symbol_bar_slides_to_the_focused_market(host) -> None:
    bar = SymbolBar()
    app = host(bar)
    async with app.run_test(size=(80, 1)) as pilot:
        bar.rows_data = many(60)
        bar.focused_key = "sim:S01"
        await pilot.pause()
        line = text_of(bar, 0).rstrip()
        assert line.startswith("1 S01 101.00 +0.10%") and line.endswith("›57")  # 3 items of 19 + 2 separators + " ›57" = 67; a 4th needs 22
        bar.focused_key = "sim:S40"
        await pilot.pause()
        line = text_of(bar, 0).rstrip()
        assert "40 S40 140.00 +4.00%" in line and line.startswith("‹") and "sim:S40" in bar.shown_keys
        # The focused item is drawn reversed.
        seg = next(s for s in bar.render_line(0) if s.text.startswith("40 S40"))
        assert seg.style.reverse


# ------------------------------------------------------------ columns fit their data (issue #6.1)


def test_a_long_price_is_rounded_never_cut() -> None:
    # 12,345,678.9 with one decimal is 12 cells: cutting it at 11 would read "12,345,678.".
    row = WatchRow("k", "JPYX", 1, 12_345_678.94, 0.0, 1.0, LIVE, 1)
    assert cell_texts(row)["last"] == "12,345,679"
    assert cell_texts(row._replace(last=123_456_789_012.0))["last"] == "123G"


def test_every_column_is_as_wide_as_its_widest_text() -> None:
    from tapescope.widgets.watchlist import row_line
    # A change of +15,000 % (6 cells), a tiny CVD slope (7 cells) and an 8-cell price:
    # each must fit its column, so every line is exactly the columns' total width.
    rows = (WatchRow("a", "A", 1, 60_000.5, 150.0, 1.0, LIVE, 1, 0.1, 0.0012),
            WatchRow("b", "B", 2, math.nan, math.nan, 1.0, LIVE, 1))
    cols = layout(rows, 200)
    width = {c.id: c.width for c in cols}
    assert width["chg"] == len("+15000") and width["cvd"] == len("+0.0012")
    assert width["last"] == len("60,000.5")
    total = sum(c.width for c in cols) + len(cols) - 1
    for row in rows:
        line = row_line(row, cols, False)
        assert sum(len(t) for t, _ in line.cells) == total
    texts = "".join(t for t, _ in row_line(rows[0], cols, False).cells)
    assert "+15000" in texts and "+0.0012" in texts and "60,000.5" in texts


async def test_changed_cell_refreshes_only_its_columns(host, monkeypatch) -> None:
    table = Watchlist()
    app = host(table)
    async with app.run_test(size=(50, 11)) as pilot:
        rows = many(60)
        table.rows_data = rows
        await pilot.pause()
        regions: list = []
        original = table.refresh
        monkeypatch.setattr(table, "refresh", lambda *r, **k: (regions.extend(r), original(*r, **k)))
        line = 1 + 4                                       # header, then row index 4
        before = "".join(s.text for s in table.render_line(line))
        cells0 = table.cells_refreshed
        changed = list(rows)
        changed[4] = changed[4]._replace(change=-0.0525)   # +0.50 -> -5.25 (and its colour)
        table.rows_data = tuple(changed)
        after = "".join(s.text for s in table.render_line(line))
        assert len(regions) == 1 and regions[0].y == line
        x0, x1 = regions[0].x, regions[0].right
        # Only the Chg% cell is rewritten: the symbol and price before it, the rest after it
        # stay on the terminal as they were.
        assert after[x0:x1].strip() == "-5.25" and before[x0:x1].strip() == "+0.50"
        assert before[:x0] == after[:x0] and before[x1:] == after[x1:]
        assert table.cells_refreshed - cells0 == x1 - x0 == len("-5.25")
