"""App-side glue for the heatmap, signals and alert panels, so the App wires them in a few lines.

:class:`DashboardPanels` owns what these panels need beyond one snapshot:

* one :class:`~tapescope.engine.heatmap.HeatmapHistory` per market (attached
  to every market of the hub, so switching focus shows history at once);
* a :class:`~tapescope.engine.analysis.MarketAnalysis` on every market that
  has none yet (detectors and signals feed the signals panel and the alerts);
* the :class:`~tapescope.engine.alerts.AlertEngine` and the
  :class:`~tapescope.tui.alerts.AlertSink`.

The App calls :meth:`DashboardPanels.frame` from its frame timer (cheap:
cached snapshots, compared by identity) and :meth:`DashboardPanels.scan`
from a timer at ``[alerts] interval_s``; it starts the webhook with
``run_worker(panels.webhook_job(), ...)`` when :attr:`DashboardPanels.sink`
has one. Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from tapescope.engine.alerts import Alert, AlertEngine
from tapescope.engine.analysis import AnalysisParams, MarketAnalysis
from tapescope.engine.heatmap import HeatmapHistory, HeatmapParams, HeatmapSnapshot
from tapescope.engine.market import Market
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.tui.alerts import AlertSettings, AlertSink, Notify, scan_markets
from tapescope.widgets.signals_panel import SignalsView, signals_view


@dataclass(frozen=True, slots=True)
class PanelFrame:
    """What the three panels show for the focused market at one frame."""

    heatmap: HeatmapSnapshot | None
    """Heatmap history (``None`` when heatmaps are off)."""
    signals: SignalsView | None
    """Signals panel view (``None`` without an analysis)."""


class DashboardPanels:
    """Heatmaps, analyses, alert rules and the alert sink of one App (see the module docstring)."""

    def __init__(self, heatmap: HeatmapParams | None = None, alerts: AlertSettings | None = None,
                 analysis: AnalysisParams | None = None, *, bell: Callable[[], object] | None = None,
                 notify: Notify | None = None) -> None:
        """Create the panels' state; :meth:`attach` hooks it into a hub.

        Args:
            heatmap: ``[heatmap]``.
            alerts: ``[alerts]``.
            analysis: parameters for analyses this creates (markets without one).
            bell: ``App.bell``.
            notify: ``App.notify``.
        """
        self.heatmap_params = heatmap or HeatmapParams()
        self.alert_settings = alerts or AlertSettings()
        self.analysis_params = analysis or AnalysisParams()
        self.heatmaps: dict[str, HeatmapHistory] = {}
        """Heatmap history per market key."""
        self.engine = AlertEngine(self.alert_settings.rules)
        """Alert rules and their per-market state."""
        self.sink = AlertSink(self.alert_settings, bell=bell, notify=notify)
        """Where alerts go (bell, notifications, log, webhook)."""
        self.muted = False
        """True while alerts are only logged (no bell, notifications or webhook)."""
        signals = self.analysis_params.signals
        self.live_s: float = signals.half_life_s * signals.alive_half_lives
        """Age below which a signal still weighs in the fused score."""

    def attach(self, hub: object) -> None:
        """Attach an analysis (if missing) and a heatmap history to every market of ``hub``.

        Idempotent: a market already attached is left alone. A hub without
        ``markets`` (a test double serving prepared snapshots) is left alone.
        """
        markets: dict[str, Market] = getattr(hub, "markets", None) or {}
        for key, market in markets.items():
            if market.analysis is None:
                MarketAnalysis.attach(market, self.analysis_params)
            if self.heatmap_params.enabled and key not in self.heatmaps:
                self.heatmaps[key] = HeatmapHistory.attach(market, self.heatmap_params)

    def frame(self, snap: MarketSnapshot) -> PanelFrame:
        """The panels' inputs for the focused market's frame snapshot.

        Runtime complexity: ``O(1)`` between column closes (the heatmap
        snapshot is cached), ``O(rows * columns)`` once per column.
        """
        history = self.heatmaps.get(snap.key)
        return PanelFrame(history.snapshot() if history is not None else None,
                          signals_view(snap, self.live_s))

    def scan(self, hub: Any, now: int,
             snapshot_of: Callable[[str], MarketSnapshot] | None = None,
             keys: Sequence[str] | None = None) -> list[Alert]:
        """Evaluate every market's rules and announce what fired (the alert timer).

        Args:
            hub: the engine hub.
            now: the App's clock, ns.
            snapshot_of: snapshot source per key (the App reuses its focused frame snapshot).
            keys: only these markets (default: every market of ``hub``).

        Returns:
            The alerts raised.
        """
        if not self.alert_settings.enabled:
            return []
        alerts = scan_markets(self.engine, hub, now, snapshot_of, keys)
        if self.muted:
            # Muted: keep the record, skip the bell, notifications and webhook.
            if alerts:
                self.sink.log.extend(alerts)
                self.sink.version += 1
        else:
            self.sink.publish(alerts)
        return alerts

    def toggle_mute(self) -> bool:
        """Mute or unmute the bell, notifications and webhook (alerts are still logged)."""
        self.muted = not self.muted
        return self.muted

    def webhook_job(self) -> Coroutine[Any, Any, None] | None:
        """The webhook sender to run as a worker, or ``None`` when no webhook is configured."""
        webhook = self.sink.webhook
        return webhook.run() if webhook is not None else None

