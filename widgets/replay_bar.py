"""Replay control bar: play state, speed, session clock and a progress bar over the recording.

A one-line dumb renderer of a :class:`ReplayView` (the App builds one per
frame from the replay feed); it repaints only when the rendered parts change,
which the whole-cell progress bar and the one-second clock keep to about
once a second at normal speed.

| Component class | Used for |
|---|---|
| ``replay-bar--state`` | the play/pause/end badge while playing |
| ``replay-bar--paused`` | the badge while paused or at the end |
| ``replay-bar--played`` | the played part of the progress bar |
| ``replay-bar--rest`` | the rest of the progress bar |
| ``replay-bar--dim`` | separators and units |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual.reactive import reactive

from tapescope.widgets.tone_line import ToneLine

#: Nanoseconds per second.
NS_PER_S = 1_000_000_000


def fmt_clock(ns: int) -> str:
    """Time of day ``HH:MM:SS`` UTC.

    >>> fmt_clock(1_723_120_496_250_000_000)
    '12:34:56'
    """
    return datetime.fromtimestamp(ns // NS_PER_S, UTC).strftime("%H:%M:%S")


def fmt_span(ns: int) -> str:
    """A duration as ``H:MM:SS`` (``M:SS`` under an hour); negative spans get a sign.

    >>> fmt_span(345 * NS_PER_S), fmt_span(3725 * NS_PER_S), fmt_span(-5 * NS_PER_S)
    ('5:45', '1:02:05', '-0:05')
    """
    sign = "-" if ns < 0 else ""
    total = abs(ns) // NS_PER_S
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}" if h else f"{sign}{m}:{s:02d}"


@dataclass(frozen=True, slots=True)
class ReplayView:
    """What the replay bar shows."""

    position_ns: int = 0
    """Receive time reached, ns."""
    start_ns: int = 0
    """First receive time of the recording, ns."""
    end_ns: int = 0
    """Last receive time of the recording, ns."""
    speed: float = 1.0
    """Playback speed (0 = as fast as possible)."""
    paused: bool = False
    """Playback is paused."""
    finished: bool = False
    """The end of the recording was reached."""

    @property
    def fraction(self) -> float:
        """Share of the recording played, in [0, 1]."""
        span = self.end_ns - self.start_ns
        if span <= 0:
            return 1.0 if self.finished else 0.0
        return min(max((self.position_ns - self.start_ns) / span, 0.0), 1.0)


def fmt_speed(speed: float) -> str:
    """Speed label: ``MAX`` for unpaced, else ``0.25x``, ``1x``, ``100x``.

    >>> fmt_speed(0), fmt_speed(0.25), fmt_speed(1.0), fmt_speed(100)
    ('MAX', '0.25x', '1x', '100x')
    """
    return "MAX" if speed <= 0 else f"{speed:g}x"


def replay_parts(view: ReplayView, width: int) -> list[tuple[str, str]]:
    """The bar as ``(text, tone)`` parts filling ``width`` cells (the progress bar takes the rest).

    Tones: ``"state"``, ``"paused"``, ``"played"``, ``"rest"``, ``"dim"`` or ``""``.

    >>> t0 = 1_723_161_255_000_000_000
    >>> v = ReplayView(t0 + 60 * 10**9, t0, t0 + 240 * 10**9, 4.0, False, False)
    >>> "".join(t for t, _ in replay_parts(v, 60))
    ' ▶ PLAY  4x │ 23:55:15 UTC ━━━━━──────────────── 1:00 / 4:00'
    >>> v = ReplayView(t0, t0, t0 + 240 * 10**9, 0.0, True, False)
    >>> "".join(t for t, _ in replay_parts(v, 50))
    ' ⏸ PAUSED  MAX │ 23:54:15 UTC ──────── 0:00 / 4:00'
    """
    if view.finished:
        badge, tone = " ■ END ", "paused"
    elif view.paused:
        badge, tone = " ⏸ PAUSED ", "paused"
    else:
        badge, tone = " ▶ PLAY ", "state"
    span = max(view.end_ns - view.start_ns, 0)
    elapsed = min(max(view.position_ns - view.start_ns, 0), span)
    head = [(badge, tone), (" " + fmt_speed(view.speed), ""), (" │ ", "dim"),
            (fmt_clock(view.position_ns), ""), (" UTC ", "dim")]
    tail = [(" " + fmt_span(elapsed), ""), (" / " + fmt_span(span), "dim")]
    used = sum(len(t) for t, _ in head) + sum(len(t) for t, _ in tail)
    bar = max(width - used, 0)
    played = round(view.fraction * bar)
    parts = head
    if played:
        parts.append(("━" * played, "played"))
    if bar - played:
        parts.append(("─" * (bar - played), "rest"))
    return parts + tail


class ReplayBar(ToneLine):
    """One-line replay controls readout (state, speed, clock, progress)."""

    TONE_PREFIX = "replay-bar"

    COMPONENT_CLASSES = {
        "replay-bar--state", "replay-bar--paused", "replay-bar--played", "replay-bar--rest",
        "replay-bar--dim",
    }

    DEFAULT_CSS = """
    ReplayBar {
        height: 1;
        background: $panel;
        & > .replay-bar--state { color: $primary; text-style: bold reverse; }
        & > .replay-bar--paused { color: $alert; text-style: bold reverse; }
        & > .replay-bar--played { color: $primary; }
        & > .replay-bar--rest { color: $foreground-muted; }
        & > .replay-bar--dim { color: $foreground-muted; }
    }
    """

    view: reactive[ReplayView] = reactive(ReplayView, repaint=False)
    """What to show."""

    def watch_view(self, view: ReplayView) -> None:
        self.show_parts(replay_parts(view, self.size.width))

    def on_resize(self) -> None:
        self.show_parts(replay_parts(self.view, self.size.width))

    def render(self) -> Text:
        return self.tone_text(self._parts, "crop")
