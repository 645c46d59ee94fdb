"""The sim codec round-trips every event type exactly, floats included."""

from __future__ import annotations

import pytest

from tapescope.engine.events import (
    Aggressor,
    BookDelta,
    BookSnapshot,
    FeedState,
    OpenInterest,
    StatusChange,
    Trade,
)
from tapescope.feeds.sim import SimFeed, decode, encode

SAMPLES = [
    BookSnapshot(
        "sim:BTC-SIM", 1, 2, [(60000.1, 0.003), (59999.9, 1.25)], [(60000.2, 0.1 + 0.2)], 1
    ),
    BookDelta("sim:DOGE-SIM", 10**18, 10**18 + 2_000_123, [(0.12001, 0.0)], [], 99),
    BookDelta("sim:ETH-SIM", 5, 6, [], [(3000.01, 1e-17), (3000.02, 123456789.123)], 7),
    Trade("sim:SOL-SIM", 3, 4, 150.001, 0.07, Aggressor.SELL, "17"),
    Trade("sim:SOL-SIM", 3, 4, 150.001, 2.0, 1, ""),
    StatusChange("sim:BTC-SIM", 8, 9, FeedState.LIVE, "simulated"),
    StatusChange("sim:BTC-SIM", 8, 9, FeedState.RESYNCING, 'gap: "U" > 10'),
    OpenInterest("sim:BTC-SIM", 11, 12, 98765.4321),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip_is_exact(event) -> None:
    back = decode(encode(event))
    assert back == event
    assert type(back) is type(event)
    for a, b in zip(back, event, strict=True):
        assert type(a) is type(b) or isinstance(b, int)  # enums come back as their int values


def test_round_trip_of_a_generated_session() -> None:
    feed = SimFeed(realtime=False)
    events = list(feed.generate(5.0))
    assert len(events) > 1000
    assert all(decode(encode(ev)) == ev for ev in events)


def test_encoding_is_compact_json() -> None:
    raw = encode(Trade("sim:X", 1, 2, 0.5, 3.0, -1, "9"))
    assert raw == b'["T","sim:X",1,2,0.5,3.0,-1,"9"]'


@pytest.mark.parametrize("payload", [b"", b"{}", b'["Z",1]', b'["T","x"]', b"not json"])
def test_malformed_payload_raises_value_error(payload: bytes) -> None:
    with pytest.raises(ValueError):
        decode(payload)


def test_encode_refuses_non_events() -> None:
    with pytest.raises(TypeError):
        encode(("sim:X", 1, 2))  # type: ignore[arg-type]
