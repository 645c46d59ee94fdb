"""Help screen: every key binding of the dashboard, generated from the bindings themselves.

The rows come from the active bindings at the moment help was opened (so user
remaps from ``[keys]`` show their real keys), with the description and the
tooltip of each :class:`~textual.binding.Binding`. Under the table, the
legend of the depth ladder's marker glyphs.
"""

from __future__ import annotations

from typing import NamedTuple

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tapescope.widgets.ladder_marks import legend


class HelpRow(NamedTuple):
    """One line of the help table."""

    key: str
    """Key as displayed (``?``, ``tab``, ``ctrl+q``)."""
    description: str
    """Short description of the action."""
    tooltip: str
    """Longer explanation."""


class HelpScreen(ModalScreen[None]):
    """Modal table of key bindings; any of Escape, ``q`` or ``?`` closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > #help {
            width: 100;
            max-width: 95%;
            height: 90%;
            border: round $primary;
            background: $surface;
            padding: 0 1;
        }
        /* The table scrolls; the hint and the ladder legend under it stay in view. */
        & DataTable { height: 1fr; }
        & #help-hint, & #help-legend { color: $foreground-muted; }
    }
    """

    BINDINGS = [
        Binding("escape,q,question_mark", "app.pop_screen", "Close help", id="help_close",
                tooltip="Return to the dashboard."),
    ]

    def __init__(self, rows: list[HelpRow]) -> None:
        super().__init__()
        self.rows = rows
        """The bindings listed."""

    def compose(self) -> ComposeResult:
        with Vertical(id="help") as box:
            box.border_title = "Keys"
            table: DataTable = DataTable(cursor_type="row", zebra_stripes=True, id="help-table")
            table.add_columns("Key", "Action", "What it does")
            for row in self.rows:
                table.add_row(row.key, row.description, row.tooltip)
            yield table
            yield Static("Every action is also in the command palette (ctrl+p). "
                         "Remap keys in the [keys] section of config.toml.", id="help-hint",
                         markup=False)
            yield Static(f"Ladder: {legend()}", id="help-legend", markup=False)


def help_rows(bindings: list[tuple[Binding, str]]) -> list[HelpRow]:
    """Help rows for ``(binding, key display)`` pairs, one row per binding id, in order.

    >>> b = Binding("q", "quit", "Quit", id="quit", tooltip="Leave")
    >>> help_rows([(b, "q"), (b, "q")])
    [HelpRow(key='q', description='Quit', tooltip='Leave')]
    """
    seen: set[str] = set()
    rows: list[HelpRow] = []
    for binding, display in bindings:
        ident = binding.id or binding.action
        if ident in seen:
            continue
        seen.add(ident)
        rows.append(HelpRow(display, binding.description, binding.tooltip))
    return rows
