"""The bench helpers: frame CPU time on a frozen market, terminal bytes of the demo."""

from __future__ import annotations

import sys

import pytest

from tapescope.tui.perf import FrameTimes, frozen_market, measure_frames, terminal_bytes


def test_frozen_market_is_deterministic() -> None:
    _, hub_a = frozen_market(seconds=5.0, seed=3)
    _, hub_b = frozen_market(seconds=5.0, seed=3)
    for key in hub_a.keys:
        a, b = hub_a.snapshot(key), hub_b.snapshot(key)
        assert (a.version, a.best_bid, a.best_ask, a.trades) == (b.version, b.best_bid, b.best_ask, b.trades)


async def test_measure_frames_reports_per_frame_stats() -> None:
    result = await measure_frames((100, 30), frames=5, warmup_s=5.0, step_s=0.1, seed=3)
    assert isinstance(result, FrameTimes)
    assert result.frames == 5 and result.size == (100, 30) and result.events > 0
    assert 0 < result.p50_ms <= result.p95_ms <= result.max_ms
    assert "dashboard 100x30: 5 frames" in result.summary()


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX pseudo-terminals")
def test_terminal_bytes_counts_what_the_demo_writes() -> None:
    rate = terminal_bytes((80, 24), seconds=5.0, settle_s=3.0)
    # A live dashboard repaints something every second, and far less than a full
    # 80x24 truecolor screen (~20 KB) at 10 fps.
    assert 0 < rate < 200_000
