"""Rotation by receive time and by size into numbered files, read back as one session."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tapescope.engine.recorder.bench import rebuild_books
from tapescope.engine.recorder.checkpoint import BookTracker
from tapescope.engine.recorder.config import RecordConfig, parse_duration, parse_size
from tapescope.engine.recorder.errors import MissingPartError, RecorderSettingError
from tapescope.engine.recorder.reader import Recording, resolve_parts
from tapescope.engine.recorder.synthetic import books_from, decode_synthetic, synthetic_stream
from tapescope.engine.recorder.writer import Recorder


async def _record(
    out: Path, cfg: RecordConfig, n: int, step_ns: int, flush_every: int = 0
) -> list[tuple[str, int, bytes]]:
    tracker = BookTracker()
    rec = Recorder(out, cfg, symbols=["t:AAA", "t:BBB"], checkpoint_source=tracker.checkpoint_source)
    await rec.start()
    msgs = list(synthetic_stream(n, step_ns=step_ns))
    for i, (conn, recv, payload) in enumerate(msgs):
        rec.on_raw(conn, recv, payload)
        for ev in decode_synthetic(conn, recv, payload):
            tracker.on_event(ev)
        if flush_every and i % flush_every == flush_every - 1:
            await rec.flush()  # deterministic batches
        elif i % 250 == 0:
            await asyncio.sleep(0)  # let the writer run, as a live loop would
    await rec.close()
    return msgs


@pytest.mark.parametrize(
    ("text", "value"),
    [("1h", 3600 * 10**9), ("30m", 1800 * 10**9), ("90s", 90 * 10**9), ("1.5h", 5400 * 10**9), ("", 0)],
)
def test_parse_duration(text: str, value: int) -> None:
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    ("text", "value"), [("500MB", 500_000_000), ("2GB", 2 * 10**9), ("64MiB", 64 * 2**20), ("10 kb", 10_000)]
)
def test_parse_size(text: str, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["1 hour", "h", "5", "-1h", "0s", "1x"])
def test_bad_duration_is_refused_with_the_value(text: str) -> None:
    with pytest.raises(RecorderSettingError, match="bad duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["500", "MB", "5 potatoes", "0MB"])
def test_bad_size_is_refused_with_the_value(text: str) -> None:
    with pytest.raises(RecorderSettingError, match="bad size"):
        parse_size(text)


def test_bad_rotation_setting_is_refused_at_config_time() -> None:
    with pytest.raises(RecorderSettingError, match="'1 hour'"):
        RecordConfig(rotate_every="1 hour")


async def test_time_rotation_numbers_files_and_reads_as_one_session(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    # 5000 messages 10 ms apart = 50 s of receive time; a new file every 20 s.
    msgs = await _record(out, RecordConfig(rotate_every="20s", checkpoint_interval_s=60.0), 5000, 10_000_000)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["s.0001.db", "s.0002.db", "s.0003.db"]
    with Recording.open(out) as r:
        assert [p.name for p in r.files] == names
        assert [m.payload for m in r.iter_messages()] == [p for _, _, p in msgs]
        assert [m.id for m in r.iter_messages()] == list(range(1, 5001))
        # Each file starts with a checkpoint per market, so it can be seeked alone.
        for path in r.files[1:]:
            con = sqlite3.connect(path)
            first_id = con.execute("SELECT min(id) FROM messages").fetchone()[0]
            cps = con.execute("SELECT symbol, msg_id FROM checkpoints ORDER BY id LIMIT 2").fetchall()
            span = con.execute("SELECT max(recv_ns) - min(recv_ns) FROM messages").fetchone()[0]
            con.close()
            assert cps == [("t:AAA", first_id - 1), ("t:BBB", first_id - 1)]
            assert span < 20 * 10**9
        cp = r.checkpoint_at("t:BBB", msgs[2500][1])
        assert cp is not None
        oracle = books_from(msgs[: cp.msg_id])["t:BBB"]
        assert cp.bids == list(oracle.bids.items()) and cp.asks == list(oracle.asks.items())
    # Any part name opens the whole set.
    with Recording.open(tmp_path / "s.0002.db") as r:
        assert r.message_count == 5000


async def test_size_rotation_keeps_files_near_the_limit(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    cfg = RecordConfig(rotate_size="200KB", batch_max_messages=500)
    msgs = await _record(out, cfg, 12_000, 1_000_000, flush_every=500)
    files = sorted(tmp_path.glob("s.*.db"))
    assert len(files) >= 3
    # Rotation happens after the batch that crossed the limit: a file overshoots by at most ~1 batch.
    for f in files[:-1]:
        assert 200_000 <= f.stat().st_size < 200_000 + 500 * 200
    with Recording.open(out) as r:
        assert [m.payload for m in r.iter_messages()] == [p for _, _, p in msgs]


async def test_missing_part_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    await _record(out, RecordConfig(rotate_every="10s"), 3000, 10_000_000)
    (tmp_path / "s.0002.db").unlink()
    with pytest.raises(MissingPartError, match="missing part"):
        resolve_parts(out)


async def test_part_from_another_session_is_reported(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    await _record(a / "s.db", RecordConfig(rotate_every="10s"), 3000, 10_000_000)
    await _record(b / "s.db", RecordConfig(rotate_every="10s"), 3000, 10_000_000)
    (a / "s.0002.db").write_bytes((b / "s.0002.db").read_bytes())
    with pytest.raises(MissingPartError, match="another recording session"):
        Recording.open(a / "s.db")


async def test_seek_across_rotated_files_rebuilds_the_true_book(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    msgs = await _record(out, RecordConfig(rotate_every="10s", checkpoint_interval_s=4.0), 5000, 10_000_000)
    assert len(list(tmp_path.glob("s.*.db"))) == 5
    with Recording.open(out) as r:
        for k in (1234, 2600, 4999):
            t = msgs[k][1] + 1
            got = rebuild_books(r, t)
            oracle = books_from(msgs[: k + 1])
            for key, book in oracle.items():
                assert list(got[key].bids.items()) == list(book.bids.items())
                assert list(got[key].asks.items()) == list(book.asks.items())
