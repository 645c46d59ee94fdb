"""Cadence limiter for widget redraws: at most one redraw per interval, the latest data wins.

Terminal bytes are a budget (architecture.md rule 4): a panel that scrolls
(the tape) or whose numbers jitter (the readouts) would rewrite its lines at
the full frame rate. :class:`Throttle` lets such a widget accept new data at
every frame but redraw at most once per ``interval`` seconds: the first
change after a quiet period is drawn at once (leading edge, so nothing feels
late), later changes inside the interval are coalesced into one redraw at
its end (trailing edge, so the last data is always shown).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.timer import Timer
from textual.widget import Widget


class Throttle:
    """Leading- and trailing-edge rate limiter bound to one widget's timers.

    Args:
        widget: Owner; its ``set_timer`` schedules the trailing redraw.
        action: The redraw to run (reads the widget's latest data when it runs).
        interval: Minimum seconds between two runs of ``action``; 0 runs it on every call.
        clock: Monotonic clock in seconds (tests inject one).
    """

    def __init__(self, widget: Widget, action: Callable[[], None], interval: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._widget = widget
        self._action = action
        self.interval = interval
        """Minimum seconds between two runs (0: no limit)."""
        self._clock = clock
        self._last = -float("inf")
        self._timer: Timer | None = None

    @property
    def pending(self) -> bool:
        """A trailing run is scheduled."""
        return self._timer is not None

    def __call__(self) -> None:
        """Run the action now if the interval has passed, else once at its end. O(1)."""
        if self._timer is not None:
            return  # the scheduled run will read the latest data
        now = self._clock()
        wait = self._last + self.interval - now
        if self.interval <= 0 or wait <= 0 or not self._widget.is_mounted:
            self._run(now)
            return
        self._timer = self._widget.set_timer(wait, self._fire, name="throttle")

    def flush(self) -> None:
        """Run a pending trailing action now (e.g. before a forced full repaint)."""
        if self._timer is not None:
            self._timer.stop()
            self._fire()

    def reset(self) -> None:
        """Forget the last run: the next call runs at once (e.g. the data source changed)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._last = -float("inf")

    def _fire(self) -> None:
        self._timer = None
        self._run(self._clock())

    def _run(self, now: float) -> None:
        self._last = now
        self._action()


class ThrottledRedraw:
    """Mixin for widgets that redraw through a :class:`Throttle` kept in ``self._throttle``.

    Gives them the ``redraw_interval`` setting and ``reset_cadence()``.
    """

    _throttle: Throttle

    @property
    def redraw_interval(self) -> float:
        """Minimum seconds between two redraws for new data (0: every assignment)."""
        return self._throttle.interval

    @redraw_interval.setter
    def redraw_interval(self, seconds: float) -> None:
        self._throttle.interval = max(0.0, float(seconds))

    def reset_cadence(self) -> None:
        """Draw the next assignment at once (call when the data switches to another market)."""
        self._throttle.reset()
