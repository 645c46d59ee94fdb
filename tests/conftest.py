"""Fixtures shared by every test folder."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo logging set-up done by a command under test.

    ``tapescope record`` and friends attach a stderr handler to the
    ``tapescope`` logger; under pytest that stream is a capture that is closed
    after the test, and a later log line would fail to write to it.
    """
    loggers = [logging.getLogger(), logging.getLogger("tapescope")]
    saved = [(lg, list(lg.handlers), lg.level) for lg in loggers]
    yield
    for lg, handlers, level in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
