"""Ladder row heights in ticks: the 1-2-5 sequence the zoom keys step through and
the automatic height that gives each market about the same row size in bps."""

from __future__ import annotations

import math

#: Mantissas of the ladder row heights the zoom keys step through (1, 2, 5, 10, 20...).
STEP_MANTISSAS = (1, 2, 5)


def _steps() -> list[int]:
    return [m * 10**e for e in range(7) for m in STEP_MANTISSAS]


def auto_step(mid: float, tick: float, row_bps: float, min_ticks: int = 1) -> int:
    """The 1-2-5 ladder row height (ticks) nearest, on a log scale, to ``row_bps`` of ``mid``.

    >>> auto_step(60_000.0, 0.1, 0.5), auto_step(0.12, 0.00001, 0.5), auto_step(150.0, 0.001, 0.5)
    (20, 1, 10)
    >>> auto_step(float("nan"), 0.1, 0.5, 2), auto_step(100.0, 0.01, 0.5, 5)
    (2, 5)
    """
    if not (mid > 0 and tick > 0 and row_bps > 0):
        return min_ticks
    target = max(mid * row_bps * 1e-4 / tick, min_ticks)
    best = min(_steps(), key=lambda s: abs(math.log(s / target)))
    return max(best, min_ticks)


def next_step(ticks: int, direction: int) -> int:
    """The next ladder row height in the 1-2-5 sequence, in ticks (never below 1).

    >>> next_step(1, 1), next_step(2, 1), next_step(5, 1), next_step(10, -1), next_step(1, -1)
    (2, 5, 10, 5, 1)
    >>> next_step(3, 1), next_step(3, -1)
    (5, 2)
    """
    ladder = _steps()
    if direction > 0:
        return next((s for s in ladder if s > ticks), ladder[-1])
    return next((s for s in reversed(ladder) if s < ticks), 1)


