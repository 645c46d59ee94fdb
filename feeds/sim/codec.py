"""Compact JSON encoding of engine events, so simulated sessions can be recorded.

``SimFeed.run`` hands ``encode(event)`` to ``sink.on_raw`` before delivering
the event, the recorder stores those bytes, and replay turns them back into
the identical event with :func:`decode`. Each event is one JSON array whose
first element is a one-letter tag; orjson writes floats in shortest
round-trip form, so prices and sizes come back bit-for-bit.

>>> from tapescope.engine.events import Trade
>>> ev = Trade("sim:BTC-SIM", 5, 7, 60000.1, 0.003, -1, "42")
>>> encode(ev)
b'["T","sim:BTC-SIM",5,7,60000.1,0.003,-1,"42"]'
>>> decode(encode(ev)) == ev
True
"""

from __future__ import annotations

import orjson

from tapescope.engine.events import (
    BookDelta,
    BookSnapshot,
    Event,
    FeedState,
    OpenInterest,
    StatusChange,
    Trade,
)

#: Connection id the simulator reports raw payloads under.
CONN_ID = "sim#0"


def encode(event: Event) -> bytes:
    """Serialise one event to compact JSON bytes.

    Raises:
        TypeError: for an object that is not an engine event.
    """
    t = type(event)
    if t is BookDelta or t is BookSnapshot:
        tag = "D" if t is BookDelta else "S"
        return orjson.dumps(
            [tag, event.symbol, event.ts, event.recv_ts, event.bids, event.asks, event.seq]
        )
    if t is Trade:
        return orjson.dumps(
            [
                "T",
                event.symbol,
                event.ts,
                event.recv_ts,
                event.price,
                event.qty,
                int(event.side),
                event.trade_id,
            ]
        )
    if t is StatusChange:
        return orjson.dumps(
            ["C", event.symbol, event.ts, event.recv_ts, int(event.state), event.reason]
        )
    if t is OpenInterest:
        return orjson.dumps(["O", event.symbol, event.ts, event.recv_ts, event.open_interest])
    raise TypeError(f"not an engine event: {t.__name__}")


def _levels(raw: list) -> list[tuple[float, float]]:
    return [(float(p), float(q)) for p, q in raw]


def decode(payload: bytes | str) -> Event:
    """Parse bytes written by :func:`encode` back into the event.

    Raises:
        ValueError: when the payload is not an encoded event.
    """
    try:
        a = orjson.loads(payload)
        tag = a[0]
        if tag == "D":
            return BookDelta(a[1], a[2], a[3], _levels(a[4]), _levels(a[5]), a[6])
        if tag == "S":
            return BookSnapshot(a[1], a[2], a[3], _levels(a[4]), _levels(a[5]), a[6])
        if tag == "T":
            return Trade(a[1], a[2], a[3], float(a[4]), float(a[5]), int(a[6]), a[7])
        if tag == "C":
            return StatusChange(a[1], a[2], a[3], FeedState(a[4]), a[5])
        if tag == "O":
            return OpenInterest(a[1], a[2], a[3], float(a[4]))
    except (orjson.JSONDecodeError, IndexError, TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"malformed sim payload: {exc}") from exc
    raise ValueError(f"unknown sim payload tag {tag!r}")
