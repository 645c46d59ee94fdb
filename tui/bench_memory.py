"""Memory per symbol for ``tapescope bench``: one Market with the full analysis.

:func:`symbol_memory` feeds the bench stream through the full pipeline (path
(d) of :mod:`tapescope.tui.bench`) once to warm every import, lazy table and
numba kernel, then builds a fresh pipeline under :mod:`tracemalloc` and feeds
the stream again. The figure is the Python heap still allocated after the
stream and a full ``gc.collect()``: what one more symbol keeps resident
(Market, book, flow windows, tape, detectors, monitors, signal engine, book
sync). Transient objects (decoded frames, events) are freed and not counted;
the stream bytes were allocated before tracing began. ``tracemalloc`` sees
only allocations made through Python's allocators (numpy buffers included),
not interpreter code or numba's compiled code, which every symbol shares.
"""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import dataclass

from tapescope.feeds.venues.synth import SynthStream

__all__ = ["SymbolMemory", "symbol_memory"]

_MIB = 1024 * 1024


@dataclass(slots=True)
class SymbolMemory:
    """Heap one symbol's full pipeline keeps after the bench stream."""

    retained_mib: float
    """Traced heap still allocated after the stream and ``gc.collect()``, MiB."""
    peak_mib: float
    """Traced heap high-water mark while the stream ran, MiB."""
    messages: int
    """Frames fed before measuring."""
    method: str = (
        "tracemalloc: heap retained by a fresh decode+sync+Market+MarketAnalysis after the stream "
        "and gc.collect(), after one warm-up pass"
    )
    """How it was measured."""


def symbol_memory(stream: SynthStream) -> SymbolMemory:
    """Measure the heap one symbol's full pipeline retains (see module docstring).

    Runtime: two passes over the stream, the second under ``tracemalloc``
    (several times slower than untraced).
    """
    from tapescope.tui.bench import setup_full

    frames = stream.frames
    step, _ = setup_full(stream)
    for i, f in enumerate(frames):
        step(f, i)
    del step
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        step, finish = setup_full(stream)
        for i, f in enumerate(frames):
            step(f, i)
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    del step, finish
    return SymbolMemory(
        retained_mib=max(0, current - base) / _MIB, peak_mib=max(0, peak - base) / _MIB, messages=len(frames)
    )
