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
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from importlib.resources import files
from pathlib import Path
from typing import Any

import platformdirs

from tapescope.tui.settings import AppSettings, KeySettings

#: Environment variable naming the user config file (overrides the platform path).
CONFIG_ENV = "TAPESCOPE_CONFIG_FILE"
#: Source label of values that come from the shipped config.toml.
DEFAULT_SOURCE = "default"

#: Sections and their dataclass, as a class or a lazy ``"module:Class"`` path.
#: Another engineer registers a section by adding a line here (or by calling
#: :func:`register_section` before loading). A path whose module is not in
#: this build leaves the section *reserved*: it may appear, but only empty.
_REGISTRY: dict[str, type | str] = {
    "app": AppSettings,
    "keys": KeySettings,
    "sim": "tapescope.feeds.sim:SimParams",
    "flow": "tapescope.engine.flow:FlowParams",
    "venues": "tapescope.feeds.venues.config:VenuesConfig",
    "record": "tapescope.engine.recorder:RecorderParams",
    "risk": "tapescope.engine.risk:RiskParams",
    "volatility": "tapescope.engine.volatility:VolatilityParams",
    "detectors": "tapescope.engine.detectors:DetectorParams",
}


class ConfigError(Exception):
    """Refused configuration. ``str(err)`` is one line fit for the terminal.

    Attributes:
        source: File path or flag the bad value came from.
        key: Dotted key (``"app.fps"``), or the section name, or ``""``.
        value: The offending value (``None`` when not applicable).
        expected: What would have been accepted.
    """

    def __init__(self, source: str, key: str, value: Any, expected: str) -> None:
        self.source = source
        self.key = key
        self.value = value
        self.expected = expected
        where = f"{source}: {key}" if key else source
        shown = "" if value is None else f" = {value!r}"
        super().__init__(f"{where}{shown}: {expected}")


def register_section(name: str, cls: type | str) -> None:
    """Map a config section to its frozen dataclass.

    Args:
        name: Section header in config.toml, e.g. ``"flow"``.
        cls: The dataclass, or ``"package.module:Class"`` imported on first use.

    Raises:
        TypeError: ``cls`` is a class that is not a dataclass.
    """
    if isinstance(cls, type) and not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    _REGISTRY[name] = cls


def section_class(name: str) -> type | None:
    """The dataclass of a registered section, or ``None`` if it is reserved.

    Raises:
        KeyError: ``name`` is not a registered section.
    """
    target = _REGISTRY[name]
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
    cls = getattr(module, attr, None)
    if cls is None:
        return None
    _REGISTRY[name] = cls
    return cls


def registered_sections() -> dict[str, type | None]:
    """Every registered section and its dataclass (``None`` when reserved), in order."""
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
    """Section name -> dataclass instance (reserved sections are absent)."""
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
            for key, value in _flatten(inst, name):
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


# ----------------------------------------------------------------- validation


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if isinstance(tp, type) and issubclass(tp, Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    if origin in (tuple, list):
        args = typing.get_args(tp)
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin in (dict, Mapping):
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    if origin in (typing.Union, types.UnionType):
        return " or ".join("nothing" if a is type(None) else _describe(a) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, key: str, source: str) -> Any:
    """Check ``value`` against type ``tp``; return it converted (lists -> tuples...)."""

    def fail() -> typing.NoReturn:
        raise ConfigError(source, key, value, f"expected {_describe(tp)}")

    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            fail()
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail()
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail()
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            fail()
        return value
    if isinstance(tp, type) and issubclass(tp, Enum):
        for member in tp:
            if value == member.value or (isinstance(value, str) and value == member.name.lower()):
                return member
        fail()
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, key, source)
            except ConfigError:
                continue
        fail()
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            fail()
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            fail()
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        item_tp = args[0] if args else Any
        items = [_convert(item_tp, v, f"{key}[{i}]", source) for i, v in enumerate(value)]
        if dataclasses.is_dataclass(item_tp):
            # Array-of-tables items are whole values (not merged key by key): build them now.
            items = [_build(item_tp, v, f"{key}[{i}]") for i, v in enumerate(items)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping):
        if not isinstance(value, dict):
            fail()
        args = typing.get_args(tp)
        val_tp = args[1] if len(args) == 2 else Any
        return {str(k): _convert(val_tp, v, f"{key}.{k}", source) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            fail()
        return _validate_table(tp, value, key, source)
    if isinstance(tp, type):
        if not isinstance(value, tp):
            fail()
        return value
    return value


def _check_metadata(meta: Mapping[str, Any], value: Any, key: str, source: str) -> None:
    choices = meta.get("choices")
    lo, hi = meta.get("min"), meta.get("max")
    items = value if isinstance(value, tuple | list) else (value,)
    for item in items:
        if choices is not None and item not in choices:
            raise ConfigError(source, key, value, "expected one of " + ", ".join(map(repr, choices)))
        if isinstance(item, int | float) and not isinstance(item, bool):
            if (lo is not None and item < lo) or (hi is not None and item > hi):
                if lo is not None and hi is not None:
                    expected = f"expected a value from {lo} to {hi}"
                elif lo is not None:
                    expected = f"expected a value >= {lo}"
                else:
                    expected = f"expected a value <= {hi}"
                raise ConfigError(source, key, value, expected)


def _validate_table(cls: type, table: Mapping[str, Any], prefix: str, source: str) -> dict[str, Any]:
    """Validate one TOML table against dataclass ``cls``; returns converted values by name."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for name, raw in table.items():
        key = f"{prefix}.{name}"
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(source, key, None, f"unknown key{hint}; known keys: {', '.join(known)}")
        value = _convert(hints[name], raw, key, source)
        _check_metadata(known[name].metadata, value, key, source)
        out[name] = value
    return out


def _merge(base: dict[str, Any], update: Mapping[str, Any], cls: type, prefix: str,
           source: str, sources: dict[str, str]) -> None:
    """Overlay ``update`` on ``base`` key by key, recursing into nested dataclass tables."""
    hints = typing.get_type_hints(cls)
    for name, value in update.items():
        key = f"{prefix}.{name}"
        tp = hints[name]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            _merge(base.setdefault(name, {}), value, tp, key, source, sources)
        else:
            base[name] = value
            sources[key] = source


def _build(cls: type, values: Mapping[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            value = _build(tp, value, f"{prefix}.{name}")
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        # __post_init__ cross-field checks raise ValueError; report them on the section.
        raise ConfigError("configuration", prefix, None, str(err)) from err


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
    values: dict[str, dict[str, Any]] = {name: {} for name, cls in registry.items() if cls}
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
            if cls is None:
                if table:
                    raise ConfigError(label, f"[{section}]", None,
                                      "this section is not available in this build; leave it empty")
                continue
            checked = _validate_table(cls, table, section, label)
            _merge(values[section], checked, cls, section, source, sources)

    sections = {name: _build(registry[name], vals, name) for name, vals in values.items()}
    return Config(sections=sections, sources=sources, files=files_read)
