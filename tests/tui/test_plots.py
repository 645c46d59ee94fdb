"""plotext charts of the CLI: ``inspect --plot`` (messages per minute) and ``eval --plot`` (hit-rate lift).

The charts are built to strings; tests read them as a user would: the tallest
bar reaches the top label, a positive lift sits above the zero axis and a
negative one below it, silent minutes and recorder drops are marked and
listed, and NO_COLOR / COLUMNS are honoured end to end through the CLI.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tapescope.engine.recorder.reader import GapMarker, Recording
from tapescope.feeds.sim import SimParams
from tapescope.tui.cli import main
from tapescope.tui.plots import (
    NS_PER_MIN,
    HitLift,
    fill_minutes,
    hit_lifts,
    minute_rates,
    plot_width,
    rate_chart,
    signal_chart,
    use_colour,
)

#: Minute number of 2023-11-14 22:13 UTC (an arbitrary, fixed session start).
M0 = 1_700_000_000 // 60
ANSI = re.compile(r"\x1b\[")


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory: pytest.TempPathFactory, record_sim) -> Path:
    """Four simulated minutes, recorded in compressed time (receive times are venue times)."""
    params = SimParams(seed=11, symbols=("BTC-SIM", "ETH-SIM"), duration_s=240.0)
    return record_sim(tmp_path_factory.mktemp("plots") / "sim.db", params)


# ------------------------------------------------------------------ data


def test_fill_minutes_fills_silent_minutes_with_zero() -> None:
    r = fill_minutes({M0 + 3: 7, M0: 100, M0 + 1: 200})
    assert r.start_ns == M0 * NS_PER_MIN
    assert r.counts == (100, 200, 0, 7)
    assert r.silent == [2]
    assert r.minute_of(r.start_ns + 3 * NS_PER_MIN + 59 * 10**9) == 3
    assert fill_minutes({}).counts == ()


def test_minute_rates_match_an_independent_count_of_the_recording(sim_db: Path) -> None:
    with Recording.open(sim_db) as rec:
        by_minute = Counter(m.recv_ns // NS_PER_MIN for m in rec.iter_messages())
        total = rec.message_count
    rates = minute_rates(sim_db)
    first = min(by_minute)
    assert rates.start_ns == first * NS_PER_MIN
    assert rates.counts == tuple(by_minute.get(first + i, 0) for i in range(len(rates.counts)))
    assert sum(rates.counts) == total and rates.gaps == ()


def test_hit_lifts_are_hit_rate_minus_baseline_in_points() -> None:
    rows = [
        {"generator": "ofi", "horizon_s": 10, "hit_rate": 0.58, "baseline_hit_rate": 0.5, "n": 40},
        {"generator": "ofi", "horizon_s": 300, "hit_rate": None, "baseline_hit_rate": 0.5, "n": 0},
        {"generator": "trap", "horizon_s": 60, "hit_rate": 0.45, "baseline_hit_rate": None, "n": 3},
    ]
    lifts = hit_lifts(rows)
    assert lifts == [HitLift("ofi", 10, 0.58, 0.5, 40)]
    assert lifts[0].lift_pp == pytest.approx(8.0)


def test_colour_and_width_follow_the_terminal() -> None:
    tty = io.StringIO()
    tty.isatty = lambda: True  # type: ignore[method-assign]
    assert use_colour(tty, {}) is True
    assert use_colour(tty, {"NO_COLOR": "1"}) is False
    assert use_colour(io.StringIO(), {}) is False  # piped
    assert use_colour(tty, {"NO_COLOR": ""}) is True  # no-color.org: set and non-empty
    assert plot_width(90) == 90 and plot_width(10) == 40 and plot_width(999) == 160


# ------------------------------------------------------------------ charts


def chart_rows(text: str) -> list[str]:
    """The plot's rows inside its frame (between the top ┌ line and the bottom └ line)."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    return lines[top + 1:bottom]


def test_rate_chart_scales_bars_and_marks_silent_minutes_and_drops() -> None:
    drop = GapMarker((M0 + 3) * NS_PER_MIN + 5, (M0 + 3) * NS_PER_MIN + 9, 42, 100)
    rates = fill_minutes({M0: 100, M0 + 1: 200, M0 + 3: 50, M0 + 4: 150}, [drop])
    text = rate_chart(rates, width=72, height=16, colour=False)
    assert not ANSI.search(text)
    rows = chart_rows(text)
    # The tallest bar (200) fills the top labelled row, the shortest (50) does not.
    top_row = next(r for r in rows if r.lstrip().startswith("200┤"))
    assert top_row.count("█") > 0
    assert all(len(line) <= 72 for line in text.splitlines()[:len(rows) + 4])
    # Silent minute 2 is a dotted line, the drop in minute 3 a heavy one, both full height.
    assert all("┊" in r for r in rows) and all("┃" in r for r in rows)
    # Ticks are HH:MM UTC: M0 is 22:13.
    assert "22:13" in text and "22:14" in text
    tail = text.splitlines()[-3:]
    assert tail[0] == "500 messages over 5 minutes from 22:13 UTC, mean 100/min, peak 200/min at 22:14"
    assert tail[1] == "silent minutes (1, marked ┊): 22:15"
    assert tail[2] == "recorder drops (42 messages, marked ┃): 22:16 42"


def test_rate_chart_bar_heights_are_proportional() -> None:
    rates = fill_minutes({M0: 100, M0 + 1: 200})
    rows = chart_rows(rate_chart(rates, width=60, height=22, colour=False))
    # Column of each bar: the first and the last filled column of the bottom row.
    bottom = rows[-1]
    left = bottom.index("█")
    right = bottom.rindex("█")
    tall = sum(1 for r in rows if r[right] == "█")
    short = sum(1 for r in rows if r[left] == "█")
    assert tall == len(rows) or tall == len(rows) - 1  # 200 reaches the top (5 % headroom)
    assert short == pytest.approx(tall / 2, abs=1)


def test_rate_chart_without_gaps_says_so_and_colour_adds_ansi() -> None:
    rates = fill_minutes({M0: 10, M0 + 1: 12})
    plain = rate_chart(rates, width=60, colour=False)
    assert plain.splitlines()[-1] == "no gaps: every minute has messages and the recorder dropped none"
    assert ANSI.search(rate_chart(rates, width=60, colour=True))
    assert rate_chart(fill_minutes({}), width=60) == "no messages to plot\n"


def test_signal_chart_puts_gains_above_and_losses_below_zero() -> None:
    lifts = [HitLift("ofi", 10, 0.60, 0.50, 40), HitLift("ofi", 60, 0.55, 0.50, 38),
             HitLift("trap", 10, 0.40, 0.50, 12), HitLift("trap", 60, 0.45, 0.50, 11)]
    text = signal_chart(lifts, width=70, height=15, colour=False)
    assert not ANSI.search(text)
    rows = chart_rows(text)
    zero = next(i for i, r in enumerate(rows) if "+0.0┼" in r)
    above, below = rows[:zero], rows[zero + 1:]
    assert any("a" in r.split("┤")[-1] for r in above)  # ofi: +10 and +5 pp
    assert not any("a" in r.split("┤")[-1] for r in below)
    assert any("b" in r.split("┤")[-1] for r in below)  # trap: -10 and -5 pp
    assert not any("b" in r.split("┤")[-1] for r in above)
    assert "10 s" in text and "1 m" in text
    assert text.splitlines()[-2:] == [
        "a = ofi: 10 s 60.0% vs 50.0% (n=40), 1 m 55.0% vs 50.0% (n=38)",
        "b = trap: 10 s 40.0% vs 50.0% (n=12), 1 m 45.0% vs 50.0% (n=11)",
    ]
    assert signal_chart([], width=70) == "no signal reached a forward horizon: nothing to plot\n"


# ------------------------------------------------------------------ CLI


def test_inspect_plot_through_the_cli(sim_db: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "90")
    assert main(["inspect", str(sim_db), "--plot", "--no-types"]) == 0
    out = capsys.readouterr().out
    assert not ANSI.search(out)
    assert "duration" in out  # the summary comes first
    chart = out[out.index("messages per minute"):]
    frame = [line for line in chart.splitlines() if "┌" in line or "└" in line]
    assert frame and all(len(line) <= 90 for line in frame)
    total = sum(minute_rates(sim_db).counts)
    assert f"{total:,} messages over " in chart
    assert chart.splitlines()[-1] == "no gaps: every minute has messages and the recorder dropped none"


def test_plot_refusals(sim_db: Path, capsys) -> None:
    assert main(["inspect", str(sim_db), "--plot", "--json"]) == 2
    assert "--plot" in capsys.readouterr().err
    assert main(["eval", "--plot", "--scenarios", "1"]) == 2
    assert "give a recording" in capsys.readouterr().err


def test_eval_plot_through_the_cli(sim_db: Path, tmp_path: Path, capsys,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    report = tmp_path / "signals.json"
    assert main(["eval", str(sim_db), "--plot", "--out", str(report)]) == 0
    out = capsys.readouterr().out
    assert not ANSI.search(out)
    data = json.loads(report.read_text())
    rows = data["signals"]
    lifts = hit_lifts(rows)
    assert lifts  # seed 11 over 4 minutes gives scored signals at the 10 s and 1 m horizons
    assert "hit rate minus baseline (pp) by forward horizon" in out
    generators = list(dict.fromkeys(lift.generator for lift in lifts))
    legend = [line for line in out.splitlines() if re.match(r"[a-z] = ", line)]
    assert [line.split(" = ")[1].split(":")[0] for line in legend] == generators
