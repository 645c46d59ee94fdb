"""Shared helpers for the simulator tests: quiet params and replay into engine books."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Event
from tapescope.feeds.sim import EpisodeParams, SimParams

#: Episodes off: tests inject exactly what they check.
QUIET = EpisodeParams(
    wall_per_hour=0.0,
    spoof_per_hour=0.0,
    iceberg_per_hour=0.0,
    absorption_per_hour=0.0,
    vacuum_per_hour=0.0,
)


def quiet_params(*symbols: str, **kw) -> SimParams:
    """Params for ``symbols`` with random episodes off."""
    return SimParams(symbols=tuple(symbols), episodes=QUIET, **kw)


def replay(
    events: Iterable[Event], key: str, book: Book | None = None
) -> Iterator[tuple[Event, Book]]:
    """Apply one market's events to an engine Book, yielding ``(event, book)`` after each.

    Trades leave the book unchanged; snapshots and deltas are applied before
    the yield. ``book`` resumes from a checkpoint (it is mutated).
    """
    book = book if book is not None else Book()
    for ev in events:
        if ev.symbol != key:
            continue
        t = type(ev)
        if t is BookSnapshot:
            book.apply_snapshot(ev.bids, ev.asks, ev.seq)
        elif t is BookDelta:
            book.apply_delta(ev.bids, ev.asks, ev.seq)
        yield ev, book


@pytest.fixture(scope="session")
def quiet():
    """:func:`quiet_params` as a fixture (test modules cannot import conftest)."""
    return quiet_params


@pytest.fixture(scope="session")
def replayer():
    """:func:`replay` as a fixture."""
    return replay
