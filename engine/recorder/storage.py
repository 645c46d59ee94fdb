"""SQLite file plumbing for the recorder: naming, output checks, create and finish a file.

Kept apart from :mod:`~tapescope.engine.recorder.writer` so the writer holds
only the queueing and batching logic.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import aiosqlite

from tapescope.engine.recorder.errors import DiskFullError, OutputPathError, RecordingError
from tapescope.engine.recorder.schema import APPLICATION_ID, SCHEMA_SQL


def default_app_version() -> str:
    """The installed tapescope version, or ``"dev"`` when running from a checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tapescope")
    except PackageNotFoundError:
        return "dev"


def part_path(path: Path, index: int) -> Path:
    """Numbered file name of part ``index`` (1-based) of a rotated recording.

    >>> part_path(Path("/data/s.db"), 3).name
    's.0003.db'
    """
    stem = path.name[:-3] if path.name.endswith(".db") else path.name
    return path.with_name(f"{stem}.{index:04d}.db")


async def query(db: aiosqlite.Connection, sql: str) -> list[Any]:
    """Run one statement and drain its cursor (an open cursor would pin a transaction)."""
    async with db.execute(sql) as cur:
        return list(await cur.fetchall())


async def set_meta(db: aiosqlite.Connection, values: dict[str, Any]) -> None:
    """Insert or replace meta keys (values stored as JSON)."""
    await db.executemany(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
        [(k, json.dumps(v)) for k, v in values.items()],
    )


def amend_meta(paths: Sequence[Path], values: dict[str, Any]) -> None:
    """Replace meta keys in closed recording files (the importer's final instrument specs).

    Args:
        paths: recording files written and closed by a :class:`~tapescope.engine.recorder.writer.Recorder`.
        values: meta keys to set (stored as JSON).

    Raises:
        RecordingError: a file cannot be updated (mapped like a write error).
    """
    for path in paths:
        try:
            with closing(sqlite3.connect(path, isolation_level=None)) as conn:
                conn.execute("BEGIN")
                conn.executemany(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in values.items()],
                )
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise map_write_error(exc, path, 0) from None


async def create_file(
    path: Path, meta: dict[str, Any], conns: Sequence[tuple[int, str]], pragmas: dict[str, Any]
) -> aiosqlite.Connection:
    """Create a new recording file: WAL mode, pragmas, schema, meta and known connections.

    Raises:
        OutputPathError: the path is unusable or SQLite cannot create the file.
        DiskFullError: the disk filled up while creating it.
    """
    check_output_path(path)
    try:
        db = await aiosqlite.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise OutputPathError(f"{path}: cannot create ({exc})") from None
    try:
        await query(db, "PRAGMA journal_mode=WAL")
        await query(db, f"PRAGMA application_id={APPLICATION_ID}")
        for name, value in pragmas.items():
            await query(db, f"PRAGMA {name}={int(value) if isinstance(value, bool) else value}")
        await db.executescript(SCHEMA_SQL)
        await db.execute("BEGIN")
        await set_meta(db, meta)
        await db.executemany("INSERT INTO connections(id, conn_id) VALUES (?, ?)", list(conns))
        await db.execute("COMMIT")
    except sqlite3.Error as exc:
        await db.close()
        if getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL":
            raise DiskFullError(f"{path}: disk full while creating the file (SQLITE_FULL)") from None
        raise OutputPathError(f"{path}: cannot create ({exc})") from None
    return db


async def finish_file(db: aiosqlite.Connection, meta: dict[str, Any] | None) -> None:
    """Write the closing meta, fold the WAL back, switch to DELETE mode and close.

    With ``meta`` None (the writer failed) the connection is only closed, so
    the file stays exactly as the last successful commit left it.
    """
    try:
        if meta is not None:
            await db.execute("BEGIN")
            await set_meta(db, meta)
            await db.execute("COMMIT")
            await query(db, "PRAGMA wal_checkpoint(TRUNCATE)")
            # DELETE mode leaves one self-contained file, safe to copy or mail.
            await query(db, "PRAGMA journal_mode=DELETE")
    finally:
        await db.close()


def check_output_path(path: Path) -> None:
    """Refuse an output path that cannot work, with a one-line reason.

    Raises:
        OutputPathError: folder missing or not a folder, not writable, or file exists.
    """
    parent = path.parent
    if not parent.exists():
        raise OutputPathError(f"{path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputPathError(f"{path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: folder {parent} is not writable")
    if path.exists():
        raise OutputPathError(f"{path}: already exists; refusing to overwrite a recording")



def map_write_error(exc: BaseException, where: Path, written: int) -> RecordingError:
    """Translate a failure of the writer into a one-line :class:`RecordingError`."""
    if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL":
        return DiskFullError(f"{where}: disk full after {written} messages (SQLITE_FULL); recording stopped")
    if isinstance(exc, OSError):
        return OutputPathError(f"{where}: cannot write ({exc.strerror or exc})")
    return RecordingError(f"{where}: write failed ({exc})")
