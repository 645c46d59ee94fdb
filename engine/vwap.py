"""VWAP: session, rolling and anchored, each with volume-weighted 1 and 2 sigma bands.

For the trades ``(p_i, q_i)`` in scope::

    VWAP  = sum(q p) / sum(q)
    sigma = sqrt(sum(q p^2) / sum(q) - VWAP^2)      (volume-weighted standard deviation)
    bands = VWAP +- k * sigma, k in band_sigmas (default 1 and 2)

Sums are kept on ``p - ref`` (``ref`` = the first traded price) so the
variance does not cancel catastrophically at BTC price levels.

* Session: trades since the session boundary (default 00:00 UTC).
* Rolling: trades in the whole seconds ``(s - W, s]`` of the current second
  ``s`` (default W = 1 h); per-second sums sit in a numpy ring (one slot per
  second with trades, 32 bytes) and leave the running sums as the window moves.
* Anchored: trades from an anchor time set by the user
  (:meth:`Vwap.set_anchor`). An anchor in the past is resolved at 1 s
  resolution from the per-second history (``anchor_history_s``, default one
  day); an anchor older than that history starts at its oldest second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tapescope.engine.events import NS_PER_S

NAN = math.nan
_DAY_NS = 86400 * NS_PER_S


@dataclass(frozen=True)
class VwapConfig:
    """``[levels.vwap]``: VWAP windows and bands."""

    rolling_window_s: int = field(default=3600, metadata={"min": 1, "max": 7 * 86400})
    """Rolling VWAP window, seconds."""
    session_offset_s: int = field(default=0, metadata={"min": 0, "max": 86399})
    """Session start, seconds after 00:00 UTC."""
    anchor_history_s: int = field(default=86400, metadata={"min": 0, "max": 7 * 86400})
    """Per-second history kept for anchors set in the past, seconds."""
    band_sigmas: tuple[float, ...] = (1.0, 2.0)
    """Band multiples of the volume-weighted sigma."""


@dataclass(frozen=True, slots=True)
class VwapBands:
    """One VWAP with its bands."""

    vwap: float = NAN
    """Volume-weighted average price."""
    sigma: float = NAN
    """Volume-weighted standard deviation of price."""
    volume: float = 0.0
    """Base volume in scope."""
    bands: tuple[tuple[float, float, float], ...] = ()
    """``((k, lower, upper), ...)`` for each band multiple."""


@dataclass(frozen=True, slots=True)
class VwapSnapshot:
    """Outputs of :class:`Vwap`."""

    ts: int = 0
    """Event time of the last trade, ns."""
    session: VwapBands = field(default_factory=VwapBands)
    """Session VWAP."""
    rolling: VwapBands = field(default_factory=VwapBands)
    """Rolling-window VWAP."""
    anchored: VwapBands = field(default_factory=VwapBands)
    """Anchored VWAP (empty when no anchor is set)."""
    anchor_ts: int | None = None
    """Anchor time, ns (``None`` when unset)."""


class Vwap:
    """Session, rolling and anchored VWAP with sigma bands.

    >>> v = Vwap()
    >>> v.on_trade(0, 100.0, 1.0, 1)
    >>> v.on_trade(1, 103.0, 2.0, -1)   # VWAP (100 + 206) / 3 = 102; E[p^2] - 102^2 = 2
    >>> s = v.snapshot().session
    >>> s.vwap, round(s.sigma ** 2, 9), round(s.bands[0][2], 6)
    (102.0, 2.0, 103.414214)
    """

    def __init__(self, config: VwapConfig | None = None) -> None:
        self.config = config or VwapConfig()
        self._ref = NAN
        self._session_id: int | None = None
        self._sess = [0.0, 0.0, 0.0]  # sum q, sum q x, sum q x^2 (x = p - ref)
        self._roll = [0.0, 0.0, 0.0]
        # per-second sums in a numpy ring: second, q, q*x, q*x^2 (x = p - ref); one slot per second
        # with trades, so memory is bounded by the history length in seconds, not by the trade rate
        cap = max(self.config.anchor_history_s, self.config.rolling_window_s) + 1
        self._cap = cap
        self._rs = np.zeros(cap, dtype=np.int64)
        self._rq = np.zeros(cap)
        self._rqx = np.zeros(cap)
        self._rqx2 = np.zeros(cap)
        self._n = 0  # slots ever written; the open second is slot n - 1
        self._tail = 0  # oldest slot inside the rolling window
        self._anchor: int | None = None
        self._anchor_sec = 0
        self._anch = [0.0, 0.0, 0.0]
        self._since_resum = 0
        self._ts = 0
        self._snap: VwapSnapshot | None = None

    def on_trade(self, ts_ns: int, price: float, qty: float, side: int) -> None:
        """Add a trade to every VWAP. O(1) amortised.

        A trade time-stamped in a second before the open one (out of order
        across streams) is counted in the open second.
        """
        if not (qty > 0.0) or not (price > 0.0):
            return
        cfg = self.config
        if self._ref != self._ref:
            self._ref = price
        x = price - self._ref
        qx = qty * x
        qx2 = qx * x
        sid = (ts_ns - cfg.session_offset_s * NS_PER_S) // _DAY_NS
        if sid != self._session_id:
            self._session_id = sid
            self._sess = [0.0, 0.0, 0.0]
        sec = ts_ns // NS_PER_S
        cap, n = self._cap, self._n
        rs = self._rs
        if n == 0 or sec > rs[(n - 1) % cap]:
            self._expire(sec)  # before writing: the slot about to be reused is outside the window
            i = n % cap
            rs[i] = sec
            self._rq[i] = self._rqx[i] = self._rqx2[i] = 0.0
            self._n = n = n + 1
        i = (n - 1) % cap
        self._rq[i] += qty
        self._rqx[i] += qx
        self._rqx2[i] += qx2
        accs = [self._sess, self._roll]
        if self._anchor is not None and sec >= self._anchor_sec:
            accs.append(self._anch)
        for acc in accs:
            acc[0] += qty
            acc[1] += qx
            acc[2] += qx2
        self._ts = ts_ns
        self._snap = None

    def _expire(self, sec: int) -> None:
        """Drop slots whose second left the rolling window ``(sec - W, sec]``. O(1) amortised."""
        cfg = self.config
        cap, n, tail = self._cap, self._n, self._tail
        rs, roll = self._rs, self._roll
        cutoff = sec - cfg.rolling_window_s
        while tail < n and rs[tail % cap] <= cutoff:
            j = tail % cap
            roll[0] -= float(self._rq[j])
            roll[1] -= float(self._rqx[j])
            roll[2] -= float(self._rqx2[j])
            tail += 1
            self._since_resum += 1
        self._tail = tail
        if self._since_resum >= cfg.rolling_window_s:
            self._since_resum = 0  # exact re-sum once per window turn bounds the drift (amortised O(1))
            idx = np.arange(tail, n) % cap
            self._roll = [float(self._rq[idx].sum()), float(self._rqx[idx].sum()), float(self._rqx2[idx].sum())]

    def _held(self) -> np.ndarray:
        """Ring slots of the held seconds, oldest first."""
        return np.arange(max(0, self._n - self._cap), self._n) % self._cap

    def _check(self) -> None:
        """Assert the invariants: rolling sums equal the window's slots; seconds strictly increasing."""
        held = self._held()
        secs = self._rs[held]
        assert np.all(np.diff(secs) > 0), "one slot per second, in order"
        if self._n:
            last = int(secs[-1])
            win = np.arange(self._tail, self._n) % self._cap
            assert np.all(self._rs[win] > last - self.config.rolling_window_s)
            if self._tail > max(0, self._n - self._cap):
                assert self._rs[(self._tail - 1) % self._cap] <= last - self.config.rolling_window_s
            exact = [float(a[win].sum()) for a in (self._rq, self._rqx, self._rqx2)]
            scale = max(abs(v) for v in exact)
            for got, want in zip(self._roll, exact, strict=True):
                assert abs(got - want) <= 1e-9 * max(scale, 1.0), (got, want)
        assert self._sess[0] >= 0.0 and self._anch[0] >= 0.0

    def set_anchor(self, ts_ns: int) -> None:
        """Anchor the anchored VWAP at ``ts_ns`` (1 s resolution). O(history seconds), vectorised.

        >>> v = Vwap()
        >>> for s, p in enumerate([10.0, 20.0, 30.0]):
        ...     v.on_trade(s * 1_000_000_000, p, 1.0, 1)
        >>> v.set_anchor(1_000_000_000); v.snapshot().anchored.vwap
        25.0
        """
        self._anchor = ts_ns
        self._anchor_sec = ts_ns // NS_PER_S
        a = [0.0, 0.0, 0.0]
        if self._n:
            held = self._held()
            secs = self._rs[held]
            last = int(secs[-1])
            sel = held[(secs >= self._anchor_sec) & (secs > last - self.config.anchor_history_s)]
            a = [float(self._rq[sel].sum()), float(self._rqx[sel].sum()), float(self._rqx2[sel].sum())]
        self._anch = a
        self._snap = None

    def clear_anchor(self) -> None:
        """Remove the anchor. O(1)."""
        self._anchor = None
        self._anch = [0.0, 0.0, 0.0]
        self._snap = None

    def _bands(self, acc: list[float]) -> VwapBands:
        q = acc[0]
        if not (q > 0.0):
            return VwapBands()
        mx = acc[1] / q
        var = max(acc[2] / q - mx * mx, 0.0)
        sd = math.sqrt(var)
        vwap = self._ref + mx
        return VwapBands(
            vwap=vwap,
            sigma=sd,
            volume=q,
            bands=tuple((k, vwap - k * sd, vwap + k * sd) for k in self.config.band_sigmas),
        )

    def snapshot(self) -> VwapSnapshot:
        """Current VWAPs and bands (cached until the next trade or anchor change). O(bands)."""
        if self._snap is None:
            self._snap = VwapSnapshot(
                ts=self._ts,
                session=self._bands(self._sess),
                rolling=self._bands(self._roll),
                anchored=self._bands(self._anch) if self._anchor is not None else VwapBands(),
                anchor_ts=self._anchor,
            )
        return self._snap
