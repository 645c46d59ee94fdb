"""A deterministic synthetic raw-message stream and its decoder.

Used by the recorder benchmark, the recorder tests (including the
kill-mid-recording subprocess) and anyone who needs venue-like raw frames
without a venue. The stream looks like a simple JSON venue: one snapshot
per market, then book deltas (absolute sizes, 0 deletes) and trades::

    {"k": "t:AAA", "e": "s", "s": 1, "b": [[99.5, 3.0], ...], "a": [...]}
    {"k": "t:AAA", "e": "d", "s": 2, "b": [[99.0, 0.0]]}
    {"k": "t:BBB", "e": "t", "p": 110.5, "q": 2, "x": -1}

>>> msgs = list(synthetic_stream(3, keys=("t:A",)))
>>> [m[0] for m in msgs], msgs[1][1] - msgs[0][1]
(['t#0', 't#0', 't#0'], 1000000)
>>> type(decode_synthetic(*msgs[0])[0]).__name__
'BookSnapshot'
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

import orjson

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Event, Trade

#: Market keys of the default synthetic stream.
DEFAULT_KEYS = ("t:AAA", "t:BBB")
#: Receive time of the first synthetic message (2023-11-14T22:13:20Z).
DEFAULT_T0 = 1_700_000_000_000_000_000


def synthetic_stream(
    n: int,
    *,
    seed: int = 1,
    keys: tuple[str, ...] = DEFAULT_KEYS,
    t0: int = DEFAULT_T0,
    step_ns: int = 1_000_000,
    depth: int = 20,
) -> Iterator[tuple[str, int, bytes]]:
    """Yield ``n`` raw messages ``(conn_id, recv_ns, payload)``.

    Market ``keys[0]`` arrives on connection ``"t#0"``, the others on ``"t#1"``.
    The first ``len(keys)`` messages are snapshots of ``depth`` levels per side;
    the rest are 80 % deltas and 20 % trades. ``O(1)`` per message.
    """
    rng = random.Random(seed)
    seq = dict.fromkeys(keys, 0)
    mids = {k: 100.0 + 10 * i for i, k in enumerate(keys)}
    conns = {k: "t#0" if i == 0 else "t#1" for i, k in enumerate(keys)}
    t = t0
    count = 0
    for k in keys:
        if count >= n:
            return
        seq[k] += 1
        m = mids[k]
        bids = [[round(m - 0.5 - i * 0.5, 2), float(rng.randint(1, 9))] for i in range(depth)]
        asks = [[round(m + 0.5 + i * 0.5, 2), float(rng.randint(1, 9))] for i in range(depth)]
        yield conns[k], t, orjson.dumps({"k": k, "e": "s", "s": seq[k], "b": bids, "a": asks})
        t += step_ns
        count += 1
    n_keys = len(keys)
    while count < n:
        k = keys[rng.randrange(n_keys)]
        m = mids[k]
        if rng.random() < 0.2:
            msg = {"k": k, "e": "t", "p": m + rng.choice((-0.5, 0.5)), "q": rng.randint(1, 5), "x": rng.choice((1, -1))}
        else:
            seq[k] += 1
            side = rng.choice("ba")
            off = 0.5 + 0.5 * rng.randrange(depth + 5)
            price = round(m - off if side == "b" else m + off, 2)
            size = 0.0 if rng.random() < 0.3 else float(rng.randint(1, 9))
            msg = {"k": k, "e": "d", "s": seq[k], side: [[price, size]]}
        yield conns[k], t, orjson.dumps(msg)
        t += step_ns
        count += 1


def decode_synthetic(conn_id: str, recv_ns: int, payload: bytes | str) -> list[Event]:
    """Decode one :func:`synthetic_stream` payload into engine events. ``O(levels)``."""
    m = orjson.loads(payload)
    k = m["k"]
    kind = m["e"]
    if kind == "s":
        return [BookSnapshot(k, recv_ns, recv_ns, [tuple(x) for x in m["b"]], [tuple(x) for x in m["a"]], m["s"])]
    if kind == "d":
        bids = [tuple(x) for x in m.get("b", ())]
        asks = [tuple(x) for x in m.get("a", ())]
        return [BookDelta(k, recv_ns, recv_ns, bids, asks, m["s"])]
    return [Trade(k, recv_ns, recv_ns, float(m["p"]), float(m["q"]), int(m["x"]), "")]


def books_from(messages: Iterable[tuple[str, int, bytes | str]]) -> dict[str, Book]:
    """Books built by applying synthetic messages from scratch (a test oracle). ``O(total levels)``."""
    books: dict[str, Book] = {}
    for conn, recv, payload in messages:
        for ev in decode_synthetic(conn, recv, payload):
            if isinstance(ev, BookSnapshot):
                books.setdefault(ev.symbol, Book()).apply_snapshot(ev.bids, ev.asks, ev.seq)
            elif isinstance(ev, BookDelta):
                books[ev.symbol].apply_delta(ev.bids, ev.asks, ev.seq)
    return books
