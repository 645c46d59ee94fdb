"""Extra themes: maximum contrast, and colour-blind-safe palettes (dark and light).

Every colour here is an xterm-256 colour (the 6x6x6 cube or the grey ramp),
so a 256-colour terminal, common over SSH, shows what was designed: the
chromatic colours map exactly, and Rich's downgrade moves a grey by at most
one ramp step. The market colours never rely on red
versus green: book sides and aggressors are blue versus orange (after the
Okabe-Ito palette), which stays distinct under protanopia, deuteranopia and
tritanopia; the theme tests check this with :mod:`tapescope.themes.colours`.

Each theme defines the market variables the stylesheets use (``$bid``,
``$ask``, ``$buy``, ``$sell``, ``$alert``, ``$chart-price``) and the panel
variables (``$regime-up``, ``$regime-down``, ``$profile-value``...) listed in
:data:`PANEL_VARIABLES`.
"""

from __future__ import annotations

from textual.theme import Theme

#: Panel colour variables (regime, profile and risk panels) every tapescope theme defines.
PANEL_VARIABLES = ("regime-up", "regime-down", "regime-calm", "profile-bar", "profile-value",
                   "profile-poc", "profile-vwap")

# High contrast: black and white, saturated xterm colours, every market colour >= 7:1.
_HC = {
    "bg": "#000000",  # 16
    "surface": "#121212",  # 233
    "panel": "#262626",  # 235
    "fg": "#ffffff",  # 231
    "primary": "#ffff00",  # 226
    "secondary": "#d0d0d0",  # 252
    "accent": "#ff87ff",  # 213
    "bid": "#00afff",  # 39
    "ask": "#ffaf00",  # 214
    "buy": "#5fd7ff",  # 81
    "sell": "#ff8700",  # 208
    "alert": "#ff5fff",  # 207
    "price": "#ffffff",  # 231
    "calm": "#bcbcbc",  # 250
    "bar": "#808080",  # 244
}

# Colour-blind safe, dark background (Okabe-Ito hues on the xterm cube).
_CB = {
    "bg": "#1c1c1c",  # 234
    "surface": "#262626",  # 235
    "panel": "#303030",  # 236
    "fg": "#e4e4e4",  # 254
    "primary": "#5fafff",  # 75
    "secondary": "#a8a8a8",  # 248
    "accent": "#d787af",  # 175 (reddish purple)
    "bid": "#5fafff",  # 75 (sky blue)
    "ask": "#ffaf00",  # 214 (orange)
    "buy": "#87d7ff",  # 117
    "sell": "#ff875f",  # 209 (vermillion)
    "alert": "#ffff5f",  # 227 (yellow)
    "price": "#d787af",  # 175
    "calm": "#a8a8a8",  # 248
    "bar": "#6c6c6c",  # 242
}

# Colour-blind safe, light background.
_CBL = {
    "bg": "#ffffff",  # 231
    "surface": "#eeeeee",  # 255
    "panel": "#dadada",  # 253
    "fg": "#121212",  # 233
    "primary": "#005faf",  # 25
    "secondary": "#4e4e4e",  # 239
    "accent": "#875f87",  # 96
    "bid": "#005faf",  # 25 (blue)
    "ask": "#af5f00",  # 130 (dark orange)
    "buy": "#005f87",  # 24
    "sell": "#af0000",  # 124
    "alert": "#870087",  # 90
    "price": "#5f005f",  # 53
    "calm": "#4e4e4e",  # 239
    "bar": "#9e9e9e",  # 247
}


def _theme(name: str, p: dict[str, str], dark: bool) -> Theme:
    return Theme(
        name=name,
        primary=p["primary"],
        secondary=p["secondary"],
        accent=p["accent"],
        warning=p["alert"],
        error=p["ask"],
        success=p["bid"],
        foreground=p["fg"],
        background=p["bg"],
        surface=p["surface"],
        panel=p["panel"],
        dark=dark,
        variables=market_and_panel_variables(p),
    )


def market_and_panel_variables(p: dict[str, str]) -> dict[str, str]:
    """The ``variables`` of a theme from a palette dict (market plus panel colours).

    >>> sorted(market_and_panel_variables(_HC))[:3]
    ['alert', 'ask', 'bid']
    """
    return {
        "bid": p["bid"],
        "ask": p["ask"],
        "buy": p["buy"],
        "sell": p["sell"],
        "alert": p["alert"],
        "chart-price": p["price"],
        "regime-up": p["bid"],
        "regime-down": p["ask"],
        "regime-calm": p["calm"],
        "profile-bar": p["bar"],
        "profile-value": p["buy"],
        "profile-poc": p["alert"],
        "profile-vwap": p["price"],
    }


#: Maximum contrast: black background, white text, saturated blue/orange market colours.
HIGH_CONTRAST = _theme("tapescope-high-contrast", _HC, dark=True)

#: Colour-blind safe dark theme (blue/orange/yellow, no red/green pairs).
COLORBLIND = _theme("tapescope-colorblind", _CB, dark=True)

#: Colour-blind safe light theme.
COLORBLIND_LIGHT = _theme("tapescope-colorblind-light", _CBL, dark=False)

#: The extra themes, in the order the theme key cycles through them.
EXTRA_THEMES: tuple[Theme, ...] = (HIGH_CONTRAST, COLORBLIND, COLORBLIND_LIGHT)


def panel_variable_defaults(variables: dict[str, str]) -> dict[str, str]:
    """Panel colours derived from a theme's market colours (for themes that lack them).

    Textual's own themes and the older tapescope themes define only the
    market colours; the panels then reuse them.

    >>> panel_variable_defaults({"bid": "#00f", "ask": "#f80", "buy": "#0ff", "alert": "#ff0",
    ...                          "chart-price": "#fff"})["regime-up"]
    '#00f'
    """
    return {
        "regime-up": variables.get("bid", "#5fafff"),
        "regime-down": variables.get("ask", "#ffaf00"),
        "regime-calm": variables.get("chart-price", "#a8a8a8"),
        "profile-bar": "#6c6c6c",
        "profile-value": variables.get("buy", "#87d7ff"),
        "profile-poc": variables.get("alert", "#ffff5f"),
        "profile-vwap": variables.get("chart-price", "#d787af"),
    }
