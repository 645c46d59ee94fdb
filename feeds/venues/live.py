"""LiveFeed: the :class:`~tapescope.feeds.base.Feed` for real venues over websockets.

One feed serves a watchlist that may mix venues
(``"binance-usdm:BTCUSDT,okx:BTC-USDT-SWAP"``). Each venue's markets are split
across connections of at most ``max_symbols_per_connection`` markets; each
connection (:mod:`tapescope.feeds.venues.connection`) reconnects on its own,
so one dead socket never stalls the other markets.

Usage::

    feed = LiveFeed({"binance-usdm": BinanceUsdmConfig()}, ["BTCUSDT", "okx:BTC-USDT-SWAP"])
    await feed.run(hub)          # until cancelled; never raises on network trouble
"""

from __future__ import annotations

import asyncio
import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tapescope.engine.health import ConnectionHealth, SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.base import EventSink, Feed
from tapescope.feeds.venues.base import VenueProtocol
from tapescope.feeds.venues.connection import Connection, LogOnce
from tapescope.feeds.venues.registry import create_protocol, parse_watchlist
from tapescope.feeds.venues.rest import RestClient
from tapescope.feeds.venues.settings import VenueEndpoint, VenuesSettings


def split_symbols(items: Sequence[Any], limit: int) -> list[list[Any]]:
    """Split a list into ``ceil(len/limit)`` chunks of at most ``limit``, sizes as even as possible.

    >>> [len(c) for c in split_symbols(list(range(7)), 3)]
    [3, 2, 2]
    >>> split_symbols([], 5)
    []
    """
    if not items:
        return []
    n = math.ceil(len(items) / max(1, limit))
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


class LiveFeed(Feed):
    """Live market data from one or more venues."""

    def __init__(
        self,
        venue_configs: Mapping[str, Any] | None,
        market_keys: str | Iterable[str | Instrument],
        *,
        settings: VenuesSettings | None = None,
        protocols: Mapping[str, VenueProtocol] | None = None,
        seed: int | None = None,
    ) -> None:
        """Plan the connections; nothing is opened until :meth:`run`.

        Args:
            venue_configs: Venue id -> that venue's own config dataclass (e.g.
                ``BinanceUsdmConfig``, the ``[venues.<id>]`` table: URLs and limits live
                there), or a :class:`VenueEndpoint` (or dict of its fields) overriding
                the protocol's URLs and connection limit. Venues absent here use their
                defaults.
            market_keys: ``"venue:SYMBOL"`` / bare ``"SYMBOL"`` keys (a list or one
                comma-separated string), or ready :class:`Instrument` objects (to carry
                tick and lot sizes).
            settings: The ``[venues]`` policy (default venue, backoff, timeouts).
            protocols: Venue id -> protocol instance, overriding the registry (tests).
            seed: Seeds reconnect jitter, for deterministic tests.

        Raises:
            KeyError: a market names an unknown venue.
            ValueError: a malformed market key, or an empty watchlist.
        """
        self.settings = settings or VenuesSettings()
        """Retry and timeout policy."""
        configs = dict(venue_configs or {})
        protos = dict(protocols or {})
        insts: list[Instrument] = []
        keys = [market_keys] if isinstance(market_keys, str) else list(market_keys)
        for item in keys:
            if isinstance(item, Instrument):
                insts.append(item)
            else:
                insts.extend(Instrument(v, s) for v, s in parse_watchlist(item, self.settings.default_venue))
        seen: set[str] = set()
        self._instruments = [i for i in insts if not (i.key in seen or seen.add(i.key))]
        if not self._instruments:
            raise ValueError("LiveFeed needs at least one market")
        self._health: dict[str, SymbolHealth] = {i.key: SymbolHealth(i.key) for i in self._instruments}
        self._log_once = LogOnce()
        self.connections: list[Connection] = []
        """Planned connections, venue by venue in watchlist order."""
        by_venue: dict[str, list[Instrument]] = {}
        for inst in self._instruments:
            by_venue.setdefault(inst.venue, []).append(inst)
        for n, (venue, venue_insts) in enumerate(by_venue.items()):
            given = protos.get(venue)
            cfg = configs.get(venue)
            ep = _endpoint(cfg)
            vcfg = None if ep is not None else cfg
            ep = ep or VenueEndpoint()
            first = given or create_protocol(venue, vcfg)
            # An override may lower the venue's limit, never raise it (the venue would refuse).
            limit = min(ep.max_symbols_per_connection or first.max_symbols_per_connection, first.max_symbols_per_connection)
            for i, chunk in enumerate(split_symbols(venue_insts, limit)):
                # One protocol object per socket: decoders may keep per-connection
                # state (Coinbase's connection-wide sequence_num).
                if i == 0:
                    protocol = first
                elif given is not None:
                    protocol = copy.deepcopy(given)
                else:
                    protocol = create_protocol(venue, vcfg)
                ws_base = ep.ws_url or protocol.ws_url
                rest_base = ep.rest_url or protocol.rest_url
                symbols = [inst.symbol for inst in chunk]
                extra = protocol.connect_urls(ws_base, symbols)[1:] if hasattr(protocol, "connect_urls") else []
                for j in range(len(extra) + 1):
                    # Side connections (j > 0) carry a protocol's split-off streams (trades).
                    proto_j = protocol if j == 0 else copy.deepcopy(protocol)
                    self.connections.append(
                        Connection(
                            f"{venue}#{i}" if j == 0 else f"{venue}#{i}.{j}",
                            proto_j,
                            chunk,
                            self._health,
                            ws_base,
                            rest_base,
                            self.settings,
                            self._log_once,
                            None if seed is None else seed * 1000 + n * 100 + i * 10 + j,
                            url_index=j,
                        )
                    )
        self._by_key = {key: c for c in self.connections if c.url_index == 0 for key in c.slots}
        venues = list(by_venue)
        self.name = venues[0] if len(venues) == 1 else "live"

    @property
    def instruments(self) -> list[Instrument]:
        """The markets this feed serves, in watchlist order."""
        return list(self._instruments)

    async def run(self, sink: EventSink) -> None:
        """Run every connection until cancelled.

        Network trouble never escapes: each connection retries with backoff and
        reports why in its health. Only ``asyncio.CancelledError`` propagates.
        """
        async with RestClient(self.settings) as rest:
            tasks = [
                asyncio.create_task(c.run(sink, rest), name=f"tapescope {c.conn_id}") for c in self.connections
            ]
            try:
                await asyncio.gather(*tasks)
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    def request_resync(self, key: str, reason: str) -> None:
        """Reset that market's sync and rebuild its book from a fresh snapshot.

        Call it on the feed's event loop (the engine's ``on_invalid`` callback,
        possibly from inside ``sink.on_event``: the rest of the output being
        delivered for that market is then dropped). Counts ``health.crossed``.
        """
        conn = self._by_key.get(key)
        if conn is not None:
            conn.request_resync(key, reason)

    def symbol_health(self) -> list[SymbolHealth]:
        """Detached copies of per-market health, in watchlist order."""
        return [self._health[i.key].copy() for i in self._instruments]

    def connection_health(self) -> list[ConnectionHealth]:
        """Detached copies of per-connection health."""
        return [c.health.copy() for c in self.connections]


def _endpoint(cfg: Any) -> VenueEndpoint | None:
    """The endpoint override in a venue config entry, or None when it is a venue config dataclass."""
    if cfg is None:
        return VenueEndpoint()
    if isinstance(cfg, VenueEndpoint):
        return cfg
    if isinstance(cfg, Mapping):
        return VenueEndpoint(**dict(cfg))
    return None


def make_live_feed(config: Any) -> LiveFeed:
    """The live feed for the configured watchlist (what ``tapescope`` with no command opens).

    Args:
        config: The loaded configuration (anything with ``section(name)``; the
            feeds layer does not import the UI's config module). ``[venues]`` gives
            the policy and watchlist under its own keys (sub-name ``""``) and each
            venue's settings under ``[venues.<id>]``.

    Raises:
        KeyError: a watchlist entry names an unknown venue.
        ValueError: a malformed market key, or an empty watchlist.
    """
    venues = dict(config.section("venues"))
    settings = venues.pop("", None) or VenuesSettings()
    return LiveFeed(venues, list(settings.watchlist), settings=settings)
