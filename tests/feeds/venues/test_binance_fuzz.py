"""Hypothesis fuzz of Binance ``decode``: routed messages or BadMessage, nothing else escapes."""

from __future__ import annotations

import math

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapescope.engine.events import Trade
from tapescope.feeds.venues.base import BadMessage, MsgKind, Routed
from tapescope.feeds.venues.binance import BinanceSpotProtocol, BinanceUsdmProtocol
from tapescope.feeds.venues.binance_decode import BinanceDepth

PROTOS = (BinanceSpotProtocol(), BinanceUsdmProtocol())

DEPTH = {"e": "depthUpdate", "E": 1723161256299, "T": 1723161256298, "s": "BTCUSDT", "U": 5123107832006,
         "u": 5123107837557, "pu": 5123107831937, "b": [["58710.20", "0.014"], ["61510.90", "0.000"]],
         "a": [["61800.30", "2.5"]]}
TRADE = {"e": "trade", "E": 1723161256322, "T": 1723161256322, "s": "BTCUSDT", "t": 5266583935, "p": "61800.30",
         "q": "0.006", "X": "MARKET", "m": False}
AGG = {"e": "aggTrade", "E": 5, "s": "SUSHIUSDT", "a": 9, "p": "7.61", "q": "2", "f": 1, "l": 2, "T": 4, "m": True}
TICKER = {"e": "bookTicker", "u": 5123107839020, "s": "BTCUSDT", "b": "61800.20", "B": "2.507", "a": "61800.30",
          "A": "2.510", "T": 1, "E": 1}
TEMPLATES = [DEPTH, TRADE, AGG, TICKER, {"result": None, "id": 1}, {"code": 2, "msg": "Invalid request"}]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False), st.text(max_size=12),
    st.sampled_from(["NaN", "inf", "-1", "1e999", "0", "-0", "1.5", "", "  2 ", "0x10", "1_000"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


def check(routed: list[Routed]) -> None:
    """What a successful decode may return."""
    assert isinstance(routed, list) and routed
    for r in routed:
        assert isinstance(r, Routed) and isinstance(r.kind, MsgKind)
        if r.kind is MsgKind.DEPTH:
            m = r.payload
            assert isinstance(m, BinanceDepth) and m.U <= m.u
            for p, q in m.bids + m.asks:
                assert 0.0 < p < math.inf and 0.0 <= q < math.inf
        elif r.kind is MsgKind.EVENT:
            t = r.payload
            assert isinstance(t, Trade) and t.price > 0.0 and 0.0 <= t.qty < math.inf and t.side in (1, -1)
        elif r.kind is MsgKind.ERROR:
            assert isinstance(r.payload, str) and r.payload.isprintable() and len(r.payload) <= 160


def decode_all(payload: bytes) -> None:
    for proto in PROTOS:
        try:
            routed = proto.decode(payload, 1)
        except BadMessage as exc:
            assert str(exc) and len(str(exc)) <= 160 and str(exc).isprintable()
        else:
            check(routed)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes(payload: bytes) -> None:
    decode_all(payload)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    template=st.sampled_from(TEMPLATES),
    envelope=st.booleans(),
    edits=st.lists(st.tuples(st.sampled_from(["set", "del", "level"]), st.text(max_size=3), json_values), max_size=4),
)
def test_mutated_frames(template: dict, envelope: bool, edits: list) -> None:
    data = orjson.loads(orjson.dumps(template))
    keys = list(data)
    for op, name, value in edits:
        key = keys[sum(map(ord, name)) % len(keys)] if keys and name else name
        if op == "set":
            data[key] = value
        elif op == "del":
            data.pop(key, None)
        elif isinstance(data.get("b"), list) and data["b"]:
            data["b"][0] = value
    frame = {"stream": "btcusdt@x", "data": data} if envelope else data
    try:
        payload = orjson.dumps(frame, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return
    decode_all(payload)
    # Truncations of a valid frame are bad JSON, never anything else.
    for cut in (1, len(payload) // 2, len(payload) - 1):
        decode_all(payload[:cut])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TEMPLATES), st.booleans())
def test_templates_decode(template: dict, envelope: bool) -> None:
    frame = {"stream": "x", "data": template} if envelope else template
    for proto in PROTOS:
        check(proto.decode(orjson.dumps(frame), 1))
