"""Signals panel: fused score gauge, live signals with reasons and age, and the verdict history.

A dumb renderer of a :class:`SignalsView` (built from the market snapshot's
``analysis`` with :func:`signals_view`). Every signal shows its validation
state: ``✓ actionable`` or ``✗`` and the step that filtered it (``cooldown``,
``dedup``, ``session``, ``unconfirmed``, ``stale``); while the book is not
``LIVE`` the panel says signals are silenced. Numbers are shown to two
decimals and ages in whole seconds, so a line changes at most about once a
second; only changed lines are refreshed (:class:`~tapescope.widgets.line_panel.LinePanel`).

Layout, top to bottom: the gauge line, a status line, the live signals
(newest first, each followed by its reasons when there is room), then the
older history, one line per verdict.

| Component class | Used for |
|---|---|
| ``signals--long`` | long arrows, positive score and its gauge cells |
| ``signals--short`` | short arrows, negative score and its gauge cells |
| ``signals--muted`` | gauge track, headers, reasons, times |
| ``signals--actionable`` | ``✓ actionable`` |
| ``signals--filtered`` | ``✗ cooldown`` / ``dedup`` / ``session`` |
| ``signals--unconfirmed`` | ``✗ unconfirmed`` |
| ``signals--stale`` | ``✗ stale`` and the silenced notice |
| ``signals--conflict`` | the conflict flag on the gauge line |
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.reactive import reactive

from tapescope.engine.events import FeedState
from tapescope.engine.signals.fusion import FusedScore, Verdict
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.widgets.line_panel import LinePanel, TextLine, age_text, clock_text

#: Component class of each validation outcome.
STATE_CLASS = {
    "": "signals--actionable",
    "cooldown": "signals--filtered",
    "dedup": "signals--filtered",
    "session": "signals--filtered",
    "unconfirmed": "signals--unconfirmed",
    "stale": "signals--stale",
}
#: Default live horizon: fusion's half-life (30 s) times alive half-lives (4).
DEFAULT_LIVE_S = 120.0


@dataclass(frozen=True, slots=True)
class SignalsView:
    """Everything the signals panel draws for one frame."""

    fused: FusedScore = FusedScore()
    """The fused score."""
    verdicts: tuple[Verdict, ...] = ()
    """Signals with their verdicts, oldest first."""
    now: int = 0
    """Event time the ages are measured against, ns."""
    live_s: float = DEFAULT_LIVE_S
    """Signals younger than this are live (they still weigh in the fused score)."""
    state: FeedState = FeedState.LIVE
    """Book state; anything but LIVE silences signals."""


def signals_view(snap: MarketSnapshot, live_s: float = DEFAULT_LIVE_S) -> SignalsView | None:
    """The view of a market snapshot (``None`` when no analysis is attached).

    Args:
        snap: the focused market.
        live_s: ``[signals] half_life_s * alive_half_lives``.
    """
    a = snap.analysis
    if a is None:
        return None
    return SignalsView(a.fused, a.signals, snap.ts, live_s, snap.state)


def _arrow(direction: int) -> tuple[str, str]:
    return ("▲", "signals--long") if direction > 0 else ("▼", "signals--short")


def _state(v: Verdict) -> tuple[str, str]:
    if v.actionable:
        return "✓ actionable", STATE_CLASS[""]
    return f"✗ {v.filtered_by}", STATE_CLASS.get(v.filtered_by, "signals--filtered")


def gauge(score: float, cells: int) -> list[tuple[str, str]]:
    """The score gauge: a track of ``cells`` (odd) with the centre mark and filled cells.

    >>> "".join(t for t, _ in gauge(0.5, 9))
    '────┼██──'
    >>> "".join(t for t, _ in gauge(-1.0, 5)), "".join(t for t, _ in gauge(0.0, 5))
    ('██┼──', '──┼──')
    """
    cells = max(3, cells | 1)
    half = cells // 2
    n = min(half, round(abs(score) * half))
    track = "signals--muted"
    if score > 0 and n:
        return [("─" * half, track), ("┼", track), ("█" * n, "signals--long"),
                ("─" * (half - n), track)]
    if score < 0 and n:
        return [("─" * (half - n), track), ("█" * n, "signals--short"), ("┼", track),
                ("─" * half, track)]
    return [("─" * half, track), ("┼", track), ("─" * half, track)]


def build_lines(view: SignalsView, width: int, height: int, utc: bool = True) -> list[TextLine]:
    """The ``height`` lines of the panel for ``view`` at ``width`` cells.

    >>> from tapescope.engine.signals.base import Signal
    >>> v = SignalsView(FusedScore(0.5, 0.6, False, 1),
    ...                 (Verdict(Signal("k", 0, "trap", 1, 0.8, 0.6, ("r1",)), True),), now=5 * 10**9)
    >>> [ln.text for ln in build_lines(v, 30, 4)]
    ['+0.50 ────────┼████──── c0.60', '1 live · 1 total', '▲ trap 0.80×0.60', '  r1']
    """
    if height <= 0:
        return []
    f = view.fused
    score_cls = "signals--long" if f.score > 0 else "signals--short" if f.score < 0 else "signals--muted"
    tail = f" c{f.confidence:.2f}"
    conflict = " ⚠ conflict" if f.conflict else ""
    cells = max(3, min(41, width - 6 - len(tail) - len(conflict)))
    if cells % 2 == 0:
        cells -= 1
    runs = [(f"{f.score:+.2f} ", score_cls), *gauge(f.score, cells), (tail, "signals--muted")]
    if conflict:
        runs.append((conflict, "signals--conflict"))
    lines = [TextLine(tuple(runs))]
    horizon = int(view.live_s * 1_000_000_000)
    live = [v for v in reversed(view.verdicts) if 0 <= view.now - v.signal.ts <= horizon]
    older = [v for v in reversed(view.verdicts) if view.now - v.signal.ts > horizon]
    if view.state != FeedState.LIVE:
        lines.append(TextLine(((f"silenced: book {view.state.name}", "signals--stale"),)))
    else:
        lines.append(TextLine(((f"{len(live)} live · {len(view.verdicts)} total",
                                "signals--muted"),)))
    for v in live:
        s = v.signal
        state = _state(v)
        lines.append(TextLine(
            (_arrow(s.direction), (f" {s.name} {s.strength:.2f}×{s.confidence:.2f}", "")),
            ((age_text(view.now - s.ts) + " ", "signals--muted"), state)))
        if s.reasons:
            lines.append(TextLine((("  " + "; ".join(s.reasons), "signals--muted"),)))
    if older:
        lines.append(TextLine((("── history ", "signals--muted"),)))
        for v in older:
            s = v.signal
            lines.append(TextLine(((clock_text(s.ts, utc) + " ", "signals--muted"),
                                   _arrow(s.direction), (f" {s.name}", "")), (_state(v),)))
    lines = lines[:height]
    return lines + [TextLine()] * (height - len(lines))


class SignalsPanel(LinePanel):
    """Fused score gauge, live signals and history (see the module docstring)."""

    COMPONENT_CLASSES = {
        "signals--long",
        "signals--short",
        "signals--muted",
        "signals--actionable",
        "signals--filtered",
        "signals--unconfirmed",
        "signals--stale",
        "signals--conflict",
    }

    DEFAULT_CSS = """
    SignalsPanel {
        height: 1fr;
        min-height: 3;
        & > .signals--long { color: $buy; text-style: bold; }
        & > .signals--short { color: $sell; text-style: bold; }
        & > .signals--muted { color: $foreground-muted; }
        & > .signals--actionable { color: $success; }
        & > .signals--filtered { color: $foreground-muted; }
        & > .signals--unconfirmed { color: $warning; }
        & > .signals--stale { color: $alert; text-style: bold; }
        & > .signals--conflict { color: $alert; }
    }
    """

    view: reactive[SignalsView | None] = reactive(None, repaint=False)
    """What to draw (equal views do nothing); ``None`` shows that no analysis runs."""
    utc: reactive[bool] = reactive(True, repaint=False)
    """History times in UTC (else local time)."""

    def watch_view(self) -> None:
        self.rebuild()

    def watch_utc(self) -> None:
        self.rebuild()

    def build_lines(self, width: int, height: int) -> list[TextLine]:
        if self.view is None:
            lines = [TextLine()] * height
            if height:
                lines[0] = TextLine((("no signal engine for this market", "signals--muted"),))
            return lines
        return build_lines(self.view, width, height, self.utc)
