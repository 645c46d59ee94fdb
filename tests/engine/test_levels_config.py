"""config.toml's [volatility.*] and [levels.*] tables mirror the metric config dataclasses."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from tapescope.engine.kalman import KalmanConfig
from tapescope.engine.open_interest import OpenInterestConfig
from tapescope.engine.profile import ProfileConfig
from tapescope.engine.regime import MarketRegimeConfig
from tapescope.engine.velocity import VelocityConfig
from tapescope.engine.volatility import GarchConfig, RealisedVolConfig, VolRegimeConfig
from tapescope.engine.vpin import VpinConfig
from tapescope.engine.vwap import VwapConfig
from tapescope.engine.zones import ZonesConfig

ROOT = Path(__file__).resolve().parents[2]

#: config.toml table -> dataclass holding its defaults.
SECTIONS = {
    ("volatility", "realised"): RealisedVolConfig,
    ("volatility", "garch"): GarchConfig,
    ("volatility", "regime"): VolRegimeConfig,
    ("volatility", "kalman"): KalmanConfig,
    ("volatility", "market_regime"): MarketRegimeConfig,
    ("levels", "vpin"): VpinConfig,
    ("levels", "profile"): ProfileConfig,
    ("levels", "vwap"): VwapConfig,
    ("levels", "velocity"): VelocityConfig,
    ("levels", "open_interest"): OpenInterestConfig,
    ("levels", "zones"): ZonesConfig,
}


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("path", list(SECTIONS), ids=".".join)
def test_toml_matches_dataclass(path: tuple[str, str]) -> None:
    doc = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    table = doc[path[0]][path[1]]
    cls = SECTIONS[path]
    defaults = {f.name: _plain(getattr(cls(), f.name)) for f in dataclasses.fields(cls)}
    assert table == defaults
    for f in dataclasses.fields(cls):
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        value = getattr(cls(), f.name)
        if lo is not None:
            assert value >= lo, f.name
        if hi is not None:
            assert value <= hi, f.name


def test_every_table_is_mapped() -> None:
    doc = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    found = {(top, sub) for top in ("volatility", "levels") for sub in doc.get(top, {})}
    assert found == set(SECTIONS)
