"""Regime and profile screen: the focused market's volatility regime above its volume/TPO profile.

Holds a :class:`~tapescope.widgets.regime_panel.RegimePanel` (GARCH forecast,
vol regime and state, Kalman trend and market regime, VPIN, spread) and a
:class:`~tapescope.widgets.profile_panel.ProfilePanel` (volume profile with
TPO letters, POC, value area and VWAP bands, beside price). The App calls
:meth:`RegimeScreen.show` at its frame rate with the focused market's
snapshots; the screen passes the pieces down by attribute and keeps no
market state. ``s`` switches the profile between the session and the rolling
window.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static

from tapescope.engine.events import FeedState
from tapescope.engine.levels import LevelsSnapshot
from tapescope.engine.regime import VolatilitySnapshot
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.widgets.profile_panel import ProfilePanel
from tapescope.widgets.regime_panel import RegimePanel

#: Profile windows ``s`` cycles through.
SCOPES = ("session", "rolling")


class RegimeScreen(Screen[None]):
    """Volatility regime and volume profile of the focused market."""

    DEFAULT_CSS = """
    RegimeScreen {
        layout: vertical;
        background: $background;
        & > #regime-title { height: 1; padding: 0 1; background: $panel; }
        & > #regime, & > #profile {
            border-top: solid $border-blurred;
            border-title-color: $foreground-muted;
            border-title-align: left;
            padding: 0 1;
        }
        & > #regime { height: 6; }
        & > #profile { height: 1fr; }
        & > #regime-hint { height: 1; padding: 0 1; color: $foreground-muted; }
    }
    """

    BINDINGS = [
        Binding("escape,v", "app.pop_screen", "Close", id="regime_close",
                tooltip="Return to the dashboard."),
        Binding("s", "cycle_scope", "Session/rolling", id="profile_scope",
                tooltip="Show the session profile or the rolling-window profile."),
    ]

    scope: reactive[str] = reactive("session", init=False)
    """Profile window shown: ``session`` or ``rolling``."""

    def __init__(self) -> None:
        super().__init__(id="regime-screen")
        self.regime = RegimePanel(id="regime")
        """Regime panel."""
        self.profile = ProfilePanel(id="profile")
        """Profile panel."""
        self._levels: LevelsSnapshot | None = None
        self._title = ""

    def compose(self) -> ComposeResult:
        self.regime.border_title = "Regime"
        self.profile.border_title = "Volume profile · session  (TPO letters right)"
        yield Static("", id="regime-title", markup=False)
        yield self.regime
        yield self.profile
        yield Static("s: session/rolling profile   Esc: back   ◆ POC   ▶ price   "
                     "VW VWAP, ±kσ bands   bright bars: value area", id="regime-hint",
                     markup=False)

    def show(self, snap: MarketSnapshot, vol: VolatilitySnapshot | None,
             levels: LevelsSnapshot | None) -> None:
        """Hand the focused market's snapshots to the panels (the App's frame timer)."""
        title = f"{snap.key}  {snap.state.name}"
        if title != self._title and self.is_attached:
            self._title = title
            self.query_one("#regime-title", Static).update(title)
        live = snap.state == FeedState.LIVE
        self.regime.live = live
        self.regime.flow = snap.flow
        self.regime.volatility = vol
        self._levels = levels
        self.regime.vpin = levels.vpin if levels is not None else None
        self._show_profile(snap)

    def _show_profile(self, snap: MarketSnapshot | None = None) -> None:
        levels = self._levels
        if snap is not None:
            self.profile.price_decimals = snap.instrument.price_decimals()
            price = snap.mid if math.isfinite(snap.mid) else snap.last_price
            self.profile.price = price
        if levels is None:
            self.profile.profile = None
            return
        stats = levels.profile.session if self.scope == "session" else levels.profile.rolling
        vwap = levels.vwap.session if self.scope == "session" else levels.vwap.rolling
        self.profile.vwap = vwap
        # TPO letters are per session: beside the rolling profile they would mislead.
        self.profile.tpo = levels.tpo if self.scope == "session" else None
        self.profile.profile = stats

    def action_cycle_scope(self) -> None:
        """Switch between the session and the rolling profile."""
        self.scope = SCOPES[(SCOPES.index(self.scope) + 1) % len(SCOPES)]

    def watch_scope(self, scope: str) -> None:
        letters = "  (TPO letters right)" if scope == "session" else ""
        self.profile.border_title = f"Volume profile · {scope}{letters}"
        self._show_profile()
