"""Health screen: rows from a fake feed's health copies, updated by diff, never rebuilt."""

from __future__ import annotations

from textual.app import App
from textual.widgets import DataTable

from tapescope.engine.events import FeedState
from tapescope.engine.health import ConnectionHealth, SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.base import EventSink, Feed
from tapescope.tui.screens.health import HealthScreen

T0 = 1_700_000_000_000_000_000
S = 10**9


class FakeFeed(Feed):
    """A feed whose health objects the test mutates; it hands out copies like a real one."""

    name = "fake"

    def __init__(self) -> None:
        self.syms = {k: SymbolHealth(k) for k in ("x:AAA", "x:BBB")}
        self.conns = {"x#0": ConnectionHealth("x#0", url="wss://x", symbols=["x:AAA", "x:BBB"])}

    @property
    def instruments(self) -> list[Instrument]:
        return [Instrument("x", k.split(":")[1]) for k in self.syms]

    async def run(self, sink: EventSink) -> None:
        return None

    def symbol_health(self) -> list[SymbolHealth]:
        return [h.copy() for h in self.syms.values()]

    def connection_health(self) -> list[ConnectionHealth]:
        return [h.copy() for h in self.conns.values()]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


class Host(App[None]):
    def __init__(self, screen: HealthScreen) -> None:
        super().__init__()
        self.health = screen

    def on_mount(self) -> None:
        self.push_screen(self.health)


def cell(screen: HealthScreen, table: str, row: str, col: str) -> str:
    return str(screen.query_one(table, DataTable).get_cell(row, col))


async def test_counters_rates_and_diff_updates() -> None:
    feed, clock = FakeFeed(), Clock()
    a, b, conn = feed.syms["x:AAA"], feed.syms["x:BBB"], feed.conns["x#0"]
    a.state = b.state = conn.state = FeedState.LIVE
    a.messages, b.messages, conn.messages, conn.bytes = 100, 40, 140, 50_000
    a.last_recv_ns = b.last_recv_ns = conn.last_recv_ns = T0 - S // 2
    a.venue_latency_ns = 12_300_000
    # A long interval: the test drives every refresh itself.
    screen = HealthScreen(feed, interval=3600, clock=clock, title="fake")
    app = Host(screen)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        conns, syms = screen.shown()
        # First sample: no rates yet, counters as the feed reported them.
        assert syms["x:AAA"] == ("x:AAA", "● LIVE", "—", "12.3ms", "·", "·", "·", "·", "·",
                                 "<1s", "")
        assert conns["x#0"][:7] == ("x#0", "● LIVE", "—", "—", "2", "·", "<1s")
        first_writes = screen.cell_writes
        assert first_writes == 11 * 2 + 9

        # One second later: AAA got 50 messages, a gap and a resync; BBB nothing.
        clock.now += S
        a.messages += 50
        a.gaps, a.resyncs, a.state, a.reason = 1, 1, FeedState.RESYNCING, "gap: seq 12 > 10"
        a.last_recv_ns = clock.now - S // 10
        conn.messages += 50
        conn.bytes += 10_240
        conn.last_recv_ns = clock.now - S // 10
        screen.refresh_health()
        await pilot.pause()
        assert cell(screen, "#health-sym-table", "x:AAA", "rate") == "50"
        assert cell(screen, "#health-sym-table", "x:AAA", "state") == "↻ RESYNCING"
        assert cell(screen, "#health-sym-table", "x:AAA", "gaps") == "1"
        assert cell(screen, "#health-sym-table", "x:AAA", "resyncs") == "1"
        assert cell(screen, "#health-sym-table", "x:AAA", "reason") == "gap: seq 12 > 10"
        assert cell(screen, "#health-sym-table", "x:BBB", "rate") == "0"
        assert cell(screen, "#health-sym-table", "x:BBB", "age") == "2s"  # 1.5 s, rounded
        assert cell(screen, "#health-conn-table", "x#0", "rate") == "50"
        assert cell(screen, "#health-conn-table", "x#0", "kbps") == "10"
        # Only the changed cells were written: AAA state, rate, gaps, resyncs, reason (5; its
        # age is still under a second); BBB rate, age (2); the connection rate, KB/s (2).
        assert screen.cell_writes - first_writes == 9

        # Nothing changes and the clock stands still: nothing is written.
        before = screen.cell_writes
        screen.refresh_health()
        assert screen.cell_writes == before

        # A market appears, another leaves: rows are added and removed, not rebuilt.
        del feed.syms["x:BBB"]
        feed.syms["x:CCC"] = SymbolHealth("x:CCC", checksum_failures=3, malformed=2, crossed=1)
        clock.now += S
        screen.refresh_health()
        await pilot.pause()
        table = screen.query_one("#health-sym-table", DataTable)
        assert [str(k.value) for k in table.rows] == ["x:AAA", "x:CCC"]
        assert cell(screen, "#health-sym-table", "x:CCC", "checksum") == "3"
        assert cell(screen, "#health-sym-table", "x:CCC", "malformed") == "2"
        assert cell(screen, "#health-sym-table", "x:CCC", "crossed") == "1"
        assert cell(screen, "#health-sym-table", "x:CCC", "age") == "—"
        assert cell(screen, "#health-sym-table", "x:CCC", "state") == "… CONNECTING"


async def test_reconnects_and_retry_countdown() -> None:
    feed, clock = FakeFeed(), Clock()
    conn = feed.conns["x#0"]
    conn.state, conn.reconnects = FeedState.DISCONNECTED, 3
    conn.next_retry_ns = T0 + 4 * S
    conn.reason = "connection closed: 1006 " + "x" * 80
    screen = HealthScreen(feed, interval=3600, clock=clock)
    async with Host(screen).run_test(size=(140, 30)) as pilot:
        await pilot.pause()
        row = screen.shown()[0]["x#0"]
        assert row[1] == "✕ DISCONNECTED"
        assert row[5] == "3"
        assert row[7] == "4s"
        assert len(row[8]) == 40 and row[8].endswith("…")


async def test_escape_closes() -> None:
    feed = FakeFeed()
    screen = HealthScreen(feed, interval=3600, clock=Clock())
    app = Host(screen)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_narrow_layout_fits_80_columns_without_horizontal_scrolling() -> None:
    feed, clock = FakeFeed(), Clock()
    a, conn = feed.syms["x:AAA"], feed.conns["x#0"]
    a.state, a.reason = FeedState.RESYNCING, "checksum mismatch after delta 48213: expected 1234, got 99"
    a.gaps, a.checksum_failures, a.crossed = 2, 1, 3
    conn.state, conn.reason, conn.reconnects = FeedState.DISCONNECTED, "connection reset by peer", 4
    screen = HealthScreen(feed, interval=3600, clock=clock, title="fake")
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert screen.narrow is True
        conns, syms = screen.shown()
        # Venue prefix dropped, short state, the counters folded into one column.
        assert syms["x:AAA"][:6] == ("AAA", "↻ RESYNC", "—", "—", "2g 1k 3x", "—")
        assert syms["x:BBB"][4] == "·"
        assert conns["x#0"][:6] == ("x#0", "✕ DOWN", "—", "4", "—", "—")
        for table_id in ("#health-conn-table", "#health-sym-table"):
            table = screen.query_one(table_id, DataTable)
            # Every column, the reason included, is on screen: nothing to scroll to.
            assert table.virtual_size.width <= table.size.width
        reason = syms["x:AAA"][6]
        assert reason.endswith("…") and a.reason.startswith(reason[:-1]) and len(reason) >= 20
        # Widened past the breakpoint, the full layout comes back with every column.
        await pilot.resize_terminal(140, 30)
        await pilot.pause()
        assert screen.narrow is False
        assert screen.shown()[1]["x:AAA"][0] == "x:AAA"
        assert len(screen.shown()[1]["x:AAA"]) == 11
