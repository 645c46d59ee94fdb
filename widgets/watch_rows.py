"""Watchlist data: one :class:`WatchRow` per market, its cell texts, sort orders and column layout.

Pure functions (no Textual), shared by the side table and the one-line
symbol bar of :mod:`tapescope.widgets.watchlist` and by the App (which steps
Tab/Shift+Tab through the *displayed* order):

* :func:`watch_row` reads the summary of one market from its
  :class:`~tapescope.engine.snapshot.MarketSnapshot`; every figure is
  computed by the engine (the CVD slope is ``MarketSnapshot.cvd_slope``), the
  row only picks and quantises.
* :func:`sort_rows` orders rows by one of :data:`SORT_KEYS`; a missing value
  (``nan``, unknown regime) sorts last in both directions and ties keep the
  configured watchlist order, so equal rows never swap between refreshes.
* :func:`layout` fits the columns to a width, dropping the least useful ones
  first (:data:`COLUMNS` ``drop`` rank) when the panel is narrow.

Columns (texts have fixed widths so a refresh changes only the cells whose
value moved):

========  ======  =====================================================
id        header  meaning
========  ======  =====================================================
``n``     ``#``   position in the configured watchlist (the digit key)
``sym``   Symbol  venue symbol
``last``  Last    last trade price; the book state when not ``LIVE``
``chg``   Chg%    change since the session open, percent
``spr``   Spr     spread, basis points of mid
``imb``   Imb     book imbalance over the top N levels per side, percent
``cvd``   CVD/m   CVD slope, base units per minute (engine.slope)
``vol``   V       volatility regime: ``L``/``M``/``H`` (``·`` unknown)
``score`` Score   fused signal score in [-1, 1]
``gauge``         the score as a centred bar (wide panels only)
========  ======  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from tapescope.engine.events import FeedState
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.engine.volatility import VolRegime
from tapescope.widgets.format import MISSING, fmt_price, fmt_signed, fmt_size

#: Watchlist labels of the book states (shown in the Last column when not ``LIVE``).
STATE_LABELS = {
    FeedState.CONNECTING: "CONN",
    FeedState.SYNCING: "SYNC",
    FeedState.LIVE: "LIVE",
    FeedState.RESYNCING: "RESYNC",
    FeedState.STALE: "STALE",
    FeedState.DISCONNECTED: "DOWN",
}

#: Letters of the volatility regimes (the colour repeats it; the letter alone is enough).
VOL_LETTERS = {VolRegime.UNKNOWN: "·", VolRegime.LOW: "L", VolRegime.MEDIUM: "M",
               VolRegime.HIGH: "H"}

#: Sort orders ``o`` cycles through, in order; ``watchlist`` is the configured order.
SORT_KEYS = ("watchlist", "symbol", "change", "spread", "imbalance", "cvd_slope", "vol", "score")

#: Short labels of the sort orders (notifications, the panel title).
SORT_LABELS = {"watchlist": "#", "symbol": "symbol", "change": "change", "spread": "spread",
               "imbalance": "imbalance", "cvd_slope": "CVD slope", "vol": "vol regime",
               "score": "score"}

#: Direction a sort order starts in when selected: text and order ascending, figures largest first.
DEFAULT_DESCENDING = {k: k not in ("watchlist", "symbol") for k in SORT_KEYS}

#: Column whose header carries the sort arrow, per sort order.
SORT_COLUMN = {"watchlist": "n", "symbol": "sym", "change": "chg", "spread": "spr",
               "imbalance": "imb", "cvd_slope": "cvd", "vol": "vol", "score": "score"}

#: Widest symbol column (longer symbols are cut).
MAX_SYMBOL = 10
#: Widest price text: a longer price loses decimals (rounded), never digits (:func:`fit_price`).
MAX_PRICE = 11


class WatchRow(NamedTuple):
    """One market's watchlist summary (hashable: widgets diff and cache by it)."""

    key: str
    """Market key."""
    symbol: str
    """Display symbol."""
    n: int
    """1-based position in the configured watchlist (what digit keys 1-9 focus)."""
    last: float
    """Last trade price (``nan`` before the first trade)."""
    change: float
    """Fractional change since the session open (``nan`` if unknown)."""
    spread_bps: float
    """Spread, basis points of mid."""
    state: FeedState
    """Book state."""
    price_decimals: int = 2
    """Decimals of the price."""
    imbalance: float = math.nan
    """Book imbalance ``(B - A) / (B + A)`` over the top levels, in [-1, 1]."""
    cvd_slope: float = math.nan
    """CVD slope, base units per minute."""
    vol_regime: VolRegime = VolRegime.UNKNOWN
    """Volatility regime."""
    score: float = math.nan
    """Fused signal score in [-1, 1] (``nan`` without an analysis)."""

    @property
    def live(self) -> bool:
        """The book is in sync (its spread and imbalance may be shown)."""
        return self.state == FeedState.LIVE


def watch_row(n: int, snap: MarketSnapshot) -> WatchRow:
    """The watchlist row of one market.

    Args:
        n: 1-based position in the configured watchlist.
        snap: The market's snapshot.

    Returns:
        The row; analysis columns are missing when no analysis is attached.

    Runtime complexity: ``O(1)``.
    """
    a = snap.analysis
    return WatchRow(snap.key, snap.instrument.symbol, n, snap.last_price, snap.change,
                    snap.flow.spread_bps, snap.state, snap.instrument.price_decimals(),
                    snap.flow.imbalance_levels, snap.cvd_slope,
                    a.volatility.vol_regime if a is not None else VolRegime.UNKNOWN,
                    a.fused.score if a is not None else math.nan)


# --------------------------------------------------------------------------- texts


def fit_price(price: float, decimals: int, width: int = MAX_PRICE) -> str:
    """A price in at most ``width`` cells: decimals are rounded away first, then a k/M/G suffix.

    Cutting the text instead would show another number (``12,345,678.`` for
    ``12,345,678.9``), so the price is re-rounded until it fits.

    >>> fit_price(12_345_678.94, 1), fit_price(60_000.5, 1), fit_price(1.5e12, 2), fit_price(math.nan, 2)
    ('12,345,679', '60,000.5', '1.50T', '—')
    """
    for d in range(max(0, decimals), -1, -1):
        text = fmt_price(price, d)
        if len(text) <= width:
            return text
    return fmt_size(price, 3)


def fmt_change(change: float) -> str:
    """A fractional change as a signed percentage in at most 6 cells.

    >>> fmt_change(0.01234), fmt_change(-0.1234), fmt_change(1.5), fmt_change(0.0), fmt_change(math.nan)
    ('+1.23', '-12.3', '+150', '+0.00', '—')
    """
    if not math.isfinite(change):
        return MISSING
    p = change * 100
    if abs(p) >= 99.95:
        return f"{p:+.0f}"
    if abs(p) >= 9.995:
        return f"{p:+.1f}"
    return f"{p:+.2f}"


def fmt_bps(bps: float) -> str:
    """A spread in basis points in at most 4 cells.

    >>> fmt_bps(0.5234), fmt_bps(12.34), fmt_bps(123.4), fmt_bps(12345.0), fmt_bps(math.nan)
    ('0.52', '12.3', '123', '9999', '—')
    """
    if not math.isfinite(bps):
        return MISSING
    if bps >= 99.95:
        return f"{min(bps, 9999.0):.0f}"
    if bps >= 9.995:
        return f"{bps:.1f}"
    return f"{bps:.2f}"


def fmt_imbalance(imbalance: float) -> str:
    """An imbalance in [-1, 1] as a signed whole percentage, clipped to ±99 (3 cells).

    >>> fmt_imbalance(0.123), fmt_imbalance(-0.05), fmt_imbalance(1.0), fmt_imbalance(0.001)
    ('+12', '-5', '+99', '0')
    """
    if not math.isfinite(imbalance):
        return MISSING
    p = max(-99, min(99, round(imbalance * 100)))
    return f"{p:+d}" if p else "0"


def fmt_score(score: float) -> str:
    """A fused score in [-1, 1] with two decimals (5 cells).

    >>> fmt_score(0.4249), fmt_score(-1.0), fmt_score(0.0), fmt_score(math.nan)
    ('+0.42', '-1.00', '0.00', '—')
    """
    if not math.isfinite(score):
        return MISSING
    return "0.00" if round(score, 2) == 0 else f"{score:+.2f}"


@lru_cache(maxsize=2048)
def cell_texts(row: WatchRow) -> Mapping[str, str]:
    """Plain texts of every cell of ``row``, by column id (read-only; cached per row value).

    Rows are redrawn every watchlist tick while most of their values did not
    move, so the texts are memoised by the (hashable) row.

    A book that is not ``LIVE`` shows its state in the Last column and no
    spread or imbalance (architecture.md rule 5: never shown as if in sync).

    >>> r = WatchRow("sim:BTC", "BTC", 1, 100.5, 0.01234, 0.5, FeedState.LIVE, 1, 0.2, 1234.0,
    ...              VolRegime.HIGH, -0.25)
    >>> [cell_texts(r)[c] for c in ("n", "sym", "last", "chg", "spr", "imb", "cvd", "vol", "score")]
    ['1', 'BTC', '100.5', '+1.23', '0.50', '+20', '+1.2k', 'H', '-0.25']
    >>> d = cell_texts(r._replace(state=FeedState.RESYNCING)); d["last"], d["spr"], d["imb"]
    ('RESYNC', '—', '—')
    """
    live = row.live
    return MappingProxyType({
        "n": str(row.n),
        "sym": row.symbol[:MAX_SYMBOL],
        "last": fit_price(row.last, row.price_decimals) if live else STATE_LABELS[row.state],
        "chg": fmt_change(row.change),
        "spr": fmt_bps(row.spread_bps) if live else MISSING,
        "imb": fmt_imbalance(row.imbalance) if live else MISSING,
        "cvd": fmt_signed(row.cvd_slope, 2),
        "vol": VOL_LETTERS.get(row.vol_regime, "·"),
        "score": fmt_score(row.score),
        "gauge": "",
    })


def tone(column: str, row: WatchRow, text: str) -> str:
    """Tone of a cell: ``up``, ``down``, ``calm``, ``alert`` or ``""`` (plain).

    Zero after quantisation is plain, so a sign flip of noise does not recolour a cell.

    >>> r = WatchRow("k", "K", 1, 1.0, -0.02, 1.0, FeedState.LIVE, vol_regime=VolRegime.LOW)
    >>> tone("chg", r, "-2.00"), tone("vol", r, "L"), tone("sym", r, "K")
    ('down', 'calm', '')
    >>> tone("last", r._replace(state=FeedState.STALE), "STALE")
    'alert'
    """
    if column == "last":
        return "" if row.live else "alert"
    if column == "vol":
        return {VolRegime.LOW: "calm", VolRegime.HIGH: "alert"}.get(row.vol_regime, "")
    value = {"chg": row.change, "imb": row.imbalance, "cvd": row.cvd_slope,
             "score": row.score}.get(column)
    if value is None or not math.isfinite(value) or text in (MISSING, "0", "0.00", "+0.00", "-0.00"):
        return ""
    return "up" if value > 0 else "down"


# --------------------------------------------------------------------------- sorting


def _sort_value(row: WatchRow, key: str) -> float | str | None:
    """The value ``row`` sorts on (``None``: missing, always last)."""
    if key == "watchlist":
        return row.n
    if key == "symbol":
        return row.symbol.casefold()
    if key == "vol":
        return int(row.vol_regime) if row.vol_regime != VolRegime.UNKNOWN else None
    value = {"change": row.change, "spread": row.spread_bps, "imbalance": row.imbalance,
             "cvd_slope": row.cvd_slope, "score": row.score}[key]
    if key in ("spread", "imbalance") and not row.live:
        return None  # not shown for a book out of sync, so not ranked either
    return value if math.isfinite(value) else None


def sort_rows(rows: Iterable[WatchRow], key: str = "watchlist",
              descending: bool = False) -> tuple[WatchRow, ...]:
    """``rows`` ordered by ``key`` (one of :data:`SORT_KEYS`).

    Missing values go last in both directions; ties keep the configured
    order (``WatchRow.n``), so a refresh with equal values reorders nothing.

    Runtime complexity: ``O(n log n)``.

    Raises:
        ValueError: an unknown ``key``.

    >>> rs = [WatchRow("a", "A", 1, 1.0, 0.01, 1.0, FeedState.LIVE),
    ...       WatchRow("b", "B", 2, 1.0, math.nan, 1.0, FeedState.LIVE),
    ...       WatchRow("c", "C", 3, 1.0, 0.03, 1.0, FeedState.LIVE),
    ...       WatchRow("d", "D", 4, 1.0, 0.01, 1.0, FeedState.LIVE)]
    >>> [r.key for r in sort_rows(rs, "change", descending=True)]
    ['c', 'a', 'd', 'b']
    >>> [r.key for r in sort_rows(rs, "change")]
    ['a', 'd', 'c', 'b']
    """
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r}; expected one of {', '.join(SORT_KEYS)}")
    present: list[tuple[float | str, int, WatchRow]] = []
    missing: list[WatchRow] = []
    for row in rows:
        value = _sort_value(row, key)
        if value is None:
            missing.append(row)
        else:
            present.append((value, row.n, row))
    # Two stable passes: by position, then by value (reversed when descending) keeps
    # ties in the configured order whichever the direction.
    present.sort(key=lambda t: t[1])
    present.sort(key=lambda t: t[0], reverse=descending)
    missing.sort(key=lambda r: r.n)
    return tuple(t[2] for t in present) + tuple(missing)


# --------------------------------------------------------------------------- layout


class Column(NamedTuple):
    """One column of the side table."""

    id: str
    """Column id (a key of :func:`cell_texts`)."""
    header: str
    """Header text."""
    width: int
    """Cells (0: sized to the rows, see :func:`layout`)."""
    right: bool
    """Right-aligned."""
    drop: int
    """Drop rank when the panel is too narrow: higher goes first (0 = never)."""


#: Every column, left to right.
COLUMNS: tuple[Column, ...] = (
    Column("n", "#", 2, True, 5),
    Column("sym", "Symbol", 0, False, 0),
    Column("last", "Last", 0, True, 0),
    Column("chg", "Chg%", 5, True, 0),
    Column("spr", "Spr", 4, True, 3),
    Column("imb", "Imb", 3, True, 2),
    Column("cvd", "CVD/m", 5, True, 1),
    Column("vol", "V", 1, True, 1),
    Column("score", "Score", 5, True, 1),
    Column("gauge", "", 5, False, 6),
)

#: Cells between two columns.
GAP = 1


def layout(rows: Sequence[WatchRow], width: int) -> tuple[Column, ...]:
    """The columns that fit ``width`` cells, each at least as wide as its header and every row's text.

    Every text column is sized to the widest text of ``rows`` (all rows, not
    only the visible window, so scrolling does not shift the columns), so a
    value is never cut: a price or change wider than the rows seen so far
    widens its column at the next refresh. :data:`COLUMNS` widths are
    minimums (the symbol and price columns have none). Columns are then
    dropped highest ``drop`` rank first (the gauge, then the position, then
    spread...) until the rest fit; symbol, price and change always stay.

    Runtime complexity: ``O(rows * columns)`` (cell texts are cached per row).

    >>> rs = [WatchRow("k", "BTC-SIM", 1, 60000.0, 0.0, 1.0, FeedState.LIVE, 1)]
    >>> [c.id for c in layout(rs, 60)]
    ['n', 'sym', 'last', 'chg', 'spr', 'imb', 'cvd', 'vol', 'score', 'gauge']
    >>> [c.id for c in layout(rs, 45)]
    ['sym', 'last', 'chg', 'spr', 'imb', 'cvd', 'vol', 'score']
    >>> [(c.id, c.width) for c in layout(rs, 20)]
    [('sym', 7), ('last', 8), ('chg', 5)]
    >>> [(c.id, c.width) for c in layout([rs[0]._replace(change=150.0)], 20)]
    [('sym', 7), ('last', 8), ('chg', 6)]
    """
    widths = {c.id: max(c.width, len(c.header)) for c in COLUMNS}
    widths["last"] = max(widths["last"], len("RESYNC"))
    for r in rows:
        texts = cell_texts(r)
        for cid, w in widths.items():
            if cid != "gauge" and len(texts[cid]) > w:
                widths[cid] = len(texts[cid])
    sized = [c._replace(width=widths[c.id]) for c in COLUMNS]

    def total(cols: list[Column]) -> int:
        return sum(c.width for c in cols) + GAP * (len(cols) - 1)

    for rank in sorted({c.drop for c in sized if c.drop}, reverse=True):
        if total(sized) <= width:
            break
        sized = [c for c in sized if c.drop != rank]
    return tuple(sized)
