"""Screen and panel actions of the dashboard App: picker, help, ladder step, panels, theme, risk, regime, health.

A mixin for :class:`~tapescope.tui.app.TapescopeApp` (it reads the App's
``config``, ``hub``, ``feed``, ``panels``, ``dashboard``, ``focused_key``,
clock and last frame snapshot), kept apart so the App module stays about
wiring and the frame loop. Every action is bound in ``TapescopeApp.BINDINGS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from textual.binding import Binding

from tapescope.engine.book import Book
from tapescope.engine.risk import RiskParams
from tapescope.themes import THEMES
from tapescope.tui.ladder_steps import next_step
from tapescope.tui.screens.health import HealthScreen
from tapescope.tui.screens.help import HelpScreen, help_rows
from tapescope.tui.screens.picker import SymbolPicker
from tapescope.tui.screens.regime import RegimeScreen
from tapescope.tui.screens.risk import RiskScreen
from tapescope.tui.screens.risk_form import risk_market

if TYPE_CHECKING:
    from tapescope.engine.snapshot import MarketSnapshot
    from tapescope.feeds.base import Feed
    from tapescope.tui.config import Config
    from tapescope.tui.panels import DashboardPanels
    from tapescope.tui.screens.dashboard import DashboardScreen


class ScreenActions:
    """Screen and panel actions (see the module docstring)."""

    config: Config
    hub: object
    feed: Feed | None
    panels: DashboardPanels
    dashboard: DashboardScreen
    focused_key: str
    _clock: Callable[[], int]
    _last: MarketSnapshot | None
    _steps: dict[str, int]
    _tape_filter: int

    def action_symbol_picker(self) -> None:
        """Open the fuzzy symbol picker."""
        def picked(key: str | None) -> None:
            if key:
                self.focus_market(key)
        self.push_screen(SymbolPicker(self.hub.keys, self.focused_key), picked)

    def action_help(self) -> None:
        """Show the help screen generated from the App's bindings (with user remaps)."""
        keymap = self.config.keys.keymap()
        pairs = []
        for binding in Binding.make_bindings(self.BINDINGS):
            key = keymap.get(binding.id, binding.key) if binding.id else binding.key
            pairs.append((binding, self.get_key_display(replace(binding, key=key.split(",")[0]))))
        self.push_screen(HelpScreen(help_rows(pairs)))

    @property
    def ladder_step_ticks(self) -> int:
        """Ladder row height of the focused market, in ticks."""
        return self._steps.get(self.focused_key, self.config.app.ladder_step_ticks)

    def action_ladder_step(self, direction: int) -> None:
        """Make ladder rows taller (``direction`` > 0) or shorter, in the 1-2-5 sequence."""
        step = next_step(self.ladder_step_ticks, direction)
        if step != self.ladder_step_ticks:
            self._steps[self.focused_key] = step
            self.refresh_frame()

    def action_toggle_panel(self, panel: str) -> None:
        """Show or hide the heatmap, the signals panel or the alert log."""
        self.dashboard.toggle_panel(panel)

    def action_tape_filter(self) -> None:
        """Cycle the tape's minimum notional through ``[app] tape_filters``."""
        filters = self.config.app.tape_filters or (0.0,)
        self._tape_filter = (self._tape_filter + 1) % len(filters)
        shown = self.dashboard.set_tape_filter(filters[self._tape_filter])
        self.notify(f"Tape: {shown}", timeout=2)

    def action_toggle_profile(self) -> None:
        """Switch the profile column between the volume and the TPO profile."""
        self.dashboard.profile_kind = "volume" if self.dashboard.profile_kind == "tpo" else "tpo"
        self.refresh_frame()

    def action_heatmap_zoom(self, direction: int) -> None:
        """Zoom the heatmap out (``direction`` > 0) or in."""
        heatmap = self.dashboard.heatmap
        heatmap.zoom = heatmap.zoom + direction

    def action_mute_alerts(self) -> None:
        """Mute or unmute alert announcements."""
        muted = self.panels.toggle_mute()
        self.dashboard.set_muted(muted)
        self.notify("Alerts muted: logged only." if muted else "Alerts unmuted.", timeout=3)

    def action_cycle_theme(self) -> None:
        """Switch to the next shipped theme."""
        names = [t.name for t in THEMES]
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2)

    def live_book(self, key: str) -> Book | None:
        """The live book of ``key`` when the hub exposes its markets (the engine hub does)."""
        market = getattr(self.hub, "markets", {}).get(key)
        return market.book if market is not None else None

    def action_risk(self) -> None:
        """Open the risk/position calculator on the focused market."""
        if self._last is None:
            return
        try:
            params = self.config.section("risk")
        except KeyError:
            params = RiskParams()
        self.push_screen(RiskScreen(params, risk_market(self._last, self.live_book(self.focused_key))))

    def action_regime(self) -> None:
        """Open the regime and profile screen of the focused market."""
        screen = RegimeScreen()
        if self._last is not None:
            screen.snapshot = self._last
        self.push_screen(screen)

    def action_health(self) -> None:
        """Open the feed health screen."""
        if self.feed is None:
            self.notify("No feed: nothing to report.", timeout=3)
            return
        self.push_screen(HealthScreen(self.feed, clock=self._clock, title=self.feed.name))
