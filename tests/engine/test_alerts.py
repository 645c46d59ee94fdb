"""Alert rules: each kind fires exactly when the hand-worked sequence says, and cooldowns hold."""

from __future__ import annotations

import math
from collections import deque

import pytest

from tapescope.engine.alerts import Alert, AlertEngine, AlertRule, RuleKind, Severity, drain
from tapescope.engine.analysis import MarketAnalysis
from tapescope.engine.detectors.base import DetectorEvent, DetectorKind
from tapescope.engine.events import BookSnapshot, FeedState
from tapescope.engine.instrument import Instrument
from tapescope.engine.market import Market
from tapescope.engine.signals.base import Signal
from tapescope.engine.signals.fusion import FusedScore, Verdict
from tapescope.engine.snapshot import AnalysisSnapshot, FlowSnapshot, MarketSnapshot

S = 1_000_000_000
KEY = "sim:X"
INST = Instrument("sim", "X", tick_size=0.5)
NAN = math.nan


def snap(t: float, *, score: float = 0.0, price: float = NAN, spread_bps: float = 1.0,
         state: FeedState = FeedState.LIVE, reason: str = "") -> MarketSnapshot:
    return MarketSnapshot(
        INST, ts=int(t * S), state=state, state_reason=reason,
        best_bid=(99.5, 1.0), best_ask=(100.0, 1.0), last_price=price,
        flow=FlowSnapshot(spread_bps=spread_bps),
        analysis=AnalysisSnapshot(fused=FusedScore(score, 0.5, False, 2)),
    )


def fired_at(eng: AlertEngine, seq) -> list[tuple[float, int]]:
    """Feed ``(snapshot, items)`` pairs; return (time s, direction) of every alert."""
    out = []
    for s, items in seq:
        for a in eng.evaluate(KEY, s, items):
            out.append((a.ts / S, a.direction))
    return out


def test_score_rule_fires_on_rising_edges_and_respects_cooldown() -> None:
    either = AlertEngine([AlertRule(RuleKind.SCORE, threshold=0.5, cooldown_s=10)])
    short = AlertEngine([AlertRule(RuleKind.SCORE, threshold=0.5, direction=-1, cooldown_s=10)])
    scores = [(1, 0.3), (2, 0.6), (3, 0.7), (4, -0.6), (5, 0.2), (13, 0.55), (14, 0.5), (15, 0.49)]
    seq = [(snap(t, score=x), ()) for t, x in scores]
    # t=2 first edge; t=3 still on; t=4 flips side (a new edge) but 2 s after t=2: cooldown;
    # t=5 clears; t=13 new edge 11 s after the last alert: fires; 0.5 is >= 0.5: still on.
    assert fired_at(either, seq) == [(2.0, 1), (13.0, 1)]
    assert either.suppressed == 1 and either.fired == 2
    assert fired_at(short, seq) == [(4.0, -1)]


def test_score_alert_text_names_the_values() -> None:
    eng = AlertEngine([AlertRule(RuleKind.SCORE, threshold=0.5, severity=Severity.CRITICAL)])
    (a,) = eng.evaluate(KEY, snap(1, score=-0.625))
    assert a.message == "fused score -0.62 (conf 0.50, 2 signals)"
    assert a.rule == "score >= 0.5" and a.severity is Severity.CRITICAL and a.price == 99.75


def ev(kind: DetectorKind, t: float, side: int, score: float) -> DetectorEvent:
    return DetectorEvent(kind, int(t * S), side, 101.0, 40.0, score, "why")


def test_detector_rule_kinds_side_score_and_cooldown() -> None:
    eng = AlertEngine([AlertRule(RuleKind.DETECTOR, events=("spoof", "iceberg"), direction=-1,
                                 min_score=0.5, cooldown_s=30)])
    items = [
        ev(DetectorKind.SPOOF, 100, -1, 0.8),    # fires
        ev(DetectorKind.ICEBERG, 110, -1, 0.9),  # matches, 10 s after: cooldown
        ev(DetectorKind.WALL, 111, -1, 1.0),     # kind not listed
        ev(DetectorKind.SPOOF, 112, 1, 1.0),     # bid side
    ]
    later = [
        ev(DetectorKind.SPOOF, 140, -1, 0.4),    # score below 0.5
        ev(DetectorKind.ICEBERG, 131, -1, 0.6),  # 31 s after 100: fires
    ]
    got = fired_at(eng, [(snap(110), items), (snap(140), later)])
    assert got == [(100.0, -1), (131.0, -1)] and eng.suppressed == 1
    a = AlertEngine([AlertRule(RuleKind.DETECTOR)]).evaluate(KEY, snap(1), items[:1])[0]
    assert a.message == "spoof ask 101 size 40 score 0.80: why" and a.price == 101.0
    assert a.rule == "detector"


def verdict(t: float, actionable: bool, name: str = "trap", direction: int = 1,
            conf: float = 0.7) -> Verdict:
    sig = Signal(KEY, int(t * S), name, direction, 0.8, conf, ("delta +50",), 100.0)
    return Verdict(sig, actionable, "" if actionable else "cooldown")


def test_signal_rule_actionable_only_by_default() -> None:
    items = [verdict(1, False), verdict(2, True), verdict(3, True, name="level_play"),
             verdict(4, True, conf=0.3)]
    only = AlertEngine([AlertRule(RuleKind.SIGNAL, events=("trap",), cooldown_s=0, min_score=0.5)])
    assert fired_at(only, [(snap(5), items)]) == [(2.0, 1)]
    every = AlertEngine([AlertRule(RuleKind.SIGNAL, actionable_only=False, cooldown_s=0)])
    assert fired_at(every, [(snap(5), items)]) == [(1.0, 1), (2.0, 1), (3.0, 1), (4.0, 1)]
    (a,) = AlertEngine([AlertRule(RuleKind.SIGNAL, actionable_only=False)]).evaluate(
        KEY, snap(5), items[:1])
    assert a.message == "trap long strength 0.80 conf 0.70 [filtered: cooldown] (delta +50)"


def test_price_cross_above_and_below() -> None:
    above = AlertEngine([AlertRule(RuleKind.PRICE_ABOVE, threshold=100.0, cooldown_s=0)])
    below = AlertEngine([AlertRule(RuleKind.PRICE_BELOW, threshold=100.0, cooldown_s=0)])
    held = AlertEngine([AlertRule(RuleKind.PRICE_ABOVE, threshold=100.0, cooldown_s=60)])
    # First evaluation uses mid (no trade yet, 99.75) and only sets the reference.
    prices = [(1, NAN), (2, 99.5), (3, 100.0), (4, 101.0), (5, 99.0), (6, 100.5), (7, 100.0)]
    seq = [(snap(t, price=p), ()) for t, p in prices]
    # above: 99.5 -> 100 reaches the level (fires), 99 -> 100.5 crosses again.
    assert fired_at(above, seq) == [(3.0, 1), (6.0, 1)]
    # below: 101 -> 99 crosses; 100.5 -> 100 reaches the level from above.
    assert fired_at(below, seq) == [(5.0, -1), (7.0, -1)]
    assert fired_at(held, seq) == [(3.0, 1)] and held.suppressed == 1
    # Already above at the first look: no cross, no alert.
    fresh = AlertEngine([AlertRule(RuleKind.PRICE_ABOVE, threshold=100.0)])
    assert fired_at(fresh, [(snap(1, price=105.0), ()), (snap(2, price=106.0), ())]) == []


def test_spread_rule_edges_and_only_on_live_books() -> None:
    eng = AlertEngine([AlertRule(RuleKind.SPREAD, threshold=20.0, cooldown_s=5)])
    seq = [(snap(t, spread_bps=b, state=st), ()) for t, b, st in [
        (1, 5.0, FeedState.LIVE), (2, 25.0, FeedState.LIVE), (3, 30.0, FeedState.LIVE),
        (4, 10.0, FeedState.LIVE), (5, 25.0, FeedState.LIVE),     # re-armed, but cooldown (3 s)
        (6, 10.0, FeedState.LIVE), (8, 40.0, FeedState.RESYNCING),  # not live: no alert
        (9, 21.0, FeedState.LIVE),                                 # edge, 7 s after: fires
    ]]
    assert fired_at(eng, seq) == [(2.0, 0), (9.0, 0)]
    assert eng.suppressed == 1


def test_feed_rule_measures_on_the_callers_clock() -> None:
    eng = AlertEngine([AlertRule(RuleKind.FEED, threshold=10.0, cooldown_s=15,
                                 severity=Severity.CRITICAL)])
    # Event time is frozen while the feed is down (no events): only ``now`` moves.
    steps = [(0, FeedState.LIVE), (1, FeedState.DISCONNECTED), (10, FeedState.DISCONNECTED),
             (11, FeedState.RESYNCING), (20, FeedState.RESYNCING), (21, FeedState.LIVE),
             (22, FeedState.STALE), (31, FeedState.STALE), (32, FeedState.STALE),
             (33, FeedState.LIVE), (34, FeedState.STALE), (50, FeedState.STALE)]
    got = []
    for now, st in steps:
        for a in eng.evaluate(KEY, snap(5, state=st, reason="gap"), now=now * S):
            got.append((now, a.message))
    # Down since 1: 9 s at 10, 10 s at 11 fires; once per outage. Down again from 22: 10 s
    # at 32 fires (21 s after 11, past the 15 s cooldown). Down from 34: 16 s at 50, and
    # 18 s after 32: fires.
    assert got == [(11, "feed RESYNCING for 10s (gap)"), (32, "feed STALE for 10s (gap)"),
                   (50, "feed STALE for 16s (gap)")]


def test_feed_rule_cooldown_suppresses_a_quick_second_outage() -> None:
    eng = AlertEngine([AlertRule(RuleKind.FEED, threshold=2.0, cooldown_s=60)])
    steps = [(0, FeedState.STALE), (2, FeedState.STALE), (3, FeedState.LIVE),
             (4, FeedState.STALE), (7, FeedState.STALE)]
    got = [now for now, st in steps for _ in eng.evaluate(KEY, snap(1, state=st), now=now * S)]
    assert got == [2] and eng.suppressed == 1


def test_rules_apply_per_market_with_separate_cooldowns() -> None:
    eng = AlertEngine([AlertRule(RuleKind.SCORE, threshold=0.5, markets=("X",)),
                       AlertRule(RuleKind.SCORE, threshold=0.5, markets=("okx:Y",))])
    a = eng.evaluate("sim:X", snap(1, score=0.9))
    b = eng.evaluate("okx:Y", snap(1, score=0.9))
    c = eng.evaluate("okx:Z", snap(1, score=0.9))
    assert [x.key for x in a] == ["sim:X"] and [x.key for x in b] == ["okx:Y"] and c == []


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": RuleKind.SCORE, "threshold": 0.0}, "threshold must be in (0, 1]"),
    ({"kind": RuleKind.SCORE, "threshold": 1.5}, "threshold must be in (0, 1]"),
    ({"kind": RuleKind.SPREAD, "threshold": 0.0}, "threshold must be > 0"),
    ({"kind": RuleKind.PRICE_ABOVE}, "a finite threshold is required"),
    ({"kind": RuleKind.DETECTOR, "events": ("spoofing",)}, "unknown event kinds"),
    ({"kind": RuleKind.SPREAD, "threshold": 5.0, "events": ("spoof",)}, "only applies"),
    ({"kind": RuleKind.SCORE, "threshold": 0.5, "direction": 2}, "direction must be"),
])
def test_bad_rules_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("]", r"\]")):
        AlertRule(**kwargs)


def test_rules_accept_plain_strings_from_config() -> None:
    r = AlertRule("detector", events=["spoof"], severity="info")  # type: ignore[arg-type]
    assert r.kind is RuleKind.DETECTOR and r.severity is Severity.INFO and r.events == ("spoof",)


def test_alert_json_payload() -> None:
    a = Alert(KEY, 7, "r", RuleKind.PRICE_ABOVE, Severity.WARNING, "m", 1, 100.5)
    assert a.to_json() == {"key": KEY, "ts": 7, "rule": "r", "kind": "price_above",
                           "severity": "warning", "message": "m", "direction": 1, "price": 100.5}


def test_drain_takes_the_analysis_queue() -> None:
    m = Market(INST)
    analysis = MarketAnalysis.attach(m)
    m.on_event(BookSnapshot(KEY, S, 0, [(99.5, 1.0)], [(100.0, 1.0)]))
    item = ev(DetectorKind.VACUUM, 1, 0, 0.9)
    analysis.alerts.append(item)
    assert drain(analysis.alerts) == [item] and len(analysis.alerts) == 0
    assert drain(deque()) == []


def test_cooldown_boundary_is_inclusive() -> None:
    eng = AlertEngine([AlertRule(RuleKind.DETECTOR, cooldown_s=30)])
    items = [ev(DetectorKind.SPOOF, 100, 1, 1.0),
             DetectorEvent(DetectorKind.SPOOF, 130 * S - 1, 1, 101.0, 1.0, 1.0),  # 1 ns early
             ev(DetectorKind.SPOOF, 130, 1, 1.0)]                                # exactly 30 s
    assert fired_at(eng, [(snap(130), items)]) == [(100.0, 1), (130.0, 1)]
    assert eng.suppressed == 1
