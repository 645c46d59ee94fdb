"""Profile panel: rows from a hand-built profile, TPO and VWAP; only changed lines repaint."""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult

from tapescope.engine.profile import ProfileStats, TpoSnapshot
from tapescope.engine.vwap import VwapBands
from tapescope.themes.colours import parse_rgb
from tapescope.themes.extra import HIGH_CONTRAST
from tapescope.widgets.profile_panel import ProfilePanel, group_size, profile_rows

# Bins of 0.5 from 100.0: 100.0 .. 104.5 (10 bins).
VOLS = np.array([1.0, 2.0, 4.0, 8.0, 10.0, 6.0, 3.0, 2.0, 1.0, 0.5])
PROFILE = ProfileStats(step=0.5, first_price=100.0, volumes=VOLS, deltas=np.zeros(10),
                       total=float(VOLS.sum()), poc=102.0, val=101.0, vah=103.0)
TPO = TpoSnapshot(period="C", stats=ProfileStats(step=0.5, first_price=101.0,
                                                 volumes=np.array([1.0, 2.0, 3.0, 2.0]),
                                                 total=8.0, poc=102.0, val=101.5, vah=102.5),
                  letters=("A", "AB", "ABC", "BC"))
VWAP = VwapBands(vwap=102.2, sigma=0.8, volume=37.5,
                 bands=((1.0, 101.4, 103.0), (2.0, 100.6, 103.8)))


def test_rows_one_bin_per_row() -> None:
    rows = profile_rows(PROFILE, TPO, VWAP, 102.7, 12, 10)
    assert [r.price for r in rows] == [104.5 - 0.5 * i for i in range(10)]
    by_price = {r.price: r for r in rows}
    assert by_price[102.0].zone == "poc" and by_price[102.0].half_cells == 20
    assert by_price[101.5].half_cells == 16  # 8 / 10 of 20 half cells
    assert by_price[104.5].half_cells == 1  # 0.5 / 10 * 20
    assert [p for p, r in by_price.items() if r.zone == "value"] == [103.0, 102.5, 101.5, 101.0]
    assert by_price[102.5].current and sum(r.current for r in rows) == 1
    assert by_price[102.0].note == "VW"
    assert (by_price[101.0].note, by_price[103.0].note) == ("-1σ", "+1σ")
    assert (by_price[100.5].note, by_price[103.5].note) == ("-2σ", "+2σ")
    assert [by_price[p].letters for p in (101.0, 101.5, 102.0, 102.5, 103.0)] == \
        ["A", "AB", "ABC", "BC", ""]


def test_rows_grouped_to_fit_height() -> None:
    # 10 bins in 4 rows: 3 bins per row, groups aligned on multiples of 3 bins (1.5 price units).
    assert group_size(200, 209, 4) == 3
    rows = profile_rows(PROFILE, TPO, None, 102.7, 4, 10)
    assert [r.price for r in rows] == [103.5, 102.0, 100.5, 99.0]
    # Bins 207-209, 204-206, 201-203 and 198-200 (only 200 holds volume).
    assert [r.volume for r in rows] == [2.0 + 1.0 + 0.5, 10.0 + 6.0 + 3.0, 2.0 + 4.0 + 8.0, 1.0]
    # POC 102.0 is bin 204; the value area 101.0-103.0 spans bins 202-206.
    assert [r.zone for r in rows] == ["out", "poc", "value", "out"]
    assert [r.letters for r in rows] == ["", "ABC", "AB", ""]
    assert [r.current for r in rows] == [False, True, False, False]


def test_price_outside_profile_stays_in_view() -> None:
    rows = profile_rows(PROFILE, None, None, 107.2, 20, 10)
    assert rows[0].price == 107.0 and rows[0].current and rows[0].volume == 0.0
    assert len(rows) == 15


def test_empty_profile_has_no_rows() -> None:
    assert profile_rows(ProfileStats(), None, None, 100.0, 10, 10) == []


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.register_theme(HIGH_CONTRAST)
        self.theme = HIGH_CONTRAST.name

    def compose(self) -> ComposeResult:
        yield ProfilePanel(id="profile")


def line_text(panel: ProfilePanel, y: int) -> str:
    return "".join(seg.text for seg in panel.render_line(y))


async def test_widget_draws_and_repaints_changed_rows_only() -> None:
    app = Host()
    async with app.run_test(size=(40, 12)) as pilot:
        panel = app.query_one(ProfilePanel)
        panel.price_decimals = 1
        panel.profile, panel.tpo, panel.vwap, panel.price = PROFILE, TPO, VWAP, 102.7
        await pilot.pause()
        # 40 cols: price 5 + marker 1, note 3, bars int(31 * 0.6) = 18, gap 1, letters 12.
        # 104.5 holds 0.5 of the 10 at the POC: 0.05 * 36 = 1.8 -> 2 half cells.
        assert line_text(panel, 0) == "104.5    █" + " " * 17 + " " + " " * 12
        # 102.5 (current): 6 / 10 * 36 = 21.6 -> 22 half cells.
        assert line_text(panel, 4).startswith("102.5▶   " + "█" * 11 + " ")
        assert line_text(panel, 5) == "102.0◆VW " + "█" * 18 + " " + "ABC".ljust(12)
        assert line_text(panel, 7).startswith("101.0 -1σ")
        # The POC bar uses the theme's POC colour.
        seg = next(s for s in panel.render_line(5) if s.text.startswith("█"))
        rgb = seg.style.color.get_truecolor()
        assert (rgb.red, rgb.green, rgb.blue) == parse_rgb(HIGH_CONTRAST.variables["profile-poc"])

        before = panel.lines_refreshed
        # Same group: the marker stays, nothing repaints.
        panel.price = 102.9
        assert panel.lines_refreshed == before
        # One group down: the old and the new current rows repaint.
        panel.price = 102.3
        assert panel.lines_refreshed == before + 2
        # Volume added to one non-POC bin changes that bar only.
        vols = VOLS.copy()
        vols[0] += 2.0
        panel.profile = ProfileStats(step=0.5, first_price=100.0, volumes=vols, total=vols.sum(),
                                     poc=102.0, val=101.0, vah=103.0)
        assert panel.lines_refreshed == before + 3
        await pilot.pause()
        # 3 / 10 * 36 = 10.8 -> 11 half cells.
        assert line_text(panel, 9).startswith("100.0    " + "█" * 5 + "▌")
