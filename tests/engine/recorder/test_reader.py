"""Reading recordings: bad input gets a specific one-line error and is never modified; seeking."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot
from tapescope.engine.recorder.checkpoint import BookTracker
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.errors import (
    CorruptRecordingError,
    EmptyRecordingError,
    NotARecordingError,
    RecordingError,
    SchemaVersionError,
)
from tapescope.engine.recorder.reader import Recording
from tapescope.engine.recorder.synthetic import books_from, decode_synthetic, synthetic_stream
from tapescope.engine.recorder.writer import Recorder


async def _make(path: Path, n: int = 4000, step_ns: int = 5_000_000, cp_s: float = 2.0) -> list:
    tracker = BookTracker()
    rec = Recorder(path, RecordConfig(checkpoint_interval_s=cp_s), venues=["t"], symbols=["t:AAA", "t:BBB"],
                   checkpoint_source=tracker.checkpoint_source)
    await rec.start()
    msgs = list(synthetic_stream(n, step_ns=step_ns))
    for i, (conn, recv, payload) in enumerate(msgs):
        rec.on_raw(conn, recv, payload)
        for ev in decode_synthetic(conn, recv, payload):
            tracker.on_event(ev)
        if i % 500 == 0:
            await asyncio.sleep(0)
    await rec.close()
    return msgs


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("good") / "s.db"
    msgs = asyncio.run(_make(path))
    return path, msgs


def _copy(good: tuple[Path, list], tmp_path: Path) -> Path:
    dst = tmp_path / "copy.db"
    shutil.copy(good[0], dst)
    return dst


def _bad_text(good, d: Path) -> Path:
    p = d / "notes.db"
    p.write_text("hello, I am not a database\n" * 10)
    return p


def _bad_empty_file(good, d: Path) -> Path:
    p = d / "zero.db"
    p.write_bytes(b"")
    return p


def _bad_other_sqlite(good, d: Path) -> Path:
    p = d / "other.db"
    con = sqlite3.connect(p)
    con.execute("CREATE TABLE users (id INTEGER, name TEXT)")
    con.commit()
    con.close()
    return p


def _bad_newer_schema(good, d: Path) -> Path:
    p = _copy(good, d)
    con = sqlite3.connect(p)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (json.dumps(99),))
    con.commit()
    con.close()
    return p


def _bad_truncated(good, d: Path) -> Path:
    p = _copy(good, d)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def _bad_damaged_pages(good, d: Path) -> Path:
    p = _copy(good, d)
    data = bytearray(p.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    # Scribble over the last quarter of the pages: message b-tree pages.
    start = (len(data) // page * 3 // 4) * page
    data[start:] = b"\xa5" * (len(data) - start)
    p.write_bytes(bytes(data))
    return p


@pytest.mark.parametrize(
    ("make", "error", "needle"),
    [
        (_bad_text, NotARecordingError, "not a SQLite database"),
        (_bad_empty_file, NotARecordingError, "empty file"),
        (_bad_other_sqlite, NotARecordingError, "without tapescope tables"),
        (_bad_newer_schema, SchemaVersionError, "schema version 99 is newer"),
        (_bad_truncated, CorruptRecordingError, "truncated"),
        (_bad_damaged_pages, CorruptRecordingError, "damaged"),
    ],
    ids=["text", "zero-bytes", "other-sqlite", "newer-schema", "truncated", "damaged"],
)
def test_bad_input_raises_a_specific_one_line_error_and_is_left_untouched(
    good, tmp_path: Path, make, error: type[RecordingError], needle: str
) -> None:
    path = make(good, tmp_path)
    before = _digest(tmp_path)
    with pytest.raises(error, match=needle) as info:
        with Recording.open(path, check_integrity=True) as rec:
            for _ in rec.iter_messages():
                pass
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    assert _digest(tmp_path) == before  # same files, same bytes: nothing created or changed


def test_damaged_pages_surface_while_iterating_without_integrity_check(good, tmp_path: Path) -> None:
    path = _bad_damaged_pages(good, tmp_path)
    with pytest.raises(CorruptRecordingError):
        with Recording.open(path) as rec:
            for _ in rec.iter_messages():
                pass


async def test_empty_recording(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    rec = Recorder(path)
    await rec.start()
    await rec.close()
    with pytest.raises(EmptyRecordingError, match="holds no messages"):
        Recording.open(path)
    with Recording.open(path, allow_empty=True) as r:
        assert r.message_count == 0 and list(r.iter_messages()) == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotARecordingError, match="no such recording"):
        Recording.open(tmp_path / "nope.db")


def test_reading_a_good_file_changes_nothing(good) -> None:
    path, msgs = good
    before = _digest(path.parent)
    with Recording.open(path, check_integrity=True) as r:
        assert r.message_count == len(msgs)
        r.seek(msgs[len(msgs) // 2][1])
    assert _digest(path.parent) == before


def test_iterate_by_id_and_time_ranges(good) -> None:
    path, msgs = good
    with Recording.open(path) as r:
        assert [m.id for m in r.iter_messages(100, 110)] == list(range(100, 111))
        t_lo, t_hi = msgs[1000][1], msgs[1999][1]
        got = list(r.iter_messages(start_ns=t_lo, end_ns=t_hi, chunk=333))
        assert [m.payload for m in got] == [p for _, _, p in msgs[1000:2000]]
        assert r.id_at(msgs[0][1] - 1) == 1 and r.id_at(msgs[-1][1] + 1) == len(msgs) + 1
        assert r.id_at(msgs[1500][1]) == 1501 and r.id_at(msgs[1500][1] - 1) == 1501


def _replay_to(r: Recording, t_ns: int) -> dict[str, Book]:
    """Rebuild books at ``t_ns`` the fast way: checkpoint, then the messages after it."""
    sp = r.seek(t_ns)
    books = {k: cp.to_book() for k, cp in sp.checkpoints.items()}
    after = {k: cp.msg_id for k, cp in sp.checkpoints.items()}
    for m in r.iter_messages(sp.resume_id, sp.target_id - 1):
        for ev in decode_synthetic(m.conn_id, m.recv_ns, m.payload):
            if ev.symbol in after and m.id <= after[ev.symbol]:
                continue
            if isinstance(ev, BookSnapshot):
                books.setdefault(ev.symbol, Book()).apply_snapshot(ev.bids, ev.asks, ev.seq)
            elif isinstance(ev, BookDelta):
                books[ev.symbol].apply_delta(ev.bids, ev.asks, ev.seq)
    return books


@pytest.mark.parametrize("frac", [0.0, 0.13, 0.5, 0.77, 1.0])
def test_seek_rebuilds_the_same_book_as_replaying_from_the_start(good, frac: float) -> None:
    path, msgs = good
    t = msgs[min(int(frac * len(msgs)), len(msgs) - 1)][1] + 1
    with Recording.open(path) as r:
        sp = r.seek(t)
        if frac >= 0.13:
            # 4000 msgs x 5 ms = 20 s with a checkpoint every 2 s: the replay is short.
            assert set(sp.checkpoints) == {"t:AAA", "t:BBB"}
            assert sp.target_id - sp.resume_id <= 2 * 400 + 2
        got = _replay_to(r, t)
    oracle = books_from([m for m in msgs if m[1] < t])
    assert set(got) == set(oracle)
    for k in oracle:
        assert list(got[k].bids.items()) == list(oracle[k].bids.items())
        assert list(got[k].asks.items()) == list(oracle[k].asks.items())
        assert got[k].seq == oracle[k].seq
