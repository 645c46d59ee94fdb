"""Pure formatting helpers shared by the widgets: quantised sizes, prices, signed values.

Quantising what is shown (sizes to 2-3 significant digits) keeps most screen
lines identical from one frame to the next, which is what keeps terminal
traffic low over SSH (architecture.md rule 4).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

#: Placeholder for an undefined value.
MISSING = "—"

#: Magnitude suffixes for compact sizes.
_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def quantise(x: float, digits: int) -> float:
    """Round ``x`` to ``digits`` significant digits.

    >>> quantise(123456.0, 3), quantise(0.0012345, 2), quantise(0.0, 3)
    (123000.0, 0.0012, 0.0)
    """
    if x == 0.0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def _plain(x: float, digits: int) -> str:
    """``x`` (already quantised) with just the decimals its significant digits need."""
    if x == 0.0:
        return "0"
    magnitude = int(math.floor(math.log10(abs(x))))
    decimals = max(0, digits - 1 - magnitude)
    return f"{x:.{decimals}f}"


def fmt_size(x: float, digits: int = 3) -> str:
    """A size with ``digits`` significant digits and a k/M/G suffix above 1000.

    >>> [fmt_size(v) for v in (0.0, 1.2345, 12.345, 123.45, 1234.5, 1_234_567.0, 0.0012345)]
    ['0', '1.23', '12.3', '123', '1.23k', '1.23M', '0.00123']
    >>> fmt_size(999.7), fmt_size(float("nan"))
    ('1.00k', '—')
    """
    if not math.isfinite(x):
        return MISSING
    q = quantise(x, digits)
    for scale, suffix in _SUFFIXES:
        if abs(q) >= scale:
            return _plain(quantise(q / scale, digits), digits) + suffix
    return _plain(q, digits)


def fmt_signed(x: float, digits: int = 3) -> str:
    """A signed compact number: ``+1.23k``, ``-0.5``, ``0``.

    >>> fmt_signed(1234.0), fmt_signed(-0.5), fmt_signed(0.0), fmt_signed(float("nan"))
    ('+1.23k', '-0.500', '0', '—')
    """
    if not math.isfinite(x):
        return MISSING
    if quantise(x, digits) == 0.0:
        return "0"
    text = fmt_size(abs(x), digits)
    return ("+" if x > 0 else "-") + text


def fmt_price(x: float | None, decimals: int) -> str:
    """A price at the instrument's tick precision.

    >>> fmt_price(100.5, 2), fmt_price(None, 2), fmt_price(float("nan"), 1)
    ('100.50', '—', '—')
    """
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x:,.{decimals}f}"


def fmt_fixed(x: float, decimals: int = 2, signed: bool = False) -> str:
    """A fixed-point number, ``—`` when undefined.

    >>> fmt_fixed(0.1234, 2), fmt_fixed(0.1234, 2, signed=True), fmt_fixed(float("nan"))
    ('0.12', '+0.12', '—')
    """
    if not math.isfinite(x):
        return MISSING
    return f"{x:+.{decimals}f}" if signed else f"{x:.{decimals}f}"


def fmt_time(ts_ns: int, utc: bool = True, millis: bool = True) -> str:
    """Clock time of a ns timestamp, ``HH:MM:SS.mmm``.

    >>> fmt_time(1_700_000_000_123_456_789)
    '22:13:20.123'
    >>> fmt_time(1_700_000_000_123_456_789, millis=False)
    '22:13:20'
    """
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC)
    if not utc:
        moment = moment.astimezone()
    text = moment.strftime("%H:%M:%S")
    return f"{text}.{ns // 1_000_000:03d}" if millis else text


def fmt_window(seconds: int) -> str:
    """A window length: ``30s``, ``5m``, ``1h``.

    >>> fmt_window(30), fmt_window(300), fmt_window(3600), fmt_window(90)
    ('30s', '5m', '1h', '90s')
    """
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"
