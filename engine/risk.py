"""Position sizing and trade risk: the maths behind the risk/position calculator.

Pure functions over a :class:`RiskInputs` record and, optionally, the live
:class:`~tapescope.engine.book.Book` (to price the fill by walking it). No
clock, no I/O.

Conventions (all stated so a trader can check them by hand):

* ``side`` is +1 long, -1 short. ``risk_pct`` is a percentage of equity.
* Fees are rates (0.0004 = 4 bps), charged on entry and on exit notional.
  With ``fees_in_risk`` (default) the size is chosen so that the loss at the
  stop *including both fees* equals the risk budget.
* Linear (and spot): quantity in base units, PnL in quote =
  ``side * qty * (exit - entry)``; equity in quote.
* Inverse: quantity in contracts of ``contract_size`` quote each, PnL in base
  = ``side * contracts * contract_size * (1/entry - 1/exit)``; equity in base.
* Liquidation (isolated margin, estimate): the price at which margin plus
  PnL equals the maintenance margin ``mmr * position value at that price``.
  Linear: long ``entry*(1-1/L)/(1-mmr)``, short ``entry*(1+1/L)/(1+mmr)``.
  Inverse: long ``entry*(1+mmr)/(1+1/L)``, short ``entry*(1-mmr)/(1-1/L)``.
  Venues add tiers, maintenance amounts and fees, so it is labelled an estimate.
* Kelly fraction for a hit rate ``p`` and payoff ``b`` (average win / average
  loss): ``f* = p - (1-p)/b``, floored at 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from tapescope.engine.book import Book
from tapescope.engine.instrument import ContractKind

#: Seconds in a (24/7 crypto) year, for scaling an annualised volatility.
SECONDS_PER_YEAR = 365 * 24 * 3600


class RiskInputError(ValueError):
    """An input the calculator cannot use; the message says which and why."""


class StopMode(StrEnum):
    """How the stop price is chosen."""

    MANUAL = "manual"
    """The trader types the stop price."""
    VOLATILITY = "volatility"
    """``entry -/+ k(regime) * sigma_horizon * entry`` from the GARCH forecast."""
    ATR = "atr"
    """``entry -/+ multiple * ATR``."""


@dataclass(frozen=True, slots=True)
class RiskParams:
    """Calculator defaults (config section ``[risk]``)."""

    equity: float = 10_000.0
    """Account equity (quote units for linear/spot, base units for inverse)."""
    risk_pct: float = field(default=1.0, metadata={"min": 0.01, "max": 100.0})
    """Percent of equity lost if the stop is hit."""
    leverage: float = field(default=5.0, metadata={"min": 1.0, "max": 200.0})
    """Leverage used for margin and liquidation."""
    r_multiple: float = field(default=2.0, metadata={"min": 0.1, "max": 50.0})
    """Take-profit distance as a multiple of the stop distance."""
    maker_fee: float = field(default=0.0002, metadata={"min": -0.001, "max": 0.01})
    """Maker fee rate (negative for a rebate)."""
    taker_fee: float = field(default=0.0005, metadata={"min": 0.0, "max": 0.01})
    """Taker fee rate."""
    maintenance_margin: float = field(default=0.004, metadata={"min": 0.0, "max": 0.5})
    """Maintenance margin rate for the liquidation estimate."""
    vol_horizon_s: float = field(default=3600.0, metadata={"min": 1.0})
    """Horizon over which the volatility stop is sized, seconds."""
    vol_k_low: float = field(default=1.5, metadata={"min": 0.1, "max": 20.0})
    """Volatility-stop multiple of horizon sigma in the LOW regime."""
    vol_k_medium: float = field(default=2.0, metadata={"min": 0.1, "max": 20.0})
    """Volatility-stop multiple of horizon sigma in the MEDIUM regime."""
    vol_k_high: float = field(default=2.5, metadata={"min": 0.1, "max": 20.0})
    """Volatility-stop multiple of horizon sigma in the HIGH regime."""
    atr_multiple: float = field(default=1.5, metadata={"min": 0.1, "max": 20.0})
    """ATR multiple for ATR stops."""


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """One sizing question."""

    side: int
    """+1 long, -1 short."""
    entry: float
    """Planned entry price."""
    stop: float
    """Stop price (see :func:`volatility_stop` and :func:`atr_stop` to derive one)."""
    equity: float
    """Account equity (quote for linear/spot, base for inverse)."""
    risk_pct: float
    """Percent of equity to lose at the stop."""
    leverage: float = 1.0
    """Leverage (1 for spot)."""
    r_multiple: float = 2.0
    """Target distance in multiples of the stop distance."""
    entry_fee: float = 0.0005
    """Fee rate on entry (taker for a market order, maker for a resting one)."""
    exit_fee: float = 0.0005
    """Fee rate on exit."""
    kind: ContractKind = ContractKind.LINEAR
    """Contract type."""
    contract_size: float = 1.0
    """Quote units per contract (inverse only)."""
    maintenance_margin: float = 0.004
    """Maintenance margin rate for the liquidation estimate."""
    fees_in_risk: bool = True
    """Size so that the loss at the stop *including fees* equals the risk budget."""


@dataclass(frozen=True, slots=True)
class Fill:
    """Result of walking the visible book for the position size."""

    filled: float
    """Quantity the visible book can fill (base units, or contracts for inverse)."""
    average_price: float
    """Volume-weighted fill price (``nan`` if nothing fills)."""
    slippage: float
    """Adverse price move from the entry price, in price units (>= 0 is worse)."""
    slippage_bps: float
    """The same in basis points of the entry price."""
    complete: bool
    """False when the visible book is too thin for the whole size."""


@dataclass(frozen=True, slots=True)
class RiskResult:
    """Everything the calculator shows."""

    quantity: float
    """Position size: base units (linear/spot) or contracts (inverse)."""
    notional: float
    """Position value at entry, quote units."""
    margin: float
    """Initial margin (notional / leverage), in the equity currency."""
    liquidation: float
    """Estimated isolated-margin liquidation price (``nan`` at 1x on spot)."""
    target: float
    """Take-profit price at ``r_multiple`` times the stop distance."""
    risk_amount: float
    """Money lost at the stop, fees included, in the equity currency."""
    reward_amount: float
    """Money made at the target, fees included, in the equity currency."""
    fee_cost: float
    """Entry fee plus exit fee at the stop, in the equity currency."""
    stop_distance: float
    """``|entry - stop|``."""
    warnings: tuple[str, ...] = ()
    """Human-readable problems: liquidation before stop, margin above equity, thin book."""
    fill: Fill | None = None
    """Book-walk result, when a book was given."""

    @property
    def r_at_target(self) -> float:
        """Reward over risk after fees."""
        return self.reward_amount / self.risk_amount if self.risk_amount > 0 else math.nan


def _validate(inp: RiskInputs) -> None:
    def bad(msg: str) -> RiskInputError:
        return RiskInputError(msg)

    if inp.side not in (1, -1):
        raise bad(f"side must be +1 (long) or -1 (short), got {inp.side}")
    for name in ("entry", "stop", "equity"):
        value = getattr(inp, name)
        if not math.isfinite(value) or value <= 0:
            raise bad(f"{name} must be a positive number, got {value}")
    if not 0 < inp.risk_pct <= 100:
        raise bad(f"risk % must be in (0, 100], got {inp.risk_pct}")
    if not 1 <= inp.leverage <= 200:
        raise bad(f"leverage must be between 1 and 200, got {inp.leverage}")
    if inp.r_multiple <= 0:
        raise bad(f"R multiple must be positive, got {inp.r_multiple}")
    for name in ("entry_fee", "exit_fee"):
        if not -0.01 <= getattr(inp, name) <= 0.01:
            raise bad(
                f"{name.replace('_', ' ')} must be a rate between -1% and 1%, got {getattr(inp, name)}"
            )
    if inp.stop == inp.entry:
        raise bad("stop equals entry: the risk per unit would be zero")
    if inp.side == 1 and inp.stop > inp.entry:
        raise bad(f"a long's stop ({inp.stop}) must be below the entry ({inp.entry})")
    if inp.side == -1 and inp.stop < inp.entry:
        raise bad(f"a short's stop ({inp.stop}) must be above the entry ({inp.entry})")
    if inp.kind == ContractKind.INVERSE and inp.contract_size <= 0:
        raise bad(f"contract size must be positive, got {inp.contract_size}")
    if inp.kind == ContractKind.SPOT and inp.leverage != 1:
        raise bad("spot positions take no leverage; set leverage to 1")


def liquidation_price(
    kind: ContractKind, side: int, entry: float, leverage: float, mmr: float
) -> float:
    """Estimated isolated-margin liquidation price (formulas in the module docstring).

    >>> round(liquidation_price(ContractKind.LINEAR, 1, 100.0, 10.0, 0.0), 6)
    90.0
    >>> round(liquidation_price(ContractKind.INVERSE, -1, 100.0, 2.0, 0.0), 6)
    200.0
    """
    inv_l = 1.0 / leverage
    if kind == ContractKind.SPOT:
        return math.nan
    if kind == ContractKind.LINEAR:
        if side > 0:
            return entry * (1 - inv_l) / (1 - mmr)
        return entry * (1 + inv_l) / (1 + mmr)
    if side > 0:
        return entry * (1 + mmr) / (1 + inv_l)
    return entry * (1 - mmr) / (1 - inv_l) if inv_l < 1 else math.inf


def size_position(inp: RiskInputs, book: Book | None = None) -> RiskResult:
    """Size a position from equity, risk %, entry and stop.

    Args:
        inp: the question.
        book: the live book, to price the fill by walking it for the size.

    Returns:
        The sized position with margin, liquidation, target, fees and fill.

    Raises:
        RiskInputError: an input is out of range or inconsistent.

    >>> r = size_position(RiskInputs(side=1, entry=100.0, stop=98.0, equity=10_000, risk_pct=1,
    ...                              entry_fee=0, exit_fee=0))
    >>> r.quantity, r.notional, r.target
    (50.0, 5000.0, 104.0)
    """
    _validate(inp)
    side, entry, stop = inp.side, inp.entry, inp.stop
    budget = inp.equity * inp.risk_pct / 100.0
    distance = abs(entry - stop)
    target = entry + side * inp.r_multiple * distance
    fe, fx = inp.entry_fee, inp.exit_fee
    if inp.kind == ContractKind.INVERSE:
        cs = inp.contract_size
        # Loss per contract in base at the stop, plus fees on base-valued notional.
        loss_per = cs * abs(1 / entry - 1 / stop)
        fee_per = cs / entry * fe + cs / stop * fx
        qty = budget / (loss_per + (fee_per if inp.fees_in_risk else 0.0))
        notional = qty * cs  # quote value
        margin = qty * cs / entry / inp.leverage
        fee_cost = qty * fee_per
        gain = qty * cs * abs(1 / entry - 1 / target) - qty * (cs / entry * fe + cs / target * fx)
        risk_amount = qty * loss_per + fee_cost
    else:
        fee_per = entry * fe + stop * fx
        qty = budget / (distance + (fee_per if inp.fees_in_risk else 0.0))
        notional = qty * entry
        margin = notional / inp.leverage
        fee_cost = qty * fee_per
        gain = qty * abs(target - entry) - qty * (entry * fe + target * fx)
        risk_amount = qty * distance + fee_cost
    liq = liquidation_price(inp.kind, side, entry, inp.leverage, inp.maintenance_margin)
    warnings: list[str] = []
    if math.isfinite(liq) and (side > 0 and liq >= stop or side < 0 and liq <= stop):
        warnings.append(
            f"liquidation (~{liq:.6g}) comes before the stop ({stop:.6g}): lower the leverage"
        )
    if margin > inp.equity:
        warnings.append(f"margin {margin:.6g} exceeds equity {inp.equity:.6g}")
    fill = None
    if book is not None:
        base_qty = qty * inp.contract_size / entry if inp.kind == ContractKind.INVERSE else qty
        fill = walk_fill(book, side, base_qty, entry)
        if not fill.complete:
            warnings.append(f"visible book fills only {fill.filled:.6g} of {base_qty:.6g}")
    return RiskResult(
        quantity=qty,
        notional=notional,
        margin=margin,
        liquidation=liq,
        target=target,
        risk_amount=risk_amount,
        reward_amount=gain,
        fee_cost=fee_cost,
        stop_distance=distance,
        warnings=tuple(warnings),
        fill=fill,
    )


def walk_fill(book: Book, side: int, qty: float, entry: float) -> Fill:
    """Price a market order of ``qty`` against the visible book.

    Slippage is measured from ``entry`` (usually the best price on the side
    you take), positive when the fill is worse.

    >>> b = Book(); b.apply_snapshot([], [(100.0, 1.0), (101.0, 1.0)])
    >>> f = walk_fill(b, 1, 2.0, 100.0); (f.average_price, f.slippage, f.slippage_bps)
    (100.5, 0.5, 50.0)

    Runtime complexity: ``O(log n + k)`` for ``k`` levels consumed.
    """
    filled, avg = book.walk(side, qty)
    if filled <= 0:
        return Fill(0.0, math.nan, math.nan, math.nan, False)
    slip = (avg - entry) * side
    return Fill(filled, avg, slip, slip / entry * 1e4, filled >= qty * (1 - 1e-12))


def volatility_stop(
    side: int, entry: float, sigma_annual: float, regime: str, params: RiskParams
) -> float:
    """Stop from the GARCH forecast: ``k(regime) * sigma over the horizon`` away from entry.

    ``sigma_h = sigma_annual * sqrt(horizon / year)``; ``k`` is the configured
    multiple for the LOW, MEDIUM or HIGH volatility regime.

    >>> p = RiskParams(vol_horizon_s=SECONDS_PER_YEAR / 4, vol_k_medium=2.0)
    >>> volatility_stop(1, 100.0, 0.4, "MEDIUM", p)  # sigma_h = 0.4 * 0.5 = 0.2
    60.0

    Raises:
        RiskInputError: unknown regime or a non-positive volatility.
    """
    k = {"LOW": params.vol_k_low, "MEDIUM": params.vol_k_medium, "HIGH": params.vol_k_high}.get(
        regime.upper()
    )
    if k is None:
        raise RiskInputError(f"unknown volatility regime {regime!r}; expected LOW, MEDIUM or HIGH")
    if not (sigma_annual > 0 and math.isfinite(sigma_annual)):
        raise RiskInputError("no volatility forecast yet: choose a manual or ATR stop")
    sigma_h = sigma_annual * math.sqrt(params.vol_horizon_s / SECONDS_PER_YEAR)
    return entry * (1 - side * k * sigma_h)


def atr_stop(side: int, entry: float, atr: float, multiple: float) -> float:
    """Stop ``multiple * ATR`` away from entry.

    >>> atr_stop(-1, 100.0, 2.0, 1.5)
    103.0

    Raises:
        RiskInputError: a non-positive ATR or multiple.
    """
    if not (atr > 0 and math.isfinite(atr)) or multiple <= 0:
        raise RiskInputError(
            f"ATR stop needs a positive ATR and multiple, got {atr} and {multiple}"
        )
    return entry - side * multiple * atr


def kelly_fraction(hit_rate: float, payoff: float) -> float:
    """Kelly fraction ``p - (1-p)/b`` of equity to risk, floored at 0.

    >>> kelly_fraction(0.55, 1.0)
    0.10000000000000009
    >>> kelly_fraction(0.3, 1.0)
    0.0

    Raises:
        RiskInputError: hit rate outside [0, 1] or a non-positive payoff.
    """
    if not 0.0 <= hit_rate <= 1.0:
        raise RiskInputError(f"hit rate must be in [0, 1], got {hit_rate}")
    if not payoff > 0:
        raise RiskInputError(f"payoff ratio must be positive, got {payoff}")
    return max(0.0, hit_rate - (1.0 - hit_rate) / payoff)
