"""ReplayFeed: exact re-emission, re-recording, pacing, pause/resume, seek via checkpoints."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tapescope.engine.events import BookSnapshot, Event, FeedState
from tapescope.engine.recorder.checkpoint import BookTracker
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.decode import FunctionDecoder
from tapescope.engine.recorder.reader import Recording
from tapescope.engine.recorder.synthetic import books_from, decode_synthetic, synthetic_stream
from tapescope.engine.recorder.writer import Recorder
from tapescope.feeds.replay import ReplayFeed
from tapescope.tui.record import RecordingTap

N = 4000
STEP = 1_000_000  # 1 ms apart: 4 s of receive time
DECODERS = {"t#": lambda prefix: FunctionDecoder(decode_synthetic)}


class Collect:
    """A sink that keeps everything and mirrors books like the engine would."""

    def __init__(self) -> None:
        self.raw: list[tuple[str, int, bytes | str]] = []
        self.events: list[Event] = []
        self.books = BookTracker()

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        self.raw.append((conn_id, recv_ns, payload))

    def on_event(self, event: Event) -> None:
        self.events.append(event)
        self.books.on_event(event)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("replay") / "r.db"
    msgs = list(synthetic_stream(N, step_ns=STEP))

    async def go() -> None:
        tracker = BookTracker()
        rec = Recorder(path, RecordConfig(checkpoint_interval_s=1.0), venues=["t"], symbols=["t:AAA", "t:BBB"],
                       checkpoint_source=tracker.checkpoint_source,
                       instruments=[{"venue": "t", "symbol": "AAA", "tick_size": 0.5, "kind": "linear"},
                                    {"venue": "t", "symbol": "BBB", "tick_size": 0.5}])
        await rec.start()
        for i, (conn, recv, payload) in enumerate(msgs):
            rec.on_raw(conn, recv, payload)
            for ev in decode_synthetic(conn, recv, payload):
                tracker.on_event(ev)
            if i == 100:
                rec.on_raw("rest:t:AAA", recv, b'{"rest": true}')
            if i % 500 == 0:
                await asyncio.sleep(0)
        await rec.close()

    asyncio.run(go())
    return path, msgs


async def test_replay_re_emits_raw_and_decoded_events_exactly(recording) -> None:
    path, msgs = recording
    feed = ReplayFeed(path, DECODERS, speed=0)
    assert [i.key for i in feed.instruments] == ["t:AAA", "t:BBB"]
    assert feed.instruments[0].tick_size == 0.5 and feed.instruments[0].kind.value == "linear"
    sink = Collect()
    await feed.run(sink)
    assert feed.finished
    expected_raw = msgs[:101] + [("rest:t:AAA", msgs[100][1], b'{"rest": true}')] + msgs[101:]
    assert sink.raw == expected_raw
    assert sink.events == [ev for c, r, p in msgs for ev in decode_synthetic(c, r, p)]
    health = {h.conn_id: h for h in feed.connection_health()}
    assert {k: h.messages for k, h in health.items()} == {
        "t#0": sum(1 for m in msgs if m[0] == "t#0"), "t#1": sum(1 for m in msgs if m[0] == "t#1")
    }
    assert health["t#1"].bytes == sum(len(m[2]) for m in msgs if m[0] == "t#1")
    assert all(h.state == FeedState.DISCONNECTED for h in health.values())
    feed.close()


async def test_replay_into_a_recorder_reproduces_the_recording(recording, tmp_path: Path) -> None:
    path, msgs = recording
    feed = ReplayFeed(path, DECODERS, speed=0)
    rec = Recorder(tmp_path / "again.db")
    await rec.start()
    await feed.run(RecordingTap(rec, BookTracker()))
    await rec.close()
    feed.close()
    with Recording.open(path) as a, Recording.open(tmp_path / "again.db") as b:
        assert list(a.iter_messages()) == list(b.iter_messages())
        assert a.snapshots() == b.snapshots()


async def test_speed_scales_receive_time(recording) -> None:
    path, msgs = recording
    span = (msgs[-1][1] - msgs[0][1]) / 1e9  # ~4 s
    feed = ReplayFeed(path, DECODERS, speed=10)
    t0 = time.monotonic()
    await feed.run(Collect())
    elapsed = time.monotonic() - t0
    assert span / 10 * 0.9 <= elapsed <= span / 10 + 1.0
    feed.close()


async def test_pause_holds_and_resume_continues(recording) -> None:
    path, _ = recording
    feed = ReplayFeed(path, DECODERS, speed=0)
    feed.pause()
    sink = Collect()
    task = asyncio.create_task(feed.run(sink))
    await asyncio.sleep(0.2)
    assert sink.raw == [] and feed.paused and not task.done()
    feed.resume()
    await asyncio.wait_for(task, 10)
    assert len(sink.raw) == N + 1
    feed.close()


async def test_speed_change_mid_run(recording) -> None:
    path, _ = recording
    feed = ReplayFeed(path, DECODERS, speed=0.5)  # would take ~8 s
    task = asyncio.create_task(feed.run(Collect()))
    await asyncio.sleep(0.1)
    feed.set_speed(0)
    await asyncio.wait_for(task, 5)
    feed.close()


@pytest.mark.parametrize("frac", [0.3, 0.62, 0.95])
async def test_seek_while_paused_rebuilds_the_books_from_a_checkpoint(recording, frac: float) -> None:
    path, msgs = recording
    t = msgs[int(frac * N)][1] + 1
    feed = ReplayFeed(path, DECODERS, speed=0)
    feed.pause()
    sink = Collect()
    task = asyncio.create_task(feed.run(sink))
    await asyncio.sleep(0.05)
    feed.seek(t)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if feed.position_ns == t:
            break
    assert feed.position_ns == t and feed.paused
    oracle = books_from([m for m in msgs if m[1] < t])
    for k in ("t:AAA", "t:BBB"):
        assert sink.books.checkpoint_source(k) == (
            oracle[k].seq, list(oracle[k].bids.items()), list(oracle[k].asks.items())
        )
    # It started from a checkpoint (one per second), not from the beginning.
    assert isinstance(sink.events[0], BookSnapshot)
    assert len(sink.raw) <= 2 * 1000 + 2
    # Playing on continues exactly after t.
    n_before = len(sink.raw)
    feed.resume()
    await asyncio.wait_for(task, 10)
    rest = [m for m in msgs if m[1] >= t]
    assert sink.raw[n_before:] == rest
    feed.close()


async def test_start_and_end_window(recording) -> None:
    path, msgs = recording
    lo, hi = msgs[1000][1], msgs[1999][1]
    feed = ReplayFeed(path, DECODERS, speed=0, start_ns=lo, end_ns=hi)
    sink = Collect()
    await feed.run(sink)
    assert feed.finished
    # Messages 1000..1999 are played; anything before them is fast-forward from a checkpoint.
    assert sink.raw[-1000:] == msgs[1000:2000]
    assert all(r in msgs[:1000] for r in sink.raw[:-1000])
    oracle = books_from(msgs[:2000])
    for k in ("t:AAA", "t:BBB"):
        assert sink.books.checkpoint_source(k)[1] == list(oracle[k].bids.items())
    feed.close()


async def test_long_silences_are_capped_by_max_wait(tmp_path: Path) -> None:
    path = tmp_path / "gap.db"
    rec = Recorder(path)
    await rec.start()
    t0 = 1_700_000_000_000_000_000
    for i, t in enumerate((0, 10_000_000, 3_600_000_000_000, 3_600_010_000_000)):  # an hour of silence
        rec.on_raw("t#0", t0 + t, b'{"k":"t:AAA","e":"t","p":1.0,"q":1,"x":1}' if i else
                   b'{"k":"t:AAA","e":"s","s":1,"b":[[1.0,1.0]],"a":[[2.0,1.0]]}')
    await rec.close()
    feed = ReplayFeed(path, DECODERS, speed=1.0, max_wait_s=0.2)
    t = time.monotonic()
    sink = Collect()
    await asyncio.wait_for(feed.run(sink), 5)
    assert len(sink.raw) == 4 and 0.2 <= time.monotonic() - t < 1.5
    feed.close()
