"""Terminal plots (plotext) for the CLI: a recording's message rate, a session's signal hit rates.

``tapescope inspect FILE.db --plot`` draws messages per minute over the whole
recording, so a user sees at a glance when the feed was quiet, when it burst
and where it broke: minutes with no message at all and the recorder's own
drops (its gap markers) are drawn as dotted (┊) and heavy (┃) vertical lines and listed under the
chart. ``tapescope eval FILE.db --plot`` draws, per signal generator and
forward horizon, how far the hit rate lies above (or below) its
unconditional baseline, in percentage points.

Both build the chart to a string (plotext's ``build().string()``), so the
CLI prints it and tests read it. Colour follows the terminal: none when
``NO_COLOR`` is set (https://no-color.org) or the output is not a terminal;
the width is the terminal's (``COLUMNS`` is honoured), clamped to
:data:`MIN_WIDTH`..:data:`MAX_WIDTH`.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import plotext

from tapescope.engine.recorder.reader import GapMarker, Recording

#: Nanoseconds per minute.
NS_PER_MIN = 60_000_000_000
#: Narrowest chart drawn, columns.
MIN_WIDTH = 40
#: Widest chart drawn, columns (wider lines are hard to read).
MAX_WIDTH = 160
#: Chart height, rows.
HEIGHT = 18
#: Most minutes drawn as separate bars; beyond, the rate is drawn as a line.
MAX_BARS = 60
#: Most gaps listed by time under the rate chart.
MAX_LISTED = 8


def use_colour(stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour a chart: not when ``NO_COLOR`` is set or ``stream`` is not a terminal.

    >>> use_colour(environ={"NO_COLOR": "1"})
    False
    """
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    out = sys.stdout if stream is None else stream
    return bool(getattr(out, "isatty", lambda: False)())


def plot_width(width: int | None = None) -> int:
    """Chart width: ``width``, or the terminal's, clamped to ``MIN_WIDTH..MAX_WIDTH``.

    >>> plot_width(20), plot_width(100), plot_width(500)
    (40, 100, 160)
    """
    cols = width if width is not None else shutil.get_terminal_size((100, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, cols))


@dataclass(frozen=True, slots=True)
class MinuteRates:
    """Messages per minute of a recording, every minute of its span (silent ones as 0)."""

    start_ns: int
    """Start of the first minute (receive time floored to the minute), ns."""
    counts: tuple[int, ...]
    """Messages received in each minute from ``start_ns``."""
    gaps: tuple[GapMarker, ...] = ()
    """Messages the recorder dropped (its gap markers)."""

    @property
    def silent(self) -> list[int]:
        """Indexes of minutes with no message (a quiet or broken feed)."""
        return [i for i, n in enumerate(self.counts) if n == 0]

    def minute_of(self, t_ns: int) -> int:
        """Index of the minute holding receive time ``t_ns``."""
        return (t_ns - self.start_ns) // NS_PER_MIN


def fill_minutes(counts: Mapping[int, int], gaps: Sequence[GapMarker] = ()) -> MinuteRates:
    """Per-minute counts keyed by minute number (``recv_ns // NS_PER_MIN``), with the silent minutes filled in.

    Runtime complexity: ``O(minutes spanned)``.

    >>> r = fill_minutes({10: 5, 13: 2})
    >>> r.counts, r.silent, r.start_ns // NS_PER_MIN
    ((5, 0, 0, 2), [1, 2], 10)
    """
    if not counts:
        return MinuteRates(0, (), tuple(gaps))
    first, last = min(counts), max(counts)
    return MinuteRates(first * NS_PER_MIN, tuple(counts.get(m, 0) for m in range(first, last + 1)),
                       tuple(gaps))


def minute_rates(path: Path | str) -> MinuteRates:
    """Messages per minute of the recording at ``path`` (every part of a rotated set).

    One ``GROUP BY`` over the receive-time index of each part; no payload is read.

    Raises:
        RecordingError: from :meth:`Recording.open`.
    """
    counts: dict[int, int] = {}
    with Recording.open(path) as rec:
        for _path, conn, _names in rec.part_connections():
            for minute, n in conn.execute(
                    "SELECT recv_ns / ?, count(*) FROM messages GROUP BY 1", (NS_PER_MIN,)):
                counts[int(minute)] = counts.get(int(minute), 0) + int(n)
        gaps = rec.gaps()
    return fill_minutes(counts, gaps)


def _hhmm(ns: int) -> str:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%H:%M")


def _ticks(n: int, start_ns: int, count: int = 6) -> tuple[list[int], list[str]]:
    """About ``count`` evenly spaced minute ticks labelled HH:MM UTC."""
    step = max(1, math.ceil(n / count))
    positions = list(range(0, n, step))
    return positions, [_hhmm(start_ns + p * NS_PER_MIN) for p in positions]


def _figure(width: int, height: int, colour: bool):
    fig = plotext.figure
    fig.clear()
    fig.theme("default" if colour else "clear")
    fig.plot_size(width, height)
    return fig


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs ``(first, last)`` of sorted ``indexes``.

    >>> _runs([1, 2, 3, 7, 9, 10])
    [(1, 3), (7, 7), (9, 10)]
    """
    runs: list[tuple[int, int]] = []
    for i in indexes:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def gap_lines(rates: MinuteRates) -> list[str]:
    """Text under the rate chart: the silent stretches and the recorder's drops, by time."""
    lines: list[str] = []
    runs = _runs(rates.silent)
    if runs:
        spans = [_hhmm(rates.start_ns + a * NS_PER_MIN)
                 + (f"-{_hhmm(rates.start_ns + b * NS_PER_MIN)}" if b > a else "") for a, b in runs]
        more = f" (+{len(spans) - MAX_LISTED} more)" if len(spans) > MAX_LISTED else ""
        lines.append(f"silent minutes ({len(rates.silent)}, marked ┊): {', '.join(spans[:MAX_LISTED])}{more}")
    if rates.gaps:
        drops = [f"{_hhmm(g.from_ns)} {g.dropped:,}" for g in rates.gaps[:MAX_LISTED]]
        more = f" (+{len(rates.gaps) - MAX_LISTED} more)" if len(rates.gaps) > MAX_LISTED else ""
        total = sum(g.dropped for g in rates.gaps)
        lines.append(f"recorder drops ({total:,} messages, marked ┃): {', '.join(drops)}{more}")
    if not lines:
        lines.append("no gaps: every minute has messages and the recorder dropped none")
    return lines


def rate_chart(rates: MinuteRates, width: int, height: int = HEIGHT, colour: bool = False) -> str:
    """Messages per minute over the recording, silent minutes and recorder drops marked.

    Args:
        rates: From :func:`minute_rates`.
        width: Columns.
        height: Rows of the chart (the gap list follows it).
        colour: ANSI colours (see :func:`use_colour`).

    Returns:
        The chart and its gap list, newline-terminated lines.
    """
    n = len(rates.counts)
    if n == 0:
        return "no messages to plot\n"
    fig = _figure(width, height, colour)
    x = list(range(n))
    y = list(rates.counts)
    if n <= MAX_BARS:
        fig.draw(fig.bar(x, y))
    else:
        fig.draw(fig.signal(x, y))
    for a, b in _runs(rates.silent):
        for i in range(a, b + 1):
            fig.line(i, orientation="v", style="dotted")
    for gap in rates.gaps:
        # At the left edge of the minute, where its bar does not cover it.
        fig.line(rates.minute_of(gap.from_ns) - 0.5, orientation="v", style="heavy")
    positions, labels = _ticks(n, rates.start_ns)
    fig.ruler("x").ticks(positions, labels)
    top = max(max(y), 1)
    fig.ruler("y").lim(0, top * 1.05)
    # Whole-number labels: plotext's own would read 1.4e3.
    levels = sorted({round(top * k / 4) for k in range(5)})
    fig.ruler("y").ticks(levels, [f"{v:,}" for v in levels])
    fig.title("messages per minute")
    fig.label("time (UTC)", axis="x")
    chart = fig.build().string(colorless=not colour)
    fig.clear()
    total, peak = sum(y), max(range(n), key=y.__getitem__)
    summary = (f"{total:,} messages over {n} minute{'s' if n > 1 else ''} from "
               f"{_hhmm(rates.start_ns)} UTC, mean {total / n:,.0f}/min, "
               f"peak {y[peak]:,}/min at {_hhmm(rates.start_ns + peak * NS_PER_MIN)}")
    return chart.rstrip("\n") + "\n" + "\n".join([summary, *gap_lines(rates)]) + "\n"


@dataclass(frozen=True, slots=True)
class HitLift:
    """One bar of the signal chart: a generator's hit rate against its baseline at one horizon."""

    generator: str
    """Signal generator."""
    horizon_s: int
    """Forward horizon, seconds."""
    hit_rate: float
    """Share of its signals whose forward return had the signal's sign."""
    baseline: float
    """Hit rate of the same direction mix on every second (the unconditional baseline)."""
    n: int
    """Signals scored at this horizon."""

    @property
    def lift_pp(self) -> float:
        """Hit rate above baseline, percentage points."""
        return (self.hit_rate - self.baseline) * 100.0


def hit_lifts(rows: Sequence[Mapping[str, object]]) -> list[HitLift]:
    """The scored (generator, horizon) rows of a session report (``SessionReport.rows()``).

    Rows with no hit rate or no baseline (no signal reached that horizon) are left out.

    >>> hit_lifts([{"generator": "g", "horizon_s": 10, "hit_rate": 0.6, "baseline_hit_rate": 0.5, "n": 4},
    ...            {"generator": "g", "horizon_s": 60, "hit_rate": None, "baseline_hit_rate": 0.5, "n": 0}])
    [HitLift(generator='g', horizon_s=10, hit_rate=0.6, baseline=0.5, n=4)]
    """
    out: list[HitLift] = []
    for row in rows:
        hit, base = row.get("hit_rate"), row.get("baseline_hit_rate")
        if hit is None or base is None:
            continue
        out.append(HitLift(str(row["generator"]), int(row["horizon_s"]), float(hit), float(base),  # type: ignore[arg-type]
                           int(row["n"])))  # type: ignore[call-overload]
    return out


def _horizon(seconds: int) -> str:
    """``10 s``, ``1 m``, ``5 m``, ``1 h``.

    >>> _horizon(10), _horizon(60), _horizon(300), _horizon(3600)
    ('10 s', '1 m', '5 m', '1 h')
    """
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} m"
    return f"{seconds} s"


def signal_chart(lifts: Sequence[HitLift], width: int, height: int = HEIGHT, colour: bool = False) -> str:
    """Grouped bars: per horizon, each generator's hit rate above its baseline (pp).

    Args:
        lifts: From :func:`hit_lifts`.
        width: Columns.
        height: Rows.
        colour: ANSI colours.

    Returns:
        The chart and a legend line per generator, newline-terminated.
    """
    if not lifts:
        return "no signal reached a forward horizon: nothing to plot\n"
    horizons = sorted({lift.horizon_s for lift in lifts})
    generators = list(dict.fromkeys(lift.generator for lift in lifts))
    by_key = {(lift.generator, lift.horizon_s): lift for lift in lifts}
    fig = _figure(width, height, colour)
    heights = [[by_key[(g, h)].lift_pp if (g, h) in by_key else 0.0 for h in horizons]
               for g in generators]
    x = list(range(len(horizons)))
    # Letters as bar markers: without colour, they are what tells the generators apart.
    markers = [chr(ord("a") + i) for i in range(len(generators))]
    fig.draw(fig.bar(x, heights, marker=markers))
    fig.line(0.0, orientation="h")
    fig.ruler("x").ticks(x, [_horizon(h) for h in horizons])
    top = max(1.0, max(abs(v) for row in heights for v in row)) * 1.1
    fig.ruler("y").lim(-top, top)
    levels = [-top / 1.1, -top / 2.2, 0.0, top / 2.2, top / 1.1]
    fig.ruler("y").ticks(levels, [f"{v:+.0f}" if abs(v) >= 10 else f"{v:+.1f}" for v in levels])
    fig.title("hit rate minus baseline (pp) by forward horizon")
    fig.label("forward horizon", axis="x")
    chart = fig.build().string(colorless=not colour)
    fig.clear()
    legend = []
    for marker, g in zip(markers, generators, strict=True):
        cells = ", ".join(
            f"{_horizon(h)} {by_key[(g, h)].hit_rate:.1%} vs {by_key[(g, h)].baseline:.1%} (n={by_key[(g, h)].n:,})"
            for h in horizons if (g, h) in by_key)
        legend.append(f"{marker} = {g}: {cells}")
    return chart.rstrip("\n") + "\n" + "\n".join(legend) + "\n"
