"""Icebergs / hidden liquidity: a level traded out and reloaded, again and again.

Driven by the composite :class:`~tapescope.engine.detectors.micro.Microstructure`,
which hands it each changed level with its fill split and the prints awaiting
explanation at that price.
"""

from __future__ import annotations

from statistics import median

from tapescope.engine.detectors.base import DetectorEvent, DetectorKind, DetectorParams

NS = 1_000_000_000
#: A level is traded out when the prints at its price reach this share of its size
#: (the composite's fast path tests the same condition before calling the detector).
TRADED_OUT = 1.0 - 1e-9


class _Level:
    """What the iceberg detector remembers about one traded-out level."""

    __slots__ = ("traded", "refills", "clips", "depleted_ts", "last_ts", "reported")

    def __init__(self, ts: int) -> None:
        self.traded = 0.0  # volume traded at the level since the current streak began
        self.refills = 0
        self.clips: list[float] = []  # size shown right after each refill of the streak
        self.depleted_ts = -1  # when the level was last traded out and left empty
        self.last_ts = ts
        self.reported = False


class IcebergDetector:
    """Icebergs / hidden liquidity: trades at a level exceed the size displayed
    there, and the level refills after being traded out, at least
    ``iceberg_min_refills`` times.

    A level is *traded out* by a book update when the prints at its price
    awaiting explanation (``printed``) are at least the size it showed before
    the update. It *refills* when it shows size again in that same update, or
    reappears within ``iceberg_refill_ms`` of being left empty; the size it
    then shows is the refill's *clip*. A streak of refills starts at a
    traded-out update. Additions to the definition in detectors.md, so a busy
    touch that empties and is re-quoted by other traders is not an iceberg:

    * **Quick refill**: a reappearance later than ``iceberg_refill_ms`` is a
      new order, and ends the streak.
    * **Consistent clips**: each clip must lie within ``iceberg_clip_ratio``
      of the median clip of the streak; an outlier starts a new streak from
      itself (an iceberg reloads the same display size).
    * **Traded well beyond display**: volume traded at the level during the
      streak must reach ``iceberg_min_traded_x`` x the largest clip.

    Hidden size estimate = traded volume - the largest clip. Score = traded /
    (3 x largest clip), capped at 1. Reported once per tracked level.
    ``O(r)`` per changed level for ``r`` refills in the streak (a handful).
    """

    def __init__(self, params: DetectorParams) -> None:
        self.p = params
        self._levels: dict[tuple[int, float], _Level] = {}
        self._refill_ns = int(params.iceberg_refill_ms * 1_000_000)

    def on_level(
        self,
        ts: int,
        side: int,
        price: float,
        old: float,
        new: float,
        filled: float,
        printed: float | None = None,
    ) -> DetectorEvent | None:
        """Update the level's refill streak; report once when it qualifies.

        Args:
            ts: book update time.
            side: +1 bid, -1 ask.
            price: level price.
            old: size before the update.
            new: size after it.
            filled: part of the decrease attributed to fills.
            printed: trade volume at ``price`` awaiting explanation before this
                update (defaults to ``filled``).
        """
        if printed is None:
            printed = filled
        key = (side, price)
        st = self._levels.get(key)
        if old > 0.0 and printed >= old * TRADED_OUT:
            if st is None:
                st = self._levels[key] = _Level(ts)
            if st.refills == 0:
                st.traded = 0.0  # a new streak starts with this traded-out update
            st.traded += printed
            st.last_ts = ts
            if new > 0.0:
                self._refill(st, new, printed)
            else:
                st.depleted_ts = ts
        elif st is not None and st.depleted_ts >= 0 and new > old:
            st.last_ts = ts
            if ts - st.depleted_ts <= self._refill_ns:
                self._refill(st, new, 0.0)
            else:
                st.refills, st.clips = 0, []  # re-quoted too late: someone else's order
            st.depleted_ts = -1
        elif st is not None and filled > 0.0:
            st.traded += filled
            st.last_ts = ts
        else:
            return None
        if st.reported or st.refills < self.p.iceberg_min_refills:
            return None
        clip = max(st.clips)
        if st.traded < self.p.iceberg_min_traded_x * clip:
            return None
        st.reported = True
        return DetectorEvent(
            DetectorKind.ICEBERG,
            ts,
            side,
            price,
            st.traded - clip,
            min(1.0, st.traded / (3 * clip)),
            f"traded {st.traded:.4g} vs clips of {median(st.clips):.4g}, {st.refills} refills",
        )

    def _refill(self, st: _Level, clip: float, printed: float) -> None:
        st.depleted_ts = -1
        if st.clips:
            mid_clip = median(st.clips)
            r = self.p.iceberg_clip_ratio
            if not mid_clip / r <= clip <= mid_clip * r:
                # A different size: a new streak, starting with the volume that just emptied it.
                st.refills, st.clips, st.traded = 1, [clip], printed
                return
        st.refills += 1
        st.clips.append(clip)

    def expire(self, ts: int) -> None:
        """Forget levels idle longer than ``iceberg_idle_s``. ``O(tracked)``, called per second."""
        limit = ts - int(self.p.iceberg_idle_s * NS)
        for key in [k for k, s in self._levels.items() if s.last_ts < limit]:
            del self._levels[key]
