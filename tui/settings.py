"""Settings of the terminal UI: the ``[app]`` and ``[keys]`` sections of config.toml.

Each section is a frozen dataclass; every field has a default, a docstring
below it and, where a range matters, ``metadata`` with ``min``/``max``/``choices``
that :mod:`tapescope.tui.config` enforces. The shipped ``config.toml`` mirrors
these defaults exactly (a test checks it).

``KeySettings`` field names are the ``id=`` of the dashboard's bindings, so a
user remap ``[keys] quit = "ctrl+q"`` goes straight into ``App.set_keymap``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

#: Names of the themes tapescope ships (see :mod:`tapescope.themes`).
THEME_NAMES = ("tapescope-dark", "tapescope-light", "tapescope-contrast")


@dataclass(frozen=True, slots=True)
class AppSettings:
    """The ``[app]`` section: frame rate, theme and layout of the dashboard."""

    fps: int = field(default=10, metadata={"min": 1, "max": 60})
    """Frames per second on a local terminal: how often the focused symbol's snapshot is read and drawn."""
    theme: str = field(default="tapescope-dark", metadata={"choices": list(THEME_NAMES)})
    """Colour theme at start (``t`` cycles through the shipped themes)."""
    remote: str = field(default="auto", metadata={"choices": ["auto", "on", "off"]})
    """Is the terminal remote: ``auto`` (SSH_CONNECTION, SSH_TTY or SSH_CLIENT set), ``on`` or ``off``. A remote terminal is drawn at ``remote_fps``."""
    remote_fps: int = field(default=5, metadata={"min": 1, "max": 60})
    """Frames per second on a remote terminal (every frame costs bytes over SSH); ``--fps`` sets both rates."""
    idle_fps: int = field(default=1, metadata={"min": 1, "max": 60})
    """Frames per second while idle: no key press or click and no change of the focused market for ``idle_after_s``."""
    idle_after_s: float = field(default=5.0, metadata={"min": 0.0, "max": 3600.0})
    """Seconds without a key press or a change of the focused market before the idle rate (0 = never idle). A key or a market change restores the full rate at once."""
    ladder_step_ticks: int = field(default=1, metadata={"min": 1, "max": 10_000})
    """Height of one depth-ladder row in ticks when ``ladder_row_bps`` is 0 (and the smallest automatic height)."""
    ladder_row_bps: float = field(default=0.5, metadata={"min": 0.0, "max": 100.0})
    """Automatic ladder row height: about this many bps of mid, rounded to 1-2-5 ticks; 0 = off."""
    ladder_layout: str = field(default="anchored", metadata={"choices": ["anchored", "pinned"]})
    """Ladder layout: ``anchored`` price grid that re-centres only when the inside market nears an edge (few changed lines), or ``pinned`` inside market at the centre."""
    max_ladder_rows: int = field(default=60, metadata={"min": 3, "max": 500})
    """Most ladder rows per side requested from the engine (fewer when the panel is short)."""
    size_digits: int = field(default=3, metadata={"min": 2, "max": 6})
    """Significant digits shown for sizes; fewer digits mean fewer changed lines per frame."""
    tape_rows: int = field(default=200, metadata={"min": 10, "max": 5_000})
    """Most trades kept on the tape panel (the engine may hold fewer)."""
    tape_burst_ms: float = field(default=50.0, metadata={"min": 0.0, "max": 5_000.0})
    """Tape: consecutive prints at one price by one aggressor, each at most this many ms after the previous, are one line with a ``×n`` count (0: every fill on its own line)."""
    tape_filters: tuple[float, ...] = (0.0, 10_000.0, 100_000.0, 1_000_000.0)
    """Minimum notional (price x size, quote units) of a tape line, cycled by the tape filter key; the first entry is the start value (0: show every line)."""
    tape_interval: float = field(default=0.25, metadata={"min": 0.0, "max": 5.0})
    """Seconds between tape redraws; trades arriving in between are drawn together (0 = every frame). Each redraw scrolls every tape line, so this sets most of the tape's terminal bytes."""
    readouts_interval: float = field(default=0.5, metadata={"min": 0.0, "max": 5.0})
    """Seconds between redraws of the flow readouts (0 = every frame); their numbers move at every message."""
    chart_interval: float = field(default=1.0, metadata={"min": 0.0, "max": 5.0})
    """Seconds between CVD chart redraws (0 = every frame); the chart is a per-second series."""
    watchlist_interval: float = field(default=1.0, metadata={"min": 0.1, "max": 60.0})
    """Seconds between watchlist refreshes (every symbol is read only at this slower rate)."""
    wide_min_cols: int = field(default=120, metadata={"min": 80, "max": 1_000})
    """Terminal width from which the watchlist becomes a side table."""
    timezone: str = field(default="utc", metadata={"choices": ["utc", "local"]})
    """Time zone of the tape and clock: ``utc`` or the machine's ``local`` zone."""
    log_level: str = field(
        default="INFO", metadata={"choices": ["DEBUG", "INFO", "WARNING", "ERROR"]}
    )
    """Level of the log file in the platform log directory (``tapescope locate``)."""


@dataclass(frozen=True, slots=True)
class KeySettings:
    """The ``[keys]`` section: one key (or comma-separated keys) per dashboard action.

    Names are Textual key names: ``q``, ``ctrl+q``, ``question_mark``, ``slash``,
    ``tab``, ``shift+tab``, ``f1``... The field name is the binding id.
    """

    quit: str = "q"
    """Quit tapescope."""
    help: str = "question_mark"
    """Show the help screen listing every key."""
    symbol_picker: str = "slash"
    """Open the fuzzy symbol picker."""
    cycle_theme: str = "t"
    """Switch to the next colour theme."""
    next_symbol: str = "tab"
    """Focus the next symbol of the watchlist."""
    prev_symbol: str = "shift+tab"
    """Focus the previous symbol of the watchlist."""
    ladder_coarser: str = "right_square_bracket,plus"
    """Aggregate the depth ladder into taller rows (more ticks per row)."""
    ladder_finer: str = "left_square_bracket,minus"
    """Split the depth ladder into shorter rows (fewer ticks per row)."""
    toggle_heatmap: str = "h"
    """Show the liquidity heatmap in place of the CVD chart, or back."""
    tape_filter: str = "x"
    """Cycle the tape's minimum notional through ``[app] tape_filters``."""
    toggle_profile: str = "p"
    """Switch the profile column beside the ladder between the volume profile and the TPO profile."""
    heatmap_zoom_in: str = "right_curly_bracket"
    """Zoom the heatmap in (fewer price rows, each taller)."""
    heatmap_zoom_out: str = "left_curly_bracket"
    """Zoom the heatmap out (more price rows per cell)."""
    toggle_signals: str = "s"
    """Show or hide the signals panel."""
    toggle_alerts: str = "a"
    """Show or hide the alert log."""
    mute_alerts: str = "m"
    """Mute or unmute alert sounds, notifications and the webhook (alerts are still logged)."""
    sort_watchlist: str = "o"
    """Sort the watchlist by the next column (#, symbol, change, spread, imbalance, CVD slope, vol regime, score)."""
    reverse_sort: str = "O"
    """Reverse the watchlist's sort direction."""
    risk: str = "r"
    """Open the risk/position calculator on the focused market's live book."""
    regime: str = "v"
    """Open the volatility regime, VPIN and volume/TPO profile screen."""
    health: str = "f"
    """Open the feed health screen: every connection and market with its counters."""
    symbol_1: str = "1"
    """Focus watchlist symbol 1."""
    symbol_2: str = "2"
    """Focus watchlist symbol 2."""
    symbol_3: str = "3"
    """Focus watchlist symbol 3."""
    symbol_4: str = "4"
    """Focus watchlist symbol 4."""
    symbol_5: str = "5"
    """Focus watchlist symbol 5."""
    symbol_6: str = "6"
    """Focus watchlist symbol 6."""
    symbol_7: str = "7"
    """Focus watchlist symbol 7."""
    symbol_8: str = "8"
    """Focus watchlist symbol 8."""
    symbol_9: str = "9"
    """Focus watchlist symbol 9."""
    replay_pause: str = "space"
    """Replay: pause or resume."""
    replay_faster: str = "plus"
    """Replay: next speed up (0.25x .. 100x, then MAX)."""
    replay_slower: str = "minus"
    """Replay: next speed down."""
    replay_forward: str = "right"
    """Replay: jump forward by [replay] seek_short_s."""
    replay_back: str = "left"
    """Replay: jump back by [replay] seek_short_s."""
    replay_forward_long: str = "shift+right"
    """Replay: jump forward by [replay] seek_long_s."""
    replay_back_long: str = "shift+left"
    """Replay: jump back by [replay] seek_long_s."""
    replay_goto: str = "g"
    """Replay: go to a typed time."""

    def keymap(self) -> dict[str, str]:
        """The mapping binding id -> keys, as ``App.set_keymap`` takes it.

        >>> KeySettings(quit="ctrl+q").keymap()["quit"]
        'ctrl+q'
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}
