"""Volume profile (session and rolling) and TPO profile, with POC, value area and volume nodes.

Bins: price bins of ``bin_ticks`` ticks; bin ``k`` holds prices in
``[k*step, (k+1)*step)`` and is reported by its lower edge ``k*step`` (with
``bin_ticks = 1`` that is the traded price itself). POC, VAL and VAH are bin
prices in that sense (VAH is the lower edge of the highest value-area bin).

* Volume profile: traded base volume (and its signed delta) per bin, over the
  session (reset at the session boundary, default 00:00 UTC) and over a
  rolling window of whole seconds: trades whose second is in ``(s - W, s]``
  for the current second ``s`` (default W = 1 h; per-second aggregates
  expire from a deque, so memory does not grow with the trade rate).
* POC and value area (default 70 %): the standard expansion, documented in
  :mod:`tapescope.engine.profile_kernels`.
* Nodes, on the profile smoothed by a centred moving average of
  ``smooth_bins`` bins (truncated at the ends): an HVN is a local maximum
  (greater than the bin below, at least the bin above; the ends compare with
  their one neighbour) whose smoothed volume is at least ``hvn_ratio`` x the
  mean bin volume over the traded range; an LVN is an interior local minimum
  (less than the bin below, at most the bin above) at most ``lvn_ratio`` x
  that mean.
* TPO profile: the session is cut into periods of ``tpo_period_s`` (default
  30 min) lettered A..Z then a..z (letters repeat after 52 periods). A period
  marks every bin of the price range it traded (low to high, so bins crossed
  between two trades count), the usual Market Profile convention. TPO count
  per bin = number of letters; TPO POC and value area by the same expansion.

Statistics are computed on request (the UI's frame rate), not per trade. The
value area runs in pure Python until
:func:`tapescope.engine.volatility.warm_up_kernels` has loaded the numba
kernel (both implementations are tested to agree), so a first frame never
waits for numba.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tapescope.engine.events import NS_PER_S

NAN = math.nan
#: Period letters of the TPO profile, in order.
TPO_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DAY_NS = 86400 * NS_PER_S


@dataclass(frozen=True)
class ProfileConfig:
    """``[levels.profile]``: volume and TPO profiles."""

    bin_ticks: int = field(default=10, metadata={"min": 1, "max": 1000000})
    """Bin height in ticks."""
    value_area: float = field(default=0.70, metadata={"min": 0.05, "max": 1.0})
    """Fraction of volume (or TPOs) in the value area."""
    rolling_window_s: int = field(default=3600, metadata={"min": 1, "max": 7 * 86400})
    """Rolling volume profile window, seconds."""
    session_offset_s: int = field(default=0, metadata={"min": 0, "max": 86399})
    """Session start, seconds after 00:00 UTC."""
    smooth_bins: int = field(default=3, metadata={"min": 1, "max": 101})
    """Width of the moving average used to find nodes (odd)."""
    hvn_ratio: float = field(default=1.5, metadata={"min": 0.0, "max": 100.0})
    """HVN: smoothed volume at least this x the mean bin volume."""
    lvn_ratio: float = field(default=0.5, metadata={"min": 0.0, "max": 100.0})
    """LVN: smoothed volume at most this x the mean bin volume."""
    tpo_period_s: int = field(default=1800, metadata={"min": 60, "max": 86400})
    """TPO period length, seconds."""


def _bin(price: float, step: float) -> int:
    # the epsilon keeps prices that are exact tick multiples out of the bin below
    return math.floor(price / step + 1e-9)


@dataclass(frozen=True, slots=True)
class ProfileStats:
    """One profile: dense bins from ``first_price`` upward, plus its statistics."""

    step: float = NAN
    """Bin height, price units."""
    first_price: float = NAN
    """Price (lower edge) of ``volumes[0]``."""
    volumes: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Weight per bin (volume, or TPO count), read-only."""
    deltas: np.ndarray = field(default_factory=lambda: np.empty(0))
    """Signed taker volume per bin (volume profiles; empty for TPO)."""
    total: float = 0.0
    """Sum of ``volumes``."""
    poc: float = NAN
    """Point of control, bin price."""
    val: float = NAN
    """Value area low, bin price."""
    vah: float = NAN
    """Value area high, bin price."""
    hvn: tuple[float, ...] = ()
    """High-volume node bin prices, ascending."""
    lvn: tuple[float, ...] = ()
    """Low-volume node bin prices, ascending."""

    def price(self, i: int) -> float:
        """Price of bin ``i`` of ``volumes``. O(1)."""
        return self.first_price + i * self.step


def nodes(w: np.ndarray, smooth: int, hvn_ratio: float, lvn_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of high- and low-volume nodes of a dense profile (see module docstring). O(n).

    >>> h, l = nodes(np.array([1.0, 5.0, 1.0, 0.0, 1.0, 6.0, 2.0]), 1, 1.5, 0.5)
    >>> h.tolist(), l.tolist()
    ([1, 5], [3])
    """
    n = w.shape[0]
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    h = max(smooth, 1) // 2
    c = np.concatenate(([0.0], np.cumsum(w)))
    idx = np.arange(n)
    a, b = np.maximum(idx - h, 0), np.minimum(idx + h + 1, n)
    s = (c[b] - c[a]) / (b - a)
    mean = float(w.mean())
    left = np.concatenate(([-np.inf], s[:-1]))
    right = np.concatenate((s[1:], [-np.inf]))
    hvn = np.nonzero((s > left) & (s >= right) & (s >= hvn_ratio * mean) & (s > 0))[0]
    lmask = np.zeros(n, bool)
    if n >= 3:
        lmask[1:-1] = (s[1:-1] < s[:-2]) & (s[1:-1] <= s[2:]) & (s[1:-1] <= lvn_ratio * mean)
    return hvn, np.nonzero(lmask)[0]


def value_area_py(w: list[float], fraction: float) -> tuple[int, int, int]:
    """Pure-Python twin of :func:`tapescope.engine.profile_kernels.value_area` (same algorithm). O(n).

    Used until :func:`tapescope.engine.volatility.warm_up_kernels` has loaded the
    numba kernel, so the first frames never wait for numba.

    >>> value_area_py([1.0, 2.0, 4.0, 10.0, 6.0, 5.0, 1.0, 1.0], 0.7)
    (3, 3, 5)
    """
    n = len(w)
    total = sum(w)
    if n == 0 or total <= 0.0:
        return -1, -1, -1
    best = max(w)
    poc = min((i for i in range(n) if w[i] == best), key=lambda i: (abs(2 * i - (n - 1)), i))
    target = fraction * total * (1.0 - 1e-12)
    lo = hi = poc
    acc = w[poc]
    while acc < target and (lo > 0 or hi < n - 1):
        k_up = min(2, n - 1 - hi)
        k_dn = min(2, lo)
        up = sum(w[hi + 1 : hi + 1 + k_up])
        dn = sum(w[lo - k_dn : lo])
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


def _value_area(w: np.ndarray, fraction: float) -> tuple[int, int, int]:
    kernels = sys.modules.get("tapescope.engine.profile_kernels")
    # getattr: while the warm-up thread is still importing the module (a cold numba
    # compile takes seconds) it is already in sys.modules, without READY yet.
    if kernels is not None and getattr(kernels, "READY", False):
        return kernels.value_area(w, fraction)
    return value_area_py(w.tolist(), fraction)


def profile_stats(
    first_bin: int, step: float, w: np.ndarray, deltas: np.ndarray, cfg: ProfileConfig, with_nodes: bool = True
) -> ProfileStats:
    """POC, value area and (optionally) nodes of a dense profile starting at bin ``first_bin``. O(n)."""
    if w.shape[0] == 0 or not (w.sum() > 0.0):
        return ProfileStats(step=step)
    poc, lo, hi = _value_area(w, cfg.value_area)
    hv, lv = nodes(w, cfg.smooth_bins, cfg.hvn_ratio, cfg.lvn_ratio) if with_nodes else ((), ())
    w.flags.writeable = False
    deltas.flags.writeable = False
    p0 = first_bin * step
    return ProfileStats(
        step=step,
        first_price=p0,
        volumes=w,
        deltas=deltas,
        total=float(w.sum()),
        poc=p0 + poc * step,
        val=p0 + lo * step,
        vah=p0 + hi * step,
        hvn=tuple((p0 + np.asarray(hv, dtype=float) * step).tolist()),
        lvn=tuple((p0 + np.asarray(lv, dtype=float) * step).tolist()),
    )


def _dense(bins: dict[int, list[float]]) -> tuple[int, np.ndarray, np.ndarray]:
    if not bins:
        return 0, np.empty(0), np.empty(0)
    keys = np.fromiter(bins.keys(), np.int64, len(bins))
    lo = int(keys.min())
    n = int(keys.max()) - lo + 1
    w, d = np.zeros(n), np.zeros(n)
    vals = bins.values()
    w[keys - lo] = np.fromiter((c[0] for c in vals), float, len(bins))
    d[keys - lo] = np.fromiter((c[1] for c in vals), float, len(bins))
    return lo, w, d


@dataclass(frozen=True, slots=True)
class VolumeProfileSnapshot:
    """Outputs of :class:`VolumeProfile`."""

    ts: int = 0
    """Event time of the last trade, ns."""
    session: ProfileStats = field(default_factory=ProfileStats)
    """Profile since the session boundary."""
    rolling: ProfileStats = field(default_factory=ProfileStats)
    """Profile over the rolling window."""


class VolumeProfile:
    """Session and rolling volume profiles of one symbol.

    >>> vp = VolumeProfile(tick=0.5, config=ProfileConfig(bin_ticks=2))  # $1 bins
    >>> for p, q in [(100.0, 1.0), (100.5, 2.0), (101.0, 5.0), (102.0, 1.0)]:
    ...     vp.on_trade(0, p, q, 1)
    >>> s = vp.snapshot().session   # bins 100: 3, 101: 5, 102: 1; 70 % of 9 = 6.3
    >>> s.poc, s.val, s.vah          # POC 101 (5); pairs: above 1 vs below 3 -> add below (8)
    (101.0, 100.0, 101.0)
    """

    def __init__(self, tick: float, config: ProfileConfig | None = None) -> None:
        self.config = cfg = config or ProfileConfig()
        self.step = tick * cfg.bin_ticks
        self._session_id: int | None = None
        self._session: dict[int, list[float]] = {}  # bin -> [volume, delta]
        self._rolling: dict[int, list[float]] = {}  # bin -> [volume, delta, seconds holding it]
        # one entry per second with trades: (second, {bin: [volume, delta]}); memory is bounded by
        # the window in seconds, not by the trade rate
        self._window: deque[tuple[int, dict[int, list[float]]]] = deque()
        self._ts = 0
        self._snap: VolumeProfileSnapshot | None = None

    def on_trade(self, ts_ns: int, price: float, qty: float, side: int) -> None:
        """Add a trade to both profiles. O(1) amortised (expired seconds leave one by one)."""
        if not (qty > 0.0) or not (price > 0.0):
            return
        cfg = self.config
        sid = (ts_ns - cfg.session_offset_s * NS_PER_S) // _DAY_NS
        if sid != self._session_id:
            self._session_id = sid
            self._session = {}
        b = _bin(price, self.step)
        sq = qty if side > 0 else -qty
        cell = self._session.get(b)
        if cell is None:
            self._session[b] = [qty, sq]
        else:
            cell[0] += qty
            cell[1] += sq
        sec = ts_ns // NS_PER_S
        win = self._window
        if not win or win[-1][0] != sec:
            win.append((sec, {}))
        per_sec = win[-1][1]
        roll = self._rolling
        cell = per_sec.get(b)
        if cell is None:
            per_sec[b] = [qty, sq]
            rc = roll.get(b)
            if rc is None:
                roll[b] = [qty, sq, 1]
            else:
                rc[0] += qty
                rc[1] += sq
                rc[2] += 1
        else:
            cell[0] += qty
            cell[1] += sq
            rc = roll[b]
            rc[0] += qty
            rc[1] += sq
        cutoff = sec - cfg.rolling_window_s
        while win[0][0] <= cutoff:
            for ob, (oq, osq) in win.popleft()[1].items():
                rc = roll[ob]
                rc[2] -= 1
                if rc[2] == 0:
                    del roll[ob]  # exact removal: no float residue left in empty bins
                else:
                    rc[0] -= oq
                    rc[1] -= osq
        self._ts = ts_ns
        self._snap = None

    def _check(self) -> None:
        """Assert the invariants: the rolling profile is exactly the sum of its window's seconds."""
        agg: dict[int, list[float]] = {}
        secs = [sec for sec, _ in self._window]
        assert secs == sorted(set(secs)), "window seconds must be strictly increasing"
        for _sec, per in self._window:
            for b, (q, sq) in per.items():
                cell = agg.setdefault(b, [0.0, 0.0, 0])
                cell[0] += q
                cell[1] += sq
                cell[2] += 1
        assert agg.keys() == self._rolling.keys()
        for b, (q, sq, n) in agg.items():
            rq, rsq, rn = self._rolling[b]
            assert rn == n and abs(rq - q) <= 1e-9 * q and abs(rsq - sq) <= 1e-9 * q, b
        assert all(c[0] > 0.0 for c in self._session.values())

    def snapshot(self) -> VolumeProfileSnapshot:
        """Profiles with POC, value area and nodes (cached until the next trade). O(bins)."""
        if self._snap is None:
            cfg = self.config
            s_lo, s_w, s_d = _dense(self._session)
            r_lo, r_w, r_d = _dense(self._rolling)
            self._snap = VolumeProfileSnapshot(
                ts=self._ts,
                session=profile_stats(s_lo, self.step, s_w, s_d, cfg),
                rolling=profile_stats(r_lo, self.step, r_w, r_d, cfg),
            )
        return self._snap


@dataclass(frozen=True, slots=True)
class TpoSnapshot:
    """Outputs of :class:`TpoProfile`."""

    ts: int = 0
    """Event time of the last price, ns."""
    period: str = ""
    """Letter of the current period."""
    stats: ProfileStats = field(default_factory=ProfileStats)
    """TPO counts per bin (``volumes``) with TPO POC and value area (no nodes, no deltas)."""
    letters: tuple[str, ...] = ()
    """Letters per bin, aligned with ``stats.volumes``."""


class TpoProfile:
    """Session TPO (time price opportunity) profile.

    >>> tpo = TpoProfile(tick=1.0, config=ProfileConfig(bin_ticks=1, tpo_period_s=1800))
    >>> for ts_s, p in [(0, 100.0), (60, 102.0), (1800, 101.0), (1900, 99.0)]:
    ...     tpo.on_price(ts_s * 1_000_000_000, p)
    >>> s = tpo.snapshot(); s.letters   # A covers 100..102, B covers 99..101
    ('B', 'AB', 'AB', 'A')
    >>> s.stats.poc                      # counts 1, 2, 2, 1: POC tie -> nearer the middle, lower
    100.0
    """

    def __init__(self, tick: float, config: ProfileConfig | None = None) -> None:
        self.config = cfg = config or ProfileConfig()
        self.step = tick * cfg.bin_ticks
        self._session_id: int | None = None
        self._marks: dict[int, int] = {}  # bin -> bitmask of periods
        self._letters: dict[int, str] = {}  # bitmask -> its letters
        self._period = -1
        self._lo = self._hi = 0
        self._ts = 0
        self._snap: TpoSnapshot | None = None

    def on_trade(self, ts_ns: int, price: float, qty: float, side: int) -> None:
        """Same as :meth:`on_price` (TPOs count time at price, not volume). O(1) amortised."""
        self.on_price(ts_ns, price)

    def on_price(self, ts_ns: int, price: float) -> None:
        """Record a traded price. O(1 + bins newly covered by the period's range)."""
        if not (price > 0.0):
            return
        cfg = self.config
        t = ts_ns - cfg.session_offset_s * NS_PER_S
        sid = t // _DAY_NS
        if sid != self._session_id:
            self._session_id = sid
            self._marks = {}
            self._period = -1
        period = (t - sid * _DAY_NS) // (cfg.tpo_period_s * NS_PER_S)
        b = _bin(price, self.step)
        marks = self._marks
        if period != self._period:
            self._period = period
            self._lo = self._hi = b
            bit = 1 << period
            marks[b] = marks.get(b, 0) | bit
        else:
            bit = 1 << period
            if b < self._lo:
                for k in range(b, self._lo):
                    marks[k] = marks.get(k, 0) | bit
                self._lo = b
            elif b > self._hi:
                for k in range(self._hi + 1, b + 1):
                    marks[k] = marks.get(k, 0) | bit
                self._hi = b
        self._ts = ts_ns
        self._snap = None

    def _check(self) -> None:
        """Assert the invariants: the current period marks every bin of its range, and only them."""
        if self._period < 0:
            return
        bit = 1 << self._period
        assert self._lo <= self._hi
        marked = sorted(b for b, m in self._marks.items() if m & bit)
        assert marked == list(range(self._lo, self._hi + 1)), (marked, self._lo, self._hi)

    def _spell(self, mask: int) -> str:
        word = "".join(TPO_LETTERS[p % len(TPO_LETTERS)] for p in range(mask.bit_length()) if mask >> p & 1)
        if len(self._letters) > 4096:
            self._letters.clear()  # masks repeat heavily within a session; bound the memo anyway
        self._letters[mask] = word
        return word

    def snapshot(self) -> TpoSnapshot:
        """Letters, counts, TPO POC and value area (cached until the next price). O(bins), letters memoised."""
        if self._snap is not None:
            return self._snap
        if not self._marks:
            self._snap = TpoSnapshot(ts=self._ts)
            return self._snap
        lo = min(self._marks)
        n = max(self._marks) - lo + 1
        masks = [self._marks.get(lo + i, 0) for i in range(n)]
        counts = np.fromiter((m.bit_count() for m in masks), float, n)
        cache = self._letters
        letters = tuple(cache[m] if m in cache else self._spell(m) for m in masks)
        cfg = self.config
        stats = profile_stats(lo, self.step, counts, np.empty(0), cfg, with_nodes=False)
        self._snap = TpoSnapshot(
            ts=self._ts,
            period=TPO_LETTERS[self._period % len(TPO_LETTERS)],
            stats=stats,
            letters=letters,
        )
        return self._snap
