"""Volume-profile drawing shared by the regime screen's profile panel and the dashboard's profile column.

Both draw one :class:`ProfileRow` per screen line: a VWAP/band note, a
horizontal bar in half cells whose colour says where the row sits (POC,
inside the value area, outside), and for the panel TPO letters. What they
share lives here, so the two cannot drift apart:

* :class:`ProfileRow`, the hashable line description (a line cache key);
* :func:`zone_of` (POC / value area / outside for a row's price range);
* :func:`band_notes` (which row carries ``VW``, ``+1σ``, ``-2σ``...);
* :func:`bar_text` (a length in half cells to ``█``/``▌`` cells);
* :data:`PROFILE_CLASSES`, the component classes both declare, and
  :func:`profile_css`, the ``DEFAULT_CSS`` that colours them (with
  ``$profile-bar``, ``$profile-value``, ``$profile-poc`` and ``$profile-vwap``,
  which every tapescope theme defines).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from tapescope.engine.vwap import VwapBands

#: Width of the VWAP/band note column.
NOTE_WIDTH = 3

#: Component classes of a profile widget.
PROFILE_CLASSES = frozenset({"profile--price", "profile--current", "profile--bar", "profile--value",
                             "profile--poc", "profile--vwap", "profile--tpo"})

#: Bar class by zone.
ZONE_CLASSES = {"poc": "profile--poc", "value": "profile--value", "out": "profile--bar"}

#: Colours of :data:`PROFILE_CLASSES`, nested inside a profile widget's rule.
PROFILE_CLASS_RULES = """\
    & > .profile--price { color: $foreground-muted; }
    & > .profile--current { color: $foreground; text-style: bold reverse; }
    & > .profile--bar { color: $profile-bar; }
    & > .profile--value { color: $profile-value; }
    & > .profile--poc { color: $profile-poc; text-style: bold; }
    & > .profile--vwap { color: $profile-vwap; text-style: bold; }
    & > .profile--tpo { color: $foreground-muted; }
"""


def profile_css(widget: str, layout: str) -> str:
    """``DEFAULT_CSS`` of a profile widget: its own layout rules plus the shared class colours.

    Args:
        widget: The widget's CSS type name (``"ProfilePanel"``).
        layout: Its layout declarations, one per line (``"height: 1fr;"``).

    Returns:
        One rule for ``widget`` holding ``layout`` and :data:`PROFILE_CLASS_RULES`.

    >>> print(profile_css("P", "height: 1fr;").splitlines()[:3])
    ['P {', '    height: 1fr;', '    & > .profile--price { color: $foreground-muted; }']
    """
    body = "".join(f"    {line.strip()}\n" for line in layout.strip().splitlines())
    return f"{widget} {{\n{body}{PROFILE_CLASS_RULES}}}\n"


class ProfileRow(NamedTuple):
    """What one screen row shows."""

    price: float
    """Lower edge of the row's price range."""
    volume: float
    """Profile weight in the range."""
    half_cells: int
    """Bar length in half cells."""
    zone: str
    """``"poc"``, ``"value"`` (inside the value area) or ``"out"``."""
    current: bool
    """The current price falls in this row."""
    note: str
    """``"VW"`` (VWAP), ``"+1σ"``/``"-2σ"`` (bands), another short mark, or ``""``."""
    letters: str
    """TPO letters of the range, in period order (``""`` where not drawn)."""


def zone_of(row: int, poc: int | None, val: int | None, vah: int | None) -> str:
    """Zone of row ``row`` given the rows of the POC and the value-area edges (``None``: unknown).

    >>> zone_of(3, 3, 1, 5), zone_of(2, 3, 1, 5), zone_of(6, 3, 1, 5), zone_of(2, None, None, None)
    ('poc', 'value', 'out', 'out')
    """
    if row == poc:
        return "poc"
    if val is not None and vah is not None and val <= row <= vah:
        return "value"
    return "out"


def band_notes(vwap: VwapBands | None, row_of: Callable[[float], int | None]) -> dict[int, str]:
    """Notes by row: ``VW`` on the VWAP's row, ``±kσ`` on each band edge's row.

    Inner bands win over outer ones and the VWAP over any band when they
    share a row; ``row_of`` maps a price to its row (``None``: not shown).

    >>> b = VwapBands(100.0, 1.0, 5.0, ((1.0, 99.0, 101.0), (2.0, 98.0, 102.0)))
    >>> band_notes(b, lambda x: int(x))
    {98: '-2σ', 102: '+2σ', 99: '-1σ', 101: '+1σ', 100: 'VW'}
    >>> band_notes(None, int), band_notes(VwapBands(), int)
    ({}, {})
    """
    notes: dict[int, str] = {}
    if vwap is None or not math.isfinite(vwap.vwap):
        return notes
    for k, lower, upper in reversed(vwap.bands):
        for x, sign in ((lower, "-"), (upper, "+")):
            r = row_of(x) if math.isfinite(x) else None
            if r is not None:
                notes[r] = f"{sign}{k:g}σ"
    r = row_of(vwap.vwap)
    if r is not None:
        notes[r] = "VW"
    return notes


def bar_text(half_cells: int, width: int) -> str:
    """A bar of ``half_cells`` half cells, at most ``width`` cells, padded to ``width``.

    >>> bar_text(5, 4), bar_text(20, 3), bar_text(0, 2)
    ('██▌ ', '███', '  ')
    """
    full, half = divmod(max(0, min(half_cells, width * 2)), 2)
    return ("█" * full + ("▌" if half else "")).ljust(width)
