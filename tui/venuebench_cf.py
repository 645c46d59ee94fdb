"""Drive cryptofeed's exchange handlers offline over recorded frames (optional).

cryptofeed (``pip install tapescope[bench]``) parses a venue frame in its
feed class's ``message_handler(msg, conn, timestamp)`` coroutine and keeps
the book in an ``order_book.OrderBook``. Its own
``cryptofeed.raw_data_collection.playback`` replays captures the same way:
a fake connection object, the REST snapshot read served from the capture.
This module does that without touching cryptofeed globals beyond the symbol
table (``Symbols.set``), which it fills from the capture's own symbol names so
no exchange-info request is made:

* the feed is built with ``subscription={L2_BOOK: [...]}`` and one book
  callback that counts calls;
* ``feed.http_conn.read`` is replaced on the instance by a coroutine that
  returns the captured REST depth body of the symbol named in the URL
  (Binance's ``_snapshot``);
* every frame is awaited in one coroutine, as the playback loop does.

:func:`cryptofeed_status` says whether cryptofeed can be imported (the
report's column reads ``"not installed"`` otherwise).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CfSpec", "CfRun", "cryptofeed_status", "make_cf_run"]

#: The symbol parameter of a REST depth URL (Binance ``?symbol=BTCUSDT&limit=1000``).
_SYMBOL_RE = re.compile(r"[?&]symbol=([A-Za-z0-9_-]+)")


def cryptofeed_status() -> str:
    """``"cryptofeed X.Y.Z"`` when importable, else ``"not installed"`` (or the import error)."""
    try:
        from importlib.metadata import version

        import cryptofeed  # noqa: F401
    except ImportError:
        return "not installed"
    try:
        return f"cryptofeed {version('cryptofeed')}"
    except Exception:  # noqa: BLE001 - metadata missing on an unusual install
        return "cryptofeed (version unknown)"


@dataclass(frozen=True, slots=True)
class CfSpec:
    """How to run one venue's cryptofeed handler on our captures."""

    feed: str
    """Class name in ``cryptofeed.exchanges`` (``BinanceFutures``, ``Bybit``, ...)."""
    symbols: dict[str, str]
    """cryptofeed normalised symbol -> exchange symbol, for the symbol table."""
    address: str = ""
    """``conn.address`` the handler reads (Bybit takes linear/spot from its last path part)."""
    instrument_types: dict[str, str] = field(default_factory=dict)
    """Normalised symbol -> cryptofeed instrument type (``perpetual``, ``spot``, ...)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Extra feed keyword arguments (``checksum_validation=True`` where our adapter checks too)."""


class _FakeConn:
    """The connection object cryptofeed's handlers receive (only read attributes)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.uuid = "tapescope-bench"
        self.conn_type = "wss"


@dataclass(slots=True)
class CfRun:
    """One fresh cryptofeed feed, ready to be fed frames."""

    feed: Any
    """The cryptofeed feed instance."""
    conn: _FakeConn
    """What the handler receives as its connection."""
    symbols: dict[str, str]
    """Normalised -> exchange symbol."""
    callbacks: list[int]
    """``[n]``: book callbacks so far (a list so the callback closure can count)."""
    rest_reads: list[str]
    """URLs of the REST reads served from the capture."""

    def feed_all(self, frames: list[tuple[float, str]]) -> None:
        """Await the handler on every ``(timestamp_s, text)`` frame, in one event loop."""
        handler = self.feed.message_handler
        conn = self.conn

        async def run() -> None:
            for ts, text in frames:
                await handler(text, conn, ts)

        # cryptofeed logs a warning per frame of a channel it was not asked for
        # (Coinbase heartbeats, tickers); a deployment would not print those.
        log = logging.getLogger("feedhandler")
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            asyncio.run(run())
        finally:
            log.setLevel(level)

    def tops(self) -> dict[str, tuple[tuple[float, float] | None, tuple[float, float] | None]]:
        """Exchange symbol -> (best bid, best ask) as floats, from cryptofeed's books."""
        out = {}
        books = self.feed._l2_book
        for norm, exch in self.symbols.items():
            book = books.get(norm)
            if book is None:
                out[exch] = (None, None)
                continue
            sides = []
            for side in (book.book.bids, book.book.asks):
                if len(side):
                    p, q = side.index(0)
                    sides.append((float(p), float(q)))
                else:
                    sides.append(None)
            out[exch] = (sides[0], sides[1])
        return out


def make_cf_run(spec: CfSpec, rest_bodies: dict[str, str]) -> CfRun:
    """Build a fresh cryptofeed feed for ``spec`` that never touches the network.

    Args:
        spec: the feed class and symbols.
        rest_bodies: exchange symbol -> captured REST depth body, served to the
            feed's snapshot read.

    Raises:
        ImportError: cryptofeed is not installed.
    """
    import cryptofeed.exchanges as cfx
    from cryptofeed.defines import L2_BOOK
    from cryptofeed.symbols import Symbols

    cls = getattr(cfx, spec.feed)
    # Filling the symbol table up front is what stops the exchange-info request.
    Symbols.set(
        cls.id, dict(spec.symbols), {"tick_size": {}, "instrument_type": dict(spec.instrument_types)}
    )
    counter = [0]

    async def on_book(book: Any, receipt_ts: float) -> None:
        counter[0] += 1

    feed = cls(subscription={L2_BOOK: list(spec.symbols)}, callbacks={L2_BOOK: on_book}, **spec.options)
    served: list[str] = []

    async def read(url: str, *args: Any, **kwargs: Any) -> str:
        served.append(url)
        m = _SYMBOL_RE.search(url)
        if m is None or m.group(1).upper() not in rest_bodies:
            raise KeyError(f"no captured REST body for {url}")
        return rest_bodies[m.group(1).upper()]

    feed.http_conn.read = read
    return CfRun(feed, _FakeConn(spec.address), dict(spec.symbols), counter, served)

