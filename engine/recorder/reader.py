"""Read a recording (one file or a rotated set) as one ordered session.

:class:`Recording` opens every file read-only (``file:...?mode=ro``), checks
that the parts belong to one session and join without holes, and offers:

* ordered iteration over messages (optionally interleaved with REST
  snapshots and gap markers, in the order they were received),
* checkpoint lookup (latest checkpoint of a market at or before ``t``),
* :meth:`Recording.seek`: the checkpoints to load and the message id to
  resume from so a replay reaches time ``t`` without reading from the start.

The record types live in :mod:`~tapescope.engine.recorder.records` and the
file-set handling in :mod:`~tapescope.engine.recorder.parts`; both are
re-exported here. Reads are blocking ``sqlite3`` calls; async callers run
them in a thread (``asyncio.to_thread``), a chunk at a time.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tapescope.engine.recorder.checkpoint import Checkpoint, decode_book
from tapescope.engine.recorder.errors import (
    CorruptRecordingError,
    EmptyRecordingError,
)
from tapescope.engine.recorder.parts import Part, check_set, fetch, glob_escape, resolve_parts
from tapescope.engine.recorder.records import GapMarker, Message, Record, RestSnapshot, SeekPoint
from tapescope.engine.recorder.schema import open_readonly

__all__ = [
    "CHUNK",
    "GapMarker",
    "Message",
    "Record",
    "Recording",
    "RestSnapshot",
    "SeekPoint",
    "glob_escape",
    "resolve_parts",
]

log = logging.getLogger(__name__)

#: Rows fetched per query while iterating (bounds memory, amortises query cost).
CHUNK = 20_000


class Recording:
    """A recording session opened read-only: one file or a rotated set.

    Usage::

        with Recording.open("session.db") as rec:
            for msg in rec.iter_messages(start_ns=t0):
                ...
            point = rec.seek(t1)  # checkpoints + where to resume
    """

    def __init__(self, parts: list[Part]) -> None:
        self._parts = parts
        self.meta: dict[str, Any] = parts[0].meta
        """Meta of the first file (venues, symbols, config, versions, started_ns)."""

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, allow_empty: bool = False, check_integrity: bool = False) -> Recording:
        """Open a recording read-only and validate it.

        Args:
            path: a file, a numbered part, or the base name of a rotated set.
            allow_empty: accept a recording with no messages.
            check_integrity: run ``PRAGMA quick_check`` on every file (``O(size)``).

        Raises:
            NotARecordingError, SchemaVersionError, CorruptRecordingError: a bad file.
            MissingPartError: parts missing or from different sessions.
            EmptyRecordingError: no messages (unless ``allow_empty``).
        """
        parts: list[Part] = []
        try:
            for file in resolve_parts(path):
                conn, meta = open_readonly(file, check_integrity=check_integrity)
                part = Part(file, conn, meta, 0, 0)
                parts.append(part)
                lo, hi = fetch(part, "SELECT min(id), max(id) FROM messages", ())[0]
                part.first_id, part.last_id = lo or 0, hi or 0
                part.conn_names = dict(fetch(part, "SELECT id, conn_id FROM connections", ()))
            check_set(parts)
        except BaseException:
            for p in parts:
                p.conn.close()
            raise
        rec = cls(parts)
        if not allow_empty and rec.message_count == 0:
            rec.close()
            raise EmptyRecordingError(f"{path}: the recording holds no messages")
        return rec

    def close(self) -> None:
        """Close every file."""
        for part in self._parts:
            part.conn.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- facts -----------------------------------------------------------------

    @property
    def files(self) -> list[Path]:
        """The files of the session, in order."""
        return [p.path for p in self._parts]

    @property
    def symbols(self) -> list[str]:
        """Market keys recorded."""
        return list(self.meta.get("symbols") or [])

    @property
    def venues(self) -> list[str]:
        """Venue ids recorded."""
        return list(self.meta.get("venues") or [])

    @property
    def first_id(self) -> int:
        """Id of the first message (0 when empty)."""
        return next((p.first_id for p in self._parts if p.first_id), 0)

    @property
    def last_id(self) -> int:
        """Id of the last message (0 when empty)."""
        return max((p.last_id for p in self._parts), default=0)

    @property
    def message_count(self) -> int:
        """Number of messages. ``O(files)``."""
        return sum(p.last_id - p.first_id + 1 for p in self._parts if p.first_id)

    @property
    def ended_ns(self) -> int | None:
        """Session end from the last file's meta, or None when it was not closed cleanly."""
        return self._parts[-1].meta.get("ended_ns")

    @property
    def started_ns(self) -> int | None:
        """Session start as recorded."""
        return self.meta.get("started_ns")

    def first_recv_ns(self) -> int:
        """Receive time of the first message (0 when empty)."""
        msg = self.message(self.first_id) if self.first_id else None
        return msg.recv_ns if msg else 0

    def last_recv_ns(self) -> int:
        """Receive time of the last message (0 when empty)."""
        msg = self.message(self.last_id) if self.last_id else None
        return msg.recv_ns if msg else 0

    def conn_ids(self) -> list[str]:
        """Every connection id seen, in first-registration order."""
        seen: dict[str, None] = {}
        for part in self._parts:
            for _, name in sorted(part.conn_names.items()):
                seen.setdefault(name, None)
        return list(seen)

    def part_connections(self) -> list[tuple[Path, sqlite3.Connection, dict[int, str]]]:
        """``(file, read-only connection, conn id names)`` per part, for aggregate queries."""
        return [(p.path, p.conn, p.conn_names) for p in self._parts]

    # -- messages --------------------------------------------------------------

    def _part_of(self, msg_id: int) -> Part | None:
        for part in self._parts:
            if part.first_id and part.first_id <= msg_id <= part.last_id:
                return part
        return None

    def message(self, msg_id: int) -> Message | None:
        """One message by id, or None. ``O(log n)``."""
        part = self._part_of(msg_id)
        if part is None:
            return None
        rows = fetch(part, "SELECT id, conn, recv_ns, payload FROM messages WHERE id = ?", (msg_id,))
        row = rows[0] if rows else None
        return Message(row[0], part.conn_names.get(row[1], f"#{row[1]}"), row[2], row[3]) if row else None

    def iter_messages(
        self,
        start_id: int = 0,
        end_id: int | None = None,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        chunk: int = CHUNK,
    ) -> Iterator[Message]:
        """Messages in id order, across every file.

        Args:
            start_id: first id to yield (default: from the start).
            end_id: last id to yield (inclusive).
            start_ns: start at the first message with ``recv_ns >= start_ns`` (see :meth:`id_at`).
            end_ns: stop before the first message with ``recv_ns > end_ns``.
            chunk: rows per query.

        Runtime complexity: ``O(log n)`` to start, then ``O(1)`` per message.
        """
        if start_ns is not None:
            start_id = max(start_id, self.id_at(start_ns))
        hi = self.last_id if end_id is None else min(end_id, self.last_id)
        for part in self._parts:
            if not part.first_id or part.last_id < start_id or part.first_id > hi:
                continue
            names = part.conn_names
            cursor_id = max(start_id, part.first_id)
            stop = min(hi, part.last_id)
            while cursor_id <= stop:
                rows = fetch(
                    part,
                    "SELECT id, conn, recv_ns, payload FROM messages WHERE id >= ? AND id <= ? ORDER BY id LIMIT ?",
                    (cursor_id, stop, chunk),
                )
                if not rows:
                    break
                for mid, conn, recv_ns, payload in rows:
                    if end_ns is not None and recv_ns > end_ns:
                        return
                    yield Message(mid, names.get(conn) or f"#{conn}", recv_ns, payload)
                cursor_id = rows[-1][0] + 1

    def iter_records(self, start_id: int = 0, end_id: int | None = None, *, chunk: int = CHUNK) -> Iterator[Record]:
        """Messages interleaved with REST snapshots and gap markers, in receive order.

        A snapshot or gap with ``after_msg_id = k`` comes right after message
        ``k`` (before message ``k + 1``); those with ``after_msg_id < start_id``
        are skipped unless ``start_id`` is the session start.
        """
        extras: list[tuple[int, int, Record]] = []
        # Extras after message k belong to the range holding k + 1, so
        # consecutive ranges partition them; the session end keeps the tail.
        lo = start_id - 1 if start_id > self.first_id else -1
        last = self.last_id
        upper = min(end_id, last) - 1 if end_id is not None and end_id < last else 1 << 62
        for part in self._parts:
            for sym, recv_ns, after, payload in part.conn.execute(
                "SELECT symbol, recv_ns, after_msg_id, payload FROM snapshots "
                "WHERE after_msg_id >= ? AND after_msg_id <= ? ORDER BY id",
                (lo, upper),
            ):
                extras.append((after, 0, RestSnapshot(sym, recv_ns, after, payload)))
            for f, t, n, after in part.conn.execute(
                "SELECT from_ns, to_ns, dropped, after_msg_id FROM gaps "
                "WHERE after_msg_id >= ? AND after_msg_id <= ? ORDER BY id",
                (lo, upper),
            ):
                extras.append((after, 1, GapMarker(f, t, n, after)))
        # Stable sort keeps the within-file insertion order of same-position extras.
        extras.sort(key=lambda e: e[0])
        i = 0
        n_extra = len(extras)
        for msg in self.iter_messages(start_id, end_id, chunk=chunk):
            while i < n_extra and extras[i][0] < msg.id:
                yield extras[i][2]
                i += 1
            yield msg
        while i < n_extra:
            yield extras[i][2]
            i += 1

    def id_at(self, t_ns: int) -> int:
        """First message id with ``recv_ns >= t_ns`` (``last_id + 1`` past the end).

        Binary search on the id, relying on receive times being
        non-decreasing (they are stamped from one monotonic-anchored clock
        in arrival order). ``O(log n)`` indexed lookups.
        """
        lo, hi = self.first_id, self.last_id + 1
        if lo == 0:
            return 1
        while lo < hi:
            mid = (lo + hi) // 2
            msg = self.message(mid)
            if msg is None:
                raise CorruptRecordingError(f"{self.files[0]}: message {mid} missing from the id range")
            if msg.recv_ns < t_ns:
                lo = mid + 1
            else:
                hi = mid
        return lo

    # -- checkpoints and seeking -----------------------------------------------

    def checkpoint_at(self, symbol: str, t_ns: int) -> Checkpoint | None:
        """Latest checkpoint of ``symbol`` with ``recv_ns <= t_ns``, decoded. ``O(log c + levels)``."""
        for part in reversed(self._parts):
            rows = fetch(
                part,
                "SELECT recv_ns, msg_id, book FROM checkpoints WHERE symbol = ? AND recv_ns <= ? "
                "ORDER BY recv_ns DESC, id DESC LIMIT 1",
                (symbol, t_ns),
            )
            if rows:
                row = rows[0]
                seq, bids, asks = decode_book(row[2])
                return Checkpoint(symbol, row[0], row[1], seq, bids, asks)
        return None

    def checkpoints(self, symbol: str | None = None) -> list[tuple[str, int, int]]:
        """``(symbol, recv_ns, msg_id)`` of every checkpoint (not decoded), in order."""
        out: list[tuple[str, int, int]] = []
        for part in self._parts:
            q = "SELECT symbol, recv_ns, msg_id FROM checkpoints"
            args: tuple[Any, ...] = ()
            if symbol is not None:
                q += " WHERE symbol = ?"
                args = (symbol,)
            out.extend(part.conn.execute(q + " ORDER BY id", args).fetchall())
        return out

    def seek(self, t_ns: int, symbols: Sequence[str] | None = None) -> SeekPoint:
        """Plan a replay that reaches receive time ``t_ns``.

        Load each returned checkpoint into its market's book, then replay
        messages from ``resume_id`` up to ``target_id - 1``, skipping a
        market's messages with ``id <= checkpoint.msg_id``. Markets without a
        checkpoint before ``t_ns`` replay from the session start.

        Runtime complexity: ``O(s (log c + levels) + log n)`` for ``s`` markets.
        """
        keys = list(symbols) if symbols is not None else self.symbols
        cps = {}
        for key in keys:
            cp = self.checkpoint_at(key, t_ns)
            if cp is not None:
                cps[key] = cp
        if keys and len(cps) == len(keys):
            resume = min(cp.msg_id for cp in cps.values()) + 1
        else:
            resume = self.first_id or 1
        return SeekPoint(t_ns, cps, resume, self.id_at(t_ns))

    def snapshots(self, symbol: str | None = None) -> list[RestSnapshot]:
        """Every REST snapshot (optionally of one market), in order."""
        out = []
        for part in self._parts:
            q = "SELECT symbol, recv_ns, after_msg_id, payload FROM snapshots"
            args: tuple[Any, ...] = ()
            if symbol is not None:
                q += " WHERE symbol = ?"
                args = (symbol,)
            out.extend(RestSnapshot(*r) for r in part.conn.execute(q + " ORDER BY id", args))
        return out

    def gaps(self) -> list[GapMarker]:
        """Every gap marker, in order."""
        out = []
        for part in self._parts:
            out.extend(
                GapMarker(*r)
                for r in part.conn.execute("SELECT from_ns, to_ns, dropped, after_msg_id FROM gaps ORDER BY id")
            )
        return out
