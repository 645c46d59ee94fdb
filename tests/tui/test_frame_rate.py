"""Adaptive frame rate: remote terminals draw slower, an idle dashboard drops to the idle rate.

The governor is checked on its own with hand-stepped clocks; the App is driven
with Pilot on a :class:`FakeHub` (whose snapshot never changes by itself) and an
injected wall clock the test moves, so every transition happens exactly when
the test says and not when the machine's clock happens to tick.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tapescope.engine.events import Trade
from tapescope.tui.app import TapescopeApp, make_app
from tapescope.tui.config import load_config
from tapescope.tui.frame_rate import FramePolicy, FrameRateGovernor, is_remote_terminal

S = 1_000_000_000  # ns per second
T0 = 1_700_000_000_000_000_000


# ------------------------------------------------------------------ governor


def test_governor_idles_exactly_after_the_quiet_time_and_wakes_on_activity() -> None:
    g = FrameRateGovernor(FramePolicy(active_fps=10, idle_fps=1, idle_after_ns=5 * S), now_ns=T0)
    assert (g.fps, g.mode, g.idle) == (10, "", False)
    assert g.frame(T0 + 2 * S, changed=False) is False
    assert g.frame(T0 + 5 * S - 1, changed=False) is False and g.fps == 10
    assert g.frame(T0 + 5 * S, changed=False) is True
    assert (g.fps, g.mode, g.idle) == (1, "idle", True)
    # Staying idle is not a change.
    assert g.frame(T0 + 60 * S, changed=False) is False and g.fps == 1
    # A market change ends it, and the quiet time restarts from that change.
    assert g.frame(T0 + 61 * S, changed=True) is True and g.fps == 10
    assert g.frame(T0 + 65 * S, changed=False) is False
    assert g.frame(T0 + 66 * S, changed=False) is True
    # A key press ends it too; activity while active changes nothing.
    assert g.activity(T0 + 67 * S) is True and g.fps == 10
    assert g.activity(T0 + 68 * S) is False


def test_governor_changes_move_the_quiet_period() -> None:
    g = FrameRateGovernor(FramePolicy(10, 2, 3 * S), now_ns=T0)
    for k in range(1, 20):  # a market that changes every 2 s never idles
        assert g.frame(T0 + 2 * k * S, changed=True) is False
    assert not g.idle


def test_governor_never_idles_when_disabled_or_when_idle_is_not_slower() -> None:
    off = FrameRateGovernor(FramePolicy(10, 1, 0), now_ns=T0)
    same = FrameRateGovernor(FramePolicy(5, 5, S), now_ns=T0)
    for g in (off, same):
        assert g.frame(T0 + 3600 * S, changed=False) is False and not g.idle


def test_governor_restarts_the_quiet_time_when_the_clock_steps_back() -> None:
    g = FrameRateGovernor(FramePolicy(10, 1, 5 * S), now_ns=T0)
    assert g.frame(T0 - 100 * S, changed=False) is False  # NTP step back
    assert g.frame(T0 - 96 * S, changed=False) is False
    assert g.frame(T0 - 95 * S, changed=False) is True


def test_remote_mode_reports_ssh() -> None:
    g = FrameRateGovernor(FramePolicy(5, 1, S, remote=True), now_ns=0)
    assert (g.fps, g.mode) == (5, "ssh")
    g.frame(S, changed=False)
    assert (g.fps, g.mode) == (1, "idle")


@pytest.mark.parametrize(("mode", "env", "remote"), [
    ("auto", {}, False),
    ("auto", {"SSH_CONNECTION": "10.0.0.2 51000 10.0.0.1 22"}, True),
    ("auto", {"SSH_TTY": "/dev/pts/3"}, True),
    ("auto", {"SSH_CLIENT": "10.0.0.2 51000 22"}, True),
    ("auto", {"SSH_TTY": ""}, False),
    ("on", {}, True),
    ("off", {"SSH_CONNECTION": "x"}, False),
])
def test_is_remote_terminal(mode: str, env: dict[str, str], remote: bool) -> None:
    assert is_remote_terminal(mode, env) is remote


def test_is_remote_terminal_refuses_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="auto, on or off"):
        is_remote_terminal("maybe", {})


# ------------------------------------------------------------------ the App


def interval(app: TapescopeApp) -> float:
    """Seconds between ticks of the App's frame timer (Textual's Timer has no public accessor)."""
    assert app.frame_timer is not None
    return app.frame_timer._interval


def app_with_clock(hub, **app_settings) -> tuple[TapescopeApp, list[int]]:
    now = [T0]
    config = load_config(read_user_file=False, overrides={"app": app_settings})
    return make_app(config, None, hub, clock=lambda: now[0]), now


async def test_local_terminal_draws_at_fps(hub) -> None:
    app, _ = app_with_clock(hub, fps=12, remote_fps=4)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.frame_rate.fps == 12 and interval(app) == pytest.approx(1 / 12)
        assert "/12 fps" in app.dashboard.status_bar.plain
        assert "ssh" not in app.dashboard.status_bar.plain


async def test_ssh_session_draws_at_remote_fps(hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 51000 10.0.0.1 22")
    app, _ = app_with_clock(hub)  # the shipped defaults: fps 10, remote_fps 5
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.frame_rate.fps == 5 and interval(app) == pytest.approx(0.2)
        assert app.dashboard.status_bar.plain.split(" │ ")[5] == "—/5 fps ssh"


async def test_remote_off_ignores_the_ssh_variables(hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_TTY", "/dev/pts/1")
    app, _ = app_with_clock(hub, remote="off")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.frame_rate.fps == 10 and interval(app) == pytest.approx(0.1)


async def test_remote_on_without_ssh(hub) -> None:
    app, _ = app_with_clock(hub, remote="on", remote_fps=3)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.frame_rate.fps == 3 and interval(app) == pytest.approx(1 / 3)


async def go_idle(app: TapescopeApp, now: list[int], pilot) -> None:
    """Move the injected clock past the quiet time and run one frame; check the idle rate."""
    now[0] += 4 * S
    app.refresh_frame()
    assert not app.frame_rate.idle and interval(app) == pytest.approx(0.1)
    now[0] += 1 * S  # 5 s since the last change: idle_after_s
    app.refresh_frame()
    await pilot.pause()
    assert app.frame_rate.idle and interval(app) == pytest.approx(1.0)
    assert "/1 fps idle" in app.dashboard.status_bar.plain


async def test_key_press_ends_idle_at_once(hub) -> None:
    app, now = app_with_clock(hub, idle_fps=1, idle_after_s=5.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await go_idle(app, now, pilot)
        idle_timer = app.frame_timer
        await pilot.press("x")  # not bound to anything: only the activity counts
        assert not app.frame_rate.idle and interval(app) == pytest.approx(0.1)
        assert idle_timer is not app.frame_timer and idle_timer._task is None  # stopped
        await pilot.pause()
        assert "/10 fps" in app.dashboard.status_bar.plain
        assert "idle" not in app.dashboard.status_bar.plain
        # The quiet time restarts from the key press.
        now[0] += 4 * S
        app.refresh_frame()
        assert not app.frame_rate.idle
        now[0] += 1 * S
        app.refresh_frame()
        assert app.frame_rate.idle


async def test_key_on_a_covering_screen_ends_idle(hub) -> None:
    app, now = app_with_clock(hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        now[0] += 5 * S
        app.refresh_frame()
        assert app.frame_rate.idle
        await pilot.press("down")  # scrolls the help screen
        assert not app.frame_rate.idle and interval(app) == pytest.approx(0.1)


async def test_market_change_ends_idle(hub) -> None:
    app, now = app_with_clock(hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await go_idle(app, now, pilot)
        key = app.focused_key
        hub.snaps[key] = replace(hub.snaps[key], version=2)
        now[0] += S
        app.refresh_frame()
        assert not app.frame_rate.idle and interval(app) == pytest.approx(0.1)


async def test_event_of_the_focused_market_ends_idle_before_the_next_frame(hub) -> None:
    app, now = app_with_clock(hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await go_idle(app, now, pilot)
        ticks = app.ticks
        # Another market's event does not wake the focused dashboard.
        app.sink.on_event(Trade("sim:ETH-SIM", T0, T0, 2000.0, 1.0, 1))
        await pilot.pause()
        assert app.frame_rate.idle
        app.sink.on_event(Trade(app.focused_key, T0, T0, 100.0, 1.0, 1))
        await pilot.pause()
        assert not app.frame_rate.idle and interval(app) == pytest.approx(0.1)
        assert app.ticks == ticks  # woken by the event, not by an idle tick (1 s away)
        # Once active again, events are not watched any more.
        assert app.sink._watch_key is None


async def test_switching_market_ends_idle(hub) -> None:
    app, now = app_with_clock(hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await go_idle(app, now, pilot)
        app.focus_market("sim:ETH-SIM")
        assert not app.frame_rate.idle


async def test_idle_after_zero_never_idles(hub) -> None:
    app, now = app_with_clock(hub, idle_after_s=0.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        now[0] += 3600 * S
        app.refresh_frame()
        assert not app.frame_rate.idle and interval(app) == pytest.approx(0.1)


async def test_remote_idle_and_back_to_the_remote_rate(hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 51000 10.0.0.1 22")
    app, now = app_with_clock(hub, remote_fps=5, idle_fps=2, idle_after_s=2.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        now[0] += 2 * S
        app.refresh_frame()
        assert app.frame_rate.mode == "idle" and interval(app) == pytest.approx(0.5)
        await pilot.press("x")
        assert app.frame_rate.mode == "ssh" and interval(app) == pytest.approx(0.2)
