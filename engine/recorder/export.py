"""Export a recording's trades, book, raw messages or signals to CSV (or Parquet).

Rows come from replaying the recording through pluggable decoders
(:class:`~tapescope.engine.recorder.decode.DecoderRegistry`):

* ``trades``: one row per :class:`~tapescope.engine.events.Trade`.
* ``book``: one row per book update: the top ``levels`` per side after it.
* ``messages``: the raw messages (text as-is, binary as hex).
* ``signals``: rows produced by a caller-supplied ``signal_fn(event)`` (the
  engine's detector/fusion pipeline); without one, a clear error.

Parquet needs the optional ``pyarrow`` package (``pip install tapescope[parquet]``);
without it :func:`export` raises :class:`ExportError` saying so.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Event, Trade
from tapescope.engine.recorder.decode import DecoderRegistry
from tapescope.engine.recorder.errors import OutputPathError, RecordingError
from tapescope.engine.recorder.reader import Message, Recording

log = logging.getLogger(__name__)

#: Export kinds :func:`export` accepts.
KINDS = ("trades", "book", "messages", "signals")
#: Output formats :func:`export` accepts.
FORMATS = ("csv", "parquet")
#: ``event -> rows`` for the signals export (column name -> value).
SignalFn = Callable[[Event], Iterable[Mapping[str, Any]]]


class ExportError(RecordingError):
    """An export cannot be produced as asked (unknown kind, missing pyarrow, no signal pipeline)."""


def _events(rec: Recording, decoders: DecoderRegistry, start_ns: int | None, end_ns: int | None) -> Iterator[Event]:
    start_id = rec.id_at(start_ns) if start_ns is not None else 0
    for record in rec.iter_records(start_id):
        if end_ns is not None and isinstance(record, Message) and record.recv_ns > end_ns:
            return
        yield from decoders.decode(record)


def trade_rows(events: Iterable[Event], symbols: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Trade rows from events. ``O(1)`` per event."""
    for ev in events:
        if isinstance(ev, Trade) and (symbols is None or ev.symbol in symbols):
            yield {
                "ts_ns": ev.ts,
                "recv_ns": ev.recv_ts,
                "symbol": ev.symbol,
                "price": ev.price,
                "qty": ev.qty,
                "side": ev.side,
                "trade_id": ev.trade_id,
            }


def book_rows(events: Iterable[Event], levels: int = 5, symbols: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Top-of-book rows after every book event. ``O(k log n + levels)`` per event."""
    books: dict[str, Book] = {}
    for ev in events:
        if not isinstance(ev, (BookSnapshot, BookDelta)) or (symbols is not None and ev.symbol not in symbols):
            continue
        book = books.get(ev.symbol)
        if isinstance(ev, BookSnapshot):
            if book is None:
                book = books[ev.symbol] = Book()
            book.apply_snapshot(ev.bids, ev.asks, ev.seq)
        elif book is None:
            continue  # deltas before the first snapshot describe no known book
        else:
            book.apply_delta(ev.bids, ev.asks, ev.seq)
        bids, asks = book.top(levels)
        row: dict[str, Any] = {"ts_ns": ev.ts, "recv_ns": ev.recv_ts, "symbol": ev.symbol, "seq": ev.seq}
        for i in range(levels):
            # Missing levels are None: an empty CSV cell, a null in Parquet's float column.
            row[f"bid_px_{i + 1}"], row[f"bid_sz_{i + 1}"] = bids[i] if i < len(bids) else (None, None)
            row[f"ask_px_{i + 1}"], row[f"ask_sz_{i + 1}"] = asks[i] if i < len(asks) else (None, None)
        yield row


def message_rows(rec: Recording, start_ns: int | None, end_ns: int | None) -> Iterator[dict[str, Any]]:
    """Raw message rows; binary payloads as hex (``payload_hex`` column). ``O(payload)`` each."""
    for m in rec.iter_messages(start_ns=start_ns, end_ns=end_ns):
        text = m.payload if isinstance(m.payload, str) else None
        yield {
            "id": m.id,
            "conn_id": m.conn_id,
            "recv_ns": m.recv_ns,
            "payload": text if text is not None else "",
            "payload_hex": "" if text is not None else m.payload.hex(),
        }


def export(
    path: Path | str,
    out: Path | str,
    kind: str,
    *,
    decoders: DecoderRegistry | None = None,
    fmt: str = "csv",
    symbols: Iterable[str] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    levels: int = 5,
    signal_fn: SignalFn | None = None,
) -> int:
    """Write one kind of rows from a recording to ``out``.

    Args:
        path: the recording (file or rotated set).
        out: output file (must not exist).
        kind: one of :data:`KINDS`.
        decoders: decoders for the recording's connections (all kinds but ``messages``).
        fmt: ``"csv"`` or ``"parquet"`` (needs pyarrow).
        symbols: restrict to these market keys.
        start_ns: first receive time to include.
        end_ns: last receive time to include.
        levels: book levels per side for ``book``.
        signal_fn: the engine pipeline for ``signals``: ``event -> rows``.

    Returns:
        Rows written.

    Raises:
        ExportError: unknown kind/format, missing decoders, pyarrow or signal pipeline.
        OutputPathError: ``out`` exists or cannot be written.
        RecordingError: the recording cannot be read.
    """
    if kind not in KINDS:
        raise ExportError(f"unknown export kind {kind!r}: expected one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if kind != "messages" and decoders is None:
        raise ExportError(f"exporting {kind} needs decoders for the recording's venues")
    if kind == "signals" and signal_fn is None:
        raise ExportError("exporting signals needs the engine's signal pipeline (signal_fn); none was given")
    pa = pq = None
    if fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ExportError(
                "parquet export needs the optional pyarrow package: pip install 'tapescope[parquet]' (or use csv)"
            ) from None
    out = Path(out)
    if out.exists():
        raise OutputPathError(f"{out}: already exists; refusing to overwrite")
    if not out.parent.is_dir():
        raise OutputPathError(f"{out}: folder {out.parent} does not exist")
    wanted = set(symbols) if symbols is not None else None
    with Recording.open(path) as rec:
        if kind == "messages":
            rows: Iterable[dict[str, Any]] = message_rows(rec, start_ns, end_ns)
        else:
            assert decoders is not None
            events = _events(rec, decoders, start_ns, end_ns)
            if kind == "trades":
                rows = trade_rows(events, wanted)
            elif kind == "book":
                rows = book_rows(events, levels, wanted)
            else:
                assert signal_fn is not None
                rows = (r for ev in events if wanted is None or ev.symbol in wanted for r in signal_fn(ev))
        if pa is not None and pq is not None:
            table = list(rows)
            columns = list(table[0]) if table else []
            pq.write_table(pa.table({c: [r.get(c) for r in table] for c in columns}), out)
            return len(table)
        return _write_csv(out, rows)


def _write_csv(out: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Stream rows to CSV; the first row fixes the columns. ``O(rows)``, constant memory."""
    n = 0
    try:
        with out.open("x", newline="", encoding="utf-8") as fh:
            writer: csv.DictWriter[str] | None = None
            for row in rows:
                if writer is None:
                    writer = csv.DictWriter(fh, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                n += 1
    except OSError as exc:
        raise OutputPathError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return n
