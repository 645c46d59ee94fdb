"""Status bar: feed, focused market, book state badge, message rate, latency, frame rate (measured/in force, idle or ssh), clock.

A one-line dumb renderer of a :class:`StatusView`; it refreshes only when the
rendered text changes (rates are rounded to a few digits so it rarely does).

| Component class | Used for |
|---|---|
| ``status-bar--live`` | the state badge of a ``LIVE`` book |
| ``status-bar--alert`` | the state badge of any other state |
| ``status-bar--dim`` | separators and units |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive

from tapescope.engine.events import FeedState
from tapescope.widgets.format import MISSING, fmt_size
from tapescope.widgets.tone_line import ToneLine


@dataclass(frozen=True, slots=True)
class StatusView:
    """What the status bar shows."""

    feed: str = ""
    """Feed name (``sim``, ``binance-usdm``...)."""
    market: str = ""
    """Focused market key."""
    state: FeedState = FeedState.CONNECTING
    """Book state of the focused market."""
    msg_rate: float = math.nan
    """Messages per second, all markets."""
    latency_ms: float = math.nan
    """Event-to-screen latency of the last frame, ms."""
    fps: float = math.nan
    """Frames drawn per second, measured."""
    clock: str = ""
    """Venue time of the focused market's last event, with its zone."""
    fps_target: float = math.nan
    """Rate of the frame timer in force (NaN: not shown)."""
    fps_mode: str = ""
    """Why that rate: ``"idle"``, ``"ssh"`` or ``""`` (full local rate)."""


def status_parts(view: StatusView, width: int | None = None) -> list[tuple[str, str]]:
    """The bar as ``(text, tone)`` parts; tone is ``""``, ``"live"``, ``"alert"`` or ``"dim"``.

    When the bar would not fit ``width`` cells it drops, in turn, the feed name
    (the market key names its venue too) and the frame timer's rate, so the
    state badge and the clock stay whole on an 80-column terminal.

    >>> v = StatusView("sim", "sim:BTC-SIM", FeedState.LIVE, 1234.0, 2.345, 9.96, "12:00:00 UTC")
    >>> "".join(t for t, _ in status_parts(v))
    ' sim │ sim:BTC-SIM │  LIVE  │ 1.23k msg/s │ lat 2.3ms │ 10.0 fps │ 12:00:00 UTC'
    >>> v = StatusView("sim", "sim:BTC-SIM", FeedState.LIVE, 1234.0, 2.345, 0.0, "", 1.0, "idle")
    >>> "".join(t for t, _ in status_parts(v))
    ' sim │ sim:BTC-SIM │  LIVE  │ 1.23k msg/s │ lat 2.3ms │ 0.0/1 fps idle'
    >>> "".join(t for t, _ in status_parts(v, width=60))
    ' sim:BTC-SIM │  LIVE  │ 1.23k msg/s │ lat 2.3ms │ 0.0 fps'
    """
    full = _parts(view, feed=True, target=True)
    if width is None or _length(full) <= width:
        return full
    short = _parts(view, feed=False, target=True)
    if _length(short) <= width:
        return short
    return _parts(view, feed=False, target=False)


def _length(parts: list[tuple[str, str]]) -> int:
    return sum(len(t) for t, _ in parts)


def _parts(view: StatusView, feed: bool, target: bool) -> list[tuple[str, str]]:
    sep = (" │ ", "dim")
    live = view.state == FeedState.LIVE
    latency = MISSING if not math.isfinite(view.latency_ms) else (
        f"{view.latency_ms:.1f}ms" if view.latency_ms < 100 else f"{view.latency_ms / 1000:.2f}s")
    fps = MISSING if not math.isfinite(view.fps) else f"{view.fps:.1f}"
    rate = MISSING if not math.isfinite(view.msg_rate) else fmt_size(view.msg_rate, 3)
    head = [(" " + view.feed, ""), sep, (view.market, "")] if feed else [(" " + view.market, "")]
    parts = [
        *head, sep,
        (f" {view.state.name} ", "live" if live else "alert"), sep,
        (rate, ""), (" msg/s", "dim"), sep,
        ("lat ", "dim"), (latency, ""), sep,
        (fps, ""),
    ]
    if target and math.isfinite(view.fps_target):
        parts.append((f"/{view.fps_target:g}", "dim"))
    parts.append((" fps", "dim"))
    if target and view.fps_mode:
        parts.append((" " + view.fps_mode, "dim"))
    if view.clock:
        parts += [sep, (view.clock, "")]
    return parts


class StatusBar(ToneLine):
    """One-line status of the feed and the focused market."""

    TONE_PREFIX = "status-bar"

    COMPONENT_CLASSES = {"status-bar--live", "status-bar--alert", "status-bar--dim"}

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        & > .status-bar--live { color: $bid; text-style: bold reverse; }
        & > .status-bar--alert { color: $alert; text-style: bold reverse; }
        & > .status-bar--dim { color: $foreground-muted; }
    }
    """

    view: reactive[StatusView] = reactive(StatusView, repaint=False)
    """What to show."""

    def watch_view(self, view: StatusView) -> None:
        self.show_parts(status_parts(view))

    def render(self) -> Text:
        # The width decides which parts fit, so the parts are rebuilt for it here;
        # the cached width-free parts only decide whether to repaint.
        return self.tone_text(status_parts(self.view, self.size.width) if self._parts else (), "ellipsis")
