"""``[detectors]`` in config.toml mirrors :class:`DetectorParams` exactly."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from tapescope.engine.detectors.base import DetectorParams

ROOT = Path(__file__).resolve().parents[3]


def test_config_section_matches_the_dataclass_defaults() -> None:
    section = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))["detectors"]
    defaults = {f.name: f.default for f in dataclasses.fields(DetectorParams)}
    assert section == defaults
    for f in dataclasses.fields(DetectorParams):
        lo, hi = f.metadata.get("min"), f.metadata.get("max")
        assert lo is None or f.default >= lo, f.name
        assert hi is None or f.default <= hi, f.name
