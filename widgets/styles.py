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


#: Unchanged cells between two changed runs of a line below which the runs are
#: refreshed as one region: moving the cursor over a short gap costs about as
#: many bytes as rewriting it (an escape sequence is 6-10 bytes).
MERGE_GAP = 8


def changed_spans(old: Strip, new: Strip, merge_gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """``(x, width)`` runs of cells that differ between two strips of one line.

    Cells compare by character and style; runs closer than ``merge_gap``
    equal cells are merged. Strips of different lengths, or with a character
    wider than one cell, give one run over the whole line.

    Runtime complexity: ``O(width)``.

    >>> from rich.segment import Segment
    >>> from rich.style import Style
    >>> red = Style(color="red")
    >>> a = Strip([Segment("BTC 100.5 +1.00 ", None), Segment("0.42", None)])
    >>> b = Strip([Segment("BTC 100.7 +1.00 ", None), Segment("0.42", red)])
    >>> changed_spans(a, b, merge_gap=4), changed_spans(a, b)
    ([(8, 1), (16, 4)], [(8, 12)])
    >>> changed_spans(a, a), changed_spans(a, Strip([Segment("x")]))
    ([], [(0, 20)])
    """
    old_cells = [(ch, seg.style) for seg in old for ch in seg.text]
    new_cells = [(ch, seg.style) for seg in new for ch in seg.text]
    width = new.cell_length
    if (len(old_cells) != len(new_cells) or len(new_cells) != width
            or old.cell_length != width):
        return [(0, max(width, old.cell_length))]
    runs: list[list[int]] = []
    for x, (a, b) in enumerate(zip(old_cells, new_cells, strict=True)):
        if a != b:
            if runs and x - runs[-1][1] <= merge_gap:
                runs[-1][1] = x + 1
            else:
                runs.append([x, x + 1])
    return [(x0, x1 - x0) for x0, x1 in runs]


class RowLines(CachedStyles):
    """Base for line-API widgets drawn as one hashable row description per screen line.

    A subclass computes its rows, hands them to :meth:`show_rows` and draws
    one row in :meth:`_draw`; strips are cached by ``(row, width)``.
    Subclasses clear ``self._cache`` when their styles change.

    Terminal bytes are a budget (architecture.md rule 4): :meth:`show_rows`
    refreshes only the lines whose description changed, and of those only
    the cells whose character or style changed (:func:`changed_spans`), so
    Textual rewrites a price that moved rather than its whole line.
    """

    def __init__(self, *, cache_size: int = 512, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[Hashable] = []
        self._cache: LRUCache[tuple[Hashable, int], Strip] = LRUCache(cache_size)
        self.lines_refreshed = 0
        """Screen lines refreshed so far (byte-budget tests and diagnostics)."""
        self.cells_refreshed = 0
        """Cells of those lines refreshed so far (a partial line counts its changed runs)."""

    def show_rows(self, rows: Sequence[Hashable], force: bool = False) -> None:
        """Make ``rows`` the screen lines; refresh all when forced or the count changed."""
        old, self._rows = self._rows, list(rows)
        width = self.size.width
        if force or len(old) != len(self._rows):
            self.lines_refreshed += len(self._rows)
            self.cells_refreshed += len(self._rows) * width
            self.refresh()
            return
        changed: list[Region] = []
        for y, (a, b) in enumerate(zip(old, self._rows, strict=True)):
            if a != b:
                self.lines_refreshed += 1
                for x, w in changed_spans(self._strip(a, width), self._strip(b, width)):
                    changed.append(Region(x, y, w, 1))
                    self.cells_refreshed += w
        if changed:
            self.refresh(*changed)

    def _strip(self, row: Hashable, width: int) -> Strip:
        """The strip of ``row`` at ``width``, from the cache or drawn (and cached)."""
        key = (row, width)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._draw(row, width)
            self._cache[key] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._rows):
            return Strip.blank(width, self.base_style)
        return self._strip(self._rows[y], width)

    def styles_changed(self) -> None:
        # A theme switch changes every colour: drop the strips drawn with the old styles.
        self._cache.clear()
        self.refresh()

    def _draw(self, row: Hashable, width: int) -> Strip:
        """Draw one row (subclasses)."""
        raise NotImplementedError
