"""Feed health screen: every connection and every market, their state and error counters.

Two tables, one row per connection (:class:`~tapescope.engine.health.ConnectionHealth`)
and one per market (:class:`~tapescope.engine.health.SymbolHealth`): state,
messages per second, venue-to-receive latency, sequence gaps, checksum
failures, resyncs, reconnects, malformed messages, crossed books, the age of
the last message and why the market is in its state.

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
        self.cell_writes = 0
        """Cells written since mount (a diff that changes nothing writes none)."""

    def compose(self) -> ComposeResult:
        yield Static(f"Feed health{' — ' + self._title if self._title else ''}",
                     id="health-title", markup=False)
        with Vertical(id="health-connections", classes="health-section") as box:
            box.border_title = "Connections"
            conns: DataTable = DataTable(id="health-conn-table", cursor_type="row")
            for key, label in CONNECTION_COLUMNS:
                conns.add_column(label, key=key)
            yield conns
        with Vertical(id="health-symbols", classes="health-section") as box:
            box.border_title = "Markets"
            syms: DataTable = DataTable(id="health-sym-table", cursor_type="row",
                                        zebra_stripes=True)
            for key, label in SYMBOL_COLUMNS:
                syms.add_column(label, key=key)
            yield syms
        # Wraps to a second line on an 80-column screen rather than losing its end.
        yield Static("Esc: back   ←/→ scroll   rates over the last refresh   · = none   "
                     "latency = receive time - venue time (includes clock skew)",
                     id="health-hint", markup=False)

    def on_mount(self) -> None:
        self.refresh_health()
        self.set_interval(self.interval, self.refresh_health, name="health")

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
        crow = connection_rows(conns, self._prev_conns, now, self._prev_ns)
        srow = symbol_rows(syms, self._prev_syms, now, self._prev_ns)
        with self.app.batch_update():
            self.cell_writes += apply_rows(self.query_one("#health-conn-table", DataTable),
                                           CONNECTION_COLUMNS, crow, self._shown_conns)
            self.cell_writes += apply_rows(self.query_one("#health-sym-table", DataTable),
                                           SYMBOL_COLUMNS, srow, self._shown_syms)
        self._last_ns = now
        self._last_conns = {c.conn_id: c for c in conns}
        self._last_syms = {s.key: s for s in syms}

    def shown(self) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        """Text currently in the connection and market tables, by row key (for tests)."""
        return dict(self._shown_conns), dict(self._shown_syms)
