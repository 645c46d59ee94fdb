"""Recorder (writer) behaviour: exact round trip, batching, overflow gaps, checkpoints, errors."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tapescope.engine.recorder.checkpoint import BookTracker, decode_book
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.errors import DiskFullError, OutputPathError
from tapescope.engine.recorder.reader import GapMarker, Message, Recording, RestSnapshot
from tapescope.engine.recorder.synthetic import books_from, decode_synthetic, synthetic_stream
from tapescope.engine.recorder.writer import Recorder


def _count(path: Path) -> int:
    """Messages visible to an independent reader right now."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM messages").fetchone()[0]
    finally:
        con.close()


async def test_round_trip_keeps_payloads_types_order_and_meta(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    msgs = list(synthetic_stream(3000))
    rec = Recorder(out, venues=["t"], symbols=["t:AAA", "t:BBB"], app_config={"x": 1}, app_version="9.9")
    await rec.start(started_ns=123)
    for i, (conn, recv, payload) in enumerate(msgs):
        # Odd messages as text frames: both must come back with their own type.
        rec.on_raw(conn, recv, payload.decode() if i % 2 else payload)
        if i == 10:
            rec.on_raw("rest:t:AAA", recv, b'{"snap":1}')
    rec.on_raw("t#0", msgs[-1][1] + 5, b"\x00\xffnot json at all")
    await rec.close(ended_ns=456)

    with Recording.open(out) as r:
        got = list(r.iter_messages())
        assert len(got) == 3001 == r.message_count
        for i, (m, (conn, recv, payload)) in enumerate(zip(got, msgs, strict=False)):
            assert m == Message(i + 1, conn, recv, payload.decode() if i % 2 else payload)
            assert type(m.payload) is (str if i % 2 else bytes)
        assert got[-1].payload == b"\x00\xffnot json at all"
        assert r.meta["venues"] == ["t"] and r.meta["symbols"] == ["t:AAA", "t:BBB"]
        assert r.meta["config"] == {"x": 1} and r.meta["app_version"] == "9.9"
        assert r.started_ns == 123 and r.ended_ns == 456
        assert r.conn_ids() == ["t#0", "t#1"]
        records = list(r.iter_records(1, 13))
        # The snapshot arrived after message 11 and sits exactly there.
        assert [type(x).__name__ for x in records[10:13]] == ["Message", "RestSnapshot", "Message"]
        assert records[11] == RestSnapshot("t:AAA", msgs[10][1], 11, b'{"snap":1}')
    # Clean close folds the WAL back: a single self-contained file remains.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]


async def test_on_raw_only_queues_and_batches_commit_by_size(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    rec = Recorder(out, RecordConfig(batch_interval_ms=10_000, batch_max_messages=100))
    await rec.start()
    for conn, recv, payload in synthetic_stream(250):
        rec.on_raw(conn, recv, payload)
    # Nothing is written inside on_raw: all 250 are still in memory.
    assert rec.queued == 250 and _count(out) == 0
    for _ in range(50):
        await asyncio.sleep(0.01)
        if _count(out) == 250:
            break
    # The size trigger fired (the 10 s tick never did): one batch committed.
    assert _count(out) == 250 and rec.stats.batches == 1
    await rec.close()


async def test_flush_tick_commits_a_small_batch_without_flush(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    rec = Recorder(out, RecordConfig(batch_interval_ms=20, batch_max_messages=1_000_000))
    await rec.start()
    for conn, recv, payload in synthetic_stream(7):
        rec.on_raw(conn, recv, payload)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if _count(out) == 7:
            break
    assert _count(out) == 7
    await rec.close()


async def test_full_queue_drops_are_counted_and_recorded_as_a_gap(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    rec = Recorder(out, RecordConfig(max_queue_messages=1000, batch_interval_ms=10_000, batch_max_messages=1_000_000))
    await rec.start()
    msgs = list(synthetic_stream(2600))
    for conn, recv, payload in msgs[:2500]:
        rec.on_raw(conn, recv, payload)  # no await: the writer cannot drain
    assert rec.stats.dropped == 1500 and rec.stats.received == 2500
    await rec.flush()
    for conn, recv, payload in msgs[2500:]:
        rec.on_raw(conn, recv, payload)
    await rec.close()
    with Recording.open(out) as r:
        assert r.gaps() == [GapMarker(msgs[1000][1], msgs[2499][1], 1500, 1000)]
        kept = [m.payload for m in r.iter_messages()]
        assert kept == [p for _, _, p in msgs[:1000] + msgs[2500:]]
        recs = list(r.iter_records(1000, 1001))
        assert isinstance(recs[1], GapMarker) and recs[0].id == 1000 and recs[2].id == 1001


async def test_pending_drops_at_close_still_get_a_gap_marker(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    rec = Recorder(out, RecordConfig(max_queue_messages=1000, batch_interval_ms=10_000, batch_max_messages=1_000_000))
    await rec.start()
    for conn, recv, payload in synthetic_stream(1010):
        rec.on_raw(conn, recv, payload)
    await rec.close()
    with Recording.open(out) as r:
        assert [g.dropped for g in r.gaps()] == [10]


async def test_checkpoints_hold_the_book_after_their_message_id(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    tracker = BookTracker()
    cfg = RecordConfig(checkpoint_interval_s=1.0, batch_max_messages=500)
    keys = ["t:AAA", "t:BBB"]
    rec = Recorder(out, cfg, symbols=keys, checkpoint_source=tracker.checkpoint_source)
    await rec.start()
    msgs = list(synthetic_stream(6000, step_ns=2_000_000))  # 12 s of receive time
    for i, (conn, recv, payload) in enumerate(msgs):
        rec.on_raw(conn, recv, payload)  # the feed taps raw first, then parses
        for ev in decode_synthetic(conn, recv, payload):
            tracker.on_event(ev)
        if i % 700 == 0:
            await asyncio.sleep(0)
    await rec.close()
    with Recording.open(out) as r:
        cps = r.checkpoints()
        per_key = {k: [c for c in cps if c[0] == k] for k in keys}
        # ~12 s at one per second each; the first waits for the market's snapshot.
        assert all(11 <= len(v) <= 13 for v in per_key.values()), {k: len(v) for k, v in per_key.items()}
        for key, rows in per_key.items():
            times = [c[1] for c in rows]
            assert all(b - a >= 1_000_000_000 for a, b in zip(times, times[1:], strict=False))
            for _sym, recv_ns, msg_id in rows[::3]:
                cp = r.checkpoint_at(key, recv_ns)
                assert cp is not None and cp.msg_id == msg_id
                oracle = books_from(msgs[:msg_id])[key]
                assert cp.seq == oracle.seq
                assert cp.bids == list(oracle.bids.items()) and cp.asks == list(oracle.asks.items())


async def test_checkpoint_waits_for_a_book_in_sync(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    state: dict[str, tuple[int, list, list] | None] = {"k": None}
    rec = Recorder(out, RecordConfig(checkpoint_interval_s=10.0, checkpoint_retry_s=1.0),
                   symbols=["k"], checkpoint_source=lambda key: state[key])
    await rec.start()
    rec.on_raw("c", 0, b"a")
    rec.on_raw("c", 500_000_000, b"b")
    state["k"] = (5, [(1.0, 2.0)], [(3.0, 4.0)])
    rec.on_raw("c", 900_000_000, b"c")  # not yet due: retry is 1 s after the failed try at 0
    rec.on_raw("c", 1_000_000_000, b"d")  # due: taken, book after message 3
    rec.on_raw("c", 5_000_000_000, b"e")  # next due at 11 s
    await rec.close()
    con = sqlite3.connect(out)
    rows = con.execute("SELECT symbol, recv_ns, msg_id, seq, book FROM checkpoints").fetchall()
    con.close()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("k", 1_000_000_000, 3, 5)]
    assert decode_book(rows[0][4]) == (5, [(1.0, 2.0)], [(3.0, 4.0)])


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: d / "missing" / "s.db", "does not exist"),
        (lambda d: (d / "afile").write_text("x") and d / "afile" / "s.db", "is not a folder"),
        (lambda d: (d / "s.db").write_bytes(b"old") and d / "s.db", "already exists"),
    ],
    ids=["missing-folder", "parent-is-file", "exists"],
)
async def test_unwritable_output_path_is_refused(tmp_path: Path, make, needle: str) -> None:
    path = make(tmp_path)
    rec = Recorder(path)
    with pytest.raises(OutputPathError, match=needle) as info:
        await rec.start()
    assert "\n" not in str(info.value)
    if path.name == "s.db" and path.parent == tmp_path:
        assert path.read_bytes() == b"old"  # never touched


async def test_full_disk_stops_recording_with_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    # A 60-page cap makes SQLite answer SQLITE_FULL exactly as a full disk does.
    rec = Recorder(out, RecordConfig(batch_max_messages=200), sqlite_pragmas={"max_page_count": 60})
    await rec.start()
    with pytest.raises(DiskFullError, match="disk full") as info:
        for conn, recv, payload in synthetic_stream(20_000):
            rec.on_raw(conn, recv, payload)
            if rec.queued >= 200:
                await rec.flush()
    assert "SQLITE_FULL" in str(info.value)
    assert rec.error is not None
    before = rec.stats.dropped
    rec.on_raw("t#0", 1, b"after")  # still never raises, just counts
    assert rec.stats.dropped == before + 1
    with pytest.raises(DiskFullError):
        await rec.close()
    # Everything committed before the failure is intact and readable.
    with Recording.open(out) as r:
        n = r.message_count
        assert 0 < n < 20_000
        assert [m.payload for m in r.iter_messages()] == [p for _, _, p in synthetic_stream(n)]


async def test_file_is_in_wal_mode_while_recording_and_a_failing_source_never_raises(tmp_path: Path) -> None:
    out = tmp_path / "s.db"

    def broken(key: str):
        raise RuntimeError("hub exploded")

    rec = Recorder(out, symbols=["k"], checkpoint_source=broken)
    await rec.start()
    rec.on_raw("c", 1, b"x")  # must not raise
    await rec.flush()
    header = out.read_bytes()[:20]
    assert header[18] == 2 and header[19] == 2  # file format read/write version 2 = WAL
    await rec.close()
    assert out.read_bytes()[18] == 1  # back to a rollback-journal single file after close
    with Recording.open(out) as r:
        assert r.message_count == 1 and r.checkpoints() == []


async def test_queue_is_also_bounded_in_bytes(tmp_path: Path) -> None:
    out = tmp_path / "s.db"
    cfg = RecordConfig(max_queue_mb=1, batch_interval_ms=10_000, batch_max_messages=1_000_000)
    rec = Recorder(out, cfg)
    await rec.start()
    big = b"x" * 100_000
    for i in range(15):
        rec.on_raw("c", i, big)  # 1.5 MB without yielding: the last 5 cannot fit
    assert rec.stats.dropped == 5 and rec.queued == 10
    await rec.close()
    with Recording.open(out) as r:
        assert r.message_count == 10 and [g.dropped for g in r.gaps()] == [5]


async def test_out_of_order_receive_times_are_counted(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "s.db")
    await rec.start()
    for t in (10, 20, 15, 30, 5):
        rec.on_raw("c", t, b"m")
    await rec.close()
    assert rec.stats.out_of_order == 2 and rec.stats.written == 5
