"""Alert log: the most recent alerts of every market, newest first, one line each.

A dumb renderer of a tuple of :class:`~tapescope.engine.alerts.Alert`
(oldest first, as the App's alert sink keeps them). Each line shows the time,
the market, a direction arrow and the message coloured by severity, then the
rule's label (cut first when the log is narrow). Appending an alert shifts
every line down by one; nothing changes between alerts, so the log costs no
terminal bytes while it is quiet.

| Component class | Used for |
|---|---|
| ``alert-log--time`` | the time column |
| ``alert-log--market`` | the market symbol |
| ``alert-log--rule`` | the rule label |
| ``alert-log--info`` | messages of info alerts |
| ``alert-log--warning`` | messages of warning alerts |
| ``alert-log--critical`` | messages of critical alerts |
| ``alert-log--up`` | up / long / bid arrows |
| ``alert-log--down`` | down / short / ask arrows |
| ``alert-log--empty`` | the "no alerts" line |
"""

from __future__ import annotations

from textual.reactive import reactive

from tapescope.engine.alerts import Alert
from tapescope.widgets.line_panel import LinePanel, TextLine, clock_text

#: Component class per severity value.
SEVERITY_CLASS = {
    "info": "alert-log--info",
    "warning": "alert-log--warning",
    "critical": "alert-log--critical",
}


def alert_line(alert: Alert, utc: bool = True, show_market: bool = True) -> TextLine:
    """One log line.

    >>> from tapescope.engine.alerts import RuleKind, Severity
    >>> a = Alert("okx:BTC-USDT", 1_700_000_000 * 10**9, "spread > 5bp", RuleKind.SPREAD,
    ...           Severity.WARNING, "spread 7.10bp > 5bp")
    >>> alert_line(a).text
    '22:13:20 BTC-USDT · spread 7.10bp > 5bp · spread > 5bp'
    """
    arrow = {1: ("▲", "alert-log--up"), -1: ("▼", "alert-log--down")}.get(
        alert.direction, ("·", "alert-log--rule"))
    runs: list[tuple[str, str]] = [(clock_text(alert.ts, utc) + " ", "alert-log--time")]
    if show_market:
        runs.append((alert.key.partition(":")[2] or alert.key, "alert-log--market"))
        runs.append((" ", ""))
    # The message names the values that fired; the rule label is secondary, so it goes last
    # (a narrow log cuts it first).
    runs += [arrow, (" ", ""), (alert.message, SEVERITY_CLASS[alert.severity.value]),
             (f" · {alert.rule}", "alert-log--rule")]
    return TextLine(tuple(runs))


class AlertLog(LinePanel):
    """Recent alerts, newest first (see the module docstring)."""

    COMPONENT_CLASSES = {
        "alert-log--time",
        "alert-log--market",
        "alert-log--rule",
        "alert-log--info",
        "alert-log--warning",
        "alert-log--critical",
        "alert-log--up",
        "alert-log--down",
        "alert-log--empty",
    }

    DEFAULT_CSS = """
    AlertLog {
        height: 1fr;
        min-height: 2;
        & > .alert-log--time { color: $foreground-muted; }
        & > .alert-log--market { text-style: bold; }
        & > .alert-log--rule { color: $foreground-muted; }
        & > .alert-log--info { color: $foreground; }
        & > .alert-log--warning { color: $warning; }
        & > .alert-log--critical { color: $error; text-style: bold; }
        & > .alert-log--up { color: $buy; }
        & > .alert-log--down { color: $sell; }
        & > .alert-log--empty { color: $foreground-muted; }
    }
    """

    alerts: reactive[tuple[Alert, ...]] = reactive((), repaint=False)
    """Alerts to show, oldest first (the newest is drawn on top)."""
    utc: reactive[bool] = reactive(True, repaint=False)
    """Times in UTC (else local time)."""
    show_market: reactive[bool] = reactive(True, repaint=False)
    """Show the market column (off when the log is filtered to one market)."""

    def watch_alerts(self) -> None:
        self.rebuild()

    def watch_utc(self) -> None:
        self.rebuild()

    def watch_show_market(self) -> None:
        self.rebuild()

    def build_lines(self, width: int, height: int) -> list[TextLine]:
        alerts = self.alerts
        if not alerts:
            lines = [TextLine()] * height
            if height:
                lines[0] = TextLine((("no alerts", "alert-log--empty"),))
            return lines
        shown = [alert_line(a, self.utc, self.show_market) for a in reversed(alerts[-height:])]
        return shown + [TextLine()] * (height - len(shown))
