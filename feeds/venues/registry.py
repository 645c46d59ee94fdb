"""Venue id -> protocol factory, and parsing of ``venue:SYMBOL`` market keys.

:data:`VENUES` names, per venue id, the module, the protocol class and (for
classes serving several venues, like Bybit's categories) the config class
whose default instance selects the venue. Modules are imported lazily, so a
venue whose adapter fails to import is reported when it is asked for and
never takes the other venues down. Tests and plugins add protocols with
:func:`register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

from tapescope.engine.instrument import parse_market_key
from tapescope.feeds.venues.base import VenueProtocol

#: Venue id -> (module under ``tapescope.feeds.venues``, protocol class, config class or "").
VENUES: dict[str, tuple[str, str, str]] = {
    "binance-usdm": ("binance", "BinanceUsdmProtocol", ""),
    "binance-spot": ("binance", "BinanceSpotProtocol", ""),
    "bybit-linear": ("bybit", "BybitProtocol", "BybitLinearConfig"),
    "bybit-spot": ("bybit", "BybitProtocol", "BybitSpotConfig"),
    "okx": ("okx", "OkxProtocol", ""),
    "kraken": ("kraken", "KrakenProtocol", ""),
    "coinbase": ("coinbase", "CoinbaseProtocol", ""),
}

#: Factories added at run time (tests, plugins): venue id -> ``factory(config) -> protocol``.
_registered: dict[str, Callable[[Any], VenueProtocol]] = {}


def register(venue: str, factory: Callable[[Any], VenueProtocol]) -> None:
    """Make ``venue`` available, built by ``factory(config_or_None)``."""
    _registered[venue] = factory


def venues() -> list[str]:
    """Sorted ids of every known venue."""
    return sorted(set(VENUES) | set(_registered))


def create_protocol(venue: str, config: Any = None) -> VenueProtocol:
    """A fresh protocol instance for a venue id.

    Args:
        venue: Venue id, e.g. ``"okx"``.
        config: The venue's own config dataclass (``[venues.<id>]``), or None for its defaults.

    Raises:
        KeyError: unknown venue (the message lists the known ones).
        ImportError: the venue's adapter module is missing or broken.
    """
    if venue in _registered:
        return _registered[venue](config)
    try:
        modname, clsname, cfgname = VENUES[venue]
    except KeyError:
        raise KeyError(f"unknown venue {venue!r}; known: {', '.join(venues())}") from None
    module = importlib.import_module(f"tapescope.feeds.venues.{modname}")
    cls = getattr(module, clsname)
    if config is None and cfgname:
        config = getattr(module, cfgname)()
    return cls(config) if config is not None else cls()


def parse_watchlist(entries: str | Iterable[str], default_venue: str) -> list[tuple[str, str]]:
    """Parse market keys into ``(venue, symbol)`` pairs, dropping blanks and repeats.

    Args:
        entries: A comma-separated string (``"binance-usdm:BTCUSDT,okx:BTC-USDT-SWAP"``)
            or an iterable of keys; a bare symbol belongs to ``default_venue``.
        default_venue: Venue of bare symbols.

    Returns:
        Pairs in first-seen order.

    Raises:
        ValueError: an entry has an empty venue or symbol, or contains whitespace.

    >>> parse_watchlist("BTCUSDT, okx:BTC-USDT-SWAP,BTCUSDT", "binance-usdm")
    [('binance-usdm', 'BTCUSDT'), ('okx', 'BTC-USDT-SWAP')]
    """
    items = entries.split(",") if isinstance(entries, str) else list(entries)
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for raw in items:
        key = raw.strip()
        if not key:
            continue
        venue, symbol = parse_market_key(key, default_venue)
        if not venue or not symbol or any(c.isspace() for c in key):
            raise ValueError(f"bad market key {key!r}: expected SYMBOL or venue:SYMBOL")
        pair = (venue, symbol)
        if pair not in seen:
            seen.add(pair)
            out.append(pair)
    return out
