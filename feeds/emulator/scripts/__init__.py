"""Per-venue scripts and dialects of the loopback exchange.

:func:`dialect_for` maps a venue id to the server-side dialect class.
"""

from __future__ import annotations

from tapescope.feeds.emulator.scripts.base import Dialect


def dialect_for(venue: str) -> type[Dialect]:
    """The dialect class serving ``venue``.

    Raises:
        KeyError: the emulator does not speak this venue.
    """
    from tapescope.feeds.emulator.scripts.binance import BinanceDialect
    from tapescope.feeds.emulator.scripts.bybit import BybitDialect
    from tapescope.feeds.emulator.scripts.coinbase import CoinbaseDialect
    from tapescope.feeds.emulator.scripts.kraken import KrakenDialect
    from tapescope.feeds.emulator.scripts.okx import OkxDialect

    dialects: list[type[Dialect]] = [BinanceDialect, BybitDialect, OkxDialect, KrakenDialect, CoinbaseDialect]
    for cls in dialects:
        if venue in cls.venues:
            return cls
    known = sorted(v for cls in dialects for v in cls.venues)
    raise KeyError(f"the emulator does not speak {venue!r}; it speaks {', '.join(known)}")
