"""The recorded streams ``tapescope bench --venues`` measures, and their bare baselines.

One :class:`VenueCase` per venue adapter: which capture in ``shared/data``,
which of its received frames form the measured stream (the same frames go to
every path), the instruments, our protocol, the cryptofeed feed that parses
the same wire format, and a *bare baseline*: ``orjson.loads``, float
conversion and ``SortedDict`` set/delete per level, with no validation, no
sequence or checksum checks and no metrics. The baseline is the floor any
Python book keeper pays; it is written per venue because the wire formats
differ, and kept as small as the format allows.

Stream choice per venue (stated in the report):

* ``binance-usdm``: the hftbacktest BTCUSDT ``depth@0ms`` diff stream
  (6,551 frames), REST snapshot served from its in-line record.
* ``bybit-linear``: the ``orderbook.200`` frames of the linear connection.
* ``okx``: the ``books`` frames (snapshots + updates, 400 levels, checksummed).
* ``kraken``: every received frame (v1 book-1000 updates, status, heartbeats).
* ``coinbase``: every received frame (the adapter checks the connection-level
  ``sequence_num``, so dropping the other channels would fake gaps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sortedcontainers import SortedDict

from tapescope.engine.instrument import ContractKind, Instrument
from tapescope.feeds.captures import companion_http, read_capture
from tapescope.feeds.venues.base import VenueProtocol
from tapescope.tui.venuebench_cf import CfSpec

__all__ = ["CASES", "VenueCase", "Tops", "load_stream"]

#: Symbol -> (best bid, best ask), each ``(price, size)`` or None.
Tops = dict[str, tuple[tuple[float, float] | None, tuple[float, float] | None]]
#: A baseline: ``setup(rest_bodies) -> (step(text), tops())``.
Baseline = Callable[[dict[str, str]], tuple[Callable[[str], None], Callable[[], Tops]]]


@dataclass(frozen=True, slots=True)
class VenueCase:
    """One venue's recorded stream, its bare baseline and the cryptofeed handler for it."""

    venue: str
    """Venue id (``binance-usdm``, ...)."""
    capture: str
    """Capture path relative to ``shared/data``."""
    keep: Callable[[Any], bool]
    """Which received capture records form the stream."""
    protocol: Callable[[], VenueProtocol]
    """Our protocol factory."""
    instruments: tuple[Instrument, ...]
    """Markets on the watchlist."""
    baseline: Baseline
    """The bare orjson + SortedDict book."""
    cryptofeed: CfSpec | None
    """cryptofeed's handler for the same wire format (None: it has none)."""
    note: str = ""
    """What the stream is, for the report."""


@dataclass(slots=True)
class Stream:
    """Frames of one case loaded into memory."""

    frames: list[tuple[int, str]]
    """``(recv_ns, text)`` in capture order."""
    rest: dict[str, str]
    """Exchange symbol -> captured REST depth body (Binance)."""


def load_stream(case: VenueCase, data_dir: Path, limit: int = 0) -> Stream:
    """Read ``case``'s frames (the first ``limit`` when > 0) and REST bodies from ``data_dir``."""
    path = data_dir / case.capture
    frames = [(r.recv_ns, r.data) for r in read_capture(path) if r.kind == "recv" and case.keep(r)]
    if limit > 0:
        frames = frames[:limit]
    rest: dict[str, str] = {}
    sources = [read_capture(path)]
    http = companion_http(path)
    if http is not None:
        sources.append(read_capture(http))
    for src in sources:
        for r in src:
            if r.kind == "http":
                body = orjson.loads(r.data)
                if isinstance(body, dict) and "lastUpdateId" in body:
                    sym = _symbol_of_url(r.url) or case.instruments[0].symbol
                    rest.setdefault(sym, r.data)
    return Stream(frames, rest)


def _symbol_of_url(url: str) -> str:
    for part in url.partition("?")[2].split("&"):
        k, _, v = part.partition("=")
        if k == "symbol":
            return v.upper()
    return ""


# -- bare baselines ------------------------------------------------------------


def _books(symbols) -> dict[str, tuple[SortedDict, SortedDict]]:
    return {s: (SortedDict(), SortedDict()) for s in symbols}


def _tops(books) -> Tops:
    out: Tops = {}
    for s, (bids, asks) in books.items():
        out[s] = (bids.peekitem(-1) if bids else None, asks.peekitem(0) if asks else None)
    return out


def _apply(book: SortedDict, levels) -> None:
    for lvl in levels:
        q = float(lvl[1])
        if q:
            book[float(lvl[0])] = q
        else:
            book.pop(float(lvl[0]), None)


def baseline_binance(symbols):
    """Binance diff stream: the REST snapshot at a symbol's first frame, then ``b``/``a``."""

    def setup(rest: dict[str, str]):
        books: dict[str, tuple[SortedDict, SortedDict]] = {}
        loads = orjson.loads

        def step(text: str) -> None:
            d = loads(text)["data"]
            s = d["s"]
            book = books.get(s)
            if book is None:
                snap = loads(rest[s])
                book = books[s] = (SortedDict(), SortedDict())
                _apply(book[0], snap["bids"])
                _apply(book[1], snap["asks"])
            _apply(book[0], d["b"])
            _apply(book[1], d["a"])

        return step, lambda: _tops(books)

    return setup


def baseline_bybit(symbols):
    """Bybit v5 ``orderbook.N``: ``snapshot`` replaces, ``delta`` updates."""

    def setup(rest):
        books = _books(symbols)
        loads = orjson.loads

        def step(text: str) -> None:
            m = loads(text)
            d = m["data"]
            bids, asks = books[d["s"]]
            if m["type"] == "snapshot":
                bids.clear()
                asks.clear()
            _apply(bids, d["b"])
            _apply(asks, d["a"])

        return step, lambda: _tops(books)

    return setup


def baseline_okx(symbols):
    """OKX ``books``: ``action`` snapshot replaces, update updates."""

    def setup(rest):
        books = _books(symbols)
        loads = orjson.loads

        def step(text: str) -> None:
            m = loads(text)
            bids, asks = books[m["arg"]["instId"]]
            if m["action"] == "snapshot":
                bids.clear()
                asks.clear()
            for d in m["data"]:
                _apply(bids, d["bids"])
                _apply(asks, d["asks"])

        return step, lambda: _tops(books)

    return setup


def baseline_kraken(symbols):
    """Kraken v1 book: ``[id, {as,bs} | {a}|{b} (one or two dicts), name, pair]``."""

    def setup(rest):
        books = _books(symbols)
        loads = orjson.loads

        def step(text: str) -> None:
            m = loads(text)
            if type(m) is not list:
                return
            bids, asks = books[m[-1]]
            for d in m[1:-2]:
                if "as" in d:
                    bids.clear()
                    asks.clear()
                    _apply(asks, d["as"])
                    _apply(bids, d["bs"])
                    continue
                if "a" in d:
                    _apply(asks, d["a"])
                if "b" in d:
                    _apply(bids, d["b"])

        return step, lambda: _tops(books)

    return setup


def baseline_coinbase(symbols):
    """Coinbase Advanced Trade ``l2_data``: ``updates`` of ``side``/``price_level``/``new_quantity``."""

    def setup(rest):
        books = _books(symbols)
        loads = orjson.loads

        def step(text: str) -> None:
            m = loads(text)
            if m["channel"] != "l2_data":
                return
            for ev in m["events"]:
                bids, asks = books[ev["product_id"]]
                if ev["type"] == "snapshot":
                    bids.clear()
                    asks.clear()
                for u in ev["updates"]:
                    book = bids if u["side"] == "bid" else asks
                    q = float(u["new_quantity"])
                    if q:
                        book[float(u["price_level"])] = q
                    else:
                        book.pop(float(u["price_level"]), None)

        return step, lambda: _tops(books)

    return setup


# -- the cases -----------------------------------------------------------------


def _binance():
    from tapescope.feeds.venues.binance import BinanceUsdmProtocol

    return BinanceUsdmProtocol()


def _bybit():
    from tapescope.feeds.venues.bybit import bybit_protocol

    return bybit_protocol("bybit-linear")


def _okx():
    from tapescope.feeds.venues.okx import OkxProtocol

    return OkxProtocol()


def _kraken():
    from tapescope.feeds.venues.kraken_v1 import KrakenV1Protocol

    return KrakenV1Protocol()


def _coinbase():
    from tapescope.feeds.venues.coinbase import CoinbaseProtocol

    return CoinbaseProtocol()


_LIN = ContractKind.LINEAR
_BYBIT = {"BTCUSDT": 0.1, "ETHUSDT": 0.01, "SOLUSDT": 0.01, "DOGEUSDT": 0.00001}
_OKX = {"BTC-USDT": 0.1, "UNI-USD-SWAP": 0.001, "BTC-USD-220527": 0.1}
_KRAKEN = {
    "WAVES/EUR": 0.0001, "XMR/USD": 0.01, "KSM/XBT": 0.000001, "GRT/ETH": 0.0000001,
    "SC/EUR": 0.000001, "ETH/CHF": 0.01, "OCEAN/XBT": 0.000000001, "OMG/USD": 0.0001,
    "XBT/CHF": 0.1, "ADA/XBT": 0.000000001,
}
_COINBASE = {"BTC-USD": 0.01, "ETH-USD": 0.01}

#: Every measured venue, in report order.
CASES: tuple[VenueCase, ...] = (
    VenueCase(
        "binance-usdm",
        "binance_usdm/btcusdt_20240808.gz",
        lambda r: '@depth' in r.data[:40],
        _binance,
        (Instrument("binance-usdm", "BTCUSDT", tick_size=0.1, lot_size=0.001, kind=_LIN),),
        baseline_binance(["BTCUSDT"]),
        CfSpec("BinanceFutures", {"BTC-USDT-PERP": "BTCUSDT"}, "wss://fstream.binance.com",
               {"BTC-USDT-PERP": "perpetual"}),
        "BTCUSDT depth@0ms diffs (hftbacktest 2024-08-08), REST snapshot from the capture",
    ),
    VenueCase(
        "bybit-linear",
        "bybit/BYBIT.jsonl",
        lambda r: r.conn == "BYBIT.ws.2" and r.data.startswith('{"topic":"orderbook.'),
        _bybit,
        tuple(Instrument("bybit-linear", s, tick_size=t, kind=_LIN) for s, t in _BYBIT.items()),
        baseline_bybit(list(_BYBIT)),
        CfSpec("Bybit", {s.replace("USDT", "-USDT-PERP"): s for s in _BYBIT},
               "wss://stream.bybit.com/v5/public/linear",
               {s.replace("USDT", "-USDT-PERP"): "perpetual" for s in _BYBIT}),
        "orderbook.200 of 4 linear perps (cryptofeed v3 capture 2026-08-09)",
    ),
    VenueCase(
        "okx",
        "okx/OKX.ws.1.0",
        lambda r: r.data.startswith('{"arg":{"channel":"books"'),
        _okx,
        tuple(Instrument("okx", s, tick_size=t) for s, t in _OKX.items()),
        baseline_okx(list(_OKX)),
        CfSpec("OKX", {s: s for s in _OKX}, "wss://ws.okx.com:8443/ws/v5/public",
               options={"checksum_validation": True}),
        "books (400 levels, crc32 checked by both) of 3 instruments (2022-05-13)",
    ),
    VenueCase(
        "kraken",
        "kraken/KRAKEN.ws.50.0",
        lambda r: True,
        _kraken,
        tuple(Instrument("kraken", s, tick_size=t) for s, t in _KRAKEN.items()),
        baseline_kraken(list(_KRAKEN)),
        CfSpec("Kraken", {s.replace("/", "-"): s for s in _KRAKEN}, "wss://ws.kraken.com",
               options={"checksum_validation": True}),
        "v1 book-1000 of 10 pairs, all frames (crc32 checked by both) (2021-04-17)",
    ),
    VenueCase(
        "coinbase",
        "coinbase/COINBASE.jsonl",
        lambda r: True,
        _coinbase,
        tuple(Instrument("coinbase", s, tick_size=t) for s, t in _COINBASE.items()),
        baseline_coinbase(list(_COINBASE)),
        CfSpec("Coinbase", {s: s for s in _COINBASE}, "wss://advanced-trade-ws.coinbase.com"),
        "Advanced Trade, all channels (two ~45k-level snapshots dominate) (2026-08-09)",
    ),
)
