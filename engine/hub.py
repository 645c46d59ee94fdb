"""The engine hub: routes normalised events to per-symbol :class:`Market` objects.

:class:`Hub` implements the ``EventSink`` protocol of ``tapescope.feeds.base``
(structurally: the engine never imports feeds), so a feed, the simulator or a
replay pushes straight into it, possibly through a recorder tap.

>>> from tapescope.engine.events import Trade
>>> hub = Hub([Instrument("sim", "A"), Instrument("sim", "B")])
>>> hub.on_event(Trade("sim:B", 10**9, 0, 10.0, 1.0, 1))
>>> hub.on_event(Trade("sim:Z", 10**9, 0, 10.0, 1.0, 1))
>>> hub.keys, hub.events, hub.unknown, hub.markets["sim:B"].flow.cvd
(['sim:A', 'sim:B'], 2, 1, 1.0)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from tapescope.engine.events import Event
from tapescope.engine.flow import FlowParams
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import InvalidCallback, Market
from tapescope.engine.snapshot import MarketSnapshot

log = logging.getLogger(__name__)


class Hub:
    """All markets of a session, keyed by ``"venue:SYMBOL"``."""

    __slots__ = ("markets", "params", "_on_invalid", "events", "unknown", "_unknown_keys")

    def __init__(
        self,
        instruments: Iterable[Instrument],
        params: FlowParams | None = None,
        on_invalid: InvalidCallback | None = None,
    ) -> None:
        """Create one :class:`Market` per instrument.

        Args:
            instruments: the markets, in watchlist order.
            params: flow parameters shared by every market.
            on_invalid: passed to each market; called as ``(key, reason)``
                when a book turns out crossed (wire it to ``feed.request_resync``).
        """
        self.markets: dict[str, Market] = {}
        """Markets by key, in watchlist order."""
        self.params: FlowParams = params if params is not None else FlowParams()
        """Flow parameters."""
        self._on_invalid = on_invalid
        self.events: int = 0
        """Events received (routed and unknown)."""
        self.unknown: int = 0
        """Events for keys with no market (ignored)."""
        self._unknown_keys: set[str] = set()
        for inst in instruments:
            self.add(inst)

    @property
    def on_invalid(self) -> InvalidCallback | None:
        """Crossed-book callback handed to every market; setting it rewires all of them.

        >>> hub = Hub([Instrument("sim", "A")]); hub.on_invalid = print
        >>> hub.markets["sim:A"].on_invalid is print
        True
        """
        return self._on_invalid

    @on_invalid.setter
    def on_invalid(self, callback: InvalidCallback | None) -> None:
        self._on_invalid = callback
        for market in self.markets.values():
            market.on_invalid = callback

    @property
    def keys(self) -> list[str]:
        """Market keys in watchlist order. ``O(markets)``.

        >>> Hub([Instrument("sim", "B"), Instrument("sim", "A")]).keys
        ['sim:B', 'sim:A']
        """
        return list(self.markets)

    def add(self, instrument: Instrument) -> Market:
        """Add a market (idempotent for an equal instrument). ``O(1)``.

        Raises:
            ValueError: if a different instrument already uses the same key.

        >>> hub = Hub([]); m = hub.add(Instrument("sim", "A")); hub.add(Instrument("sim", "A")) is m
        True
        """
        key = instrument.key
        market = self.markets.get(key)
        if market is not None:
            if market.instrument != instrument:
                raise ValueError(f"market {key} already exists with {market.instrument}")
            return market
        market = Market(instrument, self.params, self.on_invalid)
        self.markets[key] = market
        return market

    def on_event(self, event: Event) -> None:
        """Route one event to its market; unknown keys are counted and ignored. ``O(1)`` + the market's work.

        >>> from tapescope.engine.events import OpenInterest
        >>> hub = Hub([Instrument("okx", "BTC-USDT-SWAP")])
        >>> hub.on_event(OpenInterest("okx:BTC-USDT-SWAP", 1, 1, 42.0))
        >>> hub.markets["okx:BTC-USDT-SWAP"].open_interest, hub.unknown
        (42.0, 0)
        """
        self.events += 1
        market = self.markets.get(event[0])
        if market is None:
            self.unknown += 1
            key = event[0]
            if key not in self._unknown_keys:
                # Once per key: a feed emitting a key it was not asked for is a bug worth one line.
                self._unknown_keys.add(key)
                log.warning("event for unknown market %r ignored", key)
            return
        market.on_event(event)

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        """Raw messages are the recorder's business; the hub ignores them. ``O(1)``.

        >>> Hub([]).on_raw("sim#0", 0, b"{}")
        """

    def snapshot(self, key: str, ladder_step_ticks: int = 1, ladder_rows: int = 40) -> MarketSnapshot:
        """The snapshot of market ``key`` (cached by the market).

        Raises:
            KeyError: for a key with no market.

        >>> hub = Hub([Instrument("sim", "A")]); hub.snapshot("sim:A") is hub.snapshot("sim:A")
        True
        """
        return self.markets[key].snapshot(ladder_step_ticks, ladder_rows)
