"""Static description of a tradable instrument: tick, lot, contract type.

The engine needs the tick size for spread-in-ticks and display aggregation,
and the contract type for the risk calculator. Feeds create these from the
venue's instrument metadata (or from config / the simulator's universe).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ContractKind(StrEnum):
    """How a position's PnL is denominated."""

    SPOT = "spot"
    """Spot: you own the base asset."""
    LINEAR = "linear"
    """Linear derivative: quote-margined, PnL = qty * (exit - entry)."""
    INVERSE = "inverse"
    """Inverse derivative: base-margined, PnL = contracts * size * (1/entry - 1/exit)."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """One market on one venue.

    >>> Instrument("sim", "BTC-SIM", tick_size=0.1).key
    'sim:BTC-SIM'
    """

    venue: str
    """Venue id as used in config and market keys, e.g. ``"binance-usdm"``."""
    symbol: str
    """The venue's own symbol, e.g. ``"BTCUSDT"`` or ``"BTC-USDT-SWAP"``."""
    tick_size: float = 0.01
    """Minimum price increment."""
    lot_size: float = 0.001
    """Minimum size increment."""
    kind: ContractKind = ContractKind.SPOT
    """Spot, linear or inverse."""
    contract_size: float = 1.0
    """Base units per contract (1 for spot and most linear perps)."""

    @property
    def key(self) -> str:
        """Market key used in every event and snapshot: ``"venue:SYMBOL"``."""
        return f"{self.venue}:{self.symbol}"

    def price_decimals(self) -> int:
        """Decimals needed to print a price at tick precision.

        >>> Instrument("x", "Y", tick_size=0.05).price_decimals()
        2
        >>> Instrument("x", "Y", tick_size=1.0).price_decimals()
        0
        """
        return decimals_for(self.tick_size)


def decimals_for(step: float) -> int:
    """Number of decimals needed to print multiples of ``step`` exactly.

    >>> decimals_for(0.001), decimals_for(0.5), decimals_for(10.0)
    (3, 1, 0)
    """
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def parse_market_key(key: str, default_venue: str) -> tuple[str, str]:
    """Split ``"venue:SYMBOL"`` (or a bare ``"SYMBOL"``) into venue and symbol.

    >>> parse_market_key("okx:BTC-USDT-SWAP", "binance-usdm")
    ('okx', 'BTC-USDT-SWAP')
    >>> parse_market_key("ETHUSDT", "binance-usdm")
    ('binance-usdm', 'ETHUSDT')
    """
    venue, sep, symbol = key.partition(":")
    if not sep:
        return default_venue, key
    return venue, symbol
