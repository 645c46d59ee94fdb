"""The seven signal generators of detectors.md, each a small per-second state machine.

Every generator reads a :class:`~tapescope.engine.signals.base.Features`
record and the shared :class:`History`, and returns a
:class:`~tapescope.engine.signals.base.Signal` or ``None``. Strength and
confidence rules are written in each class docstring so a trader can check a
signal against its reasons.

Runtime complexity: ``O(lookback)`` per second per symbol (range and swing
scans over the per-second history), never per message.
"""

from __future__ import annotations

import math
from collections import deque
from operator import itemgetter

from tapescope.engine.detectors.base import DetectorEvent, DetectorKind
from tapescope.engine.signals.base import Features, Signal, SignalParams

NS = 1_000_000_000


def _sign(x: float) -> int:
    return 1 if x > 0 else -1 if x < 0 else 0


class History:
    """Per-second mid and CVD history shared by the generators.

    >>> h = History(4)
    >>> for i, m in enumerate([10.0, 12.0, 11.0, 13.0, 9.0]): h.push(i, m, 0.0)
    >>> h.prior_range(exclude=1)   # seconds 1..3 (maxlen 4, newest excluded)
    (11.0, 13.0)
    """

    def __init__(self, seconds: int) -> None:
        self.ts: deque[int] = deque(maxlen=seconds)
        self.mid: deque[float] = deque(maxlen=seconds)
        self.cvd: deque[float] = deque(maxlen=seconds)

    def push(self, ts: int, mid: float, cvd: float) -> None:
        """Append one closed second. ``O(1)``."""
        self.ts.append(ts)
        self.mid.append(mid)
        self.cvd.append(cvd)

    def __len__(self) -> int:
        return len(self.mid)

    def prior_range(self, exclude: int) -> tuple[float, float]:
        """(low, high) of mid over the history minus the newest ``exclude`` seconds. ``O(n)``."""
        mids = [m for m in list(self.mid)[: len(self.mid) - exclude] if m == m]
        if not mids:
            return math.nan, math.nan
        return min(mids), max(mids)

    def ago(self, seconds: int) -> float:
        """Mid ``seconds`` ago (``nan`` if not that old). ``O(1)``."""
        if seconds >= len(self.mid):
            return math.nan
        return self.mid[-1 - seconds]


#: Key of the first element (C-level; min/max keep their first-extreme semantics).
_first = itemgetter(0)


def _signal(
    f: Features, name: str, direction: int, strength: float, confidence: float, *reasons: str
) -> Signal:
    return Signal(
        f.symbol,
        f.ts,
        name,
        direction,
        max(0.0, min(1.0, strength)),
        max(0.0, min(1.0, confidence)),
        tuple(reasons),
        f.mid,
    )


class CompressionBreakout:
    """Volatility was COMPRESSED, then price leaves the recent range with delta and OFI agreeing.

    Strength = distance outside the range / range width. Confidence = share of
    (10 s delta, 60 s delta, OFI) pointing the breakout's way (two are required).
    Fires once per compression episode.
    """

    name = "compression_breakout"

    def __init__(self, p: SignalParams) -> None:
        self.p = p
        self._compressed_ts = -(1 << 62)

    def update(self, f: Features, h: History) -> Signal | None:
        if f.vol_state == "COMPRESSED":
            self._compressed_ts = f.ts
        if f.ts - self._compressed_ts > self.p.compression_memory_s * NS or len(h) < 30:
            return None
        lo, hi = h.prior_range(exclude=5)
        if not (hi == hi) or not (f.mid == f.mid):
            return None
        buf = self.p.breakout_ticks * f.tick
        width = max(hi - lo, f.tick)
        for direction, beyond in ((1, f.mid - (hi + buf)), (-1, (lo - buf) - f.mid)):
            if beyond <= 0:
                continue
            if _sign(f.delta_mid) != direction or _sign(f.ofi) != direction:
                return None
            agree = 2 + (_sign(f.delta_short) == direction)
            self._compressed_ts = -(1 << 62)
            edge = hi if direction > 0 else lo
            return _signal(
                f,
                self.name,
                direction,
                (beyond + buf) / width,
                agree / 3,
                f"vol COMPRESSED, broke {'above' if direction > 0 else 'below'} {edge:.6g}",
                f"delta60 {f.delta_mid:+.4g}, OFI {f.ofi:+.4g}",
            )
        return None


class FlowInflection:
    """A significant delta flip, or a CVD/price divergence at a swing.

    Flip: direction of the flip; strength = |10 s delta| / (3 x median |10 s
    delta|); confidence 0.5 + 0.25 if OFI agrees + 0.25 if the 10 s price move agrees.
    Divergence: price makes a new low (high) of the lookback while CVD is
    above (below) its value at the previous low (high); strength = CVD gap /
    CVD range over the lookback; confidence 0.6 + 0.2 if the 10 s delta agrees.
    """

    name = "flow_inflection"

    def __init__(self, p: SignalParams) -> None:
        self.p = p
        self._abs_delta: deque[float] = deque(maxlen=p.range_lookback_s)

    def update(self, f: Features, h: History) -> Signal | None:
        if f.delta_short == f.delta_short:
            self._abs_delta.append(abs(f.delta_short))
        if f.delta_flip:
            d = f.delta_flip
            typical = sorted(self._abs_delta)[len(self._abs_delta) // 2] if self._abs_delta else 0.0
            strength = abs(f.delta_short) / (3 * typical) if typical > 0 else 0.5
            move = f.mid - h.ago(10)
            conf = 0.5 + 0.25 * (_sign(f.ofi) == d) + 0.25 * (_sign(move) == d)
            return _signal(
                f,
                self.name,
                d,
                strength,
                conf,
                f"delta flip {'up' if d > 0 else 'down'}: 10s delta {f.delta_short:+.4g}",
            )
        if len(h) < 30 or not (f.cvd == f.cvd):
            return None
        mids, cvds = list(h.mid)[:-1], list(h.cvd)[:-1]
        valid = [(m, c) for m, c in zip(mids, cvds, strict=True) if m == m and c == c]
        if len(valid) < 20:
            return None
        cvds_ok = [c for _, c in valid]
        cvd_range = max(cvds_ok) - min(cvds_ok)
        if cvd_range <= 0:
            return None
        low_m, low_c = min(valid, key=_first)
        high_m, high_c = max(valid, key=_first)
        if f.mid < low_m and f.cvd > low_c:
            conf = 0.6 + 0.2 * (f.delta_short > 0)
            return _signal(
                f,
                self.name,
                1,
                (f.cvd - low_c) / cvd_range,
                conf,
                f"new low {f.mid:.6g} < {low_m:.6g} with CVD higher ({f.cvd:+.4g} vs {low_c:+.4g})",
            )
        if f.mid > high_m and f.cvd < high_c:
            conf = 0.6 + 0.2 * (f.delta_short < 0)
            return _signal(
                f,
                self.name,
                -1,
                (high_c - f.cvd) / cvd_range,
                conf,
                f"new high {f.mid:.6g} > {high_m:.6g} with CVD lower ({f.cvd:+.4g} vs {high_c:+.4g})",
            )
        return None


class LiquidityFulcrum:
    """Absorption at a wall or a high-volume node / POC: the absorbing side holds.

    Direction: bid-side absorption is long, ask-side short. Strength = the
    absorption's score. Confidence 0.5 + 0.25 for a same-side wall within
    ``level_ticks`` + 0.25 for a reference level (POC, HVN, zone) within ``level_ticks``;
    at least one of the two is required.
    """

    name = "liquidity_fulcrum"

    def __init__(self, p: SignalParams) -> None:
        self.p = p
        self._absorptions: deque[DetectorEvent] = deque(maxlen=16)

    def update(self, f: Features, h: History) -> Signal | None:
        fresh = [e for e in f.events if e.kind is DetectorKind.ABSORPTION]
        self._absorptions.extend(fresh)
        if not fresh:
            return None
        ev = fresh[-1]
        near = self.p.level_ticks * f.tick + 1e-12
        wall = any(side == ev.side and abs(px - ev.price) <= near for side, px, _ in f.walls)
        refs = [x for x in (f.poc, *f.levels) if x == x]
        level = any(abs(x - ev.price) <= near for x in refs)
        if not (wall or level):
            return None
        where = " and ".join(w for w, ok in (("a wall", wall), ("a volume node", level)) if ok)
        return _signal(
            f,
            self.name,
            ev.side,
            ev.score,
            0.5 + 0.25 * wall + 0.25 * level,
            f"absorption at {ev.price:.6g} on {where}",
            ev.detail,
        )


class VolatilityStress:
    """Realised volatility and spread z-score jump together (both above ``stress_z``).

    Direction follows the 10 s price move (stress usually extends the move that
    caused it). Strength = min(rv z, spread z) / (2 x stress_z); confidence is
    a flat 0.5: it is mostly a risk flag. Fires once per episode.
    """

    name = "volatility_stress"

    def __init__(self, p: SignalParams) -> None:
        self.p = p
        self._active = False

    def update(self, f: Features, h: History) -> Signal | None:
        firing = f.rv_z > self.p.stress_z and f.spread_z > self.p.stress_z
        was, self._active = self._active, firing
        if not firing or was:
            return None
        d = _sign(f.mid - h.ago(10)) or _sign(f.delta_short)
        if d == 0:
            return None
        return _signal(
            f,
            self.name,
            d,
            min(f.rv_z, f.spread_z) / (2 * self.p.stress_z),
            0.5,
            f"realised vol z {f.rv_z:.1f} and spread z {f.spread_z:.1f}",
        )


class LevelPlay:
    """A reaction at VWAP, POC or a zone/value-area level, confirmed by flow.

    Price came to within ``level_ticks`` of a level from one side over the last
    10 s and the 10 s delta now pushes back away from it: from above with
    buying is long (support), from below with selling short. Strength = |10 s
    delta| / |60 s delta| (capped); confidence 0.5 + 0.5 if OFI agrees. Once per level touch.
    """

    name = "level_play"

    def __init__(self, p: SignalParams) -> None:
        self.p = p
        self._last: tuple[float, int] = (math.nan, 0)

    def update(self, f: Features, h: History) -> Signal | None:
        before = h.ago(10)
        if not (f.mid == f.mid and before == before):
            return None
        near = self.p.level_ticks * f.tick + 1e-12
        named = [("VWAP", f.vwap), ("POC", f.poc), *(("level", x) for x in f.levels)]
        for label, level in named:
            if not (level == level) or abs(f.mid - level) > near:
                continue
            came_from = _sign(before - level)
            if came_from == 0 or abs(before - level) <= near:
                continue
            direction = came_from  # from above -> support -> long
            if _sign(f.delta_short) != direction:
                continue
            if self._last[0] == level and f.ts - self._last[1] < self.p.trap_window_s * NS:
                return None
            self._last = (level, f.ts)
            strength = abs(f.delta_short) / abs(f.delta_mid) if f.delta_mid else 1.0
            return _signal(
                f,
                self.name,
                direction,
                strength,
                0.5 + 0.5 * (_sign(f.ofi) == direction),
                f"{'held' if direction > 0 else 'rejected at'} {label} {level:.6g}",
                f"10s delta {f.delta_short:+.4g}",
            )
        return None


class VoidSwept:
    """Price runs through a liquidity vacuum: a vacuum is on and mid moved at least
    ``sweep_bps`` over ``sweep_window_s`` with the 10 s delta the same way.

    Strength = move / (3 x sweep_bps); confidence 0.5 + 0.5 if OFI agrees.
    Fires once per vacuum.
    """

    name = "void_swept"

    def __init__(self, p: SignalParams) -> None:
        self.p = p
        self._fired = False

    def update(self, f: Features, h: History) -> Signal | None:
        if not f.vacuum:
            self._fired = False
            return None
        before = h.ago(self.p.sweep_window_s)
        if self._fired or not (before > 0 and f.mid == f.mid):
            return None
        move_bps = (f.mid - before) / before * 1e4
        d = _sign(move_bps)
        if abs(move_bps) < self.p.sweep_bps or _sign(f.delta_short) != d:
            return None
        self._fired = True
        return _signal(
            f,
            self.name,
            d,
            abs(move_bps) / (3 * self.p.sweep_bps),
            0.5 + 0.5 * (_sign(f.ofi) == d),
            f"swept {move_bps:+.1f}bps through thin book in {self.p.sweep_window_s}s",
        )


class Trap:
    """A breakout of the recent range that reverses back inside within ``trap_window_s``
    with opposing flow: a failed breakout, traded the other way.

    Strength = depth back inside the range / range width + 0.5 (capped);
    confidence 0.5 + 0.25 if OFI opposes the breakout + 0.25 if the 60 s delta does.
    """

    name = "trap"

    def __init__(self, p: SignalParams) -> None:
        self.p = p
        self._breakout: tuple[int, float, int] | None = None  # (direction, edge, ts)

    def update(self, f: Features, h: History) -> Signal | None:
        if len(h) < 30 or not (f.mid == f.mid):
            return None
        lo, hi = h.prior_range(exclude=self.p.trap_window_s)
        if not (hi == hi):
            return None
        buf = self.p.breakout_ticks * f.tick
        bo = self._breakout
        if bo is not None and f.ts - bo[2] > self.p.trap_window_s * NS:
            bo = self._breakout = None
        if bo is None:
            if f.mid > hi + buf:
                self._breakout = (1, hi, f.ts)
            elif f.mid < lo - buf:
                self._breakout = (-1, lo, f.ts)
            return None
        direction, edge, _ = bo
        back_inside = f.mid < edge if direction > 0 else f.mid > edge
        if not back_inside or _sign(f.delta_short) != -direction:
            return None
        self._breakout = None
        width = max(hi - lo, f.tick)
        conf = 0.5 + 0.25 * (_sign(f.ofi) == -direction) + 0.25 * (_sign(f.delta_mid) == -direction)
        return _signal(
            f,
            self.name,
            -direction,
            abs(f.mid - edge) / width + 0.5,
            conf,
            f"failed break {'above' if direction > 0 else 'below'} {edge:.6g}, back inside",
            f"10s delta {f.delta_short:+.4g}",
        )


#: Every generator, in display order.
GENERATORS = (
    CompressionBreakout,
    FlowInflection,
    LiquidityFulcrum,
    VolatilityStress,
    LevelPlay,
    VoidSwept,
    Trap,
)
