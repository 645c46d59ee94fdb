"""Fixtures for TUI tests: an isolated config, hand-built market snapshots, a fake hub, replay oracles.

``FakeHub`` plays the engine hub's part (memray's ``MockReader`` pattern): it
serves prepared :class:`MarketSnapshot` objects and records the ladder size
it was asked for, so the App runs with no feed and no engine.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, FeedState
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.reader import Recording
from tapescope.engine.snapshot import FlowSnapshot, Ladder, MarketSnapshot, Series, TradePrint
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.feeds.sim.codec import decode
from tapescope.tui.config import Config, load_config
from tapescope.tui.record import record_session

#: Frozen wall clock for latency (2023-11-14 22:13:20 UTC + 5 ms).
FROZEN_NS = 1_700_000_000_005_000_000
#: Venue time of the prepared snapshots.
SNAP_TS = 1_700_000_000_000_000_000


def make_snapshot(symbol: str = "BTC-SIM", mid: float = 100.0, tick: float = 0.1,
                  state: FeedState = FeedState.LIVE, reason: str = "", version: int = 1,
                  levels: int = 60, n_trades: int = 40, seconds: int = 120) -> MarketSnapshot:
    """A deterministic market: a symmetric book around ``mid``, alternating trades, a CVD ramp."""
    inst = Instrument("sim", symbol, tick_size=tick, lot_size=0.001)
    best_bid = round(mid - tick, 6)
    best_ask = round(mid, 6)
    bids = tuple((round(best_bid - i * tick, 6), 1.0 + (i % 7) * 0.75) for i in range(levels))
    asks = tuple((round(best_ask + i * tick, 6), 1.25 + (i % 5) * 0.9) for i in range(levels))
    trades = tuple(
        TradePrint(SNAP_TS - (n_trades - i) * 250_000_000, best_ask if i % 3 else best_bid,
                   0.1 + (i % 4) * 0.35, 1 if i % 3 else -1)
        for i in range(n_trades)
    )
    t = np.arange(SNAP_TS // 10**9 - seconds, SNAP_TS // 10**9, dtype=np.int64)
    cvd = np.cumsum(np.sin(np.arange(seconds) / 9.0) + 0.2)
    mids = mid + np.cos(np.arange(seconds) / 13.0) * tick * 5
    flow = FlowSnapshot(
        cvd=float(cvd[-1]), deltas=((10, 1.5), (60, -3.25)), tbsr=0.58, volume_ratio=1.4,
        ofi=((1, 2.0), (5, -1.0), (30, 12.5)), imbalance_levels=0.12, imbalance_bps=-0.05,
        microprice=mid + tick * 0.1, spread_ticks=1.0, spread_bps=tick / mid * 1e4,
        spread_z=0.4, trades_per_s=4.0,
    )
    return MarketSnapshot(
        instrument=inst, version=version, ts=SNAP_TS, recv_ts=SNAP_TS, state=state,
        state_reason=reason, best_bid=bids[0], best_ask=asks[0], last_price=trades[-1].price,
        session_open=mid * 0.99, depth=(levels, levels), ladder=Ladder(tick, bids, asks),
        trades=trades, flow=flow, series=Series(t, mids, cvd, np.diff(cvd, prepend=0.0)),
        messages=1000,
    )


class FakeHub:
    """Serves prepared snapshots; records the ladder rows each read asked for."""

    def __init__(self, snapshots: list[MarketSnapshot]) -> None:
        self.snaps = {s.key: s for s in snapshots}
        self.reads: list[tuple[str, int, int]] = []
        self.events = 0

    @property
    def keys(self) -> list[str]:
        return list(self.snaps)

    def snapshot(self, key: str, ladder_step_ticks: int = 1, ladder_rows: int = 40) -> MarketSnapshot:
        self.reads.append((key, ladder_step_ticks, ladder_rows))
        snap = self.snaps[key]
        ladder = Ladder(snap.ladder.step, snap.ladder.bids[:ladder_rows], snap.ladder.asks[:ladder_rows])
        return replace(snap, ladder=ladder)

    def on_event(self, event: object) -> None:
        self.events += 1

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        pass


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user config file at an empty temp path and hide SSH variables (a local terminal)."""
    path = tmp_path / "user-config.toml"
    monkeypatch.setenv("TAPESCOPE_CONFIG_FILE", str(path))
    # A suite run over SSH would otherwise draw at [app] remote_fps (and show "ssh").
    for name in ("SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def config() -> Config:
    """The shipped defaults."""
    return load_config()


@pytest.fixture
def hub() -> FakeHub:
    """Three markets; the third is resyncing."""
    return FakeHub([
        make_snapshot("BTC-SIM", 100.0, 0.1),
        make_snapshot("ETH-SIM", 2000.0, 0.05),
        make_snapshot("SOL-SIM", 25.0, 0.01, state=FeedState.RESYNCING, reason="gap: seq 12 > 10"),
    ])


def frozen_clock() -> int:
    """A wall clock that never moves."""
    return FROZEN_NS




@pytest.fixture
def make_snap():
    """The :func:`make_snapshot` factory (conftest modules are not importable in importlib mode)."""
    return make_snapshot


@pytest.fixture
def clock():
    """The frozen wall clock."""
    return frozen_clock


#: A market's book as compared by the replay tests: ``(seq, bids, asks)``.
BookState = tuple[int, list[tuple[float, float]], list[tuple[float, float]]]


def record_sim_session(path: Path, params: SimParams, config: RecordConfig | None = None) -> Path:
    """Record a compressed-time simulator session to ``path`` (receive times are venue times).

    Args:
        path: Output file.
        params: Simulator settings (seed, symbols, ``duration_s``).
        config: Recorder settings (default: the shipped defaults).
    """
    res = asyncio.run(record_session([SimFeed(params, realtime=False)], path, config or RecordConfig(),
                                     out=io.StringIO(), handle_signals=False))
    assert res.exit_code == 0, res.error
    return path


def read_books_until(path: Path, t: int) -> dict[str, BookState]:
    """Books from reading the recording from the start up to (not including) receive time ``t``.

    The independent oracle for seeks: plain decode and apply, no checkpoints.
    """
    books: dict[str, Book] = {}
    with Recording.open(path) as rec:
        for m in rec.iter_messages():
            if m.recv_ns >= t:
                break
            ev = decode(m.payload)
            if isinstance(ev, BookSnapshot):
                books.setdefault(ev.symbol, Book()).apply_snapshot(ev.bids, ev.asks, ev.seq)
            elif isinstance(ev, BookDelta):
                books[ev.symbol].apply_delta(ev.bids, ev.asks, ev.seq)
    return {k: (b.seq, list(b.bids.items()), list(b.asks.items())) for k, b in books.items()}


def books_of(hub) -> dict[str, BookState]:
    """The books of every market of an engine hub, in the oracle's form."""
    return {k: (m.book.seq, list(m.book.bids.items()), list(m.book.asks.items()))
            for k, m in hub.markets.items()}


@pytest.fixture(scope="session")
def record_sim() -> Callable[..., Path]:
    """The :func:`record_sim_session` factory."""
    return record_sim_session


@pytest.fixture(scope="session")
def oracle_books() -> Callable[[Path, int], dict[str, BookState]]:
    """The :func:`read_books_until` oracle."""
    return read_books_until


@pytest.fixture(scope="session")
def hub_books() -> Callable[[object], dict[str, BookState]]:
    """The :func:`books_of` reader of a hub's books."""
    return books_of
