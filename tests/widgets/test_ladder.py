"""Depth ladder rows for known books, the state badge, and line-level refresh."""

from __future__ import annotations

from rich.color import Color
from textual.geometry import Region

from tapescope.engine.events import FeedState
from tapescope.engine.snapshot import Ladder
from tapescope.widgets.ladder import DepthLadder, LadderRow, LadderView, build_rows

BOOK = Ladder(0.5, bids=((99.5, 2.0), (99.0, 4.0), (98.5, 0.0)),
              asks=((100.0, 1.0), (100.5, 8.0), (101.0, 3.3333)))
VIEW = LadderView(BOOK, FeedState.LIVE, "", 1, spread_ticks=1.0, spread_bps=50.126)


def line(widget: DepthLadder, y: int) -> str:
    return "".join(seg.text for seg in widget.render_line(y))


def test_rows_for_a_known_book_height_7() -> None:
    rows = build_rows(VIEW, 7)
    # 3 ask rows above (best ask lowest), spread, 3 bid rows below (best bid highest).
    assert rows == [
        LadderRow("ask", "101.0", "3.33", 0.416, False),  # 3.33 / 8.00
        LadderRow("ask", "100.5", "8.00", 1.0, False),
        LadderRow("ask", "100.0", "1.00", 0.125, True),
        LadderRow("spread", text="spread 1t · 50.13bp"),
        LadderRow("bid", "99.5", "2.00", 0.25, True),
        LadderRow("bid", "99.0", "4.00", 0.5, False),
        LadderRow("bid", "98.5", "", 0.0, False),  # an empty row keeps the price grid
    ]


def test_best_rows_stay_pinned_to_the_spread_row_at_any_height() -> None:
    for height in range(3, 30):
        rows = build_rows(VIEW, height)
        centre = (height - 1) // 2
        assert rows[centre].kind == "spread"
        assert rows[centre - 1].best and rows[centre - 1].kind == "ask"
        assert rows[centre + 1].best and rows[centre + 1].kind == "bid"
        assert len(rows) == height


def test_short_book_is_padded_with_blank_rows() -> None:
    rows = build_rows(VIEW, 11)
    assert [r.kind for r in rows] == ["blank", "blank", "ask", "ask", "ask", "spread",
                                      "bid", "bid", "bid", "blank", "blank"]


def test_size_digits_quantise_the_bars_and_text() -> None:
    rows = build_rows(LadderView(Ladder(1.0, bids=((10.0, 1234.0),), asks=((11.0, 1236.0),)),
                                 price_decimals=0), 3, size_digits=2)
    assert [(r.size, r.fill) for r in rows if r.kind != "spread"] == [("1.2k", 1.0), ("1.2k", 1.0)]


def test_not_live_shows_badge_only() -> None:
    rows = build_rows(LadderView(BOOK, FeedState.RESYNCING, "gap 5 > 3", 1), 7)
    assert [r.kind for r in rows] == ["blank", "blank", "blank", "badge", "note", "blank", "blank"]
    assert rows[3].text == "RESYNCING" and rows[4].text == "gap 5 > 3"


async def test_widget_draws_rows_bars_and_badge(host) -> None:
    ladder = DepthLadder()
    app = host(ladder)
    async with app.run_test(size=(40, 7)) as pilot:
        ladder.view = VIEW
        await pilot.pause()
        assert ladder.rows == build_rows(VIEW, 7)
        text = line(ladder, 1)
        # Price column: width // 3 = 13 capped at 12 cells; size column 1 + 7 cells.
        head = "100.5".rjust(12) + " " + "8.00".rjust(7)
        assert text.startswith(head + " ") and len(text) == 40
        # Bar: the widest row fills every bar cell; colour is the theme's ask bar.
        strip = list(ladder.render_line(1))
        ask_bar = ladder.get_component_rich_style("depth-ladder--ask-bar").bgcolor
        bar = [s for s in strip if s.style and s.style.bgcolor == ask_bar and s.text]
        assert len(bar) == 1 and bar[0].text.strip() == ""
        assert len(bar[0].text) == 40 - len(head) - 1
        price_seg = strip[0]
        assert price_seg.style.color == Color.parse("#f85149")  # $ask of tapescope-dark
        assert "spread 1t · 50.13bp" in line(ladder, 3)
        ladder.view = LadderView(BOOK, FeedState.STALE, "no data for 5s", 1)
        await pilot.pause()
        assert line(ladder, 3).strip() == "STALE"
        assert line(ladder, 4).strip() == "no data for 5s"


async def test_only_changed_lines_are_refreshed(host, monkeypatch) -> None:
    ladder = DepthLadder()
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
        # 98.5 bid 0 -> 1.0: exactly that line changes.
        ladder.view = LadderView(Ladder(0.5, bids=((99.5, 2.0), (99.0, 4.0), (98.5, 1.0)),
                                        asks=BOOK.asks), FeedState.LIVE, "", 1, 1.0, 50.126)
        assert regions == [Region(0, 6, 40, 1)]


async def test_rows_per_side_follows_height(host) -> None:
    ladder = DepthLadder()
    app = host(ladder)
    async with app.run_test(size=(40, 21)) as pilot:
        await pilot.pause()
        assert ladder.rows_per_side == 10
