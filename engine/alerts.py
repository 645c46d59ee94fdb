"""Alert rules and their evaluation: pure, deterministic, for every market.

An :class:`AlertRule` (config ``[[alerts.rules]]``) is one of:

* ``score``: the fused signal score reaches ``|score| >= threshold``
  (``direction`` +1 long only, -1 short only, 0 either);
* ``signal``: a signal verdict arrives (actionable only by default), optionally
  only for the generator names in ``events``, the ``direction`` and a
  confidence of at least ``min_score``;
* ``detector``: a detector event of one of the kinds in ``events`` (all kinds
  when empty), on side ``direction`` (0 any), with score at least ``min_score``;
* ``price_above`` / ``price_below``: the last trade price (mid when there is
  none) crosses the level ``threshold`` between two evaluations;
* ``spread``: a live book's spread exceeds ``threshold`` bps;
* ``feed``: the market's book has not been ``LIVE`` for longer than
  ``threshold`` seconds.

Conditions (score, spread, feed) fire on their rising edge and re-arm when
the condition clears; a score that flips side while above the threshold is a
new edge. Every rule has a cooldown per market: after it fires for a market,
nothing more from that rule for that market until ``cooldown_s`` has passed.
Cooldowns run on event time (detector and signal timestamps, the snapshot's
time), so a replay raises exactly the alerts the live run raised; the feed
rule alone measures on the clock the caller passes as ``now`` (a dead feed
sends no events, so event time cannot measure how long it has been dead).

:class:`AlertEngine` keeps only this per-(rule, market) bookkeeping; it never
reads the wall clock and does no I/O: the App turns its :class:`Alert` records
into a bell, a notification, a log line or a webhook call.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tapescope.engine.detectors.base import DetectorEvent, DetectorKind
from tapescope.engine.events import FeedState
from tapescope.engine.signals.fusion import Verdict
from tapescope.engine.snapshot import MarketSnapshot

NAN = math.nan
NS = 1_000_000_000


class RuleKind(StrEnum):
    """What an alert rule watches."""

    SCORE = "score"
    """Fused signal score magnitude."""
    SIGNAL = "signal"
    """Signal verdicts."""
    DETECTOR = "detector"
    """Microstructure detector events."""
    PRICE_ABOVE = "price_above"
    """Price crossing a level upward."""
    PRICE_BELOW = "price_below"
    """Price crossing a level downward."""
    SPREAD = "spread"
    """Spread in basis points."""
    FEED = "feed"
    """Time the book has not been LIVE."""


class Severity(StrEnum):
    """How loudly an alert is announced (the App decides what each level does)."""

    INFO = "info"
    """Log and notify."""
    WARNING = "warning"
    """Log, notify, ring the bell."""
    CRITICAL = "critical"
    """As warning, with an error-styled notification."""


def _label(kind: RuleKind, threshold: float, direction: int, events: Sequence[str]) -> str:
    arrow = {1: " long", -1: " short"}.get(direction, "")
    if kind is RuleKind.SCORE:
        return f"score{arrow} >= {threshold:g}"
    if kind is RuleKind.SIGNAL:
        return "signal" + arrow + (f" {'/'.join(events)}" if events else "")
    if kind is RuleKind.DETECTOR:
        return "/".join(events) if events else "detector"
    if kind is RuleKind.PRICE_ABOVE:
        return f"price above {price_text(threshold)}"
    if kind is RuleKind.PRICE_BELOW:
        return f"price below {price_text(threshold)}"
    if kind is RuleKind.SPREAD:
        return f"spread > {threshold:g}bp"
    return f"feed down > {threshold:g}s"


#: Rule kinds whose ``threshold`` is required.
_NEEDS_THRESHOLD = frozenset(
    {RuleKind.SCORE, RuleKind.PRICE_ABOVE, RuleKind.PRICE_BELOW, RuleKind.SPREAD, RuleKind.FEED}
)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One alert rule (an item of ``[[alerts.rules]]``); see the module docstring per kind."""

    kind: RuleKind
    """What the rule watches: score, signal, detector, price_above, price_below, spread, feed (required)."""
    name: str = ""
    """Label shown with the alert; empty builds one from the rule."""
    markets: tuple[str, ...] = ()
    """Market keys ("venue:SYMBOL") or bare symbols the rule applies to; empty means every market."""
    threshold: float = NAN
    """score: |score| in (0, 1]; price_*: the level; spread: bps; feed: seconds (required by these)."""
    direction: int = field(default=0, metadata={"choices": [-1, 0, 1]})
    """score and signal: +1 long / -1 short only; detector: +1 bid / -1 ask side only; 0 any."""
    events: tuple[str, ...] = ()
    """detector: detector kinds; signal: generator names; empty means all."""
    min_score: float = field(default=0.0, metadata={"min": 0.0, "max": 1.0})
    """detector: minimum event score; signal: minimum confidence."""
    actionable_only: bool = True
    """signal: only verdicts that passed validation (false: filtered ones too)."""
    cooldown_s: float = field(default=60.0, metadata={"min": 0.0, "max": 86_400.0})
    """After firing for a market, the rule stays silent for that market this long."""
    severity: Severity = Severity.WARNING
    """info, warning or critical."""

    def __post_init__(self) -> None:
        kind = RuleKind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "severity", Severity(self.severity))
        object.__setattr__(self, "markets", tuple(self.markets))
        object.__setattr__(self, "events", tuple(self.events))
        t = self.threshold
        if kind in _NEEDS_THRESHOLD and not math.isfinite(t):
            raise ValueError(f"{kind.value} rule: a finite threshold is required, got {t!r}")
        if kind is RuleKind.SCORE and not 0.0 < t <= 1.0:
            raise ValueError(f"score rule: threshold must be in (0, 1], got {t!r}")
        if kind in (RuleKind.PRICE_ABOVE, RuleKind.PRICE_BELOW, RuleKind.SPREAD, RuleKind.FEED) \
                and t <= 0.0:
            raise ValueError(f"{kind.value} rule: threshold must be > 0, got {t!r}")
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"direction must be -1, 0 or 1, got {self.direction!r}")
        if kind is RuleKind.DETECTOR:
            known = {k.value for k in DetectorKind}
            bad = [e for e in self.events if e not in known]
            if bad:
                raise ValueError(f"detector rule: unknown event kinds {bad}; known: {sorted(known)}")
        elif self.events and kind is not RuleKind.SIGNAL:
            raise ValueError(f"{kind.value} rule: 'events' only applies to detector and signal rules")

    @property
    def label(self) -> str:
        """The rule's name, or one built from its kind and threshold.

        >>> AlertRule(RuleKind.SPREAD, threshold=20).label, AlertRule(RuleKind.SIGNAL, name="mine").label
        ('spread > 20bp', 'mine')
        """
        return self.name or _label(self.kind, self.threshold, self.direction, self.events)

    def applies_to(self, key: str) -> bool:
        """Whether the rule watches market ``key`` (a key or its bare symbol listed).

        >>> r = AlertRule(RuleKind.SIGNAL, markets=("BTCUSDT", "okx:ETH-USDT"))
        >>> r.applies_to("binance:BTCUSDT"), r.applies_to("okx:ETH-USDT"), r.applies_to("x:ETH")
        (True, True, False)
        """
        if not self.markets:
            return True
        return key in self.markets or key.partition(":")[2] in self.markets


@dataclass(frozen=True, slots=True)
class Alert:
    """One raised alert."""

    key: str
    """Market key."""
    ts: int
    """When it fired: event time, ns (receive-clock time for feed rules)."""
    rule: str
    """Label of the rule that fired."""
    kind: RuleKind
    """Rule kind."""
    severity: Severity
    """How loudly to announce it."""
    message: str
    """One line naming the values that fired."""
    direction: int = 0
    """+1 long/bid/up, -1 short/ask/down, 0 none."""
    price: float = NAN
    """Price the alert refers to (level, print, mid), ``nan`` if none."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (webhook payloads). ``nan`` becomes ``None``.

        >>> Alert("sim:X", 5, "r", RuleKind.FEED, Severity.INFO, "m").to_json()["price"] is None
        True
        """
        return {
            "key": self.key,
            "ts": self.ts,
            "rule": self.rule,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "message": self.message,
            "direction": self.direction,
            "price": self.price if math.isfinite(self.price) else None,
        }


def drain(queue: deque[DetectorEvent | Verdict]) -> list[DetectorEvent | Verdict]:
    """Take every pending item out of a ``MarketAnalysis.alerts`` queue. ``O(items)``.

    >>> q = deque([1, 2]); drain(q), len(q)
    ([1, 2], 0)
    """
    items = list(queue)
    queue.clear()
    return items


def num(x: float) -> str:
    """A size or volume in 3 significant digits with a k/M/G suffix; prices use :func:`price_text`.

    >>> num(1659160.0), num(324.376), num(0.0123), num(12.0)
    ('1.66M', '324', '0.0123', '12')
    """
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def price_text(x: float) -> str:
    """A price with up to 10 significant digits and no exponent for usual prices.

    >>> price_text(101234.5), price_text(0.11996), price_text(60000.0)
    ('101234.5', '0.11996', '60000')
    """
    return f"{x:.10g}"


def _side(direction: int) -> str:
    return {1: "long", -1: "short"}.get(direction, "")


def _price_of(snap: MarketSnapshot) -> float:
    p = snap.last_price
    return p if math.isfinite(p) else snap.mid


class AlertEngine:
    """Evaluates alert rules for every market, with cooldowns and edge tracking.

    >>> eng = AlertEngine([AlertRule(RuleKind.FEED, threshold=5, cooldown_s=0)])
    >>> from tapescope.engine.instrument import Instrument
    >>> snap = MarketSnapshot(Instrument("sim", "X"), state=FeedState.DISCONNECTED)
    >>> eng.evaluate("sim:X", snap, now=0), len(eng.evaluate("sim:X", snap, now=5 * NS))
    ([], 1)
    """

    def __init__(self, rules: Iterable[AlertRule]) -> None:
        """Create an engine for ``rules`` (evaluated in order)."""
        self.rules: tuple[AlertRule, ...] = tuple(rules)
        """The rules."""
        self.fired: int = 0
        """Alerts raised so far."""
        self.suppressed: int = 0
        """Triggers swallowed by a cooldown."""
        self._last: dict[tuple[int, str], int] = {}  # (rule, key) -> time it last fired
        self._edge: dict[tuple[int, str], int] = {}  # (rule, key) -> last condition state
        self._price: dict[str, float] = {}  # key -> price at the previous evaluation
        self._down_since: dict[str, int] = {}  # key -> first now seen not LIVE

    def evaluate(
        self,
        key: str,
        snapshot: MarketSnapshot,
        fresh_items: Iterable[DetectorEvent | Verdict] = (),
        now: int | None = None,
    ) -> list[Alert]:
        """Every alert market ``key`` raises now.

        Args:
            key: market key.
            snapshot: the market now (any ladder size will do).
            fresh_items: detector events and verdicts raised since the last
                call for this market (:func:`drain` of ``MarketAnalysis.alerts``).
            now: time for feed rules, ns (the App's receive clock); defaults
                to ``snapshot.ts``.

        Returns:
            The alerts, in rule order then item order.

        Runtime complexity: ``O(rules * (1 + items))``.
        """
        if now is None:
            now = snapshot.ts
        items = list(fresh_items)
        out: list[Alert] = []
        state = snapshot.state
        if state == FeedState.LIVE:
            self._down_since.pop(key, None)
        else:
            self._down_since.setdefault(key, now)
        price = _price_of(snapshot)
        prev_price = self._price.get(key, NAN)
        for i, rule in enumerate(self.rules):
            if not rule.applies_to(key):
                continue
            kind = rule.kind
            if kind is RuleKind.DETECTOR:
                for item in items:
                    if isinstance(item, DetectorEvent) and self._detector_match(rule, item):
                        self._fire(out, i, rule, key, item.ts, self._detector_message(item),
                                   item.side, item.price)
            elif kind is RuleKind.SIGNAL:
                for item in items:
                    if isinstance(item, Verdict) and self._signal_match(rule, item):
                        s = item.signal
                        self._fire(out, i, rule, key, s.ts, self._signal_message(item),
                                   s.direction, s.price)
            elif kind is RuleKind.SCORE:
                fused = snapshot.analysis.fused if snapshot.analysis is not None else None
                score = fused.score if fused is not None else 0.0
                on = 0
                if abs(score) >= rule.threshold and score != 0.0:
                    sign = 1 if score > 0 else -1
                    on = sign if rule.direction in (0, sign) else 0
                if self._edge_up(i, key, on):
                    assert fused is not None
                    msg = (f"fused score {score:+.2f} (conf {fused.confidence:.2f}, "
                           f"{fused.alive} signals{', conflict' if fused.conflict else ''})")
                    self._fire(out, i, rule, key, snapshot.ts, msg, on, snapshot.mid)
            elif kind is RuleKind.SPREAD:
                bps = snapshot.flow.spread_bps
                on = int(state == FeedState.LIVE and bps > rule.threshold)
                if self._edge_up(i, key, on):
                    msg = f"spread {bps:.2f}bp > {rule.threshold:g}bp"
                    self._fire(out, i, rule, key, snapshot.ts, msg, 0, snapshot.mid)
            elif kind is RuleKind.FEED:
                since = self._down_since.get(key)
                down_ns = now - since if since is not None else 0
                on = int(since is not None and down_ns >= rule.threshold * NS)
                if self._edge_up(i, key, on):
                    reason = f" ({snapshot.state_reason})" if snapshot.state_reason else ""
                    msg = f"feed {state.name} for {down_ns / NS:.0f}s{reason}"
                    self._fire(out, i, rule, key, now, msg, 0, NAN)
            else:
                level = rule.threshold
                up = kind is RuleKind.PRICE_ABOVE
                crossed = (prev_price < level <= price) if up else (prev_price > level >= price)
                if crossed:
                    word = "above" if up else "below"
                    msg = f"price {price_text(price)} crossed {word} {price_text(level)}"
                    self._fire(out, i, rule, key, snapshot.ts, msg, 1 if up else -1, price)
        if math.isfinite(price):
            self._price[key] = price
        return out

    def forget_position(self, key: str) -> None:
        """Forget market ``key``'s last price and fire times (a replay seek jumped its event time).

        A jump is not a move: the next evaluation must not see a price cross
        between the old and the new position, and cooldowns measured in event
        time must not hold back alerts after a jump back. Condition edges are
        kept. ``O(rules)``.

        >>> from tapescope.engine.instrument import Instrument
        >>> eng = AlertEngine([AlertRule(RuleKind.FEED, threshold=5, cooldown_s=60)])
        >>> eng._last[(0, "sim:X")] = 10 * NS; eng._price["sim:X"] = 1.0
        >>> eng.forget_position("sim:X"); eng._last, eng._price
        ({}, {})
        """
        self._price.pop(key, None)
        for i in range(len(self.rules)):
            self._last.pop((i, key), None)

    # -- helpers ------------------------------------------------------------

    def _edge_up(self, i: int, key: str, on: int) -> bool:
        """Record condition state ``on`` (0 off, else a sign); True on a new non-zero state."""
        prev = self._edge.get((i, key), 0)
        self._edge[(i, key)] = on
        return on != 0 and on != prev

    def _fire(self, out: list[Alert], i: int, rule: AlertRule, key: str, ts: int, message: str,
              direction: int, price: float) -> None:
        last = self._last.get((i, key))
        if last is not None and ts - last < rule.cooldown_s * NS:
            self.suppressed += 1
            return
        self._last[(i, key)] = ts
        self.fired += 1
        out.append(Alert(key, ts, rule.label, rule.kind, rule.severity, message, direction, price))

    @staticmethod
    def _detector_match(rule: AlertRule, ev: DetectorEvent) -> bool:
        return ((not rule.events or ev.kind.value in rule.events)
                and (rule.direction == 0 or ev.side == rule.direction)
                and ev.score >= rule.min_score)

    @staticmethod
    def _signal_match(rule: AlertRule, v: Verdict) -> bool:
        s = v.signal
        return ((v.actionable or not rule.actionable_only)
                and (not rule.events or s.name in rule.events)
                and (rule.direction == 0 or s.direction == rule.direction)
                and s.confidence >= rule.min_score)

    @staticmethod
    def _detector_message(ev: DetectorEvent) -> str:
        side = {1: "bid", -1: "ask"}.get(ev.side, "")
        head = " ".join(x for x in (ev.kind.value, side, price_text(ev.price)) if x)
        size = f" size {num(ev.size)}" if ev.size else ""
        detail = f": {ev.detail}" if ev.detail else ""
        return f"{head}{size} score {ev.score:.2f}{detail}"

    @staticmethod
    def _signal_message(v: Verdict) -> str:
        s = v.signal
        state = "actionable" if v.actionable else f"filtered: {v.filtered_by}"
        reasons = f" ({'; '.join(s.reasons)})" if s.reasons else ""
        return (f"{s.name} {_side(s.direction)} strength {s.strength:.2f} "
                f"conf {s.confidence:.2f} [{state}]{reasons}")
