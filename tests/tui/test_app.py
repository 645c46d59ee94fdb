"""Pilot tests of the dashboard's key flows, frame timer and layout (no feed, a fake hub)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from textual.command import CommandPalette

from tapescope.engine.events import FeedState, Trade
from tapescope.engine.snapshot import TradePrint
from tapescope.feeds.base import Feed
from tapescope.tui.app import TapescopeApp, make_app
from tapescope.tui.config import Config, load_config
from tapescope.tui.messages import FeedStopped
from tapescope.tui.screens.help import HelpScreen
from tapescope.tui.screens.picker import SymbolPicker
from tapescope.widgets.ladder import DepthLadder
from tapescope.widgets.readouts import Readouts
from tapescope.widgets.status_bar import StatusBar
from tapescope.widgets.tape import Tape
from tapescope.widgets.watchlist import SymbolBar, Watchlist

#: The frozen clock of conftest (2023-11-14 22:13:20.005 UTC).
FROZEN_NS = 1_700_000_000_005_000_000


def frame_read(hub) -> tuple[str, int, int]:
    """The last read made by the frame timer (the watchlist timer reads with 1 ladder row)."""
    return [r for r in hub.reads if r[2] != 1][-1]


def build(config: Config, hub) -> TapescopeApp:
    return make_app(config, None, hub, clock=lambda: FROZEN_NS)


async def test_number_keys_focus_symbols(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.focused_key == "sim:BTC-SIM"
        await pilot.press("2")
        assert app.focused_key == "sim:ETH-SIM"
        assert app.dashboard.query_one(DepthLadder).border_title == "Book ETH-SIM"
        assert frame_read(hub)[0] == "sim:ETH-SIM"
        await pilot.press("3")
        assert app.focused_key == "sim:SOL-SIM"
        await pilot.press("9")  # only three markets: no-op
        assert app.focused_key == "sim:SOL-SIM"
        await pilot.press("1")
        assert app.focused_key == "sim:BTC-SIM"


async def test_tab_and_shift_tab_cycle_and_wrap(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("tab")
        assert app.focused_key == "sim:ETH-SIM"
        await pilot.press("tab", "tab")
        assert app.focused_key == "sim:BTC-SIM"
        await pilot.press("shift+tab")
        assert app.focused_key == "sim:SOL-SIM"


async def test_picker_selects_by_fuzzy_text(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash")
        assert isinstance(app.screen, SymbolPicker)
        await pilot.press("s", "l")  # "sl" matches only SOL-SIM as a subsequence
        await pilot.press("enter")
        assert app.screen is app.dashboard
        assert app.focused_key == "sim:SOL-SIM"


async def test_picker_arrow_keys_and_escape(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash", "down", "enter")
        assert app.focused_key == "sim:ETH-SIM"
        await pilot.press("slash", "e", "t", "escape")
        assert app.screen is app.dashboard
        assert app.focused_key == "sim:ETH-SIM"


async def test_symbol_keys_do_nothing_under_the_picker(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash", "2", "tab")
        assert isinstance(app.screen, SymbolPicker)
        assert app.focused_key == "sim:BTC-SIM"
        assert app.screen.query_one("#picker-input").value == "2"


async def test_help_lists_every_binding(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {row.description for row in app.screen.rows}
        expected = {b.description for b in TapescopeApp.BINDINGS}
        assert expected <= listed
        keys = {row.description: row.key for row in app.screen.rows}
        assert keys["Quit"] == "q" and keys["Help"] == "?" and keys["Symbol"] == "/"
        tooltips = {row.description: row.tooltip for row in app.screen.rows}
        assert all(tooltips[d] for d in expected)
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_every_binding_has_id_tooltip_description() -> None:
    for binding in TapescopeApp.BINDINGS:
        assert binding.id and binding.tooltip and binding.description, binding


async def test_t_cycles_themes(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "tapescope-dark"
        await pilot.press("t")
        assert app.theme == "tapescope-light"
        assert app.get_css_variables()["bid"] == "#1a7f37"
        await pilot.press("t")
        assert app.theme == "tapescope-contrast"
        # Then the extra themes (themes/extra.py), and back to the first.
        for name in ("tapescope-high-contrast", "tapescope-colorblind",
                     "tapescope-colorblind-light", "tapescope-dark"):
            await pilot.press("t")
            assert app.theme == name


async def test_q_quits(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app._exit  # noqa: SLF001 - set by App.exit()
    assert app.return_code == 0


async def test_keymap_from_config_remaps(tmp_path, hub) -> None:
    path = tmp_path / "keys.toml"
    path.write_text('[keys]\nquit = "x"\nnext_symbol = "n"\n')
    app = build(load_config(path), hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("q")
        assert not app._exit  # noqa: SLF001
        await pilot.press("n")
        assert app.focused_key == "sim:ETH-SIM"
        await pilot.press("question_mark")
        keys = {row.description: row.key for row in app.screen.rows}
        assert keys["Quit"] == "x" and keys["Next"] == "n"
        await pilot.press("escape", "x")
        await pilot.pause()
        assert app._exit  # noqa: SLF001


async def test_palette_lists_every_action(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(120, 40)) as pilot:
        commands = list(app.get_system_commands(app.dashboard))
        titles = {c.title for c in commands}
        for title in ("Quit", "Help", "Go to symbol", "Cycle theme", "Next symbol",
                      "Previous symbol", "Symbol 1: sim:BTC-SIM", "Symbol 3: sim:SOL-SIM"):
            assert title in titles
        by_title = {c.title: c for c in commands}
        by_title["Next symbol"].callback()
        assert app.focused_key == "sim:ETH-SIM"
        by_title["Symbol 3: sim:SOL-SIM"].callback()
        assert app.focused_key == "sim:SOL-SIM"
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"cycle")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "tapescope-light"


async def test_frame_timer_reads_only_the_focused_market_and_updates_widgets(
        config: Config, hub, make_snap) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.25)
        tape = app.dashboard.query_one(Tape)
        assert tape.rows[0].time == "22:13:19.750"
        ladder = app.dashboard.query_one(DepthLadder)
        hub.reads.clear()
        newer = make_snap("BTC-SIM", 100.0, 0.1, version=2)
        newer = replace(newer, recv_ts=FROZEN_NS - 4_000_000, trades=newer.trades + (
            TradePrint(FROZEN_NS - 1_000_000, 100.2, 3.0, -1),))
        hub.snaps["sim:BTC-SIM"] = newer
        await pilot.pause(0.35)  # at least two frames at 10 fps
        assert tape.rows[0].price == "100.2" and tape.rows[0].side == -1
        frame_reads = [r for r in hub.reads if r[2] != 1]
        assert len(frame_reads) >= 2
        assert {r[0] for r in frame_reads} == {"sim:BTC-SIM"}
        assert {r[2] for r in frame_reads} == {ladder.rows_per_side}
        status = app.dashboard.query_one(StatusBar).plain
        # Latency shows the first frame's value until a one-second window closes
        # (the clock here is frozen, so it never does).
        assert "sim:BTC-SIM" in status and "LIVE" in status and "lat 5.0ms" in status


async def test_unchanged_snapshot_is_not_reassigned(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        frames = app.frames
        same = hub.snaps["sim:BTC-SIM"]
        hub.snapshot = lambda key, ladder_step_ticks=1, ladder_rows=40: same  # type: ignore[method-assign]
        await pilot.pause(0.35)
        settled = app.frames
        await pilot.pause(0.35)
        assert app.frames == settled and settled <= frames + 1


async def test_not_live_book_shows_badge_not_ladder(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("3")
        rows = app.dashboard.query_one(DepthLadder).rows
        kinds = {r.kind for r in rows}
        assert "bid" not in kinds and "ask" not in kinds
        assert [r.text for r in rows if r.kind == "badge"] == ["RESYNCING"]
        assert [r.text for r in rows if r.kind == "note"] == ["gap: seq 12 > 10"]
        assert "spr —" in app.dashboard.query_one(Readouts).plain
        await pilot.press("1")
        kinds = {r.kind for r in app.dashboard.query_one(DepthLadder).rows}
        assert {"bid", "ask"} <= kinds and "badge" not in kinds


async def test_market_going_stale_hides_the_ladder_next_frame(config: Config, hub, make_snap) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        hub.snaps["sim:BTC-SIM"] = make_snap("BTC-SIM", 100.0, 0.1, version=5,
                                                  state=FeedState.STALE, reason="no data 5s")
        await pilot.pause(0.3)
        assert [r.text for r in app.dashboard.query_one(DepthLadder).rows if r.kind == "badge"] == ["STALE"]


@pytest.mark.parametrize(("size", "wide"), [((80, 24), False), ((130, 40), True)])
async def test_layout_compact_and_wide(config: Config, hub, size, wide: bool) -> None:
    app = build(config, hub)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = app.dashboard
        assert (screen.has_class("-wide") or screen.has_class("-xwide")) is wide
        assert screen.query_one(Watchlist).display is wide
        assert screen.query_one(SymbolBar).display is not wide
        # Everything fits: nothing scrolled, the status bar sits just above the footer.
        assert screen.scroll_offset == (0, 0)
        assert screen.status_bar.region.y == size[1] - 2


async def test_ladder_rows_grow_with_height(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        small = app.dashboard.query_one(DepthLadder).rows_per_side
    app = build(config, hub)
    async with app.run_test(size=(80, 50)) as pilot:
        await pilot.pause()
        big = app.dashboard.query_one(DepthLadder).rows_per_side
        assert frame_read(hub)[2] == big
    assert big >= small + 12


async def test_watchlist_updates_by_diff(config: Config, hub, monkeypatch) -> None:
    app = build(config, hub)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        table = app.dashboard.query_one(Watchlist)
        assert [r.key for r in table.window] == ["sim:BTC-SIM", "sim:ETH-SIM", "sim:SOL-SIM"]
        full: list[tuple] = []
        regions: list = []
        # A changed row repaints that line only: a whole-panel refresh would resend
        # every line of the panel (empty ones included) to the terminal.
        real_refresh = table.refresh

        def spy(*regs, **kw):
            (regions.extend(regs) if regs else full.append(kw))
            return real_refresh(*regs, **kw)

        monkeypatch.setattr(table, "refresh", spy)
        eth = hub.snaps["sim:ETH-SIM"]
        hub.snaps["sim:ETH-SIM"] = replace(eth, version=9, last_price=2010.0)
        app.refresh_watchlist()
        # ETH is the second market: line 2 under the header (line 0).
        assert [r.y for r in regions] == [2] and full == []
        assert "2,010" in "".join(t for t, _ in table._rows[2].cells)
        regions.clear()
        app.refresh_watchlist()
        assert regions == [] and full == []


async def test_plus_minus_change_the_ladder_step(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("minus")
        assert app.ladder_step_ticks == 1
        await pilot.press("plus", "plus", "plus")
        assert app.ladder_step_ticks == 10
        assert frame_read(hub)[:2] == ("sim:BTC-SIM", 10)
        await pilot.press("minus")
        assert app.ladder_step_ticks == 5
        assert frame_read(hub)[:2] == ("sim:BTC-SIM", 5)
        # ] and [ do the same (the keys; + and - are the replay speed in replay).
        await pilot.press("right_square_bracket")
        assert app.ladder_step_ticks == 10
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.ladder_step_ticks == 2


class ScriptedFeed(Feed):
    """Emits a fixed list of events into the sink, then ends (or raises)."""

    name = "scripted"

    def __init__(self, hub, events, error: Exception | None = None) -> None:
        self._hub = hub
        self._events = events
        self._error = error

    @property
    def instruments(self):
        return [s.instrument for s in self._hub.snaps.values()]

    async def run(self, sink) -> None:
        for ev in self._events:
            sink.on_event(ev)
        await asyncio.sleep(0)
        if self._error is not None:
            raise self._error


def _trades(n: int) -> list[Trade]:
    return [Trade("sim:BTC-SIM", FROZEN_NS, FROZEN_NS, 100.0, 1.0, 1) for _ in range(n)]


async def test_feed_runs_as_worker_and_its_end_is_reported(config: Config, hub) -> None:
    seen: list[FeedStopped] = []
    app = make_app(config, ScriptedFeed(hub, _trades(25)), hub, clock=lambda: FROZEN_NS)
    async with app.run_test(size=(100, 30),
                            message_hook=lambda m: seen.append(m) if isinstance(m, FeedStopped) else None) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert hub.events == 25 and app.sink.events == 25
        assert [(m.feed, m.error) for m in seen] == [("scripted", "")]


async def test_feed_failure_is_reported_not_raised(config: Config, hub) -> None:
    seen: list[FeedStopped] = []
    feed = ScriptedFeed(hub, _trades(3), RuntimeError("socket closed"))
    app = make_app(config, feed, hub, clock=lambda: FROZEN_NS)
    async with app.run_test(size=(100, 30),
                            message_hook=lambda m: seen.append(m) if isinstance(m, FeedStopped) else None) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [(m.feed, m.error) for m in seen] == [("scripted", "RuntimeError: socket closed")]
        assert app.is_running


async def test_start_feed_false_leaves_the_hub_alone(config: Config, hub) -> None:
    app = make_app(config, ScriptedFeed(hub, _trades(5)), hub, start_feed=False, clock=lambda: FROZEN_NS)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        assert hub.events == 0


async def test_rates_use_the_injected_clock(config: Config, hub) -> None:
    now = [FROZEN_NS]
    app = make_app(config, None, hub, clock=lambda: now[0])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        # The first snapshot was received 5 ms before the first frame.
        for ev in _trades(1500):
            app.sink.on_event(ev)
        now[0] += 2 * 10**9
        hub.snaps["sim:BTC-SIM"] = replace(hub.snaps["sim:BTC-SIM"], version=77, recv_ts=now[0] - 10**6)
        app.refresh_frame()  # closes the 2 s window
        status = app.dashboard.status_bar.plain
        assert "750 msg/s" in status  # 1500 events / 2 s
        # Every frame so far / 2 s, then the rate of the frame timer in force.
        assert f"{app.frames / 2:.1f}/10 fps" in status
        assert "lat 3.0ms" in status  # mean of 5 ms and 1 ms


async def test_theme_switch_recolours_the_ladder(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        ladder = app.dashboard.ladder
        y = next(i for i, r in enumerate(ladder.rows) if r.kind == "ask")
        assert list(ladder.render_line(y))[0].style.color.name == "#f85149"
        await pilot.press("t")
        await pilot.pause()
        assert list(ladder.render_line(y))[0].style.color.name == "#cf222e"  # $ask of tapescope-light


async def test_clicking_a_watchlist_row_focuses_it(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        # Row 3 (SOL) is the 4th line of the panel body: top rule, header, rows 1..3.
        await pilot.click("#watchlist", offset=(6, 4))
        await pilot.pause()
        assert app.focused_key == "sim:SOL-SIM"


async def test_automatic_ladder_row_height_per_market(config: Config, hub) -> None:
    app = build(config, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        # BTC: 0.5 bp of 100 is 0.005 = 0.05 ticks -> the 1-tick minimum.
        assert app.ladder_step_ticks == 1
        # ETH: 0.5 bp of 2000 is 0.1 = 2 ticks of 0.05.
        await pilot.press("2")
        assert app.ladder_step_ticks == 2
        assert frame_read(hub)[:2] == ("sim:ETH-SIM", 2)
        assert app.dashboard.ladder.border_title == "Book ETH-SIM"  # the fake hub keeps its 1-tick ladder
        await pilot.press("plus")
        assert app.ladder_step_ticks == 5
        await pilot.press("1", "2")
        assert app.ladder_step_ticks == 5  # remembered per market


async def test_ladder_row_bps_zero_keeps_the_configured_step(tmp_path, hub) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[app]\nladder_row_bps = 0.0\nladder_step_ticks = 5\n")
    app = build(load_config(path), hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        assert app.ladder_step_ticks == 5
        assert frame_read(hub)[:2] == ("sim:ETH-SIM", 5)
