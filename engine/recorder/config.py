"""Recorder settings (the ``[record]`` section of config.toml) and their parsers.

Rotation settings are human strings (``"1h"``, ``"500MB"``); the parsers
turn them into nanoseconds and bytes, or raise
:class:`~tapescope.engine.recorder.errors.RecorderSettingError` naming the
value and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tapescope.engine.recorder.errors import RecorderSettingError

#: Duration units accepted by :func:`parse_duration`, in nanoseconds.
DURATION_UNITS = {
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}
#: Size units accepted by :func:`parse_size` (decimal and binary), in bytes.
SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")


def parse_duration(text: str) -> int:
    """Parse ``"90s"``, ``"30m"``, ``"1h"``, ``"1.5h"``, ``"250ms"`` into nanoseconds.

    An empty string means "off" and returns 0. Runtime complexity: ``O(len(text))``.

    >>> parse_duration("1h") == 3600 * 10**9, parse_duration("250ms"), parse_duration("")
    (True, 250000000, 0)

    Raises:
        RecorderSettingError: not ``<number><unit>`` with a known unit, or zero.
    """
    return _parse_amount(text, DURATION_UNITS, "duration",
                         f"({', '.join(DURATION_UNITS)}), e.g. '1h' or '30m'")


def parse_size(text: str) -> int:
    """Parse ``"500MB"``, ``"2GB"``, ``"64MiB"`` into bytes (``""`` means off: 0).

    Runtime complexity: ``O(len(text))``.

    >>> parse_size("500MB"), parse_size("1GiB"), parse_size("")
    (500000000, 1073741824, 0)

    Raises:
        RecorderSettingError: not ``<number><unit>`` with a known unit, or zero.
    """
    return _parse_amount(text, SIZE_UNITS, "size", "(B, KB, MB, GB, TB, KiB, MiB, GiB), e.g. '500MB'")


def _parse_amount(text: str, units: dict[str, int], what: str, expected: str) -> int:
    """``<number><unit>`` times the unit's factor; ``""`` is 0 (off).

    Raises:
        RecorderSettingError: naming ``what`` and ``expected`` when the unit is
            unknown or the text is not a number and a unit; also when the value is zero.
    """
    if text.strip() == "":
        return 0
    match = _NUMBER_UNIT.match(text)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in units:
        raise RecorderSettingError(f"bad {what} {text!r}: expected a number and a unit {expected}")
    value = int(float(match.group(1)) * units[unit])
    if value <= 0:
        raise RecorderSettingError(f"bad {what} {text!r}: must be above zero")
    return value


@dataclass(frozen=True, slots=True)
class RecordConfig:
    """Settings of the recorder and the headless ``tapescope record`` runner."""

    batch_interval_ms: int = field(default=250, metadata={"min": 10, "max": 10_000})
    """Commit queued messages at least this often (ms, driven by an asyncio sleep tick)."""
    batch_max_messages: int = field(default=5000, metadata={"min": 1, "max": 1_000_000})
    """Commit early once this many messages are queued."""
    max_queue_messages: int = field(default=500_000, metadata={"min": 1000, "max": 50_000_000})
    """Queue bound; messages beyond it are dropped and recorded as a gap marker with counts."""
    max_queue_mb: int = field(default=256, metadata={"min": 1, "max": 16_384})
    """Queue bound in payload megabytes (10^6 bytes); overflow is handled like max_queue_messages."""
    checkpoint_interval_s: float = field(default=60.0, metadata={"min": 1.0, "max": 86_400.0})
    """Book checkpoint every this many seconds of receive time, per symbol."""
    checkpoint_retry_s: float = field(default=1.0, metadata={"min": 0.1, "max": 3600.0})
    """When a book is not in sync at checkpoint time, try again after this many seconds."""
    compress_checkpoints: bool = True
    """zlib-compress checkpoint books (about 3x smaller, ~1 ms per 1000 levels)."""
    rotate_every: str = ""
    """Start a new numbered file after this much receive time, e.g. "1h" ("" = never)."""
    rotate_size: str = ""
    """Start a new numbered file once the current one reaches this size, e.g. "500MB" ("" = never)."""
    synchronous: str = field(default="NORMAL", metadata={"choices": ["OFF", "NORMAL", "FULL"]})
    """SQLite synchronous mode; NORMAL in WAL mode loses at most the last commits on power loss."""
    status_interval_s: float = field(default=1.0, metadata={"min": 0.1, "max": 60.0})
    """How often the record runner refreshes its one-line status on a terminal."""
    log_interval_s: float = field(default=30.0, metadata={"min": 1.0, "max": 3600.0})
    """How often the record runner logs a status line when stderr is not a terminal."""

    def __post_init__(self) -> None:
        # Parse eagerly so a bad value is refused at start, not at the first rotation.
        parse_duration(self.rotate_every)
        parse_size(self.rotate_size)
        if self.synchronous not in ("OFF", "NORMAL", "FULL"):
            raise RecorderSettingError(
                f"bad synchronous {self.synchronous!r}: expected one of OFF, NORMAL, FULL"
            )

    @property
    def rotate_every_ns(self) -> int:
        """:attr:`rotate_every` in nanoseconds (0: off)."""
        return parse_duration(self.rotate_every)

    @property
    def rotate_size_bytes(self) -> int:
        """:attr:`rotate_size` in bytes (0: off)."""
        return parse_size(self.rotate_size)

    @property
    def rotates(self) -> bool:
        """True when either rotation rule is set (files are then numbered)."""
        return bool(self.rotate_every.strip() or self.rotate_size.strip())
