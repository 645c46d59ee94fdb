"""The venue registry: settings class and one fresh protocol per connection for every venue; watchlists."""

from __future__ import annotations

import pytest

from tapescope.feeds.venues.binance import BinanceUsdmConfig
from tapescope.feeds.venues.bybit import BybitLinearConfig, BybitSpotConfig
from tapescope.feeds.venues.coinbase import CoinbaseConfig
from tapescope.feeds.venues.kraken import KrakenConfig
from tapescope.feeds.venues.live import LiveFeed, split_symbols
from tapescope.feeds.venues.okx import OkxConfig
from tapescope.feeds.venues.registry import VENUES, make_protocol, parse_watchlist, settings_class
from tapescope.feeds.venues.settings import VenueEndpoint

SECTIONS = {
    "binance-usdm": BinanceUsdmConfig,
    "bybit-linear": BybitLinearConfig,
    "bybit-spot": BybitSpotConfig,
    "okx": OkxConfig,
    "coinbase": CoinbaseConfig,
    "kraken": KrakenConfig,
}


def test_registry_builds_each_venue_from_its_settings() -> None:
    assert set(SECTIONS) | {"binance-spot"} == set(VENUES)
    for venue, cls in SECTIONS.items():
        assert settings_class(venue) is cls
        proto = make_protocol(venue, cls(ws_url="ws://127.0.0.1:9/x"))
        assert proto.venue == venue and proto.ws_url == "ws://127.0.0.1:9/x"
        assert make_protocol(venue) is not make_protocol(venue)  # one per connection
    with pytest.raises(TypeError):
        make_protocol("okx", KrakenConfig())
    with pytest.raises(KeyError, match="known: binance-spot"):
        make_protocol("mtgox")


def test_watchlist_parsing() -> None:
    assert parse_watchlist(["okx:BTC-USDT", " ETHUSDT ", ""], "bybit-linear") == [
        ("okx", "BTC-USDT"),
        ("bybit-linear", "ETHUSDT"),
    ]
    with pytest.raises(ValueError, match="bad market key"):
        parse_watchlist("okx:", "binance-usdm")
    with pytest.raises(ValueError):
        parse_watchlist(["BTC USDT"], "binance-usdm")


@pytest.mark.parametrize(("n", "limit", "sizes"), [(1, 50, [1]), (50, 50, [50]), (51, 50, [26, 25]), (23, 10, [8, 8, 7])])
def test_split_symbols(n, limit, sizes) -> None:
    chunks = split_symbols(list(range(n)), limit)
    assert [len(c) for c in chunks] == sizes
    assert [x for c in chunks for x in c] == list(range(n))


def test_feed_plans_connections_per_venue_limit() -> None:
    keys = [f"okx:S{i}-USDT" for i in range(120)] + ["coinbase:BTC-USD"]
    feed = LiveFeed({"okx": OkxConfig()}, keys)
    okx_conns = [c for c in feed.connections if c.conn_id.startswith("okx")]
    assert len(okx_conns) == -(-120 // OkxConfig().max_symbols_per_connection)
    assert len({id(c.protocol) for c in feed.connections}) == len(feed.connections)  # one protocol each
    # an endpoint override may lower the limit, not raise it
    feed2 = LiveFeed({"okx": VenueEndpoint(max_symbols_per_connection=7)}, keys[:20])
    assert [len(c.slots) for c in feed2.connections] == [7, 7, 6]
    feed3 = LiveFeed({"okx": VenueEndpoint(max_symbols_per_connection=1000)}, keys[:120])
    assert len(feed3.connections) == len(okx_conns)
    with pytest.raises(KeyError):
        LiveFeed(None, ["nowhere:BTC"])
    with pytest.raises(ValueError):
        LiveFeed(None, [])
