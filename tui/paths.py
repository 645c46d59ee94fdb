"""Where tapescope keeps its files: config, data (recordings) and logs (platformdirs)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from tapescope.tui.config import user_config_file

#: Application name used for every platform directory.
APP_NAME = "tapescope"


def config_file() -> Path:
    """The user config file (it need not exist)."""
    return user_config_file()


def data_dir() -> Path:
    """Directory for recordings and other data."""
    return platformdirs.user_data_path(APP_NAME)


def log_dir() -> Path:
    """Directory of the log file."""
    return platformdirs.user_log_path(APP_NAME)


def log_file() -> Path:
    """The log file the TUI writes."""
    return log_dir() / "tapescope.log"
