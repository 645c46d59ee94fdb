"""Themes: every CSS variable the UI uses is defined by every theme, and the palettes stay
readable on 256-colour terminals and (for the colour-blind-safe themes) without red/green."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.theme import Theme

import tapescope.themes as themes_pkg
from tapescope.engine.profile import ProfileStats
from tapescope.engine.regime import MarketRegime, VolatilitySnapshot
from tapescope.themes.colours import (
    CVD_MATRICES,
    contrast_ratio,
    delta_e,
    parse_rgb,
    simulate_cvd,
    to_256,
)
from tapescope.themes.extra import (
    COLORBLIND,
    COLORBLIND_LIGHT,
    EXTRA_THEMES,
    HIGH_CONTRAST,
    PANEL_VARIABLES,
    panel_variable_defaults,
)
from tapescope.widgets.profile_panel import ProfilePanel
from tapescope.widgets.regime_panel import RegimePanel

ROOT = Path(__file__).resolve().parents[2]
#: Market colours whose pairs carry meaning (book side, aggressor side).
PAIRS = (("bid", "ask"), ("buy", "sell"), ("regime-up", "regime-down"))
MARKET = ("bid", "ask", "buy", "sell", "alert", "chart-price")


def all_themes() -> tuple[Theme, ...]:
    """The registry's themes plus the extra ones (deduplicated by name)."""
    found = {t.name: t for t in getattr(themes_pkg, "THEMES", ())}
    for theme in EXTRA_THEMES:
        found.setdefault(theme.name, theme)
    return tuple(found.values())


def used_variables() -> set[str]:
    """``$name`` references in widget/screen CSS and the .tcss files, minus .tcss-local ones."""
    sources = [*ROOT.joinpath("widgets").glob("*.py"), *ROOT.joinpath("tui").rglob("*.py"),
               *ROOT.joinpath("themes").glob("*.tcss")]
    used: set[str] = set()
    local: set[str] = set()
    for path in sources:
        text = path.read_text()
        used |= set(re.findall(r"\$([a-z][a-z0-9-]*)", text))
        if path.suffix == ".tcss":
            local |= set(re.findall(r"^\$([a-z][a-z0-9-]*)\s*:", text, re.M))
    return used - local


def defined_variables(theme: Theme) -> set[str]:
    return set(theme.to_color_system().generate()) | set(theme.variables)


def test_used_variables_are_found() -> None:
    # The scan must see the panel variables of this branch's widgets, or it checks nothing.
    used = used_variables()
    assert {"regime-up", "profile-poc", "primary"} <= used


@pytest.mark.parametrize("theme", all_themes(), ids=lambda t: t.name)
def test_every_used_variable_is_defined(theme: Theme) -> None:
    missing = used_variables() - defined_variables(theme)
    assert not missing, f"{theme.name} lacks {sorted(missing)}"


@pytest.mark.parametrize("theme", EXTRA_THEMES, ids=lambda t: t.name)
def test_extra_themes_define_market_and_panel_colours(theme: Theme) -> None:
    assert set(MARKET) | set(PANEL_VARIABLES) <= set(theme.variables)


@pytest.mark.parametrize("theme", EXTRA_THEMES, ids=lambda t: t.name)
def test_colours_survive_256_colour_terminals(theme: Theme) -> None:
    colours = [theme.primary, theme.background, theme.foreground, theme.surface, theme.panel,
               *theme.variables.values()]
    for colour in colours:
        # What a 256-colour terminal draws is within a barely visible step of the design.
        assert delta_e(to_256(colour), parse_rgb(colour)) < 5, colour


@pytest.mark.parametrize(("theme", "minimum"), [(HIGH_CONTRAST, 7.0), (COLORBLIND, 4.5),
                                                (COLORBLIND_LIGHT, 4.5)],
                         ids=["high-contrast", "colorblind", "colorblind-light"])
def test_text_colours_contrast_with_background_in_256_colours(theme: Theme, minimum: float) -> None:
    background = to_256(theme.background)
    for name in (*MARKET, "regime-up", "regime-down", "profile-poc"):
        ratio = contrast_ratio(to_256(theme.variables[name]), background)
        assert ratio >= minimum, f"{theme.name} ${name}: {ratio:.2f} < {minimum}"
    assert contrast_ratio(to_256(theme.foreground), background) >= 7.0


@pytest.mark.parametrize("theme", EXTRA_THEMES, ids=lambda t: t.name)
@pytest.mark.parametrize("deficiency", sorted(CVD_MATRICES))
def test_pairs_stay_distinct_without_red_green_vision(theme: Theme, deficiency: str) -> None:
    for a, b in PAIRS:
        ca = simulate_cvd(to_256(theme.variables[a]), deficiency)
        cb = simulate_cvd(to_256(theme.variables[b]), deficiency)
        assert delta_e(ca, cb) >= 40, f"{theme.name} ${a}/${b} under {deficiency}"


def test_simulation_catches_a_red_green_pair() -> None:
    # The check above is not vacuous: a classic green/red book pair fails it under deuteranopia.
    green, red = parse_rgb("#2ea043"), parse_rgb("#f85149")
    assert delta_e(green, red) > 100
    assert delta_e(simulate_cvd(green, "deuteranopia"), simulate_cvd(red, "deuteranopia")) < 20


def test_contrast_ratio_matches_wcag_reference() -> None:
    # WCAG reference values: #777777 on white is 4.48:1, #595959 on white 7.0:1.
    assert contrast_ratio(parse_rgb("#777777"), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio(parse_rgb("#595959"), (255, 255, 255)) == pytest.approx(7.0, abs=0.01)


def test_theme_names_are_unique() -> None:
    names = [t.name for t in all_themes()]
    assert len(names) == len(set(names))


class PanelHost(App[None]):
    """The panels of this branch under every theme."""

    def __init__(self, themes: tuple[Theme, ...]) -> None:
        super().__init__()
        for theme in themes:
            self.register_theme(theme)
        self.theme = themes[0].name

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # What the App supplies to themes that lack the panel colours (Textual's own).
        return getattr(themes_pkg, "market_variable_defaults", dict)() | panel_variable_defaults({})

    def compose(self) -> ComposeResult:
        yield RegimePanel()
        yield ProfilePanel()


def _rgb(style: Style) -> tuple[int, int, int]:
    triplet = style.color.get_truecolor()
    return triplet.red, triplet.green, triplet.blue


async def test_switching_through_every_theme_recolours_the_panels() -> None:
    themes = all_themes()
    app = PanelHost(themes)
    async with app.run_test(size=(80, 20)) as pilot:
        regime, profile = app.query_one(RegimePanel), app.query_one(ProfilePanel)
        regime.volatility = VolatilitySnapshot(regime=MarketRegime.TREND_UP)
        profile.profile = ProfileStats(step=1.0, first_price=100.0, volumes=np.array([1.0, 3.0]),
                                       total=4.0, poc=101.0, val=100.0, vah=101.0)
        for theme in themes:
            app.theme = theme.name
            await pilot.pause()
            variables = app.get_css_variables()
            text = regime.render()
            span = next(s for s in text.spans if text.plain[s.start:s.end] == "▲ TREND_UP")
            assert _rgb(span.style) == parse_rgb(variables["regime-up"]), theme.name
            poc = next(s for s in profile.render_line(0) if s.text.startswith("█"))  # 101 on top
            assert _rgb(poc.style) == parse_rgb(variables["profile-poc"]), theme.name
            if theme in EXTRA_THEMES:
                assert variables["regime-up"] == theme.variables["regime-up"]
