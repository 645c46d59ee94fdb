"""Every labelled episode is really present in the emitted events.

Each checker re-derives an episode from the event stream alone (an engine
Book rebuilt from the deltas, and the trades) with the definitions of
detectors.md, so a label the events do not back fails here. They run on
injected episodes (both sides, three tick regimes) and on the random ones.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, Trade
from tapescope.feeds.sim import EpisodeLabel, EpisodeParams, SimFeed, SimParams

S = 1_000_000_000
EPS = 1e-9

#: When each injected episode is scheduled (s after start); each waits for the one before.
PLAN = [("absorption", 130), ("wall", 150), ("spoof", 190), ("iceberg", 230), ("vacuum", 330)]
END_S = 380


@dataclass
class Session:
    key: str
    side: int
    tick: float
    feed: SimFeed
    events: list

    def all(self, kind: str) -> list[EpisodeLabel]:
        return [lab for lab in self.feed.labels if lab.kind == kind and lab.key == self.key]

    def one(self, kind: str) -> EpisodeLabel:
        labs = self.all(kind)
        assert labs, f"no {kind} label"
        return labs[0]


@pytest.fixture(
    scope="module", params=[("ETH-SIM", 1), ("DOGE-SIM", -1), ("BTC-SIM", -1)], ids=lambda p: p[0]
)
def session(request, quiet) -> Session:
    symbol, side = request.param
    feed = SimFeed(quiet(symbol, seed=5), realtime=False)
    key = f"sim:{symbol}"
    t0 = feed.start_ns
    for kind, at in PLAN:
        feed.inject(kind, key, t0 + at * S, side=side)
    feed.inject("regime_change", key, t0 + 370 * S, vol="LOW", market="TREND_UP")
    events = list(feed.generate(END_S))
    return Session(key, side, feed.instruments[0].tick_size, feed, events)


def _side_book(book, side):
    return book.bids if side > 0 else book.asks


def _touch(book, side):
    return book.best_bid()[0] if side > 0 else book.best_ask()[0]


def _median_within_1pct(book, side, exclude):
    mid = book.mid()
    levels = _side_book(book, side)
    return statistics.median(
        q for px, q in levels.items() if abs(px - mid) / mid <= 0.01 and px != exclude
    )


# -- checkers ---------------------------------------------------------------------------


def check_wall(lab, events, key, tick, replay) -> None:
    p, size = lab.price, lab.extra["size"]
    assert lab.duration_ns >= 5 * S
    started = ended = False
    last = 0.0
    for ev, book in replay(events, key):
        if type(ev) is not BookDelta:
            continue
        levels = _side_book(book, lab.side)
        now = levels.get(p, 0.0)
        if ev.ts < lab.start_ns:
            last = now
            continue
        if ev.ts == lab.start_ns and not started:
            started = True
            mid = book.mid()
            assert now - last >= size - EPS
            assert abs(p - mid) / mid <= 0.01
            assert now >= 5 * _median_within_1pct(book, lab.side, p)
        if ev.ts < lab.end_ns:
            assert now >= size - EPS, f"wall gone at {(ev.ts - lab.start_ns) / S:.2f}s"
        else:
            assert last - now >= size - EPS  # the wall was pulled at end_ns
            ended = True
            break
        last = now
    assert started and ended


def check_spoof(lab, events, key, tick, replay) -> None:
    p, size, side = lab.price, lab.extra["size"], lab.side
    assert lab.duration_ns < 10 * S
    last_size = last_touch = start_dist = None
    closest = None
    placed = pulled = False
    for ev, book in replay(events, key):
        if ev.ts > lab.end_ns:
            break
        if ev.ts >= lab.start_ns and type(ev) is Trade:
            assert ev.price != p, "a spoof level traded"
            if placed and ev.side == -side:
                # Takers walking toward the order: how close did their prints get?
                closest = min(closest, (ev.price - p) * side)
        if type(ev) is BookDelta:
            now_size = _side_book(book, side).get(p, 0.0)
            if ev.ts == lab.start_ns and not placed:
                placed = True
                assert now_size - last_size >= size - EPS
                start_dist = closest = (last_touch - p) * side
                assert 0 < start_dist / last_touch * 1e4 <= 10.0
                assert size >= 5 * _median_within_1pct(book, side, p)  # wall-sized
            elif ev.ts == lab.end_ns and placed:
                assert last_size - now_size >= size - EPS
                closest = min(closest, (_touch(book, side) - p) * side)
                pulled = True
            elif placed:
                closest = min(closest, (_touch(book, side) - p) * side)
            last_size, last_touch = now_size, _touch(book, side)
    assert placed and pulled
    assert closest < start_dist  # price came toward it before it was pulled


def check_iceberg(lab, events, key, tick, replay) -> None:
    p, side = lab.price, lab.side
    assert lab.extra["hidden"] > lab.extra["display"]
    traded = shown = at_p = last = 0.0
    refills = 0
    for ev, book in replay(events, key):
        if ev.ts < lab.start_ns:
            last = _side_book(book, side).get(p, 0.0)
            continue
        if ev.ts > lab.end_ns:
            break
        if type(ev) is Trade and ev.price == p:
            assert ev.side == -side  # takers hit the iceberg's side
            traded += ev.qty
            at_p += ev.qty
        elif type(ev) is BookDelta:
            now = _side_book(book, side).get(p, 0.0)
            if last > 0 and at_p >= last - EPS and now > 0:
                refills += 1  # traded through what was shown, and it is back
            if ev.ts == lab.start_ns:
                shown = now  # displayed when the iceberg appeared
            last, at_p = now, 0.0
    assert refills >= 3
    assert refills >= lab.extra["refills"] - 1  # the last slice may end the episode as it empties
    assert traded > shown + EPS  # more traded than was displayed: hidden size


def check_absorption(lab, events, key, tick, replay) -> None:
    p, side = lab.price, lab.side
    window = lab.duration_ns / S
    before = during = 0.0
    holds = 0
    for ev, book in replay(events, key):
        if ev.ts > lab.end_ns:
            break
        if type(ev) is Trade and ev.side == -side:
            if lab.start_ns - 120 * S <= ev.ts < lab.start_ns:
                before += ev.qty
            elif ev.ts >= lab.start_ns:
                during += ev.qty
        if type(ev) is BookDelta and lab.start_ns <= ev.ts < lab.end_ns:
            assert abs(_touch(book, side) - p) <= tick * 1.000001, "absorbing price moved"
            holds += 1
    typical = before / 12.0  # per 10 s window
    assert during >= 3.0 * typical * window / 10.0
    assert holds > 10


def check_vacuum(lab, events, key, tick, replay) -> None:
    band_bps = lab.extra["band_bps"]
    assert lab.duration_ns >= 4 * S
    pre: list[float] = []
    during: list[float] = []
    # The makers it keeps out wait spread behind the hole's edge, not piled into walls: no
    # level within 1 % of mid grows past 5x the pre-vacuum median level (or the largest one).
    cap = biggest = 0.0
    for ev, book in replay(events, key):
        if ev.ts > lab.end_ns:
            break
        if type(ev) is not BookDelta or ev.ts < lab.start_ns - 45 * S:
            continue
        size = sum(book.size_within_bps(band_bps))
        levels = _levels_within_pct(book, 1.0)
        if ev.ts < lab.start_ns:
            pre.append(size)
            cap = max(5.0 * statistics.median(levels), max(levels))
        else:
            during.append(size)
            biggest = max(biggest, max(levels))
    typical = statistics.median(pre)
    assert len(during) > 10
    assert max(during) < 0.3 * typical
    assert biggest <= cap


def _levels_within_pct(book, pct: float) -> list[float]:
    mid = book.mid()
    bids = [book.bids[p] for p in book.bids.irange(minimum=mid * (1 - pct / 100))]
    asks = [book.asks[p] for p in book.asks.irange(maximum=mid * (1 + pct / 100))]
    return bids + asks


#: How far before an episode its check reads the book and tape, seconds (plus slack).
LOOKBACK_S = {"absorption": 125, "vacuum": 50}

CHECKS = {
    "wall": check_wall,
    "spoof": check_spoof,
    "iceberg": check_iceberg,
    "absorption": check_absorption,
    "vacuum": check_vacuum,
}


# -- injected episodes ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CHECKS))
def test_injected_episode_is_in_the_events(session: Session, replayer, kind: str) -> None:
    labs = session.all(kind)
    assert labs, f"no {kind} label"
    if kind == "spoof":
        assert len(labs) >= 2  # repeated by default
    for lab in labs:
        if kind != "vacuum":
            assert lab.side == session.side
        CHECKS[kind](lab, session.events, session.key, session.tick, replayer)


def test_absorber_refilling_three_times_is_also_an_iceberg(session: Session) -> None:
    (absorption,) = session.all("absorption")
    refills = absorption.extra["refills"]
    inner = [lab for lab in session.all("iceberg") if lab.extra.get("within") == "absorption"]
    if refills < 3:
        assert inner == []
        return
    (lab,) = inner
    assert (lab.start_ns, lab.end_ns) == (absorption.start_ns, absorption.end_ns)
    assert lab.extra["refills"] == refills
    # one sweep can empty and reload it several times, so at least one display per refill
    assert lab.extra["hidden"] >= refills * lab.extra["display"] - EPS
    assert 0 < lab.extra["executed_hidden"] <= lab.extra["hidden"]
    # re-derived from the events like every iceberg (check_iceberg via the test above)


def test_injected_regime_change_is_labelled_and_in_the_timeline(session: Session) -> None:
    labs = [
        lab for lab in session.feed.labels if lab.kind == "regime_change" and lab.extra["injected"]
    ]
    assert len(labs) == 1
    lab = labs[0]
    assert lab.extra["to"] == "LOW/TREND_UP"
    assert lab.start_ns >= session.feed.start_ns + 370 * S
    spans = [s for s in session.feed.regimes if s.key == session.key]
    assert any(
        s.start_ns == lab.start_ns and (s.vol_regime, s.market_regime) == ("LOW", "TREND_UP")
        for s in spans
    )


def test_episodes_do_not_overlap(session: Session) -> None:
    labs = [lab for lab in session.feed.labels if lab.kind != "regime_change"]
    assert {lab.kind for lab in labs} == set(CHECKS)
    # An absorber's refilling level is also labelled iceberg, over the absorption's span.
    inner = [lab for lab in labs if lab.extra.get("within")]
    labs = [lab for lab in labs if not lab.extra.get("within")]
    for lab in inner:
        (outer,) = [o for o in labs if o.kind == lab.extra["within"] and o.start_ns == lab.start_ns]
        assert (lab.kind, lab.end_ns, lab.side, lab.price) == (
            "iceberg", outer.end_ns, outer.side, outer.price
        )
    ordered = sorted(labs, key=lambda lab: lab.start_ns)
    assert all(a.end_ns <= b.start_ns for a, b in zip(ordered, ordered[1:], strict=False))


# -- random episodes ------------------------------------------------------------------------------


def test_random_episodes_are_all_faithful(replayer) -> None:
    busy = EpisodeParams(
        wall_per_hour=30,
        spoof_per_hour=30,
        iceberg_per_hour=30,
        absorption_per_hour=30,
        vacuum_per_hour=30,
    )
    feed = SimFeed(
        SimParams(symbols=("SOL-SIM", "XRP-SIM"), seed=21, episodes=busy), realtime=False
    )
    events = list(feed.generate(480.0))
    labs = [
        lab
        for lab in feed.labels
        if lab.kind != "regime_change" and lab.start_ns >= feed.start_ns + 130 * S
    ]
    assert len({lab.kind for lab in labs}) == 5, [lab.kind for lab in labs]
    ticks = {i.key: i.tick_size for i in feed.instruments}
    # Book checkpoints every 20 s per market, so each check replays only its own stretch.
    checkpoints: dict[str, list[tuple[int, int, Book]]] = {}
    per_key: dict[str, list] = {}
    for inst in feed.instruments:
        evs = per_key[inst.key] = [e for e in events if e.symbol == inst.key]
        marks, next_ts = [], feed.start_ns
        for i, (ev, book) in enumerate(replayer(evs, inst.key)):
            if ev.ts >= next_ts and type(ev) is not Trade:
                marks.append((ev.ts, i + 1, _copy(book)))
                next_ts += 20 * S
        checkpoints[inst.key] = marks
    for lab in labs:
        evs = per_key[lab.key]
        back = LOOKBACK_S.get(lab.kind, 5)
        ts, i, book = max(m for m in checkpoints[lab.key] if m[0] <= lab.start_ns - back * S)

        def resume(_events, key, i=i, book=book):
            return replayer(_events[i:], key, _copy(book))

        CHECKS[lab.kind](lab, evs, lab.key, ticks[lab.key], resume)


def _copy(book: Book) -> Book:
    out = Book()
    out.apply_snapshot(book.bids.items(), book.asks.items(), book.seq)
    return out
