"""``[replay]`` in config.toml mirrors :class:`ReplaySettings` exactly."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from tapescope.tui.replay_config import ReplaySettings

ROOT = Path(__file__).resolve().parents[2]


def test_config_toml_replay_section_equals_the_dataclass_defaults() -> None:
    table = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))["replay"]
    assert table == dataclasses.asdict(ReplaySettings())
    for f in dataclasses.fields(ReplaySettings):
        lo, hi = f.metadata["min"], f.metadata["max"]
        assert lo <= f.default <= hi and type(table[f.name]) is type(f.default)
