"""Headless ``tapescope record``: feeds -> engine hub, with a recorder tap, to SQLite.

No Textual App is ever built here (style.md section 1): the runner wires
feeds to the engine hub through :class:`RecordingTap`, which hands every raw
frame to the :class:`~tapescope.engine.recorder.writer.Recorder` and every
event to the hub (whose books feed the checkpoints).

While recording it shows a live one-line status on a terminal (rewritten in
place every ``status_interval_s``) and logs a plain status line every
``log_interval_s`` otherwise. SIGINT and SIGTERM stop the feeds, flush
everything, write ``ended_ns`` and close the file. Exit codes: 0 clean,
1 recording failed (disk full, write error, a feed crashed), 2 the output
could not be created. This module may read the wall clock (the engine may not).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tapescope.engine.events import Event
from tapescope.engine.hub import Hub
from tapescope.engine.recorder.checkpoint import CheckpointSource, markets_checkpoint_source
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.errors import OutputPathError, RecordingError
from tapescope.engine.recorder.writer import Recorder, RecorderStats
from tapescope.feeds.base import EventSink, Feed

log = logging.getLogger(__name__)

#: Exit code: recorded and closed cleanly.
EXIT_OK = 0
#: Exit code: the recording failed part-way (what was committed is intact).
EXIT_FAILED = 1
#: Exit code: the output could not be created.
EXIT_NO_OUTPUT = 2


class RecordingTap:
    """Event sink in front of the hub: raw frames to the recorder, events to the hub."""

    __slots__ = ("recorder", "hub", "_on_raw", "_on_event")

    def __init__(self, recorder: Recorder, hub: EventSink) -> None:
        self.recorder = recorder
        self.hub = hub
        self._on_raw = recorder.on_raw
        self._on_event = hub.on_event

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        """Record the frame (queue only), then let the hub see it."""
        self._on_raw(conn_id, recv_ns, payload)
        self.hub.on_raw(conn_id, recv_ns, payload)

    def on_event(self, event: Event) -> None:
        """Forward to the hub."""
        self._on_event(event)


@dataclass(slots=True)
class RecordResult:
    """Outcome of :func:`record_session`."""

    exit_code: int
    """One of :data:`EXIT_OK`, :data:`EXIT_FAILED`, :data:`EXIT_NO_OUTPUT`."""
    files: list[Path] = field(default_factory=list)
    """Files written."""
    stats: RecorderStats | None = None
    """Final recorder counters."""
    error: str = ""
    """One-line reason when the exit code is not 0."""


def default_hub(feeds: Sequence[Feed]) -> Hub:
    """An engine hub over every feed's instruments; a crossed book asks its own feed to resync."""
    owner = {i.key: f for f in feeds for i in f.instruments}

    def resync(key: str, reason: str) -> None:
        feed = owner.get(key)
        if feed is not None:
            feed.request_resync(key, reason)

    return Hub([i for f in feeds for i in f.instruments], on_invalid=resync)


def _checkpoint_source_for(hub: Any) -> CheckpointSource | None:
    source = getattr(hub, "checkpoint_source", None)
    if callable(source):
        return source
    markets = getattr(hub, "markets", None)
    if isinstance(markets, dict):
        return markets_checkpoint_source(markets)
    return None


def status_line(stats: RecorderStats, queued: int, elapsed_s: float, rate: float, disk_bytes: int) -> str:
    """The one-line status text.

    >>> s = RecorderStats(received=1200, written=1000, dropped=3, gaps=1, files=2)
    >>> status_line(s, 200, 3725.0, 512.4, 12_500_000)
    'REC 01:02:05  1,000 written  512/s  queued 200  dropped 3 (1 gaps)  file 2  12.5 MB'
    """
    h, rem = divmod(int(elapsed_s), 3600)
    m, s = divmod(rem, 60)
    return (
        f"REC {h:02d}:{m:02d}:{s:02d}  {stats.written:,} written  {rate:,.0f}/s  queued {queued:,}  "
        f"dropped {stats.dropped:,} ({stats.gaps} gaps)  file {stats.files}  {disk_bytes / 1e6:,.1f} MB"
    )


def _disk_bytes(files: Sequence[Path]) -> int:
    total = 0
    for f in files:
        for p in (f, f.with_name(f.name + "-wal")):
            try:
                total += p.stat().st_size
            except OSError:
                pass
    return total


async def _status_loop(rec: Recorder, cfg: RecordConfig, out: TextIO, t0: float, tty: bool) -> None:
    interval = cfg.status_interval_s if tty else cfg.log_interval_s
    last_written, last_t = 0, time.monotonic()
    while True:
        await asyncio.sleep(interval)
        now = time.monotonic()
        rate = (rec.stats.written - last_written) / max(now - last_t, 1e-9)
        last_written, last_t = rec.stats.written, now
        line = status_line(rec.stats, rec.queued, now - t0, rate, _disk_bytes(rec.files))
        if tty:
            out.write("\r\x1b[2K" + line)
            out.flush()
        else:
            log.info("%s", line)


async def record_session(
    feeds: Sequence[Feed],
    path: Path | str,
    config: RecordConfig | None = None,
    *,
    hub: EventSink | None = None,
    app_config: dict[str, Any] | None = None,
    duration_s: float | None = None,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    sqlite_pragmas: dict[str, int | str] | None = None,
) -> RecordResult:
    """Record ``feeds`` into ``path`` until stopped, the duration ends, or every feed ends.

    Args:
        feeds: the sources (live venues, the simulator...).
        path: output file (rotated sets become ``<stem>.0001.db``...).
        config: the ``[record]`` settings.
        hub: the engine hub events go to; its books provide checkpoints
            (``hub.checkpoint_source`` or ``hub.markets``). Default: :func:`default_hub`.
        app_config: effective application config stored in the recording's meta.
        duration_s: stop after this many wall-clock seconds.
        out: where the terminal status line goes (default ``sys.stderr``).
        stop: set it to stop recording (signals set it too).
        handle_signals: install SIGINT/SIGTERM handlers (main thread only).
        sqlite_pragmas: extra SQLite pragmas per file (ops and tests, e.g. ``max_page_count``).

    Returns:
        A :class:`RecordResult`; it never raises for recording trouble.
    """
    cfg = config or RecordConfig()
    out = out if out is not None else sys.stderr
    stop = stop or asyncio.Event()
    instruments = [i for f in feeds for i in f.instruments]
    sink_hub: EventSink = hub if hub is not None else default_hub(feeds)
    rec = Recorder(
        Path(path),
        cfg,
        venues=sorted({i.venue for i in instruments}),
        symbols=[i.key for i in instruments],
        app_config=app_config if app_config is not None else {"record": asdict(cfg)},
        checkpoint_source=_checkpoint_source_for(sink_hub),
        sqlite_pragmas=sqlite_pragmas,
        instruments=[{**asdict(i), "kind": i.kind.value} for i in instruments],
    )
    try:
        await rec.start(started_ns=time.time_ns())
    except RecordingError as exc:
        return RecordResult(EXIT_NO_OUTPUT if isinstance(exc, OutputPathError) else EXIT_FAILED, error=str(exc))
    loop = asyncio.get_running_loop()
    installed: list[int] = []
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or no signal support: rely on `stop`
    tap = RecordingTap(rec, sink_hub)
    tty = bool(getattr(out, "isatty", lambda: False)())
    t0 = time.monotonic()
    log.info("recording %d markets from %d feeds to %s", len(instruments), len(feeds), rec.files[0])
    feed_tasks = [asyncio.create_task(f.run(tap), name=f"feed-{f.name}") for f in feeds]
    status = asyncio.create_task(_status_loop(rec, cfg, out, t0, tty), name="record-status")
    stopper = asyncio.create_task(stop.wait(), name="record-stop")
    error = ""
    try:
        pending: set[asyncio.Task[Any]] = set(feed_tasks)
        deadline = None if duration_s is None else t0 + duration_s
        while pending and not stop.is_set():
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            # Wake at least every 0.2 s to notice a failed writer (disk full).
            wait_for = min(timeout, 0.2) if timeout is not None else 0.2
            done, pending = await asyncio.wait(pending | {stopper}, timeout=wait_for,
                                               return_when=asyncio.FIRST_COMPLETED)
            pending.discard(stopper)
            for task in done - {stopper}:
                if not task.cancelled() and task.exception() is not None:
                    error = f"feed {task.get_name()[5:]} crashed: {task.exception()!r}"
                    log.error("%s", error)
                    stop.set()
            if rec.error is not None:
                error = str(rec.error)
                stop.set()
            if deadline is not None and time.monotonic() >= deadline:
                stop.set()
    finally:
        for task in (*feed_tasks, status, stopper):
            task.cancel()
        await asyncio.gather(*feed_tasks, status, stopper, return_exceptions=True)
        for sig in installed:
            loop.remove_signal_handler(sig)
        try:
            await rec.close(ended_ns=time.time_ns())
        except RecordingError as exc:
            error = error or str(exc)
        if tty:
            out.write("\r\x1b[2K" + status_line(rec.stats, rec.queued, time.monotonic() - t0, 0.0,
                                                _disk_bytes(rec.files)) + "\n")
            out.flush()
    log.info("recording closed: %d messages in %s", rec.stats.written, ", ".join(str(f) for f in rec.files))
    return RecordResult(EXIT_FAILED if error else EXIT_OK, list(rec.files), rec.stats, error)


def run_record(feeds: Sequence[Feed], path: Path | str, config: RecordConfig | None = None, **kwargs: Any) -> int:
    """Blocking entry point for the CLI: run :func:`record_session`, print errors, return the exit code."""
    result = asyncio.run(record_session(feeds, path, config, **kwargs))
    if result.error:
        sys.stderr.write(f"tapescope record: {result.error}\n")
    return result.exit_code
