"""Deterministic Binance USD-M-format market stream, as raw bytes, for benchmarks.

:func:`generate` builds a REST depth snapshot body and a list of combined-stream
frames (``{"stream": "btcusdt@depth@100ms", "data": {...}}`` depth diffs with
``U``/``u``/``pu``, and ``btcusdt@aggTrade`` trades interleaved) exactly as
Binance USD-M futures sends them. The same seed always gives the same bytes.

The generator keeps a true book (about ``levels`` per side), changes about
``changes`` levels per depth message with a fraction ``delete_fraction`` of
deletions (balanced by inserts, so the depth stays steady), concentrating
activity near the touch as real books do, and never crosses the book. Update
ids are sparse (``U`` jumps) and linked by ``pu`` like the real futures stream.

>>> s = generate(SynthParams(messages=50, levels=40, changes=6, seed=1))
>>> len(s.frames), s.depth_messages + s.trades == len(s.frames)
(50, True)
>>> s.frames == generate(SynthParams(messages=50, levels=40, changes=6, seed=1)).frames
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import orjson
from sortedcontainers import SortedDict

#: Symbol used in the generated frames.
SYMBOL = "BTCUSDT"


@dataclass(frozen=True, slots=True)
class SynthParams:
    """Shape of the generated stream."""

    messages: int = field(default=20000, metadata={"min": 1, "max": 10_000_000})
    """Frames to generate (depth diffs plus trades)."""
    levels: int = field(default=1000, metadata={"min": 10, "max": 100_000})
    """Levels per side in the snapshot, kept about steady through the stream."""
    changes: int = field(default=20, metadata={"min": 1, "max": 1000})
    """Mean level changes per depth message (both sides together)."""
    delete_fraction: float = field(default=0.2, metadata={"min": 0.0, "max": 0.9})
    """Share of level changes that delete a level."""
    trade_ratio: float = field(default=0.25, metadata={"min": 0.0, "max": 0.9})
    """Share of frames that are trades."""
    tick: int = field(default=10, metadata={"min": 1, "max": 10_000})
    """Price tick in hundredths (10 = 0.1, Binance BTCUSDT futures)."""
    mid: float = field(default=60000.0, metadata={"min": 1.0, "max": 1e7})
    """Starting mid price."""
    seed: int = 7
    """Random seed; equal seeds give byte-identical streams."""


@dataclass(slots=True)
class SynthStream:
    """A generated stream and its counts."""

    snapshot: bytes
    """REST ``/fapi/v1/depth`` body (``lastUpdateId``, ``bids``, ``asks``)."""
    frames: list[bytes]
    """Combined-stream frames in order."""
    depth_messages: int
    """Depth diff frames."""
    trades: int
    """Trade frames."""
    level_updates: int
    """Level entries summed over all depth frames."""
    symbol: str = SYMBOL
    """Venue symbol of the stream."""


def _px(ticks: int) -> str:
    """Price string for an integer number of hundredths (exact, no float rounding)."""
    return f"{ticks // 100}.{ticks % 100:02d}"


def generate(params: SynthParams | None = None) -> SynthStream:
    """Generate a stream (see module docstring).

    Runtime complexity: ``O(m * c)`` for ``m`` messages of ``c`` changes
    (plus ``O(L log L)`` for the snapshot of ``L`` levels).
    """
    p = params or SynthParams()
    rng = random.Random(p.seed)
    tick = p.tick
    mid_t = int(round(p.mid * 100 / tick)) * tick
    # Prices are integer hundredths; the sides map price -> qty string. SortedDict
    # gives the level at a given rank from the touch in O(log n).
    bids: SortedDict = SortedDict()
    asks: SortedDict = SortedDict()
    for i in range(p.levels):
        bids[mid_t - tick * (1 + i)] = f"{rng.uniform(0.001, 5.0):.3f}"
        asks[mid_t + tick * (1 + i)] = f"{rng.uniform(0.001, 5.0):.3f}"
    uid = 5_000_000_000_000
    snapshot = orjson.dumps({
        "lastUpdateId": uid,
        "E": 1_700_000_000_000,
        "T": 1_700_000_000_000,
        "bids": [[_px(k), v] for k, v in reversed(bids.items())],
        "asks": [[_px(k), v] for k, v in asks.items()],
    })
    t_ms = 1_700_000_000_000
    prev_u = uid - 7
    frames: list[bytes] = []
    depth_n = trades_n = level_n = 0
    trade_id = 1
    depth_stream = SYMBOL.lower() + "@depth@100ms"
    trade_stream = SYMBOL.lower() + "@aggTrade"
    first = True
    p_del = p.delete_fraction
    for _ in range(p.messages):
        t_ms += rng.randint(1, 20)
        if rng.random() < p.trade_ratio and not first:
            buy = rng.random() < 0.5
            price = asks.peekitem(0)[0] if buy else bids.peekitem(-1)[0]
            data = {
                "e": "aggTrade", "E": t_ms, "a": trade_id, "s": SYMBOL, "p": _px(price),
                "q": f"{rng.expovariate(2.0) + 0.001:.3f}", "f": trade_id, "l": trade_id, "T": t_ms,
                "m": not buy,
            }
            trade_id += 1
            trades_n += 1
            frames.append(orjson.dumps({"stream": trade_stream, "data": data}))
            continue
        # Repeats of a price within one message collapse, so draw a little more.
        n = max(1, int(rng.gauss(p.changes * 1.12, p.changes * 0.25)))
        b_out: dict[int, str] = {}
        a_out: dict[int, str] = {}
        for _c in range(n):
            is_bid = rng.random() < 0.5
            side, out = (bids, b_out) if is_bid else (asks, a_out)
            # Rank from the touch: mostly near, sometimes deep.
            rank = min(int(rng.expovariate(1 / 25.0)), len(side) - 1)
            roll = rng.random()
            # Deletes and inserts are about equally likely; scaling the delete
            # share by depth / target pulls the depth back to ``levels``.
            cut = p_del * len(side) / p.levels
            if roll < cut and len(side) > 2:
                price = side.peekitem(-1 - rank if is_bid else rank)[0]
                del side[price]
                out[price] = "0.000"
                continue
            if roll < 2 * p_del:
                best_bid, best_ask = bids.peekitem(-1)[0], asks.peekitem(0)[0]
                if rank < 2 and best_ask - best_bid > tick:
                    # Improve the touch inside the spread (never crossing it).
                    price = best_bid + tick if is_bid else best_ask - tick
                else:
                    step = -tick if is_bid else tick
                    price = (best_bid if is_bid else best_ask) + step * (rank + 1)
                    while price in side:
                        price += step
            else:
                price = side.peekitem(-1 - rank if is_bid else rank)[0]
            qty = f"{rng.uniform(0.001, 5.0):.3f}"
            side[price] = qty
            out[price] = qty
        # Trim levels drifting past the configured depth from the far end (sent as deletes).
        while len(bids) > p.levels + 50:
            far = bids.popitem(0)[0]
            b_out[far] = "0.000"
        while len(asks) > p.levels + 50:
            far = asks.popitem(-1)[0]
            a_out[far] = "0.000"
        if first:
            big_u, u = uid, uid + rng.randint(1, 40)
            first = False
        else:
            big_u = prev_u + rng.randint(1, 30)
            u = big_u + rng.randint(0, 40)
        data = {
            "e": "depthUpdate", "E": t_ms, "T": t_ms - 1, "s": SYMBOL, "U": big_u, "u": u, "pu": prev_u,
            "b": [[_px(k), v] for k, v in b_out.items()],
            "a": [[_px(k), v] for k, v in a_out.items()],
        }
        prev_u = u
        depth_n += 1
        level_n += len(b_out) + len(a_out)
        frames.append(orjson.dumps({"stream": depth_stream, "data": data}))
    return SynthStream(snapshot, frames, depth_n, trades_n, level_n)


def final_book(stream: SynthStream) -> tuple[dict[float, float], dict[float, float]]:
    """The book after applying every frame to the snapshot, by plain dicts (a test oracle).

    Runtime complexity: ``O(L + total level updates)``.
    """
    snap = orjson.loads(stream.snapshot)
    bids = {float(p): float(q) for p, q in snap["bids"]}
    asks = {float(p): float(q) for p, q in snap["asks"]}
    for f in stream.frames:
        d = orjson.loads(f)["data"]
        if d["e"] != "depthUpdate":
            continue
        for side, key in ((bids, "b"), (asks, "a")):
            for p, q in d[key]:
                if float(q) > 0.0:
                    side[float(p)] = float(q)
                else:
                    side.pop(float(p), None)
    return bids, asks
