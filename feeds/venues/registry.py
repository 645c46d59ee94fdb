"""Venue id -> protocol class, and parsing of ``venue:SYMBOL`` market keys.

The venue protocol modules are discovered rather than listed by class name:
every :class:`~tapescope.feeds.venues.base.VenueProtocol` subclass with a
non-empty ``venue`` found in the modules of :data:`VENUE_MODULES` is
registered under that id. A venue module that fails to import is logged and
skipped, so one broken adapter never takes the others down. Tests and
plugins add protocols with :func:`register`.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Iterable

from tapescope.engine.instrument import parse_market_key
from tapescope.feeds.venues.base import VenueProtocol

log = logging.getLogger(__name__)

#: Modules under ``tapescope.feeds.venues`` that hold venue protocols.
VENUE_MODULES: tuple[str, ...] = (
    "binance",
    "binance_spot",
    "binance_usdm",
    "bybit",
    "okx",
    "kraken",
    "coinbase",
)

_registry: dict[str, type[VenueProtocol]] = {}
_discovered = False


def register(cls: type[VenueProtocol]) -> type[VenueProtocol]:
    """Register a protocol class under its ``venue`` id (usable as a decorator).

    Raises:
        ValueError: the class has no ``venue`` id.
    """
    if not cls.venue:
        raise ValueError(f"{cls.__name__} has no venue id")
    _registry[cls.venue] = cls
    return cls


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for name in VENUE_MODULES:
        modname = f"tapescope.feeds.venues.{name}"
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                log.warning("venue module %s needs a missing module: %s", modname, exc)
            continue
        except Exception:  # a broken adapter must not hide the other venues
            log.exception("venue module %s failed to import", modname)
            continue
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, VenueProtocol) and obj.venue and not inspect.isabstract(obj):
                _registry.setdefault(obj.venue, obj)


def venues() -> list[str]:
    """Sorted ids of every known venue."""
    _discover()
    return sorted(_registry)


def protocol_class(venue: str) -> type[VenueProtocol]:
    """The protocol class for a venue id.

    Raises:
        KeyError: unknown venue (the message lists the known ones).
    """
    _discover()
    try:
        return _registry[venue]
    except KeyError:
        raise KeyError(f"unknown venue {venue!r}; known: {', '.join(sorted(_registry)) or 'none'}") from None


def create_protocol(venue: str) -> VenueProtocol:
    """A fresh protocol instance for a venue id (see :func:`protocol_class`)."""
    return protocol_class(venue)()


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
