"""CVD slope: how fast cumulative volume delta is moving, from the per-second delta series.

The watchlist ranks markets by where aggressive flow is heading *now*, which
the session CVD level does not say (it carries the whole day). The slope is
the ordinary least-squares slope of the CVD sampled at the end of each of
the last ``W`` closed seconds, in base units per minute::

    y_i = sum(delta[n-W .. i])            i = 0 .. W-1  (CVD re-based to the window)
    slope = 60 * sum((i - (W-1)/2) * y_i) / sum((i - (W-1)/2)^2)

The CVD is rebuilt from the per-second *deltas* rather than read from the
stored CVD column, so a session reset (CVD jumps to 0 at the boundary) inside
the window does not show up as a huge negative slope: the slope only sees
the flow. The per-second series has a regular time axis (skipped seconds are
stored with zero delta), so ``i`` is the time in seconds.
"""

from __future__ import annotations

import math

import numpy as np

#: Seconds per minute: the slope is reported per minute.
SECONDS_PER_MINUTE = 60.0


def cvd_slope(delta: np.ndarray, window: int) -> float:
    """Least-squares slope of the CVD over the last ``window`` seconds, base units per minute.

    Args:
        delta: Volume delta of each closed second, oldest first (regular axis).
        window: Seconds ``W`` in the fit (>= 2).

    Returns:
        The slope, or ``nan`` while fewer than ``max(2, W // 2)`` seconds are
        held (a fit over a handful of seconds at start-up would rank markets
        on noise).

    Runtime complexity: ``O(W)``.

    >>> cvd_slope(np.ones(100), 60)            # +1 per second = +60 per minute
    60.0
    >>> cvd_slope(np.array([0.0, 0.0, 3.0]), 3)  # y = 0, 0, 3: slope 1.5/s
    90.0
    >>> cvd_slope(np.array([5.0]), 60), cvd_slope(np.ones(29), 60)
    (nan, nan)
    >>> cvd_slope(np.ones(30), 60)             # half the window is enough
    60.0
    """
    n = min(int(window), int(delta.shape[0]))
    if n < max(2, int(window) // 2):
        return math.nan
    y = np.cumsum(delta[-n:], dtype=np.float64)
    x = np.arange(n, dtype=np.float64) - (n - 1) * 0.5
    # sum(x^2) over a centred regular axis is n(n^2-1)/12; x sums to 0, so y needs no centring.
    return float(x @ y) * 12.0 / (n * (n * n - 1.0)) * SECONDS_PER_MINUTE
