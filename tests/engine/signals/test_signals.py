"""Signal generators, fusion and validation on crafted per-second feature sequences."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from tapescope.engine.detectors.base import DetectorEvent, DetectorKind
from tapescope.engine.signals.base import Features, Signal, SignalParams
from tapescope.engine.signals.fusion import FusedScore, SignalEngine, fuse, in_session
from tapescope.engine.signals.generators import (
    CompressionBreakout,
    FlowInflection,
    History,
    LevelPlay,
    LiquidityFulcrum,
    Trap,
    VoidSwept,
    VolatilityStress,
)

S = 1_000_000_000
P = SignalParams()


def feats(sec: int, mid: float, **kw) -> Features:
    base = dict(
        symbol="sim:X",
        ts=sec * S,
        mid=mid,
        tick=0.1,
        delta_short=0.0,
        delta_mid=0.0,
        ofi=0.0,
        cvd=0.0,
    )
    base.update(kw)
    return Features(**base)


def run(gen, seq: list[Features]) -> list[tuple[int, Signal]]:
    h = History(P.range_lookback_s)
    out = []
    for f in seq:
        h.push(f.ts, f.mid, f.cvd)
        s = gen.update(f, h)
        if s is not None:
            out.append((f.ts // S, s))
    return out


def flat(n: int, mid: float = 100.0, **kw) -> list[Features]:
    """n seconds oscillating inside [99.5, 100.5]."""
    return [feats(i, mid + (0.5 if i % 2 else -0.5), **kw) for i in range(n)]


def test_compression_breakout_up_with_flow() -> None:
    seq = flat(60, vol_state="COMPRESSED")
    seq.append(feats(60, 101.0, vol_state="NORMAL", delta_mid=50.0, ofi=10.0, delta_short=5.0))
    ((sec, s),) = run(CompressionBreakout(P), seq)
    # range [99.5, 100.5], width 1; 101.0 is 0.5 above the high: strength 0.5; 3 of 3 flows agree.
    assert (sec, s.direction, s.strength, s.confidence) == (
        60,
        1,
        pytest.approx(0.5),
        pytest.approx(1.0),
    )
    assert "COMPRESSED" in s.reasons[0]


@pytest.mark.parametrize(
    ("state", "delta", "ofi", "fires"),
    [
        ("NORMAL", 50.0, 10.0, False),
        ("COMPRESSED", -50.0, 10.0, False),
        ("COMPRESSED", 50.0, -1.0, False),
    ],
)
def test_compression_breakout_needs_compression_and_agreeing_flow(state, delta, ofi, fires) -> None:
    seq = flat(60, vol_state=state)
    seq.append(feats(60, 101.0, delta_mid=delta, ofi=ofi))
    assert bool(run(CompressionBreakout(P), seq)) is fires


def test_flow_inflection_on_delta_flip() -> None:
    seq = [feats(i, 100.0, delta_short=2.0 if i % 2 else -2.0) for i in range(20)]
    seq.append(feats(20, 100.4, delta_short=12.0, delta_flip=1, ofi=3.0))
    ((sec, s),) = run(FlowInflection(P), seq)
    # median |delta| = 2 -> strength 12/6 capped at 1; OFI agrees, price up over 10 s: conf 1.0
    assert (sec, s.direction, s.strength, s.confidence) == (20, 1, 1.0, 1.0)


def test_flow_inflection_on_bullish_divergence_at_new_low() -> None:
    # Price drifts down with CVD falling to -40 at the low 99.0 (second 20)...
    seq = [feats(i, 100.0 - i * 0.05, cvd=-2.0 * i) for i in range(21)]
    # ...then bounces with CVD recovering, and at second 40 a new low 98.9 prints with CVD only -10.
    seq += [feats(i, 99.5, cvd=-40.0 + (i - 20) * 1.5) for i in range(21, 40)]
    seq.append(feats(40, 98.9, cvd=-10.0, delta_short=1.0))
    ((sec, s),) = run(FlowInflection(P), seq)
    # CVD range over the history = 0 - (-40) = 40; gap = -10 - (-40) = 30 -> strength 0.75; conf 0.6 + 0.2
    assert (sec, s.direction) == (40, 1)
    assert s.strength == pytest.approx(0.75) and s.confidence == pytest.approx(0.8)


def test_liquidity_fulcrum_needs_a_wall_or_level_at_the_absorption() -> None:
    absorb = DetectorEvent(DetectorKind.ABSORPTION, 5 * S, 1, 99.9, 30.0, 0.7, "30 sold into bid")
    at_wall = feats(5, 100.0, walls=((1, 99.9, 50.0),), events=(absorb,))
    ((_, s),) = run(LiquidityFulcrum(P), [at_wall])
    assert (s.direction, s.strength, s.confidence) == (1, 0.7, 0.75)
    both = replace(at_wall, poc=100.1)  # within 3 ticks of 99.9
    assert run(LiquidityFulcrum(P), [both])[0][1].confidence == 1.0
    nowhere = replace(at_wall, walls=(), poc=105.0)
    assert run(LiquidityFulcrum(P), [nowhere]) == []


def test_volatility_stress_once_per_episode_following_the_move() -> None:
    seq = [feats(i, 100.0 - 0.1 * i, rv_z=0.0, spread_z=0.0) for i in range(15)]
    seq += [feats(15, 98.0, rv_z=3.0, spread_z=5.0), feats(16, 97.9, rv_z=3.5, spread_z=5.0)]
    ((sec, s),) = run(VolatilityStress(P), seq)
    assert (sec, s.direction, s.strength, s.confidence) == (15, -1, pytest.approx(3.0 / 4.0), 0.5)


def test_level_play_support_at_vwap() -> None:
    seq = [feats(i, 101.0, vwap=100.0) for i in range(10)]
    seq.append(feats(10, 100.2, vwap=100.0, delta_short=4.0, delta_mid=8.0, ofi=1.0))
    ((sec, s),) = run(LevelPlay(P), seq)
    # came from above (101 ten seconds ago), now within 3 ticks, buyers: long; strength 4/8; OFI agrees
    assert (sec, s.direction, s.strength, s.confidence) == (10, 1, 0.5, 1.0)
    assert "VWAP" in s.reasons[0]


def test_void_swept_through_vacuum() -> None:
    seq = [feats(i, 100.0) for i in range(10)]
    seq.append(feats(10, 99.8, vacuum=True, delta_short=-3.0, ofi=-1.0))
    ((sec, s),) = run(VoidSwept(P), seq)
    # -20 bps in 5 s: strength 20 / 30; OFI agrees
    assert (sec, s.direction, s.strength, s.confidence) == (10, -1, pytest.approx(2 / 3), 1.0)
    seq.append(feats(11, 99.6, vacuum=True, delta_short=-3.0))
    assert len(run(VoidSwept(P), seq)) == 1  # once per vacuum


def test_trap_failed_breakout_reverses() -> None:
    seq = flat(100)
    seq.append(feats(100, 100.9))  # breaks above 100.5 + 2 ticks
    seq.append(
        feats(110, 100.3, delta_short=-5.0, delta_mid=-1.0, ofi=-2.0)
    )  # back inside with selling
    ((sec, s),) = run(Trap(P), seq)
    # edge 100.5, back 0.2 inside of a 1.0 range: strength 0.7; OFI and 60 s delta oppose: conf 1
    assert (sec, s.direction, s.strength, s.confidence) == (110, -1, pytest.approx(0.7), 1.0)


def test_fuse_hand_computed_with_decay_and_conflict() -> None:
    p = SignalParams(half_life_s=10.0, weights={"a": 2.0, "b": 1.0})
    long_ = Signal("x", 0, "a", 1, 0.5, 0.9)
    short = Signal("x", 10 * S, "b", -1, 1.0, 0.7)
    f = fuse([long_, short], 10 * S, p)
    # num = 2*1*0.5*0.9*0.5 + 1*(-1)*1*0.7*1 = 0.45 - 0.7 = -0.25; den = 3
    assert f.score == pytest.approx(-0.25 / 3)
    # conf = (2*0.5*0.9 + 1*1*0.7) / (2*0.5 + 1) = 1.6/2 = 0.8, cut by min(0.9, 0.7): 0.8*0.3
    assert f.conflict and f.confidence == pytest.approx(0.8 * 0.3)
    assert fuse([long_], 41 * S, p) == FusedScore()  # older than 4 half-lives
    assert fuse([], 0, p) == FusedScore()


def test_validation_steps() -> None:
    p = SignalParams(cooldown_s=60, min_confirmation=0.05, dedup_ticks=5)
    eng = SignalEngine(p, tick_size=0.1)

    def sig(sec, d=1, price=100.0, name="trap"):
        return Signal("x", sec * S, name, d, 1.0, 1.0, ("r",), price)

    eng.fused = FusedScore(0.5, 1.0, False, 1)
    assert eng._validate(sig(0), book_live=False, last_book_ts=0).filtered_by == "stale"
    assert (
        eng._validate(sig(10), book_live=True, last_book_ts=0).filtered_by == "stale"
    )  # 10 s > 5 s
    assert eng._validate(sig(1), True, 0).actionable
    assert eng._validate(sig(20, price=100.3), True, 20 * S).filtered_by == "dedup"  # 3 ticks away
    assert eng._validate(sig(20, price=102.0), True, 20 * S).filtered_by == "cooldown"
    assert eng._validate(sig(62, price=100.3), True, 62 * S).actionable  # cooldown over
    eng.fused = FusedScore(-0.5, 1.0, False, 1)
    assert eng._validate(sig(200), True, 200 * S).filtered_by == "unconfirmed"
    p2 = SignalParams(session_filter="london")
    eng2 = SignalEngine(p2, tick_size=0.1)
    eng2.fused = FusedScore(0.5, 1.0, False, 1)
    assert eng2._validate(sig(3 * 3600), True, 3 * 3600 * S).filtered_by == "session"  # 03:00 UTC
    assert in_session(21 * 3600 * S, "london_new_york") and not in_session(
        22 * 3600 * S, "new_york"
    )


def test_engine_step_fuses_and_records_verdicts() -> None:
    eng = SignalEngine(P, tick_size=0.1)
    seq = flat(60, vol_state="COMPRESSED")
    seq.append(feats(60, 101.0, delta_mid=50.0, ofi=10.0, delta_short=5.0))
    verdicts = []
    for f in seq:
        verdicts += eng.step(f, book_live=True, last_book_ts=f.ts)
    names = [v.signal.name for v in verdicts]
    assert "compression_breakout" in names
    v = next(v for v in verdicts if v.signal.name == "compression_breakout")
    assert v.actionable
    # 1.0 weight, strength 0.5, conf 1 plus any other live signals: the score leans long
    assert eng.fused.score > 0 and not math.isnan(eng.fused.confidence)
