"""Cold start of ``tapescope demo``: structure of the measurement, no numba before the first frame."""

from __future__ import annotations

from tapescope.tui.coldstart import measure_cold_start


def test_demo_draws_its_first_frame_before_any_numba_import_then_loads_kernels() -> None:
    r = measure_cold_start(cold_cache=False)
    assert r.cache == "warm"
    # Spawn, imports, first frame, kernels: in that order (figures are not asserted).
    assert 0 < r.imports_s < r.first_frame_s <= r.kernels_s
    # The app imports numba only in the warm-up thread it starts after the first frame.
    assert r.numba_before_first_frame is False
    assert r.kernels_ready is True
