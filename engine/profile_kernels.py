"""numba kernel for profile statistics (POC and value area), used by :mod:`tapescope.engine.profile`.

Loaded by :func:`tapescope.engine.volatility.warm_up_kernels` (meant for a
worker thread after the first frame), which sets :data:`READY`; until then
the profiles use the identical pure-Python ``value_area_py``, so no frame
waits for numba.

Algorithm (the standard Market Profile expansion, used for volume and TPO
profiles alike), on a dense array of per-bin weights ordered by price:

1. POC: the bin of greatest weight; among equal maxima the one closest to the
   middle of the array (the traded range), then the lower one.
2. Start the value area at the POC with its weight. While the area holds less
   than ``fraction`` of the total weight: sum the next two bins above the area
   and the next two below (fewer where the range ends); add the pair with
   the larger sum (both pairs when equal); when one side is exhausted, add the
   other side's pair.
3. Return the first and last bin of the area.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: True once the kernel has been compiled or loaded from cache (set by warm_up_kernels).
READY = False


@njit(cache=True)
def value_area(w: np.ndarray, fraction: float) -> tuple:
    """POC index and the value area's (low, high) bin indices; (-1, -1, -1) when the total is 0.

    Complexity: O(len(w)).
    """
    n = w.shape[0]
    total = 0.0
    best = -1.0
    for i in range(n):
        total += w[i]
        if w[i] > best:
            best = w[i]
    if n == 0 or total <= 0.0:
        return -1, -1, -1
    poc = -1
    twice_mid = n - 1  # compare 2*i with n-1 to stay in integers
    best_dist = 1 << 62
    for i in range(n):
        if w[i] == best:
            d = abs(2 * i - twice_mid)
            if d < best_dist:  # strict: the lower bin wins a tie in distance
                best_dist = d
                poc = i
    target = fraction * total
    lo = poc
    hi = poc
    acc = w[poc]
    while acc < target * (1.0 - 1e-12) and (lo > 0 or hi < n - 1):
        up = 0.0
        k_up = min(2, n - 1 - hi)
        for j in range(1, k_up + 1):
            up += w[hi + j]
        dn = 0.0
        k_dn = min(2, lo)
        for j in range(1, k_dn + 1):
            dn += w[lo - j]
        if k_dn == 0 or (k_up > 0 and up > dn):
            hi += k_up
            acc += up
        elif k_up == 0 or dn > up:
            lo -= k_dn
            acc += dn
        else:
            hi += k_up
            lo -= k_dn
            acc += up + dn
    return poc, lo, hi
