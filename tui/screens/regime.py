"""Regime and profile screen: the focused market's volatility regime above its volume/TPO profile.

Holds a :class:`~tapescope.widgets.regime_panel.RegimePanel` (GARCH forecast,
vol regime and state, Kalman trend and market regime, VPIN, spread) and a
:class:`~tapescope.widgets.profile_panel.ProfilePanel` (volume profile with
TPO letters, POC, value area and VWAP bands, beside price). The App assigns
:attr:`RegimeScreen.snapshot` at its frame rate with the focused market's
snapshot; once per second of event time the screen passes the pieces of its
``analysis`` (the volatility
and levels monitors of :class:`~tapescope.engine.analysis.MarketAnalysis`)
down by attribute and keeps no market state. Without an attached analysis
the panels show ``—``. ``s`` switches the profile between the session and
the rolling window.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static

from tapescope.engine.events import FeedState
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
        & > #regime-hint { height: auto; padding: 0 1; color: $foreground-muted; }
    }
    """

    BINDINGS = [
        Binding("escape,v", "app.pop_screen", "Close", id="regime_close",
                tooltip="Return to the dashboard."),
        Binding("s", "cycle_scope", "Session/rolling", id="profile_scope",
                tooltip="Show the session profile or the rolling-window profile."),
    ]

    snapshot: reactive[MarketSnapshot | None] = reactive(None, always_update=True, init=False,
                                                         repaint=False)
    """The focused market at the last frame (set by the App's frame timer)."""
    scope: reactive[str] = reactive("session", init=False)
    """Profile window shown: ``session`` or ``rolling``."""

    def __init__(self) -> None:
        super().__init__(id="regime-screen")
        self.regime = RegimePanel(id="regime")
        """Regime panel."""
        self.profile = ProfilePanel(id="profile")
        """Profile panel."""
        # Built here so a snapshot assigned before the screen is composed still reaches it.
        self.title_bar = Static("", id="regime-title", markup=False)
        """Market and state line."""
        self._title = ""
        self._second: tuple[int, FeedState, bool] | None = None

    def compose(self) -> ComposeResult:
        self.regime.border_title = "Regime"
        self.profile.border_title = "Volume profile · session  (TPO letters right)"
        yield self.title_bar
        yield self.regime
        yield self.profile
        yield Static("s: session/rolling profile   Esc: back   ◆ POC   ▶ price   "
                     "VW VWAP, ±kσ bands   bright bars: value area", id="regime-hint",
                     markup=False)

    def watch_snapshot(self, snap: MarketSnapshot | None) -> None:
        if snap is None:
            return
        title = f"{snap.key}  {snap.state.name}"
        if title != self._title:
            self._title = title
            self.title_bar.update(title)
        # Regime and profile metrics move on the scale of seconds: redrawing them at the
        # frame rate cost ~32 KB/s at 120x40 (tui/sshbench.py); once per second of event
        # time (and on any state change) costs a tenth of it.
        second = (snap.ts // 1_000_000_000, snap.state, snap.analysis is None)
        if second == self._second:
            return
        self._second = second
        analysis = snap.analysis
        self.regime.live = snap.state == FeedState.LIVE
        self.regime.flow = snap.flow
        self.regime.volatility = analysis.volatility if analysis is not None else None
        self.regime.vpin = analysis.levels.vpin if analysis is not None else None
        self._show_profile()

    def _show_profile(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        self.profile.price_decimals = snap.instrument.price_decimals()
        self.profile.price = snap.mid if math.isfinite(snap.mid) else snap.last_price
        if snap.analysis is None:
            self.profile.profile = None
            return
        levels = snap.analysis.levels
        session = self.scope == "session"
        self.profile.vwap = levels.vwap.session if session else levels.vwap.rolling
        # TPO letters are per session: beside the rolling profile they would mislead.
        self.profile.tpo = levels.tpo if session else None
        self.profile.profile = levels.profile.session if session else levels.profile.rolling

    def action_cycle_scope(self) -> None:
        """Switch between the session and the rolling profile."""
        self.scope = SCOPES[(SCOPES.index(self.scope) + 1) % len(SCOPES)]

    def watch_scope(self, scope: str) -> None:
        letters = "  (TPO letters right)" if scope == "session" else ""
        self.profile.border_title = f"Volume profile · {scope}{letters}"
        self._show_profile()
