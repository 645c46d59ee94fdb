"""What a capture says about itself: per-connection venue and wire version, symbols, instrument specs.

The importer (:mod:`tapescope.feeds.importer`) needs, before it writes a
recording, to know which venue each capture connection speaks, which wire
version (Kraken v1 captures replay through a v1 decoder), which markets were
subscribed, and each market's tick and lot size. This module answers those
questions from the capture's own lines:

* :func:`connection_venue`: a venue *family* given on the command line
  (``bybit``) resolves per connection URL to a registry venue
  (``bybit-linear`` / ``bybit-spot``); any other venue id stays as given.
* :func:`wire_variant`: ``"v1"`` for a Kraken connection to the v1 endpoint
  (no ``/v2`` path); ``""`` for the current wire of every venue.
* :func:`subscribed_symbols`: the symbols named by subscribe frames or a
  combined-stream URL (Binance ``?streams=``, OKX ``args[].instId``, Bybit
  ``args`` topics, Kraken ``pair``/``params.symbol``, Coinbase ``product_ids``).
* :func:`rest_specs`: tick and lot from REST instrument lists recorded in the
  capture (Bybit ``/v5/market/instruments-info``, Coinbase
  ``/api/v3/brokerage/market/products``).
* :data:`KNOWN_SPECS`: tick and lot of captured markets whose capture carries
  no instrument list (sources named beside each entry).
* :func:`grid_step`: the coarsest decimal step every value of a book snapshot
  sits on, the last resort (the tick can only be that step or a divisor of it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs, urlparse

import orjson

from tapescope.engine.instrument import ContractKind, Instrument

log = logging.getLogger(__name__)

#: Venue families: a name accepted by ``tapescope import --venue`` that covers several
#: registry venues, resolved per connection by the URL's last path part or ``category``.
FAMILIES: dict[str, dict[str, str]] = {
    "bybit": {"linear": "bybit-linear", "spot": "bybit-spot"},
}
#: Host of a capture's websocket or REST URL -> venue id (or family), for :func:`detect_venue`.
HOSTS: dict[str, str] = {
    "fstream.binance.com": "binance-usdm",
    "fapi.binance.com": "binance-usdm",
    "stream.binance.com": "binance-spot",
    "api.binance.com": "binance-spot",
    "ws.okx.com": "okx",
    "www.okx.com": "okx",
    "ws.kraken.com": "kraken",
    "advanced-trade-ws.coinbase.com": "coinbase",
    "api.coinbase.com": "coinbase",
    "stream.bybit.com": "bybit",
    "api.bybit.com": "bybit",
}
#: Lines :func:`detect_venue` reads from the start of each file.
DETECT_LINES = 200

#: Venues whose markets are linear (quote-margined) derivatives.
LINEAR_VENUES = frozenset({"binance-usdm", "bybit-linear"})
#: Fewest snapshot values :func:`grid_step` needs before its step is trusted.
MIN_GRID_VALUES = 20

#: Tick and lot of captured markets whose capture has no instrument list:
#: ``market key -> (tick_size, lot_size)``. Sources: Binance USD-M
#: ``GET /fapi/v1/exchangeInfo`` (BTCUSDT ``PRICE_FILTER.tickSize`` 0.10,
#: ``LOT_SIZE.stepSize`` 0.001), Binance spot ``GET /api/v3/exchangeInfo``
#: (BTCUSDT tickSize 0.01, stepSize 0.00001), OKX ``GET /api/v5/public/instruments``
#: (BTC-USDT ``tickSz`` 0.1, ``lotSz`` 0.00000001). The conformance tests check every
#: entry against the captures (every price a multiple of the tick).
KNOWN_SPECS: dict[str, tuple[float, float]] = {
    "binance-usdm:BTCUSDT": (0.1, 0.001),
    "binance-spot:BTCUSDT": (0.01, 0.00001),
    "okx:BTC-USDT": (0.1, 0.00000001),
}


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """Tick and lot of one market, and where they came from."""

    tick_size: float
    """Minimum price increment."""
    lot_size: float | None = None
    """Minimum size increment (``None`` when unknown)."""
    kind: ContractKind | None = None
    """Contract kind when the source says (``None``: decided by the venue)."""
    source: str = ""
    """Where the numbers come from: ``rest:<url path>``, ``table`` or ``inferred``."""


def detect_venue(records: Iterable[tuple[str, str, str]]) -> str | None:
    """The venue (or family) a capture comes from, by its URLs or, without any, its Binance streams.

    Args:
        records: ``(kind, url, data)`` of the first lines of the capture's files.

    Returns:
        A venue id or family, or ``None`` when the lines do not tell (or disagree).

    >>> detect_venue([("connect", "wss://ws.okx.com:8443/ws/v5/public", "")])
    'okx'
    >>> detect_venue([("recv", "", '{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","U":1,"u":2,"pu":0}}')])
    'binance-usdm'
    >>> detect_venue([("recv", "", '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","U":1,"u":2}}')])
    'binance-spot'
    >>> detect_venue([("recv", "", '{"x":1}')]) is None
    True
    """
    found: set[str] = set()
    depth_pu: set[bool] = set()
    for kind, url, data in records:
        host = urlparse(url).hostname if url else None
        if host in HOSTS:
            found.add(HOSTS[host])
        elif kind == "recv" and data.startswith('{"stream"') and '"depthUpdate"' in data:
            # hftbacktest captures carry no URL: futures depth events chain with "pu", spot ones do not.
            depth_pu.add('"pu":' in data)
    if not found and len(depth_pu) == 1:
        found.add("binance-usdm" if depth_pu.pop() else "binance-spot")
    return found.pop() if len(found) == 1 else None


def known_venues() -> list[str]:
    """Venue ids and families ``tapescope import --venue`` accepts, sorted."""
    from tapescope.feeds.venues.registry import venues

    return sorted({*venues(), *FAMILIES})


def is_known_venue(venue: str) -> bool:
    """True for a registry venue id or a family.

    >>> is_known_venue("bybit"), is_known_venue("okx"), is_known_venue("nowhere")
    (True, True, False)
    """
    return venue in known_venues()


def connection_venue(venue: str, url: str) -> str:
    """The registry venue of one capture connection (or REST URL) of ``venue``.

    >>> connection_venue("bybit", "wss://stream.bybit.com/v5/public/linear")
    'bybit-linear'
    >>> connection_venue("bybit", "https://api.bybit.com/v5/market/instruments-info?&category=spot")
    'bybit-spot'
    >>> connection_venue("okx", "wss://ws.okx.com:8443/ws/v5/public"), connection_venue("bybit", "")
    ('okx', 'bybit')
    """
    family = FAMILIES.get(venue)
    if family is None or not url:
        return venue
    parts = urlparse(url)
    category = (parse_qs(parts.query).get("category") or [""])[0]
    return family.get(category) or family.get(parts.path.rstrip("/").rsplit("/", 1)[-1]) or venue


def wire_variant(venue: str, url: str) -> str:
    """Wire version of a capture connection: ``"v1"`` for Kraken's v1 endpoint, else ``""``.

    >>> wire_variant("kraken", "wss://ws.kraken.com"), wire_variant("kraken", "wss://ws.kraken.com/v2")
    ('v1', '')
    >>> wire_variant("okx", "wss://ws.okx.com:8443/ws/v5/public")
    ''
    """
    if venue == "kraken" and url:
        return "" if urlparse(url).path.rstrip("/").endswith("/v2") else "v1"
    return ""


def _topic_symbol(topic: str) -> str:
    # "orderbook.200.BTCUSDT" / "btcusdt@depth@100ms": the symbol is the last dotted part
    # before any "@" stream suffix.
    return topic.split("@", 1)[0].rsplit(".", 1)[-1]


def subscribed_symbols(kind: str, url: str, data: str) -> list[str]:
    """Symbols a ``connect`` URL or a ``send`` (subscribe) frame names, in order.

    Args:
        kind: the capture record kind (``connect`` or ``send``; others name nothing).
        url: the connection URL.
        data: the sent frame text.

    >>> subscribed_symbols("connect", "wss://fstream.binance.com/stream?streams=sushiusdt@aggTrade/ctkusdt@depth", "")
    ['SUSHIUSDT', 'CTKUSDT']
    >>> subscribed_symbols("send", "", '{"op":"subscribe","args":["orderbook.200.BTCUSDT","tickers.ETHUSDT"]}')
    ['BTCUSDT', 'ETHUSDT']
    >>> subscribed_symbols("send", "", '{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}')
    ['BTC-USDT']
    >>> subscribed_symbols("send", "", '{"event":"subscribe","pair":["XBT/CHF"],"subscription":{"name":"book"}}')
    ['XBT/CHF']
    >>> subscribed_symbols("send", "", '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}')
    ['BTC-USD']
    >>> subscribed_symbols("send", "", '{"op":"unsubscribe","args":["orderbook.200.BTCUSDT"]}')
    []
    """
    out: list[str] = []
    if kind == "connect":
        streams = (parse_qs(urlparse(url).query).get("streams") or [""])[0]
        out = [_topic_symbol(s).upper() for s in streams.split("/") if s]
    elif kind == "send":
        try:
            msg = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(msg, dict):
            return []
        verb = msg.get("op") or msg.get("event") or msg.get("method") or msg.get("type") or ""
        if not isinstance(verb, str) or verb.lower() != "subscribe":
            return []
        params = msg.get("params")
        items: list[object] = []
        for field_value in (msg.get("args"), msg.get("pair"), msg.get("product_ids"), params):
            if isinstance(field_value, list):
                items.extend(field_value)
        if isinstance(params, dict) and isinstance(params.get("symbol"), list):
            items.extend(params["symbol"])
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("instId"), str):
                out.append(item["instId"])
            elif isinstance(item, str) and item:
                # Topic strings (Bybit, Binance params) carry the symbol in their last part;
                # plain pair/product names ("XBT/CHF", "BTC-USD") have no dot or "@".
                out.append(_topic_symbol(item).upper() if ("." in item or "@" in item) else item)
    seen: set[str] = set()
    return [s for s in out if s and not (s in seen or seen.add(s))]


def _step(text: object) -> float | None:
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def rest_specs(venue: str, url: str, body: str) -> dict[str, InstrumentSpec]:
    """Instrument specs in a recorded REST instrument list, by market key.

    Knows Bybit ``instruments-info`` (``priceFilter.tickSize``; lot
    ``lotSizeFilter.qtyStep``, spot ``basePrecision``) and Coinbase
    ``market/products`` (``price_increment`` or ``quote_increment``; lot
    ``base_increment``). Any other body gives ``{}``.

    Args:
        venue: the REST call's registry venue (see :func:`connection_venue`).
        url: request URL.
        body: response body text.
    """
    try:
        msg = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(msg, dict):
        return {}
    source = "rest:" + urlparse(url).path
    out: dict[str, InstrumentSpec] = {}
    result = msg.get("result")
    if isinstance(result, dict) and isinstance(result.get("list"), list):
        category = result.get("category")
        kind = ContractKind.LINEAR if category == "linear" else (
            ContractKind.INVERSE if category == "inverse" else ContractKind.SPOT)
        for item in result["list"]:
            if not isinstance(item, dict) or not isinstance(item.get("symbol"), str):
                continue
            pf, lf = item.get("priceFilter") or {}, item.get("lotSizeFilter") or {}
            tick = _step(pf.get("tickSize")) if isinstance(pf, dict) else None
            lot = _step(lf.get("qtyStep") or lf.get("basePrecision")) if isinstance(lf, dict) else None
            if tick is not None:
                out[f"{venue}:{item['symbol']}"] = InstrumentSpec(tick, lot, kind, source)
    elif isinstance(msg.get("products"), list):
        for item in msg["products"]:
            if not isinstance(item, dict) or not isinstance(item.get("product_id"), str):
                continue
            tick = _step(item.get("price_increment") or item.get("quote_increment"))
            if tick is not None:
                out[f"{venue}:{item['product_id']}"] = InstrumentSpec(
                    tick, _step(item.get("base_increment")), None, source)
    return out


def grid_step(values: Iterable[float]) -> float | None:
    """The coarsest decimal step all ``values`` are multiples of (``None`` for too few values).

    Each float is read back through its shortest ``repr`` (the decimal the
    venue sent), so the arithmetic is exact. ``O(n)``.

    >>> grid_step([61837.63, 61837.64, 61800.0] * 10)
    0.01
    >>> grid_step([0.5, 1.5, 2.0] * 10), grid_step([1.0, 2.0])
    (0.5, None)
    """
    decs: list[Decimal] = []
    for v in values:
        if v and math.isfinite(v):
            try:
                decs.append(Decimal(repr(abs(v))))
            except InvalidOperation:
                continue
    if len(decs) < MIN_GRID_VALUES:
        return None
    exp = -min(d.as_tuple().exponent for d in decs)  # type: ignore[operator]
    exp = max(exp, 0)
    scale = Decimal(10) ** exp
    g = 0
    for d in decs:
        g = math.gcd(g, int(d * scale))
        if g == 1:
            break
    return float(Decimal(g) / scale) if g else None


def build_instrument(venue: str, symbol: str, spec: InstrumentSpec | None) -> Instrument:
    """The :class:`Instrument` of a captured market (engine defaults where ``spec`` is silent).

    >>> build_instrument("bybit-linear", "BTCUSDT", InstrumentSpec(0.1, 0.001)).kind
    <ContractKind.LINEAR: 'linear'>
    >>> build_instrument("okx", "X", None).tick_size
    0.01
    """
    kind = spec.kind if spec is not None and spec.kind is not None else (
        ContractKind.LINEAR if venue in LINEAR_VENUES else ContractKind.SPOT)
    base = Instrument(venue, symbol, kind=kind)
    if spec is None:
        return base
    return Instrument(venue, symbol, spec.tick_size,
                      spec.lot_size if spec.lot_size is not None else base.lot_size, kind)


def instrument_meta(inst: Instrument, source: str) -> dict[str, object]:
    """JSON form of an instrument for a recording's ``instruments`` meta (read by the replay)."""
    return {
        "venue": inst.venue,
        "symbol": inst.symbol,
        "tick_size": inst.tick_size,
        "lot_size": inst.lot_size,
        "kind": str(inst.kind),
        "contract_size": inst.contract_size,
        "source": source,
    }
