"""Venue id -> settings dataclass and protocol factory, for the adapters in this package.

The live layer reads a ``[venues.<id>]`` config section into the settings
class and builds **one protocol object per websocket connection** with
:func:`make_protocol` (Coinbase's sequence check is per connection; the
others are cheap, so the rule is uniform).

>>> make_protocol("okx").venue, make_protocol("bybit-spot").ws_url
('okx', 'wss://stream.bybit.com/v5/public/spot')
>>> settings_class("kraken").__name__
'KrakenConfig'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapescope.feeds.venues.base import VenueProtocol
from tapescope.feeds.venues.bybit import BybitLinearConfig, BybitProtocol, BybitSpotConfig
from tapescope.feeds.venues.coinbase import CoinbaseConfig, CoinbaseProtocol
from tapescope.feeds.venues.kraken import KrakenConfig, KrakenProtocol
from tapescope.feeds.venues.okx import OkxConfig, OkxProtocol

#: Venue id -> (settings dataclass, factory taking an instance of it).
VENUES: dict[str, tuple[type, Callable[[Any], VenueProtocol]]] = {
    "bybit-linear": (BybitLinearConfig, BybitProtocol),
    "bybit-spot": (BybitSpotConfig, BybitProtocol),
    "okx": (OkxConfig, OkxProtocol),
    "kraken": (KrakenConfig, KrakenProtocol),
    "coinbase": (CoinbaseConfig, CoinbaseProtocol),
}


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
        KeyError: unknown venue id.
        TypeError: ``settings`` is not that venue's settings class.
    """
    cls, factory = VENUES[venue]
    if settings is None:
        settings = cls()
    elif not isinstance(settings, cls):
        raise TypeError(f"{venue} takes {cls.__name__}, not {type(settings).__name__}")
    return factory(settings)
