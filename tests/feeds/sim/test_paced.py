"""SimFeed.run: paced delivery to a sink, raw payload first, at the configured rate."""

from __future__ import annotations

import asyncio
import time

import pytest

from tapescope.engine.events import BookDelta, BookSnapshot, StatusChange
from tapescope.feeds.sim import BurstParams, SimFeed, decode

S = 1_000_000_000


class RecordingSink:
    """Keeps what it is given and checks that each raw payload precedes its event."""

    def __init__(self) -> None:
        self.events: list = []
        self.raw: list[tuple[str, int, bytes]] = []

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        self.raw.append((conn_id, recv_ns, payload))

    def on_event(self, event) -> None:
        assert len(self.raw) == len(self.events) + 1, "on_raw must come first"
        conn_id, recv_ns, payload = self.raw[-1]
        assert conn_id == "sim#0"
        assert recv_ns == event.recv_ts
        assert decode(payload) == event
        self.events.append(event)


async def test_paced_run_delivers_at_the_configured_rate(quiet) -> None:
    # ETH-SIM has activity 1.3: 100 msg/s becomes 130 book messages per second.
    params = quiet(
        "ETH-SIM", messages_per_s=100.0, bursts=BurstParams(rate_per_min=0.0), duration_s=1.5
    )
    feed = SimFeed(params, realtime=True)
    sink = RecordingSink()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.wait_for(feed.run(sink), timeout=20.0)
    wall = loop.time() - t0
    assert wall >= 1.4  # paced: 1.5 virtual seconds at speed 1 cannot finish early
    assert isinstance(sink.events[0], StatusChange) and isinstance(sink.events[1], BookSnapshot)
    deltas = [e for e in sink.events if type(e) is BookDelta]
    assert 0.6 * 195 < len(deltas) < 1.5 * 195
    assert sink.events[-1].ts < feed.start_ns + int(1.5 * S)
    assert feed.start_ns > 1_600_000_000 * S  # anchored to the wall clock (epoch ns)
    health = feed.symbol_health()[0]
    assert health.state.name == "LIVE" and health.messages == len(sink.events)


async def test_paced_run_is_the_same_stream_as_generate(quiet) -> None:
    params = quiet("SOL-SIM", "DOGE-SIM", duration_s=2.0, speed=8.0)
    start = 1_767_225_600 * S
    paced, sink = SimFeed(params, realtime=True, start_ns=start), RecordingSink()
    await asyncio.wait_for(paced.run(sink), timeout=20.0)
    compressed = list(SimFeed(params, realtime=False, start_ns=start).generate(2.0))
    assert sink.events == compressed


async def test_unpaced_run_finishes_and_can_be_cancelled(quiet) -> None:
    done = SimFeed(quiet("BTC-SIM", duration_s=30.0), realtime=False)
    sink = RecordingSink()
    await asyncio.wait_for(done.run(sink), timeout=20.0)
    assert sink.events[-1].ts >= done.start_ns + 29 * S
    forever = SimFeed(quiet("BTC-SIM"), realtime=True)
    task = asyncio.create_task(forever.run(RecordingSink()))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_wall_clock_anchor_is_taken_at_first_use(quiet) -> None:
    feed = SimFeed(quiet("SOL-SIM", duration_s=0.1), realtime=True)
    assert len(feed.instruments) == 1  # describing the feed does not start its clock
    await asyncio.sleep(0.3)
    before = time.time_ns()
    await asyncio.wait_for(feed.run(RecordingSink()), timeout=10.0)
    assert before <= feed.start_ns <= time.time_ns()
