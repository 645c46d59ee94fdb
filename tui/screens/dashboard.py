"""The dashboard: watchlist, depth ladder, tape, CVD chart or heatmap, readouts, signals, alerts.

The App assigns :attr:`DashboardScreen.snapshot` once per frame (inside
``batch_update``); :meth:`DashboardScreen.watch_snapshot` passes the pieces
down to the child widgets by attribute. The screen holds no market state of
its own beyond the latest snapshot reference.

Layout: the screen gets the class ``-compact`` below the wide breakpoint
(watchlist as a one-line bar), ``-wide`` from it (watchlist as a side table,
the session volume profile as a column beside the ladder's rows) and
``-xwide`` 40 columns further (wider watchlist, ladder and profile);
``themes/app.tcss`` places the panels. The ladder grows with the
height: the App asks the engine for as many rows as the ladder can show.

The watchlist rows arrive in configured order; :attr:`DashboardScreen.sort`
(``o`` / ``O``) orders them for display (:func:`~tapescope.widgets.watch_rows.sort_rows`)
and :attr:`DashboardScreen.display_order` is that order (what Tab walks).
The profile column reads the lines the ladder has just laid out, so its bars
sit on the ladder's price rows.

Panel toggles are screen classes, so ``themes/app.tcss`` decides placement:
``-heatmap`` shows the liquidity heatmap in the CVD chart's place;
``-signals-toggled`` / ``-alerts-toggled`` invert the default visibility of
the signals panel and the alert log (shown from the wide breakpoint, hidden
in the compact layout, where showing one takes the tape's place).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer

from tapescope.engine.alerts import Alert
from tapescope.engine.events import FeedState
from tapescope.engine.heatmap import HeatmapSnapshot
from tapescope.engine.instrument import decimals_for
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.tui.messages import SymbolRequested
from tapescope.widgets.alert_log import AlertLog
from tapescope.widgets.cvd_chart import CvdChart
from tapescope.widgets.format import fmt_size
from tapescope.widgets.heatmap import LiquidityHeatmap
from tapescope.widgets.ladder import DepthLadder, LadderView
from tapescope.widgets.profile_column import ProfileColumn, ladder_prices
from tapescope.widgets.readouts import Readouts
from tapescope.widgets.signals_panel import SignalsPanel, SignalsView
from tapescope.widgets.status_bar import StatusBar, StatusView
from tapescope.widgets.tape import Tape
from tapescope.widgets.watch_rows import DEFAULT_DESCENDING, SORT_KEYS, WatchRow, sort_rows
from tapescope.widgets.watchlist import SymbolBar, Watchlist


class DashboardScreen(Screen[None]):
    """Main screen: the focused market's panels plus the watchlist."""

    snapshot: reactive[MarketSnapshot | None] = reactive(None, always_update=True, init=False, repaint=False)
    """The focused market at the last frame (set by the App's frame timer)."""
    status: reactive[StatusView] = reactive(StatusView, init=False, repaint=False)
    """Status bar contents (set by the App each frame)."""
    watch_rows: reactive[tuple[WatchRow, ...]] = reactive((), init=False, repaint=False)
    """Watchlist rows in configured order (set by the App at the watchlist cadence)."""
    sort: reactive[tuple[str, bool]] = reactive(("watchlist", False), init=False, repaint=False)
    """Watchlist order: ``(key of SORT_KEYS, descending)``."""
    focused_key: reactive[str] = reactive("", init=False, repaint=False)
    """Key of the focused market."""
    heatmap_snapshot: reactive[HeatmapSnapshot | None] = reactive(None, init=False, repaint=False)
    """Heatmap history of the focused market (the same object until a column closes)."""
    signals_view: reactive[SignalsView | None] = reactive(None, init=False, repaint=False)
    """Signals panel view of the focused market."""
    alerts: reactive[tuple[Alert, ...]] = reactive((), init=False, repaint=False)
    profile_kind: reactive[str] = reactive("volume", init=False, repaint=False)
    """What the profile column shows: ``"volume"`` (traded volume at price) or ``"tpo"``
    (time at price: 30-minute periods that traded there); ``p`` switches."""
    """Recent alerts of every market, oldest first."""

    def __init__(self, *, size_digits: int = 3, tape_rows: int = 200, utc: bool = True,
                 anchored_ladder: bool = True) -> None:
        super().__init__(id="dashboard")
        self._size_digits = size_digits
        self._tape_rows = tape_rows
        self._utc = utc
        self._anchored_ladder = anchored_ladder
        # Children are created here (not queried per frame) so watchers reach them directly.
        self.symbol_bar = SymbolBar(id="symbol-bar")
        """Compact watchlist."""
        self.watchlist = Watchlist(id="watchlist")
        """Wide watchlist table."""
        self.ladder = DepthLadder(id="ladder")
        """Depth ladder."""
        self.profile_column = ProfileColumn(id="profile-col")
        """Session volume profile beside the ladder's rows (wide layouts)."""
        self.tape = Tape(id="tape")
        """Time and sales."""
        self.chart = CvdChart(id="chart")
        """CVD chart."""
        self.readouts = Readouts(id="readouts")
        """Flow readouts."""
        self.heatmap = LiquidityHeatmap(id="heatmap")
        """Liquidity heatmap (in the chart's place while ``-heatmap`` is set)."""
        self.signals = SignalsPanel(id="signals")
        """Fused score, live signals and their history."""
        self.alert_log = AlertLog(id="alerts")
        """Recent alerts of every market."""
        self.status_bar = StatusBar(id="status")
        """Status bar."""
        self.display_rows: tuple[WatchRow, ...] = ()
        """Watchlist rows in display (sorted) order."""

    def compose(self) -> ComposeResult:
        self.watchlist.border_title = "Watchlist"
        self.ladder.border_title = "Book"
        self.ladder.size_digits = self._size_digits
        self.ladder.anchored = self._anchored_ladder
        self.profile_column.border_title = "VP"
        self.tape.border_title = self.tape.border_title or "Tape"  # the App may have set a filter
        self.tape.size_digits = self._size_digits
        self.tape.utc = self._utc
        self.chart.border_title = "CVD · price · VWAP┈"
        self.readouts.border_title = "Flow"
        self.heatmap.border_title = "Heatmap"
        self.heatmap.utc = self._utc
        self.signals.border_title = "Signals"
        self.signals.utc = self._utc
        self.alert_log.border_title = "Alerts"
        self.alert_log.utc = self._utc
        yield self.symbol_bar
        with Horizontal(id="body"):
            yield self.watchlist
            yield self.ladder
            yield self.profile_column
            with Vertical(id="right"):
                yield self.tape
                yield self.chart
                yield self.heatmap
                yield self.readouts
                yield self.signals
                yield self.alert_log
        yield self.status_bar
        yield Footer()

    @property
    def ladder_rows(self) -> int:
        """How many ladder rows per side the ladder can show now."""
        return self.ladder.rows_per_side

    def watch_snapshot(self, snap: MarketSnapshot | None) -> None:
        if snap is None:
            return
        decimals = snap.instrument.price_decimals()
        step_decimals = max(decimals, decimals_for(snap.ladder.step))
        live = snap.state == FeedState.LIVE
        ticks = round(snap.ladder.step / snap.instrument.tick_size) if snap.instrument.tick_size else 1
        title = f"Book {snap.instrument.symbol}" + (f" ×{ticks}t" if ticks > 1 else "")
        if self.ladder.border_title != title:
            # Setting a border title repaints the whole widget, even to the same text.
            self.ladder.border_title = title
        self.ladder.view = LadderView(snap.ladder, snap.state, snap.state_reason, step_decimals,
                                      snap.flow.spread_ticks, snap.flow.spread_bps, snap.key,
                                      markers=snap.analysis.micro.markers if snap.analysis else (),
                                      last_trade=snap.trades[-1] if snap.trades else None)
        self._show_profile(snap)
        self.tape.price_decimals = decimals
        self.tape.trades = snap.trades[-self._tape_rows:]
        self.chart.price_decimals = decimals
        self.chart.series = snap.series
        self.readouts.price_decimals = decimals
        self.readouts.live = live
        self.readouts.flow = snap.flow
        self.heatmap.price_decimals = decimals

    def _show_profile(self, snap: MarketSnapshot) -> None:
        """Session VWAP to the chart; profile and VWAP to the profile column, aligned to the ladder just drawn."""
        levels = snap.analysis.levels if snap.analysis is not None else None
        self.chart.vwap = levels.vwap.session if levels is not None else None
        if not self.profile_column.display:
            return  # hidden (compact layout): no work
        live = snap.state == FeedState.LIVE
        if levels is None:
            profile = None
        else:
            profile = levels.tpo.stats if self.profile_kind == "tpo" else levels.profile.session
        self.profile_column.show_profile(
            profile,
            levels.vwap.session if levels is not None else None,
            ladder_prices(self.ladder.rows) if live else (), snap.ladder.step)

    def set_tape_filter(self, min_notional: float) -> str:
        """Show only tape lines of at least ``min_notional`` (price x size); return what is shown."""
        self.tape.min_notional = max(0.0, min_notional)
        shown = f"≥{fmt_size(min_notional)} notional" if min_notional > 0 else "every print"
        self.tape.border_title = f"Tape {shown.split()[0]}" if min_notional > 0 else "Tape"
        return shown

    def watch_profile_kind(self, kind: str) -> None:
        self.profile_column.border_title = "TPO" if kind == "tpo" else "VP"

    def watch_heatmap_snapshot(self, snap: HeatmapSnapshot | None) -> None:
        self.heatmap.heatmap = snap

    def watch_signals_view(self, view: SignalsView | None) -> None:
        self.signals.view = view

    def watch_alerts(self, alerts: tuple[Alert, ...]) -> None:
        self.alert_log.alerts = alerts
        self._alert_title()

    def set_muted(self, muted: bool) -> None:
        """Show whether alert announcements are muted (class ``-muted`` and the log's title)."""
        self.set_class(muted, "-muted")
        self._alert_title()

    def _alert_title(self) -> None:
        n = len(self.alerts)
        muted = " (muted)" if self.has_class("-muted") else ""
        self.alert_log.border_title = f"Alerts · {n}{muted}" if n else f"Alerts{muted}"

    def toggle_panel(self, panel: str) -> None:
        """Toggle ``"heatmap"``, ``"signals"`` or ``"alerts"`` (see the module docstring)."""
        self.toggle_class("-heatmap" if panel == "heatmap" else f"-{panel}-toggled")

    def watch_status(self, status: StatusView) -> None:
        self.status_bar.view = status

    def watch_watch_rows(self) -> None:
        self._show_watch_rows()

    def watch_sort(self) -> None:
        self._show_watch_rows()

    def _show_watch_rows(self) -> None:
        key, descending = self.sort
        rows = sort_rows(self.watch_rows, key, descending)
        self.display_rows = rows
        self.watchlist.sort = self.sort
        self.watchlist.rows_data = rows
        self.symbol_bar.rows_data = rows

    @property
    def display_order(self) -> list[str]:
        """Market keys in the order the watchlist shows them (what Tab steps through)."""
        return [r.key for r in self.display_rows]

    def cycle_sort(self) -> tuple[str, bool]:
        """Sort the watchlist by the next key of :data:`SORT_KEYS`, in its natural direction.

        Returns:
            The new ``(key, descending)``.
        """
        i = SORT_KEYS.index(self.sort[0]) if self.sort[0] in SORT_KEYS else -1
        key = SORT_KEYS[(i + 1) % len(SORT_KEYS)]
        self.sort = (key, DEFAULT_DESCENDING[key])
        return self.sort

    def reverse_sort(self) -> tuple[str, bool]:
        """Flip the watchlist's sort direction.

        Returns:
            The new ``(key, descending)``.
        """
        self.sort = (self.sort[0], not self.sort[1])
        return self.sort

    def watch_focused_key(self, key: str) -> None:
        self.watchlist.focused_key = key
        self.symbol_bar.focused_key = key

    @on(Watchlist.MarketClicked)
    def _market_clicked(self, event: Watchlist.MarketClicked) -> None:
        self.post_message(SymbolRequested(event.key))
