"""Base of the line-API panels (heatmap, signals, alert log): cached styles, changed-line refresh.

A panel subclass turns its reactive inputs into a list of hashable line
descriptions (:meth:`LinePanel.build_lines`) and draws one description into a
:class:`~textual.strip.Strip` (:meth:`LinePanel.draw_line`). The base keeps
the previous list and refreshes only the screen lines whose description
changed (terminal bytes are a budget, architecture.md rule 4), caches drawn
strips in an :class:`~textual.cache.LRUCache` keyed by description and width,
and caches the Rich styles of the component classes per theme.

:class:`TextLine` is the description most panels need: a tuple of
``(text, component class)`` runs.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from rich.segment import Segment
from textual.strip import Strip

from tapescope.widgets.styles import RowLines

#: Fewest cells of a line's left text kept when its right-aligned runs need room.
MIN_LEFT = 12


class TextLine(NamedTuple):
    """One screen line as runs of text, each with a component class ("" = base style)."""

    runs: tuple[tuple[str, str], ...] = ()
    """``(text, component class)`` runs, left to right."""
    right: tuple[tuple[str, str], ...] = ()
    """Runs aligned to the right edge (dropped first when the line is too narrow)."""

    @property
    def text(self) -> str:
        """The plain text of the left runs (tests, diagnostics).

        >>> TextLine((("a", ""), ("b", "x"))).text
        'ab'
        """
        return "".join(t for t, _ in self.runs)


def clock_text(ts_ns: int, utc: bool = True) -> str:
    """``HH:MM:SS`` of a ns timestamp.

    >>> clock_text(1_700_000_000_123_456_789)
    '22:13:20'
    """
    moment = datetime.fromtimestamp(ts_ns // 1_000_000_000, UTC)
    if not utc:
        moment = moment.astimezone()
    return moment.strftime("%H:%M:%S")


def age_text(age_ns: int) -> str:
    """A compact age: ``5s``, ``2m``, ``1h``.

    >>> age_text(5 * 10**9), age_text(125 * 10**9), age_text(7300 * 10**9), age_text(-1)
    ('5s', '2m', '2h', '0s')
    """
    s = max(0, age_ns) // 1_000_000_000
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h"


class LinePanel(RowLines):
    """A widget drawn line by line from hashable descriptions (see the module docstring)."""

    #: Strips kept in the line cache.
    CACHE_SIZE = 256

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(cache_size=self.CACHE_SIZE, name=name, id=id, classes=classes)

    # -- subclass API ------------------------------------------------------

    def build_lines(self, width: int, height: int) -> Sequence[Hashable]:
        """The descriptions of the ``height`` lines to show (override)."""
        return []

    def draw_line(self, line: Hashable, width: int) -> Strip:
        """Draw one description (override unless every line is a :class:`TextLine`)."""
        assert isinstance(line, TextLine)
        return self.draw_text_line(line, width)

    def _draw(self, row: Hashable, width: int) -> Strip:
        return self.draw_line(row, width)

    # -- lines ---------------------------------------------------------------

    @property
    def lines(self) -> list[Hashable]:
        """The descriptions currently on screen."""
        return list(self._rows)

    def rebuild(self, force: bool = False) -> None:
        """Recompute the descriptions and refresh only the lines that changed."""
        width, height = self.size.width, self.size.height
        self.show_rows(list(self.build_lines(width, height)) if width > 0 and height > 0 else [], force)

    def on_resize(self) -> None:
        self.rebuild(force=True)

    def draw_text_line(self, line: TextLine, width: int) -> Strip:
        """Left runs, then the right-aligned runs at the right edge, within ``width``.

        The right runs (states, ages) win over the end of the left text: the
        left side is cut with ``…`` to make room, as long as at least
        :data:`MIN_LEFT` of its cells stay; narrower still, the right runs go.
        """
        base = self.base_style
        right_len = sum(len(t) for t, _ in line.right)
        left_len = sum(len(t) for t, _ in line.runs)
        keep_right = bool(line.right) and width - right_len - 1 >= min(MIN_LEFT, left_len)
        room = width - right_len - 1 if keep_right else width
        segs: list[Segment] = []
        used = 0
        for text, cls in line.runs:
            if used >= room:
                break
            if used + len(text) > room or (used + len(text) == room and left_len > room):
                text = text[: max(0, room - used - 1)] + "…"
            segs.append(Segment(text, self.style_of(cls) if cls else base))
            used += len(text)
        if keep_right:
            segs.append(Segment(" " * (width - used - right_len), base))
            segs.extend(Segment(t, self.style_of(c) if c else base) for t, c in line.right)
            used = width
        return Strip(segs, used).adjust_cell_length(width, base)
