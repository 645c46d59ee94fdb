"""Seek warm-up of :class:`ReplayFeed`: history before the target, staged engines, the message bound.

The oracle is the same recording played from its first message up to the
seek target into a fresh engine: after a seek with warm-up, the per-second
series the chart plots (``t``, ``mid``, ``delta``; CVD changes) over the
chart window equal that replay's, bit for bit where the values are per-second
quantities, and the books equal it exactly.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
import pytest

from tapescope.engine.hub import Hub
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.replay import SIM_DECODERS, ReplayFeed, SeekReport
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.tui.record import record_session

NS = 1_000_000_000
PARAMS = SimParams(seed=11, symbols=("BTC-SIM", "ETH-SIM"), duration_s=240.0)
#: Checkpoint interval of the test recording, s.
CP_S = 10.0
KEYS = ("sim:BTC-SIM", "sim:ETH-SIM")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("warm") / "sim.db"
    res = asyncio.run(record_session([SimFeed(PARAMS, realtime=False)], path,
                                     RecordConfig(checkpoint_interval_s=CP_S), out=io.StringIO(),
                                     handle_signals=False))
    assert res.exit_code == 0, res.error
    return path


class HubStage:
    """The smallest :class:`SeekStage`: a fresh plain engine per seek, kept on commit."""

    def __init__(self, feed: ReplayFeed) -> None:
        self.feed = feed
        self.staged: Hub | None = None
        self.live: Hub | None = None
        self.commits = 0
        self.aborts = 0
        self.passed: list[tuple[str, int]] = []
        self.restored_from: dict = {}

    def begin(self, checkpoints) -> Hub:
        self.restored_from = dict(checkpoints)
        self.staged = Hub(self.feed.instruments)
        return self.staged

    def checkpoint_passed(self, key: str, msg_id: int) -> None:
        self.passed.append((key, msg_id))

    def commit(self) -> None:
        self.live, self.staged = self.staged, None
        self.commits += 1

    def abort(self) -> None:
        self.staged = None
        self.aborts += 1


class Counting:
    """The run's own sink: counts what reaches it."""

    def __init__(self) -> None:
        self.hub: Hub | None = None
        self.events = 0
        self.raw = 0

    def on_event(self, event) -> None:
        self.events += 1
        if self.hub is not None:
            self.hub.on_event(event)

    def on_raw(self, conn_id, recv_ns, payload) -> None:
        self.raw += 1


def played_from_start(path: Path, t: int) -> Hub:
    """The engine after every message with receive time before ``t``, read from the start."""
    feed = ReplayFeed(path, SIM_DECODERS, speed=0, end_ns=t - 1)
    hub = Hub(feed.instruments)
    asyncio.run(feed.run(hub))
    feed.close()
    return hub


async def seek_with(path: Path, t: int, warmup_s: float, cap: int = 0) -> tuple[ReplayFeed, HubStage, Counting]:
    feed = ReplayFeed(path, SIM_DECODERS, speed=0)
    feed.warmup_ns, feed.warmup_max_messages = int(warmup_s * NS), cap
    stage = HubStage(feed)
    feed.stage = stage
    feed.pause()
    sink = Counting()
    task = asyncio.create_task(feed.run(sink))
    feed.seek(t)
    for _ in range(1000):
        await asyncio.sleep(0.01)
        if feed.seek_pending is None and stage.commits:
            break
    assert stage.commits == 1 and feed.position_ns == t
    task.cancel()
    feed.close()
    return feed, stage, sink


def books(hub: Hub) -> dict[str, tuple]:
    return {k: (m.book.seq, list(m.book.bids.items()), list(m.book.asks.items())) for k, m in hub.markets.items()}


def window(hub: Hub, key: str, seconds: int) -> dict[str, np.ndarray]:
    s = hub.markets[key].series_snapshot()
    return {"t": s.t[-seconds:], "mid": s.mid[-seconds:], "cvd": s.cvd[-seconds:], "delta": s.delta[-seconds:]}


@pytest.fixture(scope="module")
def target(recording: Path) -> int:
    with Recording.open(recording) as rec:
        return rec.first_recv_ns() + 200 * NS + 123_456_789


def test_warm_seek_series_over_the_chart_window_equal_a_replay_from_the_start(recording: Path, target: int) -> None:
    feed, stage, sink = asyncio.run(seek_with(recording, target, warmup_s=90.0))
    oracle = played_from_start(recording, target)
    live = stage.live
    assert live is not None
    # Nothing reached the run's sink: the warm-up went to the staged engine only.
    assert sink.events == 0 and sink.raw == 0
    assert books(live) == books(oracle)
    rep = feed.last_seek
    assert isinstance(rep, SeekReport) and not rep.bounded
    assert rep.from_ns == target - 90 * NS and rep.target_id > rep.resume_id
    chart = 80  # seconds shown: less than the warm-up, which starts up to one checkpoint earlier
    for key in KEYS:
        got, want = window(live, key, chart), window(oracle, key, chart)
        assert len(got["t"]) == chart
        assert got["t"].tolist() == want["t"].tolist()
        assert got["t"][-1] == target // NS - 1  # up to the last closed second before the target
        np.testing.assert_array_equal(got["mid"], want["mid"])
        np.testing.assert_array_equal(got["delta"], want["delta"])
        assert np.any(got["delta"] != 0.0)  # trades happened: the comparison has teeth
        # CVD restarts its count at the restore point; its changes over the window are the same.
        np.testing.assert_allclose(np.diff(got["cvd"]), np.diff(want["cvd"]), rtol=0, atol=1e-9)


def test_without_warm_up_the_series_only_holds_the_seconds_since_the_checkpoint(recording: Path,
                                                                                target: int) -> None:
    _, stage, _ = asyncio.run(seek_with(recording, target, warmup_s=0.0))
    live = stage.live
    assert live is not None
    for key in KEYS:
        n = len(live.markets[key].series_snapshot().t)
        assert n <= CP_S + 1  # the defect the warm-up fixes: a few seconds of chart
    assert books(live) == books(played_from_start(recording, target))


def test_warm_up_reaching_the_session_start_matches_cvd_levels_too(recording: Path) -> None:
    with Recording.open(recording) as rec:
        t = rec.first_recv_ns() + 60 * NS
    _, stage, _ = asyncio.run(seek_with(recording, t, warmup_s=600.0))
    oracle = played_from_start(recording, t)
    assert stage.live is not None
    for key in KEYS:
        got, want = stage.live.markets[key].series_snapshot(), oracle.markets[key].series_snapshot()
        np.testing.assert_array_equal(got.cvd, want.cvd)
        assert stage.live.markets[key].flow.cvd == oracle.markets[key].flow.cvd


def test_message_bound_shortens_the_warm_up_and_keeps_books_exact(recording: Path, target: int) -> None:
    with Recording.open(recording) as rec:
        tid = rec.id_at(target)
        cap = 5000
        lo = rec.message(tid - cap)
        assert lo is not None and lo.recv_ns > target - 90 * NS  # the bound bites
        # The restore moves to the first checkpoint at or after the bound.
        first_cp = min(r for _k, r, _i in rec.checkpoints() if r >= lo.recv_ns)
        assert first_cp < target
        interval = rec.id_at(first_cp) - rec.id_at(first_cp - int(CP_S * NS))
    feed, stage, _ = asyncio.run(seek_with(recording, target, warmup_s=90.0, cap=cap))
    rep = feed.last_seek
    assert rep is not None and rep.bounded and rep.from_ns == first_cp
    # The bound holds for the whole replay, and it costs at most one checkpoint interval of history.
    assert cap - interval <= rep.messages <= cap
    assert stage.live is not None
    assert books(stage.live) == books(played_from_start(recording, target))


def test_warmup_start_is_clamped_to_the_recording(recording: Path) -> None:
    feed = ReplayFeed(recording, SIM_DECODERS, speed=0)
    try:
        first = feed.recording.first_recv_ns()
        assert feed.warmup_start(first + 5 * NS) == (first + 5 * NS, False)  # no warm-up set
        feed.warmup_ns = 600 * NS
        assert feed.warmup_start(first + 5 * NS) == (first, False)
    finally:
        feed.close()


def test_a_seek_arriving_during_a_warm_up_supersedes_it(recording: Path, target: int) -> None:
    second = target - 50 * NS

    async def go() -> tuple[ReplayFeed, HubStage, list[int]]:
        feed = ReplayFeed(recording, SIM_DECODERS, speed=0)
        feed.warmup_ns = 90 * NS
        stage = HubStage(feed)
        begun: list[int] = []
        begin = stage.begin

        def begin_and_press_again(checkpoints):
            begun.append(feed.seek_pending)
            if len(begun) == 1:
                feed.seek(second)  # the user presses again while the first warm-up runs
            return begin(checkpoints)

        stage.begin = begin_and_press_again
        feed.stage = stage
        feed.pause()
        task = asyncio.create_task(feed.run(Counting()))
        feed.seek(target)
        for _ in range(1000):
            await asyncio.sleep(0.01)
            if stage.commits:
                break
        await asyncio.sleep(0.05)
        task.cancel()
        feed.close()
        return feed, stage, begun

    feed, stage, begun = asyncio.run(go())
    # The first warm-up began, was dropped unseen; only the second was committed.
    assert begun == [target, second] and stage.commits == 1 and stage.aborts == 1
    assert feed.position_ns == second and feed.last_seek is not None and feed.last_seek.target_ns == second
    assert stage.live is not None
    assert books(stage.live) == books(played_from_start(recording, second))
