"""Risk calculator: every formula against hand-computed cases (arithmetic in comments)."""

from __future__ import annotations

import math

import pytest

from tapescope.engine.book import Book
from tapescope.engine.instrument import ContractKind
from tapescope.engine.risk import (
    RiskInputError,
    RiskInputs,
    RiskParams,
    atr_stop,
    kelly_fraction,
    liquidation_price,
    size_position,
    volatility_stop,
    walk_fill,
)


def test_linear_long_with_fees_in_risk() -> None:
    # budget = 10_000 * 1% = 100; fees per unit = 100*0.0005 + 98*0.0005 = 0.099
    # qty = 100 / (2 + 0.099) = 47.641734...
    r = size_position(
        RiskInputs(side=1, entry=100.0, stop=98.0, equity=10_000, risk_pct=1, leverage=5)
    )
    qty = 100 / 2.099
    assert r.quantity == pytest.approx(qty)
    assert r.notional == pytest.approx(qty * 100)
    assert r.margin == pytest.approx(qty * 100 / 5)
    assert r.risk_amount == pytest.approx(100.0)  # loss at stop, fees included, is the budget
    assert r.fee_cost == pytest.approx(qty * 0.099)
    assert r.target == pytest.approx(104.0)  # 100 + 2R, R = 2
    # reward = qty*4 - fees(entry 0.05 + exit at 104: 0.052)
    assert r.reward_amount == pytest.approx(qty * (4 - 0.102))
    # liquidation: 100 * (1 - 1/5) / (1 - 0.004) = 80.3212851...
    assert r.liquidation == pytest.approx(80 / 0.996)
    assert r.warnings == ()
    assert r.r_at_target == pytest.approx(qty * 3.898 / 100)


def test_linear_short_without_fees() -> None:
    # budget = 5_000 * 2% = 100; distance 5 -> qty 20; target = 250 - 3*5 = 235
    r = size_position(
        RiskInputs(
            side=-1,
            entry=250.0,
            stop=255.0,
            equity=5_000,
            risk_pct=2,
            leverage=10,
            r_multiple=3,
            entry_fee=0,
            exit_fee=0,
        )
    )
    assert (r.quantity, r.notional, r.margin, r.target) == (20.0, 5000.0, 500.0, 235.0)
    assert r.reward_amount == pytest.approx(300.0)
    # short liquidation: 250 * 1.1 / 1.004 = 273.904...
    assert r.liquidation == pytest.approx(275 / 1.004)


def test_fees_outside_risk_size_on_distance_only() -> None:
    r = size_position(
        RiskInputs(side=1, entry=100.0, stop=98.0, equity=10_000, risk_pct=1, fees_in_risk=False)
    )
    assert r.quantity == pytest.approx(50.0)
    assert r.risk_amount == pytest.approx(100 + 50 * 0.099)


def test_inverse_long_contracts() -> None:
    # budget = 1 BTC * 2% = 0.02 BTC; loss/contract = 100 * (1/49000 - 1/50000) = 100/2_450_000
    # contracts = 0.02 / (100/2_450_000) = 490; notional 49_000 USD; margin at 10x = 490*100/50_000/10
    r = size_position(
        RiskInputs(
            side=1,
            entry=50_000.0,
            stop=49_000.0,
            equity=1.0,
            risk_pct=2,
            leverage=10,
            entry_fee=0,
            exit_fee=0,
            kind=ContractKind.INVERSE,
            contract_size=100.0,
            maintenance_margin=0.0,
        )
    )
    assert r.quantity == pytest.approx(490.0)
    assert r.notional == pytest.approx(49_000.0)
    assert r.margin == pytest.approx(0.098)
    assert r.risk_amount == pytest.approx(0.02)
    # inverse long liquidation with mmr 0: 50_000 / 1.1
    assert r.liquidation == pytest.approx(50_000 / 1.1)
    # target 52_000: 490*100*(1/50_000 - 1/52_000) BTC
    assert r.reward_amount == pytest.approx(49_000 * (1 / 50_000 - 1 / 52_000))


def test_liquidation_formulas_hand_computed() -> None:
    assert liquidation_price(ContractKind.LINEAR, 1, 100.0, 10.0, 0.005) == pytest.approx(
        90 / 0.995
    )
    assert liquidation_price(ContractKind.LINEAR, -1, 100.0, 10.0, 0.005) == pytest.approx(
        110 / 1.005
    )
    assert liquidation_price(ContractKind.INVERSE, -1, 100.0, 4.0, 0.01) == pytest.approx(99 / 0.75)
    assert (
        liquidation_price(ContractKind.INVERSE, -1, 100.0, 1.0, 0.0) == math.inf
    )  # 1x short inverse
    assert math.isnan(liquidation_price(ContractKind.SPOT, 1, 100.0, 1.0, 0.0))


def test_warns_when_liquidation_comes_before_stop_and_margin_exceeds_equity() -> None:
    # 10x long: liq ~ 90.36 is above the 80 stop
    r = size_position(
        RiskInputs(side=1, entry=100.0, stop=80.0, equity=1_000, risk_pct=1, leverage=10)
    )
    assert any("liquidation" in w for w in r.warnings)
    # qty = 10 / (1 + 0.1995) = 8.34; notional 833 at 1x... margin 833 < 1000: no margin warning here
    r2 = size_position(
        RiskInputs(
            side=1,
            entry=100.0,
            stop=99.9,
            equity=1_000,
            risk_pct=5,
            leverage=1,
            entry_fee=0,
            exit_fee=0,
            kind=ContractKind.SPOT,
        )
    )
    # qty = 50 / 0.1 = 500, notional 50_000 > equity
    assert r2.quantity == pytest.approx(500.0)
    assert any("exceeds equity" in w for w in r2.warnings)


def test_walks_the_live_book_for_the_fill() -> None:
    book = Book()
    book.apply_snapshot([(99.0, 10.0)], [(100.0, 20.0), (100.5, 20.0), (101.0, 100.0)])
    r = size_position(
        RiskInputs(
            side=1, entry=100.0, stop=99.0, equity=10_000, risk_pct=0.5, entry_fee=0, exit_fee=0
        ),
        book,
    )
    # qty = 50 / 1 = 50: 20 @ 100 + 20 @ 100.5 + 10 @ 101 -> avg = (2000 + 2010 + 1010) / 50 = 100.4
    assert r.quantity == pytest.approx(50.0)
    assert r.fill is not None and r.fill.complete
    assert r.fill.average_price == pytest.approx(100.4)
    assert r.fill.slippage == pytest.approx(0.4)
    assert r.fill.slippage_bps == pytest.approx(40.0)
    thin = walk_fill(book, -1, 15.0, 99.0)
    assert (thin.filled, thin.complete, thin.slippage) == (10.0, False, 0.0)
    r2 = size_position(
        RiskInputs(
            side=-1, entry=99.0, stop=100.0, equity=10_000, risk_pct=1, entry_fee=0, exit_fee=0
        ),
        book,
    )
    assert any("visible book fills only 10" in w for w in r2.warnings)


def test_volatility_and_atr_stops() -> None:
    params = RiskParams(vol_horizon_s=365 * 24 * 3600 / 100, vol_k_low=1.0, vol_k_high=3.0)
    # sigma_h = 0.5 * sqrt(1/100) = 0.05
    assert volatility_stop(1, 200.0, 0.5, "LOW", params) == pytest.approx(200 * (1 - 0.05))
    assert volatility_stop(-1, 200.0, 0.5, "HIGH", params) == pytest.approx(200 * (1 + 0.15))
    assert atr_stop(1, 50.0, 0.4, 2.5) == pytest.approx(49.0)
    with pytest.raises(RiskInputError, match="regime"):
        volatility_stop(1, 1.0, 0.5, "EXTREME", params)
    with pytest.raises(RiskInputError, match="no volatility forecast"):
        volatility_stop(1, 1.0, math.nan, "LOW", params)
    with pytest.raises(RiskInputError, match="ATR"):
        atr_stop(1, 1.0, 0.0, 1.0)


def test_kelly() -> None:
    # p = 0.6, b = 2: 0.6 - 0.4/2 = 0.4
    assert kelly_fraction(0.6, 2.0) == pytest.approx(0.4)
    assert kelly_fraction(0.2, 1.0) == 0.0
    with pytest.raises(RiskInputError):
        kelly_fraction(1.2, 1.0)
    with pytest.raises(RiskInputError):
        kelly_fraction(0.5, 0.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"side": 0}, "side must be"),
        ({"entry": -1.0}, "entry must be a positive"),
        ({"equity": math.nan}, "equity must be a positive"),
        ({"risk_pct": 0.0}, "risk %"),
        ({"leverage": 500.0}, "leverage"),
        ({"stop": 101.0}, "long's stop"),
        ({"stop": 100.0}, "stop equals entry"),
        ({"entry_fee": 0.5}, "entry fee"),
        ({"r_multiple": -1.0}, "R multiple"),
        ({"kind": ContractKind.SPOT, "leverage": 3.0}, "spot positions take no leverage"),
    ],
)
def test_inputs_are_validated_with_specific_messages(changes: dict, message: str) -> None:
    base = {"side": 1, "entry": 100.0, "stop": 99.0, "equity": 1000.0, "risk_pct": 1.0}
    base.update(changes)
    with pytest.raises(RiskInputError, match=message):
        size_position(RiskInputs(**base))
