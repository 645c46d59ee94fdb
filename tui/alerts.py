"""The App side of alerts: settings, evaluating every market, and announcing what fired.

* :class:`AlertSettings` is the ``[alerts]`` config section: announcement
  switches, the optional webhook (``[alerts.webhook]``) and the rules
  (``[[alerts.rules]]``, :class:`~tapescope.engine.alerts.AlertRule`).
* :func:`scan_markets` evaluates the rules for every market of the hub, not
  only the focused one: it drains each market's ``MarketAnalysis.alerts``
  queue and reads a small snapshot (the same one the watchlist reads).
* :class:`AlertSink` announces alerts: the terminal bell (once per round),
  Textual notifications (a few per round, then one summary), the in-memory
  log the :class:`~tapescope.widgets.alert_log.AlertLog` draws, and the
  webhook.
* :class:`WebhookPoster` POSTs alerts as JSON with aiohttp from a queue, in
  the App's event loop: :meth:`WebhookPoster.submit` never waits, each POST
  has a timeout, failures are retried with exponential backoff, and a full
  queue drops its oldest alert. It is off unless ``[alerts.webhook] url`` is set.

The sink takes the bell and notify callables instead of the App, so it is
testable without one: the App passes ``self.bell`` and ``self.notify``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tapescope.engine.alerts import Alert, AlertEngine, AlertRule, RuleKind, Severity, drain
from tapescope.engine.snapshot import MarketSnapshot

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

#: Severity order, lowest first.
_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
#: Textual notification severity per alert severity.
NOTIFY_SEVERITY = {Severity.INFO: "information", Severity.WARNING: "warning",
                   Severity.CRITICAL: "error"}


def default_rules() -> tuple[AlertRule, ...]:
    """The shipped rules: strong fused score, feed down, manipulation-type detector events."""
    return (
        AlertRule(RuleKind.SCORE, name="", threshold=0.6, cooldown_s=120.0,
                  severity=Severity.WARNING),
        AlertRule(RuleKind.DETECTOR, name="", threshold=0.0,
                  events=("spoof", "iceberg", "absorption", "wall_pulled"), min_score=0.5,
                  cooldown_s=60.0, severity=Severity.INFO),
        AlertRule(RuleKind.FEED, name="", threshold=15.0, cooldown_s=300.0,
                  severity=Severity.CRITICAL),
    )


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Optional webhook for alerts (config section ``[alerts.webhook]``)."""

    url: str = ""
    """http(s) URL alerts are POSTed to as JSON; empty turns the webhook off."""
    min_severity: Severity = Severity.WARNING
    """Lowest severity sent: info, warning or critical."""
    timeout_s: float = field(default=5.0, metadata={"min": 0.1, "max": 120.0})
    """Whole-request timeout of one POST, seconds."""
    retries: int = field(default=3, metadata={"min": 0, "max": 10})
    """Retries after a failed POST (timeouts, connection errors, HTTP 5xx/408/429)."""
    backoff_s: float = field(default=1.0, metadata={"min": 0.01, "max": 60.0})
    """Delay before the first retry; it doubles for each further retry."""
    backoff_max_s: float = field(default=30.0, metadata={"min": 0.01, "max": 600.0})
    """Longest delay between retries; also caps a rate limiter's ``Retry-After``."""
    queue: int = field(default=100, metadata={"min": 1, "max": 10_000})
    """Alerts waiting to be sent; when full the oldest is dropped."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_severity", Severity(self.min_severity))
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must start with http:// or https://, got {self.url!r}")


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Alert evaluation and announcement (config section ``[alerts]``)."""

    enabled: bool = True
    """Evaluate alert rules at all."""
    interval_s: float = field(default=1.0, metadata={"min": 0.1, "max": 60.0})
    """Seconds between evaluations of every market."""
    bell: bool = True
    """Ring the terminal bell (once per evaluation round)."""
    bell_severity: Severity = Severity.WARNING
    """Lowest severity that rings the bell."""
    notify: bool = True
    """Show a Textual notification per alert."""
    notify_timeout_s: float = field(default=6.0, metadata={"min": 0.5, "max": 600.0})
    """Seconds a notification stays up."""
    max_notifications: int = field(default=3, metadata={"min": 1, "max": 50})
    """Notifications per round; more alerts in one round are summarised in one more."""
    log_size: int = field(default=500, metadata={"min": 10, "max": 100_000})
    """Alerts kept in the alert log."""
    rules: tuple[AlertRule, ...] = field(default_factory=default_rules)
    """The rules (``[[alerts.rules]]``); a user file's list replaces this one."""
    # The nested table comes last so flattened key listings (``tapescope config``)
    # keep every plain [alerts] key, rules included, before [alerts.webhook].
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    """Webhook (``[alerts.webhook]``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "bell_severity", Severity(self.bell_severity))
        object.__setattr__(self, "rules", tuple(self.rules))


def at_least(severity: Severity, floor: Severity) -> bool:
    """Whether ``severity`` is ``floor`` or louder.

    >>> at_least(Severity.CRITICAL, Severity.WARNING), at_least(Severity.INFO, Severity.WARNING)
    (True, False)
    """
    return _RANK[severity] >= _RANK[floor]


# --------------------------------------------------------------- evaluation


class _HubLike(Protocol):
    """What the scan needs: keys and snapshots; ``markets`` (with analyses) when it exists."""

    @property
    def keys(self) -> list[str]: ...

    def snapshot(self, key: str, ladder_step_ticks: int = 1, ladder_rows: int = 40) -> MarketSnapshot: ...


def scan_markets(engine: AlertEngine, hub: _HubLike, now: int,
                 snapshot_of: Callable[[str], MarketSnapshot] | None = None,
                 keys: Iterable[str] | None = None) -> list[Alert]:
    """Evaluate every market of ``hub`` (or only ``keys``) once; drain each one's analysis alert queue.

    Args:
        engine: the rules and their state.
        hub: the engine hub (``markets`` and ``snapshot``).
        now: the App's clock, ns (feed rules measure outages on it).
        snapshot_of: where a market's snapshot comes from (the App passes one
            that reuses the focused market's frame snapshot); default: a
            one-row-ladder snapshot, the same the watchlist reads.
        keys: the markets to evaluate, in this order (default: all of
            ``hub.keys``); the App scans a slice per timer tick so no frame
            reads every market's snapshot.

    Returns:
        Every alert raised, market by market in ``keys`` order.

    Runtime complexity: ``O(len(keys))`` snapshot reads plus the drained items.
    """
    out: list[Alert] = []
    # A hub without ``markets`` (a test double, a replay reader) still gets its
    # snapshot rules evaluated; only detector and signal items need the analyses.
    markets: Mapping[str, Any] = getattr(hub, "markets", None) or {}
    for key in (hub.keys if keys is None else keys):
        snap = snapshot_of(key) if snapshot_of is not None else hub.snapshot(key, 1, 1)
        analysis = getattr(markets.get(key), "analysis", None)
        queue = getattr(analysis, "alerts", None)
        items = drain(queue) if queue is not None else []
        out.extend(engine.evaluate(key, snap, items, now))
    return out


# -------------------------------------------------------------------- webhook


def retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` header asks for (delta-seconds form; dates and junk give 0).

    >>> retry_after("3"), retry_after("1.5"), retry_after(None), retry_after("Wed, 21 Oct 2015")
    (3.0, 1.5, 0.0, 0.0)
    """
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0



class WebhookPoster:
    """Sends alerts to a webhook from a bounded queue (see the module docstring)."""

    def __init__(self, settings: WebhookSettings,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        """Create an idle poster; :meth:`run` (or :meth:`start`) sends.

        Args:
            settings: URL, timeout, retries and backoff.
            sleep: awaited between retries (tests record the delays).
        """
        self.settings = settings
        self._sleep = sleep
        self._queue: deque[Alert] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        """Alerts delivered (HTTP 2xx)."""
        self.failed = 0
        """Alerts given up on after the last retry or a permanent HTTP error."""
        self.dropped = 0
        """Alerts dropped because the queue was full."""
        self.attempts = 0
        """POSTs tried."""
        self.last_error = ""
        """Why the last failed attempt failed."""

    def submit(self, alert: Alert) -> None:
        """Queue an alert for sending; never waits. A full queue drops its oldest alert."""
        if len(self._queue) >= self.settings.queue:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(alert)
        self._idle.clear()
        self._wake.set()

    @staticmethod
    def payload(alert: Alert) -> dict[str, Any]:
        """The JSON body: a chat-friendly ``text`` line plus the alert's fields.

        >>> a = Alert("okx:BTC", 1, "spread > 5bp", RuleKind.SPREAD, Severity.WARNING, "spread 7bp")
        >>> WebhookPoster.payload(a)["text"]
        '[warning] okx:BTC spread > 5bp: spread 7bp'
        """
        return {"text": f"[{alert.severity.value}] {alert.key} {alert.rule}: {alert.message}",
                "alert": alert.to_json()}

    async def run(self) -> None:
        """Send queued alerts until cancelled (run it as an App worker or a task)."""
        # Imported here, not at module level: aiohttp costs ~0.2-0.4 s to import and
        # the webhook is off by default, so the dashboard's first frame never waits for it.
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                if not self._queue:
                    self._idle.set()
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                await self._deliver(session, self._queue.popleft())

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` as a task of the running loop (outside an App)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="alert-webhook")
        return self._task

    async def join(self) -> None:
        """Wait until every queued alert was sent or given up on."""
        await self._idle.wait()

    async def close(self) -> None:
        """Stop the task started by :meth:`start` (queued alerts are abandoned)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _deliver(self, session: aiohttp.ClientSession, alert: Alert) -> bool:
        import aiohttp  # already loaded by run(); a dict lookup here

        s = self.settings
        body = self.payload(alert)
        for attempt in range(s.retries + 1):
            self.attempts += 1
            retry = True
            asked = 0.0  # a rate limiter's Retry-After, seconds
            try:
                async with session.post(s.url, json=body) as resp:
                    if 200 <= resp.status < 300:
                        self.sent += 1
                        return True
                    self.last_error = f"HTTP {resp.status}"
                    # Client errors will not heal by retrying, except timeouts and rate limits.
                    retry = resp.status >= 500 or resp.status in (408, 429)
                    asked = retry_after(resp.headers.get("Retry-After"))
            except TimeoutError:
                self.last_error = f"timed out after {s.timeout_s:g}s"
            except aiohttp.ClientError as err:
                self.last_error = f"{type(err).__name__}: {err}"
            if not retry or attempt == s.retries:
                break
            delay = max(s.backoff_s * 2**attempt, asked)
            await self._sleep(min(s.backoff_max_s, delay))
        self.failed += 1
        log.warning("alert webhook gave up on %s %r: %s", alert.key, alert.rule, self.last_error)
        return False


# ----------------------------------------------------------------------- sink


class Notify(Protocol):
    """``App.notify``'s shape."""

    def __call__(self, message: str, *, title: str = "", severity: Any = "information",
                 timeout: float | None = None) -> object: ...


class AlertSink:
    """Announces alerts: bell, notifications, the log, the webhook (see the module docstring)."""

    def __init__(self, settings: AlertSettings, *, bell: Callable[[], object] | None = None,
                 notify: Notify | None = None,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        """Create the sink.

        Args:
            settings: the ``[alerts]`` section.
            bell: rings the terminal bell (``App.bell``).
            notify: shows a notification (``App.notify``).
            sleep: awaited between webhook retries (tests).
        """
        self.settings = settings
        self._bell = bell
        self._notify = notify
        self.log: deque[Alert] = deque(maxlen=settings.log_size)
        """Recent alerts, oldest first (what the alert log draws)."""
        self.version = 0
        """Bumped whenever :attr:`log` changes (skip redrawing the log otherwise)."""
        self.webhook: WebhookPoster | None = (
            WebhookPoster(settings.webhook, sleep) if settings.webhook.url else None
        )
        """The webhook poster, ``None`` when no URL is configured."""

    def publish(self, alerts: Iterable[Alert]) -> None:
        """Announce one round of alerts. Never waits (the webhook only queues).

        A round comes market by market; it is logged in time order so the log
        reads chronologically across markets.
        """
        batch = sorted(alerts, key=lambda a: a.ts)
        if not batch:
            return
        s = self.settings
        self.log.extend(batch)
        self.version += 1
        if self._bell is not None and s.bell and any(at_least(a.severity, s.bell_severity)
                                                     for a in batch):
            self._bell()
        if self._notify is not None and s.notify:
            shown = batch[: s.max_notifications]
            for a in shown:
                symbol = a.key.partition(":")[2] or a.key
                self._notify(a.message, title=f"{symbol} · {a.rule}",
                             severity=NOTIFY_SEVERITY[a.severity], timeout=s.notify_timeout_s)
            rest = len(batch) - len(shown)
            if rest > 0:
                worst = max((a.severity for a in batch[len(shown):]), key=_RANK.__getitem__)
                self._notify(f"{rest} more alert{'s' if rest > 1 else ''}: see the alert log",
                             title="Alerts", severity=NOTIFY_SEVERITY[worst],
                             timeout=s.notify_timeout_s)
        if self.webhook is not None:
            floor = s.webhook.min_severity
            for a in batch:
                if at_least(a.severity, floor):
                    self.webhook.submit(a)
