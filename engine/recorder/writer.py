"""The async :class:`Recorder`: a raw-message tap that writes a session to SQLite.

Feeds hand every raw frame to :meth:`Recorder.on_raw` before parsing it.
``on_raw`` never blocks and never does I/O: it numbers the message and
appends a tuple to an in-memory batch (``O(1)``). A writer task swaps the
batch out and inserts it with aiosqlite (the SQLite work runs on aiosqlite's
thread, so the event loop keeps running) in one transaction, when
``batch_max_messages`` are queued or at the next flush tick
(``asyncio.sleep(batch_interval_ms)``), whichever comes first.

When the queue holds ``max_queue_messages`` the overflow is counted, and
the next accepted message is preceded by a ``gaps`` row giving the receive
time span and number dropped: nothing disappears silently.

Book checkpoints are taken inside ``on_raw``, from ``checkpoint_source``,
*before* the message is numbered: feeds call ``on_raw`` before parsing, so
the book then reflects exactly the messages already numbered. Markers
(checkpoints, REST snapshots, gaps, file rotations) are queued with their
position in the batch so the writer keeps them in message order.

The recorder never reads the wall clock: times are the receive stamps the
feed passes in (and ``started_ns``/``ended_ns`` the caller may pass).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from tapescope.engine.recorder.checkpoint import CheckpointSource, encode_book
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.errors import RecordingError
from tapescope.engine.recorder.schema import SCHEMA_VERSION
from tapescope.engine.recorder.storage import (
    create_file,
    default_app_version,
    finish_file,
    map_write_error,
    part_path,
    query,
    set_meta,
)

log = logging.getLogger(__name__)

#: ``on_raw`` connection ids starting with this carry a REST snapshot body;
#: the rest of the id is the market key (``"rest:binance-usdm:BTCUSDT"``).
REST_CONN_PREFIX = "rest:"

#: Rows per executemany call (bounds how long the writer thread holds the GIL at once).
_INSERT_CHUNK = 5000
_INSERT_MESSAGE = "INSERT INTO messages(id, conn, recv_ns, payload) VALUES (?, ?, ?, ?)"
_NONES = [None] * _INSERT_CHUNK

# Marker kinds queued beside messages.
_CHECKPOINT, _SNAPSHOT, _GAP, _ROTATE = range(4)


@dataclass(slots=True)
class RecorderStats:
    """Live counters of a recorder (read by the status line; cheap to copy)."""

    received: int = 0
    """Messages passed to ``on_raw`` (including dropped ones)."""
    written: int = 0
    """Messages committed to disk."""
    dropped: int = 0
    """Messages dropped (queue full, after an error, or after close)."""
    gaps: int = 0
    """Gap markers queued."""
    checkpoints: int = 0
    """Checkpoints queued."""
    snapshots: int = 0
    """REST snapshots queued."""
    batches: int = 0
    """Transactions committed."""
    payload_bytes: int = 0
    """Payload bytes committed."""
    files: int = 0
    """Files opened so far."""
    last_recv_ns: int = 0
    """Receive time of the last message accepted."""
    out_of_order: int = 0
    """Messages whose receive time is earlier than the previous one's (seeking assumes none)."""


class Recorder:
    """Writes raw messages, REST snapshots, checkpoints and gaps to SQLite.

    Usage::

        rec = Recorder(Path("s.db"), RecordConfig(), venues=["sim"], symbols=hub.keys,
                       checkpoint_source=markets_checkpoint_source(hub.markets))
        await rec.start()
        ...  # feed calls rec.on_raw(conn_id, recv_ns, payload)
        await rec.close()

    It also works as ``async with Recorder(...) as rec:``.
    """

    def __init__(
        self,
        path: Path | str,
        config: RecordConfig | None = None,
        *,
        venues: Sequence[str] = (),
        symbols: Sequence[str] = (),
        app_config: dict[str, Any] | None = None,
        app_version: str | None = None,
        checkpoint_source: CheckpointSource | None = None,
        sqlite_pragmas: dict[str, int | str] | None = None,
        instruments: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Prepare a recorder; nothing touches the disk until :meth:`start`.

        Args:
            path: output file. With rotation on, files are ``<stem>.0001.db``, ``.0002.db``...
            config: recorder settings.
            venues: venue ids, stored in meta.
            symbols: market keys, stored in meta and checkpointed.
            app_config: the effective application config, stored in meta as JSON.
            app_version: stored in meta (default: the installed version).
            checkpoint_source: ``key -> (seq, bids, asks) | None``; no checkpoints when None.
            sqlite_pragmas: extra ``PRAGMA name = value`` applied to each file (ops/tests,
                e.g. ``{"max_page_count": 100}``).
            instruments: instrument details (tick, lot, kind...) as JSON-able dicts, stored in
                meta so a replay rebuilds the same instruments.
        """
        self.path = Path(path)
        self.config = config or RecordConfig()
        self.venues = list(venues)
        self.symbols = list(symbols)
        self.instruments = [dict(i) for i in instruments]
        self.app_config = app_config if app_config is not None else {"record": asdict(self.config)}
        self.app_version = app_version or default_app_version()
        self.checkpoint_source = checkpoint_source
        self.sqlite_pragmas = dict(sqlite_pragmas or {})
        self.stats = RecorderStats()
        """Live counters."""
        self.files: list[Path] = []
        """Files written so far, in order."""
        self.error: RecordingError | None = None
        """Set when the writer failed (disk full...); the recorder then only counts drops."""
        self.session_id = os.urandom(8).hex()
        """Random id shared by every file of this recording."""
        self._rotate_ns = self.config.rotate_every_ns
        self._rotate_bytes = self.config.rotate_size_bytes
        self._batch_max = self.config.batch_max_messages
        self._max_queue = self.config.max_queue_messages
        self._max_bytes = self.config.max_queue_mb * 1_000_000
        self._queued_bytes = 0
        self._cp_interval = int(self.config.checkpoint_interval_s * 1e9)
        self._cp_retry = int(self.config.checkpoint_retry_s * 1e9)
        self._cp_due = dict.fromkeys(self.symbols, 0)
        self._next_cp_ns = 0 if (checkpoint_source and self.symbols) else 1 << 62
        self._buf: list[tuple[int, int, int, bytes | str]] = []
        self._markers: list[tuple[int, int, Any]] = []
        self._conns: dict[str, int] = {}
        self._new_conns: list[tuple[int, str]] = []
        self._last_id = 0
        self._drop_count = 0
        self._drop_from = 0
        self._drop_to = 0
        self._file_deadline_ns = 0
        self._rotate_requested = False
        self._started_ns: int | None = None
        self._db: aiosqlite.Connection | None = None
        self._file_first_ns: int | None = None
        self._file_last_ns = 0
        self._wake = asyncio.Event()
        self._cond = asyncio.Condition()
        self._swaps = 0
        self._completed = 0
        self._accepting = False
        self._writer: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> Recorder:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, started_ns: int | None = None) -> None:
        """Create the first file and start the writer.

        Args:
            started_ns: session start (wall clock ns, from the caller); default:
                the first message's receive time.

        Raises:
            OutputPathError: the file exists, its folder is missing, or it cannot be written.
        """
        self._started_ns = started_ns
        await self._open_file(1)
        self._accepting = True
        self._writer = asyncio.create_task(self._run_writer(), name="recorder-writer")
        self._ticker = asyncio.create_task(self._run_ticker(), name="recorder-ticker")

    async def flush(self) -> None:
        """Wait until everything queued before this call is committed.

        Raises:
            RecordingError: the writer failed (the error it failed with).
        """
        if self._writer is None:
            return
        target = self._swaps + 1
        writer = self._writer
        self._wake.set()
        async with self._cond:
            await self._cond.wait_for(lambda: self._completed >= target or writer.done())
        if self.error is not None:
            raise self.error

    async def close(self, ended_ns: int | None = None) -> None:
        """Flush everything, write ``ended_ns``, checkpoint the WAL and close the file.

        Args:
            ended_ns: session end (wall clock ns, from the caller); default: the
                last message's receive time.

        Raises:
            RecordingError: the writer failed earlier (after closing what can be closed).
        """
        if self._writer is None:
            return
        self._accepting = False
        self._queue_pending_gap()
        self._wake.set()
        try:
            await self._writer
        finally:
            if self._ticker is not None:
                self._ticker.cancel()
                await asyncio.gather(self._ticker, return_exceptions=True)
            self._writer = None
        if self._db is not None:
            end = ended_ns if ended_ns is not None else self.stats.last_recv_ns
            try:
                await self._close_file(end if self.error is None else None)
            except sqlite3.Error as exc:
                self.error = self.error or self._map_error(exc)
        if self.error is not None:
            raise self.error

    @property
    def queued(self) -> int:
        """Messages waiting in memory (not counting the batch being written). ``O(1)``."""
        return len(self._buf)

    # -- the tap (hot path) --------------------------------------------------

    def on_event(self, event: object) -> None:
        """Events are not recorded (they are derived from the raw messages)."""

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        """Queue one raw message. Never blocks, never raises. ``O(1)`` amortised.

        Connection ids starting with ``"rest:"`` are REST snapshot bodies
        (see :meth:`on_snapshot`).
        """
        if conn_id.startswith(REST_CONN_PREFIX):
            self.on_snapshot(conn_id[len(REST_CONN_PREFIX) :], recv_ns, payload)
            return
        stats = self.stats
        stats.received += 1
        buf = self._buf
        if not self._accepting or len(buf) >= self._max_queue or self._queued_bytes >= self._max_bytes:
            stats.dropped += 1
            if self._accepting:
                # Queue full: remember the span so a gap marker records it.
                if self._drop_count == 0:
                    self._drop_from = recv_ns
                self._drop_count += 1
                self._drop_to = recv_ns
            return
        if self._drop_count:
            self._queue_pending_gap()
        if recv_ns >= self._next_cp_ns:
            self._take_checkpoints(recv_ns, force=False)
        if self._rotate_requested or (self._rotate_ns and recv_ns >= self._file_deadline_ns):
            self._queue_rotation(recv_ns)
        conn = self._conns.get(conn_id)
        if conn is None:
            conn = self._conns[conn_id] = len(self._conns) + 1
            self._new_conns.append((conn, conn_id))
        self._last_id += 1
        if recv_ns < stats.last_recv_ns:
            stats.out_of_order += 1
        buf.append((self._last_id, conn, recv_ns, payload))
        self._queued_bytes += len(payload)
        stats.last_recv_ns = recv_ns
        if len(buf) >= self._batch_max:
            self._wake.set()

    def on_snapshot(self, symbol: str, recv_ns: int, payload: bytes | str) -> None:
        """Queue a REST snapshot body for ``symbol``, placed after the last message. ``O(1)``."""
        if not self._accepting:
            return
        self.stats.snapshots += 1
        self._markers.append((len(self._buf), _SNAPSHOT, (symbol, recv_ns, self._last_id, payload)))

    def add_symbol(self, key: str) -> None:
        """Start checkpointing another market (a symbol added while recording). ``O(1)``."""
        if key not in self._cp_due:
            self.symbols.append(key)
            self._cp_due[key] = 0
            if self.checkpoint_source is not None:
                self._next_cp_ns = 0

    def _queue_pending_gap(self) -> None:
        if self._drop_count:
            self.stats.gaps += 1
            gap = (self._drop_from, self._drop_to, self._drop_count, self._last_id)
            self._markers.append((len(self._buf), _GAP, gap))
            log.warning("recorder queue full: dropped %d messages (gap marker written)", self._drop_count)
            self._drop_count = 0

    def _take_checkpoints(self, recv_ns: int, force: bool) -> None:
        """Queue checkpoints for every market that is due (or all, when forced).

        Runtime complexity: ``O(s + n)`` for ``s`` markets and ``n`` levels
        copied; runs only when the earliest due time has passed.
        """
        source = self.checkpoint_source
        if source is None:
            return
        due = self._cp_due
        pos = len(self._buf)
        for key, when in due.items():
            if not force and recv_ns < when:
                continue
            try:
                state = source(key)
            except Exception:  # the tap must never raise into a feed
                log.exception("checkpoint source failed for %s; checkpoint skipped", key)
                state = None
            if state is None:
                due[key] = recv_ns + self._cp_retry
                continue
            seq, bids, asks = state
            self._markers.append((pos, _CHECKPOINT, (key, recv_ns, self._last_id, seq, bids, asks)))
            self.stats.checkpoints += 1
            due[key] = recv_ns + self._cp_interval
        self._next_cp_ns = min(due.values()) if due else 1 << 62

    def _queue_rotation(self, recv_ns: int) -> None:
        """Start a new file before the next message, with fresh checkpoints in it."""
        self._file_deadline_ns = recv_ns + self._rotate_ns if self._rotate_ns else 1 << 62
        if self._last_id == 0 and not self._rotate_requested:
            return  # the first message only starts the first file's clock
        self._rotate_requested = False
        self._markers.append((len(self._buf), _ROTATE, self._last_id))
        # Every file opens with a checkpoint per market, so each file can be
        # seeked on its own.
        self._take_checkpoints(recv_ns, force=True)

    # -- writer side -----------------------------------------------------------

    async def _run_ticker(self) -> None:
        interval = self.config.batch_interval_ms / 1000.0
        while True:
            await asyncio.sleep(interval)
            self._wake.set()

    async def _run_writer(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                final = not self._accepting
                msgs, self._buf = self._buf, []
                self._queued_bytes = 0
                markers, self._markers = self._markers, []
                conns, self._new_conns = self._new_conns, []
                self._swaps += 1
                gen = self._swaps
                if msgs or markers or conns:
                    await self._write_batch(msgs, markers, conns)
                self._completed = gen
                async with self._cond:
                    self._cond.notify_all()
                if final and not self._buf and not self._markers:
                    return
        except (sqlite3.Error, OSError) as exc:
            self.error = self._map_error(exc)
            self._accepting = False
            log.error("%s", self.error)
        finally:
            async with self._cond:
                self._cond.notify_all()

    def _map_error(self, exc: BaseException) -> RecordingError:
        return map_write_error(exc, self.files[-1] if self.files else self.path, self.stats.written)

    async def _write_batch(
        self,
        msgs: list[tuple[int, int, int, bytes | str]],
        markers: list[tuple[int, int, Any]],
        conns: list[tuple[int, str]],
    ) -> None:
        """Insert one swapped batch; rotation markers split it across files."""
        db = self._db
        assert db is not None
        await db.execute("BEGIN")
        if conns:
            await db.executemany("INSERT OR IGNORE INTO connections(id, conn_id) VALUES (?, ?)", conns)
        start = 0
        for pos, kind, data in markers:
            if pos > start:
                await self._insert_messages(msgs, start, pos)
                start = pos
            if kind == _ROTATE:
                await db.execute("COMMIT")
                await self._close_file(self._file_last_ns)
                await self._open_file(len(self.files) + 1)
                db = self._db
                assert db is not None
                await db.execute("BEGIN")
            elif kind == _CHECKPOINT:
                key, recv_ns, msg_id, seq, bids, asks = data
                blob = encode_book(seq, bids, asks, self.config.compress_checkpoints)
                await db.execute(
                    "INSERT INTO checkpoints(symbol, recv_ns, msg_id, seq, book) VALUES (?, ?, ?, ?, ?)",
                    (key, recv_ns, msg_id, seq, blob),
                )
            elif kind == _SNAPSHOT:
                await db.execute(
                    "INSERT INTO snapshots(symbol, recv_ns, after_msg_id, payload) VALUES (?, ?, ?, ?)", data
                )
            else:
                await db.execute(
                    "INSERT INTO gaps(from_ns, to_ns, dropped, after_msg_id) VALUES (?, ?, ?, ?)", data
                )
        if start < len(msgs):
            await self._insert_messages(msgs, start, len(msgs))
        await db.execute("COMMIT")
        self.stats.batches += 1
        self.stats.written += len(msgs)
        if self._rotate_bytes and not self._rotate_requested:
            pages = (await query(db, "PRAGMA page_count"))[0][0]
            size = (await query(db, "PRAGMA page_size"))[0][0]
            if pages * size >= self._rotate_bytes:
                self._rotate_requested = True

    async def _insert_messages(self, batch: list[Any], start: int, end: int) -> None:
        """Insert ``batch[start:end]``, releasing each chunk's rows as soon as it is written.

        Bounded executemany calls keep each hop to aiosqlite's thread short,
        and overwriting written rows with None frees them a chunk at a time:
        freeing a 100k-row batch in one go would stall the event loop for tens of ms.
        """
        db = self._db
        assert db is not None
        if self._file_first_ns is None:
            first = self._file_first_ns = batch[start][2]
            values: dict[str, Any] = {"first_recv_ns": first}
            if self._started_ns is None:
                # No caller clock: the session starts with its first message.
                self._started_ns = values["started_ns"] = first
            await set_meta(db, values)
        self._file_last_ns = batch[end - 1][2]
        step = _INSERT_CHUNK
        stats = self.stats
        for i in range(start, end, step):
            j = min(i + step, end)
            chunk = batch[i:j]
            batch[i:j] = _NONES[: j - i]
            await db.executemany(_INSERT_MESSAGE, chunk)
            stats.payload_bytes += sum([len(r[3]) for r in chunk])
            del chunk

    async def _open_file(self, index: int) -> None:
        path = part_path(self.path, index) if self.config.rotates else self.path
        meta = {
            "schema_version": SCHEMA_VERSION,
            "app_version": self.app_version,
            "session_id": self.session_id,
            "file_index": index,
            "venues": self.venues,
            "symbols": self.symbols,
            "instruments": self.instruments,
            "config": self.app_config,
            "started_ns": self._started_ns,
            "ended_ns": None,
        }
        pragmas = {"synchronous": self.config.synchronous, **self.sqlite_pragmas}
        self._db = await create_file(path, meta, [(n, c) for c, n in self._conns.items()], pragmas)
        self._file_first_ns = None
        self.files.append(path)
        self.stats.files = len(self.files)
        log.info("recording to %s", path)

    async def _close_file(self, ended_ns: int | None) -> None:
        """Finish the current file (see :func:`finish_file`); ``None`` just closes it."""
        db = self._db
        assert db is not None
        self._db = None
        # Symbols may have been added while recording (add_symbol).
        meta = {"ended_ns": ended_ns, "last_recv_ns": self._file_last_ns, "symbols": self.symbols}
        await finish_file(db, meta if ended_ns is not None else None)
