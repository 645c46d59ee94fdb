"""The App side of the adaptive frame rate, and the counting sink between feed and hub.

:class:`AdaptiveFrames` is mixed into the App: it owns the frame timer, restarts
it whenever :class:`~tapescope.tui.frame_rate.FrameRateGovernor` changes the
rate, sees every key press and click first (``on_event``) to end an idle
period at once, and while idle asks :class:`CountingSink` to report the next
event of the focused market, so a market that wakes up is drawn at the full
rate at once rather than at the next idle frame.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.timer import Timer

from tapescope.engine.events import Event
from tapescope.feeds.base import EventSink
from tapescope.tui.frame_rate import FrameRateGovernor

#: Input events that count as the user being active (they end an idle frame rate).
USER_INPUT = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)


class CountingSink:
    """Forwards a feed's output to the hub and counts events (messages/s in the status bar).

    While the dashboard idles it also watches for the first event of the
    focused market (:meth:`watch`), so a market that wakes up is drawn at the
    full rate at once rather than at the next idle frame.
    """

    __slots__ = ("_hub", "events", "_watch_key", "_on_watched")

    def __init__(self, hub: EventSink) -> None:
        self._hub = hub
        self.events = 0
        """Events delivered so far."""
        self._watch_key: str | None = None
        self._on_watched: Callable[[], None] | None = None

    def on_event(self, event: Event) -> None:
        """Count and forward one event (and fire a pending :meth:`watch`)."""
        self.events += 1
        self._hub.on_event(event)
        # One attribute test per message while nothing is watched.
        if self._watch_key is not None and event.symbol == self._watch_key:
            callback, self._watch_key, self._on_watched = self._on_watched, None, None
            if callback is not None:
                callback()

    def watch(self, key: str, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, on the next event of market ``key`` (replaces a pending watch)."""
        self._watch_key, self._on_watched = key, callback

    def unwatch(self) -> None:
        """Drop a pending :meth:`watch`."""
        self._watch_key = self._on_watched = None

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        """Forward a raw payload."""
        self._hub.on_raw(conn_id, recv_ns, payload)


class AdaptiveFrames:
    """Frame timer at an adaptive rate (mix into the App before ``App``).

    The App sets ``frame_rate``, ``frame_timer = None``, ``sink``, ``focused_key``,
    ``_clock`` and provides ``refresh_frame``; it calls :meth:`_start_frame_timer`
    once the screen is composed, and reports each frame's change to
    ``frame_rate.frame`` (restarting the timer when that returns True).
    """

    frame_rate: FrameRateGovernor
    frame_timer: Timer | None
    sink: CountingSink
    focused_key: str
    ticks: int
    _clock: Callable[[], int]

    def _start_frame_timer(self) -> None:
        """(Re)start the frame timer at the governor's rate and watch the market when idle."""
        if self.frame_timer is not None:
            self.frame_timer.stop()
        self.frame_timer = self.set_interval(1 / self.frame_rate.fps, self._frame_tick, name="frame")
        if self.frame_rate.idle and self.focused_key:
            # call_later: the sink may run in a feed thread; post_message is thread-safe.
            self.sink.watch(self.focused_key, lambda: self.call_later(self._market_woke))
        else:
            self.sink.unwatch()

    def _frame_tick(self) -> None:
        self.ticks += 1
        self.refresh_frame()

    def user_active(self) -> None:
        """A key press or click: back to the full frame rate at once if idle."""
        if self.frame_rate.activity(self._clock()) and self.frame_timer is not None:
            self._start_frame_timer()
            self.call_later(self.refresh_frame)

    def _market_woke(self) -> None:
        if self.frame_rate.activity(self._clock()) and self.frame_timer is not None:
            self._start_frame_timer()
            self.refresh_frame()

    async def on_event(self, event: events.Event) -> None:
        # Input reaches the App first (bindings, then the focused widget): the one
        # place that sees every key and click, whichever screen is on top.
        if isinstance(event, USER_INPUT) and not event.is_forwarded:
            self.user_active()
        await super().on_event(event)
