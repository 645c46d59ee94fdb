"""Per-theme cache of a widget's Rich styles (base style + component classes).

``Widget.rich_style`` walks the DOM on every call; line renderers need the
same few styles for every line of every frame, so they are computed once per
theme and dropped when the styles change (theme switch, CSS reload).
"""

from __future__ import annotations

from rich.style import Style
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
        """Base style plus the component classes ``names``, cached per theme."""
        key = " ".join(names)
        style = self._style_memo.get(key)
        if style is None:
            style = self.base_style
            for name in names:
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
