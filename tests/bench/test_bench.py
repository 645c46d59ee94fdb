"""Smoke test of ``tapescope bench``: report structure and sane values (not timings)."""

from __future__ import annotations

import io
import sys

import orjson
import pytest
from rich.console import Console

from tapescope.feeds.venues.synth import SynthParams, final_book, generate
from tapescope.tui.bench import PATHS, BenchParams, BenchReport, bench, print_report, run_bench


@pytest.fixture(scope="module")
def report() -> BenchReport:
    return run_bench(BenchParams(messages=400, levels=60, changes=8, repeats=1, profile=True, profile_top=5))


def test_report_structure_and_sane_values(report: BenchReport) -> None:
    assert [r.name for r in report.results] == list(PATHS)
    assert report.depth_messages + report.trades == 400
    assert report.level_updates > report.depth_messages  # several levels per depth message
    for r in report.results:
        assert r.messages == 400
        assert r.seconds > 0 and r.msgs_per_s == pytest.approx(400 / r.seconds)
        assert 0 < r.p50_us <= r.p99_us <= r.max_us
        assert r.peak_rss_mib > 10 and r.rss_growth_mib >= 0
        # CPU time of a pass is at most its wall time (one thread), so the CPU rate is at least the wall rate.
        assert r.cpu_msgs_per_s >= r.msgs_per_s * 0.999 > 0
    loads, book, engine, full = (report.result(n) for n in PATHS)
    assert loads.level_updates == 0
    assert book.level_updates == engine.level_updates == full.level_updates == report.level_updates
    assert report.full_vs_book == pytest.approx(full.msgs_per_s / book.msgs_per_s)
    assert report.meets_full_target == (full.msgs_per_s >= 50_000 and full.p99_us < 100.0)
    assert report.full_books_match and report.profiled == "full" and report.kernel_warm_up_s > 0
    # One symbol's full pipeline keeps a real heap (book of ~60 levels/side, windows, detectors).
    assert report.memory is not None and 0.01 < report.memory.retained_mib <= report.memory.peak_mib
    assert report.memory.messages == 400 and "tracemalloc" in report.memory.method
    assert engine.levels_per_s == pytest.approx(report.level_updates / engine.seconds)
    assert report.engine_vs_book == pytest.approx(engine.msgs_per_s / book.msgs_per_s)
    assert report.meets_target == (report.engine_vs_book >= 0.5)
    # Both book paths end with the same book, so they did the same work.
    assert report.engine_books_match
    assert report.rss_method and report.python
    assert len(report.load_avg) == 3 and all(x >= 0 for x in report.load_avg)
    assert 1 <= len(report.hot_spots) <= 5
    assert all(h.calls > 0 and 0 <= h.share <= 1 for h in report.hot_spots)
    assert orjson.loads(orjson.dumps(report.to_dict()))["params"]["messages"] == 400


def test_print_report_renders_every_path(report: BenchReport) -> None:
    buf = io.StringIO()
    print_report(report, Console(file=buf, width=160, color_system=None))
    text = buf.getvalue()
    for label in PATHS.values():
        assert label in text
    assert "engine/bare-book" in text and "full/bare-book" in text and "hot spots" in text
    assert "memory per symbol" in text and "vs book" in text and "load average" in text
    assert "msgs/CPU s" in text


def test_bench_module_does_not_import_textual() -> None:
    assert "textual" not in {m.split(".")[0] for m in sys.modules if m.startswith("tapescope.tui.bench")}
    import ast
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "tui" / "bench.py"
    tree = ast.parse(src.read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in top if isinstance(n, ast.ImportFrom) and n.module]
    assert not [n for n in names if n.split(".")[0] == "textual"]


def test_synth_is_deterministic_shaped_and_replayable() -> None:
    p = SynthParams(messages=3000, levels=200, changes=20, seed=3)
    s = generate(p)
    assert s.frames == generate(p).frames and s.snapshot == generate(p).snapshot
    assert generate(SynthParams(messages=3000, levels=200, seed=4)).frames != s.frames
    assert 0.20 < s.trades / len(s.frames) < 0.30
    assert 17 < s.level_updates / s.depth_messages < 23
    deletes = prev_u = 0
    for f in s.frames:
        d = orjson.loads(f)["data"]
        if d["e"] == "depthUpdate":
            deletes += sum(q == "0.000" for _, q in d["b"] + d["a"])
            if prev_u:
                assert d["pu"] == prev_u and d["U"] > prev_u  # sparse ids chained by pu
            prev_u = d["u"]
    assert 0.15 < deletes / s.level_updates < 0.25
    bids, asks = final_book(s)
    assert 150 < len(bids) < 260 and 150 < len(asks) < 260  # depth held near the target
    assert max(bids) < min(asks)


def test_bench_entry_point_prints_and_returns_in_process() -> None:
    buf = io.StringIO()
    rep = bench(BenchParams(messages=200, levels=30, changes=5, repeats=1, isolate=False, memory=False),
                Console(file=buf, width=160, color_system=None))
    assert isinstance(rep, BenchReport) and "cumulative" in rep.rss_method
    assert rep.engine_books_match and "(c) decode + sync + Market" in buf.getvalue()
    assert rep.memory is None and rep.full_books_match


def test_tick_profile_covers_only_the_seconds_the_market_closes() -> None:
    from tapescope.feeds.venues.synth import SynthParams, generate
    from tapescope.tui.bench_paths import profile_engine

    stream = generate(SynthParams(messages=3000, levels=60, changes=8))
    spots = profile_engine(stream, top=100, path="tick")
    names = [h.function for h in spots]
    # The tick's own work is profiled (walls, per-second analysis) ...
    assert any("detectors/levels.py" in n and "(on_second)" in n for n in names)
    # ... and the per-message path is not: no book delta, no depth decode.
    assert not any("apply_delta" in n or "(decode)" in n for n in names)
    ticks = next(h for h in spots if h.function.endswith("(_tick)"))
    # One profiled call per closed second: count them on a second, unprofiled run.
    from tapescope.tui.bench_paths import SETUPS, _market_of

    step, _ = SETUPS["full"](stream)
    market = _market_of(step)
    closed = []
    close = market._tick
    market._tick = lambda sec: (closed.append(sec), close(sec))
    for i, f in enumerate(stream.frames):
        step(f, i)
    assert len(closed) > 20 and ticks.calls == len(closed)
