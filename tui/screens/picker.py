"""Fuzzy symbol picker: a modal with an Input and an OptionList of matching market keys.

Typing filters and ranks the keys with Textual's fuzzy :class:`~textual.fuzzy.Matcher`
(subsequence match, contiguous and word-start matches score higher). Enter or
a click picks the highlighted key; Escape closes without a choice. The screen
dismisses with the chosen key or ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option


def rank(query: str, keys: Sequence[str]) -> list[str]:
    """Keys matching ``query`` as a fuzzy subsequence, best first (all keys if empty).

    Ties keep the watchlist order.

    >>> rank("eth", ["sim:BTC-SIM", "sim:ETH-SIM", "sim:ETC-SIM"])
    ['sim:ETH-SIM']
    >>> rank("", ["b", "a"])
    ['b', 'a']
    """
    if not query:
        return list(keys)
    matcher = Matcher(query)
    scored = [(matcher.match(key), i, key) for i, key in enumerate(keys)]
    return [key for score, _, key in sorted((s for s in scored if s[0] > 0),
                                            key=lambda s: (-s[0], s[1]))]


class SymbolPicker(ModalScreen[str | None]):
    """Pick a market by typing part of its key."""

    DEFAULT_CSS = """
    SymbolPicker {
        align: center middle;
        & > #picker {
            width: 60;
            max-width: 90%;
            height: auto;
            max-height: 80%;
            border: round $primary;
            background: $surface;
            padding: 0 1;
        }
        & OptionList { height: auto; max-height: 16; border: none; }
    }
    """

    BINDINGS = [
        Binding("escape", "dismiss_none", "Close", id="picker_close",
                tooltip="Close the picker without changing the focused symbol."),
        Binding("down", "move(1)", "Next match", show=False, id="picker_down",
                tooltip="Highlight the next match."),
        Binding("up", "move(-1)", "Previous match", show=False, id="picker_up",
                tooltip="Highlight the previous match."),
    ]

    def __init__(self, keys: Sequence[str], current: str = "") -> None:
        super().__init__()
        self._keys = list(keys)
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="picker") as box:
            box.border_title = "Go to symbol"
            yield Input(placeholder="type part of a symbol…", id="picker-input")
            yield OptionList(*self._options(""), id="picker-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self._current in self._keys:
            options.highlighted = self._keys.index(self._current)
        elif self._keys:
            options.highlighted = 0

    def _options(self, query: str) -> list[Option]:
        matcher = Matcher(query) if query else None
        return [Option(matcher.highlight(key) if matcher else key, id=key)
                for key in rank(query, self._keys)]

    @on(Input.Changed, "#picker-input")
    def _filter(self, event: Input.Changed) -> None:
        options = self.query_one(OptionList)
        options.set_options(self._options(event.value))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Submitted, "#picker-input")
    def _submit(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected, "#picker-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
