"""App-side alerts: webhook against a real aiohttp server on 127.0.0.1, sink, every-market scan."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from aiohttp import web
from textual.app import App, ComposeResult

from tapescope.engine.alerts import Alert, AlertEngine, AlertRule, RuleKind, Severity
from tapescope.engine.analysis import MarketAnalysis
from tapescope.engine.detectors.base import DetectorEvent, DetectorKind
from tapescope.engine.events import BookSnapshot, StatusChange
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.tui.alerts import (
    AlertSettings,
    AlertSink,
    WebhookPoster,
    WebhookSettings,
    default_rules,
    scan_markets,
)
from tapescope.widgets.alert_log import AlertLog

S = 1_000_000_000


def alert(n: int = 0, sev: Severity = Severity.WARNING) -> Alert:
    return Alert(f"sim:X{n}", n * S, "spread > 5bp", RuleKind.SPREAD, sev, f"spread {n}bp", 0, 100.0)


class Server:
    """A webhook receiver: answers each POST with the next planned status (or hangs)."""

    def __init__(self) -> None:
        self.plan: list[int | str] = []
        self.bodies: list[dict] = []
        self.times: list[float] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handler(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        self.times.append(time.monotonic())
        action = self.plan.pop(0) if self.plan else 200
        if action == "limited":
            return web.Response(status=429, headers={"Retry-After": "4"})
        if action == "hang":
            await asyncio.sleep(2.0)
            return web.Response(status=200)
        return web.Response(status=int(action))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handler)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def server():
    srv = Server()
    await srv.start()
    yield srv
    await srv.stop()


class Sleeps:
    """Records retry delays instead of sleeping them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


async def test_webhook_retries_5xx_with_exponential_backoff(server) -> None:
    server.plan = [500, 503, 200]
    sleeps = Sleeps()
    poster = WebhookPoster(WebhookSettings(url=server.url, retries=3, backoff_s=0.5,
                                           backoff_max_s=0.8), sleep=sleeps)
    poster.start()
    poster.submit(alert(7))
    await asyncio.wait_for(poster.join(), 5)
    await poster.close()
    assert (poster.attempts, poster.sent, poster.failed) == (3, 1, 0)
    assert sleeps.delays == [0.5, 0.8]  # 0.5 * 2 = 1.0 capped at 0.8
    want = {"text": "[warning] sim:X7 spread > 5bp: spread 7bp",
            "alert": {"key": "sim:X7", "ts": 7 * S, "rule": "spread > 5bp", "kind": "spread",
                      "severity": "warning", "message": "spread 7bp", "direction": 0,
                      "price": 100.0}}
    assert server.bodies == [want] * 3


async def test_webhook_honours_retry_after_within_the_cap(server) -> None:
    server.plan = ["limited", "limited", 200]
    sleeps = Sleeps()
    poster = WebhookPoster(WebhookSettings(url=server.url, retries=3, backoff_s=1.0,
                                           backoff_max_s=3.0), sleep=sleeps)
    poster.start()
    poster.submit(alert(5))
    await asyncio.wait_for(poster.join(), 5)
    await poster.close()
    # 429 asks for 4 s: more than the 1 s / 2 s backoff, capped at 3 s.
    assert sleeps.delays == [3.0, 3.0] and (poster.attempts, poster.sent) == (3, 1)


async def test_webhook_gives_up_after_the_last_retry_and_on_4xx(server) -> None:
    server.plan = [500, 500, 500, 400]
    sleeps = Sleeps()
    poster = WebhookPoster(WebhookSettings(url=server.url, retries=2, backoff_s=1.0), sleep=sleeps)
    poster.start()
    poster.submit(alert(1))  # 500, 500, 500: three attempts, two waits, then give up
    poster.submit(alert(2))  # 400: permanent, no retry
    await asyncio.wait_for(poster.join(), 5)
    await poster.close()
    assert (poster.attempts, poster.sent, poster.failed) == (4, 0, 2)
    assert sleeps.delays == [1.0, 2.0] and poster.last_error == "HTTP 400"


async def test_webhook_timeout_is_retried_and_never_blocks_the_loop(server) -> None:
    server.plan = ["hang", 200]
    poster = WebhookPoster(WebhookSettings(url=server.url, timeout_s=0.2, retries=1, backoff_s=0.05))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    tick_task = asyncio.create_task(ticker())
    poster.start()
    t0 = time.monotonic()
    poster.submit(alert(3))  # returns at once
    assert time.monotonic() - t0 < 0.01
    await asyncio.wait_for(poster.join(), 5)
    elapsed = time.monotonic() - t0
    tick_task.cancel()
    await poster.close()
    assert (poster.attempts, poster.sent) == (2, 1)
    # Timed out after ~0.2 s (not the server's 2 s), waited 0.05 s, then succeeded.
    assert 0.2 <= elapsed < 1.0
    assert server.times[1] - server.times[0] >= 0.25 - 0.02
    # The loop kept running meanwhile (a frame timer would have fired): ~25 ticks of 10 ms.
    assert ticks >= 10


async def test_full_queue_drops_the_oldest(server) -> None:
    poster = WebhookPoster(WebhookSettings(url=server.url, queue=2))
    for n in range(5):
        poster.submit(alert(n))  # nothing runs yet: only the last two stay queued
    assert poster.dropped == 3
    poster.start()
    await asyncio.wait_for(poster.join(), 5)
    await poster.close()
    assert [b["alert"]["key"] for b in server.bodies] == ["sim:X3", "sim:X4"]


def test_webhook_off_by_default_and_url_checked() -> None:
    settings = AlertSettings()
    assert settings.webhook.url == "" and AlertSink(settings).webhook is None
    with pytest.raises(ValueError, match="must start with http"):
        WebhookSettings(url="ftp://example.invalid/hook")


async def test_sink_sends_only_severe_enough_alerts(server) -> None:
    settings = replace(AlertSettings(), webhook=WebhookSettings(url=server.url,
                                                                min_severity=Severity.WARNING))
    sink = AlertSink(settings)
    assert sink.webhook is not None
    sink.webhook.start()
    sink.publish([alert(1, Severity.INFO), alert(2, Severity.CRITICAL)])
    await asyncio.wait_for(sink.webhook.join(), 5)
    await sink.webhook.close()
    assert [b["alert"]["key"] for b in server.bodies] == ["sim:X2"]


def test_sink_bell_notifications_and_log() -> None:
    bells: list[int] = []
    notes: list[tuple[str, str, str]] = []

    def notify(message: str, *, title: str = "", severity: str = "information",
               timeout: float | None = None) -> None:
        notes.append((message, title, severity))

    settings = replace(AlertSettings(), max_notifications=2, log_size=10)
    sink = AlertSink(settings, bell=lambda: bells.append(1), notify=notify)
    sink.publish([alert(1, Severity.INFO)])
    assert bells == [] and notes == [("spread 1bp", "X1 · spread > 5bp", "information")]
    sink.publish([alert(n, sev) for n, sev in ((2, Severity.INFO), (3, Severity.WARNING),
                                               (4, Severity.INFO), (5, Severity.CRITICAL))])
    assert bells == [1]  # one bell per round
    assert notes[1:] == [("spread 2bp", "X2 · spread > 5bp", "information"),
                         ("spread 3bp", "X3 · spread > 5bp", "warning"),
                         ("2 more alerts: see the alert log", "Alerts", "error")]
    assert [a.key for a in sink.log] == [f"sim:X{n}" for n in range(1, 6)] and sink.version == 2
    sink.publish([])
    assert sink.version == 2
    for n in range(20):
        sink.publish([alert(n)])
    assert len(sink.log) == 10


def test_scan_evaluates_every_market_and_drains_their_queues() -> None:
    hub = Hub([Instrument("sim", "A"), Instrument("sim", "B")])
    analyses = {k: MarketAnalysis.attach(m) for k, m in hub.markets.items()}
    for k in hub.keys:
        hub.on_event(BookSnapshot(k, 10 * S, 0, [(99.0, 1.0)], [(101.0, 1.0)]))
    spoof = DetectorEvent(DetectorKind.SPOOF, 10 * S, -1, 101.0, 50.0, 0.9, "pulled 50")
    analyses["sim:B"].alerts.append(spoof)
    hub.on_event(StatusChange("sim:A", 0, 0, 5, "socket closed"))  # A disconnected
    engine = AlertEngine(default_rules())
    got = scan_markets(engine, hub, now=100 * S)  # A just went down; B's spoof is fresh
    assert [(a.key, a.kind, a.message) for a in got] == [
        ("sim:B", RuleKind.DETECTOR, "spoof ask 101 size 50 score 0.90: pulled 50")]
    assert len(analyses["sim:B"].alerts) == 0  # drained
    got = scan_markets(engine, hub, now=116 * S)  # 16 s down > 15 s
    assert [(a.key, a.kind, a.message) for a in got] == [
        ("sim:A", RuleKind.FEED, "feed DISCONNECTED for 16s (socket closed)")]
    analyses["sim:B"].alerts.append(replace(spoof, ts=50 * S))  # 40 s later: cooldown (60 s)
    analyses["sim:B"].alerts.append(replace(spoof, ts=70 * S))  # 60 s later: fires
    got = scan_markets(engine, hub, now=117 * S)
    assert [(a.key, a.ts) for a in got] == [("sim:B", 70 * S)] and engine.suppressed == 1


def test_rule_strings_from_config_build_rules() -> None:
    r = AlertRule("price_above", threshold=100.0, markets=("BTCUSDT",))  # type: ignore[arg-type]
    assert r.kind is RuleKind.PRICE_ABOVE and r.label == "price above 100"


class LogApp(App[None]):
    """A host App wiring an AlertSink to a real AlertLog, bell and notifications."""

    def __init__(self) -> None:
        super().__init__()
        self.alert_log = AlertLog()
        self.rang = 0
        self.sink = AlertSink(AlertSettings(), bell=self.ring, notify=self.notify)
        self._version = 0

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {"bid": "#2ea043", "ask": "#f85149", "buy": "#3fb950", "sell": "#ff7b72",
                "alert": "#d29922", "chart-price": "#79c0ff"}

    def compose(self) -> ComposeResult:
        yield self.alert_log

    def ring(self) -> None:
        self.rang += 1
        self.bell()

    def pump(self, alerts: list[Alert]) -> None:
        self.sink.publish(alerts)
        if self.sink.version != self._version:
            self._version = self.sink.version
            self.alert_log.alerts = tuple(self.sink.log)


async def test_sink_in_an_app_notifies_and_fills_the_log() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 5)) as pilot:
        app.pump([alert(1, Severity.CRITICAL)])
        await pilot.pause()
        assert app.rang == 1
        assert [n.message for n in app._notifications] == ["spread 1bp"]
        assert "spread 1bp" in "".join(s.text for s in app.alert_log.render_line(0))


def test_scan_works_on_a_hub_without_markets() -> None:
    from tapescope.engine.events import FeedState
    from tapescope.engine.snapshot import FlowSnapshot, MarketSnapshot

    class Snapshots:
        keys = ["sim:Q"]

        def snapshot(self, key: str, ladder_step_ticks: int = 1, ladder_rows: int = 40):
            return MarketSnapshot(Instrument("sim", "Q"), ts=5 * S, state=FeedState.LIVE,
                                  best_bid=(99.0, 1.0), best_ask=(101.0, 1.0),
                                  flow=FlowSnapshot(spread_bps=200.0))

    engine = AlertEngine([AlertRule(RuleKind.SPREAD, threshold=100.0)])
    got = scan_markets(engine, Snapshots(), now=0)
    assert [(a.key, a.message) for a in got] == [("sim:Q", "spread 200.00bp > 100bp")]
