"""The risk calculator's form logic: typed text plus live market in, sized position out.

Pure and Textual-free, so the calculator's behaviour is tested without a
screen: :class:`RiskForm` holds what the trader typed or chose (as text),
:class:`RiskMarket` what the market says at this frame (best prices, the live
book, the GARCH forecast, the ATR), and :func:`evaluate` turns both into a
:class:`RiskOutcome` with :func:`tapescope.engine.risk.size_position` doing
all the maths. Bad input never raises: the outcome carries the
:class:`~tapescope.engine.risk.RiskInputError` message and the field it is
about, for the screen to show inline.

Conventions of the form (the engine's are in :mod:`tapescope.engine.risk`):

* An empty entry follows the live best price on the side you take: the best
  ask for a long, the best bid for a short.
* The chosen fee (maker or taker) applies to the entry; the exit at the stop
  is a market order, so it pays the taker fee.
* An empty ATR uses the market's ATR; an empty payoff uses the reward/risk
  at the target after fees (``RiskResult.r_at_target``).
* The hit rate is typed in percent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from tapescope.engine.book import Book
from tapescope.engine.instrument import ContractKind, Instrument
from tapescope.engine.risk import (
    RiskInputError,
    RiskInputs,
    RiskParams,
    RiskResult,
    StopMode,
    atr_stop,
    kelly_fraction,
    size_position,
    volatility_stop,
)
from tapescope.engine.snapshot import MarketSnapshot
from tapescope.engine.volatility import VolRegime

NAN = math.nan
#: Sides the form offers.
SIDES = ("long", "short")
#: Fee choices for the entry.
FEES = ("taker", "maker")
#: Contract types the form offers.
KINDS = (ContractKind.LINEAR, ContractKind.INVERSE, ContractKind.SPOT)
#: Volatility regimes the volatility stop knows.
REGIMES = ("LOW", "MEDIUM", "HIGH")

#: Form fields and their labels, in display order.
FIELDS: tuple[tuple[str, str], ...] = (
    ("equity", "Equity"),
    ("risk_pct", "Risk %"),
    ("side", "Side"),
    ("entry", "Entry"),
    ("stop_mode", "Stop mode"),
    ("stop", "Stop"),
    ("atr", "ATR"),
    ("atr_multiple", "ATR ×"),
    ("r_multiple", "R multiple"),
    ("leverage", "Leverage"),
    ("fee", "Entry fee"),
    ("kind", "Contract"),
    ("contract_size", "Contract size"),
    ("hit_rate", "Hit rate %"),
    ("payoff", "Payoff"),
)

#: Fields chosen from a fixed list (the others are typed numbers).
CHOICES: dict[str, tuple[str, ...]] = {
    "side": SIDES,
    "stop_mode": tuple(m.value for m in StopMode),
    "fee": FEES,
    "kind": tuple(k.value for k in KINDS),
}

#: Which field an engine error message is about, by its opening words.
_ERROR_FIELDS = (
    ("side", "side"), ("entry must", "entry"), ("entry fee", "fee"), ("exit fee", "fee"),
    ("stop", "stop"), ("a long's stop", "stop"), ("a short's stop", "stop"),
    ("equity", "equity"), ("risk %", "risk_pct"), ("leverage", "leverage"),
    ("spot positions", "leverage"), ("r multiple", "r_multiple"),
    ("contract size", "contract_size"), ("atr stop", "atr"), ("no volatility", "stop_mode"),
    ("unknown volatility", "stop_mode"), ("hit rate", "hit_rate"), ("payoff", "payoff"),
)


@dataclass(frozen=True, slots=True)
class RiskMarket:
    """What the calculator reads from the focused market at one frame."""

    instrument: Instrument
    """The market."""
    best_bid: float = NAN
    """Best bid price (``nan`` without one)."""
    best_ask: float = NAN
    """Best ask price (``nan`` without one)."""
    book: Book | None = None
    """The live book to walk for the fill (``None``: no fill estimate)."""
    version: int = 0
    """Market version; a new version means the book may have moved."""
    sigma_annual: float = NAN
    """Annualised GARCH volatility forecast (``nan`` before the first fit)."""
    vol_regime: str = ""
    """``LOW``, ``MEDIUM`` or ``HIGH`` (empty when unknown)."""
    atr: float = NAN
    """Average true range in price units (``nan`` when unknown)."""


def risk_market(snap: MarketSnapshot, book: Book | None) -> RiskMarket:
    """What the calculator reads from one market at this frame.

    Best prices and the version come from the snapshot; the GARCH forecast,
    the vol regime and the ATR from its analysis (when a
    :class:`~tapescope.engine.analysis.MarketAnalysis` is attached); the
    book is the market's live book, walked for the fill.

    >>> m = risk_market(MarketSnapshot(Instrument("x", "Y"), version=3, best_bid=(99.0, 1.0),
    ...                                best_ask=(100.0, 2.0)), None)
    >>> m.best_bid, m.best_ask, m.version, m.vol_regime, math.isnan(m.atr)
    (99.0, 100.0, 3, '', True)
    """
    sigma, regime, atr = NAN, "", NAN
    if snap.analysis is not None:
        vol = snap.analysis.volatility
        sigma = vol.garch.forecast_ann
        regime = vol.vol_regime.name if vol.vol_regime != VolRegime.UNKNOWN else ""
        atr = snap.analysis.levels.zones.atr
    return RiskMarket(
        instrument=snap.instrument,
        best_bid=snap.best_bid[0] if snap.best_bid else NAN,
        best_ask=snap.best_ask[0] if snap.best_ask else NAN,
        book=book, version=snap.version, sigma_annual=sigma, vol_regime=regime, atr=atr,
    )


@dataclass(frozen=True, slots=True)
class RiskForm:
    """The calculator's fields as the trader typed or chose them."""

    equity: str = ""
    """Account equity."""
    risk_pct: str = ""
    """Percent of equity to risk."""
    side: str = "long"
    """``long`` or ``short``."""
    entry: str = ""
    """Entry price; empty follows the live best price on the side you take."""
    stop_mode: str = StopMode.MANUAL.value
    """``manual``, ``volatility`` or ``atr``."""
    stop: str = ""
    """Stop price (manual mode)."""
    atr: str = ""
    """ATR in price units; empty uses the market's."""
    atr_multiple: str = ""
    """ATR multiple for the ATR stop."""
    r_multiple: str = ""
    """Target distance in stop distances."""
    leverage: str = ""
    """Leverage."""
    fee: str = "taker"
    """Entry fee: ``taker`` (market order) or ``maker`` (resting order)."""
    kind: str = ContractKind.LINEAR.value
    """``linear``, ``inverse`` or ``spot``."""
    contract_size: str = "1"
    """Quote units per contract (inverse)."""
    hit_rate: str = "50"
    """Win rate in percent, for the Kelly fraction."""
    payoff: str = ""
    """Average win over average loss; empty uses R at the target."""

    @classmethod
    def defaults(cls, params: RiskParams, instrument: Instrument | None = None) -> RiskForm:
        """The form pre-filled from the ``[risk]`` settings and the market's contract.

        >>> f = RiskForm.defaults(RiskParams(equity=5000.0, leverage=3.0))
        >>> f.equity, f.leverage, f.kind, f.atr_multiple
        ('5000', '3', 'linear', '1.5')
        """
        kind = instrument.kind if instrument is not None else ContractKind.LINEAR
        size = instrument.contract_size if instrument is not None and kind == ContractKind.INVERSE \
            else 1.0
        return cls(
            equity=_text(params.equity), risk_pct=_text(params.risk_pct),
            atr_multiple=_text(params.atr_multiple), r_multiple=_text(params.r_multiple),
            leverage="1" if kind == ContractKind.SPOT else _text(params.leverage),
            kind=kind.value, contract_size=_text(size),
        )

    def with_value(self, name: str, value: str) -> RiskForm:
        """A copy with field ``name`` set to ``value``.

        >>> RiskForm().with_value("side", "short").side
        'short'
        """
        return replace(self, **{name: value})


@dataclass(frozen=True, slots=True)
class RiskOutcome:
    """What the calculator shows for one form and one market state."""

    inputs: RiskInputs | None = None
    """The question handed to the engine (``None`` when the form was unusable)."""
    result: RiskResult | None = None
    """The engine's answer."""
    error: str = ""
    """The first input problem, as the engine or the parser worded it."""
    error_field: str = ""
    """The field the problem is about (empty if unknown)."""
    entry_source: str = ""
    """``live ask``, ``live bid`` or ``typed``."""
    stop_source: str = ""
    """How the stop was chosen, e.g. ``manual`` or ``vol MEDIUM 2×σ1h``."""
    kelly: float = NAN
    """Kelly fraction of equity for the hit rate and payoff (``nan`` if unusable)."""
    payoff: float = NAN
    """The payoff ratio the Kelly fraction used."""
    kelly_error: str = ""
    """Why the Kelly fraction is missing."""

    @property
    def ok(self) -> bool:
        """True when a position was sized."""
        return self.result is not None


def _text(x: float) -> str:
    return f"{x:g}"


class _FieldError(RiskInputError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.field = name


def _number(form: RiskForm, name: str, label: str) -> float:
    raw = getattr(form, name).strip()
    if not raw:
        raise _FieldError(name, f"{label} is empty: type a number")
    try:
        value = float(raw)
    except ValueError:
        raise _FieldError(name, f"{label} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise _FieldError(name, f"{label} must be a finite number, got {raw!r}")
    return value


def _field_of(message: str) -> str:
    low = message.lower()
    for prefix, name in _ERROR_FIELDS:
        if low.startswith(prefix):
            return name
    return ""


def live_entry(side: int, market: RiskMarket) -> float:
    """The best price on the side you take: the ask to buy, the bid to sell.

    >>> m = RiskMarket(Instrument("x", "Y"), best_bid=99.5, best_ask=100.0)
    >>> live_entry(1, m), live_entry(-1, m)
    (100.0, 99.5)
    """
    return market.best_ask if side > 0 else market.best_bid


def evaluate(form: RiskForm, params: RiskParams, market: RiskMarket) -> RiskOutcome:
    """Size the position the form describes against the market.

    Args:
        form: What the trader typed and chose.
        params: ``[risk]`` settings (maker/taker fees, maintenance margin,
            volatility-stop multiples and horizon).
        market: Live prices, book, volatility forecast and ATR.

    Returns:
        The outcome; on bad input ``error`` and ``error_field`` say what and where.

    >>> m = RiskMarket(Instrument("x", "Y", kind=ContractKind.LINEAR), best_bid=99.9,
    ...                best_ask=100.0)
    >>> p = RiskParams(maker_fee=0.0, taker_fee=0.0)
    >>> out = evaluate(RiskForm.defaults(p).with_value("stop", "98"), p, m)
    >>> out.entry_source, out.result.quantity, out.result.target
    ('live ask', 50.0, 104.0)
    >>> evaluate(RiskForm.defaults(p).with_value("stop", "101"), p, m).error
    "a long's stop (101.0) must be below the entry (100.0)"
    """
    stop_source = ""
    try:
        side = 1 if form.side == "long" else -1
        kind = ContractKind(form.kind)
        mode = StopMode(form.stop_mode)
        equity = _number(form, "equity", "equity")
        risk_pct = _number(form, "risk_pct", "risk %")
        if form.entry.strip():
            entry = _number(form, "entry", "entry")
            entry_source = "typed"
        else:
            entry = live_entry(side, market)
            entry_source = "live ask" if side > 0 else "live bid"
            if not (entry > 0 and math.isfinite(entry)):
                raise _FieldError("entry", "no live price yet: type an entry")
        if mode == StopMode.MANUAL:
            stop = _number(form, "stop", "stop")
            stop_source = "manual"
        elif mode == StopMode.VOLATILITY:
            regime = market.vol_regime.upper()
            if regime not in REGIMES:
                raise _FieldError("stop_mode",
                                  "no volatility regime yet: choose a manual or ATR stop")
            stop = volatility_stop(side, entry, market.sigma_annual, regime, params)
            k = {"LOW": params.vol_k_low, "MEDIUM": params.vol_k_medium,
                 "HIGH": params.vol_k_high}[regime]
            stop_source = f"vol {regime} {k:g}×σ{_horizon(params.vol_horizon_s)}"
        else:
            atr = _number(form, "atr", "ATR") if form.atr.strip() else market.atr
            if not (atr > 0 and math.isfinite(atr)):
                raise _FieldError("atr", "no ATR from the market yet: type one")
            multiple = _number(form, "atr_multiple", "ATR multiple")
            stop = atr_stop(side, entry, atr, multiple)
            stop_source = f"ATR {multiple:g}×{atr:.6g}"
        if mode != StopMode.MANUAL and not stop > 0:
            raise _FieldError("stop", f"the derived stop {stop:.6g} is not a positive price")
        r_multiple = _number(form, "r_multiple", "R multiple")
        leverage = _number(form, "leverage", "leverage")
        contract_size = (_number(form, "contract_size", "contract size")
                         if kind == ContractKind.INVERSE else 1.0)
        inputs = RiskInputs(
            side=side, entry=entry, stop=stop, equity=equity, risk_pct=risk_pct,
            leverage=leverage, r_multiple=r_multiple,
            entry_fee=params.maker_fee if form.fee == "maker" else params.taker_fee,
            exit_fee=params.taker_fee, kind=kind, contract_size=contract_size,
            maintenance_margin=params.maintenance_margin,
        )
        result = size_position(inputs, market.book)
    except _FieldError as err:
        return RiskOutcome(error=str(err), error_field=err.field, stop_source=stop_source)
    except (RiskInputError, ValueError) as err:
        return RiskOutcome(error=str(err), error_field=_field_of(str(err)),
                           stop_source=stop_source)
    kelly, payoff, kelly_error = _kelly(form, result)
    return RiskOutcome(inputs=inputs, result=result, entry_source=entry_source,
                       stop_source=stop_source, kelly=kelly, payoff=payoff,
                       kelly_error=kelly_error)


def _kelly(form: RiskForm, result: RiskResult) -> tuple[float, float, str]:
    try:
        hit = _number(form, "hit_rate", "hit rate %") / 100.0
        payoff = _number(form, "payoff", "payoff") if form.payoff.strip() else result.r_at_target
        return kelly_fraction(hit, payoff), payoff, ""
    except RiskInputError as err:
        return NAN, NAN, str(err)


def _horizon(seconds: float) -> str:
    """Compact horizon label.

    >>> _horizon(3600.0), _horizon(900.0), _horizon(86400.0), _horizon(45.0)
    ('1h', '15m', '1d', '45s')
    """
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
