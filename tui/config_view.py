"""Renderings of the effective configuration for ``tapescope config``.

Two forms: a rich table (key, value, source) and TOML that could be saved as a
config file, each value followed by a comment naming its source.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from rich.table import Table

from tapescope.tui.config import Config


def toml_value(value: Any) -> str:
    """A value as a TOML literal.

    >>> toml_value(True), toml_value(2.5), toml_value("a\\"b"), toml_value(("x", 1))
    ('true', '2.5', '"a\\\\"b"', '["x", 1]')
    """
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "__dataclass_fields__"):
        return "{" + ", ".join(f"{k} = {toml_value(getattr(value, k))}"
                               for k in value.__dataclass_fields__) + "}"
    return toml_value(str(value))


def config_toml(config: Config) -> str:
    """The effective configuration as TOML, each key commented with its source."""
    out: list[str] = []
    table = None
    for key, value, source in config.items():
        head, _, name = key.rpartition(".")
        if head != table:
            if out:
                out.append("")
            out.append(f"[{head}]")
            table = head
        out.append(f"{name} = {toml_value(value)}  # {source}")
    return "\n".join(out) + "\n"


def config_table(config: Config) -> Table:
    """The effective configuration as a rich table: key, value, source."""
    table = Table(title="tapescope configuration", show_lines=False)
    # Long keys and values wrap rather than being cut: the point is to read them.
    table.add_column("key", overflow="fold")
    table.add_column("value", overflow="fold")
    table.add_column("source", style="dim", overflow="fold")
    for key, value, source in config.items():
        table.add_row(key, toml_value(value), source)
    table.caption = "files read: " + ", ".join(config.files)
    return table
