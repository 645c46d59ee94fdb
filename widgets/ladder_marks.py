"""Pure placement of ladder markers: which glyph, highlight and tag goes on which ladder line.

The engine hands the ladder a bounded tuple of
:class:`~tapescope.engine.markers.LadderMarker` (live walls, recent spoofs,
icebergs, absorptions, pulled walls and vacuums, each with its age) and the
last trade. :func:`decorate` bins each price into the row the book would
aggregate it into (bids down, asks up, unsided to the nearest row) and
writes onto the laid-out :class:`~tapescope.widgets.ladder_rows.LadderRow`:

* up to :data:`MARK_WIDTH` glyphs in the left cells of the price column,
  one letter per kind (:data:`GLYPHS`), so kinds are told apart without
  colour. A timed marker fades in three steps of its life: *fresh*
  (upper case, reverse video), *mid* (upper case) and *old* (lower case, dim);
* a highlighted size cell on rows holding a live wall;
* a right-aligned tag: the last trade (``▲`` taker bought, ``▼`` taker sold,
  with its size; ``↑``/``↓`` in front when its price is above or below the
  visible rows), or on wide ladders the size of the row's first timed marker.

Markers whose price is not on screen are not drawn; the kinds of timed
markers beyond the top (bottom) row are hinted in the tag of that row
(``↑SI``) unless the last trade's tag is there. Every field written is
part of the row's hash, so a marker that ages into its next step changes
exactly one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tapescope.engine.detectors.base import DetectorKind
from tapescope.engine.markers import LadderMarker
from tapescope.engine.snapshot import TradePrint
from tapescope.widgets.format import fmt_size, quantise

#: Cells at the left of the price column reserved for marker glyphs.
MARK_WIDTH = 2
#: Ladders at least this wide show a timed marker's size as the row tag (when no trade is there).
NOTE_MIN_WIDTH = 40

#: One letter per marked kind (told apart without colour; lower case once a marker is old).
GLYPHS: dict[DetectorKind, str] = {
    DetectorKind.SPOOF: "S",
    DetectorKind.ICEBERG: "I",
    DetectorKind.ABSORPTION: "A",
    DetectorKind.WALL_PULLED: "P",
    DetectorKind.VACUUM: "V",
    DetectorKind.WALL: "W",
}
#: Which kinds win the few glyph cells of a row, first first.
PRIORITY: tuple[DetectorKind, ...] = tuple(GLYPHS)
#: Human names of the glyphs, in :data:`PRIORITY` order (help-screen legend).
GLYPH_NAMES: dict[str, str] = {
    "S": "spoof", "I": "iceberg", "A": "absorption", "P": "pulled wall", "V": "vacuum", "W": "live wall",
}
#: Fade steps of a timed marker: fresh, mid, old.
FRESH, MID, OLD = 0, 1, 2

#: A placed glyph: ``(character, kind value, fade step)``.
Mark = tuple[str, str, int]


def legend() -> str:
    """One-line legend of the ladder's marker glyphs and trade arrows.

    >>> legend()
    'S spoof · I iceberg · A absorption · P pulled wall · V vacuum · W live wall (size highlighted) · ▲/▼ last trade, taker bought/sold · lower case: fading'
    """
    marks = " · ".join(f"{g} {name}" for g, name in GLYPH_NAMES.items())
    return (f"{marks} (size highlighted) · ▲/▼ last trade, taker bought/sold"
            " · lower case: fading")


def row_index(price: float, side: int, step: float) -> int:
    """The ladder row (price in whole steps) a price on ``side`` is aggregated into.

    Bids bin down and asks up, as :meth:`~tapescope.engine.book.Book.aggregated`
    does; an unsided price (a vacuum at mid) goes to the nearest row.

    >>> row_index(100.7, 1, 1.0), row_index(100.3, -1, 1.0), row_index(100.5, 0, 1.0)
    (100, 101, 101)
    """
    x = price / step
    if side > 0:
        return math.floor(x + 1e-9)
    if side < 0:
        return math.ceil(x - 1e-9)
    return math.floor(x + 0.5)


def fade_step(marker: LadderMarker) -> int:
    """:data:`FRESH` in the first third of a marker's life, :data:`MID`, then :data:`OLD`.

    >>> m = LadderMarker(DetectorKind.SPOOF, -1, 1.0, age_s=9.9, life_s=30.0)
    >>> fade_step(m), fade_step(m._replace(age_s=10.0)), fade_step(m._replace(age_s=20.0))
    (0, 1, 2)
    >>> fade_step(LadderMarker(DetectorKind.WALL, 1, 1.0))  # live walls do not fade
    1
    """
    if marker.life_s <= 0.0:
        return MID
    # Thirds compared on the age (not a ratio) so 10 s of a 30 s life is exactly MID.
    if 3.0 * marker.age_s < marker.life_s:
        return FRESH
    return MID if 3.0 * marker.age_s < 2.0 * marker.life_s else OLD


def _mark(marker: LadderMarker) -> Mark:
    step = fade_step(marker)
    glyph = GLYPHS[marker.kind]
    return (glyph.lower() if step == OLD else glyph, marker.kind.value, step)


def trade_tag(trade: TradePrint, size_digits: int) -> tuple[str, str]:
    """Tag text and style name of the last trade: ``("▲0.52", "buy")``.

    >>> trade_tag(TradePrint(0, 100.0, 0.5234, 1), 2), trade_tag(TradePrint(0, 100.0, 1234.0, -1), 3)
    (('▲0.52', 'buy'), ('▼1.23k', 'sell'))
    """
    size = fmt_size(quantise(trade.qty, size_digits), size_digits)
    return ("▲" if trade.side > 0 else "▼") + size, "buy" if trade.side > 0 else "sell"


def decorate(rows: Sequence, spans: Sequence[tuple[int, int] | None], markers: Sequence[LadderMarker],
             trade: TradePrint | None, step: float, width: int, size_digits: int,
             spread_line: int | None = None, touch: tuple[float, float] | None = None) -> list:
    """Rows with marker glyphs, wall highlights and tags added.

    Args:
        rows: Laid-out :class:`~tapescope.widgets.ladder_rows.LadderRow` lines, top first.
        spans: Per line, the inclusive range of row indices (prices in whole
            steps) it stands for, or ``None`` (blank, badge). A price row spans
            one index; the pinned layout's spread row spans the prices inside the spread.
        markers: The engine's markers (already bounded and aged).
        trade: The last trade, or ``None``.
        step: Row height in price units.
        width: Line width, cells (the marker-size note needs :data:`NOTE_MIN_WIDTH`).
        size_digits: Significant digits of tag sizes.
        spread_line: The line naming the spread, if any: an unsided marker (a
            vacuum at mid) priced strictly inside ``touch`` goes there.
        touch: Best bid and best ask row prices.

    Returns:
        New rows (unchanged ones are the same objects).
    """
    if step <= 0 or (not markers and trade is None):
        return list(rows)
    single: dict[int, int] = {}
    ranges: list[tuple[int, int, int]] = []
    for y, span in enumerate(spans):
        if span is None:
            continue
        lo, hi = span
        if lo == hi:
            single[lo] = y
        elif lo < hi:
            ranges.append((lo, hi, y))

    def line_of(index: int) -> int | None:
        y = single.get(index)
        if y is None:
            for lo, hi, ry in ranges:
                if lo <= index <= hi:
                    return ry
        return y

    per_line: dict[int, list[LadderMarker]] = {}
    beyond: dict[bool, set[DetectorKind]] = {True: set(), False: set()}  # above?, below
    for marker in markers:
        if (marker.side == 0 and spread_line is not None and touch is not None
                and touch[0] < marker.price < touch[1]):
            # A market-wide state seen at mid reads best on the spread line.
            per_line.setdefault(spread_line, []).append(marker)
            continue
        index = row_index(marker.price, marker.side, step)
        y = line_of(index)
        if y is not None:
            per_line.setdefault(y, []).append(marker)
        elif marker.kind != DetectorKind.WALL and single:
            # Off screen: remembered for the edge hint (walls far away are no news).
            beyond[index > max(single)].add(marker.kind)
    tags: dict[int, tuple[str, str]] = {}
    if trade is not None:
        text, style = trade_tag(trade, size_digits)
        # A buy lifted the ask: bin it like an ask; a sell like a bid.
        index = row_index(trade.price, -trade.side, step)
        y = line_of(index)
        if y is None and single:
            top, bottom = max(single), min(single)
            if index > top:
                y, text = single[top], "↑" + text
            elif index < bottom:
                y, text = single[bottom], "↓" + text
        if y is not None:
            tags[y] = (text, style)
    for above, kinds in beyond.items():
        edge = single[max(single)] if above else single[min(single)] if single else None
        if kinds and edge is not None and edge not in tags:
            glyphs = "".join(GLYPHS[k] for k in PRIORITY if k in kinds)
            tags[edge] = (("↑" if above else "↓") + glyphs, "note")
    out = list(rows)
    for y, found in per_line.items():
        found.sort(key=lambda m: (PRIORITY.index(m.kind), m.age_s))
        marks: list[Mark] = []
        kinds: set[DetectorKind] = set()
        for m in found:
            if m.kind not in kinds and len(marks) < MARK_WIDTH:
                kinds.add(m.kind)
                marks.append(_mark(m))
        # A wall pushed out of the glyph cells by two events still highlights its size.
        wall = any(m.kind == DetectorKind.WALL for m in found)
        timed = next((m for m in found if m.kind != DetectorKind.WALL), None)
        if y not in tags and timed is not None and width >= NOTE_MIN_WIDTH and timed.size > 0:
            tags[y] = (GLYPHS[timed.kind] + fmt_size(quantise(timed.size, size_digits), size_digits),
                       "note")
        out[y] = out[y]._replace(marks=tuple(marks), wall=wall and out[y].kind in ("ask", "bid"))
    for y, (text, style) in tags.items():
        out[y] = out[y]._replace(tag=text, tag_style=style)
    return out
