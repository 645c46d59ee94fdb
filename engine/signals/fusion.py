"""Fusion of live signals into one score, validation, and the per-market signal engine.

Fused score (detectors.md, Fusion), over signals younger than
``alive_half_lives`` half-lives::

    decay_i = 0.5 ** (age_i / half_life)
    score   = sum(w_i * dir_i * strength_i * conf_i * decay_i) / sum(w_i)

so a lone fresh signal of weight 1, strength 0.8 and confidence 0.5 scores
0.4 and halves every half-life. Fused confidence is the decay-and-weight
averaged confidence of the live signals; when the strongest long and the
strongest short both have confidence above ``conflict_confidence``, it is cut
by their overlap, ``min(conf_long, conf_short)``: two confident opposing calls
mean nobody knows.

Validation (a signal is *actionable* only if all pass, else it is kept with
the reason it was filtered): staleness guard (book not LIVE, or no book update
for ``stale_after_s``), session filter, cooldown per (symbol, generator),
dedup (same generator and direction within ``dedup_ticks`` of the last
actionable one), and minimum confirmation (the fused score, including the
signal, must lean its way by at least ``min_confirmation``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from tapescope.engine.signals.base import Features, Signal, SignalParams
from tapescope.engine.signals.generators import GENERATORS, History

NS = 1_000_000_000

#: UTC hour ranges [start, end) of the sessions the filter knows.
SESSIONS: dict[str, tuple[tuple[int, int], ...]] = {
    "off": ((0, 24),),
    "london": ((7, 16),),
    "new_york": ((13, 22),),
    "london_new_york": ((7, 22),),
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A signal with its validation outcome."""

    signal: Signal
    """The signal."""
    actionable: bool
    """Passed every validation step."""
    filtered_by: str = ""
    """Which step filtered it: stale, session, cooldown, dedup, unconfirmed ("" if actionable)."""


@dataclass(frozen=True, slots=True)
class FusedScore:
    """The fused view."""

    score: float = 0.0
    """Score in [-1, 1]."""
    confidence: float = 0.0
    """Fused confidence in [0, 1], after conflict cuts."""
    conflict: bool = False
    """Confident opposing signals are both alive."""
    alive: int = 0
    """Signals contributing."""


def fuse(signals: list[Signal], now: int, p: SignalParams) -> FusedScore:
    """Fused score of ``signals`` at event time ``now`` (formula in the module docstring).

    >>> p = SignalParams(half_life_s=30)
    >>> s = Signal("x", 0, "trap", 1, 0.8, 0.5)
    >>> round(fuse([s], 30 * NS, p).score, 6)   # weight 0.9 cancels; 0.8*0.5*0.5
    0.2

    Runtime complexity: ``O(len(signals))``.
    """
    half = p.half_life_s * NS
    horizon = p.alive_half_lives * half
    num = den = conf_num = conf_den = 0.0
    best = {1: 0.0, -1: 0.0}
    alive = 0
    for s in signals:
        age = now - s.ts
        if age < 0 or age > horizon:
            continue
        w = p.weights.get(s.name, 1.0)
        decay = 0.5 ** (age / half)
        num += w * s.direction * s.strength * s.confidence * decay
        den += w
        conf_num += w * decay * s.confidence
        conf_den += w * decay
        best[s.direction] = max(best[s.direction], s.confidence)
        alive += 1
    if den == 0:
        return FusedScore()
    confidence = conf_num / conf_den
    conflict = best[1] > p.conflict_confidence and best[-1] > p.conflict_confidence
    if conflict:
        confidence *= 1.0 - min(best[1], best[-1])
    return FusedScore(max(-1.0, min(1.0, num / den)), confidence, conflict, alive)


def in_session(ts: int, session: str) -> bool:
    """Whether event time ``ts`` (ns, UTC) falls in the named session.

    >>> in_session(8 * 3600 * NS, "london"), in_session(23 * 3600 * NS, "new_york")
    (True, False)
    """
    hour = (ts // NS // 3600) % 24
    return any(a <= hour < b for a, b in SESSIONS[session])


class SignalEngine:
    """Generators, validation and fusion for one market, stepped once per second."""

    def __init__(self, params: SignalParams, tick_size: float, history_len: int = 200) -> None:
        self.p = params
        self.tick_size = tick_size
        self.history = History(params.range_lookback_s)
        self.generators = [g(params) for g in GENERATORS]
        self.live: deque[Signal] = deque(maxlen=64)
        """Recent signals (all, actionable or not) still inside the fusion horizon."""
        self.verdicts: deque[Verdict] = deque(maxlen=history_len)
        """History of every signal with its verdict, oldest first."""
        self.new_verdicts: list[Verdict] = []
        """Verdicts since the caller last cleared this list (for alerts)."""
        self.fused = FusedScore()
        """Fused score after the last step."""
        self._last_actionable: dict[str, Signal] = {}

    def step(self, f: Features, book_live: bool, last_book_ts: int) -> list[Verdict]:
        """Run every generator on this second's features; validate and fuse.

        Args:
            f: the features at the end of the second.
            book_live: the market's book is LIVE (in sync).
            last_book_ts: event time of the last book update, ns.
        """
        self.history.push(f.ts, f.mid, f.cvd)
        fresh = [s for g in self.generators if (s := g.update(f, self.history)) is not None]
        horizon = self.p.alive_half_lives * self.p.half_life_s * NS
        while self.live and f.ts - self.live[0].ts > horizon:
            self.live.popleft()
        self.live.extend(fresh)
        self.fused = fuse(list(self.live), f.ts, self.p)
        out = [self._validate(s, book_live, last_book_ts) for s in fresh]
        self.verdicts.extend(out)
        self.new_verdicts.extend(out)
        return out

    def _validate(self, s: Signal, book_live: bool, last_book_ts: int) -> Verdict:
        p = self.p
        if not book_live or s.ts - last_book_ts > p.stale_after_s * NS:
            return Verdict(s, False, "stale")
        if not in_session(s.ts, p.session_filter):
            return Verdict(s, False, "session")
        last = self._last_actionable.get(s.name)
        if last is not None and s.ts - last.ts < p.cooldown_s * NS:
            same_place = last.direction == s.direction and (
                math.isnan(s.price)
                or abs(s.price - last.price) <= p.dedup_ticks * self.tick_size + 1e-12
            )
            return Verdict(s, False, "dedup" if same_place else "cooldown")
        if self.fused.score * s.direction < p.min_confirmation:
            return Verdict(s, False, "unconfirmed")
        self._last_actionable[s.name] = s
        return Verdict(s, True)
