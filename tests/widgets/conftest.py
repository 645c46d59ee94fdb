"""A minimal host App for mounting one widget with tapescope's themes, and a line-text reader."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget

from tapescope.themes import THEMES, market_variable_defaults


class Host(App[None]):
    """Mounts one widget filling the screen, with the tapescope-dark theme."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = "tapescope-dark"

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return market_variable_defaults()

    def compose(self) -> ComposeResult:
        yield self.widget


@pytest.fixture
def host():
    """Factory: ``host(widget)`` -> an App hosting it."""
    return Host


def strip_text(widget: Widget, y: int) -> str:
    """Plain text of line ``y``."""
    return "".join(seg.text for seg in widget.render_line(y))


@pytest.fixture
def line_text():
    """Factory: ``line_text(widget, y)`` -> the plain text of a line-API widget's line ``y``."""
    return strip_text
