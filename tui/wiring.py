"""Builds the feed and engine hub a command runs on: the simulated demo market, or live venues.

Kept apart from :mod:`tapescope.tui.cli` so the CLI stays thin and tests and
the benchmark can build the same objects.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import replace

from tapescope.engine.analysis import AnalysisParams, MarketAnalysis
from tapescope.engine.flow import FlowParams
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.feeds.base import Feed
from tapescope.tui.config import Config

#: Module and factory the live venue layer provides: ``make_live_feed(config) -> Feed``.
LIVE_MODULE, LIVE_FACTORY = "tapescope.feeds.venues.live", "make_live_feed"


def _section(config: Config, name: str, default: object) -> object:
    try:
        return config.section(name)
    except KeyError:
        return default


def flow_params(config: Config) -> FlowParams:
    """The ``[flow]`` section, or the engine defaults when this build does not register it."""
    return _section(config, "flow", FlowParams())  # type: ignore[return-value]


def analysis_params(config: Config) -> AnalysisParams:
    """Detector, signal, volatility and level parameters from their config sections."""
    base = AnalysisParams()
    vol = dict(_section(config, "volatility", {}))  # type: ignore[call-overload]
    # [volatility.market_regime] is the monitor's ``market`` argument.
    if "market_regime" in vol:
        vol["market"] = vol.pop("market_regime")
    return AnalysisParams(
        detectors=_section(config, "detectors", base.detectors),  # type: ignore[arg-type]
        signals=_section(config, "signals", base.signals),  # type: ignore[arg-type]
        volatility=vol,
        levels=dict(_section(config, "levels", {})),  # type: ignore[call-overload]
        markers=_section(config, "markers", base.markers),  # type: ignore[arg-type]
    )


def make_hub(config: Config, instruments: Iterable[Instrument],
             on_invalid: Callable[[str, str], None] | None = None) -> Hub:
    """The engine for ``instruments``: flow metrics plus detectors and signals on every market."""
    hub = Hub(instruments, flow_params(config), on_invalid=on_invalid)
    params = analysis_params(config)
    for market in hub.markets.values():
        MarketAnalysis.attach(market, params)
    return hub


def build_demo(config: Config, seed: int | None = None, realtime: bool = True) -> tuple[Feed, Hub]:
    """The built-in simulated market (no network) and a hub wired to it.

    Args:
        config: Effective configuration (``[sim]`` and ``[flow]`` sections).
        seed: Overrides ``[sim] seed`` when given.
        realtime: Pace the simulation against the wall clock (the dashboard);
            ``False`` for compressed generation (tests, benchmarks).

    Returns:
        ``(feed, hub)``; the hub's crossed-book callback asks the feed to resync.
    """
    from tapescope.feeds.sim import SimFeed, SimParams

    params = _section(config, "sim", SimParams())
    if seed is not None:
        params = replace(params, seed=seed)
    feed = SimFeed(params, realtime=realtime)
    return feed, make_hub(config, feed.instruments, feed.request_resync)


def live_available() -> bool:
    """Whether this build has the live venue layer with its feed factory."""
    if importlib.util.find_spec(LIVE_MODULE) is None:
        return False
    return hasattr(importlib.import_module(LIVE_MODULE), LIVE_FACTORY)


def build_live(config: Config) -> tuple[Feed, Hub]:
    """Live venues from the ``[venues]`` section and a hub wired to them.

    Raises:
        RuntimeError: the live layer is not in this build (check :func:`live_available`).
    """
    if not live_available():
        raise RuntimeError("live venues are not available in this build")
    feed = getattr(importlib.import_module(LIVE_MODULE), LIVE_FACTORY)(config)
    return feed, make_hub(config, feed.instruments, feed.request_resync)
