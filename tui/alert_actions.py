"""Alert timer of the dashboard App: every market's rules evaluated once per interval, a slice per tick.

A mixin for :class:`~tapescope.tui.app.TapescopeApp` (it reads the App's
``hub``, ``panels``, ``dashboard``, clock and last frame snapshot), kept apart
so the App module stays about wiring and the frame loop.

Reading a market's snapshot costs about a millisecond (its analysis), so the
1 Hz scan of 60 markets in one callback stalled that frame (p95 24 ms at
120x40). Like the watchlist (:mod:`tapescope.tui.watch_actions`), the alert
timer instead fires ``ceil(markets / ALERT_BATCH)`` times per ``[alerts]
interval_s`` and evaluates the next :data:`ALERT_BATCH` markets each time:
every market is still evaluated once per interval, and no frame reads more
than :data:`ALERT_BATCH` snapshots for alerts. Alerts of a slice are
announced when that slice is scanned (at most one interval after they were
raised, as before); the terminal bell still rings at most once per round
(:meth:`AlertActions.round_bell`), not once per slice.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from tapescope.tui.watch_actions import WATCHLIST_BATCH

if TYPE_CHECKING:
    from collections.abc import Callable

    from tapescope.engine.snapshot import MarketSnapshot
    from tapescope.tui.panels import DashboardPanels
    from tapescope.tui.screens.dashboard import DashboardScreen

#: Markets evaluated per alert timer tick (the same budget as a watchlist batch).
ALERT_BATCH = WATCHLIST_BATCH


class AlertActions:
    """The alert timer (see the module docstring)."""

    hub: object
    panels: DashboardPanels
    dashboard: DashboardScreen
    _clock: Callable[[], int]
    _last: MarketSnapshot | None
    _alerts_version: int
    _alert_next: int
    summary_snapshot: Callable[[str], MarketSnapshot]
    """One-row-ladder snapshot of a market (:class:`~tapescope.tui.watch_actions.WatchlistActions`)."""
    #: The bell rang in the current round (reset when the slices wrap round).
    _bell_rung: bool = False

    def start_alert_timer(self) -> None:
        """Scan every market once now, then a slice per tick (``set_interval``; on mount)."""
        alerts = self.panels.alert_settings
        if not alerts.enabled:
            return
        batches = max(1, math.ceil(len(self.hub.keys) / ALERT_BATCH))
        self.set_interval(alerts.interval_s / batches, self.scan_alerts_batch, name="alerts")
        # A first full round now: what the markets raised before the screen existed is
        # announced at once, not one interval later.
        self.scan_alerts()

    def round_bell(self) -> None:
        """Ring the terminal bell unless it already rang in this round (the alert sink's bell)."""
        if not self._bell_rung:
            self._bell_rung = True
            self.bell()

    def scan_alerts(self, keys: list[str] | None = None) -> None:
        """Evaluate the rules of ``keys`` (default: every market, a round of its own) and announce."""
        if keys is None:
            self._bell_rung = False
        self.panels.scan(self.hub, self._clock(), self.summary_snapshot, keys)
        sink = self.panels.sink
        if sink.version != self._alerts_version:
            self._alerts_version = sink.version
            self.dashboard.alerts = tuple(sink.log)

    def scan_alerts_batch(self) -> None:
        """Evaluate the next :data:`ALERT_BATCH` markets, wrapping round (the alert timer)."""
        keys = self.hub.keys
        if not keys:
            return
        start = self._alert_next if self._alert_next < len(keys) else 0
        if start == 0:
            self._bell_rung = False  # a new round
        self._alert_next = start + ALERT_BATCH
        self.scan_alerts(keys[start:start + ALERT_BATCH])
