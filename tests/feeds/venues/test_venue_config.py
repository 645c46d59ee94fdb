"""config.toml's venue sections mirror the adapters' settings dataclasses exactly."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from tapescope.feeds.venues.bybit import BybitLinearConfig, BybitProtocol, BybitSpotConfig
from tapescope.feeds.venues.coinbase import CoinbaseConfig, CoinbaseProtocol
from tapescope.feeds.venues.kraken import KrakenConfig, KrakenProtocol
from tapescope.feeds.venues.okx import OkxConfig, OkxProtocol

ROOT = Path(__file__).resolve().parents[3]
SECTIONS = {
    "bybit-linear": BybitLinearConfig,
    "bybit-spot": BybitSpotConfig,
    "okx": OkxConfig,
    "coinbase": CoinbaseConfig,
    "kraken": KrakenConfig,
}


@pytest.mark.parametrize(("section", "cls"), SECTIONS.items())
def test_section_matches_dataclass_defaults(section: str, cls: type) -> None:
    table = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))["venues"][section]
    defaults = {f.name: f.default for f in fields(cls)}
    assert table == defaults
    assert all(type(table[k]) is type(v) for k, v in defaults.items())
    for f in fields(cls):
        meta = f.metadata
        assert f.default in meta.get("choices", [f.default])
        assert meta.get("min", f.default) <= f.default <= meta.get("max", f.default)


@pytest.mark.parametrize(
    ("proto", "venue"),
    [
        (BybitProtocol(BybitLinearConfig()), "bybit-linear"),
        (BybitProtocol(BybitSpotConfig()), "bybit-spot"),
        (OkxProtocol(), "okx"),
        (CoinbaseProtocol(), "coinbase"),
        (KrakenProtocol(), "kraken"),
    ],
)
def test_protocols_take_their_limits_from_config(proto, venue: str) -> None:
    cfg = SECTIONS[venue]()
    assert proto.venue == venue and proto.ws_url == cfg.ws_url
    assert proto.max_symbols_per_connection == cfg.max_symbols_per_connection
    assert proto.stall_timeout_s == cfg.stall_timeout_s
    assert proto.app_ping_interval_s == getattr(cfg, "app_ping_interval_s", 0.0)
