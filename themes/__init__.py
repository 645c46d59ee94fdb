"""tapescope's Textual themes and the path of the app stylesheet.

A theme is a handful of colour constants plus a :class:`textual.theme.Theme`
whose ``variables`` carry the market colours the stylesheets refer to:
``$bid``, ``$ask`` (book sides), ``$buy``, ``$sell`` (trade aggressors),
``$alert`` (badges, warnings) and ``$chart-price`` (the price line under CVD).
The panel colours of :data:`tapescope.themes.extra.PANEL_VARIABLES`
(``$regime-up``, ``$profile-poc``...) are defined in every theme too, and
:mod:`tapescope.themes.extra` adds the high-contrast and colour-blind-safe
themes to :data:`THEMES`. Stylesheets use these variables only, never hex values.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

from tapescope.themes.extra import EXTRA_THEMES, panel_variable_defaults

#: The app stylesheet (screen layout); widgets keep structural CSS in ``DEFAULT_CSS``.
CSS_PATH = Path(__file__).parent / "app.tcss"

#: Market colour variables every theme defines.
MARKET_VARIABLES = ("bid", "ask", "buy", "sell", "alert", "chart-price")

# Dark palette.
_DARK_BG = "#0e1117"
_DARK_SURFACE = "#161b22"
_DARK_PANEL = "#1f2630"
_DARK_FG = "#d0d7de"
_DARK_BID = "#2ea043"
_DARK_ASK = "#f85149"
_DARK_BUY = "#3fb950"
_DARK_SELL = "#ff7b72"
_DARK_ALERT = "#d29922"
_DARK_PRICE = "#79c0ff"

# Light palette.
_LIGHT_BG = "#ffffff"
_LIGHT_SURFACE = "#f6f8fa"
_LIGHT_PANEL = "#e6eaef"
_LIGHT_FG = "#1f2328"
_LIGHT_BID = "#1a7f37"
_LIGHT_ASK = "#cf222e"
_LIGHT_BUY = "#116329"
_LIGHT_SELL = "#a40e26"
_LIGHT_ALERT = "#9a6700"
_LIGHT_PRICE = "#0550ae"

# High-contrast palette (colour-blind safer: blue/orange instead of green/red).
_HC_BG = "#000000"
_HC_SURFACE = "#0a0a0a"
_HC_PANEL = "#1a1a1a"
_HC_FG = "#ffffff"
_HC_BID = "#3a96ff"
_HC_ASK = "#ff9f1c"
_HC_BUY = "#6cb6ff"
_HC_SELL = "#ffb347"
_HC_ALERT = "#ff4df0"
_HC_PRICE = "#e0e0e0"

#: Default dark theme.
DARK = Theme(
    name="tapescope-dark",
    primary="#58a6ff",
    secondary="#8b949e",
    accent="#d2a8ff",
    warning=_DARK_ALERT,
    error=_DARK_ASK,
    success=_DARK_BID,
    foreground=_DARK_FG,
    background=_DARK_BG,
    surface=_DARK_SURFACE,
    panel=_DARK_PANEL,
    dark=True,
    variables={
        "bid": _DARK_BID,
        "ask": _DARK_ASK,
        "buy": _DARK_BUY,
        "sell": _DARK_SELL,
        "alert": _DARK_ALERT,
        "chart-price": _DARK_PRICE,
        **panel_variable_defaults({"bid": _DARK_BID, "ask": _DARK_ASK, "buy": _DARK_BUY,
                                   "alert": _DARK_ALERT, "chart-price": _DARK_PRICE}),
    },
)

#: Light theme for bright terminals.
LIGHT = Theme(
    name="tapescope-light",
    primary="#0969da",
    secondary="#57606a",
    accent="#8250df",
    warning=_LIGHT_ALERT,
    error=_LIGHT_ASK,
    success=_LIGHT_BID,
    foreground=_LIGHT_FG,
    background=_LIGHT_BG,
    surface=_LIGHT_SURFACE,
    panel=_LIGHT_PANEL,
    dark=False,
    variables={
        "bid": _LIGHT_BID,
        "ask": _LIGHT_ASK,
        "buy": _LIGHT_BUY,
        "sell": _LIGHT_SELL,
        "alert": _LIGHT_ALERT,
        "chart-price": _LIGHT_PRICE,
        **panel_variable_defaults({"bid": _LIGHT_BID, "ask": _LIGHT_ASK, "buy": _LIGHT_BUY,
                                   "alert": _LIGHT_ALERT, "chart-price": _LIGHT_PRICE}),
    },
)

#: High-contrast theme with a blue/orange market palette.
CONTRAST = Theme(
    name="tapescope-contrast",
    primary="#ffd700",
    secondary="#c0c0c0",
    accent="#ff4df0",
    warning=_HC_ALERT,
    error=_HC_ASK,
    success=_HC_BID,
    foreground=_HC_FG,
    background=_HC_BG,
    surface=_HC_SURFACE,
    panel=_HC_PANEL,
    dark=True,
    variables={
        "bid": _HC_BID,
        "ask": _HC_ASK,
        "buy": _HC_BUY,
        "sell": _HC_SELL,
        "alert": _HC_ALERT,
        "chart-price": _HC_PRICE,
        **panel_variable_defaults({"bid": _HC_BID, "ask": _HC_ASK, "buy": _HC_BUY,
                                   "alert": _HC_ALERT, "chart-price": _HC_PRICE}),
    },
)

#: Shipped themes, in the order ``t`` cycles through them.
THEMES: tuple[Theme, ...] = (DARK, LIGHT, CONTRAST, *EXTRA_THEMES)


def market_variable_defaults() -> dict[str, str]:
    """Fallback market colours for any theme that lacks them (e.g. Textual's own themes)."""
    return dict(DARK.variables)
