"""Backoff policy, clock and settings of the live layer."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from tapescope.feeds.venues.settings import Backoff, VenueEndpoint, VenuesSettings, now_ns

ROOT = Path(__file__).resolve().parents[3]


def test_backoff_grows_caps_and_jitters_deterministically():
    a = Backoff(0.5, 8.0, 0.25, seed=42)
    b = Backoff(0.5, 8.0, 0.25, seed=42)
    da = [a.delay(n) for n in range(8)]
    assert da == [b.delay(n) for n in range(8)]  # same seed, same delays
    for n, d in enumerate(da):
        full = min(8.0, 0.5 * 2**n)
        assert full * 0.75 <= d <= full
    assert da != [Backoff(0.5, 8.0, 0.25, seed=43).delay(n) for n in range(8)]
    assert Backoff(1.0, 30.0, 0.0).delay(10_000) == 30.0  # no overflow on a long outage


def test_now_ns_is_epoch_ns_and_monotonic():
    import time

    a, b = now_ns(), now_ns()
    assert b >= a
    assert abs(a - time.time_ns()) < 5 * 10**9


def test_config_toml_venues_keys_match_the_dataclass():
    table = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))["venues"]
    top = {k: v for k, v in table.items() if not isinstance(v, dict)}
    defaults = {f.name: f.default for f in dataclasses.fields(VenuesSettings)}
    assert set(top) == set(defaults)
    for key, value in defaults.items():
        assert (list(value) if isinstance(value, tuple) else value) == top[key], key
    for f in dataclasses.fields(VenuesSettings):
        meta = f.metadata
        assert f.default in meta.get("choices", [f.default])
        if "min" in meta:
            assert meta["min"] <= f.default <= meta["max"]
    assert VenueEndpoint().max_symbols_per_connection == 0
