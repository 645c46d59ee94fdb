"""Builds the feed and engine hub a command runs on: the simulated demo market, or live venues.

Kept apart from :mod:`tapescope.tui.cli` so the CLI stays thin and tests and
the benchmark can build the same objects.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import replace

from tapescope.engine.flow import FlowParams
from tapescope.engine.hub import Hub
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
    hub = Hub(feed.instruments, flow_params(config), on_invalid=feed.request_resync)
    return feed, hub


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
    hub = Hub(feed.instruments, flow_params(config), on_invalid=feed.request_resync)
    return feed, hub
