"""SSH terminal-bytes benchmark: the byte meter, the counting driver, and a tiny real run.

The smoke run uses tiny durations and checks the measurement is sound (a full
first paint, live traffic attributed to the dashboard's panels, positive
frame times); the real figures come from ``run_sshbench()`` with its
defaults (see the module docstring of :mod:`tapescope.tui.sshbench`).
"""

from __future__ import annotations

import pytest
from textual.app import App

# The benchmark runs the real App, which the tui branch provides.
pytest.importorskip("tapescope.tui.app", reason="tapescope.tui.app (branch tui) is not in this build")

from tapescope.tui.sshbench import (  # noqa: E402
    ByteMeter,
    CountingDriver,
    colour_environment,
    counting_driver,
    measure_sshbench,
)


def test_meter_splits_writes_at_cursor_moves() -> None:
    meter = ByteMeter()
    # Two chops: "ESC[3;5H" (6 bytes) + "abc" at cell (4, 2); "ESC[4;1H" + "é" (2 bytes) at (0, 3).
    meter.record("\x1b[3;5Habc\x1b[4;1Hé")
    assert meter.total == 17
    assert [(x, y, n) for _, x, y, n in meter.chops] == [(4, 2, 9), (0, 3, 8)]
    t = meter.times[0]
    assert meter.between(t, t + 1) == 17 and meter.between(t + 1, t + 2) == 0


def test_peak_second_counts_whole_seconds_only() -> None:
    meter = ByteMeter(times=[10.0, 10.5, 11.2, 12.9], sizes=[100, 50, 400, 999])
    # Seconds [10, 11) = 150 and [11, 12) = 400; [12, 13) is cut by the end at 12.5.
    assert meter.peak_second(10.0, 12.5) == 400
    assert meter.between(10.0, 12.5) == 550


async def test_driver_class_counts_into_its_meter() -> None:
    meter = ByteMeter()
    cls = counting_driver(meter)
    assert issubclass(cls, CountingDriver) and cls.meter is meter
    driver = cls(App(), debug=False, mouse=False, size=(80, 24))
    assert driver.is_headless is False  # or the App would skip rendering
    driver.write("\x1b[1;1Hxyz")
    assert meter.total == 9


@pytest.mark.parametrize(("system", "expected"), [("truecolor", "truecolor"), ("256", "256")])
def test_colour_environment_selects_rich_colour_system(system: str, expected: str) -> None:
    with colour_environment(system):
        app = App()
    assert app.console.color_system == expected


async def test_tiny_real_run() -> None:
    result = await measure_sshbench(size=(120, 40), seconds=1.5, warmup_s=1.0, fps=10, frames=5)
    assert result.size == (120, 40) and result.color_system == "truecolor"
    # The first paint writes every cell of the 120x40 screen at least once.
    assert result.first_paint_bytes >= 120 * 40
    assert result.bytes_per_s > 0 and result.live_frames > 0 and result.events > 0
    assert result.peak_bytes_1s > 0
    names = dict(result.by_widget)
    assert "#ladder" in names and "#tape" in names
    assert sum(names.values()) <= result.bytes_per_s * 1.0001
    assert result.frames == 5 and 0 < result.frame_ms_mean and result.bytes_per_frame > 0
    assert "KB/s" in result.summary()


async def test_quiet_market_goes_idle_and_a_remote_terminal_draws_slower() -> None:
    from tapescope.tui.config import load_config

    # A market that does not move: after idle_after_s the timer ticks at idle_fps (1).
    quiet = load_config(read_user_file=False, overrides={"app": {"remote": "off", "idle_after_s": 0.5}})
    idle = await measure_sshbench(size=(80, 24), seconds=2.0, warmup_s=1.5, fps=10, frames=2,
                                  config=quiet, quiet=True)
    assert idle.mode == "idle" and idle.events == 0 and idle.live_frames == 0
    assert idle.ticks_per_s < 3.0  # 1 fps; 10 when not idle
    assert idle.bytes_per_s < 1000
    # A remote terminal: the timer runs at remote_fps, not fps.
    remote = load_config(read_user_file=False, overrides={"app": {"remote": "on", "remote_fps": 4}})
    ssh = await measure_sshbench(size=(80, 24), seconds=1.5, warmup_s=1.0, fps=10, frames=2,
                                 config=remote)
    assert ssh.mode == "ssh" and 0 < ssh.ticks_per_s <= 4.5 and ssh.writes_per_s > 0
