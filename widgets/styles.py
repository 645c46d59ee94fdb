"""Per-theme cache of a widget's Rich styles (base style + component classes).

``Widget.rich_style`` walks the DOM on every call; line renderers need the
same few styles for every line of every frame, so they are computed once per
theme and dropped when the styles change (theme switch, CSS reload).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class CachedStyles(Widget):
    """Base for line-API widgets: ``self.style_of(name)`` and ``self.base_style``, cached."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._style_memo: dict[str, Style] = {}

    @property
    def base_style(self) -> Style:
        """The widget's own Rich style (background, foreground), cached per theme."""
        style = self._style_memo.get("")
        if style is None:
            style = self._style_memo[""] = self.rich_style
        return style

    def style_of(self, *names: str) -> Style:
        """Base style plus the component classes ``names`` (empty names skipped), cached per theme."""
        key = " ".join(names)
        style = self._style_memo.get(key)
        if style is None:
            style = self.base_style
            for name in names:
                if name:
                    style += self.get_component_rich_style(name)
            self._style_memo[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_memo.clear()
        self.styles_changed()

    def styles_changed(self) -> None:
        """Hook: drop anything drawn with the old styles (default: repaint)."""
        self.refresh()


class RowLines(CachedStyles):
    """Base for line-API widgets drawn as one hashable row description per screen line.

    A subclass computes its rows, hands them to :meth:`show_rows` (which
    refreshes only the lines whose description changed: terminal bytes are a
    budget) and draws one row in :meth:`_draw`; strips are cached by
    ``(row, width)``. Subclasses clear ``self._cache`` when their styles change.
    """

    def __init__(self, *, cache_size: int = 512, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[Hashable] = []
        self._cache: LRUCache[tuple[Hashable, int], Strip] = LRUCache(cache_size)
        self.lines_refreshed = 0
        """Screen lines refreshed so far (byte-budget tests and diagnostics)."""

    def show_rows(self, rows: Sequence[Hashable], force: bool = False) -> None:
        """Make ``rows`` the screen lines; refresh all when forced or the count changed."""
        old, self._rows = self._rows, list(rows)
        if force or len(old) != len(self._rows):
            self.lines_refreshed += len(self._rows)
            self.refresh()
            return
        width = self.size.width
        changed = [Region(0, y, width, 1)
                   for y, (a, b) in enumerate(zip(old, self._rows, strict=True)) if a != b]
        if changed:
            self.lines_refreshed += len(changed)
            self.refresh(*changed)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._rows):
            return Strip.blank(width, self.base_style)
        row = self._rows[y]
        key = (row, width)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._draw(row, width)
            self._cache[key] = strip
        return strip

    def styles_changed(self) -> None:
        # A theme switch changes every colour: drop the strips drawn with the old styles.
        self._cache.clear()
        self.refresh()

    def _draw(self, row: Hashable, width: int) -> Strip:
        """Draw one row (subclasses)."""
        raise NotImplementedError
