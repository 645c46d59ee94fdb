"""Minimal sanitiser for network text until ``tapescope.feeds.sanitize`` lands.

Venue text (error frames, close reasons, frame samples) ends up on the health
screen and in logs, so terminal control sequences and non-ASCII are replaced
and the length is capped.
"""

from __future__ import annotations

from typing import Any


def sanitize(text: Any, limit: int = 160) -> str:
    """One printable ASCII line of at most ``limit`` characters.

    >>> sanitize("bad\\x1b[31m frame\\n")
    'bad?[31m frame?'
    >>> len(sanitize("x" * 500, 20))
    20
    """
    s = text if isinstance(text, str) else str(text)
    out = "".join(c if " " <= c <= "~" else "?" for c in s[: limit + 1])
    return out if len(out) <= limit else out[: limit - 3] + "..."
