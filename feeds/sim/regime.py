"""Regime state of one simulated market: volatility and drift Markov chains.

The latent log price of a market moves as ``dx = mu dt + sigma dW`` where
``sigma`` comes from the volatility regime (LOW / MEDIUM / HIGH) and ``mu``
from the market regime (TREND_UP / TREND_DOWN / RANGE / VOLATILE). Both
regimes hold for an exponential time with a configured mean, then jump to a
different state chosen uniformly. The labels follow the market-regime
definition of detectors.md ("VOLATILE: no significant slope, volatility high"),
in both directions:

* VOLATILE forces the effective volatility regime to HIGH (a volatile market
  is a high-volatility one);
* RANGE while the volatility chain is HIGH is simulated and labelled
  VOLATILE (no mean reversion): a driftless market in HIGH volatility is what
  the definition calls VOLATILE, and labelling it RANGE scored a correct
  classifier as wrong (before this, 21 % of RANGE seconds on seed 1000 fell
  in HIGH volatility; the volatility chain spends 18 % of its time there). The chain state itself stays RANGE, so the
  market returns to ranging when volatility calms down.

:class:`RegimeChain` holds the state and the span history; the market asks it
for ``sigma``/``mu`` and tells it when a switch is due.

>>> import random
>>> from tapescope.feeds.sim.params import RegimeParams
>>> c = RegimeChain("sim:X", RegimeParams(initial_vol="LOW"), random.Random(1), 0)
>>> c.effective_vol, round(c.annual_vol, 2)
('LOW', 0.2)
>>> c.set(5, market="VOLATILE")
True
>>> c.effective_vol, [s.vol_regime for s in c.spans(10)]
('HIGH', ['LOW', 'HIGH'])
>>> c.set(6, market="RANGE"), c.effective_market, c.effective_vol
(True, 'RANGE', 'LOW')
>>> c.set(7, vol="HIGH"), c.effective_market, [s.market_regime for s in c.spans(10)]
(True, 'VOLATILE', ['RANGE', 'VOLATILE', 'RANGE', 'VOLATILE'])
"""

from __future__ import annotations

import math
import random

from tapescope.feeds.sim.labels import MarketRegime, RegimeSpan, VolRegime
from tapescope.feeds.sim.params import SECONDS_PER_YEAR, RegimeParams

#: Volatility regimes in chain order.
VOL_STATES = (VolRegime.LOW.value, VolRegime.MEDIUM.value, VolRegime.HIGH.value)
#: Market regimes in chain order.
MARKET_STATES = tuple(m.value for m in MarketRegime)
_SQRT_YEAR = math.sqrt(SECONDS_PER_YEAR)


class RegimeChain:
    """Volatility and market regimes of one market, with their history.

    Runtime complexity: every method is ``O(1)`` except :meth:`spans`
    (``O(number of spans)``).
    """

    def __init__(self, key: str, params: RegimeParams, rng: random.Random, start_ns: int) -> None:
        self.key = key
        """Market key the spans are labelled with."""
        self.p = params
        """Regime settings."""
        self.rng = rng
        """The market's random stream (shared, so draw order is part of determinism)."""
        self.vol: str = params.initial_vol
        """Volatility chain state (before the VOLATILE override)."""
        self.market: str = params.initial_market
        """Market chain state."""
        self.anchor_x: float = 0.0
        """Log price the RANGE regime reverts to (set by the market at each switch)."""
        self._closed: list[RegimeSpan] = []
        self._span_start = start_ns
        self._vol_means = {
            "LOW": params.low_mean_s,
            "MEDIUM": params.medium_mean_s,
            "HIGH": params.high_mean_s,
        }
        self._annual = {"LOW": params.low_vol, "MEDIUM": params.medium_vol, "HIGH": params.high_vol}
        self._market_means = {
            "TREND_UP": params.trend_mean_s,
            "TREND_DOWN": params.trend_mean_s,
            "RANGE": params.range_mean_s,
            "VOLATILE": params.volatile_mean_s,
        }
        self.sigma = 0.0
        """Volatility of the latent log price per square-root second."""
        self.drift = 0.0
        """Drift of the latent log price per second (RANGE reverts instead)."""
        self.reversion = 0.0
        """Mean-reversion rate per second toward ``anchor_x`` (RANGE only)."""
        self._refresh()
        self.next_vol_ns = start_ns + self._hold(self._vol_means[self.vol])
        """When the volatility chain switches next."""
        self.next_market_ns = start_ns + self._hold(self._market_means[self.market])
        """When the market chain switches next."""

    # -- state ----------------------------------------------------------------

    @property
    def effective_vol(self) -> str:
        """The volatility regime actually simulated (HIGH while VOLATILE)."""
        return VolRegime.HIGH.value if self.market == MarketRegime.VOLATILE.value else self.vol

    @property
    def effective_market(self) -> str:
        """The market regime actually simulated and labelled (VOLATILE for RANGE in HIGH
        volatility; see the module docstring)."""
        if self.market == MarketRegime.RANGE.value and self.vol == VolRegime.HIGH.value:
            return MarketRegime.VOLATILE.value
        return self.market

    @property
    def annual_vol(self) -> float:
        """Annualised volatility of the latent log price now."""
        return self._annual[self.effective_vol]

    def _refresh(self) -> None:
        """Recompute the diffusion coefficients after a state change (read per step)."""
        sigma = self.annual_vol / _SQRT_YEAR
        self.sigma = sigma
        market = self.effective_market
        if market == MarketRegime.TREND_UP.value:
            self.drift = self.p.trend_strength * sigma
        elif market == MarketRegime.TREND_DOWN.value:
            self.drift = -self.p.trend_strength * sigma
        else:
            self.drift = 0.0
        self.reversion = (
            math.log(2.0) / self.p.range_half_life_s
            if market == MarketRegime.RANGE.value
            else 0.0
        )

    # -- switching --------------------------------------------------------------

    def _hold(self, mean_s: float) -> int:
        # A quarter of the mean is a floor, the rest exponential: no regime flickers for
        # a few seconds, and the mean holding time is still ``mean_s``.
        return max(1, int(mean_s * (0.25 + 0.75 * self.rng.expovariate(1.0)) * 1e9))

    def next_switch_ns(self) -> int:
        """Time of the next scheduled switch of either chain."""
        return min(self.next_vol_ns, self.next_market_ns)

    def switch_due(self, ts: int) -> tuple[str, str] | None:
        """Perform the scheduled switch at ``ts``.

        Returns:
            ``(old_label, new_label)`` pairs as ``"VOL/MARKET"`` strings when the
            effective labels changed, else ``None``.
        """
        before = (self.effective_vol, self.effective_market)
        if ts >= self.next_vol_ns:
            self.vol = self._other(VOL_STATES, self.vol)
            self.next_vol_ns = ts + self._hold(self._vol_means[self.vol])
        if ts >= self.next_market_ns:
            self.market = self._other(MARKET_STATES, self.market)
            self.next_market_ns = ts + self._hold(self._market_means[self.market])
        return self._changed(ts, before)

    def set(self, ts: int, vol: str | None = None, market: str | None = None) -> bool:
        """Force a switch now (an injected regime change); random when both are ``None``.

        Returns:
            True when the effective labels changed.
        """
        before = (self.effective_vol, self.effective_market)
        if vol is None and market is None:
            if self.rng.random() < 0.5:
                vol = self._other(VOL_STATES, self.vol)
            else:
                market = self._other(MARKET_STATES, self.market)
        if vol is not None:
            if vol not in VOL_STATES:
                raise ValueError(f"vol regime {vol!r}: expected one of {VOL_STATES}")
            self.vol = vol
            self.next_vol_ns = ts + self._hold(self._vol_means[vol])
        if market is not None:
            if market not in MARKET_STATES:
                raise ValueError(f"market regime {market!r}: expected one of {MARKET_STATES}")
            self.market = market
            self.next_market_ns = ts + self._hold(self._market_means[market])
        return self._changed(ts, before) is not None

    def _other(self, states: tuple[str, ...], current: str) -> str:
        choices = [s for s in states if s != current]
        return choices[int(self.rng.random() * len(choices))]

    def _changed(self, ts: int, before: tuple[str, str]) -> tuple[str, str] | None:
        self._refresh()
        after = (self.effective_vol, self.effective_market)
        if after == before:
            return None
        self._closed.append(self._span(before, self._span_start, ts))
        self._span_start = ts
        return f"{before[0]}/{before[1]}", f"{after[0]}/{after[1]}"

    def _span(self, labels: tuple[str, str], start: int, end: int) -> RegimeSpan:
        vol, market = labels
        sigma = self._annual[vol] / _SQRT_YEAR
        drift = (
            {"TREND_UP": 1.0, "TREND_DOWN": -1.0}.get(market, 0.0) * self.p.trend_strength * sigma
        )
        return RegimeSpan(self.key, start, end, vol, market, self._annual[vol], drift)

    def spans(self, now_ns: int) -> list[RegimeSpan]:
        """Closed spans plus the open one, which ends at ``now_ns``."""
        current = self._span(
            (self.effective_vol, self.effective_market),
            self._span_start,
            max(now_ns, self._span_start),
        )
        return [*self._closed, current]
