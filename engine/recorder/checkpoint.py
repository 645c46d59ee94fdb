"""Book checkpoints: compact, exact binary encoding of one symbol's L2 book.

Layout (little endian): a 24-byte header ``magic "TSCK", version u8, flags u8,
pad u16, seq i64, n_bids u32, n_asks u32`` then the levels as float64 pairs
``price, size`` (bids, then asks), zlib-compressed when flag bit 0 is set.
Floats round-trip bit for bit, so a book rebuilt from a checkpoint equals the
live book exactly.

>>> blob = encode_book(7, [(99.5, 1.0)], [(100.5, 2.0), (101.0, 0.25)])
>>> decode_book(blob)
(7, [(99.5, 1.0)], [(100.5, 2.0), (101.0, 0.25)])
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Event, FeedState, Level, StatusChange
from tapescope.engine.recorder.errors import CorruptRecordingError

#: Header struct of an encoded checkpoint.
_HEADER = struct.Struct("<4sBBHqII")
#: Magic bytes opening every checkpoint blob.
MAGIC = b"TSCK"
#: Current checkpoint encoding version.
VERSION = 1
#: Flag bit: the level payload is zlib-compressed.
FLAG_ZLIB = 1

#: What a checkpoint source returns for a market: ``(seq, bids, asks)``, or None when not in sync.
BookState = tuple[int, Sequence[Level], Sequence[Level]]
#: ``(market_key) -> BookState | None``; the engine hub provides it (book copies, not views).
CheckpointSource = Callable[[str], BookState | None]


class Checkpoint(NamedTuple):
    """A stored book of one symbol."""

    symbol: str
    """Market key."""
    recv_ns: int
    """Receive time of the first message *after* the checkpoint."""
    msg_id: int
    """The book reflects every message with ``id <= msg_id``."""
    seq: int
    """Venue sequence id of the book."""
    bids: list[Level]
    """Bid levels, price ascending."""
    asks: list[Level]
    """Ask levels, price ascending."""

    def to_book(self) -> Book:
        """A fresh :class:`~tapescope.engine.book.Book` holding this state. ``O(n log n)``."""
        book = Book()
        book.apply_snapshot(self.bids, self.asks, seq=self.seq)
        return book


def encode_book(seq: int, bids: Sequence[Level], asks: Sequence[Level], compress: bool = True) -> bytes:
    """Encode a book state. ``O(n)`` for ``n`` levels.

    Args:
        seq: venue sequence id.
        bids: bid levels in any order.
        asks: ask levels in any order.
        compress: zlib-compress the levels (level 1: fast, ~3x smaller on real books).
    """
    levels = np.asarray(list(bids) + list(asks), dtype="<f8").reshape(-1, 2)
    body = levels.tobytes()
    flags = 0
    if compress:
        body = zlib.compress(body, 1)
        flags |= FLAG_ZLIB
    return _HEADER.pack(MAGIC, VERSION, flags, 0, int(seq), len(bids), len(asks)) + body


def decode_book(blob: bytes) -> tuple[int, list[Level], list[Level]]:
    """Decode :func:`encode_book` output into ``(seq, bids, asks)``. ``O(n)``.

    Raises:
        CorruptRecordingError: the blob is not a valid checkpoint.
    """
    if len(blob) < _HEADER.size:
        raise CorruptRecordingError("checkpoint blob shorter than its header")
    magic, version, flags, _pad, seq, n_bids, n_asks = _HEADER.unpack_from(blob)
    if magic != MAGIC or version > VERSION:
        raise CorruptRecordingError(f"bad checkpoint header (magic {magic!r}, version {version})")
    body = blob[_HEADER.size :]
    try:
        if flags & FLAG_ZLIB:
            body = zlib.decompress(body)
    except zlib.error as exc:
        raise CorruptRecordingError(f"checkpoint body damaged ({exc})") from None
    if len(body) != (n_bids + n_asks) * 16:
        raise CorruptRecordingError("checkpoint level count does not match its body")
    arr = np.frombuffer(body, dtype="<f8").reshape(-1, 2)
    pairs = [(float(p), float(q)) for p, q in arr.tolist()]
    return seq, pairs[:n_bids], pairs[n_bids:]


class BookTracker:
    """Event sink that keeps one :class:`Book` per market and serves checkpoints.

    Used by the headless record runner (and tests) when no engine hub owns
    the books. A market's book counts as in sync once a snapshot arrived;
    :meth:`reset` drops it (the feed resynced).

    >>> t = BookTracker()
    >>> t.on_event(BookSnapshot("s:X", 1, 1, [(9.0, 1.0)], [(11.0, 1.0)], seq=3))
    >>> t.on_event(BookDelta("s:X", 2, 2, [(10.0, 2.0)], [], seq=4))
    >>> t.checkpoint_source("s:X")
    (4, [(9.0, 1.0), (10.0, 2.0)], [(11.0, 1.0)])
    >>> t.checkpoint_source("s:Y") is None
    True
    """

    def __init__(self) -> None:
        self.books: dict[str, Book] = {}
        """Books by market key (only markets whose last snapshot is still in sync)."""

    def on_event(self, event: Event) -> None:
        """Apply book events; ignore the rest. ``O(k log n)`` per delta of ``k`` levels.

        A :class:`StatusChange` away from ``LIVE`` drops the book: it is not
        the venue's book until the next snapshot.
        """
        if isinstance(event, BookDelta):
            book = self.books.get(event.symbol)
            if book is not None:
                book.apply_delta(event.bids, event.asks, event.seq)
        elif isinstance(event, StatusChange):
            if event.state != FeedState.LIVE:
                self.books.pop(event.symbol, None)
        elif isinstance(event, BookSnapshot):
            book = self.books.get(event.symbol)
            if book is None:
                book = self.books[event.symbol] = Book()
            book.apply_snapshot(event.bids, event.asks, event.seq)

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        """Raw messages are not this sink's business."""

    def reset(self, key: str) -> None:
        """Forget a market's book until its next snapshot. ``O(1)``."""
        self.books.pop(key, None)

    def checkpoint_source(self, key: str) -> BookState | None:
        """Copy of a market's book as ``(seq, bids, asks)``, or None. ``O(n)``."""
        book = self.books.get(key)
        if book is None:
            return None
        return book.seq, list(book.bids.items()), list(book.asks.items())


def markets_checkpoint_source(markets: Mapping[str, Any]) -> CheckpointSource:
    """Checkpoint source over the engine hub's markets (``hub.markets``).

    A market's book is served only while its state is ``LIVE``, it has
    applied at least one snapshot and is not crossed: a book that is not the
    venue's book must never become a checkpoint.

    Runtime complexity of the returned callable: ``O(n)`` for ``n`` levels (the copy).
    """

    def source(key: str) -> BookState | None:
        market = markets.get(key)
        if market is None or market.state != FeedState.LIVE:
            return None
        book: Book = market.book
        if book.updates == 0 or book.is_crossed():
            return None
        return book.seq, list(book.bids.items()), list(book.asks.items())

    return source
