"""The headless record runner: feeds + hub + recorder, status output, signals, failures."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tapescope.engine.events import BookDelta, BookSnapshot
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.reader import Recording
from tapescope.engine.recorder.synthetic import books_from, decode_synthetic, synthetic_stream
from tapescope.feeds.base import EventSink, Feed
from tapescope.tui.record import (
    EXIT_FAILED,
    EXIT_NO_OUTPUT,
    EXIT_OK,
    RecordingTap,
    default_hub,
    record_session,
)

KEYS = ("t:AAA", "t:BBB")


class SyntheticFeed(Feed):
    """A feed emitting the synthetic stream: raw frame first, then its events."""

    name = "synthetic"

    def __init__(self, n: int, pause_every: int = 200, pause_s: float = 0.0) -> None:
        self.n = n
        self.pause_every = pause_every
        self.pause_s = pause_s

    @property
    def instruments(self) -> list[Instrument]:
        return [Instrument("t", k.split(":")[1]) for k in KEYS]

    async def run(self, sink: EventSink) -> None:
        for i, (conn, recv, payload) in enumerate(synthetic_stream(self.n, step_ns=10_000_000)):
            sink.on_raw(conn, recv, payload)
            for ev in decode_synthetic(conn, recv, payload):
                sink.on_event(ev)
            if i % self.pause_every == 0:
                await asyncio.sleep(self.pause_s)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_records_a_finite_feed_with_hub_checkpoints(tmp_path: Path) -> None:
    feed = SyntheticFeed(12_000)
    hub = Hub(feed.instruments)
    cfg = RecordConfig(checkpoint_interval_s=10.0)
    res = await record_session([feed], tmp_path / "r.db", cfg, hub=hub, out=io.StringIO(), handle_signals=False)
    assert res.exit_code == EXIT_OK and res.error == ""
    msgs = list(synthetic_stream(12_000, step_ns=10_000_000))
    with Recording.open(res.files[0]) as r:
        assert [m.payload for m in r.iter_messages()] == [p for _, _, p in msgs]
        assert r.venues == ["t"] and r.symbols == list(KEYS)
        assert r.ended_ns is not None and r.started_ns is not None and r.ended_ns >= r.started_ns
        cps = r.checkpoints("t:BBB")
        # 120 s of receive time, one per 10 s, from the hub's live books.
        assert 11 <= len(cps) <= 13
        cp = r.checkpoint_at("t:BBB", cps[5][1])
        oracle = books_from(msgs[: cp.msg_id])["t:BBB"]
        assert cp.bids == list(oracle.bids.items()) and cp.asks == list(oracle.asks.items())
    # The hub saw every event, and its books equal the oracle at the end.
    final = books_from(msgs)
    for k in KEYS:
        assert list(hub.markets[k].book.bids.items()) == list(final[k].bids.items())


async def test_terminal_gets_a_live_status_line_rewritten_in_place(tmp_path: Path) -> None:
    out = FakeTTY()
    feed = SyntheticFeed(10**9, pause_every=100, pause_s=0.002)
    cfg = RecordConfig(status_interval_s=0.1)
    res = await record_session([feed], tmp_path / "r.db", cfg, out=out, duration_s=0.6, handle_signals=False)
    assert res.exit_code == EXIT_OK
    text = out.getvalue()
    assert text.count("\r\x1b[2KREC 00:00:0") >= 4
    assert text.endswith("\n") and text.count("\n") == 1  # one line, rewritten; newline only at the end
    assert f"{res.stats.written:,} written" in text.rsplit("\r", 1)[1]


async def test_non_terminal_gets_plain_log_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = io.StringIO()
    feed = SyntheticFeed(10**9, pause_every=100, pause_s=0.002)
    cfg = RecordConfig(log_interval_s=1.0)
    with caplog.at_level(logging.INFO, logger="tapescope.tui.record"):
        res = await record_session([feed], tmp_path / "r.db", cfg, out=out, duration_s=1.5, handle_signals=False)
    assert res.exit_code == EXIT_OK
    assert out.getvalue() == ""  # no control characters where nobody can see them move
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("REC ")]
    assert len(lines) == 1 and "written" in lines[0]


async def test_unwritable_output_exits_2_with_the_reason(tmp_path: Path) -> None:
    res = await record_session([SyntheticFeed(10)], tmp_path / "nope" / "r.db", out=io.StringIO(),
                               handle_signals=False)
    assert res.exit_code == EXIT_NO_OUTPUT and "does not exist" in res.error


async def test_full_disk_stops_with_exit_1_and_keeps_what_was_committed(tmp_path: Path) -> None:
    feed = SyntheticFeed(10**9, pause_every=100, pause_s=0.001)
    cfg = RecordConfig(batch_interval_ms=20)
    res = await record_session([feed], tmp_path / "r.db", cfg, out=io.StringIO(), handle_signals=False,
                               duration_s=30, sqlite_pragmas={"max_page_count": 80})
    assert res.exit_code == EXIT_FAILED and "disk full" in res.error
    with Recording.open(tmp_path / "r.db") as r:
        n = r.message_count
        assert n > 0 and [m.payload for m in r.iter_messages()] == [p for _, _, p in synthetic_stream(n, step_ns=10_000_000)]


def test_tap_forwards_raw_to_recorder_and_events_to_hub() -> None:
    seen: list[tuple] = []

    class Rec:
        def on_raw(self, *a):
            seen.append(("rec", *a))

    class HubLike:
        def on_raw(self, *a):
            seen.append(("hub-raw", *a))

        def on_event(self, ev):
            seen.append(("hub", ev))

    tap = RecordingTap(Rec(), HubLike())  # type: ignore[arg-type]
    ev = BookDelta("t:AAA", 1, 1, [], [], 0)
    tap.on_raw("c", 5, b"x")
    tap.on_event(ev)
    assert seen == [("rec", "c", 5, b"x"), ("hub-raw", "c", 5, b"x"), ("hub", ev)]


CHILD = """
import asyncio, logging, sys
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.synthetic import synthetic_stream, decode_synthetic
from tapescope.feeds.base import Feed
from tapescope.tui.record import run_record

class Endless(Feed):
    name = "endless"
    @property
    def instruments(self):
        return [Instrument("t", "AAA"), Instrument("t", "BBB")]
    async def run(self, sink):
        for i, (c, r, p) in enumerate(synthetic_stream(10**9, step_ns=10_000_000)):
            sink.on_raw(c, r, p)
            for ev in decode_synthetic(c, r, p):
                sink.on_event(ev)
            if i % 100 == 0:
                await asyncio.sleep(0.001)

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
sys.exit(run_record([Endless()], sys.argv[1], RecordConfig(batch_interval_ms=50)))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_flushes_and_closes_cleanly(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "sig.db"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(out)], stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "recording 2 markets" in line or not line:
                break
        time.sleep(0.8)
        proc.send_signal(sig)
        code = proc.wait(timeout=20)
        rest = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == EXIT_OK, rest[-2000:]
    assert "recording closed" in rest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sig.db"]  # WAL folded back: clean close
    with Recording.open(out) as r:
        n = r.message_count
        assert n > 100 and r.ended_ns is not None
        assert [m.payload for m in r.iter_messages()] == [p for _, _, p in synthetic_stream(n, step_ns=10_000_000)]


async def test_default_hub_routes_crossed_books_to_the_owning_feed(tmp_path: Path) -> None:
    asked: list[tuple[str, str, str]] = []

    class Named(SyntheticFeed):
        def __init__(self, venue: str) -> None:
            super().__init__(0)
            self.venue = venue

        @property
        def instruments(self) -> list[Instrument]:
            return [Instrument(self.venue, "X")]

        def request_resync(self, key: str, reason: str) -> None:
            asked.append((self.venue, key, reason))

    hub = default_hub([Named("a"), Named("b")])
    assert hub.keys == ["a:X", "b:X"]
    hub.on_event(BookSnapshot("b:X", 10**9, 10**9, [(10.0, 1.0)], [(9.0, 1.0)], 1))  # crossed
    assert [(v, k) for v, k, _ in asked] == [("b", "b:X")]


async def test_without_a_hub_the_runner_builds_one_and_checkpoints_from_it(tmp_path: Path) -> None:
    res = await record_session([SyntheticFeed(6000)], tmp_path / "r.db", RecordConfig(checkpoint_interval_s=10.0),
                               out=io.StringIO(), handle_signals=False)
    assert res.exit_code == EXIT_OK
    with Recording.open(res.files[0]) as r:
        assert len(r.checkpoints("t:AAA")) >= 5
