"""Ladder markers: which glyph, wall highlight and trade tag lands on which row, and how it is drawn."""

from __future__ import annotations

import pytest
from rich.segment import Segment

from tapescope.engine.detectors.base import DetectorKind
from tapescope.engine.markers import LadderMarker
from tapescope.engine.snapshot import Ladder, TradePrint
from tapescope.themes import THEMES
from tapescope.widgets.ladder import DepthLadder, LadderRow, LadderView, build_rows
from tapescope.widgets.ladder_marks import legend
from tapescope.widgets.ladder_rows import build_anchored_rows

K = DetectorKind
BOOK = Ladder(0.5, bids=((99.5, 2.0), (99.0, 4.0), (98.5, 0.0)),
              asks=((100.0, 1.0), (100.5, 8.0), (101.0, 3.3333)))
MARKERS = (
    LadderMarker(K.SPOOF, 1, 99.2, 12.0, age_s=5.0, life_s=30.0),     # 99.2 bins down to 99.0; fresh
    LadderMarker(K.ABSORPTION, 1, 99.0, 40.0, age_s=1.0, life_s=30.0),  # same row, third kind: no cell
    LadderMarker(K.ICEBERG, 1, 99.0, 6.0, age_s=25.0, life_s=30.0),   # same row; old: lower case
    LadderMarker(K.VACUUM, 0, 99.75, 0.0, age_s=10.0, life_s=15.0),   # mid rounds to the 100.0 row
    LadderMarker(K.SPOOF, -1, 110.0, 5.0, age_s=1.0, life_s=30.0),    # off screen: a hint on top
    LadderMarker(K.WALL, -1, 100.4, 8.0),                             # 100.4 bins up to 100.5
)
TRADE = TradePrint(0, 100.0, 0.5234, 1)
VIEW = LadderView(BOOK, price_decimals=1, spread_ticks=1.0, spread_bps=50.126, markers=MARKERS,
                  last_trade=TRADE)


def p(x: str) -> str:
    return x.rjust(12)


def s(x: str) -> str:
    return x.rjust(7)


def test_pinned_rows_carry_glyphs_wall_and_tags() -> None:
    rows = build_rows(VIEW, 7, 40)
    # 40 cells: price 12, size 7, bar 19 (scale 10). Row 5 (99.0): spoof fresh (S), iceberg old
    # (i); absorption is third by priority and gets no cell. At >= 40 cells the first timed
    # marker's size is the tag. The vacuum at mid 99.75 lies inside the touch (99.5, 100.0):
    # the spread row takes it; 10 s of 15 is the last third: "v". The last trade, a buy at
    # 100.0, binned like an ask, tags row 2 (100.0).
    assert rows == [
        LadderRow("ask", p("101.0"), s("3.33"), 6, False, tag="↑S", tag_style="note"),
        LadderRow("ask", p("100.5"), s("8.00"), 15, False, marks=(("W", "wall", 1),), wall=True),
        LadderRow("ask", p("100.0"), s("1.00"), 2, True, tag="▲0.523", tag_style="buy"),
        LadderRow("spread", text="spread 1t · 50.13bp", marks=(("v", "vacuum", 2),)),
        LadderRow("bid", p("99.5"), s("2.00"), 4, True),
        LadderRow("bid", p("99.0"), s("4.00"), 8, False,
                  marks=(("S", "spoof", 0), ("i", "iceberg", 2)), tag="S12.0", tag_style="note"),
        LadderRow("bid", p("98.5"), s(""), 0, False),
    ]


def test_narrow_ladder_has_no_marker_size_tag_and_keeps_glyph_cells() -> None:
    view = LadderView(BOOK, price_decimals=1, markers=MARKERS)
    rows = build_rows(view, 7, 33)
    # 33 cells: price column min(12, 11) = 11 >= len("101.0") + 2.
    assert rows[5].marks == (("S", "spoof", 0), ("i", "iceberg", 2)) and rows[5].tag == ""
    assert all(len(r.price) == 11 for r in rows if r.price)
    # A long price still leaves two free cells: 9 characters in a 24-cell ladder -> 11 cells.
    wide = LadderView(Ladder(1.0, bids=((123456.78, 1.0),), asks=((123457.78, 1.0),)),
                      price_decimals=2)
    assert {len(r.price) for r in build_rows(wide, 3, 24) if r.price} == {12}


def test_anchored_spread_rows_and_trade_beyond_the_visible_rows() -> None:
    ladder = Ladder(1.0, bids=((98.0, 2.0), (97.0, 1.0)), asks=((102.0, 1.0), (103.0, 3.0)))
    markers = (LadderMarker(K.VACUUM, 0, 100.0, 0.0, age_s=1.0, life_s=15.0),  # mid: the spread row
               LadderMarker(K.SPOOF, 1, 99.4, 3.0, age_s=20.0, life_s=30.0))  # a pulled bid in the gap
    view = LadderView(ladder, price_decimals=0, spread_ticks=4.0, spread_bps=400.0, markers=markers,
                      last_trade=TradePrint(0, 105.2, 2.0, -1))  # a sell above the grid
    rows, anchor = build_anchored_rows(view, 7, 30)
    assert anchor == 100
    # Grid 103 .. 97; gap rows 101, 100 (spread), 99.
    assert [(r.kind, r.price.strip(), r.marks, r.tag) for r in rows] == [
        ("ask", "103", (), "↑▼2.00"),  # 105.2 sells bin down to 105 > 103: hint on the top row
        ("ask", "102", (), ""),
        ("gap", "101", (), ""),
        ("spread", "100", (("V", "vacuum", 0),), ""),
        ("gap", "99", (("s", "spoof", 2),), ""),  # 20 s of 30: the last third has begun
        ("bid", "98", (), ""),
        ("bid", "97", (), ""),
    ]
    below = LadderView(ladder, price_decimals=0, last_trade=TradePrint(0, 90.0, 1.0, 1))
    rows, _ = build_anchored_rows(below, 7, 30)
    assert rows[-1].tag == "↓▲1.00" and [r.tag for r in rows[:-1]] == [""] * 6
    # Timed markers beyond the edges are hinted by kind (priority order); the trade's tag wins
    # its row; walls out of view are not hinted.
    far = (LadderMarker(K.ICEBERG, 1, 80.0, 1.0, 1.0, 60.0), LadderMarker(K.SPOOF, 1, 85.0, 1.0, 1.0, 30.0),
           LadderMarker(K.WALL, 1, 70.0, 9.0), LadderMarker(K.ABSORPTION, -1, 120.0, 1.0, 1.0, 30.0),
           LadderMarker(K.WALL, -1, 130.0, 9.0))
    rows, _ = build_anchored_rows(LadderView(ladder, price_decimals=0, markers=far), 7, 30)
    assert [(r.tag, r.tag_style) for r in rows if r.tag] == [("↑A", "note"), ("↓SI", "note")]
    rows, _ = build_anchored_rows(LadderView(ladder, price_decimals=0, markers=far,
                                             last_trade=TradePrint(0, 90.0, 1.0, 1)), 7, 30)
    assert [r.tag for r in rows if r.tag] == ["↑A", "↓▲1.00"]


def test_pinned_spread_row_takes_prices_inside_the_spread() -> None:
    ladder = Ladder(1.0, bids=((98.0, 2.0),), asks=((102.0, 1.0),))
    view = LadderView(ladder, price_decimals=0, spread_ticks=4.0, spread_bps=400.0,
                      markers=(LadderMarker(K.VACUUM, 0, 100.0, 0.0, 1.0, 15.0),),
                      last_trade=TradePrint(0, 101.0, 1.0, 1))
    rows = build_rows(view, 3, 30)
    assert [r.kind for r in rows] == ["ask", "spread", "bid"]
    assert rows[1].marks == (("V", "vacuum", 0),) and rows[1].tag == "▲1.00"


def test_no_markers_leave_rows_untouched() -> None:
    plain = LadderView(BOOK, price_decimals=1)
    rows = build_rows(plain, 7, 40)
    assert all(r.marks == () and not r.wall and r.tag == "" for r in rows)


def text(segs: list[Segment]) -> str:
    return "".join(seg.text for seg in segs)


async def test_widget_draws_glyphs_highlight_and_tag(host) -> None:
    ladder = DepthLadder()
    ladder.anchored = False
    app = host(ladder)
    async with app.run_test(size=(40, 7)) as pilot:
        ladder.view = VIEW
        await pilot.pause()
        row5 = list(ladder.render_line(5))
        assert text(row5) == "Si" + "99.0".rjust(10) + " " + "4.00".rjust(7) + " " + " " * 14 + "S12.0"
        spoof, iceberg = row5[0], row5[1]
        assert (spoof.text, iceberg.text) == ("S", "i")
        assert spoof.style.reverse and spoof.style.bold  # fresh
        assert iceberg.style.dim and not iceberg.style.reverse  # old
        assert spoof.style.color != iceberg.style.color
        # The wall row: its size cell has the wall background, the bar keeps the ask bar's.
        row1 = list(ladder.render_line(1))
        wall_bg = ladder.get_component_rich_style("depth-ladder--wall").bgcolor
        size_seg = next(seg for seg in row1 if seg.text.strip() == "8.00")
        assert size_seg.style.bgcolor == wall_bg
        assert row1[0].text == "W"
        # The trade tag at the right end: 8 cells of bar... 19 * 0.1 -> 2 bar cells, tag after.
        row2 = list(ladder.render_line(2))
        assert text(row2).endswith("▲0.523") and len(text(row2)) == 40
        tag = next(seg for seg in row2 if "▲" in seg.text)
        assert tag.style.color == ladder.get_component_rich_style("depth-ladder--buy").color


async def test_tag_over_a_long_bar_keeps_the_bar_background(host) -> None:
    ladder = DepthLadder()
    ladder.anchored = False
    app = host(ladder)
    view = LadderView(Ladder(1.0, bids=((99.0, 10.0),), asks=((100.0, 10.0),)), price_decimals=0,
                      last_trade=TradePrint(0, 99.0, 2.0, -1))
    async with app.run_test(size=(30, 3)) as pilot:
        ladder.view = view
        await pilot.pause()
        # 30 cells: price 10, size 7, bar 11 full (10 of scale 10); the tag "▼2.00" sits on it.
        segs = list(ladder.render_line(2))
        bar_bg = ladder.get_component_rich_style("depth-ladder--bid-bar").bgcolor
        tag = next(seg for seg in segs if "▼" in seg.text)
        assert tag.text == "▼2.00" and tag.style.bgcolor == bar_bg
        assert tag.style.color == ladder.get_component_rich_style("depth-ladder--sell").color
        assert text(segs).endswith("      ▼2.00")
        assert sum(len(seg.text) for seg in segs if seg.style.bgcolor == bar_bg) == 11


@pytest.mark.parametrize("theme", [t.name for t in THEMES])
async def test_markers_readable_without_colour_in_every_theme(host, theme: str) -> None:
    ladder = DepthLadder()
    ladder.anchored = False
    app = host(ladder)
    async with app.run_test(size=(40, 7)) as pilot:
        app.theme = theme
        ladder.view = VIEW
        await pilot.pause()
        lines = [list(ladder.render_line(y)) for y in range(7)]
        # Kinds are letters, not colours; the fade is shape and weight (case, reverse, dim).
        assert [seg.text for seg in lines[5][:2]] == ["S", "i"]
        assert lines[5][0].style.reverse and lines[5][1].style.dim
        assert lines[1][0].text == "W" and lines[3][0].text == "v"
        assert text(lines[3]).startswith("v──") and "spread 1t" in text(lines[3])
        # The wall's size cell differs from a plain size cell in background.
        plain = next(seg for seg in lines[0] if seg.text.strip() == "3.33")
        wall = next(seg for seg in lines[1] if seg.text.strip() == "8.00")
        assert wall.style.bgcolor is not None and wall.style.bgcolor != plain.style.bgcolor
        # Aggressor by arrow shape as well as by colour.
        assert "▲" in text(lines[2])


def test_legend_names_every_glyph() -> None:
    assert legend().startswith("S spoof · I iceberg · A absorption · P pulled wall · V vacuum · W live wall")
