"""What the ``tapescope replay`` command calls: the paced replay for the App, and the headless run.

:func:`build_replay` gives the feed and analysis hub the dashboard runs in
replay mode (the App wraps the feed in a
:class:`~tapescope.tui.replay_controls.ReplayController`).
:func:`run_replay_headless` is the blocking ``--headless`` entry point: it
parses ``--from/--to`` as the user typed them, shows a live progress line on
a terminal (plain log lines otherwise), writes the CSV and prints a summary.
This module may read the wall clock (the engine may not).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from tapescope.engine.analysis import AnalysisParams
from tapescope.engine.flow import FlowParams
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.errors import RecordingError
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.replay import ReplayFeed, instruments_from_meta
from tapescope.tui.cli_common import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from tapescope.tui.replay import (
    ReplayProgress,
    analysis_hub,
    recording_decoders,
    replay_headless,
    select_instruments,
)
from tapescope.tui.replay_config import ReplaySettings
from tapescope.tui.replay_time import fmt_clock, fmt_utc, parse_time

log = logging.getLogger(__name__)



def resolve_window(path: Path | str, from_text: str | None, to_text: str | None) -> tuple[int | None, int | None]:
    """``--from``/``--to`` as receive times (ns), parsed relative to the recording's start.

    Raises:
        ValueError: a time that does not parse, or ``--to`` before ``--from``.
        RecordingError: the recording cannot be opened.
    """
    with Recording.open(path) as rec:
        start = rec.first_recv_ns()
    lo = parse_time(from_text, start) if from_text else None
    hi = parse_time(to_text, start) if to_text else None
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(f"--to {to_text!r} ({fmt_utc(hi)}) is before --from {from_text!r} ({fmt_utc(lo)})")
    return lo, hi


def build_replay(
    path: Path | str,
    *,
    settings: ReplaySettings | None = None,
    flow: FlowParams | None = None,
    analysis: AnalysisParams | None = None,
    from_ns: int | None = None,
    to_ns: int | None = None,
    symbols: Iterable[str] | None = None,
    instruments: Sequence[Instrument] | None = None,
) -> tuple[ReplayFeed, Hub]:
    """The paced replay feed and the analysis hub it feeds, for the dashboard's replay mode.

    Raises:
        RecordingError: the recording cannot be opened.
        ValueError: unknown symbols or venues.
    """
    s = settings or ReplaySettings()
    with Recording.open(path) as rec:
        insts = list(instruments) if instruments is not None else instruments_from_meta(rec)
        venues = rec.venues
    chosen = select_instruments(insts, symbols)
    decoders = recording_decoders(venues or sorted({i.venue for i in chosen}), chosen)
    feed = ReplayFeed(path, decoders, speed=s.speed, start_ns=from_ns, end_ns=to_ns, instruments=chosen,
                      max_wait_s=s.max_wait_s)
    return feed, analysis_hub(chosen, flow, analysis)


def progress_line(p: ReplayProgress) -> str:
    """The one-line progress text.

    >>> progress_line(ReplayProgress(1_723_161_400_000_000_000, 1_723_161_255_000_000_000,
    ...                               1_723_161_600_000_000_000, 40_000, 812))
    'REPLAY  42.0%  at 23:56:40 UTC  40,000 messages  812 events/signals'
    """
    return (f"REPLAY {p.fraction * 100:5.1f}%  at {fmt_clock(p.position_ns)} UTC  "
            f"{p.messages:,} messages  {p.alerts:,} events/signals")


def run_replay_headless(
    path: Path | str,
    out: Path | str,
    *,
    from_text: str | None = None,
    to_text: str | None = None,
    symbols: Iterable[str] | None = None,
    settings: ReplaySettings | None = None,
    flow: FlowParams | None = None,
    analysis: AnalysisParams | None = None,
    stream: TextIO | None = None,
) -> int:
    """Blocking ``tapescope replay FILE --headless --out CSV [--from T] [--to T] [--symbols A,B]``.

    Returns:
        :data:`EXIT_OK`, :data:`EXIT_FAILED` or :data:`EXIT_USAGE`; the reason goes to ``stream``.
    """
    stream = stream if stream is not None else sys.stderr
    s = settings or ReplaySettings()
    tty = bool(getattr(stream, "isatty", lambda: False)())

    def progress(p: ReplayProgress) -> None:
        if tty:
            stream.write("\r\x1b[2K" + progress_line(p))
            stream.flush()
        else:
            log.info("%s", progress_line(p))

    try:
        lo, hi = resolve_window(path, from_text, to_text)
        summary = replay_headless(path, out, from_ns=lo, to_ns=hi, symbols=symbols, progress=progress,
                                  flow=flow, analysis=analysis, progress_every=s.progress_every)
    except ValueError as exc:
        stream.write(f"tapescope replay: {exc}\n")
        return EXIT_USAGE
    except (RecordingError, OSError) as exc:
        stream.write(f"tapescope replay: {exc}\n")
        return EXIT_FAILED
    if tty:
        stream.write("\n")
    stream.write(
        f"replayed {summary.messages:,} messages of {', '.join(summary.markets)} "
        f"({fmt_utc(summary.first_ns)} .. {fmt_utc(summary.last_ns)}) in {summary.wall_s:.1f} s "
        f"({summary.rate:,.0f} msg/s; {summary.cpu_rate:,.0f} per CPU second): {summary.detector_events:,} detector events, {summary.signals:,} signals "
        f"({summary.actionable:,} actionable) -> {summary.out}\n")
    if summary.gaps:
        stream.write(f"warning: the recording has {summary.gaps} gap(s) where messages were lost while recording\n")
    return EXIT_OK
