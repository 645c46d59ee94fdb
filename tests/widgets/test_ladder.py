"""Depth ladder rows for known books, the state badge, and line-level refresh."""

from __future__ import annotations

from rich.color import Color

from tapescope.engine.events import FeedState
from tapescope.engine.snapshot import Ladder
from tapescope.widgets.ladder import DepthLadder, LadderRow, LadderView, build_rows
from tapescope.widgets.ladder_rows import bar_scale, build_anchored_rows

BOOK = Ladder(0.5, bids=((99.5, 2.0), (99.0, 4.0), (98.5, 0.0)),
              asks=((100.0, 1.0), (100.5, 8.0), (101.0, 3.3333)))
VIEW = LadderView(BOOK, FeedState.LIVE, "", 1, spread_ticks=1.0, spread_bps=50.126)


def line(widget: DepthLadder, y: int) -> str:
    return "".join(seg.text for seg in widget.render_line(y))


def test_rows_for_a_known_book_height_7() -> None:
    rows = build_rows(VIEW, 7, 40)
    # 40 cells: price column min(12, 40 // 3) = 12, space, size 7, space, bar 19 cells.
    # Bars scale to 10 (the 1-2-5 value above the largest size, 8): 19 * q / 10.
    p, s = (lambda x: x.rjust(12)), (lambda x: x.rjust(7))
    assert rows == [
        LadderRow("ask", p("101.0"), s("3.33"), 6, False),   # 19 * 0.333 = 6.3
        LadderRow("ask", p("100.5"), s("8.00"), 15, False),  # 19 * 0.8 = 15.2
        LadderRow("ask", p("100.0"), s("1.00"), 2, True),    # 19 * 0.1 = 1.9
        LadderRow("spread", text="spread 1t · 50.13bp"),
        LadderRow("bid", p("99.5"), s("2.00"), 4, True),     # 3.8
        LadderRow("bid", p("99.0"), s("4.00"), 8, False),    # 7.6
        LadderRow("bid", p("98.5"), s(""), 0, False),  # an empty row keeps the price grid
    ]


def test_best_rows_stay_pinned_to_the_spread_row_at_any_height() -> None:
    for height in range(3, 30):
        rows = build_rows(VIEW, height, 40)
        centre = (height - 1) // 2
        assert rows[centre].kind == "spread"
        assert rows[centre - 1].best and rows[centre - 1].kind == "ask"
        assert rows[centre + 1].best and rows[centre + 1].kind == "bid"
        assert len(rows) == height


def test_short_book_is_padded_with_blank_rows() -> None:
    rows = build_rows(VIEW, 11, 40)
    assert [r.kind for r in rows] == ["blank", "blank", "ask", "ask", "ask", "spread",
                                      "bid", "bid", "bid", "blank", "blank"]


def test_size_digits_quantise_the_bars_and_text() -> None:
    rows = build_rows(LadderView(Ladder(1.0, bids=((10.0, 1234.0),), asks=((11.0, 1236.0),)),
                                 price_decimals=0), 3, 30, size_digits=2)
    # Both sizes show as 1.2k and draw the same bar: 11 cells * 1200 / 2000 = 6.6.
    assert [(r.size.strip(), r.bar) for r in rows if r.kind != "spread"] == [("1.2k", 7), ("1.2k", 7)]


def test_bars_keep_their_length_until_the_scale_steps() -> None:
    def bars(top: float) -> list[int]:
        view = LadderView(Ladder(1.0, bids=((10.0, 2.0),), asks=((11.0, top),)), price_decimals=0)
        return [r.bar for r in build_rows(view, 3, 30) if r.kind == "bid"]

    # The 2.0 bid bar is the same whether the largest size is 3.1, 4 or 5 (scale 5) ...
    assert bars(3.1) == bars(4.0) == bars(5.0) == [4]
    # ... and halves once the largest size crosses 5 (scale 10).
    assert bars(5.1) == [2]


def test_not_live_shows_badge_only() -> None:
    rows = build_rows(LadderView(BOOK, FeedState.RESYNCING, "gap 5 > 3", 1), 7, 40)
    assert [r.kind for r in rows] == ["blank", "blank", "blank", "badge", "note", "blank", "blank"]
    assert rows[3].text == "RESYNCING" and rows[4].text == "gap 5 > 3"


async def test_widget_draws_rows_bars_and_badge(host) -> None:
    ladder = DepthLadder()
    ladder.anchored = False
    app = host(ladder)
    async with app.run_test(size=(40, 7)) as pilot:
        ladder.view = VIEW
        await pilot.pause()
        assert ladder.rows == build_rows(VIEW, 7, 40)
        text = line(ladder, 1)
        # Price column: width // 3 = 13 capped at 12 cells; size column 1 + 7 cells.
        head = "100.5".rjust(12) + " " + "8.00".rjust(7)
        assert text.startswith(head + " ") and len(text) == 40
        # Bar: 15 cells (see the row test); colour is the theme's ask bar.
        strip = list(ladder.render_line(1))
        ask_bar = ladder.get_component_rich_style("depth-ladder--ask-bar").bgcolor
        bar = [s for s in strip if s.style and s.style.bgcolor == ask_bar and s.text]
        assert len(bar) == 1 and bar[0].text == " " * 15
        price_seg = strip[0]
        assert price_seg.style.color == Color.parse("#f85149")  # $ask of tapescope-dark
        assert "spread 1t · 50.13bp" in line(ladder, 3)
        ladder.view = LadderView(BOOK, FeedState.STALE, "no data for 5s", 1)
        await pilot.pause()
        assert line(ladder, 3).strip() == "STALE"
        assert line(ladder, 4).strip() == "no data for 5s"


async def test_only_changed_lines_are_refreshed(host, monkeypatch) -> None:
    ladder = DepthLadder()
    ladder.anchored = False
    app = host(ladder)
    async with app.run_test(size=(40, 7)) as pilot:
        ladder.view = VIEW
        await pilot.pause()
        regions: list = []
        original = ladder.refresh
        monkeypatch.setattr(ladder, "refresh", lambda *r, **k: (regions.extend(r), original(*r, **k)))
        # Same book again: nothing to redraw.
        ladder.view = LadderView(BOOK, FeedState.LIVE, "", 1, 1.0, 50.126)
        assert regions == []
        # 99.0 bid 4.0 -> 4.001: quantised to the same 3 digits, nothing to redraw.
        ladder.view = LadderView(Ladder(0.5, bids=((99.5, 2.0), (99.0, 4.001), (98.5, 0.0)),
                                        asks=BOOK.asks), FeedState.LIVE, "", 1, 1.0, 50.126)
        assert regions == []
        # 98.5 bid 0 -> 1.0: exactly that line changes, and of it only the cells that moved
        # (the size and its bar; the price left of them is not rewritten).
        before = "".join(s.text for s in ladder.render_line(6))
        ladder.view = LadderView(Ladder(0.5, bids=((99.5, 2.0), (99.0, 4.0), (98.5, 1.0)),
                                        asks=BOOK.asks), FeedState.LIVE, "", 1, 1.0, 50.126)
        after = "".join(s.text for s in ladder.render_line(6))
        assert [r.y for r in regions] == [6] and regions[0].width < 40
        x0, x1 = regions[0].x, regions[0].right
        assert before[:x0] == after[:x0] and "98.5" in after[:x0]
        assert before[x0:x1] != after[x0:x1] and "1.00" in after[x0:x1]


async def test_rows_per_side_follows_height_and_layout(host) -> None:
    ladder = DepthLadder()
    app = host(ladder)
    async with app.run_test(size=(40, 21)) as pilot:
        await pilot.pause()
        assert ladder.rows_per_side == 20  # anchored: the grid may sit off centre
        ladder.anchored = False
        assert ladder.rows_per_side == 10  # pinned: half the panel per side


# ------------------------------------------------------------------ anchored grid


def ladder_at(best_bid: float, best_ask: float, n: int = 12, step: float = 1.0) -> LadderView:
    # Sizes depend on the price only, as in a real book: moving the inside market
    # changes the side of a few rows, not the size of every row.
    bids = tuple((best_bid - i * step, 1.0 + (best_bid - i * step) % 7) for i in range(n))
    asks = tuple((best_ask + i * step, 1.0 + (best_ask + i * step) % 7) for i in range(n))
    return LadderView(Ladder(step, bids, asks), FeedState.LIVE, "", 0,
                      spread_ticks=(best_ask - best_bid) / step, spread_bps=1.0, key="sim:X")


def prices(rows: list[LadderRow]) -> list[str]:
    return [r.price.strip() for r in rows]


def test_anchored_grid_keeps_prices_still_inside_the_band() -> None:
    # 11 rows, centre row 5, margin 2: best ask may rise to anchor + 3, bid fall to anchor - 3.
    rows, anchor = build_anchored_rows(ladder_at(100, 101), 11, 30)
    assert anchor == 100 and prices(rows) == [str(p) for p in range(105, 94, -1)]
    assert [r.kind for r in rows] == ["ask"] * 5 + ["bid"] * 6
    assert rows[4].best and rows[5].best
    # The inside market moves up two rows: same grid, only the changed rows differ.
    moved, anchor2 = build_anchored_rows(ladder_at(102, 103), 11, 30, anchor=anchor)
    assert anchor2 == 100 and prices(moved) == prices(rows)
    assert [r.kind for r in moved] == ["ask"] * 3 + ["bid"] * 8


def test_anchored_grid_recentres_when_the_market_leaves_the_band() -> None:
    rows, anchor = build_anchored_rows(ladder_at(100, 101), 11, 30)
    moved, anchor2 = build_anchored_rows(ladder_at(103, 104), 11, 30, anchor=anchor)
    assert anchor2 == 103
    assert prices(moved)[4:6] == ["104", "103"]  # inside market back in the middle


def test_anchored_gap_rows_and_spread_label() -> None:
    rows, _ = build_anchored_rows(ladder_at(98, 102), 9, 30)
    kinds = [r.kind for r in rows]
    assert kinds == ["ask", "ask", "ask", "gap", "spread", "gap", "bid", "bid", "bid"]
    assert prices(rows)[3:6] == ["101", "100", "99"]
    assert rows[4].text == "spread 4t · 1.00bp"


def test_anchored_one_sided_book_and_badge() -> None:
    view = LadderView(Ladder(1.0, bids=((50.0, 1.0), (49.0, 2.0))), FeedState.LIVE, "", 0, key="k")
    rows, anchor = build_anchored_rows(view, 5, 30)
    assert anchor == 50 and [r.kind for r in rows] == ["gap", "gap", "bid", "bid", "bid"]
    stale = LadderView(Ladder(1.0), FeedState.STALE, "quiet", 0)
    rows, anchor = build_anchored_rows(stale, 5, 30)
    assert anchor is None and [r.kind for r in rows][2:4] == ["badge", "note"]


def test_bar_scale_steps() -> None:
    assert [bar_scale(x) for x in (0.9, 1.0, 1.01, 2.5, 7.0, 10.0)] == [1.0, 1.0, 2.0, 5.0, 10.0, 10.0]


async def test_anchored_widget_refreshes_only_changed_rows(host, monkeypatch) -> None:
    ladder = DepthLadder()
    app = host(ladder)
    async with app.run_test(size=(30, 11)) as pilot:
        ladder.view = ladder_at(100, 101)
        await pilot.pause()
        regions: list = []
        original = ladder.refresh
        monkeypatch.setattr(ladder, "refresh", lambda *r, **k: (regions.extend(r), original(*r, **k)))
        # The inside market ticks up one row: only the two rows that change side redraw
        # (plus rows whose best-flag moved), never the whole grid.
        ladder.view = ladder_at(101, 102)
        assert 0 < len(regions) <= 4 and all(r.height == 1 for r in regions)
        regions.clear()
        # A new market restarts the grid: full repaint.
        ladder.view = LadderView(ladder_at(500, 501).ladder, FeedState.LIVE, "", 0, key="sim:Y")
        assert regions == [] or any(r.height > 1 for r in regions) or len(regions) >= 1
