"""What the start-up path defers: lazy imports, markets seeded after the first frame, kernel warm-up.

Imports are checked in a fresh interpreter (``sys.modules`` of this test
process already holds everything).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import tapescope
from tapescope.engine.events import FeedState
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.tui import app as app_module
from tapescope.tui.app import WARM_UP_DELAY_FRAMES, WARM_UP_LATEST_FRAMES, make_app
from tapescope.tui.config import Config
from tapescope.tui.startup import gc_paused, pause_gc, resume_gc
from tapescope.tui.wiring import make_hub
from tapescope.widgets.ladder import DepthLadder
from tapescope.widgets.watchlist import Watchlist

START = 1_767_225_600 * 1_000_000_000
#: What no command may load before it needs it.
HEAVY = ("numba", "aiosqlite", "sqlite3", "aiohttp", "websockets")


def _modules_after(code: str) -> set[str]:
    """The module names loaded by ``code`` in a fresh interpreter."""
    root = str(Path(list(tapescope.__path__)[0]).parent)
    env = dict(os.environ, PYTHONPATH=root)
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_loads_no_engine_textual_numpy_or_io_library() -> None:
    mods = _modules_after("import tapescope.tui.cli")
    assert "typer" in mods and "tapescope.tui.cli" in mods  # the probe saw the import
    loaded = {m for m in mods if m.split(".")[0] in (*HEAVY, "textual", "numpy", "rich")
              or m.startswith(("tapescope.engine", "tapescope.feeds", "tapescope.widgets"))}
    assert loaded == set()


def test_the_dashboard_loads_no_recorder_replay_webhook_or_numba_before_it_runs() -> None:
    mods = _modules_after(
        "from tapescope.tui.config import load_config\n"
        "from tapescope.tui import wiring\n"
        "from tapescope.tui.app import make_app\n"
        "cfg = load_config(None, read_user_file=False)\n"
        "make_app(cfg, *wiring.build_demo(cfg))"
    )
    assert "tapescope.tui.app" in mods and "textual.app" in mods
    assert {m for m in mods if m.split(".")[0] in HEAVY} == set()
    deferred = ("tapescope.feeds.replay", "tapescope.engine.recorder.writer",
                "tapescope.engine.recorder.reader", "tapescope.engine.garch_kernels",
                "tapescope.engine.profile_kernels", "tapescope.tui.evaluate")
    assert {m for m in mods if m.startswith(deferred)} == set()


def test_the_webhook_still_imports_aiohttp_when_it_runs() -> None:
    mods = _modules_after(
        "import asyncio\n"
        "from tapescope.tui.alerts import WebhookPoster, WebhookSettings\n"
        "async def main():\n"
        "    p = WebhookPoster(WebhookSettings(url='http://127.0.0.1:9/x'))\n"
        "    p.start(); await asyncio.sleep(0.05); await p.close()\n"
        "asyncio.run(main())"
    )
    assert "aiohttp" in mods


def _ladder_badges(app) -> list[str]:
    return [r.text for r in app.dashboard.query_one(DepthLadder).rows if r.kind == "badge"]


def _ladder_kinds(app) -> set[str]:
    return {r.kind for r in app.dashboard.query_one(DepthLadder).rows}


async def test_a_market_not_yet_seeded_shows_connecting_until_its_snapshot_arrives(
        config: Config) -> None:
    feed = SimFeed(SimParams(), realtime=False, start_ns=START)
    hub = make_hub(config, feed.instruments)
    # The feed's start as run() does it: the first market's header only.
    for ev in feed._header(1):
        hub.on_event(ev)
    assert len(feed._built) == 1
    app = make_app(config, feed, hub, start_feed=False, clock=lambda: START)
    first, second = hub.keys[0], hub.keys[1]
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        assert app.focused_key == first
        assert {"bid", "ask"} <= _ladder_kinds(app) and not _ladder_badges(app)
        rows = {r.key: r for r in app.dashboard.query_one(Watchlist).rows_data}
        assert rows[first].state is FeedState.LIVE
        assert rows[second].state is FeedState.CONNECTING
        await pilot.press("2")
        await pilot.pause()
        assert app.focused_key == second
        # Not seeded yet: a badge, never an empty or made-up book.
        assert _ladder_badges(app) == ["CONNECTING"]
        assert not {"bid", "ask"} & _ladder_kinds(app)
        for ev in feed._header():  # the rest of the markets are seeded
            hub.on_event(ev)
        await pilot.pause(0.25)
        assert not _ladder_badges(app) and {"bid", "ask"} <= _ladder_kinds(app)
        best_bid = max(feed.market(second).book_levels()[0])
        assert app._last.best_bid[0] == pytest.approx(best_bid)


def test_kernel_warm_up_starts_a_few_frames_after_the_first_live_frame(config: Config, hub,
                                                                       monkeypatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(app_module, "start_kernel_warm_up", lambda: started.append(1))
    app = make_app(config, None, hub)
    for _ in range(3):
        app._schedule_kernels(False)  # CONNECTING frames
    assert started == []
    app._schedule_kernels(True)  # first LIVE frame: it is not painted yet
    for _ in range(WARM_UP_DELAY_FRAMES - 1):
        app._schedule_kernels(True)
    assert started == []
    app._schedule_kernels(False)  # the delay counts ticks, live or not
    assert started == [1] and app._kernels_started
    for _ in range(WARM_UP_LATEST_FRAMES):
        app._schedule_kernels(True)
    assert started == [1]  # once


def test_kernel_warm_up_starts_anyway_when_nothing_goes_live(config: Config, hub,
                                                             monkeypatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(app_module, "start_kernel_warm_up", lambda: started.append(1))
    app = make_app(config, None, hub)
    for _ in range(WARM_UP_LATEST_FRAMES - 1):
        app._schedule_kernels(False)
    assert started == []
    app._schedule_kernels(False)
    assert started == [1]


def test_the_dashboard_commands_start_with_the_collector_paused_and_main_resumes_it(
        monkeypatch) -> None:
    from tapescope.tui import cli, wiring

    seen: list[tuple[str, bool]] = []
    monkeypatch.setattr(wiring, "live_available", lambda: False)
    monkeypatch.setattr(wiring, "build_demo", lambda cfg, seed=None: ("feed", "hub"))
    monkeypatch.setattr(cli, "_run", lambda cfg, feed, hub: seen.append(("run", gc.isenabled())))
    assert gc.isenabled()
    assert cli.main(["demo"]) == 0
    assert cli.main([]) == 0
    assert seen == [("run", False), ("run", False)]
    assert gc.isenabled() and not gc_paused()


def test_other_commands_run_with_the_collector_on(monkeypatch, capsys) -> None:
    from tapescope.tui import cli, paths

    seen: list[bool] = []
    real = paths.data_dir
    monkeypatch.setattr(cli.paths, "data_dir", lambda: (seen.append(gc.isenabled()), real())[1])
    assert cli.main(["locate", "data"]) == 0
    assert seen == [True]
    capsys.readouterr()


def test_the_app_resumes_the_collector_with_the_kernel_warm_up(config: Config, hub,
                                                               monkeypatch) -> None:
    monkeypatch.setattr(app_module, "start_kernel_warm_up", lambda: None)
    app = make_app(config, None, hub)
    pause_gc()
    try:
        for _ in range(WARM_UP_DELAY_FRAMES):
            app._schedule_kernels(True)
        assert not gc.isenabled() and gc_paused()
        app._schedule_kernels(True)
        assert gc.isenabled() and not gc_paused()
    finally:
        resume_gc()


@dataclass(frozen=True)
class _Probe:
    """A section class seen by no other test (its type hints are not cached yet)."""

    n: int = 1
    """A number."""
    name: str = "x"
    """A name."""


def test_config_evaluates_each_section_class_type_hints_once(monkeypatch, tmp_path) -> None:
    import typing

    from tapescope.tui import config as cfgmod
    from tapescope.tui import config_validate

    calls: list[type] = []
    real = typing.get_type_hints

    def counted(cls, *args, **kwargs):
        calls.append(cls)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(config_validate.typing, "get_type_hints", counted)
    monkeypatch.setattr(cfgmod, "_REGISTRY", dict(cfgmod._REGISTRY))
    cfgmod.register_section("probe_hints", _Probe)
    path = tmp_path / "c.toml"
    path.write_text("[probe_hints]\nn = 3\n", encoding="utf-8")
    first = cfgmod.load_config(path, read_user_file=False)
    second = cfgmod.load_config(path, read_user_file=False)
    assert first.section("probe_hints") == second.section("probe_hints") == _Probe(3, "x")
    # Validated, merged and built on both loads, its hints evaluated on the first only.
    assert calls.count(_Probe) == 1


def test_plain_demo_and_monitor_skip_typers_parameter_coercion() -> None:
    mods = _modules_after(
        "from tapescope.tui import cli\n"
        "cli._run = lambda cfg, feed, hub: None\n"
        "assert cli.main(['demo']) == 0\n"
        "assert cli.main([]) == 0"
    )
    assert "tapescope.tui.wiring" in mods  # the commands ran
    assert {m for m in mods if m.split(".")[0] == "pydantic" or m == "typer._adapters"} == set()


def test_plain_demo_runs_what_the_typer_command_runs(monkeypatch, capsys) -> None:
    from tapescope.tui import cli, wiring

    calls: list[tuple] = []
    monkeypatch.setattr(wiring, "build_demo",
                        lambda cfg, seed=None: (calls.append(("build", seed)), "f", "h")[1:])
    monkeypatch.setattr(cli, "_run", lambda cfg, feed, hub: calls.append((cfg, feed, hub)))
    assert cli.main(["demo"]) == 0
    plain = list(calls)
    calls.clear()
    cli.app(args=["demo"], prog_name="tapescope", standalone_mode=False)
    assert plain == calls
    assert plain[0] == ("build", None) and plain[1][1:] == ("f", "h")


def test_plain_monitor_falls_back_to_the_demo_like_the_typer_path(monkeypatch, capsys) -> None:
    from tapescope.tui import cli, wiring

    ran: list = []
    monkeypatch.setattr(wiring, "live_available", lambda: False)
    monkeypatch.setattr(wiring, "build_demo", lambda cfg, seed=None: ("feed", "hub"))
    monkeypatch.setattr(cli, "_run", lambda cfg, feed, hub: ran.append((cfg.app.fps, feed, hub)))
    assert cli.main([]) == 0
    assert ran == [(10, "feed", "hub")]
    assert capsys.readouterr().err == ("tapescope: live venues are not available in this build; "
                                       "opening the simulated demo market.\n")


def test_plain_demo_with_a_bad_user_file_is_one_line_exit_2(isolated_config, capsys) -> None:
    from tapescope.tui import cli

    isolated_config.write_text("[app]\nfps = 0\n", encoding="utf-8")
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tapescope: config error:") and err.count("\n") == 1
