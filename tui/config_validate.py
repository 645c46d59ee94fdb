"""Validation of TOML values against dataclass fields (types and ``metadata`` ranges).

Used by :mod:`tapescope.tui.config`; :class:`ConfigError` is re-exported there.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any


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
        raw_args = typing.get_args(tp)
        args = [a for a in raw_args if a is not Ellipsis]
        if origin is tuple and args and Ellipsis not in raw_args:
            # A fixed-length tuple such as tuple[float, float].
            if len(value) != len(args):
                raise ConfigError(source, key, value, f"expected a list of {len(args)} values")
            items = [_convert(a, v, f"{key}[{i}]", source) for i, (a, v) in enumerate(zip(args, value, strict=True))]
            return tuple(items)
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


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints(cls)``, once per class. O(fields) the first time, O(1) after.

    Every module uses ``from __future__ import annotations``, so each hint is a
    string that get_type_hints compiles and evaluates; a load asked for them
    ~100 times (about 1,100 evaluations, half of the load's CPU time).
    Dataclasses are not redefined at run time, so the answer never changes.
    """
    return typing.get_type_hints(cls)


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
    hints = _hints(cls)
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
    hints = _hints(cls)
    for name, value in update.items():
        key = f"{prefix}.{name}"
        tp = hints[name]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            _merge(base.setdefault(name, {}), value, tp, key, source, sources)
        else:
            base[name] = value
            sources[key] = source


def _build(cls: type, values: Mapping[str, Any], prefix: str) -> Any:
    hints = _hints(cls)
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
