"""Recorder benchmarks: sustained record rate, bytes on disk, seek time.

The engine never reads the wall clock, so the caller passes one
(``clock() -> int`` nanoseconds; the ``tests/bench`` script and the
``tapescope bench`` command pass a monotonic high-resolution counter).

* :func:`bench_record`: feed ``n`` messages into a :class:`Recorder` as fast
  as it sustains (the engine idle: no parsing), yielding to the writer as a
  live event loop would, and throttling only when the queue passes half
  its bound, so nothing is dropped. Reports messages/s and bytes on disk
  per million messages.
* :func:`bench_seek`: build a recording spanning ``hours`` of receive time
  with checkpoints (untimed), then time opening it, seeking to random times
  and rebuilding every book at that time from checkpoint + messages.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot
from tapescope.engine.recorder.checkpoint import BookTracker
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.reader import Recording
from tapescope.engine.recorder.synthetic import DEFAULT_T0, decode_synthetic, synthetic_stream
from tapescope.engine.recorder.writer import Recorder

#: A clock returning nanoseconds (injected: the engine reads no clock itself).
Clock = Callable[[], int]


@dataclass(frozen=True, slots=True)
class RecordBench:
    """Result of :func:`bench_record`."""

    messages: int
    """Messages written."""
    seconds: float
    """Elapsed from the first ``on_raw`` to the file closed."""
    payload_bytes: int
    """Payload bytes written."""
    disk_bytes: int
    """File size after close."""
    dropped: int
    """Messages dropped (should be 0)."""
    max_stall_ms: float = 0.0
    """Longest event-loop stall seen by a 1 ms ticker, in ms (includes the feeding loop's own 1000-message bursts)."""

    @property
    def rate(self) -> float:
        """Sustained messages per second."""
        return self.messages / self.seconds

    @property
    def disk_bytes_per_million(self) -> float:
        """Bytes on disk per million messages."""
        return self.disk_bytes * 1e6 / self.messages

    def to_text(self) -> str:
        """One-line report."""
        avg = self.payload_bytes / self.messages
        return (
            f"record: {self.messages:,} msgs (avg payload {avg:.0f} B) in {self.seconds:.2f} s = "
            f"{self.rate:,.0f} msg/s; {self.disk_bytes_per_million / 1e6:,.1f} MB on disk per million "
            f"({self.disk_bytes_per_million / 1e6 / avg:.2f} x payload); dropped {self.dropped}; "
            f"max loop stall {self.max_stall_ms:.1f} ms"
        )


@dataclass(frozen=True, slots=True)
class SeekBench:
    """Result of :func:`bench_seek`."""

    messages: int
    """Messages in the recording."""
    span_s: float
    """Receive-time span of the recording."""
    open_s: float
    """Time to open (validate) the recording."""
    seek_s: list[float]
    """Per seek: checkpoint lookup + book rebuild to the target time."""

    def to_text(self) -> str:
        """One-line report."""
        s = sorted(self.seek_s)
        return (
            f"seek: {self.messages:,} msgs over {self.span_s / 3600:.2f} h; open {self.open_s * 1e3:.1f} ms; "
            f"{len(s)} seeks: median {s[len(s) // 2] * 1e3:.1f} ms, max {s[-1] * 1e3:.1f} ms"
        )


def bench_record(
    path: Path,
    clock: Clock,
    n: int = 1_000_000,
    payloads: Sequence[bytes] | None = None,
    config: RecordConfig | None = None,
    rate: float = 0.0,
) -> RecordBench:
    """Measure the sustained record rate into a new file at ``path``.

    Args:
        path: output file (must not exist).
        clock: nanosecond clock.
        n: messages to write.
        payloads: payloads to cycle through (default: 50,000 synthetic ones).
        config: recorder settings (default: the shipped defaults).
        rate: when above 0, feed at this many messages/s (in 100-message steps)
            instead of as fast as possible: the loop-stall figure then shows
            what a live session at that rate sees.
    """
    pool = list(payloads) if payloads else [p for _, _, p in synthetic_stream(50_000)]
    conns = ("bench#0", "bench#1")

    async def run() -> RecordBench:
        rec = Recorder(path, config or RecordConfig(), venues=["bench"])
        await rec.start()
        half = rec.config.max_queue_messages // 2
        m = len(pool)
        on_raw = rec.on_raw
        stall = [0]

        async def ticker() -> None:
            # How late a 1 ms sleep wakes up = how long something held the loop.
            while True:
                a = clock()
                await asyncio.sleep(0.001)
                stall[0] = max(stall[0], clock() - a - 1_000_000)

        tick = asyncio.create_task(ticker())
        t0 = clock()
        recv = DEFAULT_T0
        for i in range(n):
            on_raw(conns[i & 1], recv + i * 10_000, pool[i % m])
            if rate > 0.0 and i % 100 == 99:
                delay = t0 + (i + 1) * 1e9 / rate - clock()
                await asyncio.sleep(max(delay, 0.0) / 1e9)
            elif i % 1000 == 999:
                # A live loop yields between socket reads; the writer runs then.
                await asyncio.sleep(0)
                while rec.queued > half:
                    await asyncio.sleep(0.001)
        await rec.close()
        seconds = (clock() - t0) / 1e9
        tick.cancel()
        return RecordBench(rec.stats.written, seconds, rec.stats.payload_bytes, path.stat().st_size,
                           rec.stats.dropped, stall[0] / 1e6)

    return asyncio.run(run())


def make_long_recording(path: Path, hours: float = 1.0, rate: float = 200.0, checkpoint_s: float = 60.0) -> int:
    """Write a synthetic recording spanning ``hours`` at ``rate`` msg/s, with checkpoints.

    Returns:
        Messages written.
    """
    n = int(hours * 3600 * rate)
    step = int(1e9 / rate)

    async def run() -> int:
        tracker = BookTracker()
        rec = Recorder(path, RecordConfig(checkpoint_interval_s=checkpoint_s), venues=["t"],
                       symbols=["t:AAA", "t:BBB"], checkpoint_source=tracker.checkpoint_source)
        await rec.start()
        for i, (conn, recv, payload) in enumerate(synthetic_stream(n, step_ns=step)):
            rec.on_raw(conn, recv, payload)
            for ev in decode_synthetic(conn, recv, payload):
                tracker.on_event(ev)
            if i % 1000 == 999:
                await asyncio.sleep(0)
                while rec.queued > 100_000:
                    await asyncio.sleep(0.001)
        await rec.close()
        return rec.stats.written

    return asyncio.run(run())


def rebuild_books(rec: Recording, t_ns: int) -> dict[str, Book]:
    """Every market's book at receive time ``t_ns``: checkpoint, then the messages after it.

    Runtime complexity: ``O(levels + m)`` for ``m`` messages since the checkpoint.
    """
    sp = rec.seek(t_ns)
    books = {k: cp.to_book() for k, cp in sp.checkpoints.items()}
    after = {k: cp.msg_id for k, cp in sp.checkpoints.items()}
    for m in rec.iter_messages(sp.resume_id, sp.target_id - 1):
        for ev in decode_synthetic(m.conn_id, m.recv_ns, m.payload):
            if m.id <= after.get(ev.symbol, 0):
                continue
            if isinstance(ev, BookSnapshot):
                books.setdefault(ev.symbol, Book()).apply_snapshot(ev.bids, ev.asks, ev.seq)
            elif isinstance(ev, BookDelta) and ev.symbol in books:
                books[ev.symbol].apply_delta(ev.bids, ev.asks, ev.seq)
    return books


def bench_seek(path: Path, clock: Clock, seeks: int = 20, seed: int = 7) -> SeekBench:
    """Time opening ``path`` and rebuilding books at ``seeks`` random times in it."""
    t0 = clock()
    rec = Recording.open(path)
    t1 = clock()
    try:
        lo, hi = rec.first_recv_ns(), rec.last_recv_ns()
        rng = random.Random(seed)
        times = []
        for _ in range(seeks):
            t = rng.randint(lo, hi)
            s0 = clock()
            rebuild_books(rec, t)
            times.append((clock() - s0) / 1e9)
        return SeekBench(rec.message_count, (hi - lo) / 1e9, (t1 - t0) / 1e9, times)
    finally:
        rec.close()


def run_recorder_bench(
    clock: Clock,
    n: int = 1_000_000,
    hours: float = 1.0,
    rate: float = 200.0,
    paced: float = 20_000.0,
    payloads: Sequence[bytes] | None = None,
) -> list[str]:
    """Every recorder benchmark in a temporary folder; one report line each (for ``tapescope bench``).

    Args:
        clock: nanosecond clock (the caller's; the engine reads none).
        n: messages per unpaced record run.
        hours: receive-time span of the seek recording.
        rate: messages/s of the seek recording.
        paced: messages/s of the paced loop-stall run (10 s of it); 0 skips it.
        payloads: real venue frames for an extra record run (bytes on disk at venue sizes).
    """
    import tempfile

    lines = []
    with tempfile.TemporaryDirectory(prefix="tapescope-bench-") as tmp:
        d = Path(tmp)
        lines.append("synthetic  " + bench_record(d / "a.db", clock, n).to_text())
        if payloads:
            lines.append("venue      " + bench_record(d / "b.db", clock, n, payloads).to_text())
        if paced > 0:
            lines.append("paced      " + bench_record(d / "p.db", clock, int(paced * 10), rate=paced).to_text())
        t0 = clock()
        count = make_long_recording(d / "long.db", hours, rate)
        lines.append(f"built {count:,}-message {hours:g} h recording in {(clock() - t0) / 1e9:.1f} s")
        lines.append(bench_seek(d / "long.db", clock).to_text())
    return lines
