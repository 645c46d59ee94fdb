"""ReplayBar: parts, progress quantised to whole cells, repaint only on change, width follows resizes."""

from __future__ import annotations

import doctest

from textual.app import App, ComposeResult

import tapescope.widgets.replay_bar as replay_bar_mod
from tapescope.widgets.replay_bar import ReplayBar, ReplayView, fmt_speed, replay_parts

T0 = 1_723_161_255_000_000_000
S = 1_000_000_000


def test_parts_fill_the_width_and_split_the_bar_by_progress() -> None:
    for width in (50, 80, 120):
        for frac in (0.0, 0.1, 0.5, 0.999, 1.0):
            v = ReplayView(T0 + round(frac * 300 * S), T0, T0 + 300 * S, 10.0, False, False)
            parts = replay_parts(v, width)
            assert sum(len(t) for t, _ in parts) == width
            played = sum(len(t) for t, tone in parts if tone == "played")
            bar = played + sum(len(t) for t, tone in parts if tone == "rest")
            assert played == round(frac * bar)


def test_badges_and_clock() -> None:
    v = ReplayView(T0 + 345 * S, T0, T0 + 345 * S, 1.0, False, True)
    parts = replay_parts(v, 70)
    assert parts[0] == (" ■ END ", "paused")
    assert "".join(t for t, _ in parts).endswith(" 5:45 / 5:45")
    assert replay_parts(ReplayView(T0, T0, T0 + S, 0.5, True, False), 40)[0] == (" ⏸ PAUSED ", "paused")
    assert fmt_speed(0.5) == "0.5x"


def test_narrow_terminal_drops_the_bar_not_the_numbers() -> None:
    v = ReplayView(T0 + 10 * S, T0, T0 + 20 * S, 1.0, False, False)
    parts = replay_parts(v, 10)
    assert not [p for p in parts if p[1] in ("played", "rest")]
    assert "0:10 / 0:20" in "".join(t for t, _ in parts)


class Host(App[None]):
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return {"alert": "#d29922"}

    def compose(self) -> ComposeResult:
        yield ReplayBar()


async def test_widget_repaints_on_change_only_and_follows_width() -> None:
    app = Host()
    async with app.run_test(size=(80, 5)) as pilot:
        bar = app.query_one(ReplayBar)
        refreshes = []
        v = ReplayView(T0 + 60 * S, T0, T0 + 240 * S, 4.0, False, False)
        bar.view = v
        await pilot.pause()
        assert len(bar.plain) == 80 and bar.plain.startswith(" ▶ PLAY  4x │ 23:55:15 UTC ")
        original = bar.refresh
        bar.refresh = lambda *a, **k: refreshes.append(1) or original(*a, **k)
        # 100 ms later: same second, same bar cell: nothing to repaint.
        bar.view = ReplayView(T0 + 60 * S + 100_000_000, T0, T0 + 240 * S, 4.0, False, False)
        await pilot.pause()
        assert refreshes == []
        bar.refresh = original
        await pilot.resize_terminal(100, 5)
        await pilot.pause()
        assert len(bar.plain) == 100


def test_doctests() -> None:
    result = doctest.testmod(replay_bar_mod)
    assert result.failed == 0 and result.attempted > 0
