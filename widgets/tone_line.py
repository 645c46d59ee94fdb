"""A one-line readout drawn from ``(text, tone)`` parts: the shared base of the status and replay bars.

A bar's pure ``*_parts`` function turns its view into a list of
``(text, tone)`` pairs; :class:`ToneLine` keeps the parts last shown (so an
unchanged view repaints nothing), exposes their plain text for tests, and
renders parts with tone ``t`` in the component class ``<TONE_PREFIX>--t``
(an empty tone takes the widget's own style).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Literal

from rich.text import Text
from textual.widget import Widget

#: One piece of a bar: its text and its tone (a component-class suffix, ``""`` for none).
Part = tuple[str, str]


class ToneLine(Widget):
    """One line of ``(text, tone)`` parts, repainted only when the parts change."""

    TONE_PREFIX: ClassVar[str] = "tone-line"
    """Component-class prefix of the tones (``"status-bar"``: tone ``dim`` is ``status-bar--dim``)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._parts: list[Part] = []

    @property
    def plain(self) -> str:
        """The text currently shown (for tests)."""
        return "".join(t for t, _ in self._parts)

    def show_parts(self, parts: list[Part]) -> None:
        """Show ``parts``; refreshes only when they differ from those shown. ``O(parts)``."""
        if parts != self._parts:
            self._parts = parts
            self.refresh()

    def tone_text(self, parts: Iterable[Part], overflow: Literal["crop", "ellipsis"]) -> Text:
        """``parts`` as one unwrapped line of styled text, cut to the width with ``overflow``."""
        text = Text(no_wrap=True, overflow=overflow)
        prefix = self.TONE_PREFIX
        for part, tone in parts:
            text.append(part, self.get_component_rich_style(f"{prefix}--{tone}") if tone else None)
        return text
