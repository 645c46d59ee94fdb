"""Pure layout of depth-ladder lines: which price, size and bar goes on which screen row.

Two layouts share the column rules (price, size, bar scaled to a 1-2-5 value):

* **anchored** (default): screen rows are a fixed price grid. The grid only
  moves (re-centres on the inside market) when the best bid or ask would
  leave the middle band of the panel, so most frames change only the rows
  whose size changed: few terminal bytes (architecture.md rule 4). Rows
  inside the spread are drawn as gap rows; the middle one carries the spread.
* **pinned**: the best ask is always just above a spread row and the best bid
  just below, at the centre; any move of the inside market shifts every row.

Both then place the engine's markers and the last trade on their rows
(:func:`tapescope.widgets.ladder_marks.decorate`); the price column keeps
:data:`~tapescope.widgets.ladder_marks.MARK_WIDTH` free cells for their glyphs.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import NamedTuple

from tapescope.engine.events import FeedState
from tapescope.engine.markers import LadderMarker
from tapescope.engine.snapshot import Ladder, TradePrint
from tapescope.widgets.format import fmt_fixed, fmt_price, fmt_size, quantise
from tapescope.widgets.ladder_marks import MARK_WIDTH, Mark, decorate

#: Width of the size column, cells.
SIZE_WIDTH = 7


@dataclass(frozen=True, slots=True)
class LadderView:
    """Everything the ladder draws for one frame."""

    ladder: Ladder
    """Aggregated rows (bids from the best down, asks from the best up)."""
    state: FeedState = FeedState.LIVE
    """Book sync state; anything but ``LIVE`` shows the badge."""
    reason: str = ""
    """Why the book is in ``state``."""
    price_decimals: int = 2
    """Decimals of a price at the row step."""
    spread_ticks: float = math.nan
    """Spread in ticks."""
    spread_bps: float = math.nan
    """Spread in basis points of mid."""
    key: str = ""
    """Market key (an anchored grid restarts when it changes)."""
    markers: tuple[LadderMarker, ...] = ()
    """Walls and recent detector events to mark at their rows (from the engine, bounded)."""
    last_trade: TradePrint | None = None
    """The last print, marked on its row with its aggressor and size."""


class LadderRow(NamedTuple):
    """One screen line of the ladder, laid out (hashable: it is the line cache key)."""

    kind: str
    """``"ask"``, ``"bid"``, ``"gap"`` (inside the spread), ``"spread"``, ``"blank"``, ``"badge"`` or ``"note"``."""
    price: str = ""
    """Row price, right-aligned in the price column."""
    size: str = ""
    """Quantised size, right-aligned in the size column."""
    bar: int = 0
    """Bar length in cells."""
    best: bool = False
    """The best bid or best ask row."""
    text: str = ""
    """Free text of spread, badge and note rows."""
    marks: tuple[Mark, ...] = ()
    """Marker glyphs ``(char, kind, fade step)`` drawn in the left cells of the price column."""
    wall: bool = False
    """A live wall rests in this row: its size cell is highlighted."""
    tag: str = ""
    """Right-aligned tag: the last trade (``▲0.52``) or a marker's size."""
    tag_style: str = ""
    """Style name of the tag: ``"buy"``, ``"sell"`` or ``"note"``."""


def spread_text(view: LadderView) -> str:
    """The spread row label, e.g. ``"spread 1t · 0.52bp"``.

    >>> spread_text(LadderView(Ladder(0.1), spread_ticks=1.0, spread_bps=0.5234))
    'spread 1t · 0.52bp'
    >>> spread_text(LadderView(Ladder(0.1), spread_ticks=19.000000001, spread_bps=1.0))
    'spread 19t · 1.00bp'
    """
    ticks = view.spread_ticks
    # Spreads in ticks are whole numbers up to float noise (19.000000001).
    whole = math.isfinite(ticks) and abs(ticks - round(ticks)) < 1e-6
    ticks_text = f"{round(ticks)}t" if whole else f"{fmt_fixed(ticks, 1)}t"
    return f"spread {ticks_text} · {fmt_fixed(view.spread_bps, 2)}bp"


def bar_scale(top: float) -> float:
    """The 1-2-5 value at or above ``top``: bars keep their length until the largest size crosses one.

    >>> bar_scale(4.77), bar_scale(5.0), bar_scale(0.031), bar_scale(1234.0), bar_scale(0.0)
    (5.0, 5.0, 0.05, 2000.0, 0.0)
    """
    if not top > 0:
        return 0.0
    exp = math.floor(math.log10(top))
    for m in (1.0, 2.0, 5.0, 10.0):
        scale = float(f"{m}e{exp}")
        if scale >= top * (1 - 1e-12):
            return scale
    return float(f"1e{exp + 1}")


#: Most lines a state reason may take under the badge.
REASON_LINES = 4


def _badge_rows(view: LadderView, height: int, width: int) -> list[LadderRow]:
    """The state badge, with the reason wrapped to the panel width under it.

    >>> v = LadderView(Ladder(1.0), FeedState.DISCONNECTED, "unreachable: no route; retry at 10:00:05 UTC")
    >>> [(r.kind, r.text) for r in _badge_rows(v, 5, 24) if r.kind != "blank"]
    [('badge', 'DISCONNECTED'), ('note', 'unreachable: no route;'), ('note', 'retry at 10:00:05 UTC')]
    """
    rows = [LadderRow("blank")] * height
    mid = max(0, (height - 1) // 2)
    rows[mid] = LadderRow("badge", text=view.state.name)
    lines = textwrap.wrap(view.reason, max(8, width - 2), max_lines=REASON_LINES, placeholder="…")
    for i, line in enumerate(lines[: max(0, height - mid - 1)]):
        rows[mid + 1 + i] = LadderRow("note", text=line)
    return rows


def _layout(levels: list[tuple[str, float, float, bool]], decimals: int, width: int,
            size_digits: int) -> list[LadderRow]:
    """Lay out ``(kind, price, size, best)`` levels in columns; sizes quantised, bars scaled."""
    quantised = [(kind, price, quantise(size, size_digits), best) for kind, price, size, best in levels]
    prices = [fmt_price(price, decimals) for _, price, _, _ in quantised]
    # The price column always keeps MARK_WIDTH free cells on its left for marker glyphs.
    price_w = max(min(12, width // 3), max(map(len, prices), default=0) + MARK_WIDTH)
    bar_w = max(0, width - price_w - 1 - SIZE_WIDTH - 1)
    scale = bar_scale(max((q for kind, _, q, _ in quantised if kind in ("ask", "bid")), default=0.0))
    out = []
    for (kind, _, q, best), text in zip(quantised, prices, strict=True):
        if kind == "gap":
            out.append(LadderRow("gap", text.rjust(price_w)))
            continue
        bar = min(bar_w, round(q / scale * bar_w)) if scale > 0 else 0
        out.append(LadderRow(kind, text.rjust(price_w),
                             (fmt_size(q, size_digits) if q > 0 else "").rjust(SIZE_WIDTH), bar, best))
    return out


def build_rows(view: LadderView, height: int, width: int, size_digits: int = 3) -> list[LadderRow]:
    """Pinned layout: the ``height`` lines of ``width`` cells for ``view``.

    The best ask sits just above the spread row and the best bid just below,
    whatever the height, so the inside market never moves on screen. Columns:
    price (at least ``min(12, width // 3)`` cells), a space and the size
    (:data:`SIZE_WIDTH` cells), a space, and the bar in the rest. Bars are
    scaled to the 1-2-5 value at or above the largest visible size.

    >>> v = LadderView(Ladder(0.5, bids=((99.5, 2.0), (99.0, 4.0)), asks=((100.0, 1.0234),)),
    ...                price_decimals=1, spread_ticks=1.0, spread_bps=50.1)
    >>> # 30 cells: price 10, space, size 7, space, bar 11; scale 5 (largest size 4).
    >>> [(r.kind, r.price.strip(), r.size.strip(), r.bar, r.best) for r in build_rows(v, 5, 30)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('blank', '', '', 0, False), ('ask', '100.0', '1.02', 2, True),
     ('spread', '', '', 0, False), ('bid', '99.5', '2.00', 4, True), ('bid', '99.0', '4.00', 9, False)]
    """
    if height <= 0:
        return []
    if view.state != FeedState.LIVE:
        return _badge_rows(view, height, width)
    n_ask = (height - 1) // 2
    n_bid = height - 1 - n_ask
    asks = view.ladder.asks[:n_ask]
    bids = view.ladder.bids[:n_bid]
    levels = [("ask", p, s, i == 0) for i, (p, s) in enumerate(asks)][::-1] + \
             [("bid", p, s, i == 0) for i, (p, s) in enumerate(bids)]
    out = _layout(levels, view.price_decimals, width, size_digits)
    n_asks = len(asks)
    rows = ([LadderRow("blank")] * (n_ask - n_asks) + out[:n_asks]
            + [LadderRow("spread", text=spread_text(view))]
            + out[n_asks:] + [LadderRow("blank")] * (n_bid - len(bids)))
    step = view.ladder.step
    idx = [round(p / step) for p, _ in asks][::-1], [round(p / step) for p, _ in bids]
    # The spread row stands for the prices strictly inside the spread (none when touching).
    inside = (idx[1][0] + 1, idx[0][-1] - 1) if asks and bids else None
    spans: list[tuple[int, int] | None] = ([None] * (n_ask - n_asks) + [(i, i) for i in idx[0]]
                                           + [inside] + [(i, i) for i in idx[1]]
                                           + [None] * (n_bid - len(bids)))
    touch = (bids[0][0], asks[0][0]) if asks and bids else None
    return decorate(rows, spans, view.markers, view.last_trade, step, width, size_digits,
                    spread_line=n_ask, touch=touch)


def band_margin(height: int) -> int:
    """Rows kept between the inside market and the panel edge before the grid re-centres.

    >>> band_margin(7), band_margin(21), band_margin(60)
    (1, 4, 12)
    """
    return max(1, height // 5)


def build_anchored_rows(view: LadderView, height: int, width: int, size_digits: int = 3, *,
                        anchor: int | None = None) -> tuple[list[LadderRow], int | None]:
    """Anchored layout: a fixed price grid that re-centres only when it must.

    Row ``y`` shows the price ``(anchor + c - y) * step`` where ``c`` is the
    centre row. The anchor (a price in whole steps) is kept while the best ask
    and best bid rows stay at least :func:`band_margin` rows from the edges;
    otherwise it moves to the middle of the inside market. Rows between the
    best bid and best ask are gap rows; the middle one carries the spread.

    Args:
        view: What to draw (``ladder`` needs enough rows per side: ``height - 1``).
        height: Lines.
        width: Cells per line.
        size_digits: Significant digits of sizes.
        anchor: The previous anchor, or ``None`` to centre afresh.

    Returns:
        The lines and the anchor to pass next time (``None`` when nothing is drawn).

    >>> v = LadderView(Ladder(1.0, bids=((99.0, 2.0), (98.0, 1.0)), asks=((101.0, 1.0), (102.0, 3.0))),
    ...                price_decimals=0, spread_ticks=2.0, spread_bps=200.0)
    >>> rows, anchor = build_anchored_rows(v, 5, 30)
    >>> anchor, [(r.kind, r.price.strip(), r.text) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    (100, [('ask', '102', ''), ('ask', '101', ''), ('spread', '100', 'spread 2t · 200.00bp'),
           ('bid', '99', ''), ('bid', '98', '')])
    >>> # The best ask lifts one row: still inside the band, so the grid stays put.
    >>> v2 = LadderView(Ladder(1.0, bids=((99.0, 2.0), (98.0, 1.0)), asks=((102.0, 3.0), (103.0, 1.0))),
    ...                 price_decimals=0, spread_ticks=3.0, spread_bps=300.0)
    >>> rows, anchor = build_anchored_rows(v2, 5, 30, anchor=100)
    >>> anchor, [(r.kind, r.price.strip()) for r in rows]
    (100, [('ask', '102'), ('gap', '101'), ('spread', '100'), ('bid', '99'), ('bid', '98')])
    """
    if height <= 0:
        return [], None
    if view.state != FeedState.LIVE:
        return _badge_rows(view, height, width), None
    ladder = view.ladder
    step = ladder.step
    if not ladder.asks and not ladder.bids:
        return [LadderRow("blank")] * height, None
    best_a = round(ladder.asks[0][0] / step) if ladder.asks else None
    best_b = round(ladder.bids[0][0] / step) if ladder.bids else None
    c = (height - 1) // 2
    margin = min(band_margin(height), c)
    top, bottom = c - margin, (height - 1 - c) - margin  # rows allowed above / below the anchor

    def fits(a: int) -> bool:
        return (best_a is None or best_a <= a + top) and (best_b is None or best_b >= a - bottom)

    if anchor is None or not fits(anchor):
        if best_a is not None and best_b is not None:
            anchor = (best_a + best_b) // 2
        else:
            anchor = best_a if best_a is not None else best_b
    assert anchor is not None
    levels: list[tuple[str, float, float, bool]] = []
    for y in range(height):
        i = anchor + c - y
        if best_a is not None and i >= best_a:
            k = i - best_a
            size = ladder.asks[k][1] if k < len(ladder.asks) else 0.0
            levels.append(("ask", i * step, size, k == 0))
        elif best_b is not None and i <= best_b:
            k = best_b - i
            size = ladder.bids[k][1] if k < len(ladder.bids) else 0.0
            levels.append(("bid", i * step, size, k == 0))
        else:
            levels.append(("gap", i * step, 0.0, False))
    rows = _layout(levels, view.price_decimals, width, size_digits)
    gaps = [y for y, r in enumerate(rows) if r.kind == "gap"]
    spread_line = None
    if gaps and best_a is not None and best_b is not None:
        spread_line = y = gaps[len(gaps) // 2]
        rows[y] = LadderRow("spread", rows[y].price, text=spread_text(view))
    spans = [(anchor + c - y, anchor + c - y) for y in range(height)]
    touch = (ladder.bids[0][0], ladder.asks[0][0]) if ladder.asks and ladder.bids else None
    return decorate(rows, spans, view.markers, view.last_trade, step, width, size_digits,
                    spread_line=spread_line, touch=touch), anchor
