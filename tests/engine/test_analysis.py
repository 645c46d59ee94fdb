"""MarketAnalysis wired into a real Market: detectors see every level, signals step per second."""

from __future__ import annotations

from tapescope.engine.analysis import MarketAnalysis
from tapescope.engine.detectors.base import DetectorKind
from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, StatusChange, Trade
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import Market

S = 1_000_000_000
INST = Instrument("sim", "X", tick_size=0.01)
KEY = INST.key


def market() -> tuple[Market, MarketAnalysis]:
    m = Market(INST)
    a = MarketAnalysis.attach(m)
    m.on_event(
        BookSnapshot(
            KEY,
            S,
            S,
            [(99.99, 1.0), (99.98, 1.0), (99.97, 1.0)],
            [(100.01, 2.0), (100.02, 1.0), (100.03, 1.0)],
        )
    )
    return m, a


def test_fills_and_cancels_are_attributed_through_the_market() -> None:
    m, a = market()
    m.on_event(Trade(KEY, 2 * S, 2 * S, 100.01, 1.5, +1, "t1"))
    m.on_event(
        BookDelta(KEY, 2 * S + 1, 2 * S, [], [(100.01, 0.0)], 2)
    )  # 2 gone: 1.5 filled, 0.5 cancelled
    snap = m.snapshot().analysis
    assert snap is not None
    assert (snap.micro.fills, snap.micro.cancels) == (1.5, 0.5)


def test_spoof_detected_end_to_end_and_logged_for_alerts() -> None:
    m, a = market()
    m.on_event(
        BookDelta(KEY, 2 * S, 2 * S, [(99.96, 1.0)], [], 2)
    )  # second 2 closes second 1: threshold 5
    m.on_event(
        BookDelta(KEY, 3 * S, 3 * S, [(99.97, 31.0)], [], 3)
    )  # 30 added 2 bps below the touch
    m.on_event(BookDelta(KEY, 4 * S, 4 * S, [(99.99, 0.0)], [(99.995, 1.0)], 4))  # price comes down
    m.on_event(BookDelta(KEY, 5 * S, 5 * S, [(99.97, 1.0)], [], 5))  # and the 30 is pulled
    events = m.snapshot().analysis.micro.events
    assert [e.kind for e in events] == [DetectorKind.SPOOF]
    assert (
        any(getattr(x, "kind", None) is DetectorKind.SPOOF for x in a.alerts) is False
    )  # not yet: drained per second
    m.on_event(Trade(KEY, 6 * S, 6 * S, 99.995, 0.1, 1, "t"))  # crosses into second 6
    assert any(getattr(x, "kind", None) is DetectorKind.SPOOF for x in a.alerts)


def test_signals_step_each_second_and_go_stale_when_not_live() -> None:
    m, a = market()
    for sec in range(2, 40):
        m.on_event(Trade(KEY, sec * S, sec * S, 100.0, 1.0, 1 if sec % 2 else -1, str(sec)))
    # on_second runs on entering each second: second 1 (before the snapshot applied) and 2..39.
    assert len(a.signals.history) == 39
    m.on_event(StatusChange(KEY, 40 * S, 40 * S, FeedState.RESYNCING, "gap"))
    assert not m.valid
    snap = m.snapshot()
    assert snap.state is FeedState.RESYNCING and snap.analysis is not None


def test_snapshot_is_cached_until_the_next_event() -> None:
    m, _ = market()
    s1 = m.snapshot()
    assert m.snapshot() is s1 and m.snapshot().analysis is s1.analysis
    m.on_event(Trade(KEY, 2 * S, 2 * S, 100.0, 1.0, 1, "x"))
    assert m.snapshot() is not s1
