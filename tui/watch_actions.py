"""Watchlist actions of the dashboard App: batched refresh of every market's row, sort keys.

A mixin for :class:`~tapescope.tui.app.TapescopeApp` (it reads the App's
``hub``, ``dashboard``, ``focused_key`` and last frame snapshot), kept apart
so the App module stays about wiring and the frame loop.

Digit keys 1-9 keep the *configured* watchlist order whatever the sort (the
``#`` column and the symbol bar show each market's digit).

Tab and Shift+Tab walk the *displayed* order
(:attr:`DashboardScreen.display_order`), but a sorted order changes every
second, and stepping through a live order can skip a market (it moved above
the focus) or visit one twice (it moved below). So a run of Tab presses walks
the order **as displayed when the run started**: the order is taken at the
first press and kept while presses follow each other within
:data:`TAB_HOLD_S` seconds and the sort is unchanged. Pressing Tab as many
times as there are markets visits each exactly once and comes back to the
start. After a pause (or a new sort order, or a market added), the next press
takes the order as displayed then, so the next row down on screen is again
the next market.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tapescope.widgets.watch_rows import SORT_LABELS, WatchRow, watch_row

if TYPE_CHECKING:
    from tapescope.engine.snapshot import MarketSnapshot
    from tapescope.tui.screens.dashboard import DashboardScreen

#: Ladder rows per side requested for a watchlist-only read of a market.
WATCHLIST_LADDER_ROWS = 1
#: Markets read per watchlist tick. Reading a market's snapshot costs about a
#: millisecond (its analysis: profiles, VWAP, regime), so 60 markets at once
#: would stall one frame for ~70 ms; the watchlist timer instead fires
#: ``ceil(markets / WATCHLIST_BATCH)`` times per ``[app] watchlist_interval``
#: and reads the next batch each time: every market is still refreshed once per
#: interval, and no frame pays for more than this many.
WATCHLIST_BATCH = 8
#: Seconds between two Tab presses within which they walk the same (frozen) order.
TAB_HOLD_S = 2.0


class WatchlistActions:
    """Watchlist refresh and sort actions (see the module docstring)."""

    hub: object
    dashboard: DashboardScreen
    focused_key: str
    _last: MarketSnapshot | None
    _watch_rows: list[WatchRow]
    _watch_next: int
    _clock: Callable[[], int]
    #: ``(order, sort, ns of the last press)`` of the current Tab run (see the module docstring).
    _tab_run: tuple[tuple[str, ...], tuple[str, bool], int] | None = None

    def refresh_watchlist(self) -> None:
        """Summarise every market for the watchlist at once (start-up; the timer reads batches)."""
        if not self._dashboard_on_top():
            return  # covered or closing: see refresh_frame
        self._watch_rows = [self._watch_row(n, key) for n, key in enumerate(self.hub.keys, start=1)]
        self._watch_next = 0
        self.dashboard.watch_rows = tuple(self._watch_rows)

    def refresh_watchlist_batch(self) -> None:
        """Re-read the next :data:`WATCHLIST_BATCH` markets (the watchlist timer; see there)."""
        keys = self.hub.keys
        if not self._dashboard_on_top():
            return
        if len(self._watch_rows) != len(keys):
            self.refresh_watchlist()
            return
        start = self._watch_next if self._watch_next < len(keys) else 0
        for i in range(start, min(start + WATCHLIST_BATCH, len(keys))):
            self._watch_rows[i] = self._watch_row(i + 1, keys[i])
        self._watch_next = start + WATCHLIST_BATCH
        self.dashboard.watch_rows = tuple(self._watch_rows)

    def _dashboard_on_top(self) -> bool:
        # A timer can fire while the App is exiting and its screen stack is already empty
        # (``self.screen`` would raise ScreenStackError).
        return not self._exit and bool(self.screen_stack) and self.screen is self.dashboard

    def summary_snapshot(self, key: str) -> MarketSnapshot:
        """``key``'s snapshot with a one-row ladder: what the watchlist and the alert rules read.

        The focused market's frame snapshot is reused: reading it again with a
        one-row ladder would evict the frame's cached snapshot.
        """
        if key == self.focused_key and self._last is not None and self._last.key == key:
            return self._last
        return self.hub.snapshot(key, ladder_step_ticks=1, ladder_rows=WATCHLIST_LADDER_ROWS)

    def _watch_row(self, n: int, key: str) -> WatchRow:
        return watch_row(n, self.summary_snapshot(key))

    def tab_order(self) -> tuple[str, ...]:
        """The order a Tab press walks now (frozen during a run of presses; see the module docstring).

        Returns:
            Market keys; the displayed order when no run is under way.
        """
        now = self._clock()
        sort = self.dashboard.sort
        run = self._tab_run
        if (run is None or run[1] != sort or now - run[2] > TAB_HOLD_S * 1e9
                or len(run[0]) != len(self.hub.keys)):
            order = tuple(self.dashboard.display_order)
            if self.focused_key not in order:
                order = tuple(self.hub.keys)
        else:
            order = run[0]
        self._tab_run = (order, sort, now)
        return order

    def _step_symbol(self, step: int) -> None:
        keys = self.tab_order()
        if not keys:
            return
        i = keys.index(self.focused_key) if self.focused_key in keys else -step
        self.focus_market(keys[(i + step) % len(keys)])

    def action_next_symbol(self) -> None:
        """Focus the next watchlist symbol (wraps; see the module docstring for the order)."""
        self._step_symbol(1)

    def action_prev_symbol(self) -> None:
        """Focus the previous watchlist symbol (wraps)."""
        self._step_symbol(-1)

    def action_focus_symbol(self, n: int) -> None:
        """Focus the n-th (1-based) symbol of the *configured* watchlist, whatever the sort.

        Digit keys keep their meaning while the list is re-sorted (muscle
        memory: ``1`` is always the first configured market); the ``#``
        column and the symbol bar show each market's digit.
        """
        keys = self.hub.keys
        if 1 <= n <= len(keys):
            self.focus_market(keys[n - 1])

    def action_sort_watchlist(self) -> None:
        """Sort the watchlist by its next column (``o``)."""
        self._announce_sort(*self.dashboard.cycle_sort())

    def action_reverse_sort(self) -> None:
        """Reverse the watchlist's sort direction (``O``)."""
        self._announce_sort(*self.dashboard.reverse_sort())

    def _announce_sort(self, key: str, descending: bool) -> None:
        order = "configured order" if key == "watchlist" else SORT_LABELS[key]
        self.notify(f"Watchlist: {order} {'▼' if descending else '▲'}", timeout=2)
