"""End to end: record a simulated session, read back identical messages, replay and seek it."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Event, StatusChange
from tapescope.engine.hub import Hub
from tapescope.engine.recorder.checkpoint import BookTracker
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.inspect import inspect, message_type
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.replay import SIM_DECODERS, ReplayFeed
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.feeds.sim.codec import CONN_ID, encode
from tapescope.tui.record import record_session

DURATION = 90.0
PARAMS = SimParams(seed=11, symbols=("BTC-SIM", "ETH-SIM"), duration_s=DURATION)


def _generated() -> list[Event]:
    """The same session generated independently (the simulator is deterministic)."""
    return list(SimFeed(PARAMS, realtime=False).generate(DURATION))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Hub, list[Event]]:
    path = tmp_path_factory.mktemp("sim") / "sim.db"
    feed = SimFeed(PARAMS, realtime=False)
    hub = Hub(feed.instruments)
    cfg = RecordConfig(checkpoint_interval_s=10.0)
    res = asyncio.run(record_session([feed], path, cfg, hub=hub, out=io.StringIO(), handle_signals=False))
    assert res.exit_code == 0, res.error
    return path, hub, _generated()


def test_recording_holds_exactly_the_simulated_frames(session) -> None:
    path, _, events = session
    with Recording.open(path) as rec:
        msgs = list(rec.iter_messages())
        assert len(msgs) == len(events) > 1000
        assert all(m.conn_id == CONN_ID for m in msgs)
        assert [m.payload for m in msgs] == [encode(e) for e in events]
        assert [m.recv_ns for m in msgs] == [e.recv_ts for e in events]
        assert rec.venues == ["sim"] and rec.symbols == ["sim:BTC-SIM", "sim:ETH-SIM"]
        # Checkpoints came from the hub's live books, every 10 s of receive time.
        for key in rec.symbols:
            assert 8 <= len(rec.checkpoints(key)) <= 10
    s = inspect(path, classify=message_type)
    assert s.by_type.keys() <= {"sim:S", "sim:D", "sim:T", "sim:C", "sim:O"}
    assert s.by_type["sim:D"] == sum(1 for e in events if isinstance(e, BookDelta))


async def test_replay_reproduces_the_events_and_the_hub_books(session) -> None:
    path, live_hub, events = session
    feed = ReplayFeed(path, SIM_DECODERS, speed=0)
    assert [i.key for i in feed.instruments] == list(live_hub.markets)
    seen: list[Event] = []
    replay_hub = Hub(feed.instruments)

    class Sink:
        def on_raw(self, conn_id, recv_ns, payload):
            pass

        def on_event(self, ev):
            seen.append(ev)
            replay_hub.on_event(ev)

    await feed.run(Sink())
    feed.close()
    assert seen == events
    assert feed.registry.errors == 0 and feed.registry.undecoded == 0
    for key, market in live_hub.markets.items():
        assert replay_hub.markets[key].instrument == market.instrument
        assert list(replay_hub.markets[key].book.bids.items()) == list(market.book.bids.items())
        assert list(replay_hub.markets[key].book.asks.items()) == list(market.book.asks.items())
        assert replay_hub.markets[key].flow.cvd == market.flow.cvd


async def test_seek_in_the_sim_recording_matches_the_generated_books(session) -> None:
    path, _, events = session
    t = events[len(events) * 2 // 3].recv_ts + 1
    oracle: dict[str, Book] = {}
    for e in events:
        if e.recv_ts >= t:
            break
        if isinstance(e, BookSnapshot):
            oracle.setdefault(e.symbol, Book()).apply_snapshot(e.bids, e.asks, e.seq)
        elif isinstance(e, BookDelta):
            oracle[e.symbol].apply_delta(e.bids, e.asks, e.seq)
    feed = ReplayFeed(path, SIM_DECODERS, speed=0, end_ns=t - 1, start_ns=t - 1)
    tracker = BookTracker()

    class Sink:
        def on_raw(self, conn_id, recv_ns, payload):
            pass

        def on_event(self, ev):
            if not isinstance(ev, StatusChange):
                tracker.on_event(ev)

    await feed.run(Sink())
    feed.close()
    for key, book in oracle.items():
        assert tracker.checkpoint_source(key) == (book.seq, list(book.bids.items()), list(book.asks.items()))
