"""Times in a replay: parse what a user types (CLI ``--from/--to``, the go-to box) and format clocks.

Accepted forms (all UTC), relative to a recording that starts at ``start_ns``:

* ``+90s``, ``+1m30s``, ``+2h``, ``+1.5m``, ``+45``: offset from the recording's start
  (a bare number is seconds);
* ``12:34``, ``12:34:56``, ``12:34:56.250``: time of day on the start's date (the next
  day when that time of day is before the start, so a session across midnight works);
* ``2024-08-08T12:34:56``, ``2024-08-08 12:34:56.5``, with optional ``Z`` or ``+00:00``;
* a plain integer of at least 13 digits: nanoseconds (>= 16 digits) or milliseconds since the epoch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tapescope.widgets.replay_bar import fmt_clock, fmt_span

__all__ = ["NS_PER_S", "fmt_clock", "fmt_span", "fmt_utc", "parse_duration", "parse_time"]

NS_PER_S = 1_000_000_000
_DURATION = re.compile(r"^(?:(\d+(?:\.\d*)?)h)?(?:(\d+(?:\.\d*)?)m(?!s))?(?:(\d+(?:\.\d*)?)s?)?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$")


def fmt_utc(ns: int) -> str:
    """ISO-8601 UTC with milliseconds.

    >>> fmt_utc(1_723_120_496_250_000_000)
    '2024-08-08T12:34:56.250Z'
    """
    dt = datetime.fromtimestamp(ns // NS_PER_S, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % NS_PER_S // 1_000_000:03d}Z"


def parse_duration(text: str) -> int:
    """Nanoseconds in ``1h2m3.5s``, ``90s``, ``1.5m``, ``45`` (bare numbers are seconds).

    Raises:
        ValueError: not a duration.

    >>> parse_duration("1m30s") == 90 * NS_PER_S, parse_duration("2h"), parse_duration("0.5")
    (True, 7200000000000, 500000000)
    """
    t = text.strip().lower()
    m = _DURATION.match(t)
    if not t or m is None or not any(m.groups()):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 90s, 1m30s, 2h)")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return round((h * 3600 + mi * 60 + s) * NS_PER_S)


def parse_time(text: str, start_ns: int) -> int:
    """Absolute receive time (ns) for a user's time ``text`` in a recording starting at ``start_ns``.

    Args:
        text: one of the forms in the module docstring.
        start_ns: the recording's first receive time.

    Raises:
        ValueError: the text matches no form (the message lists them).

    >>> t0 = 1_723_120_000_000_000_000            # 2024-08-08T12:26:40Z
    >>> parse_time("+90s", t0) - t0 == 90 * NS_PER_S
    True
    >>> fmt_utc(parse_time("12:30", t0)), fmt_utc(parse_time("01:00:00.5", t0))
    ('2024-08-08T12:30:00.000Z', '2024-08-09T01:00:00.500Z')
    >>> fmt_utc(parse_time("2024-08-08 12:34:56.25", t0)), parse_time("1723120000123", t0)
    ('2024-08-08T12:34:56.250Z', 1723120000123000000)
    """
    t = text.strip()
    if t.startswith("+"):
        return start_ns + parse_duration(t[1:])
    if t.isdigit() and len(t) >= 13:
        return int(t) if len(t) >= 16 else int(t) * 1_000_000
    m = _CLOCK.match(t)
    if m is not None:
        hh, mm, ss, frac = m.groups()
        if int(hh) > 23 or int(mm) > 59 or int(ss or 0) > 59:
            raise ValueError(f"not a time of day: {text!r}")
        day = datetime.fromtimestamp(start_ns // NS_PER_S, UTC).replace(hour=0, minute=0, second=0)
        at = day + timedelta(hours=int(hh), minutes=int(mm), seconds=int(ss or 0))
        ns = int(at.timestamp()) * NS_PER_S + (int((frac or "0").ljust(9, "0")) if frac else 0)
        return ns + 86_400 * NS_PER_S if ns < start_ns - NS_PER_S else ns
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (expected +90s, 12:34:56, 2024-08-08T12:34:56 or epoch ms/ns)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    whole = int(dt.replace(microsecond=0).timestamp())
    return whole * NS_PER_S + dt.microsecond * 1000
