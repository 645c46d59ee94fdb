"""The App's watchlist with 60 markets: sort keys, digit keys, Tab past the visible window."""

from __future__ import annotations

from dataclasses import replace

from tapescope.tui.app import TapescopeApp, make_app
from tapescope.tui.config import Config
from tapescope.widgets.watch_rows import sort_rows
from tapescope.widgets.watchlist import SymbolBar, Watchlist

#: The frozen clock of conftest.
FROZEN_NS = 1_700_000_000_005_000_000


class SixtyHub:
    """60 prepared markets; market i has change (i - 30) / 1000 and a CVD slope of -i."""

    def __init__(self, make_snap) -> None:
        self.snaps = {}
        for i in range(1, 61):
            snap = make_snap(f"S{i:02d}-SIM", 100.0 + i, 0.01, levels=10, n_trades=4, seconds=10)
            snap = replace(snap, last_price=100.0 + i, session_open=(100.0 + i) / (1 + (i - 30) / 1000),
                           cvd_slope=-float(i))
            self.snaps[snap.key] = snap

    @property
    def keys(self) -> list[str]:
        return list(self.snaps)

    def snapshot(self, key: str, ladder_step_ticks: int = 1, ladder_rows: int = 40):
        return self.snaps[key]

    def on_event(self, event: object) -> None:
        pass

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        pass


def build(config: Config, make_snap) -> TapescopeApp:
    return make_app(config, None, SixtyHub(make_snap), clock=lambda: FROZEN_NS)


async def test_sort_key_cycles_and_keeps_focus(config: Config, make_snap) -> None:
    app = build(config, make_snap)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        table = app.dashboard.query_one(Watchlist)
        await pilot.press("5")
        await pilot.pause()
        assert app.focused_key == "sim:S05-SIM"
        await pilot.press("o")                       # symbol ▲
        assert app.dashboard.sort == ("symbol", False)
        await pilot.press("o")                       # change ▼: S60 first
        await pilot.pause()
        assert app.dashboard.sort == ("change", True)
        assert app.dashboard.display_order[0] == "sim:S60-SIM"
        assert app.dashboard.display_order == [r.key for r in sort_rows(table.rows_data, "change", True)]
        # The focused market (S05, 56th now) is still focused, highlighted and in view.
        assert app.focused_key == "sim:S05-SIM"
        shown = [r.key for r in table.window]
        line = table._rows[1 + shown.index("sim:S05-SIM")]
        assert line.focused and sum(ln.focused for ln in table._rows) == 1
        await pilot.press("O")                       # change ▲: S01 first
        await pilot.pause()
        assert app.dashboard.sort == ("change", False)
        assert app.dashboard.display_order[:2] == ["sim:S01-SIM", "sim:S02-SIM"]
        # The window moved only as far as needed to keep S05 in view: it is the top line.
        assert table.window[0].key == "sim:S05-SIM"
        assert "change ▲" in str(table.border_title)


async def test_digits_keep_the_configured_order_when_sorted(config: Config, make_snap) -> None:
    app = build(config, make_snap)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        await pilot.press("o", "o")                  # change ▼: S60 on top
        await pilot.press("3")
        await pilot.pause()
        assert app.focused_key == "sim:S03-SIM"      # third configured, not third shown


async def test_tab_walks_the_displayed_order_past_the_window(config: Config, make_snap) -> None:
    app = build(config, make_snap)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        table = app.dashboard.query_one(Watchlist)
        visible = table.visible_rows
        assert 20 < visible < 60
        await pilot.press("o", "o")                  # change ▼: S60, S59, ...
        await pilot.pause()
        await pilot.press("1")                       # S01: last in this order
        await pilot.press("tab")                     # wraps to the top of the display
        await pilot.pause()
        assert app.focused_key == "sim:S60-SIM" and table.top == 0
        for _ in range(visible + 4):
            await pilot.press("tab")
        await pilot.pause()
        # Down the sorted list: S60 - (visible + 4), kept on the last visible line.
        expected = f"sim:S{60 - visible - 4:02d}-SIM"
        assert app.focused_key == expected
        assert table.window[-1].key == expected and table.top == 5
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.focused_key == f"sim:S{60 - visible - 3:02d}-SIM" and table.top == 5


async def test_compact_bar_follows_focus(config: Config, make_snap) -> None:
    app = build(config, make_snap)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = app.dashboard.query_one(SymbolBar)
        for _ in range(25):
            await pilot.press("tab")
        await pilot.pause()
        assert app.focused_key == "sim:S26-SIM"
        assert "sim:S26-SIM" in bar.shown_keys and "sim:S01-SIM" not in bar.shown_keys


async def test_sort_keys_are_remappable_and_listed_in_help_and_palette(make_snap) -> None:
    from tapescope.tui.config import load_config
    from tapescope.tui.screens.help import HelpScreen

    config = load_config(overrides={"keys": {"sort_watchlist": "k", "reverse_sort": "K"}})
    app = build(config, make_snap)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        await pilot.press("o")                       # no longer bound
        assert app.dashboard.sort == ("watchlist", False)
        await pilot.press("k", "k", "K")
        assert app.dashboard.sort == ("change", False)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Sort watchlist" in titles and "Reverse watchlist sort" in titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {r.description: r.key for r in app.screen.rows}
        assert rows["Sort"] == "k" and rows["Reverse sort"] == "K"


async def test_tab_run_visits_every_market_once_while_the_sort_changes(config: Config, make_snap) -> None:
    import random

    from tapescope.tui.watch_actions import TAB_HOLD_S

    now = [FROZEN_NS]
    hub = SixtyHub(make_snap)
    app = make_app(config, None, hub, clock=lambda: now[0])
    rng = random.Random(7)

    def reshuffle() -> None:
        # Every market gets a new change: the 'change' order is a new permutation.
        changes = rng.sample(range(-30, 30), 60)
        for (key, snap), c in zip(list(hub.snaps.items()), changes, strict=True):
            hub.snaps[key] = replace(snap, session_open=snap.last_price / (1 + c / 1000))
        app.refresh_watchlist()

    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        await pilot.press("o", "o")                  # change ▼
        await pilot.pause()
        start = app.focused_key
        visited = []
        for _ in range(60):
            reshuffle()
            now[0] += int(0.5e9)                     # presses 0.5 s apart: one run
            await pilot.press("tab")
            visited.append(app.focused_key)
        assert sorted(visited) == sorted(hub.keys)   # none skipped, none twice
        assert visited[-1] == start                  # and back to the start
        # After a pause, Tab starts from the order as displayed now.
        reshuffle()
        await pilot.pause()
        now[0] += int((TAB_HOLD_S + 0.1) * 1e9)
        order = app.dashboard.display_order
        expected = order[(order.index(app.focused_key) + 1) % 60]
        await pilot.press("tab")
        assert app.focused_key == expected


async def test_alert_timer_reads_one_batch_of_markets_per_tick(config: Config, make_snap) -> None:
    from tapescope.tui.alert_actions import ALERT_BATCH

    hub = SixtyHub(make_snap)
    app = make_app(config, None, hub, clock=lambda: FROZEN_NS)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        read: list[str] = []
        plain = hub.snapshot

        def counting(key: str, ladder_step_ticks: int = 1, ladder_rows: int = 40):
            read.append(key)
            return plain(key, ladder_step_ticks, ladder_rows)

        hub.snapshot = counting
        per_tick = []
        for _ in range(60 // ALERT_BATCH + 1):       # ceil(60 / 8) = 8 ticks: one round
            before = len(read)
            app.scan_alerts_batch()                  # synchronous: no other timer runs meanwhile
            per_tick.append(len(read) - before)
        # No tick reads more than a batch; the round reads every market but the focused
        # one (its frame snapshot is reused) exactly once.
        assert max(per_tick) <= ALERT_BATCH
        assert sorted(read) == sorted(k for k in hub.keys if k != app.focused_key)
