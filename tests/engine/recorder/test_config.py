"""The [record] section of config.toml mirrors RecordConfig exactly (keys, defaults, ranges)."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.errors import RecorderSettingError

ROOT = Path(__file__).resolve().parents[3]


def test_config_toml_record_section_matches_the_dataclass() -> None:
    section = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))["record"]
    defaults = {f.name: f.default for f in fields(RecordConfig)}
    assert section == defaults
    assert RecordConfig(**section) == RecordConfig()


def test_every_key_in_the_section_is_commented() -> None:
    lines = (ROOT / "config.toml").read_text(encoding="utf-8").splitlines()
    start = lines.index("[record]")
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith("["):
            break
        if line and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), f"{line!r} has no comment above it"


def test_defaults_sit_inside_their_declared_ranges() -> None:
    cfg = RecordConfig()
    for f in fields(RecordConfig):
        meta = f.metadata
        value = getattr(cfg, f.name)
        if "min" in meta:
            assert meta["min"] <= value <= meta["max"], f.name
        if "choices" in meta:
            assert value in meta["choices"], f.name


def test_bad_synchronous_is_refused() -> None:
    with pytest.raises(RecorderSettingError, match="expected one of OFF, NORMAL, FULL"):
        RecordConfig(synchronous="FAST")
