"""Risk and position calculator: a keyboard-driven modal that sizes a trade on the live book.

The left column is the form (:data:`~tapescope.tui.screens.risk_form.FIELDS`):
numbers are typed into one-line inputs, choices (side, stop mode, entry fee,
contract type) cycle with Left/Right or Space. Up/Down (or Tab) move between
fields. The right column shows the engine's answer
(:func:`tapescope.engine.risk.size_position`): size in units and notional,
margin, liquidation estimate, money and R at the stop and the target, fees,
the fill price and slippage from walking the live book, and the Kelly
fraction. An input the engine refuses shows its
:class:`~tapescope.engine.risk.RiskInputError` message under the form and
marks the field.

Defaults come from the ``[risk]`` section (:class:`~tapescope.engine.risk.RiskParams`).
The App calls :meth:`RiskScreen.update_market` at its frame rate with a fresh
:class:`~tapescope.tui.screens.risk_form.RiskMarket`, so an empty entry
follows the best price and the fill follows the book as it moves. The
outputs are redrawn only when their text changes.

| Component class | Used for |
|---|---|
| ``risk--label`` | output labels |
| ``risk--loss`` | money and R lost at the stop |
| ``risk--gain`` | money and R made at the target |
| ``risk--warn`` | warnings (liquidation before stop, thin book...) |
| ``risk--note`` | where a value came from (live ask, manual...) |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from tapescope.engine.instrument import ContractKind
from tapescope.engine.risk import RiskParams
from tapescope.tui.screens.risk_form import (
    CHOICES,
    FIELDS,
    RiskForm,
    RiskMarket,
    RiskOutcome,
    evaluate,
    live_entry,
)

#: Placeholder for an undefined value.
MISSING = "—"
#: What an empty field means (entry and ATR placeholders follow the market instead).
PLACEHOLDERS = {"payoff": "R at target", "stop": "price", "hit_rate": "win rate in %"}


class Choice(Widget, can_focus=True):
    """A one-line choice among a few options, cycled with Left/Right or Space."""

    DEFAULT_CSS = """
    Choice {
        height: 1;
        width: 1fr;
        padding: 0 1;
        background: $surface;
        &:focus { background: $boost; color: $accent; text-style: bold; }
    }
    """

    BINDINGS = [
        Binding("right,space", "cycle(1)", "Next option", show=False, id="choice_next",
                tooltip="Choose the next option."),
        Binding("left", "cycle(-1)", "Previous option", show=False, id="choice_prev",
                tooltip="Choose the previous option."),
    ]

    index: reactive[int] = reactive(0)
    """Index of the chosen option."""

    @dataclass
    class Changed(Message):
        """The chosen option changed."""

        choice: Choice
        """The widget."""
        value: str
        """The option now chosen."""

        @property
        def control(self) -> Choice:
            """The widget that changed (for ``@on(..., selector)``)."""
            return self.choice

    def __init__(self, options: tuple[str, ...], value: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.options = options
        """The options, in cycling order."""
        self.set_reactive(Choice.index, options.index(value) if value in options else 0)

    @property
    def value(self) -> str:
        """The chosen option."""
        return self.options[self.index]

    def action_cycle(self, step: int) -> None:
        """Choose the option ``step`` places on (wrapping)."""
        self.index = (self.index + step) % len(self.options)

    def watch_index(self) -> None:
        self.post_message(self.Changed(self, self.value))

    def render(self) -> str:
        return f"‹ {self.value} ›"


def _money(x: float, decimals: int = 2) -> str:
    return MISSING if not math.isfinite(x) else f"{x:,.{decimals}f}"


def _signed_money(x: float, decimals: int = 2) -> str:
    return MISSING if not math.isfinite(x) else f"{x:+,.{decimals}f}"


def _qty(x: float) -> str:
    return MISSING if not math.isfinite(x) else f"{x:,.6g}"


def outcome_lines(outcome: RiskOutcome, decimals: int,
                  equity_ccy: str = "") -> list[tuple[str, str, str]]:
    """The output column as ``(label, value, tone)`` rows.

    Tones: ``""``, ``"loss"``, ``"gain"``, ``"warn"``, ``"note"``. Prices are
    shown at ``decimals``; money in the equity currency (``equity_ccy`` is a
    label such as ``"quote"``).

    >>> from tapescope.engine.instrument import Instrument
    >>> from tapescope.tui.screens.risk_form import RiskForm, RiskMarket, evaluate
    >>> p = RiskParams(maker_fee=0.0, taker_fee=0.0)
    >>> out = evaluate(RiskForm.defaults(p).with_value("stop", "98"), p,
    ...                RiskMarket(Instrument("x", "Y"), best_bid=99.9, best_ask=100.0))
    >>> [(label, value) for label, value, _ in outcome_lines(out, 2)[:4]]
    [('Entry', '100.00  live ask'), ('Stop', '98.00  manual  (-2.00, -2.00%)'), ('Target', '104.00  2R'), ('Size', '50 units  notional 5,000.00')]
    """
    if not outcome.ok:
        return []
    inp, res = outcome.inputs, outcome.result
    assert inp is not None and res is not None
    ccy = f" {equity_ccy}" if equity_ccy else ""
    inverse = inp.kind == ContractKind.INVERSE
    money_dp = 8 if inverse else 2
    unit = "contracts" if inverse else "units"
    move = inp.stop - inp.entry
    rows = [
        ("Entry", f"{inp.entry:,.{decimals}f}  {outcome.entry_source}", ""),
        ("Stop", f"{inp.stop:,.{decimals}f}  {outcome.stop_source}  "
                 f"({move:+,.{decimals}f}, {move / inp.entry * 100:+.2f}%)", ""),
        ("Target", f"{res.target:,.{decimals}f}  {inp.r_multiple:g}R", ""),
        ("Size", f"{_qty(res.quantity)} {unit}  notional {_money(res.notional)}", ""),
        ("Margin", f"{_money(res.margin, money_dp)}{ccy}  at {inp.leverage:g}×", ""),
        ("Liq. est.", MISSING if not math.isfinite(res.liquidation)
         else f"{res.liquidation:,.{decimals}f}", ""),
        ("At stop", f"{_signed_money(-res.risk_amount, money_dp)}{ccy}  -1.00R  "
                    f"({res.risk_amount / inp.equity * 100:.2f}% of equity)", "loss"),
        ("At target", f"{_signed_money(res.reward_amount, money_dp)}{ccy}  "
                      f"{res.r_at_target:+.2f}R", "gain"),
        ("Fees", f"{_money(res.fee_cost, money_dp)}{ccy}  (entry {inp.entry_fee * 1e4:g} bp, "
                 f"exit {inp.exit_fee * 1e4:g} bp)", ""),
    ]
    fill = res.fill
    if fill is None:
        rows.append(("Fill", "no book", "note"))
    elif fill.filled <= 0:
        rows.append(("Fill", "empty book side", "warn"))
    else:
        text = (f"avg {fill.average_price:,.{decimals + 1}f}  slip "
                f"{fill.slippage:,.{decimals + 1}f} ({fill.slippage_bps:.1f} bp)")
        rows.append(("Fill", text if fill.complete else text + f"  partial {_qty(fill.filled)}",
                     "" if fill.complete else "warn"))
    if math.isfinite(outcome.kelly):
        rows.append(("Kelly", f"f* {outcome.kelly * 100:.1f}% of equity  "
                              f"(half {outcome.kelly * 50:.1f}%)  payoff {outcome.payoff:.2f}", ""))
    else:
        rows.append(("Kelly", outcome.kelly_error or MISSING, "warn"))
    rows.extend(("Warning", w, "warn") for w in res.warnings)
    return rows


class RiskScreen(ModalScreen[None]):
    """The risk/position calculator over the dashboard."""

    COMPONENT_CLASSES = {"risk--label", "risk--loss", "risk--gain", "risk--warn", "risk--note"}

    DEFAULT_CSS = """
    RiskScreen {
        align: center middle;
        & > #risk {
            width: 112;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: round $primary;
            background: $surface;
            padding: 0 1;
        }
        & #risk-body { height: auto; }
        & #risk-form { width: 40; height: auto; }
        & .risk-row { height: 1; }
        & .risk-row > Label { width: 14; color: $foreground-muted; }
        & .risk-row.-invalid > Label { color: $alert; text-style: bold; }
        & .risk-row > Input {
            width: 1fr; height: 1; border: none; padding: 0 1; background: $surface;
        }
        & .risk-row > Input:focus { background: $boost; }
        & #risk-out { width: 1fr; height: auto; padding: 0 0 0 2; }
        & #risk-error { height: auto; color: $alert; text-style: bold; }
        & #risk-hint { height: 1; color: $foreground-muted; }
        & > .risk--label { color: $foreground-muted; }
        & > .risk--loss { color: $sell; }
        & > .risk--gain { color: $buy; }
        & > .risk--warn { color: $alert; }
        & > .risk--note { color: $foreground-muted; }
    }
    """

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close", id="risk_close",
                tooltip="Close the calculator and return to the dashboard."),
        Binding("down", "app.focus_next", "Next field", show=False, id="risk_next_field",
                tooltip="Move to the next field."),
        Binding("up", "app.focus_previous", "Previous field", show=False, id="risk_prev_field",
                tooltip="Move to the previous field."),
        Binding("ctrl+l", "live_entry", "Live entry", id="risk_live_entry",
                tooltip="Clear the typed entry so it follows the live best price again."),
    ]

    def __init__(self, params: RiskParams, market: RiskMarket) -> None:
        """Build the calculator.

        Args:
            params: ``[risk]`` settings (form defaults, fees, margin, stop multiples).
            market: The focused market now; later frames come through :meth:`update_market`.
        """
        super().__init__()
        self.params = params
        """``[risk]`` settings."""
        self.market = market
        """The market as of the last frame."""
        self.form = RiskForm.defaults(params, market.instrument)
        """What the trader typed and chose."""
        self.outcome = RiskOutcome()
        """The last evaluation."""
        self.recalculations = 0
        """Evaluations so far (the book moving counts)."""
        self._shown: tuple[str, str, str] | None = None
        self._ready = False

    def compose(self) -> ComposeResult:
        with Vertical(id="risk") as box:
            box.border_title = f"Risk — {self.market.instrument.key}"
            with Horizontal(id="risk-body"):
                with Vertical(id="risk-form"):
                    for name, label in FIELDS:
                        with Horizontal(classes="risk-row", id=f"row-{name}"):
                            yield Label(label)
                            value = getattr(self.form, name)
                            if name in CHOICES:
                                yield Choice(CHOICES[name], value, id=f"risk-{name}")
                            else:
                                yield Input(value, type="number", id=f"risk-{name}",
                                            placeholder=PLACEHOLDERS.get(name, ""),
                                            select_on_focus=False, compact=True,
                                            # Empty means "live"/"default" here; the form's own
                                            # evaluation reports a field that must be filled.
                                            valid_empty=True)
                yield Static(id="risk-out", markup=False)
            yield Static(id="risk-error", markup=False)
            yield Static("↑/↓ field   ←/→ option   ctrl+l live entry   Esc close   "
                         "exit fee is taker (stop = market order)", id="risk-hint", markup=False)

    def on_mount(self) -> None:
        self._ready = True
        self.query_one("#risk-equity", Input).focus()
        self.recalculate()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("risk-"):
            self._set(event.input.id.removeprefix("risk-"), event.value)

    @on(Choice.Changed)
    def _chosen(self, event: Choice.Changed) -> None:
        if event.choice.id and event.choice.id.startswith("risk-"):
            self._set(event.choice.id.removeprefix("risk-"), event.value)

    def _set(self, name: str, value: str) -> None:
        if getattr(self.form, name) != value:
            self.form = self.form.with_value(name, value)
            self.recalculate()

    def update_market(self, market: RiskMarket) -> None:
        """Take the focused market's state at this frame; recalculate if it moved."""
        old = self.market
        self.market = market
        if (market.version != old.version or market.book is not old.book
                or market.best_bid != old.best_bid or market.best_ask != old.best_ask
                or market.sigma_annual != old.sigma_annual or market.atr != old.atr
                or market.vol_regime != old.vol_regime):
            self.recalculate()

    def action_live_entry(self) -> None:
        """Clear the typed entry: it follows the live best price again."""
        self.query_one("#risk-entry", Input).value = ""

    def recalculate(self) -> None:
        """Evaluate the form against the market and redraw what changed."""
        self.outcome = evaluate(self.form, self.params, self.market)
        self.recalculations += 1
        if not self._ready:
            return
        try:
            self._redraw()
        except NoMatches:
            # The frame timer can hand a market to a calculator whose widgets are being
            # torn down (Esc) or not yet composed (a second `r`); the next frame redraws.
            return

    def _redraw(self) -> None:
        decimals = self.market.instrument.price_decimals()
        side = 1 if self.form.side == "long" else -1
        live = live_entry(side, self.market)
        entry = self.query_one("#risk-entry", Input)
        placeholder = f"live {live:,.{decimals}f}" if math.isfinite(live) else "type a price"
        if entry.placeholder != placeholder:
            entry.placeholder = placeholder
        atr = self.query_one("#risk-atr", Input)
        atr_hint = f"live {self.market.atr:.6g}" if math.isfinite(self.market.atr) else "type ATR"
        if atr.placeholder != atr_hint:
            atr.placeholder = atr_hint
        ccy = "base" if self.form.kind == ContractKind.INVERSE.value else "quote"
        lines = outcome_lines(self.outcome, decimals, ccy)
        plain = "\n".join(f"{label}\t{value}" for label, value, _ in lines)
        shown = (plain, self.outcome.error, self.outcome.error_field)
        if shown == self._shown:
            return
        self.query_one("#risk-out", Static).update(self._render_lines(lines))
        self.query_one("#risk-error", Static).update(
            f"⚠ {self.outcome.error}" if self.outcome.error else "")
        for name, _ in FIELDS:
            self.query_one(f"#row-{name}").set_class(name == self.outcome.error_field, "-invalid")
        self._shown = shown

    def _render_lines(self, lines: list[tuple[str, str, str]]) -> Table:
        styles = {tone: self.get_component_rich_style(f"risk--{tone}")
                  for tone in ("label", "loss", "gain", "warn", "note")}
        # Two grid columns: a value too long for a narrow (80-column) screen wraps
        # under its own column, not back under the labels.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=10, no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        for label, value, tone in lines:
            grid.add_row(Text(label, styles["label"]), Text(value, styles[tone] if tone else ""))
        return grid

    @property
    def output_text(self) -> str:
        """The outputs as shown, one ``label value`` line each (for tests)."""
        decimals = self.market.instrument.price_decimals()
        ccy = "base" if self.form.kind == ContractKind.INVERSE.value else "quote"
        return "\n".join(f"{label} {value}" for label, value, _ in
                         outcome_lines(self.outcome, decimals, ccy))
