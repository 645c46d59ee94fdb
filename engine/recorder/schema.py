"""Recording file format: tables, schema version, and opening a file safely.

One recording file is a SQLite database in WAL mode with these tables:

* ``meta(key, value)``: JSON values for ``schema_version``, ``app_version``,
  ``session_id``, ``file_index``, ``venues``, ``symbols``, ``config``,
  ``started_ns``, ``ended_ns`` (``null`` until a clean close).
* ``connections(id, conn_id)``: small integer per feed connection id, so each
  message row stores an integer instead of repeating the connection name.
* ``messages(id, conn, recv_ns, payload)``: every raw message exactly as
  received (``bytes`` stays a BLOB, ``str`` stays TEXT), ``id`` increasing
  across the whole session (rotated files continue the numbering).
* ``snapshots(id, symbol, recv_ns, after_msg_id, payload)``: REST snapshot
  bodies; ``after_msg_id`` places each exactly within the message order.
* ``checkpoints(id, symbol, recv_ns, msg_id, seq, book)``: the book of one
  symbol after applying every message with ``id <= msg_id``.
* ``gaps(id, from_ns, to_ns, dropped, after_msg_id)``: explicit markers for
  messages the recorder had to drop because its queue was full.

The view ``messages_named`` joins connection names back for ad-hoc SQL.

Reading never modifies a file: it is opened with a ``file:...?mode=ro`` URI.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from tapescope.engine.recorder.errors import (
    CorruptRecordingError,
    NotARecordingError,
    SchemaVersionError,
)

log = logging.getLogger(__name__)

#: Version of the file layout written by this code; readers refuse newer files.
SCHEMA_VERSION = 1
#: Application id stamped in the SQLite header (``PRAGMA application_id``): "TSCP".
APPLICATION_ID = 0x54534350
#: First 16 bytes of every SQLite 3 database file.
SQLITE_MAGIC = b"SQLite format 3\x00"

#: DDL for a new recording file, executed once at creation.
SCHEMA_SQL = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE connections (
    id      INTEGER PRIMARY KEY,
    conn_id TEXT NOT NULL UNIQUE
);
CREATE TABLE messages (
    id      INTEGER PRIMARY KEY,
    conn    INTEGER NOT NULL,
    recv_ns INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE snapshots (
    id           INTEGER PRIMARY KEY,
    symbol       TEXT NOT NULL,
    recv_ns      INTEGER NOT NULL,
    after_msg_id INTEGER NOT NULL,
    payload      BLOB NOT NULL
);
CREATE INDEX snapshots_symbol_time ON snapshots(symbol, recv_ns);
CREATE TABLE checkpoints (
    id      INTEGER PRIMARY KEY,
    symbol  TEXT NOT NULL,
    recv_ns INTEGER NOT NULL,
    msg_id  INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    book    BLOB NOT NULL
);
CREATE INDEX checkpoints_symbol_time ON checkpoints(symbol, recv_ns);
CREATE TABLE gaps (
    id           INTEGER PRIMARY KEY,
    from_ns      INTEGER NOT NULL,
    to_ns        INTEGER NOT NULL,
    dropped      INTEGER NOT NULL,
    after_msg_id INTEGER NOT NULL
);
CREATE VIEW messages_named AS
    SELECT m.id, c.conn_id, m.recv_ns, m.payload
    FROM messages m JOIN connections c ON c.id = m.conn;
"""

#: Tables every recording must have.
REQUIRED_TABLES = frozenset({"meta", "connections", "messages", "snapshots", "checkpoints", "gaps"})
#: Meta keys every recording must have.
REQUIRED_META = ("schema_version", "session_id", "file_index")


def ro_uri(path: Path) -> str:
    """SQLite URI that opens ``path`` read-only (never creates or modifies it).

    >>> ro_uri(Path("/tmp/a b.db"))
    'file:/tmp/a%20b.db?mode=ro'
    """
    from urllib.parse import quote

    return f"file:{quote(str(path.resolve()))}?mode=ro"


def read_meta(conn: sqlite3.Connection) -> dict[str, Any]:
    """All meta keys of an open recording, JSON-decoded."""
    return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def _check_header(path: Path) -> None:
    """Cheap checks on the raw file before SQLite sees it.

    Raises:
        NotARecordingError: not a SQLite file.
        CorruptRecordingError: shorter than its header says (a truncated copy).
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        raise NotARecordingError(f"{path}: no such file") from None
    except OSError as exc:
        raise NotARecordingError(f"{path}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise NotARecordingError(f"{path}: empty file, not a tapescope recording")
    if not head.startswith(SQLITE_MAGIC[:15]):
        raise NotARecordingError(f"{path}: not a SQLite database, so not a tapescope recording")
    if len(head) < 100:
        raise CorruptRecordingError(f"{path}: truncated ({size} bytes, shorter than the SQLite header)")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages_in_header = int.from_bytes(head[28:32], "big")
    change_counter = int.from_bytes(head[24:28], "big")
    valid_for = int.from_bytes(head[92:96], "big")
    # The in-header page count is authoritative only when "version-valid-for"
    # matches the change counter (SQLite file format section 1.3.7).
    wal = path.with_name(path.name + "-wal")
    if page_size and valid_for == change_counter and not wal.exists():
        expected = pages_in_header * page_size
        if size < expected:
            raise CorruptRecordingError(
                f"{path}: truncated ({size} bytes on disk, header says {expected})"
            )


def open_readonly(path: Path, *, check_integrity: bool = False) -> tuple[sqlite3.Connection, dict[str, Any]]:
    """Open and validate one recording file without modifying it.

    Args:
        path: the ``.db`` file.
        check_integrity: also run ``PRAGMA quick_check`` (reads every page: ``O(file size)``).

    Returns:
        ``(connection, meta)``: a read-only connection and the decoded meta.

    Raises:
        NotARecordingError: not SQLite, or SQLite without tapescope's tables.
        SchemaVersionError: written by a newer schema version.
        CorruptRecordingError: truncated or damaged.
    """
    path = Path(path)
    _check_header(path)
    try:
        conn = sqlite3.connect(ro_uri(path), uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise CorruptRecordingError(f"{path}: cannot open ({exc})") from None
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = REQUIRED_TABLES - tables
        if missing:
            raise NotARecordingError(
                f"{path}: SQLite file without tapescope tables (missing {', '.join(sorted(missing))})"
            )
        meta = read_meta(conn)
        absent = [k for k in REQUIRED_META if k not in meta]
        if absent:
            raise NotARecordingError(f"{path}: recording meta lacks {', '.join(absent)}")
        version = meta["schema_version"]
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{path}: schema version {version} is newer than this tapescope reads "
                f"({SCHEMA_VERSION}); upgrade tapescope"
            )
        if check_integrity:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                raise CorruptRecordingError(f"{path}: damaged ({result})")
        # Touch the last message page: a file cut short usually fails here.
        conn.execute("SELECT id, recv_ns FROM messages ORDER BY id DESC LIMIT 1").fetchone()
    except (NotARecordingError, SchemaVersionError, CorruptRecordingError):
        conn.close()
        raise
    except (sqlite3.DatabaseError, json.JSONDecodeError) as exc:
        conn.close()
        text = str(exc)
        if "not a database" in text:
            raise NotARecordingError(f"{path}: not a SQLite database, so not a tapescope recording") from None
        raise CorruptRecordingError(f"{path}: damaged ({text})") from None
    return conn, meta
