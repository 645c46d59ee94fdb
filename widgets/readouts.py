"""Readouts: the focused market's flow metrics as compact label/value pairs.

Shows spread (ticks, bps, z), book imbalance, microprice, OFI per window,
rolling deltas, taker buy/sell ratio and the volume ratio, from a
:class:`~tapescope.engine.snapshot.FlowSnapshot`. Values are quantised and
the widget refreshes only when the rendered text changes. Book-derived
values are blanked when the book is not ``LIVE``.

| Component class | Used for |
|---|---|
| ``readouts--label`` | labels |
| ``readouts--pos`` | positive (buying) values |
| ``readouts--neg`` | negative (selling) values |
| ``readouts--alert`` | values the engine flags (volume spike, spread widening) |
"""

from __future__ import annotations

import math
from typing import NamedTuple

from rich.text import Text
from textual.geometry import Region
from textual.reactive import reactive
from textual.widget import Widget

from tapescope.engine.snapshot import FlowSnapshot
from tapescope.widgets.format import MISSING, fmt_fixed, fmt_price, fmt_signed, fmt_window
from tapescope.widgets.throttle import Throttle, ThrottledRedraw


class Item(NamedTuple):
    """One readout: a label and value parts, each with a tone."""

    label: str
    """Short label."""
    parts: tuple[tuple[str, str], ...]
    """``(text, tone)``; tone is ``""``, ``"pos"``, ``"neg"`` or ``"alert"``."""


def _tone(x: float) -> str:
    if not math.isfinite(x) or x == 0:
        return ""
    return "pos" if x > 0 else "neg"


def _windows(pairs: tuple[tuple[int, float], ...]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for i, (secs, value) in enumerate(pairs):
        out.append(((" " if i else "") + fmt_window(secs) + " ", ""))
        out.append((fmt_signed(value), _tone(value)))
    return tuple(out) or ((MISSING, ""),)


def build_items(flow: FlowSnapshot, live: bool = True, price_decimals: int = 2) -> list[Item]:
    """The readouts for ``flow``; book metrics show ``—`` unless ``live``.

    >>> items = build_items(FlowSnapshot(tbsr=0.625, imbalance_levels=0.25, spread_ticks=1.0,
    ...                                  spread_bps=0.5, spread_z=3.2, spread_widening=True))
    >>> [(i.label, "".join(t for t, _ in i.parts)) for i in items][:3]
    [('spr', '1.0t 0.50bp z+3.2'), ('imb', '+0.25 / —'), ('µp', '—')]
    """
    f = flow
    book = live
    spread = (
        (f"{fmt_fixed(f.spread_ticks, 1)}t {fmt_fixed(f.spread_bps, 2)}bp ", ""),
        # The engine flags widening (its threshold); the widget only shows it.
        (f"z{fmt_fixed(f.spread_z, 1, signed=True)}", "alert" if f.spread_widening else ""),
    ) if book else ((MISSING, ""),)
    imb = ((fmt_fixed(f.imbalance_levels, 2, signed=True), _tone(f.imbalance_levels)),
           (" / ", ""),
           (fmt_fixed(f.imbalance_bps, 2, signed=True), _tone(f.imbalance_bps))) if book else ((MISSING, ""),)
    micro = ((fmt_price(f.microprice, price_decimals + 1), ""),) if book else ((MISSING, ""),)
    tbsr = f.tbsr
    vol = ((fmt_fixed(f.volume_ratio, 2) + ("!" if f.volume_spike else ""),
            "alert" if f.volume_spike else ""),)
    return [
        Item("spr", spread),
        Item("imb", imb),
        Item("µp", micro),
        Item("ofi", _windows(f.ofi) if book else ((MISSING, ""),)),
        Item("Δ", _windows(f.deltas)),
        Item("tbsr", ((fmt_fixed(tbsr, 2), _tone(tbsr - 0.5) if math.isfinite(tbsr) else ""),)),
        Item("vol×", vol),
        Item("cvd", ((fmt_signed(f.cvd), _tone(f.cvd)),)),
        Item("tps", ((fmt_fixed(f.trades_per_s, 1), ""),)),
    ]


def layout_lines(items: list[Item], width: int) -> list[list[Item]]:
    """Flow items into lines of at most ``width`` cells (two spaces between items).

    >>> lines = layout_lines([Item("a", (("1234", ""),)), Item("b", (("5678", ""),))], 10)
    >>> [[i.label for i in line] for line in lines]
    [['a'], ['b']]
    """
    lines: list[list[Item]] = [[]]
    used = 0
    for item in items:
        size = len(item.label) + 1 + sum(len(t) for t, _ in item.parts)
        if lines[-1] and used + 2 + size > width:
            lines.append([])
            used = 0
        used += (2 if lines[-1] else 0) + size
        lines[-1].append(item)
    return lines


class Readouts(ThrottledRedraw, Widget):
    """Flow metric readouts for the focused market."""

    COMPONENT_CLASSES = {"readouts--label", "readouts--pos", "readouts--neg", "readouts--alert"}

    DEFAULT_CSS = """
    Readouts {
        height: auto;
        min-height: 2;
        & > .readouts--label { color: $foreground-muted; }
        & > .readouts--pos { color: $buy; }
        & > .readouts--neg { color: $sell; }
        & > .readouts--alert { color: $alert; text-style: bold; }
    }
    """

    flow: reactive[FlowSnapshot | None] = reactive(None, repaint=False, always_update=True)
    """Metrics to show."""
    live: reactive[bool] = reactive(True, repaint=False)
    """Whether the book is ``LIVE`` (book metrics are blanked otherwise)."""
    price_decimals: reactive[int] = reactive(2, repaint=False)
    """Decimals of a price."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[list[Item]] = []
        self._throttle = Throttle(self, self._rebuild)


    @property
    def plain(self) -> str:
        """The text currently shown (for tests)."""
        return "\n".join("  ".join(i.label + " " + "".join(t for t, _ in i.parts) for i in line)
                         for line in self._lines)

    def watch_flow(self) -> None:
        if not self._lines:
            self._throttle.reset()  # nothing on screen yet: draw the first metrics at once
        self._throttle()

    def watch_live(self) -> None:
        self._rebuild()

    def watch_price_decimals(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild(force=True)

    def _rebuild(self, force: bool = False) -> None:
        items = build_items(self.flow, self.live, self.price_decimals) if self.flow is not None else []
        lines = layout_lines(items, max(1, self.size.width)) if items else []
        old, self._lines = self._lines, lines
        if force or len(old) != len(lines):
            self.refresh(layout=len(old) != len(lines))
            return
        # Only the lines whose text changed are sent to the terminal.
        width = self.size.width
        changed = [Region(0, y, width, 1) for y, (a, b) in enumerate(zip(old, lines, strict=True))
                   if a != b]
        if changed:
            self.refresh(*changed)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self._lines))

    def render(self) -> Text:
        styles = {tone: self.get_component_rich_style(f"readouts--{tone}")
                  for tone in ("label", "pos", "neg", "alert")}
        text = Text(no_wrap=True, overflow="crop")
        for n, line in enumerate(self._lines):
            if n:
                text.append("\n")
            for k, item in enumerate(line):
                if k:
                    text.append("  ")
                text.append(item.label + " ", styles["label"])
                for part, tone in item.parts:
                    text.append(part, styles.get(tone) if tone else None)
        return text
