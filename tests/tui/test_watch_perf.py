"""The many-symbol simulator behind the watchlist benchmark (the benchmark itself is not a test)."""

from __future__ import annotations

from tapescope.tui.config import load_config
from tapescope.tui.watch_perf import many_specs, many_symbol_market


def test_sixty_distinct_markets_with_their_own_flow() -> None:
    specs = many_specs(60)
    assert len({s.symbol for s in specs}) == 60
    assert specs[10].symbol == "BTC2-SIM" and specs[10].tick == specs[0].tick
    feed, hub = many_symbol_market(load_config(read_user_file=False), 60)
    assert len(hub.keys) == 60 and hub.keys[59] == "sim:LTC6-SIM"
    keys = {ev.symbol for ev in feed.generate(2.0)}
    # Every market emits (its book at least), each from its own seeded stream.
    assert keys == set(hub.keys)
