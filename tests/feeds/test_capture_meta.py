"""capture_meta: connection venues, wire versions, subscribed symbols, REST specs and grid inference."""

from __future__ import annotations

import orjson
import pytest

from tapescope.engine.instrument import ContractKind
from tapescope.feeds.capture_meta import (
    KNOWN_SPECS,
    MIN_GRID_VALUES,
    InstrumentSpec,
    build_instrument,
    connection_venue,
    grid_step,
    instrument_meta,
    rest_specs,
    subscribed_symbols,
    wire_variant,
)

BYBIT_URL = "https://api.bybit.com/v5/market/instruments-info?category={}"


def _bybit(category: str, items: list[dict]) -> str:
    return orjson.dumps({"retCode": 0, "result": {"category": category, "list": items}}).decode()


def test_bybit_instrument_lists_give_tick_lot_and_kind_per_category() -> None:
    linear = _bybit("linear", [
        {"symbol": "BTCUSDT", "priceFilter": {"tickSize": "0.10"}, "lotSizeFilter": {"qtyStep": "0.001"}},
        {"symbol": "NOTICK", "priceFilter": {"tickSize": "0"}, "lotSizeFilter": {"qtyStep": "1"}},
    ])
    got = rest_specs("bybit-linear", BYBIT_URL.format("linear"), linear)
    assert got == {"bybit-linear:BTCUSDT": InstrumentSpec(
        0.1, 0.001, ContractKind.LINEAR, "rest:/v5/market/instruments-info")}  # a zero tick is no tick
    spot = _bybit("spot", [{"symbol": "ETHUSDT", "priceFilter": {"tickSize": "0.01"},
                            "lotSizeFilter": {"basePrecision": "0.00001"}}])
    (spec,) = rest_specs("bybit-spot", BYBIT_URL.format("spot"), spot).values()
    assert (spec.tick_size, spec.lot_size, spec.kind) == (0.01, 0.00001, ContractKind.SPOT)
    inverse = _bybit("inverse", [{"symbol": "BTCUSD", "priceFilter": {"tickSize": "0.5"}, "lotSizeFilter": {}}])
    (spec,) = rest_specs("bybit-inverse", BYBIT_URL.format("inverse"), inverse).values()
    assert (spec.tick_size, spec.lot_size, spec.kind) == (0.5, None, ContractKind.INVERSE)


def test_coinbase_products_prefer_price_increment() -> None:
    body = orjson.dumps({"products": [
        {"product_id": "BTC-USD", "price_increment": "0.01", "quote_increment": "0.00000001",
         "base_increment": "0.00000001"},
        {"product_id": "OLD-USD", "quote_increment": "0.001", "base_increment": "0.1"},
        {"product_id": "NOPE-USD"},
    ]}).decode()
    got = rest_specs("coinbase", "https://api.coinbase.com/api/v3/brokerage/market/products", body)
    assert {k: (s.tick_size, s.lot_size, s.kind) for k, s in got.items()} == {
        "coinbase:BTC-USD": (0.01, 0.00000001, None),
        "coinbase:OLD-USD": (0.001, 0.1, None),
    }


@pytest.mark.parametrize("body", ["not json", "[1,2]", '{"lastUpdateId":1,"bids":[],"asks":[]}', '{"result":7}'])
def test_other_rest_bodies_give_no_specs(body: str) -> None:
    assert rest_specs("binance-usdm", "https://fapi.binance.com/fapi/v1/depth?symbol=X", body) == {}


def test_grid_step_is_the_coarsest_common_decimal_step() -> None:
    n = MIN_GRID_VALUES
    assert grid_step([0.05, 0.15, 0.25] * n) == 0.05
    assert grid_step([100.0, 250.0, 1000.0] * n) == 50.0
    assert grid_step([0.00002, 0.00004, 3.0] * n) == 0.00002  # repr "2e-05": exponent notation
    assert grid_step([0.0, -0.5, 1.5] * n) == 0.5  # zero sizes skipped, signs ignored
    assert grid_step([0.1] * (n - 1)) is None  # too few values to trust
    assert grid_step([float("nan"), float("inf")] * n) is None


def test_subscriptions_of_each_venue_shape() -> None:
    kraken_v2 = '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD","ETH/USD"],"depth":10}}'
    assert subscribed_symbols("send", "", kraken_v2) == ["BTC/USD", "ETH/USD"]
    binance = '{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","btcusdt@trade","ethusdt@trade"],"id":1}'
    assert subscribed_symbols("send", "", binance) == ["BTCUSDT", "ETHUSDT"]
    okx = '{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}'
    assert subscribed_symbols("send", "", okx) == ["BTC-USDT"]
    for nothing in ('{"op":"ping"}', "ping", "[1]", '{"op":"subscribe"}'):
        assert subscribed_symbols("send", "", nothing) == []
    assert subscribed_symbols("recv", "", okx) == [] and subscribed_symbols("connect", "wss://x/ws", "") == []


def test_connection_venue_and_wire_variant() -> None:
    assert connection_venue("bybit", "wss://stream.bybit.com/v5/public/option") == "bybit"  # unknown category
    assert connection_venue("binance-usdm", "wss://fstream.binance.com/stream") == "binance-usdm"
    assert wire_variant("kraken", "wss://ws.kraken.com/") == "v1"
    assert wire_variant("kraken", "") == ""  # no URL: the current wire


def test_instrument_built_from_spec_and_stored_as_meta() -> None:
    inst = build_instrument("bybit-spot", "ETHUSDT", InstrumentSpec(0.01, None, None, "rest:/x"))
    assert (inst.tick_size, inst.lot_size, inst.kind) == (0.01, 0.001, ContractKind.SPOT)  # lot default kept
    usdm = build_instrument("binance-usdm", "BTCUSDT", InstrumentSpec(*KNOWN_SPECS["binance-usdm:BTCUSDT"]))
    assert (usdm.tick_size, usdm.lot_size, usdm.kind) == (0.1, 0.001, ContractKind.LINEAR)
    assert instrument_meta(usdm, "table") == {
        "venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": 0.1, "lot_size": 0.001,
        "kind": "linear", "contract_size": 1.0, "source": "table",
    }
