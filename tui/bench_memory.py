"""Memory figures for ``tapescope bench``: heap per symbol and per-process peak RSS.

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
import os
import resource
import sys
import tracemalloc
from dataclasses import dataclass

from tapescope.feeds.venues.synth import SynthStream

__all__ = ["SymbolMemory", "peak_mib", "reset_peak", "rss_now_mib", "symbol_memory"]

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


# -- resident set size (the per-path peak RSS of the bench) ---------------------


def rss_now_mib() -> float:
    """Current resident set size of this process, MiB."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / _MIB
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_mib(reset_ok: bool) -> float:
    """Peak RSS, MiB: ``VmHWM`` when :func:`reset_peak` worked, else ``ru_maxrss``."""
    if reset_ok:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / _MIB if sys.platform == "darwin" else peak / 1024
