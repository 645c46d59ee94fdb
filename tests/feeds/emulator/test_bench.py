"""measure_loopback: the live path consumes a generated market completely and cleanly."""

from __future__ import annotations

from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.feeds.emulator.bench import measure_loopback


async def test_measure_loopback_counts_every_frame():
    r = await measure_loopback("binance-usdm", ["BTCUSDT", "ETHUSDT"], 500)
    assert r.markets == 2 and r.frames > 1000
    assert r.states == {"binance-usdm:BTCUSDT": "LIVE", "binance-usdm:ETHUSDT": "LIVE"}
    assert r.problems == {"gaps": 0, "resyncs": 0, "malformed": 0, "reconnects": 0}
    assert r.frames_per_s > 0 and r.seconds > 0


async def test_measure_loopback_through_the_engine():
    hub = Hub([Instrument("binance-usdm", "BTCUSDT")])
    r = await measure_loopback("binance-usdm", ["BTCUSDT"], 400, sink=hub)
    assert r.states["binance-usdm:BTCUSDT"] == "LIVE"
    assert hub.markets["binance-usdm:BTCUSDT"].state.name == "LIVE"
    # Diffs buffered before the first snapshot and older than it are dropped by the
    # sync; everything else (later diffs, every trade, status changes) reaches the engine.
    assert r.events == hub.events > r.frames // 2
