"""Risk calculator: key flow on a hand-built book; outputs equal size_position on the same inputs."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console
from textual.app import App
from textual.binding import Binding
from textual.widgets import Input, Static

from tapescope.engine.book import Book
from tapescope.engine.instrument import ContractKind, Instrument
from tapescope.engine.risk import (
    RiskInputs,
    RiskParams,
    atr_stop,
    kelly_fraction,
    size_position,
    volatility_stop,
)
from tapescope.themes.extra import COLORBLIND
from tapescope.tui.screens.risk import RiskScreen
from tapescope.tui.screens.risk_form import RiskForm, RiskMarket, evaluate

INST = Instrument("x", "BTC-X", tick_size=0.1, lot_size=0.001, kind=ContractKind.LINEAR)
PARAMS = RiskParams()  # maker 2 bp, taker 5 bp, 5x, 2R, mmr 0.4 %


def make_book() -> Book:
    book = Book()
    book.apply_snapshot([(99.5, 10.0), (99.0, 20.0), (98.0, 500.0)],
                        [(100.0, 10.0), (100.5, 20.0), (101.0, 500.0)])
    return book


def market(book: Book, version: int = 1, **kw) -> RiskMarket:
    bid, ask = book.best_bid(), book.best_ask()
    return RiskMarket(INST, best_bid=bid[0] if bid else math.nan,
                      best_ask=ask[0] if ask else math.nan, book=book, version=version, **kw)


def expected(book: Book | None, **kw) -> object:
    args = dict(side=1, entry=100.0, stop=98.5, equity=PARAMS.equity, risk_pct=PARAMS.risk_pct,
                leverage=PARAMS.leverage, r_multiple=PARAMS.r_multiple,
                entry_fee=PARAMS.taker_fee, exit_fee=PARAMS.taker_fee, kind=ContractKind.LINEAR,
                contract_size=1.0, maintenance_margin=PARAMS.maintenance_margin)
    args.update(kw)
    return size_position(RiskInputs(**args), book)


class Host(App[None]):
    """Opens the calculator with ``r``, as the dashboard does."""

    BINDINGS = [Binding("r", "risk", "Risk", id="risk")]

    def __init__(self, mkt: RiskMarket) -> None:
        super().__init__()
        self.mkt = mkt
        self.register_theme(COLORBLIND)
        self.theme = COLORBLIND.name

    def action_risk(self) -> None:
        self.push_screen(RiskScreen(PARAMS, self.mkt))


async def type_into(pilot, field: str, text: str) -> None:
    """Focus ``field``, clear it and type ``text`` key by key."""
    pilot.app.screen.query_one(f"#risk-{field}").focus()
    await pilot.press("ctrl+a", "ctrl+k", *text)
    await pilot.pause()


def shown(screen: RiskScreen) -> str:
    """The outputs as drawn: the label/value grid rendered wide enough not to wrap."""
    console = Console(width=200, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(screen.query_one("#risk-out", Static).content)
    return "\n".join(line.rstrip() for line in capture.get().splitlines())


async def test_key_flow_matches_size_position() -> None:
    book = make_book()
    app = Host(market(book))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RiskScreen)
        # Defaults from [risk], entry following the live ask; no stop yet.
        assert screen.outcome.error == "stop is empty: type a number"
        assert screen.query_one("#row-stop").has_class("-invalid")
        assert screen.query_one("#risk-entry", Input).placeholder == "live 100.0"

        await type_into(pilot, "equity", "20000")
        await pilot.press("down")  # risk %
        await pilot.press("ctrl+a", "ctrl+k", "2")
        await type_into(pilot, "stop", "98.5")
        want = expected(book, equity=20000.0, risk_pct=2.0)
        assert screen.outcome.result == want
        assert screen.outcome.error == ""
        assert not screen.query_one("#row-stop").has_class("-invalid")
        # 400 budget / (1.5 + fees 0.05 + 0.04925) = 250.117... units; the book walk prices it.
        assert want.quantity == pytest.approx(400 / (1.5 + 100 * 0.0005 + 98.5 * 0.0005))
        text = shown(screen)
        assert f"{want.quantity:,.6g} units  notional {want.notional:,.2f}" in text
        assert f"{-want.risk_amount:+,.2f} quote  -1.00R" in text
        assert f"{want.reward_amount:+,.2f} quote  {want.r_at_target:+.2f}R" in text
        assert f"Liq. est.  {want.liquidation:,.1f}" in text
        assert f"avg {want.fill.average_price:,.2f}" in text
        assert f"({want.fill.slippage_bps:.1f} bp)" in text
        assert want.fill.complete and want.fill.slippage > 0

        # The Kelly fraction for a 55 % hit rate at the target's payoff.
        await type_into(pilot, "hit_rate", "55")
        k = kelly_fraction(0.55, want.r_at_target)
        assert screen.outcome.kelly == k
        assert f"f* {k * 100:.1f}% of equity" in shown(screen)

        # An invalid stop shows the engine's message inline and marks the field.
        await type_into(pilot, "stop", "101")
        assert screen.outcome.error == "a long's stop (101.0) must be below the entry (100.0)"
        assert screen.query_one("#row-stop").has_class("-invalid")
        assert "must be below the entry" in str(screen.query_one("#risk-error", Static).render())
        await type_into(pilot, "stop", "98.5")
        assert screen.outcome.ok

        # The book moves: the best ask is taken out; the live entry and the fill follow.
        book.apply_delta([], [(100.0, 0.0)])
        screen.update_market(market(book, version=2))
        await pilot.pause()
        assert screen.outcome.result == expected(book, equity=20000.0, risk_pct=2.0, entry=100.5)
        assert "100.5  live ask" in shown(screen)

        # A typed entry stops following; ctrl+l follows the live price again.
        await type_into(pilot, "entry", "100.2")
        assert screen.outcome.inputs.entry == 100.2
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert screen.outcome.inputs.entry == 100.5
        # An empty entry means "live": leaving it is not an input error (no red field).
        await type_into(pilot, "stop", "98.5")
        assert not screen.query_one("#risk-entry", Input).has_class("-invalid")

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RiskScreen)


async def test_choices_side_fee_contract() -> None:
    book = make_book()
    app = Host(market(book))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        await type_into(pilot, "stop", "101.5")
        # Short: entry follows the live bid; space on the side field cycles the choice.
        screen.query_one("#risk-side").focus()
        await pilot.press("space")
        await pilot.pause()
        assert screen.form.side == "short"
        assert screen.outcome.result == expected(book, side=-1, entry=99.5, stop=101.5)
        # Maker entry fee.
        screen.query_one("#risk-fee").focus()
        await pilot.press("right")
        await pilot.pause()
        assert screen.outcome.result == expected(book, side=-1, entry=99.5, stop=101.5,
                                                 entry_fee=PARAMS.maker_fee)
        # Inverse contracts of 100 quote each.
        screen.query_one("#risk-kind").focus()
        await pilot.press("right")
        await type_into(pilot, "contract_size", "100")
        want = expected(book, side=-1, entry=99.5, stop=101.5, entry_fee=PARAMS.maker_fee,
                        kind=ContractKind.INVERSE, contract_size=100.0)
        assert screen.outcome.result == want
        assert f"{want.quantity:,.6g} contracts" in shown(screen)
        assert f"{-want.risk_amount:+,.8f} base" in shown(screen)
        # Spot refuses leverage above 1 with the engine's message.
        screen.query_one("#risk-kind").focus()
        await pilot.press("right")
        await pilot.pause()
        assert screen.outcome.error == "spot positions take no leverage; set leverage to 1"
        assert screen.query_one("#row-leverage").has_class("-invalid")


async def test_volatility_and_atr_stops() -> None:
    book = make_book()
    mkt = market(book, sigma_annual=0.6, vol_regime="HIGH", atr=0.8)
    app = Host(mkt)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#risk-stop_mode").focus()
        await pilot.press("right")  # manual -> volatility
        await pilot.pause()
        stop = volatility_stop(1, 100.0, 0.6, "HIGH", PARAMS)
        assert screen.outcome.result == expected(book, stop=stop)
        assert "vol HIGH 2.5×σ1h" in shown(screen)
        # The forecast changes with the next frame: the stop follows it.
        screen.update_market(market(book, version=2, sigma_annual=0.3, vol_regime="LOW", atr=0.8))
        assert screen.outcome.inputs.stop == volatility_stop(1, 100.0, 0.3, "LOW", PARAMS)
        await pilot.press("right")  # volatility -> atr, the market's ATR
        await pilot.pause()
        assert screen.outcome.result == expected(book, stop=atr_stop(1, 100.0, 0.8, 1.5))
        await type_into(pilot, "atr", "2")  # a typed ATR wins
        await type_into(pilot, "atr_multiple", "1")
        assert screen.outcome.inputs.stop == 98.0
        # No forecast yet: the volatility mode says so instead of sizing.
        screen.update_market(market(book, version=3))
        screen.query_one("#risk-stop_mode").focus()
        await pilot.press("left")
        await pilot.pause()
        assert screen.outcome.error == "no volatility regime yet: choose a manual or ATR stop"
        assert screen.query_one("#row-stop_mode").has_class("-invalid")


def test_evaluate_parse_errors_name_the_field() -> None:
    book = make_book()
    form = RiskForm.defaults(PARAMS, INST).with_value("stop", "98")
    out = evaluate(form.with_value("equity", ""), PARAMS, market(book))
    assert (out.error, out.error_field) == ("equity is empty: type a number", "equity")
    out = evaluate(form.with_value("risk_pct", "-"), PARAMS, market(book))
    assert (out.error, out.error_field) == ("risk % must be a number, got '-'", "risk_pct")
    out = evaluate(form.with_value("risk_pct", "150"), PARAMS, market(book))
    assert (out.error, out.error_field) == ("risk % must be in (0, 100], got 150.0", "risk_pct")
    out = evaluate(form.with_value("leverage", "500"), PARAMS, market(book))
    assert out.error_field == "leverage"
    out = evaluate(form.with_value("hit_rate", "120"), PARAMS, market(book))
    assert out.ok and math.isnan(out.kelly)
    assert out.kelly_error == "hit rate must be in [0, 1], got 1.2"


def test_evaluate_without_prices_asks_for_an_entry() -> None:
    empty = RiskMarket(INST)
    form = RiskForm.defaults(PARAMS, INST).with_value("stop", "98")
    out = evaluate(form, PARAMS, empty)
    assert (out.error, out.error_field) == ("no live price yet: type an entry", "entry")
    out = evaluate(form.with_value("entry", "100"), PARAMS, empty)
    assert out.result == expected(None, stop=98.0)
    assert out.result.fill is None


def test_thin_book_warns_partial_fill() -> None:
    book = Book()
    book.apply_snapshot([(99.0, 1.0)], [(100.0, 1.0)])
    form = RiskForm.defaults(PARAMS, INST).with_value("stop", "99.9")
    out = evaluate(form, PARAMS, market(book))
    assert not out.result.fill.complete
    assert any("visible book fills only 1" in w for w in out.result.warnings)
