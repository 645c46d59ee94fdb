"""Command palette entries of the dashboard App: every key action by name.

A mixin for :class:`~tapescope.tui.app.TapescopeApp`, kept apart so the App
module stays about wiring and the frame loop.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.screen import Screen

from tapescope.tui.screens.regime import RegimeScreen
from tapescope.tui.screens.risk import RiskScreen


class PaletteCommands:
    """Lists every key action in the command palette (style.md section 6)."""

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from self.replay_commands()
        yield SystemCommand("Help", "Show every key and what it does", self.action_help)
        yield SystemCommand("Go to symbol", "Open the fuzzy symbol picker", self.action_symbol_picker)
        yield SystemCommand("Cycle theme", "Switch to the next tapescope theme", self.action_cycle_theme)
        yield SystemCommand("Coarser ladder", "Aggregate the depth ladder into taller rows",
                            lambda: self.action_ladder_step(1))
        yield SystemCommand("Finer ladder", "Split the depth ladder into shorter rows",
                            lambda: self.action_ladder_step(-1))
        yield SystemCommand("Toggle heatmap", "Show the liquidity heatmap in place of the CVD chart",
                            lambda: self.action_toggle_panel("heatmap"))
        yield SystemCommand("Heatmap zoom in", "Fewer price rows, each taller",
                            lambda: self.action_heatmap_zoom(-1))
        yield SystemCommand("Heatmap zoom out", "More price rows per cell",
                            lambda: self.action_heatmap_zoom(1))
        yield SystemCommand("Tape filter", "Cycle the tape's minimum notional ([app] tape_filters)",
                            self.action_tape_filter)
        yield SystemCommand("Volume / TPO profile", "Switch the profile column beside the ladder "
                            "between the volume profile and the TPO profile", self.action_toggle_profile)
        yield SystemCommand("Toggle signals", "Show or hide the signals panel",
                            lambda: self.action_toggle_panel("signals"))
        yield SystemCommand("Toggle alerts", "Show or hide the alert log",
                            lambda: self.action_toggle_panel("alerts"))
        yield SystemCommand("Mute alerts", "Mute or unmute alert bell, notifications and webhook",
                            self.action_mute_alerts)
        yield SystemCommand("Sort watchlist", "Sort the watchlist by its next column",
                            self.action_sort_watchlist)
        yield SystemCommand("Reverse watchlist sort", "Flip the watchlist's sort direction",
                            self.action_reverse_sort)
        yield SystemCommand("Risk calculator", "Size a position on the focused market's live book",
                            self.action_risk)
        yield SystemCommand("Regime and profile", "Volatility regime, VPIN, volume/TPO profile",
                            self.action_regime)
        yield SystemCommand("Feed health", "Connections and markets: state and error counters",
                            self.action_health)
        if isinstance(screen, RiskScreen):
            yield SystemCommand("Live entry", "Entry follows the live best price again",
                                screen.action_live_entry)
        if isinstance(screen, RegimeScreen):
            yield SystemCommand("Session/rolling profile", "Switch the profile window",
                                screen.action_cycle_scope)
        yield SystemCommand("Next symbol", "Focus the next watchlist symbol", self.action_next_symbol)
        yield SystemCommand("Previous symbol", "Focus the previous watchlist symbol",
                            self.action_prev_symbol)
        for n, key in enumerate(self.hub.keys[:9], start=1):
            yield SystemCommand(f"Symbol {n}: {key}", f"Focus {key}",
                                lambda n=n: self.action_focus_symbol(n))


