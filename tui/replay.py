"""Replay a recording through the engine: the shared wiring, and headless ``tapescope replay``.

:func:`recording_decoders` picks the decoders a recording needs (the
simulator's codec, or each recorded venue's real parser and book sync);
:func:`analysis_hub` builds an engine :class:`~tapescope.engine.hub.Hub` with a
:class:`~tapescope.engine.analysis.MarketAnalysis` on every market; and
:class:`AlertTap` sits in front of the hub and takes every detector event and
signal verdict as soon as the analysis raises it. The dashboard's replay mode
and the headless runner share them, so both see the same outputs.

:func:`replay_headless` plays a recording as fast as possible (no pacing, no
App) and writes the detector events and signal verdicts to CSV, calling
``progress`` as it goes. This module may read the wall clock (the engine may
not): only to report throughput.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tapescope.engine.alerts import drain
from tapescope.engine.analysis import AnalysisParams, MarketAnalysis
from tapescope.engine.detectors.base import DetectorEvent
from tapescope.engine.events import Event
from tapescope.engine.flow import FlowParams
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.decode import DecoderFactory
from tapescope.engine.recorder.reader import Recording
from tapescope.engine.signals.fusion import Verdict
from tapescope.feeds.replay import SIM_DECODERS, ReplayFeed, instruments_from_meta
from tapescope.feeds.replay_venues import venue_decoders
from tapescope.feeds.venues.base import VenueProtocol
from tapescope.feeds.venues.registry import VENUES, make_protocol
from tapescope.tui.replay_time import fmt_utc

log = logging.getLogger(__name__)

#: Columns of the headless replay CSV, in order.
CSV_COLUMNS = (
    "ts", "time", "market", "type", "kind", "direction", "strength", "confidence",
    "actionable", "filtered_by", "price", "size", "reasons",
)
#: Messages between two progress callbacks of :func:`replay_headless`.
PROGRESS_EVERY = 20_000

#: A detector event or a signal verdict, as :class:`AlertTap` hands them on: ``(market key, item)``.
Alert = tuple[str, DetectorEvent | Verdict]


def venue_protocol(venue: str, settings: object = None) -> VenueProtocol | None:
    """The wire protocol of a recorded venue id (``None`` if the venue registry does not know it).

    Args:
        venue: venue id as recorded (``"binance-usdm"``...).
        settings: the venue's ``[venues.<id>]`` settings; default settings when ``None``.

    >>> venue_protocol("binance-usdm").venue, venue_protocol("bybit-spot").venue, venue_protocol("x")
    ('binance-usdm', 'bybit-spot', None)
    """
    if venue not in VENUES:
        return None
    return make_protocol(venue, settings)


def recording_decoders(venues: Iterable[str], instruments: Iterable[Instrument]) -> dict[str, DecoderFactory]:
    """Decoder factories for a recording of ``venues``: the sim codec and/or the venues' parsers.

    Raises:
        ValueError: a venue no decoder knows (the replay would show nothing for it).

    >>> sorted(recording_decoders(["sim", "okx"], []))
    ['okx#', 'sim#']
    """
    insts = list(instruments)
    out: dict[str, DecoderFactory] = {}
    protocols = []
    for venue in venues:
        if venue == "sim":
            out.update(SIM_DECODERS)
            continue
        proto = venue_protocol(venue)
        if proto is None:
            raise ValueError(f"no replay decoder for venue {venue!r}")
        protocols.append(proto)
    out.update(venue_decoders(protocols, insts))
    return out


def analysis_hub(
    instruments: Iterable[Instrument],
    flow: FlowParams | None = None,
    analysis: AnalysisParams | None = None,
) -> Hub:
    """An engine hub with :class:`MarketAnalysis` attached to every market (the dashboard's engine)."""
    hub = Hub(instruments, flow)
    for market in hub.markets.values():
        MarketAnalysis.attach(market, analysis)
    return hub


class AlertTap:
    """Event sink in front of a hub that takes each market's new detector events and verdicts.

    After every event it drains the event's market ``analysis.alerts`` into
    ``on_alert(key, item)``, so nothing is lost to the bounded deque however
    long the run. ``O(1)`` per event plus the alerts raised. Markets are looked
    up per event, so a hub whose markets were replaced (a seek) keeps working.
    """

    __slots__ = ("hub", "on_alert", "messages", "events", "_markets", "_hub_event")

    def __init__(self, hub: Hub, on_alert: Callable[[str, DetectorEvent | Verdict], None]) -> None:
        self.hub = hub
        """The engine hub events go to."""
        self.on_alert = on_alert
        """Called as ``(market key, detector event or verdict)`` in the order raised."""
        self.messages = 0
        """Raw messages seen."""
        self.events = 0
        """Events forwarded."""
        # Looked up per event, not cached: a replay seek replaces the hub's markets.
        self._markets = hub.markets
        self._hub_event = hub.on_event

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        """Count a raw message (the hub ignores raw bytes)."""
        self.messages += 1

    def on_event(self, event: Event) -> None:
        """Forward to the hub, then hand on what the analysis raised."""
        self.events += 1
        self._hub_event(event)
        market = self._markets.get(event[0])
        if market is None or market.analysis is None:
            return
        alerts = market.analysis.alerts
        if alerts:
            key = event[0]
            on_alert = self.on_alert
            for item in drain(alerts):
                on_alert(key, item)


def alert_row(key: str, item: DetectorEvent | Verdict) -> list[str]:
    """One CSV row (:data:`CSV_COLUMNS`) for a detector event or a signal verdict.

    Floats are written with ``repr`` so the file round-trips exactly.

    >>> from tapescope.engine.detectors.base import DetectorKind
    >>> alert_row("sim:X", DetectorEvent(DetectorKind.WALL, 10**18, 1, 100.5, 30.0, 0.7, "5x median"))
    ['1000000000000000000', '2001-09-09T01:46:40.000Z', 'sim:X', 'detector', 'wall', '1', '0.7', '', '', '', '100.5', '30.0', '5x median']
    """
    if isinstance(item, DetectorEvent):
        return [str(item.ts), fmt_utc(item.ts), key, "detector", item.kind.value, str(item.side),
                repr(item.score), "", "", "", repr(item.price), repr(item.size), item.detail]
    s = item.signal
    return [str(s.ts), fmt_utc(s.ts), key, "signal", s.name, str(s.direction), repr(s.strength),
            repr(s.confidence), "1" if item.actionable else "0", item.filtered_by, repr(s.price), "",
            "; ".join(s.reasons)]


def signal_fn(
    instruments: Iterable[Instrument],
    flow: FlowParams | None = None,
    analysis: AnalysisParams | None = None,
) -> Callable[[Event], list[dict[str, str]]]:
    """The engine pipeline for ``export(..., kind="signals", signal_fn=...)``: ``event -> rows``.

    Each call applies one event to a private analysis hub and returns the
    detector events and verdicts it raised as dicts keyed by :data:`CSV_COLUMNS`
    (the same rows :func:`replay_headless` writes).
    """
    raised: list[dict[str, str]] = []
    tap = AlertTap(analysis_hub(instruments, flow, analysis),
                   lambda key, item: raised.append(dict(zip(CSV_COLUMNS, alert_row(key, item), strict=True))))

    def fn(event: Event) -> list[dict[str, str]]:
        tap.on_event(event)
        if not raised:
            return []
        rows = raised[:]
        raised.clear()
        return rows

    return fn


@dataclass(frozen=True, slots=True)
class ReplayProgress:
    """Where a headless replay is (handed to the progress callback)."""

    position_ns: int
    """Receive time of the last message played."""
    start_ns: int
    """Receive time the replay started at."""
    end_ns: int
    """Receive time it stops at."""
    messages: int
    """Raw messages played."""
    alerts: int
    """Detector events and verdicts written so far."""

    @property
    def fraction(self) -> float:
        """Share of the time range played, in [0, 1]."""
        span = self.end_ns - self.start_ns
        return 1.0 if span <= 0 else min(max((self.position_ns - self.start_ns) / span, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class ReplaySummary:
    """What :func:`replay_headless` did."""

    path: Path
    """Recording played."""
    out: Path
    """CSV written."""
    markets: tuple[str, ...]
    """Markets replayed."""
    messages: int
    """Raw messages played (REST snapshots included)."""
    events: int
    """Engine events applied."""
    detector_events: int
    """Detector events written."""
    signals: int
    """Signal verdicts written."""
    actionable: int
    """Verdicts that passed validation."""
    first_ns: int
    """Receive time of the first message played."""
    last_ns: int
    """Receive time of the last message played."""
    wall_s: float
    """Wall-clock seconds the replay took."""
    cpu_s: float
    """CPU seconds this process spent on it (the fair figure on a busy machine)."""
    gaps: int
    """Recorder gap markers passed (messages lost while recording)."""

    @property
    def rate(self) -> float:
        """Messages per wall-clock second."""
        return self.messages / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def cpu_rate(self) -> float:
        """Messages per CPU second."""
        return self.messages / self.cpu_s if self.cpu_s > 0 else float("nan")


def select_instruments(instruments: Sequence[Instrument], symbols: Iterable[str] | None) -> list[Instrument]:
    """The instruments named by ``symbols`` (market keys or bare symbols, any case); all when empty.

    Raises:
        ValueError: a name matches no instrument (the message lists the recorded ones).

    >>> insts = [Instrument("sim", "BTC-SIM"), Instrument("sim", "ETH-SIM")]
    >>> [i.key for i in select_instruments(insts, ["eth-sim"])], len(select_instruments(insts, None))
    (['sim:ETH-SIM'], 2)
    """
    if not symbols:
        return list(instruments)
    wanted = {s.strip().upper() for s in symbols if s.strip()}
    chosen = [i for i in instruments if i.key.upper() in wanted or i.symbol.upper() in wanted]
    missing = wanted - {i.key.upper() for i in chosen} - {i.symbol.upper() for i in chosen}
    if missing:
        known = ", ".join(i.key for i in instruments)
        raise ValueError(f"symbols not in the recording: {', '.join(sorted(missing))} (it has {known})")
    return chosen


async def replay_session(
    path: Path | str,
    on_alert: Callable[[str, DetectorEvent | Verdict], None],
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
    symbols: Iterable[str] | None = None,
    instruments: Sequence[Instrument] | None = None,
    decoders: Mapping[str, DecoderFactory] | None = None,
    flow: FlowParams | None = None,
    analysis: AnalysisParams | None = None,
    progress: Callable[[ReplayProgress], None] | None = None,
    progress_every: int = PROGRESS_EVERY,
) -> tuple[ReplayFeed, Hub, AlertTap]:
    """Play ``path`` unpaced into a fresh analysis hub, handing every alert to ``on_alert``.

    Args:
        path: recording file or rotated set.
        on_alert: called as ``(market key, detector event or verdict)``.
        from_ns: start at this receive time (books rebuilt from checkpoints).
        to_ns: stop after this receive time.
        symbols: replay only these markets (keys or symbols); default all.
        instruments: override the recording's instruments (tick sizes...).
        decoders: override :func:`recording_decoders`.
        flow: flow parameters of the hub.
        analysis: detector and signal parameters.
        progress: called every ``progress_every`` messages and once at the end.
        progress_every: messages between progress calls.

    Returns:
        The finished (closed) feed, the hub and the tap, for their counters.

    Raises:
        RecordingError: the recording cannot be opened.
        ValueError: unknown symbols or venues.
    """
    with Recording.open(path) as rec:
        insts = list(instruments) if instruments is not None else instruments_from_meta(rec)
        venues = rec.venues
        first, last = rec.first_recv_ns(), rec.last_recv_ns()
    chosen = select_instruments(insts, symbols)
    decs = dict(decoders) if decoders is not None else recording_decoders(
        venues or sorted({i.venue for i in chosen}), chosen)
    start = max(first, from_ns) if from_ns is not None else first
    end = min(last, to_ns) if to_ns is not None else last
    feed = ReplayFeed(path, decs, speed=0, start_ns=from_ns, end_ns=to_ns, instruments=chosen)
    hub = analysis_hub(chosen, flow, analysis)
    counts = [0]

    def alert(key: str, item: DetectorEvent | Verdict) -> None:
        counts[0] += 1
        on_alert(key, item)

    tap = AlertTap(hub, alert)
    sink = tap
    if progress is not None:
        sink = _ProgressSink(tap, feed, progress, progress_every, start, end, counts)
    try:
        await feed.run(sink)
    finally:
        feed.close()
    if progress is not None:
        progress(ReplayProgress(feed.position_ns, start, end, tap.messages, counts[0]))
    return feed, hub, tap


class _ProgressSink:
    """Counts raw messages and calls the progress callback every ``every`` of them."""

    __slots__ = ("tap", "feed", "progress", "every", "start", "end", "counts", "on_event", "_n")

    def __init__(self, tap: AlertTap, feed: ReplayFeed, progress: Callable[[ReplayProgress], None],
                 every: int, start: int, end: int, counts: list[int]) -> None:
        self.tap, self.feed, self.progress = tap, feed, progress
        self.every, self.start, self.end, self.counts = max(int(every), 1), start, end, counts
        self.on_event = tap.on_event
        self._n = 0

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        self.tap.messages += 1
        self._n += 1
        if self._n >= self.every:
            self._n = 0
            self.progress(ReplayProgress(recv_ns, self.start, self.end, self.tap.messages, self.counts[0]))


def replay_headless(
    path: Path | str,
    out: Path | str,
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
    symbols: Iterable[str] | None = None,
    progress: Callable[[ReplayProgress], None] | None = None,
    instruments: Sequence[Instrument] | None = None,
    flow: FlowParams | None = None,
    analysis: AnalysisParams | None = None,
    progress_every: int = PROGRESS_EVERY,
) -> ReplaySummary:
    """Replay ``path`` as fast as possible and write its detector events and verdicts to CSV.

    Blocking (runs its own event loop). The CSV has a header row
    (:data:`CSV_COLUMNS`) and one row per detector event or signal verdict,
    in the order the engine raised them.

    Args:
        path: recording file or rotated set.
        out: CSV file to write (replaced).
        from_ns: start at this receive time, ns.
        to_ns: stop after this receive time, ns.
        symbols: replay only these markets (keys or symbols).
        progress: called with a :class:`ReplayProgress` every few thousand messages.
        instruments: override the recording's instruments.
        flow: flow parameters.
        analysis: detector and signal parameters.
        progress_every: messages between progress calls (``[replay] progress_every``).

    Returns:
        A :class:`ReplaySummary` with counts and throughput.

    Raises:
        RecordingError: the recording cannot be opened.
        ValueError: unknown symbols or venues.
        OSError: the CSV cannot be written.
    """
    out = Path(out)
    counts = {"detector": 0, "signal": 0, "actionable": 0}
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)

        def write(key: str, item: DetectorEvent | Verdict) -> None:
            if isinstance(item, Verdict):
                counts["signal"] += 1
                counts["actionable"] += item.actionable
            else:
                counts["detector"] += 1
            writer.writerow(alert_row(key, item))

        t0, c0 = time.perf_counter(), time.process_time()
        feed, hub, tap = asyncio.run(replay_session(
            path, write, from_ns=from_ns, to_ns=to_ns, symbols=symbols, progress=progress,
            instruments=instruments, flow=flow, analysis=analysis, progress_every=progress_every))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    with Recording.open(path) as rec:
        first = max(rec.first_recv_ns(), from_ns) if from_ns is not None else rec.first_recv_ns()
    summary = ReplaySummary(
        Path(path), out, tuple(hub.keys), tap.messages, tap.events, counts["detector"], counts["signal"],
        counts["actionable"], first, feed.position_ns, wall, cpu, feed.gaps_seen)
    log.info("replayed %d messages of %s in %.2f s (%.0f msg/s): %d detector events, %d signals",
             summary.messages, path, wall, summary.rate, summary.detector_events, summary.signals)
    return summary
