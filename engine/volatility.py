"""Volatility metrics: realised volatility, GARCH(1,1) forecast, volatility regime and state.

Definitions (detectors.md, "Volatility and regime"):

* :class:`RealisedVol`: 1 s mid log-returns (the last mid of each whole second
  of event time against the last mid of the previous second; seconds without
  an update contribute a zero return, at most one long window of them), over
  rolling windows; ``vol = sqrt(mean(r^2) * SECONDS_PER_YEAR)`` with
  ``SECONDS_PER_YEAR = 365 * 86400`` (crypto trades 24/7). Zero-mean
  estimator, as is usual for high-frequency returns.
* ``short_z``: z-score of the short-window vol against its own values at the
  previous ``z_history_s`` closed seconds (sample std; nan until
  ``z_min_samples``); overlapping windows make it a descriptive, not an
  i.i.d., score.
* Volatility state: ``ratio = vol(short) / vol(long)`` (default 5 m / 60 m);
  COMPRESSED below 0.6, EXPANDING above 1.5, else NORMAL; UNKNOWN until the
  long window holds at least twice the short window's samples (before that
  both windows see nearly the same returns and the ratio says nothing).
* :class:`Garch`: GARCH(1,1) on 1 m log-returns of mid. The model is what
  ``arch`` fits by default for ``arch_model(r, mean="Constant", vol="GARCH",
  p=1, q=1)``: a **constant mean** and Gaussian errors, the variance recursion
  started from ``arch``'s 0.94-EWMA backcast. Fitted by maximum likelihood
  (:mod:`tapescope.engine.garch_kernels`) on the last ``window_bars`` returns,
  refitted every ``refit_every`` bars, with the one-step recursion
  ``s2' = omega + alpha * (r - mu)^2 + beta * s2`` between refits. Output: the
  next-bar variance forecast annualised with ``sqrt(365 * 86400 / bar_s)``
  (``sqrt(525600)`` for 1 m bars). Agreement with ``arch`` is tested
  (tests/engine/test_garch.py): alpha and beta within 0.01 absolute, omega
  and the one-step forecast within 1 % relative, log-likelihood within 1e-5
  per observation, on returns scaled to percent or basis points as ``arch``
  recommends (the kernel standardises internally, so our fit does not depend
  on the scale). Difference from ``arch``: alpha + beta is capped at
  1 - 1e-6 (strict stationarity) where ``arch`` allows 1.
  Fallback before ``min_bars`` returns: the RiskMetrics EWMA variance
  (lambda 0.94), seeded with the mean square of the first
  ``fallback_min_bars`` returns; ``fitted`` is False while it is in use.
* Volatility regime: LOW below 30 %, MEDIUM 30-45 %, HIGH above 45 % of the
  annualised GARCH forecast, thresholds per symbol in config. Optional
  (``source = "realised"``, not the default): classify the realised vol of
  the last ``realised_window_s`` seconds instead; on the simulator, whose
  regimes last minutes, that tracks the labels far better (see
  :mod:`tapescope.engine.regime`).

The code lives in three modules, split by responsibility; this module is the
stable import path and re-exports their public names:

* :mod:`tapescope.engine.vol_config`: :class:`VolRegime`, :class:`VolState`,
  the three configs and the classifiers;
* :mod:`tapescope.engine.realised_vol`: :class:`RealisedVol`;
* :mod:`tapescope.engine.garch`: :class:`Garch` and :func:`warm_up_kernels`.
"""

from __future__ import annotations

from tapescope.engine.garch import Garch, GarchSnapshot, warm_up_kernels
from tapescope.engine.realised_vol import RealisedVol, RealisedVolSnapshot
from tapescope.engine.vol_config import (
    NAN,
    SECONDS_PER_YEAR,
    GarchConfig,
    RealisedVolConfig,
    VolRegime,
    VolRegimeConfig,
    VolState,
    classify_regime,
    classify_state,
)

__all__ = [
    "NAN",
    "SECONDS_PER_YEAR",
    "Garch",
    "GarchConfig",
    "GarchSnapshot",
    "RealisedVol",
    "RealisedVolConfig",
    "RealisedVolSnapshot",
    "VolRegime",
    "VolRegimeConfig",
    "VolState",
    "classify_regime",
    "classify_state",
    "warm_up_kernels",
]
