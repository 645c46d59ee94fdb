"""Signal evaluation over a session: mid sampling, pooling and the reports."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tapescope.engine.evaluation import evaluate_signals, evaluate_signals_pooled
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.tui.evaluate_session import (
    ACTIONABLE,
    _MidSampler,
    evaluate_session,
    write_signal_report,
)


def test_mid_sampler_forward_fills_and_keeps_the_longest_valid_stretch() -> None:
    s = _MidSampler()
    s.advance(10)  # first event in second 10: nothing closed yet
    s.mid = 100.0
    s.advance(12)  # seconds 10, 11 closed at 100
    s.mid = 101.0
    s.advance(13)  # second 12 at 101
    s.mid = float("nan")
    s.advance(15)  # book invalid: the stretch ends
    s.mid = 99.0
    s.advance(17)  # a shorter stretch: 15, 16
    t, m = s.series()
    assert t.tolist() == [10, 11, 12] and m.tolist() == [100.0, 100.0, 101.0]


def test_pooled_equals_single_market_evaluation_on_one_market() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(1000, 1600)
    mid = 100.0 * np.exp(np.cumsum(rng.normal(0, 1e-4, len(t))))
    sigs = [("g", int(x) * 1_000_000_000, 1 if x % 3 else -1) for x in range(1000, 1500, 7)]
    single = evaluate_signals(sigs, t, mid)
    pooled = evaluate_signals_pooled([("k", *s) for s in sigs], {"k": (t, mid)})
    assert single == pooled
    h = single[0].horizons[0]
    i = np.array([ts // 1_000_000_000 - 1000 for _, ts, _ in sigs])
    d = np.array([x for *_, x in sigs])
    expected = d * (mid[i + 10] / mid[i] - 1) * 1e4
    assert h.count == len(sigs) and h.mean_return_bps == pytest.approx(expected.mean())


def test_session_on_the_simulator_scores_every_generator(tmp_path: Path) -> None:
    feed = SimFeed(replace(SimParams(), seed=21, symbol_count=1, symbols=()), realtime=False)
    report = evaluate_session(feed.generate(900), feed.instruments, horizons_s=(10, 60))
    assert report.events > 10_000 and report.verdicts > 0
    assert 880 <= report.seconds <= 900  # one market, every second after its first
    names = [e.name for e in report.evaluations]
    assert names == sorted(names)
    generators = [e for e in report.evaluations if e.name != ACTIONABLE]
    assert sum(e.count for e in generators) == report.verdicts
    actionable = [e for e in report.evaluations if e.name == ACTIONABLE]
    assert not actionable or actionable[0].count <= report.verdicts
    rows = report.rows()
    assert len(rows) == 2 * len(report.evaluations)
    write_signal_report(report, tmp_path / "s.json")
    write_signal_report(report, tmp_path / "s.csv")
    assert json.loads((tmp_path / "s.json").read_text())["signals"] == rows
    assert (tmp_path / "s.csv").read_text().startswith("generator,signals,horizon_s")
    with pytest.raises(ValueError, match="unknown report format"):
        write_signal_report(report, tmp_path / "s.txt")

    from rich.console import Console

    from tapescope.tui.eval_render import render_signal_report

    console = Console(record=True, width=200)
    console.print(render_signal_report(report))
    text = console.export_text()
    assert f"{report.verdicts:,} verdicts" in text


def test_render_doctests() -> None:
    import doctest

    from tapescope.tui import eval_render

    assert doctest.testmod(eval_render).failed == 0


async def test_evaluate_feed_equals_evaluate_session_on_the_same_events() -> None:
    from tapescope.feeds.base import Feed
    from tapescope.tui.evaluate_session import evaluate_feed

    sim = SimFeed(replace(SimParams(), seed=4, symbol_count=1, symbols=()), realtime=False)
    events = list(sim.generate(400))

    class ListFeed(Feed):
        name = "list"

        @property
        def instruments(self):
            return sim.instruments

        async def run(self, sink) -> None:
            for ev in events:
                sink.on_event(ev)

        def symbol_health(self):
            return []

        def connection_health(self):
            return []

    direct = evaluate_session(events, sim.instruments, horizons_s=(10,))
    via_feed = await evaluate_feed(ListFeed(), horizons_s=(10,))
    assert via_feed == direct and direct.events == len(events)
