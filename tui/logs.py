"""Logging setup: the TUI logs to Textual's devtools console and to a file in the log dir.

Headless commands (``config``, ``locate``) log to stderr instead.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from textual.logging import TextualHandler

#: Format of file and stderr log lines.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_tui_logging(level: str, path: Path) -> Path | None:
    """Send ``tapescope`` logs to the Textual console and to ``path``.

    Args:
        level: Level name (``"INFO"``...).
        path: Log file; its directory is created. When it cannot be opened the
            file handler is skipped (logging must never stop the UI).

    Returns:
        The log file in use, or ``None`` when it could not be opened.
    """
    root = logging.getLogger("tapescope")
    root.setLevel(level)
    root.handlers.clear()
    root.addHandler(TextualHandler())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    return path


def configure_stderr_logging(level: str = "WARNING") -> None:
    """Headless logging: ``tapescope`` logs go to stderr."""
    root = logging.getLogger("tapescope")
    root.setLevel(level)
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
