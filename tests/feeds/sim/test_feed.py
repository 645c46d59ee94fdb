"""SimFeed: universe, determinism, event contract, and books that replay exactly."""

from __future__ import annotations

import hashlib
import statistics

import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, StatusChange, Trade
from tapescope.feeds.base import Feed
from tapescope.feeds.sim import (
    UNIVERSE,
    BurstParams,
    EpisodeParams,
    RegimeParams,
    SimFeed,
    SimParams,
    encode,
)


def _digest(events) -> str:
    h = hashlib.sha256()
    n = 0
    for ev in events:
        h.update(encode(ev))
        n += 1
    return f"{n}:{h.hexdigest()}"


def _session(seed: int, start_ns: int = 1_767_225_600_000_000_000) -> str:
    feed = SimFeed(SimParams(seed=seed), realtime=False, start_ns=start_ns)
    feed.inject("spoof", "sim:ETH-SIM", start_ns + 5_000_000_000)
    feed.inject("iceberg", "sim:DOGE-SIM", start_ns + 3_000_000_000)
    feed.inject("regime_change", "sim:BTC-SIM", start_ns + 1_000_000_000, vol="HIGH")
    return _digest(feed.generate(10.0)) + repr(feed.labels)


def test_is_a_feed_with_at_least_eight_distinct_markets() -> None:
    feed = SimFeed(realtime=False)
    assert isinstance(feed, Feed)
    inst = feed.instruments
    assert len(inst) >= 8
    assert len({i.key for i in inst}) == len(inst)
    assert all(i.venue == "sim" for i in inst)
    assert len({i.tick_size for i in inst}) >= 4
    assert len({i.lot_size for i in inst}) >= 3
    assert len({s.activity for s in UNIVERSE[:8]}) >= 4


def test_same_seed_same_stream_and_different_seed_differs() -> None:
    a, b = _session(7), _session(7)
    assert a == b
    assert _session(8) != a


def test_start_time_shifts_timestamps_only() -> None:
    f1 = SimFeed(SimParams(symbols=("SOL-SIM",)), realtime=False, start_ns=1_000_000_000_000)
    f2 = SimFeed(SimParams(symbols=("SOL-SIM",)), realtime=False, start_ns=5_000_000_000_000)
    e1, e2 = list(f1.generate(5.0)), list(f2.generate(5.0))
    assert len(e1) == len(e2)
    shift = 4_000_000_000_000
    assert all(
        b.ts - a.ts == shift and b.recv_ts - a.recv_ts == shift for a, b in zip(e1, e2, strict=True)
    )


def test_stream_contract_order_seq_and_latency() -> None:
    feed = SimFeed(realtime=False)
    keys = [i.key for i in feed.instruments]
    events = list(feed.generate(20.0))
    n = len(keys)
    head = events[: 2 * n]
    assert [type(e) for e in head] == [StatusChange, BookSnapshot] * n
    assert all(e.state == FeedState.LIVE for e in head[::2])
    assert [e.symbol for e in head[1::2]] == keys
    assert all(a.ts <= b.ts for a, b in zip(events, events[1:], strict=False))
    seq = {k: 0 for k in keys}
    last_recv = {k: 0 for k in keys}
    for ev in events:
        assert ev.symbol in seq
        lat = ev.recv_ts - ev.ts
        assert 2_000_000 <= lat < 100_000_000, lat  # latency_us=2000 plus exponential jitter
        assert ev.recv_ts >= last_recv[ev.symbol]
        last_recv[ev.symbol] = ev.recv_ts
        if type(ev) in (BookDelta, BookSnapshot):
            assert ev.seq == seq[ev.symbol] + 1
            seq[ev.symbol] = ev.seq
    kinds = {type(e) for e in events}
    assert {BookDelta, Trade} <= kinds


def test_generate_continues_where_it_stopped() -> None:
    whole = SimFeed(SimParams(symbols=("BTC-SIM", "XRP-SIM")), realtime=False)
    parts = SimFeed(SimParams(symbols=("BTC-SIM", "XRP-SIM")), realtime=False)
    a = list(whole.generate(6.0))
    b = list(parts.generate(2.5)) + list(parts.generate(3.5))
    assert a == b


@pytest.mark.parametrize("symbol", ["BTC-SIM", "DOGE-SIM", "SOL-SIM"])
def test_deltas_rebuild_the_internal_book_exactly_and_never_cross(symbol: str) -> None:
    params = SimParams(symbols=(symbol,), seed=11)
    feed = SimFeed(params, realtime=False)
    key = f"sim:{symbol}"
    feed.inject("vacuum", key, feed.start_ns + 4_000_000_000)
    feed.inject("absorption", key, feed.start_ns + 2_000_000_000)
    feed.inject("wall", key, feed.start_ns + 1_000_000_000)
    book = Book()
    deltas = 0
    for chunk in range(3):
        for ev in feed.generate(4.0):
            if type(ev) is BookSnapshot:
                book.apply_snapshot(ev.bids, ev.asks, ev.seq)
                book._check()
            elif type(ev) is BookDelta:
                assert ev.bids or ev.asks
                assert all(q >= 0.0 for _, q in ev.bids + ev.asks)
                book.apply_delta(ev.bids, ev.asks, ev.seq)
                book._check()
                deltas += 1
        bids, asks = feed.market(key).book_levels()
        assert dict(book.bids) == bids, f"bids differ after chunk {chunk}"
        assert dict(book.asks) == asks, f"asks differ after chunk {chunk}"
    assert deltas > 300
    # Depth in the hundreds per side, as configured.
    nb, na = book.depth()
    assert 0.6 * params.depth <= nb <= params.depth and 0.6 * params.depth <= na <= params.depth


def test_trades_walk_the_book_from_the_touch() -> None:
    """Every trade prints at a level that rested on the side it hit, best first."""
    feed = SimFeed(SimParams(symbols=("ETH-SIM",), seed=3), realtime=False)
    book = Book()
    checked = 0
    pending: list[Trade] = []
    for ev in feed.generate(30.0):
        t = type(ev)
        if t is Trade:
            pending.append(ev)
        elif t is BookDelta or t is BookSnapshot:
            if pending:
                buys = [tr for tr in pending if tr.side == 1]
                sells = [tr for tr in pending if tr.side == -1]
                assert not (buys and sells)
                if buys:
                    assert buys[0].price == book.best_ask()[0]
                    assert [tr.price for tr in buys] == sorted(tr.price for tr in buys)
                    assert all(
                        tr.price in book.asks and tr.qty <= book.asks[tr.price] + 1e-9
                        for tr in buys
                    )
                if sells:
                    assert sells[0].price == book.best_bid()[0]
                    assert [tr.price for tr in sells] == sorted(
                        (tr.price for tr in sells), reverse=True
                    )
                checked += 1
            if t is BookSnapshot:
                book.apply_snapshot(ev.bids, ev.asks, ev.seq)
            else:
                book.apply_delta(ev.bids, ev.asks, ev.seq)
            pending = []
    assert checked > 100


@pytest.mark.parametrize("symbol", ["BTC-SIM", "ETH-SIM"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_level_sizes_grow_away_from_the_touch(symbol: str, seed: int) -> None:
    feed = SimFeed(SimParams(symbols=(symbol,), seed=seed), realtime=False)
    list(feed.generate(60.0))
    m = feed.market(f"sim:{symbol}")
    bps = {t: (m.lt - t) / m.lt * 1e4 for t in m.bids.keys()}
    near = [q for t, q in m.bids.items() if bps[t] <= 5]
    far = [q for t, q in m.bids.items() if bps[t] >= 50]
    assert len(near) > 10 and len(far) > 10
    # Gently (so natural levels do not read as walls), but larger further out.
    assert statistics.median(far) > 1.2 * statistics.median(near)
    # Lognormal noise: sizes are not all equal near the touch.
    assert statistics.pstdev(near) > 0.2 * statistics.mean(near)


def test_activity_differs_across_symbols() -> None:
    feed = SimFeed(SimParams(bursts=BurstParams(rate_per_min=0.0)), realtime=False)
    counts: dict[str, int] = {}
    for ev in feed.generate(30.0):
        if type(ev) is BookDelta:
            counts[ev.symbol] = counts.get(ev.symbol, 0) + 1
    btc, bnb = counts["sim:BTC-SIM"], counts["sim:BNB-SIM"]
    # activity 1.6 vs 0.6 at 50 msg/s over 30 s: 2400 vs 900 expected.
    assert 1.8 * bnb < btc < 4.0 * bnb
    assert 0.7 * 2400 < btc < 1.3 * 2400


def test_inject_validates_kind_and_key() -> None:
    feed = SimFeed(realtime=False)
    with pytest.raises(ValueError):
        feed.inject("tsunami", "sim:BTC-SIM")
    with pytest.raises(KeyError):
        feed.inject("wall", "sim:NOPE")


def test_regime_timeline_is_contiguous() -> None:
    fast = RegimeParams(
        low_mean_s=20,
        medium_mean_s=20,
        high_mean_s=20,
        trend_mean_s=30,
        range_mean_s=30,
        volatile_mean_s=20,
    )
    p = SimParams(symbol_count=3, messages_per_s=5.0, regimes=fast)
    feed = SimFeed(p, realtime=False)
    list(feed.generate(300.0))
    spans = feed.regimes
    for inst in feed.instruments:
        mine = [s for s in spans if s.key == inst.key]
        assert mine[0].start_ns == feed.start_ns
        assert len(mine) > 3
        assert all(a.end_ns == b.start_ns for a, b in zip(mine, mine[1:], strict=False))
        assert all(
            (a.vol_regime, a.market_regime) != (b.vol_regime, b.market_regime)
            for a, b in zip(mine, mine[1:], strict=False)
        )
        assert all(s.vol_regime == "HIGH" for s in mine if s.market_regime == "VOLATILE")
        # ...and the converse: a driftless (non-trending) market in HIGH volatility is
        # VOLATILE by the definition, never labelled RANGE.
        assert not any(s.vol_regime == "HIGH" and s.market_regime == "RANGE" for s in mine)
        assert all(s.drift_per_s == 0.0 for s in mine if s.market_regime in ("RANGE", "VOLATILE"))
    changes = [lab for lab in feed.labels if lab.kind == "regime_change"]
    assert len(changes) == len(spans) - len(feed.instruments)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SimParams(symbols=("NOPE-SIM",)),
        lambda: SimParams(market_fraction=0.5, cancel_fraction=0.6),
        lambda: EpisodeParams(wall_min_s=40.0, wall_max_s=30.0),
        lambda: EpisodeParams(iceberg_min_refills=9, iceberg_max_refills=8),
    ],
)
def test_inconsistent_params_are_refused(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_default_params_and_config_section_agree() -> None:
    """config.toml's [sim] mirrors SimParams (nested tables for the sub-dataclasses)."""
    import dataclasses
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    table = tomllib.loads((root / "config.toml").read_text(encoding="utf-8"))["sim"]

    def compare(obj, tbl, path):
        names = {f.name for f in dataclasses.fields(obj)}
        assert names == set(tbl), f"{path}: {names ^ set(tbl)}"
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                compare(value, tbl[f.name], f"{path}.{f.name}")
            else:
                expected = list(value) if isinstance(value, tuple) else value
                assert tbl[f.name] == expected and type(tbl[f.name]) is type(expected), (
                    f"{path}.{f.name}"
                )

    compare(SimParams(), table, "sim")


def test_unlabelled_book_has_few_wall_sized_levels(quiet) -> None:
    """Walls are what the episodes inject: the natural book rarely makes one (precision of evals)."""
    feed = SimFeed(quiet(*(s.symbol for s in UNIVERSE[:8])), realtime=False)
    list(feed.generate(40.0))
    counts = []
    for _ in range(6):
        list(feed.generate(10.0))
        for inst in feed.instruments:
            bids, asks = feed.market(inst.key).book_levels()
            mid = (max(bids) + min(asks)) / 2
            for levels in (bids, asks):
                near = [q for p, q in levels.items() if abs(p - mid) / mid <= 0.01]
                med = statistics.median(near)
                counts.append(sum(q >= 5 * med for q in near))
    assert sum(counts) / len(counts) < 0.1
