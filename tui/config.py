"""Configuration: a registry of sections and a strict, layered TOML loader.

Precedence, lowest first (each layer overrides the one before, key by key):

1. the shipped defaults, ``config.toml`` inside the ``tapescope.tui`` package;
2. the user file, ``platformdirs.user_config_path("tapescope") / "config.toml"``
   (the environment variable ``TAPESCOPE_CONFIG_FILE`` names another file; tests use it);
3. a file given with ``--config PATH``;
4. command-line flags (``--fps``, ``--theme``...).

Every section maps to a frozen dataclass registered here
(:func:`register_section`). Validation uses the dataclass field types and the
``field(metadata={"min":.., "max":.., "choices":..})`` constraints; an unknown
section or key, a wrong type or an out-of-range value raises
:class:`ConfigError` naming the file, the key, the value and what was
expected. Nothing is invented for a missing key and nothing is written back.
The loader records where each value came from (:attr:`Config.sources`).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import platformdirs

from tapescope.tui.config_validate import ConfigError, _build, _merge, _validate_table
from tapescope.tui.settings import AppSettings, KeySettings

__all__ = ["Config", "ConfigError", "load_config", "register_section", "registered_sections"]

#: Environment variable naming the user config file (overrides the platform path).
CONFIG_ENV = "TAPESCOPE_CONFIG_FILE"
#: Source label of values that come from the shipped config.toml.
DEFAULT_SOURCE = "default"

#: A section's dataclass: a class, or a lazy ``"module:Class"`` path.
ClassSpec = type | str
#: Sub-name of a group's own dataclass: the plain keys under ``[section]`` itself.
OWN = ""

#: A section is one dataclass, or a *group*: one dataclass per sub-table
#: (``[volatility.garch]``...), loaded as ``{sub-table: instance}``.
SectionSpec = ClassSpec | Mapping[str, ClassSpec]

#: Sections and their dataclass (or group of dataclasses). Another engineer
#: registers a section by adding a line here (or by calling
#: :func:`register_section` before loading). A path whose module or class is
#: not in this build leaves the section (or sub-table) *reserved*: it may
#: appear in a file, but only empty.
_REGISTRY: dict[str, SectionSpec] = {
    "app": AppSettings,
    "keys": KeySettings,
    "sim": "tapescope.feeds.sim:SimParams",
    "flow": "tapescope.engine.flow:FlowParams",
    "venues": {
        OWN: "tapescope.feeds.venues.settings:VenuesSettings",
        "bybit-linear": "tapescope.feeds.venues.bybit:BybitLinearConfig",
        "bybit-spot": "tapescope.feeds.venues.bybit:BybitSpotConfig",
        "okx": "tapescope.feeds.venues.okx:OkxConfig",
        "coinbase": "tapescope.feeds.venues.coinbase:CoinbaseConfig",
        "kraken": "tapescope.feeds.venues.kraken:KrakenConfig",
        "binance-spot": "tapescope.feeds.venues.binance:BinanceSpotConfig",
        "binance-usdm": "tapescope.feeds.venues.binance:BinanceUsdmConfig",
    },
    "record": "tapescope.engine.recorder.config:RecordConfig",
    "risk": "tapescope.engine.risk:RiskParams",
    "volatility": {
        "realised": "tapescope.engine.volatility:RealisedVolConfig",
        "garch": "tapescope.engine.volatility:GarchConfig",
        "regime": "tapescope.engine.volatility:VolRegimeConfig",
        "kalman": "tapescope.engine.kalman:KalmanConfig",
        "market_regime": "tapescope.engine.regime:MarketRegimeConfig",
    },
    "levels": {
        "vpin": "tapescope.engine.vpin:VpinConfig",
        "profile": "tapescope.engine.profile:ProfileConfig",
        "vwap": "tapescope.engine.vwap:VwapConfig",
        "velocity": "tapescope.engine.velocity:VelocityConfig",
        "open_interest": "tapescope.engine.open_interest:OpenInterestConfig",
        "zones": "tapescope.engine.zones:ZonesConfig",
    },
    "detectors": "tapescope.engine.detectors.base:DetectorParams",
    "markers": "tapescope.engine.markers:MarkerParams",
    "signals": "tapescope.engine.signals.base:SignalParams",
    "replay": "tapescope.tui.replay_config:ReplaySettings",
    "heatmap": "tapescope.engine.heatmap:HeatmapParams",
    "alerts": "tapescope.tui.alerts:AlertSettings",
}


def register_section(name: str, spec: SectionSpec) -> None:
    """Map a config section to its frozen dataclass (or a group of them).

    Args:
        name: Section header in config.toml, e.g. ``"flow"``.
        spec: The dataclass, ``"package.module:Class"`` imported on first use,
            or ``{sub-table: dataclass or path}`` for a group section whose
            value is a dict of instances (e.g. ``[volatility.garch]``).

    Raises:
        TypeError: a class given is not a dataclass.
    """
    for item in (spec.values() if isinstance(spec, Mapping) else (spec,)):
        if isinstance(item, type) and not dataclasses.is_dataclass(item):
            raise TypeError(f"{item!r} is not a dataclass")
    _REGISTRY[name] = dict(spec) if isinstance(spec, Mapping) else spec


def _resolve(target: ClassSpec) -> type | None:
    if isinstance(target, type):
        return target
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        # Only "this build lacks the module" makes a section reserved; a
        # module that exists but fails to import is a real bug and propagates.
        if err.name and module_name.startswith(err.name):
            return None
        raise
    return getattr(module, attr, None)


def section_class(name: str) -> type | dict[str, type | None] | None:
    """The dataclass of a registered section (a dict of them for a group), ``None`` if reserved.

    Raises:
        KeyError: ``name`` is not a registered section.
    """
    target = _REGISTRY[name]
    if isinstance(target, Mapping):
        return {sub: _resolve(spec) for sub, spec in target.items()}
    return _resolve(target)


def registered_sections() -> dict[str, type | dict[str, type | None] | None]:
    """Every registered section and its dataclass (or group), ``None`` when reserved, in order."""
    return {name: section_class(name) for name in _REGISTRY}


def default_config_text() -> str:
    """The shipped config.toml (read from the ``tapescope.tui`` package)."""
    return files("tapescope.tui").joinpath("config.toml").read_text(encoding="utf-8")


def user_config_file() -> Path:
    """Where the user file is looked for: ``$TAPESCOPE_CONFIG_FILE`` or the platform path."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("tapescope") / "config.toml"


@dataclass(frozen=True)
class Config:
    """The effective configuration: one dataclass instance per section."""

    sections: Mapping[str, Any]
    """Section name -> dataclass instance, or ``{sub-table: instance}`` for a group (reserved sections are absent)."""
    sources: Mapping[str, str]
    """Dotted key (``"app.fps"``) -> where its value came from."""
    files: tuple[str, ...] = ()
    """Files read, lowest precedence first (the shipped defaults are ``"default"``)."""

    @property
    def app(self) -> AppSettings:
        """The ``[app]`` section."""
        return self.sections["app"]

    @property
    def keys(self) -> KeySettings:
        """The ``[keys]`` section."""
        return self.sections["keys"]

    def section(self, name: str) -> Any:
        """The dataclass instance of section ``name``.

        Raises:
            KeyError: the section is unknown or reserved in this build.
        """
        return self.sections[name]

    def items(self) -> list[tuple[str, Any, str]]:
        """Every leaf setting as ``(dotted key, value, source)``, in section order."""
        out: list[tuple[str, Any, str]] = []
        for name, inst in self.sections.items():
            groups = inst.items() if isinstance(inst, dict) else [(None, inst)]
            for sub, obj in groups:
                prefix = name if not sub else f"{name}.{sub}"
                for key, value in _flatten(obj, prefix):
                    out.append((key, value, self.sources.get(key, DEFAULT_SOURCE)))
        return out


def _flatten(inst: Any, prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for f in dataclasses.fields(inst):
        value = getattr(inst, f.name)
        key = f"{prefix}.{f.name}"
        if dataclasses.is_dataclass(value):
            out.extend(_flatten(value, key))
        else:
            out.append((key, value))
    return out


# --------------------------------------------------------------------- loading


def _read(path: Path, label: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(label, "", None, "file not found") from None
    except OSError as err:
        raise ConfigError(label, "", None, f"cannot read file ({err.strerror})") from None
    return _parse(text, label)


def _parse(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(label, "", None, f"invalid TOML: {err}") from None


def _load_group(section: str, classes: dict[str, type | None], table: Mapping[str, Any],
                label: str, source: str, values: dict[str, dict[str, Any]],
                sources: dict[str, str]) -> None:
    """Validate and merge one layer of a group section (one sub-table per dataclass).

    Plain keys directly under the section header (not sub-tables) belong to
    the group's own dataclass, registered under the sub-name ``""``.
    """
    own = {k: v for k, v in table.items() if not isinstance(v, dict)}
    for name in own:
        if name in classes and name != OWN:
            raise ConfigError(label, f"{section}.{name}", own[name], f"expected a table [{section}.{name}]")
    if own:
        own_cls = classes.get(OWN)
        if own_cls is None:
            key = f"{section}.{next(iter(own))}"
            raise ConfigError(label, key, own[key.split(".", 1)[1]],
                              f"[{section}] holds only tables: {', '.join(c for c in classes if c)}")
        checked = _validate_table(own_cls, own, section, label)
        _merge(values[OWN], checked, own_cls, section, source, sources)
    for sub, sub_table in table.items():
        if sub in own:
            continue
        key = f"{section}.{sub}"
        if sub not in classes:
            near = difflib.get_close_matches(sub, classes, n=1)
            hint = f" (did you mean [{section}.{near[0]}]?)" if near else ""
            raise ConfigError(label, key, None,
                              f"unknown table{hint}; known tables: {', '.join(classes)}")
        if not isinstance(sub_table, dict):
            raise ConfigError(label, key, sub_table, f"expected a table [{key}]")
        cls = classes[sub]
        if cls is None:
            if sub_table:
                raise ConfigError(label, f"[{key}]", None,
                                  "this table is not available in this build; leave it empty")
            continue
        checked = _validate_table(cls, sub_table, key, label)
        _merge(values[sub], checked, cls, key, source, sources)


def load_config(
    config_file: Path | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    user_file: Path | None = None,
    read_user_file: bool = True,
    defaults_text: str | None = None,
) -> Config:
    """Build the effective configuration from all layers.

    Args:
        config_file: File given with ``--config`` (must exist).
        overrides: Flag values by section and key, e.g. ``{"app": {"fps": 20}}``;
            a ``None`` value means the flag was not given.
        user_file: User file to read (default :func:`user_config_file`); it is
            optional: a missing user file is skipped.
        read_user_file: ``False`` ignores the user file (benchmarks and snapshot
            tests want the shipped defaults only).
        defaults_text: Shipped defaults to use instead of the packaged config.toml.

    Returns:
        The validated :class:`Config`.

    Raises:
        ConfigError: unknown section or key, wrong type, value out of range,
            unreadable file or invalid TOML.
    """
    registry = registered_sections()
    values: dict[str, dict[str, Any]] = {}
    for name, cls in registry.items():
        if isinstance(cls, dict):
            values[name] = {sub: {} for sub, sub_cls in cls.items() if sub_cls is not None}
        elif cls is not None:
            values[name] = {}
    sources: dict[str, str] = {}
    shipped = "shipped config.toml"
    layers: list[tuple[str, dict[str, Any]]] = [
        (DEFAULT_SOURCE, _parse(defaults_text if defaults_text is not None else default_config_text(),
                                shipped)),
    ]
    user = user_file if user_file is not None else user_config_file()
    if read_user_file and user.is_file():
        layers.append((str(user), _read(user, str(user))))
    if config_file is not None:
        layers.append((str(config_file), _read(Path(config_file), str(config_file))))
    files_read = tuple(label for label, _ in layers)
    if overrides:
        for section, table in overrides.items():
            for key, value in table.items():
                if value is not None:
                    layers.append((f"--{key.replace('_', '-')} flag", {section: {key: value}}))

    for source, doc in layers:
        # Errors name the file; the shipped file is "default" as a source but not as a place.
        label = shipped if source == DEFAULT_SOURCE else source
        for section, table in doc.items():
            if section not in registry:
                near = difflib.get_close_matches(section, registry, n=1)
                hint = f" (did you mean [{near[0]}]?)" if near else ""
                raise ConfigError(label, f"[{section}]", None,
                                  f"unknown section{hint}; known sections: {', '.join(registry)}")
            if not isinstance(table, dict):
                raise ConfigError(label, section, table, "expected a table")
            cls = registry[section]
            if isinstance(cls, dict):
                _load_group(section, cls, table, label, source, values[section], sources)
                continue
            if cls is None:
                if table:
                    raise ConfigError(label, f"[{section}]", None,
                                      "this section is not available in this build; leave it empty")
                continue
            checked = _validate_table(cls, table, section, label)
            _merge(values[section], checked, cls, section, source, sources)

    sections: dict[str, Any] = {}
    for name, vals in values.items():
        cls = registry[name]
        if isinstance(cls, dict):
            sections[name] = {sub: _build(cls[sub], sub_vals, f"{name}.{sub}")
                              for sub, sub_vals in vals.items()}
        else:
            sections[name] = _build(cls, vals, name)
    return Config(sections=sections, sources=sources, files=files_read)
