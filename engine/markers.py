"""Per-price ladder markers: live walls and recent detector events, aged in event time.

The depth ladder marks the prices where something happened: a live wall,
and for a while after it was detected a spoof, iceberg, absorption, pulled
wall or liquidity vacuum. :func:`build_markers` turns the detectors' state
(active walls, the bounded event log) into a small, bounded tuple of
:class:`LadderMarker` once per snapshot; each marker carries its age at the
snapshot's event time and how long its kind is shown, so the widget can fade
it without a clock of its own. Parameters are the ``[markers]`` section.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Reversible
from dataclasses import dataclass, field
from typing import NamedTuple

from tapescope.engine.detectors.base import DetectorEvent, DetectorKind
from tapescope.engine.events import NS_PER_S

#: Detector kinds drawn as timed markers (live walls come from the active set instead;
#: a spread widening has no price of its own).
TIMED_KINDS = (DetectorKind.SPOOF, DetectorKind.ICEBERG, DetectorKind.ABSORPTION,
               DetectorKind.WALL_PULLED, DetectorKind.VACUUM)


@dataclass(frozen=True, slots=True)
class MarkerParams:
    """How long each kind of event stays marked on the ladder (config section ``[markers]``)."""

    spoof_s: float = field(default=30.0, metadata={"min": 0.0, "max": 3600.0})
    """Seconds of event time a spoof stays marked at its price (0: never marked)."""
    iceberg_s: float = field(default=60.0, metadata={"min": 0.0, "max": 3600.0})
    """Seconds of event time an iceberg stays marked at its price (0: never marked)."""
    absorption_s: float = field(default=30.0, metadata={"min": 0.0, "max": 3600.0})
    """Seconds of event time an absorption stays marked at the absorbing price (0: never marked)."""
    wall_pulled_s: float = field(default=20.0, metadata={"min": 0.0, "max": 3600.0})
    """Seconds of event time a pulled wall stays marked at its former price (0: never marked)."""
    vacuum_s: float = field(default=15.0, metadata={"min": 0.0, "max": 3600.0})
    """Seconds of event time a liquidity vacuum stays marked at the mid it was seen at (0: never marked)."""
    walls: bool = True
    """Mark live walls (size cell highlighted plus a glyph)."""
    max_markers: int = field(default=32, metadata={"min": 1, "max": 500})
    """Most markers in one snapshot: the newest events first, then the largest walls."""

    def life_s(self, kind: DetectorKind) -> float:
        """Seconds a timed marker of ``kind`` is shown (0 for kinds never shown). ``O(1)``.

        >>> MarkerParams().life_s(DetectorKind.SPOOF), MarkerParams().life_s(DetectorKind.WALL)
        (30.0, 0.0)
        """
        return {
            DetectorKind.SPOOF: self.spoof_s,
            DetectorKind.ICEBERG: self.iceberg_s,
            DetectorKind.ABSORPTION: self.absorption_s,
            DetectorKind.WALL_PULLED: self.wall_pulled_s,
            DetectorKind.VACUUM: self.vacuum_s,
        }.get(kind, 0.0)


class LadderMarker(NamedTuple):
    """One mark at one price of the ladder (hashable: widgets key their line cache on it)."""

    kind: DetectorKind
    """What is marked (``WALL`` for a live wall)."""
    side: int
    """+1 bid side, -1 ask side, 0 unsided (a vacuum at mid)."""
    price: float
    """Price the mark refers to (level price, or mid)."""
    size: float = 0.0
    """Size involved (wall size, spoofed size, hidden size, absorbed volume...)."""
    age_s: float = 0.0
    """Seconds of event time since the detection, at the snapshot's time (0 for live walls)."""
    life_s: float = 0.0
    """Seconds the mark is shown in all (0: live wall, shown while it stands)."""

    @property
    def fade(self) -> float:
        """Share of its life already spent, in [0, 1] (0 for live walls). ``O(1)``.

        >>> LadderMarker(DetectorKind.SPOOF, -1, 10.0, age_s=15.0, life_s=30.0).fade
        0.5
        """
        if self.life_s <= 0.0:
            return 0.0
        return min(1.0, max(0.0, self.age_s / self.life_s))


def build_markers(walls: Mapping[tuple[int, float], float], events: Reversible[DetectorEvent],
                  now: int, params: MarkerParams) -> tuple[LadderMarker, ...]:
    """The ladder markers at event time ``now``.

    Timed events younger than their kind's life are kept, newest first, one per
    ``(kind, side, price)`` (a level re-reported as an iceberg shows once, with
    its latest size); then live walls, largest first; at most
    ``params.max_markers`` in all.

    Args:
        walls: Active walls ``{(side, price): size}``.
        events: Detector events, oldest first (the detectors' bounded log).
        now: Event time of the snapshot, ns.
        params: Lifetimes and bound.

    Returns:
        Markers: timed events newest first, then walls largest first.

    Runtime complexity: ``O(r + w log w)`` for ``r`` events inside the longest
    lifetime (the scan stops at the first older one) and ``w`` walls.

    >>> evs = [DetectorEvent(DetectorKind.SPOOF, 1 * NS_PER_S, -1, 101.0, 5.0),
    ...        DetectorEvent(DetectorKind.ICEBERG, 40 * NS_PER_S, 1, 99.0, 7.0),
    ...        DetectorEvent(DetectorKind.SPREAD_WIDENING, 41 * NS_PER_S, 0, 100.0)]
    >>> [(m.kind.value, m.price, m.age_s) for m in
    ...  build_markers({(1, 98.0): 50.0}, evs, 45 * NS_PER_S, MarkerParams())]
    [('iceberg', 99.0, 5.0), ('wall', 98.0, 0.0)]
    """
    out: list[LadderMarker] = []
    limit = params.max_markers
    horizon = max(params.life_s(kind) for kind in TIMED_KINDS)
    seen: set[tuple[DetectorKind, int, float]] = set()
    for ev in reversed(events):
        age = max(0.0, (now - ev.ts) / NS_PER_S)
        if age >= horizon + 1.0:
            # The log is in event-time order (per-second detections may trail the level
            # events of their second by under a second): everything further back is older.
            break
        life = params.life_s(ev.kind)
        key = (ev.kind, ev.side, ev.price)
        if age >= life or key in seen:
            continue
        seen.add(key)
        out.append(LadderMarker(ev.kind, ev.side, ev.price, ev.size, age, life))
        if len(out) >= limit:
            return tuple(out)
    if params.walls:
        ordered: Iterable[tuple[tuple[int, float], float]] = sorted(
            walls.items(), key=lambda item: -item[1])
        for (side, price), size in ordered:
            if len(out) >= limit:
                break
            out.append(LadderMarker(DetectorKind.WALL, side, price, size))
    return tuple(out)
