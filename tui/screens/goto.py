"""Go-to-time box for replays: a small modal with one Input.

The user types a time in any form :func:`~tapescope.tui.replay_time.parse_time`
accepts (``+90s``, ``12:34:56``, ``2024-08-08T12:34:56``, UTC). Enter seeks
there (the screen dismisses with the receive time in ns, clamped by the
caller); a time the parser refuses, or one outside the recording, is shown
under the input and the box stays open. Escape closes with ``None``.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tapescope.tui.replay_time import fmt_utc, parse_time


class GoToTime(ModalScreen[int | None]):
    """Ask for a time inside a recording."""

    DEFAULT_CSS = """
    GoToTime {
        align: center middle;
        & > #goto {
            width: 64;
            max-width: 95%;
            height: auto;
            border: round $primary;
            background: $surface;
            padding: 0 1;
        }
        & #goto-hint { color: $foreground-muted; }
        & #goto-error { color: $error; }
    }
    """

    BINDINGS = [
        Binding("escape", "dismiss_none", "Close", id="goto_close",
                tooltip="Close without seeking."),
    ]

    def __init__(self, start_ns: int, end_ns: int, position_ns: int) -> None:
        """A box for a recording spanning ``start_ns..end_ns``, now at ``position_ns``."""
        super().__init__()
        self.start_ns = start_ns
        """First receive time of the recording."""
        self.end_ns = end_ns
        """Last receive time of the recording."""
        self.position_ns = position_ns
        """Where the replay is now."""

    def compose(self) -> ComposeResult:
        with Vertical(id="goto") as box:
            box.border_title = "Go to time (UTC)"
            yield Input(placeholder="+90s, 12:34:56 or 2024-08-08T12:34:56", id="goto-input")
            # Two lines: the range alone takes 52 of the box's 60 columns.
            yield Static(f"{fmt_utc(self.start_ns)} .. {fmt_utc(self.end_ns)}\nnow {fmt_utc(self.position_ns)}",
                         id="goto-hint")
            yield Static("", id="goto-error")

    @on(Input.Submitted, "#goto-input")
    def _submit(self, event: Input.Submitted) -> None:
        error = self.query_one("#goto-error", Static)
        try:
            t = parse_time(event.value, self.start_ns)
        except ValueError as exc:
            error.update(str(exc))
            return
        if not self.start_ns <= t <= self.end_ns:
            error.update(f"{fmt_utc(t)} is outside the recording")
            return
        self.dismiss(t)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
