"""Cold start of ``tapescope demo`` on a pseudo-terminal: order of the instants, nothing heavy first."""

from __future__ import annotations

from tapescope.tui.coldstart import ColdStart, measure_cold_start, summarise


def test_demo_paints_a_live_frame_before_any_numba_or_recorder_import_then_loads_kernels() -> None:
    r = measure_cold_start(cold_cache=False)
    assert r.cache == "warm" and r.bytecode
    # Spawn, App imported, first paint, first frame with a live book, kernels: in that
    # order (the figures themselves depend on the machine and are not asserted).
    assert 0 < r.imports_s < r.first_paint_s <= r.first_frame_s < r.kernels_s
    # The App imports numba only in the warm-up thread it starts after the first frame,
    # and the recorder only for recording or replay.
    assert r.numba_before_first_frame is False
    assert r.aiosqlite_before_first_frame is False
    assert r.kernels_ready is True
    assert r.load_1m >= 0.0
    assert 0 < r.first_frame_cpu_s


def test_summary_reports_median_and_range() -> None:
    runs = [ColdStart("warm", True, 2.0 + i, 0.5, 0.7, t, 2.0, 0.6, False, False, True)
            for i, t in enumerate((1.3, 0.9, 1.1))]
    text = summarise(runs)
    assert text.splitlines()[0] == "3 warm runs (bytecode cache), load 2.00-4.00"
    assert "first_frame      median 1.100 s  range 0.900-1.300" in text
