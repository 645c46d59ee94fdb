"""Settings of the live connection layer, its retry policy and its clock.

Provides :class:`VenuesSettings` (the ``[venues]`` top-level keys of
``config.toml``), :class:`VenueEndpoint` (per-venue URL overrides, e.g. to
point a venue at the loopback emulator), :class:`Backoff` (exponential
backoff with jitter, deterministic when seeded) and :func:`now_ns`, the local
receive clock of every live feed.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

#: Offset that turns the monotonic clock into Unix-epoch nanoseconds. Taken
#: once at import so receive times never jump when NTP steps the wall clock.
_EPOCH_OFFSET_NS = time.time_ns() - time.monotonic_ns()


def now_ns() -> int:
    """Local receive time: Unix-epoch ns anchored on the monotonic clock.

    Returns:
        Nanoseconds since the epoch, never going backwards within a process.
    """
    return time.monotonic_ns() + _EPOCH_OFFSET_NS


def retry_reason(reason: str, retry_ns: int) -> str:
    """``reason`` with the absolute UTC time of the next attempt (stays true while shown).

    >>> retry_reason("unreachable", 1_700_000_000_000_000_000)
    'unreachable; retry at 22:13:20 UTC'
    """
    return f"{reason}; retry at {time.strftime('%H:%M:%S', time.gmtime(retry_ns / 1e9))} UTC"


@dataclass(frozen=True, slots=True)
class VenuesSettings:
    """``[venues]``: default venue, watchlist and the live layer's retry and timeout policy."""

    default_venue: str = field(
        default="binance-usdm",
        metadata={"choices": ["binance-usdm", "binance-spot", "bybit-linear", "bybit-spot", "okx", "kraken", "coinbase"]},
    )
    """Venue of watchlist entries written without a ``venue:`` prefix."""
    watchlist: tuple[str, ...] = (
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
        "XRPUSDT",
        "DOGEUSDT",
        "BNBUSDT",
    )
    """Markets to watch, ``SYMBOL`` (default venue) or ``venue:SYMBOL``; the first is focused."""
    backoff_base_s: float = field(default=0.5, metadata={"min": 0.01, "max": 60.0})
    """First reconnect delay, seconds; each further failed attempt doubles it."""
    backoff_max_s: float = field(default=30.0, metadata={"min": 0.1, "max": 600.0})
    """Longest reconnect (and snapshot retry) delay, seconds."""
    backoff_jitter: float = field(default=0.25, metadata={"min": 0.0, "max": 1.0})
    """Fraction of each delay that is randomised away, so many clients do not retry in lockstep."""
    stall_timeout_s: float = field(default=0.0, metadata={"min": 0.0, "max": 600.0})
    """Seconds without any frame before a connection counts as stalled and is reopened; 0 uses each venue's own limit."""
    connect_timeout_s: float = field(default=10.0, metadata={"min": 0.1, "max": 120.0})
    """Longest wait for the websocket opening handshake, seconds."""
    rest_timeout_s: float = field(default=10.0, metadata={"min": 0.1, "max": 120.0})
    """Longest wait for one REST book snapshot request, seconds."""
    rest_min_interval_s: float = field(default=0.25, metadata={"min": 0.0, "max": 60.0})
    """Least time between two REST requests to the same venue (its request-weight limit), seconds."""
    ws_ping_interval_s: float = field(default=20.0, metadata={"min": 1.0, "max": 300.0})
    """Seconds between websocket protocol pings the client sends (the venue answers with pongs)."""


@dataclass(frozen=True, slots=True)
class VenueEndpoint:
    """Per-venue overrides of a protocol's defaults (``[venues.<id>]`` tables; tests use loopback URLs)."""

    ws_url: str = ""
    """Websocket base URL; empty uses the protocol's ``ws_url``."""
    rest_url: str = ""
    """REST base URL; empty uses the protocol's ``rest_url``."""
    max_symbols_per_connection: int = field(default=0, metadata={"min": 0, "max": 1024})
    """Symbols per connection; 0 uses the protocol's limit."""


class Backoff:
    """Exponential backoff with jitter: ``min(max, base * 2**attempt)`` shortened by up to ``jitter``.

    Deterministic for a given seed, so tests can assert exact delays.

    >>> b = Backoff(0.5, 4.0, 0.0)
    >>> [b.delay(a) for a in range(5)]
    [0.5, 1.0, 2.0, 4.0, 4.0]
    >>> j = Backoff(1.0, 8.0, 0.5, seed=1)
    >>> all(0.5 * 2**a <= j.delay(a) <= 2**a for a in range(3))
    True
    """

    __slots__ = ("base", "max", "jitter", "_rng")

    def __init__(self, base: float, max_delay: float, jitter: float, seed: int | None = None) -> None:
        self.base = base
        """First delay, seconds."""
        self.max = max_delay
        """Cap, seconds."""
        self.jitter = jitter
        """Fraction of the delay that may be removed at random."""
        self._rng = random.Random(seed)

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0 for the first retry).

        Args:
            attempt: How many retries already failed in a row.

        Returns:
            Seconds to wait, in ``[d * (1 - jitter), d]`` with ``d = min(max, base * 2**attempt)``.
        """
        d = min(self.max, self.base * (2.0 ** min(attempt, 62)))
        return d * (1.0 - self.jitter * self._rng.random())

    @classmethod
    def from_settings(cls, settings: VenuesSettings, seed: int | None = None) -> Backoff:
        """A backoff with the settings' base, cap and jitter."""
        return cls(settings.backoff_base_s, settings.backoff_max_s, settings.backoff_jitter, seed)
