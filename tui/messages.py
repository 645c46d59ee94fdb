"""App-wide messages (widget-specific ones are nested in their widget classes).

Named in the past tense for things that happened, per style.md section 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class SymbolRequested(Message):
    """Something (a watchlist click, the picker) asked to focus a market."""

    key: str
    """Market key to focus."""


@dataclass
class FeedStopped(Message):
    """The feed's ``run`` returned (source exhausted) or failed."""

    feed: str
    """Feed name."""
    error: str = ""
    """One-line error, empty when the feed simply ended."""
