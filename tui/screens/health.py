"""Feed health screen: every connection and every market, their state and error counters.

Two tables, one row per connection (:class:`~tapescope.engine.health.ConnectionHealth`)
and one per market (:class:`~tapescope.engine.health.SymbolHealth`): state,
messages per second, venue-to-receive latency, sequence gaps, checksum
failures, resyncs, reconnects, malformed messages, crossed books, the age of
the last message and why the market is in its state.

Below :data:`NARROW_COLS` columns (an 80x24 terminal) both tables switch to a
narrow layout that needs no horizontal scrolling (:func:`narrow_symbol_cells`,
:func:`narrow_connection_cells`): short state names, the five market error
counters folded into one ``Errors`` column (``2g 1r``: letters in
:data:`ERROR_LETTERS`), the shared venue prefix dropped from market keys, the
connection's KB/s and market count dropped, and the reason cut to what is left
of the width.

The screen pulls detached copies from its :class:`HealthSource` (a
:class:`~tapescope.feeds.base.Feed` is one) once per ``interval`` and turns
them into display strings with :func:`connection_rows` and
:func:`symbol_rows`, pure functions of (previous copy, current copy, now).
The tables are then updated by diff (style.md section 3): ``update_cell``
only for cells whose text changed, ``add_row``/``remove_row`` for
connections or markets that appeared or left. Nothing is rebuilt, so an idle
feed costs no terminal bytes (architecture.md rule 4).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tapescope.engine.events import FeedState
from tapescope.engine.health import ConnectionHealth, SymbolHealth

#: Placeholder for a value that is not known yet.
MISSING = "—"
#: Columns of the connection table: (key, label).
CONNECTION_COLUMNS = (
    ("conn", "Connection"), ("state", "State"), ("rate", "Msg/s"), ("kbps", "KB/s"),
    ("markets", "Mkts"), ("reconnects", "Reconn"), ("age", "Last msg"), ("retry", "Retry in"),
    ("reason", "Reason"),
)
#: Columns of the market table: (key, label).
SYMBOL_COLUMNS = (
    ("market", "Market"), ("state", "State"), ("rate", "Msg/s"), ("latency", "Latency"),
    ("gaps", "Gaps"), ("checksum", "Cksum"), ("resyncs", "Resync"), ("malformed", "Malf"),
    ("crossed", "Crossed"), ("age", "Last msg"), ("reason", "Reason"),
)
#: Marker per state, so the state reads without colour.
STATE_MARKS = {
    FeedState.CONNECTING: "…", FeedState.SYNCING: "◌", FeedState.LIVE: "●",
    FeedState.RESYNCING: "↻", FeedState.STALE: "◷", FeedState.DISCONNECTED: "✕",
}
#: Longest reason shown (the rest is cut with an ellipsis).
REASON_WIDTH = 40
#: Screens narrower than this use the narrow layout (see the module docstring).
NARROW_COLS = 110
#: Narrow market table: (key, label).
NARROW_SYMBOL_COLUMNS = (
    ("market", "Market"), ("state", "State"), ("rate", "Msg/s"), ("latency", "Lat"),
    ("errors", "Errors"), ("age", "Age"), ("reason", "Reason"),
)
#: Narrow connection table: (key, label).
NARROW_CONNECTION_COLUMNS = (
    ("conn", "Connection"), ("state", "State"), ("rate", "Msg/s"), ("reconnects", "Rc"),
    ("age", "Age"), ("retry", "Retry"), ("reason", "Reason"),
)
#: Letter of each market error counter in the narrow ``Errors`` column, in column order.
ERROR_LETTERS = (("gaps", "g"), ("checksum", "k"), ("resyncs", "r"), ("malformed", "m"),
                 ("crossed", "x"))
#: Short state names of the narrow layout.
SHORT_STATES = {
    FeedState.CONNECTING: "CONN", FeedState.SYNCING: "SYNC", FeedState.LIVE: "LIVE",
    FeedState.RESYNCING: "RESYNC", FeedState.STALE: "STALE", FeedState.DISCONNECTED: "DOWN",
}
#: Fewest reason cells the narrow layout keeps.
MIN_REASON = 8


class HealthSource(Protocol):
    """What the screen reads: a feed's detached health copies."""

    def symbol_health(self) -> list[SymbolHealth]:
        """Per-market health copies."""

    def connection_health(self) -> list[ConnectionHealth]:
        """Per-connection health copies."""


class HealthRow(NamedTuple):
    """One table row: a stable key and the text of every column."""

    key: str
    """Row key (connection id or market key)."""
    cells: tuple[str, ...]
    """Display text, one per column."""


def fmt_state(state: FeedState) -> str:
    """State with its marker.

    >>> fmt_state(FeedState.LIVE), fmt_state(FeedState.RESYNCING)
    ('● LIVE', '↻ RESYNCING')
    """
    return f"{STATE_MARKS.get(state, '?')} {state.name}"


def fmt_age(age_ns: int | None) -> str:
    """Age of the last message: ``<1s`` for a live stream, then seconds, minutes, hours.

    Sub-second ages are not shown: on a busy feed they would change every
    refresh and rewrite every row (architecture.md rule 4); the latency
    column carries the fine timing.

    >>> [fmt_age(x) for x in (None, 260_000_000, 12_400_000_000, 600 * 10**9, -5, 8 * 3600 * 10**9)]
    ['—', '<1s', '12s', '10m', '<1s', '8h']
    """
    if age_ns is None:
        return MISSING
    s = max(age_ns, 0) / 1e9
    if s < 1:
        return "<1s"
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.0f}m"
    return f"{s / 3600:.0f}h"


def fmt_rate(rate: float) -> str:
    """A per-second rate with 2-3 significant digits (quantised so rows change rarely).

    >>> [fmt_rate(x) for x in (math.nan, 0.0, 0.44, 7.25, 123.4, 4567.0)]
    ['—', '0', '0.4', '7.2', '123', '4.6k']
    """
    if not math.isfinite(rate):
        return MISSING
    if rate == 0:
        return "0"
    if rate < 10:
        return f"{rate:.1f}"
    if rate < 1000:
        return f"{rate:.0f}"
    return f"{rate / 1000:.1f}k"


def fmt_latency(ns: int) -> str:
    """Venue-to-receive latency in ms (``—`` before the first message).

    >>> fmt_latency(0), fmt_latency(3_456_000), fmt_latency(250_000_000), fmt_latency(-2_000_000)
    ('—', '3.5ms', '250ms', '-2.0ms')
    """
    if ns == 0:
        return MISSING
    ms = ns / 1e6
    return f"{ms:.1f}ms" if abs(ms) < 100 else f"{ms:.0f}ms"


def _count(n: int) -> str:
    return str(n) if n else "·"


def _reason(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_WIDTH else text[: REASON_WIDTH - 1] + "…"


def _rate(now: int, prev_now: int | None, count: int, prev_count: int | None) -> float:
    if prev_now is None or prev_count is None or now <= prev_now or count < prev_count:
        return math.nan
    return (count - prev_count) * 1e9 / (now - prev_now)


def _age(now: int, last: int) -> int | None:
    return now - last if last else None


def _retry(now: int, due: int) -> str:
    return MISSING if not due else fmt_age(max(due - now, 0))


def connection_rows(current: Sequence[ConnectionHealth],
                    previous: dict[str, ConnectionHealth], now_ns: int,
                    previous_ns: int | None) -> list[HealthRow]:
    """Rows of the connection table.

    Args:
        current: This sample's copies.
        previous: The last sample's copies by ``conn_id`` (for rates).
        now_ns: Wall clock of this sample, ns (same clock as ``last_recv_ns``).
        previous_ns: Wall clock of the last sample, ``None`` for the first.

    >>> a = ConnectionHealth("bin#0", state=FeedState.LIVE, messages=100, bytes=20_000,
    ...                      symbols=["b:X"], last_recv_ns=9 * 10**9)
    >>> b = ConnectionHealth("bin#0", state=FeedState.LIVE, messages=150, bytes=30_240,
    ...                      symbols=["b:X"], last_recv_ns=10 * 10**9)
    >>> connection_rows([b], {"bin#0": a}, 10_500_000_000, 8 * 10**9)[0].cells[:7]
    ('bin#0', '● LIVE', '20', '4.0', '1', '·', '<1s')
    """
    rows = []
    for c in current:
        p = previous.get(c.conn_id)
        rate = _rate(now_ns, previous_ns, c.messages, p.messages if p else None)
        kbps = _rate(now_ns, previous_ns, c.bytes, p.bytes if p else None) / 1024
        rows.append(HealthRow(c.conn_id, (
            c.conn_id, fmt_state(c.state), fmt_rate(rate), fmt_rate(kbps), str(len(c.symbols)),
            _count(c.reconnects), fmt_age(_age(now_ns, c.last_recv_ns)),
            _retry(now_ns, c.next_retry_ns), _reason(c.reason),
        )))
    return rows


def symbol_rows(current: Sequence[SymbolHealth], previous: dict[str, SymbolHealth],
                now_ns: int, previous_ns: int | None) -> list[HealthRow]:
    """Rows of the market table (arguments as :func:`connection_rows`).

    >>> a = SymbolHealth("b:X", messages=10)
    >>> b = SymbolHealth("b:X", state=FeedState.RESYNCING, reason="gap: 12 > 10", messages=30,
    ...                  gaps=2, venue_latency_ns=4_200_000, last_recv_ns=5 * 10**9)
    >>> symbol_rows([b], {"b:X": a}, 6 * 10**9, 4 * 10**9)[0].cells
    ('b:X', '↻ RESYNCING', '10', '4.2ms', '2', '·', '·', '·', '·', '1s', 'gap: 12 > 10')
    """
    rows = []
    for s in current:
        p = previous.get(s.key)
        rate = _rate(now_ns, previous_ns, s.messages, p.messages if p else None)
        rows.append(HealthRow(s.key, (
            s.key, fmt_state(s.state), fmt_rate(rate), fmt_latency(s.venue_latency_ns),
            _count(s.gaps), _count(s.checksum_failures), _count(s.resyncs), _count(s.malformed),
            _count(s.crossed), fmt_age(_age(now_ns, s.last_recv_ns)), _reason(s.reason),
        )))
    return rows


def _short_state(text: str) -> str:
    mark, _, name = text.partition(" ")
    state = FeedState.__members__.get(name)
    return f"{mark} {SHORT_STATES[state]}" if state is not None else text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def common_prefix(keys: Sequence[str]) -> str:
    """The ``venue:`` prefix every key shares, ``""`` when they differ or there are none.

    >>> common_prefix(["sim:A", "sim:B"]), common_prefix(["a:X", "b:X"]), common_prefix([])
    ('sim:', '', '')
    """
    prefixes = {k.partition(":")[0] + ":" for k in keys if ":" in k}
    if len(prefixes) != 1 or any(":" not in k for k in keys):
        return ""
    return prefixes.pop()


def narrow_symbol_cells(cells: tuple[str, ...], prefix: str, reason_width: int) -> tuple[str, ...]:
    """A :func:`symbol_rows` row in the narrow layout (:data:`NARROW_SYMBOL_COLUMNS`).

    Args:
        cells: The full row's cells.
        prefix: Venue prefix dropped from the market key (:func:`common_prefix`).
        reason_width: Cells left for the reason.

    >>> full = ('b:X', '↻ RESYNCING', '10', '4.2ms', '2', '·', '1', '·', '·', '1s', 'gap: 12 > 10')
    >>> narrow_symbol_cells(full, "b:", 8)
    ('X', '↻ RESYNC', '10', '4.2ms', '2g 1r', '1s', 'gap: 12…')
    """
    market, state, rate, latency, *counts, age, reason = cells
    errors = " ".join(f"{n}{letter}" for n, (_, letter) in zip(counts, ERROR_LETTERS, strict=True)
                      if n != "·") or "·"
    return (market.removeprefix(prefix) if prefix else market, _short_state(state), rate, latency,
            errors, age, _cut(reason, reason_width))


def narrow_connection_cells(cells: tuple[str, ...], reason_width: int) -> tuple[str, ...]:
    """A :func:`connection_rows` row in the narrow layout (:data:`NARROW_CONNECTION_COLUMNS`).

    >>> full = ('bin#0', '✕ DISCONNECTED', '—', '—', '3', '2', '40s', '5s', 'connection reset by peer')
    >>> narrow_connection_cells(full, 12)
    ('bin#0', '✕ DOWN', '—', '2', '40s', '5s', 'connection …')
    """
    conn, state, rate, _kbps, _markets, reconnects, age, retry, reason = cells
    return (conn, _short_state(state), rate, reconnects, age, retry, _cut(reason, reason_width))


def reason_room(width: int, rows: Sequence[tuple[str, ...]], labels: Sequence[str]) -> int:
    """Cells left for the last (reason) column of a DataTable ``width`` wide.

    Every column takes its widest text (header included) plus one cell of
    padding each side; two more cells are kept for a vertical scrollbar.

    >>> reason_room(80, [("abc", "de", "x")], ("Mkt", "State", "Reason"))
    64
    """
    used = 2
    for i, label in enumerate(labels[:-1]):
        used += max([len(label)] + [len(r[i]) for r in rows]) + 2
    return max(MIN_REASON, width - used - 2)


def apply_rows(table: DataTable, columns: Sequence[tuple[str, str]], rows: list[HealthRow],
               shown: dict[str, tuple[str, ...]]) -> int:
    """Bring ``table`` to ``rows`` by diff; ``shown`` is the text already in it (updated).

    Returns:
        The number of cells written (added rows count every cell).
    """
    writes = 0
    wanted = {row.key for row in rows}
    for key in [k for k in shown if k not in wanted]:
        table.remove_row(key)
        del shown[key]
    for row in rows:
        old = shown.get(row.key)
        if old is None:
            table.add_row(*row.cells, key=row.key)
            writes += len(row.cells)
        else:
            for (col, _), before, after in zip(columns, old, row.cells, strict=True):
                if before != after:
                    table.update_cell(row.key, col, after)
                    writes += 1
        shown[row.key] = row.cells
    return writes


class HealthScreen(Screen[None]):
    """Connections and markets with their state and error counters, refreshed by diff."""

    DEFAULT_CSS = """
    HealthScreen {
        layout: vertical;
        background: $background;
        & > #health-title { height: 1; padding: 0 1; background: $panel; color: $foreground; }
        & .health-section {
            height: auto;
            border-top: solid $border-blurred;
            border-title-color: $foreground-muted;
            border-title-align: left;
        }
        & #health-connections { max-height: 12; }
        & #health-symbols { height: 1fr; }
        & DataTable { height: auto; max-height: 100%; }
        & > #health-hint { height: auto; padding: 0 1; color: $foreground-muted; }
    }
    """

    BINDINGS = [
        Binding("escape,h", "app.pop_screen", "Close", id="health_close",
                tooltip="Return to the dashboard."),
    ]

    def __init__(self, source: HealthSource, *, interval: float = 1.0,
                 clock: Callable[[], int] = time.time_ns, title: str = "") -> None:
        """Build the screen.

        Args:
            source: Where health copies come from (the running feed).
            interval: Seconds between refreshes.
            clock: Wall clock in ns, the clock the feed stamps ``last_recv_ns`` with.
            title: Feed name shown in the title line.
        """
        super().__init__()
        self.source = source
        """Health source."""
        self.interval = interval
        """Seconds between refreshes."""
        self._clock = clock
        self._title = title
        self._prev_ns: int | None = None
        self._prev_conns: dict[str, ConnectionHealth] = {}
        self._prev_syms: dict[str, SymbolHealth] = {}
        self._last_ns: int | None = None
        self._last_conns: dict[str, ConnectionHealth] = {}
        self._last_syms: dict[str, SymbolHealth] = {}
        self._shown_conns: dict[str, tuple[str, ...]] = {}
        self._shown_syms: dict[str, tuple[str, ...]] = {}
        self._rows: tuple[list[HealthRow], list[HealthRow]] = ([], [])
        self.narrow: bool | None = None
        """The narrow layout is shown (``None`` before the first layout; see the module docstring)."""
        self.cell_writes = 0
        """Cells written since mount (a diff that changes nothing writes none)."""

    def compose(self) -> ComposeResult:
        yield Static(f"Feed health{' — ' + self._title if self._title else ''}",
                     id="health-title", markup=False)
        with Vertical(id="health-connections", classes="health-section") as box:
            box.border_title = "Connections"
            yield DataTable(id="health-conn-table", cursor_type="row")
        with Vertical(id="health-symbols", classes="health-section") as box:
            box.border_title = "Markets"
            yield DataTable(id="health-sym-table", cursor_type="row", zebra_stripes=True)
        # Wraps to a second line on an 80-column screen rather than losing its end.
        yield Static("", id="health-hint", markup=False)

    def on_mount(self) -> None:
        self._set_layout(self.app.size.width < NARROW_COLS)
        self.refresh_health()
        self.set_interval(self.interval, self.refresh_health, name="health")

    def on_resize(self) -> None:
        narrow = self.size.width < NARROW_COLS
        if narrow != self.narrow:
            self._set_layout(narrow)
            self._show()

    @property
    def columns(self) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        """``(connection columns, market columns)`` of the current layout."""
        if self.narrow:
            return NARROW_CONNECTION_COLUMNS, NARROW_SYMBOL_COLUMNS
        return CONNECTION_COLUMNS, SYMBOL_COLUMNS

    def _set_layout(self, narrow: bool) -> None:
        """Rebuild both tables' columns for the wide or narrow layout (rows come back in :meth:`_show`)."""
        self.narrow = narrow
        conn_cols, sym_cols = self.columns
        for table_id, cols, shown in (("#health-conn-table", conn_cols, self._shown_conns),
                                      ("#health-sym-table", sym_cols, self._shown_syms)):
            table = self.query_one(table_id, DataTable)
            table.clear(columns=True)
            for key, label in cols:
                table.add_column(label, key=key)
            shown.clear()
        hint = ("Esc: back  · = none  errors: g gap, k checksum, r resync, m malformed, "
                "x crossed  Lat = receive - venue time (incl. skew)  rates: last refresh"
                if narrow else
                "Esc: back   ←/→ scroll   rates over the last refresh   · = none   "
                "latency = receive time - venue time (includes clock skew)")
        self.query_one("#health-hint", Static).update(hint)

    def refresh_health(self) -> None:
        """Take one sample from the source and update both tables by diff."""
        now = self._clock()
        conns = self.source.connection_health()
        syms = self.source.symbol_health()
        if self._last_ns is not None and now > self._last_ns:
            # Time moved: the last sample becomes the baseline of the rates. A refresh at
            # the same instant keeps the older baseline instead of showing no rate.
            self._prev_ns, self._prev_conns, self._prev_syms = (
                self._last_ns, self._last_conns, self._last_syms)
        self._rows = (connection_rows(conns, self._prev_conns, now, self._prev_ns),
                      symbol_rows(syms, self._prev_syms, now, self._prev_ns))
        self._show()
        self._last_ns = now
        self._last_conns = {c.conn_id: c for c in conns}
        self._last_syms = {s.key: s for s in syms}

    def _show(self) -> None:
        """Bring both tables to the last sample's rows, in the current layout, by diff."""
        crow, srow = self._rows
        conn_cols, sym_cols = self.columns
        if self.narrow:
            width = self.size.width or self.app.size.width
            prefix = common_prefix([r.key for r in srow])
            cs = [narrow_connection_cells(r.cells, 10**6) for r in crow]
            room = reason_room(width, cs, [label for _, label in conn_cols])
            crow = [r._replace(cells=narrow_connection_cells(r.cells, room)) for r in crow]
            ss = [narrow_symbol_cells(r.cells, prefix, 10**6) for r in srow]
            room = reason_room(width, ss, [label for _, label in sym_cols])
            srow = [r._replace(cells=narrow_symbol_cells(r.cells, prefix, room)) for r in srow]
        with self.app.batch_update():
            self.cell_writes += apply_rows(self.query_one("#health-conn-table", DataTable),
                                           conn_cols, crow, self._shown_conns)
            self.cell_writes += apply_rows(self.query_one("#health-sym-table", DataTable),
                                           sym_cols, srow, self._shown_syms)

    def shown(self) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        """Text currently in the connection and market tables, by row key (for tests)."""
        return dict(self._shown_conns), dict(self._shown_syms)
