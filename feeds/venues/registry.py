"""Venue id -> settings dataclass and protocol factory, and ``venue:SYMBOL`` parsing.

The live layer reads a ``[venues.<id>]`` config section into the settings
class and builds **one protocol object per websocket connection** with
:func:`make_protocol` (Coinbase's sequence check is per connection; the
others are cheap, so the rule is uniform). Tests and plugins add venues with
:func:`register`.

>>> make_protocol("okx").venue, make_protocol("bybit-spot").ws_url
('okx', 'wss://stream.bybit.com/v5/public/spot')
>>> settings_class("kraken").__name__
'KrakenConfig'
>>> sorted(VENUES)[:3]
['binance-spot', 'binance-usdm', 'bybit-linear']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tapescope.engine.instrument import parse_market_key
from tapescope.feeds.venues.base import VenueProtocol
from tapescope.feeds.venues.binance import (
    BinanceSpotConfig,
    BinanceSpotProtocol,
    BinanceUsdmConfig,
    BinanceUsdmProtocol,
)
from tapescope.feeds.venues.bybit import BybitLinearConfig, BybitProtocol, BybitSpotConfig
from tapescope.feeds.venues.coinbase import CoinbaseConfig, CoinbaseProtocol
from tapescope.feeds.venues.kraken import KrakenConfig, KrakenProtocol
from tapescope.feeds.venues.okx import OkxConfig, OkxProtocol

#: Venue id -> (settings dataclass, factory taking an instance of it).
VENUES: dict[str, tuple[type, Callable[[Any], VenueProtocol]]] = {
    "binance-usdm": (BinanceUsdmConfig, BinanceUsdmProtocol),
    "binance-spot": (BinanceSpotConfig, BinanceSpotProtocol),
    "bybit-linear": (BybitLinearConfig, BybitProtocol),
    "bybit-spot": (BybitSpotConfig, BybitProtocol),
    "okx": (OkxConfig, OkxProtocol),
    "kraken": (KrakenConfig, KrakenProtocol),
    "coinbase": (CoinbaseConfig, CoinbaseProtocol),
}


def register(venue: str, settings_cls: type, factory: Callable[[Any], VenueProtocol]) -> None:
    """Make ``venue`` available: ``factory(settings_cls_instance)`` builds its protocol."""
    VENUES[venue] = (settings_cls, factory)


def venues() -> list[str]:
    """Sorted ids of every known venue."""
    return sorted(VENUES)


def settings_class(venue: str) -> type:
    """The frozen settings dataclass of ``[venues.<venue>]``.

    Raises:
        KeyError: unknown venue id.
    """
    return VENUES[venue][0]


def make_protocol(venue: str, settings: Any = None) -> VenueProtocol:
    """A fresh protocol object for one connection to ``venue``.

    Args:
        venue: venue id, e.g. ``"bybit-linear"``.
        settings: an instance of :func:`settings_class` (defaults when ``None``).

    Raises:
        KeyError: unknown venue id (the message lists the known ones).
        TypeError: ``settings`` is not that venue's settings class.
    """
    try:
        cls, factory = VENUES[venue]
    except KeyError:
        raise KeyError(f"unknown venue {venue!r}; known: {', '.join(venues())}") from None
    if settings is None:
        settings = cls()
    elif not isinstance(settings, cls):
        raise TypeError(f"{venue} takes {cls.__name__}, not {type(settings).__name__}")
    return factory(settings)


#: Older name of :func:`make_protocol`, used by the live layer.
create_protocol = make_protocol


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
