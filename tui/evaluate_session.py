"""``tapescope eval FILE``: signal forward returns over any recorded or simulated session.

:func:`evaluate_session` runs the same engine the dashboard uses (Hub,
Market, MarketAnalysis) over an event stream in event time, collects every
signal verdict the validation step produced (actionable or filtered) and a
per-second mid series per market, and scores the verdicts with
:func:`tapescope.engine.evaluation.evaluate_signals_pooled`: count, hit rate
and mean forward return at each horizon against the unconditional baseline,
with 95 % intervals. Generators are scored on all their verdicts; the
pseudo-generator ``actionable`` pools the verdicts that passed validation
(what the dashboard shows as actionable).

The mid of second ``s`` is the last valid mid seen before the first event of
a later second (forward-filled over silent seconds); seconds before a
market's first valid mid, or while its book is invalid, are left out by
restarting the series (a gap ends one series segment; only the longest
continuous segment per market is kept, so forward returns never straddle a
resync).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tapescope.engine.alerts import drain
from tapescope.engine.analysis import AnalysisParams, MarketAnalysis
from tapescope.engine.evaluation import SignalEvaluation, evaluate_signals_pooled
from tapescope.engine.events import NS_PER_S, Event
from tapescope.engine.flow_params import FlowParams
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.engine.signals.fusion import Verdict
from tapescope.feeds.base import Feed

#: Name under which verdicts that passed validation are pooled.
ACTIONABLE = "actionable"
#: Drain every market's bounded alert queue at least this often (events).
DRAIN_EVERY = 256


@dataclass(frozen=True, slots=True)
class SessionReport:
    """Signal evaluation of one session."""

    evaluations: tuple[SignalEvaluation, ...]
    """Per generator (and :data:`ACTIONABLE`), sorted by name."""
    horizons_s: tuple[int, ...]
    """Forward horizons, seconds."""
    events: int
    """Events processed."""
    seconds: int
    """Market-seconds in the mid series (the baseline's sample)."""
    verdicts: int
    """Verdicts collected (all generators, before pooling)."""

    def rows(self) -> list[dict[str, object]]:
        """One record per (generator, horizon): the table, CSV and JSON rows."""
        out: list[dict[str, object]] = []
        for ev in self.evaluations:
            for h in ev.horizons:
                out.append(
                    {
                        "generator": ev.name,
                        "signals": ev.count,
                        "horizon_s": h.horizon_s,
                        "n": h.count,
                        "hit_rate": _r(h.hit_rate),
                        "hit_lo": _r(h.hit_ci[0]),
                        "hit_hi": _r(h.hit_ci[1]),
                        "mean_bps": _r(h.mean_return_bps),
                        "mean_lo_bps": _r(h.mean_ci_bps[0]),
                        "mean_hi_bps": _r(h.mean_ci_bps[1]),
                        "baseline_hit_rate": _r(h.baseline_hit_rate),
                        "baseline_mean_bps": _r(h.baseline_mean_bps),
                        "edge": h.edge,
                    }
                )
        return out


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


class _MidSampler:
    """Per-second mid of one market, longest continuous valid stretch kept."""

    __slots__ = ("sec", "mid", "t", "m", "best_t", "best_m")

    def __init__(self) -> None:
        self.sec = -1
        self.mid = math.nan
        self.t: list[int] = []
        self.m: list[float] = []
        self.best_t: list[int] = []
        self.best_m: list[float] = []

    def advance(self, sec: int) -> None:
        """Close every second before ``sec`` with the mid last seen. ``O(seconds closed)``."""
        if self.sec < 0 or self.mid != self.mid:
            self._cut()  # no valid mid: the stretch ends here
            self.sec = sec
            return
        self.t.extend(range(self.sec, sec))
        self.m.extend([self.mid] * (sec - self.sec))
        self.sec = sec

    def _cut(self) -> None:
        if len(self.t) > len(self.best_t):
            self.best_t, self.best_m = self.t, self.m
        self.t, self.m = [], []

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        self._cut()
        return np.asarray(self.best_t, dtype=np.int64), np.asarray(self.best_m)


class SessionEvaluator:
    """An event sink that runs the engine and keeps what the signal evaluation needs.

    Feed it with :meth:`on_event` (it is a :class:`~tapescope.feeds.base.EventSink`,
    so any Feed can run into it, e.g. a ``ReplayFeed`` at speed 0), then call
    :meth:`report`. Runtime: the engine's per-event cost plus ``O(1)`` amortised
    per event for the mid sampling.
    """

    def __init__(
        self,
        instruments: Sequence[Instrument],
        analysis: AnalysisParams | None = None,
        flow: FlowParams | None = None,
    ) -> None:
        self.hub = Hub(list(instruments), flow)
        """The engine the events run through."""
        self._analyses = {
            k: MarketAnalysis.attach(m, analysis) for k, m in self.hub.markets.items()
        }
        self._samplers = {k: _MidSampler() for k in self.hub.markets}
        self._verdicts: list[tuple[str, str, int, int]] = []
        self.events = 0
        """Events processed."""

    def on_event(self, ev: Event) -> None:
        """Sample the market's mid when a new second starts, then apply the event."""
        key = getattr(ev, "symbol", None)
        sampler = self._samplers.get(key) if key is not None else None
        if sampler is not None:
            sec = ev.ts // NS_PER_S
            if sec > sampler.sec:
                market = self.hub.markets[key]
                mid = market.book.mid() if market.valid else None
                sampler.mid = mid if mid is not None else math.nan
                sampler.advance(sec)
        self.hub.on_event(ev)
        self.events += 1
        if self.events % DRAIN_EVERY == 0:
            _drain(self._analyses, self._verdicts)

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        """Raw messages are not needed."""

    def report(self, horizons_s: Sequence[int] = (10, 60, 300)) -> SessionReport:
        """Score every verdict collected so far. ``O(S + H * T)``."""
        _drain(self._analyses, self._verdicts)
        series = {k: s.series() for k, s in self._samplers.items()}
        evaluations = evaluate_signals_pooled(self._verdicts, series, horizons_s)
        return SessionReport(
            tuple(evaluations),
            tuple(horizons_s),
            self.events,
            sum(len(t) for t, _ in series.values()),
            sum(1 for v in self._verdicts if v[1] != ACTIONABLE),
        )


def evaluate_session(
    events: Iterable[Event],
    instruments: Sequence[Instrument],
    analysis: AnalysisParams | None = None,
    flow: FlowParams | None = None,
    horizons_s: Sequence[int] = (10, 60, 300),
) -> SessionReport:
    """Run the engine over ``events`` and evaluate every signal verdict.

    Args:
        events: the session's events in event-time order (a simulator's
            ``generate(...)``, or a recording's decoded events).
        instruments: the markets the events belong to (events of other keys
            are counted by the Hub as unknown and ignored).
        analysis: detector and signal parameters.
        flow: flow metric parameters.
        horizons_s: forward horizons, seconds.

    Returns:
        The :class:`SessionReport`.

    Runtime complexity: the engine's per-event cost, plus ``O(T)`` for the
    ``T`` market-seconds sampled and ``O(S + H * T)`` for the scoring.
    """
    ev_sink = SessionEvaluator(instruments, analysis, flow)
    for ev in events:
        ev_sink.on_event(ev)
    return ev_sink.report(horizons_s)


async def evaluate_feed(
    feed: Feed,
    analysis: AnalysisParams | None = None,
    flow: FlowParams | None = None,
    horizons_s: Sequence[int] = (10, 60, 300),
) -> SessionReport:
    """Run a finite feed (a recording's ``ReplayFeed(path, decoders, speed=0)``) to its
    end through :class:`SessionEvaluator` and evaluate its signals."""
    ev_sink = SessionEvaluator(feed.instruments, analysis, flow)
    await feed.run(ev_sink)
    return ev_sink.report(horizons_s)


def _drain(analyses: dict[str, MarketAnalysis], out: list[tuple[str, str, int, int]]) -> None:
    for key, a in analyses.items():
        for item in drain(a.alerts):
            if isinstance(item, Verdict):
                sig = item.signal
                out.append((key, sig.name, sig.ts, sig.direction))
                if item.actionable:
                    out.append((key, ACTIONABLE, sig.ts, sig.direction))


def write_signal_report(report: SessionReport, path: Path) -> None:
    """Write the rows as CSV or JSON, chosen by the file's suffix.

    Raises:
        ValueError: unknown suffix.
        OSError: the file cannot be written.
    """
    rows = report.rows()
    suffix = path.suffix.lower()
    if suffix == ".json":
        doc = {
            "events": report.events,
            "seconds": report.seconds,
            "verdicts": report.verdicts,
            "horizons_s": list(report.horizons_s),
            "signals": rows,
        }
        path.write_text(json.dumps(doc, indent=2, allow_nan=False))
    elif suffix == ".csv":
        fields = list(rows[0]) if rows else ["generator"]
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise ValueError(f"unknown report format {path.suffix!r}: use .csv or .json")
