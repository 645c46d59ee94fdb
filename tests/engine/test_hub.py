"""Hub: routing by market key, unknown keys, adding markets, the EventSink shape."""

from __future__ import annotations

import inspect

import pytest

from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, Trade
from tapescope.engine.flow import FlowParams
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.feeds.base import EventSink

NS = 1_000_000_000
T = 1_700_000_040
A = Instrument("sim", "A", tick_size=0.5)
B = Instrument("binance-usdm", "BUSDT", tick_size=0.1)


def test_routes_by_symbol_and_counts_unknown() -> None:
    hub = Hub([A, B])
    hub.on_event(BookSnapshot(A.key, T * NS, 0, [(10.0, 1.0)], [(10.5, 1.0)]))
    hub.on_event(Trade(B.key, T * NS, 0, 100.0, 2.0, -1))
    hub.on_event(Trade(B.key, T * NS, 0, 100.0, 0.5, 1))
    hub.on_event(Trade("sim:NOPE", T * NS, 0, 1.0, 1.0, 1))
    hub.on_event(BookDelta("okx:BTC", T * NS, 0, [(1.0, 1.0)], []))
    assert hub.events == 5 and hub.unknown == 2
    assert hub.markets[A.key].messages == 1 and hub.markets[B.key].messages == 2
    assert hub.markets[A.key].state is FeedState.LIVE
    assert hub.snapshot(B.key).flow.cvd == -1.5
    assert hub.snapshot(A.key, ladder_step_ticks=2, ladder_rows=1).ladder.bids == ((10.0, 1.0),)
    assert "sim:NOPE" not in hub.markets
    with pytest.raises(KeyError):
        hub.snapshot("sim:NOPE")


def test_keys_add_and_params() -> None:
    p = FlowParams(delta_windows=(5,))
    hub = Hub([A], p)
    assert hub.keys == [A.key]
    m = hub.add(B)
    assert hub.keys == [A.key, B.key] and hub.markets[B.key] is m
    assert hub.add(B) is m  # idempotent
    with pytest.raises(ValueError):
        hub.add(Instrument("sim", "A", tick_size=0.01))
    assert m.flow.params is p and m.instrument is B


def test_on_invalid_reaches_the_callback_with_the_key() -> None:
    calls = []
    hub = Hub([A], on_invalid=lambda key, reason: calls.append((key, reason)))
    hub.on_event(BookSnapshot(A.key, T * NS, 0, [(10.0, 1.0)], [(10.5, 1.0)]))
    hub.on_event(BookDelta(A.key, T * NS, 0, [(11.0, 1.0)], []))
    assert calls == [(A.key, "crossed book")]
    assert hub.snapshot(A.key).state is FeedState.RESYNCING


def test_hub_satisfies_the_event_sink_protocol() -> None:
    hub = Hub([A])
    for name in ("on_event", "on_raw"):
        ours = inspect.signature(getattr(Hub, name))
        theirs = inspect.signature(getattr(EventSink, name))
        assert list(ours.parameters) == list(theirs.parameters)
    sink: EventSink = hub
    sink.on_raw("sim#0", 1, b"{}")  # a no-op that must not raise
    assert hub.events == 0


def test_setting_on_invalid_later_rewires_every_market() -> None:
    calls = []
    hub = Hub([A, B])
    hub.on_invalid = lambda key, reason: calls.append(key)
    hub.add(Instrument("sim", "C"))
    for inst in (A, Instrument("sim", "C")):
        hub.on_event(BookSnapshot(inst.key, T * NS, 0, [(10.0, 1.0)], [(10.5, 1.0)]))
        hub.on_event(BookDelta(inst.key, T * NS, 0, [], [(9.0, 1.0)]))
    assert calls == [A.key, "sim:C"]
