"""Simulator settings (``[sim]`` in config.toml) and the simulated universe.

:class:`SimParams` is the ``[sim]`` section; its nested dataclasses are the
sub-tables ``[sim.bursts]``, ``[sim.regimes]`` and ``[sim.episodes]``.
:data:`UNIVERSE` is the per-symbol spec table (price level, tick, lot, size
and activity); ``SimParams.symbols`` / ``symbol_count`` pick from it.

>>> [s.symbol for s in SimParams(symbol_count=3).universe()]
['BTC-SIM', 'ETH-SIM', 'SOL-SIM']
>>> SimParams(symbols=("DOGE-SIM",)).universe()[0].tick
1e-05
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

#: Seconds in a year of 24/7 trading, for annualising volatility.
SECONDS_PER_YEAR = 365 * 86400


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One simulated market."""

    symbol: str
    """Venue symbol; the market key is ``"sim:" + symbol``."""
    price: float
    """Initial price."""
    tick: float
    """Tick size."""
    lot: float
    """Lot size (sizes are whole multiples of it)."""
    level_size: float
    """Typical resting size of a level near the touch, base units."""
    activity: float
    """Message-rate multiplier applied to ``SimParams.messages_per_s``."""


#: The simulated universe, most active first. ``SimParams.symbol_count`` takes a prefix.
UNIVERSE: tuple[SymbolSpec, ...] = (
    SymbolSpec("BTC-SIM", 60000.0, 0.1, 0.001, 0.4, 1.6),
    SymbolSpec("ETH-SIM", 3000.0, 0.01, 0.001, 6.0, 1.3),
    SymbolSpec("SOL-SIM", 150.0, 0.001, 0.01, 80.0, 1.0),
    SymbolSpec("DOGE-SIM", 0.12, 0.00001, 1.0, 40000.0, 0.8),
    SymbolSpec("XRP-SIM", 2.2, 0.0001, 0.1, 2500.0, 0.8),
    SymbolSpec("BNB-SIM", 580.0, 0.01, 0.001, 9.0, 0.6),
    SymbolSpec("ADA-SIM", 0.9, 0.00005, 1.0, 6000.0, 0.5),
    SymbolSpec("AVAX-SIM", 35.0, 0.001, 0.01, 150.0, 0.5),
    SymbolSpec("LINK-SIM", 15.0, 0.001, 0.01, 300.0, 0.4),
    SymbolSpec("LTC-SIM", 80.0, 0.005, 0.001, 60.0, 0.3),
)


@dataclass(frozen=True, slots=True)
class BurstParams:
    """Activity bursts: spells during which message and trade rates jump (``[sim.bursts]``)."""

    rate_per_min: float = field(default=1.5, metadata={"min": 0.0, "max": 60.0})
    """Mean bursts per minute per symbol (Poisson); 0 disables bursts."""
    mean_duration_s: float = field(default=3.0, metadata={"min": 0.1, "max": 120.0})
    """Mean burst length, seconds (exponential)."""
    multiplier: float = field(default=4.0, metadata={"min": 1.0, "max": 50.0})
    """Message-rate multiplier during a burst."""
    market_boost: float = field(default=2.0, metadata={"min": 1.0, "max": 5.0})
    """Multiplier on the market-order share of messages during a burst."""


@dataclass(frozen=True, slots=True)
class RegimeParams:
    """Volatility and drift regimes of the latent price, Markov chains (``[sim.regimes]``)."""

    low_vol: float = field(default=0.20, metadata={"min": 0.01, "max": 5.0})
    """Annualised volatility in the LOW regime."""
    medium_vol: float = field(default=0.38, metadata={"min": 0.01, "max": 5.0})
    """Annualised volatility in the MEDIUM regime."""
    high_vol: float = field(default=0.70, metadata={"min": 0.01, "max": 5.0})
    """Annualised volatility in the HIGH regime."""
    low_mean_s: float = field(default=900.0, metadata={"min": 1.0})
    """Mean time spent in LOW before switching, seconds."""
    medium_mean_s: float = field(default=900.0, metadata={"min": 1.0})
    """Mean time spent in MEDIUM, seconds."""
    high_mean_s: float = field(default=400.0, metadata={"min": 1.0})
    """Mean time spent in HIGH, seconds."""
    trend_mean_s: float = field(default=600.0, metadata={"min": 1.0})
    """Mean time spent in TREND_UP or TREND_DOWN, seconds."""
    range_mean_s: float = field(default=900.0, metadata={"min": 1.0})
    """Mean time spent in RANGE, seconds."""
    volatile_mean_s: float = field(default=240.0, metadata={"min": 1.0})
    """Mean time spent in VOLATILE, seconds."""
    trend_strength: float = field(default=0.25, metadata={"min": 0.0, "max": 2.0})
    """Trend drift per second, in units of the per-second volatility. The drift's t-stat
    over T seconds is ``trend_strength * sqrt(T)``: at 0.25 it reaches 3 (the regime
    classifier's entry) after 144 s, within a trend's minimum hold (a quarter of
    ``trend_mean_s``); at the former 0.1 it needed 900 s, longer than the mean trend,
    so a labelled trend was statistically a random walk."""
    range_half_life_s: float = field(default=120.0, metadata={"min": 1.0})
    """Half-life of mean reversion to the range anchor in RANGE, seconds."""
    initial_vol: str = field(default="MEDIUM", metadata={"choices": ["LOW", "MEDIUM", "HIGH"]})
    """Volatility regime every symbol starts in."""
    initial_market: str = field(
        default="RANGE", metadata={"choices": ["TREND_UP", "TREND_DOWN", "RANGE", "VOLATILE"]}
    )
    """Market regime every symbol starts in."""


@dataclass(frozen=True, slots=True)
class EpisodeParams:
    """Labelled microstructure episodes: random intensities and shapes (``[sim.episodes]``)."""

    wall_per_hour: float = field(default=6.0, metadata={"min": 0.0, "max": 3600.0})
    """Random walls per hour per symbol (0 = only when injected)."""
    spoof_per_hour: float = field(default=4.0, metadata={"min": 0.0, "max": 3600.0})
    """Random spoof sequences per hour per symbol."""
    iceberg_per_hour: float = field(default=4.0, metadata={"min": 0.0, "max": 3600.0})
    """Random icebergs per hour per symbol."""
    absorption_per_hour: float = field(default=3.0, metadata={"min": 0.0, "max": 3600.0})
    """Random absorption episodes per hour per symbol."""
    vacuum_per_hour: float = field(default=2.0, metadata={"min": 0.0, "max": 3600.0})
    """Random liquidity vacuums per hour per symbol."""
    wall_multiple: float = field(default=10.0, metadata={"min": 5.0, "max": 100.0})
    """Wall and spoof size over the median level size within 1 % of mid on that side."""
    wall_min_s: float = field(default=6.0, metadata={"min": 5.0, "max": 600.0})
    """Shortest wall life, seconds (detectors require >= 5 s)."""
    wall_max_s: float = field(default=30.0, metadata={"min": 5.0, "max": 3600.0})
    """Longest wall life, seconds."""
    spoof_max_s: float = field(default=8.0, metadata={"min": 1.0, "max": 9.5})
    """Longest spoof life, seconds (detectors require a cancel within 10 s)."""
    spoof_repeats: int = field(default=2, metadata={"min": 0, "max": 10})
    """Extra placements after the first one in a spoof sequence."""
    iceberg_min_refills: int = field(default=4, metadata={"min": 3, "max": 50})
    """Fewest refills an iceberg's hidden size allows."""
    iceberg_max_refills: int = field(default=8, metadata={"min": 3, "max": 100})
    """Most refills an iceberg's hidden size allows."""
    absorption_multiple: float = field(default=5.0, metadata={"min": 3.0, "max": 50.0})
    """Aggressive volume into the absorbing side over the window, in typical windows."""
    absorption_window_s: float = field(default=10.0, metadata={"min": 2.0, "max": 120.0})
    """Length of an absorption episode, seconds."""
    vacuum_factor: float = field(default=0.04, metadata={"min": 0.0, "max": 0.25})
    """Fraction of resting size kept (and of new size allowed) near mid during a vacuum."""
    vacuum_band_bps: float = field(default=20.0, metadata={"min": 1.0, "max": 200.0})
    """Half-width of the band around mid that a vacuum empties, bps."""
    vacuum_min_s: float = field(default=4.0, metadata={"min": 1.0, "max": 600.0})
    """Shortest vacuum, seconds."""
    vacuum_max_s: float = field(default=12.0, metadata={"min": 1.0, "max": 600.0})
    """Longest vacuum, seconds."""

    def __post_init__(self) -> None:
        for lo, hi in (
            ("wall_min_s", "wall_max_s"),
            ("iceberg_min_refills", "iceberg_max_refills"),
            ("vacuum_min_s", "vacuum_max_s"),
        ):
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(
                    f"sim.episodes.{lo} = {getattr(self, lo)} must not exceed {hi} = {getattr(self, hi)}"
                )


@dataclass(frozen=True, slots=True)
class SimParams:
    """The market simulator (``[sim]``): universe, order flow, pacing, determinism."""

    seed: int = 7
    """Random seed; same seed + params + start time give the identical event stream."""
    symbol_count: int = field(default=8, metadata={"min": 1, "max": len(UNIVERSE)})
    """How many symbols of the built-in universe to simulate (when ``symbols`` is empty)."""
    symbols: tuple[str, ...] = ()
    """Explicit symbols from the universe (e.g. ``["BTC-SIM"]``); empty = first ``symbol_count``."""
    depth: int = field(default=400, metadata={"min": 20, "max": 5000})
    """Book levels kept per side (farther levels are trimmed)."""
    messages_per_s: float = field(default=50.0, metadata={"min": 0.1, "max": 100000.0})
    """Book messages per second per symbol at activity 1.0, outside bursts."""
    market_fraction: float = field(default=0.12, metadata={"min": 0.0, "max": 0.5})
    """Share of messages that are market orders (each also prints trades)."""
    cancel_fraction: float = field(default=0.40, metadata={"min": 0.0, "max": 0.9})
    """Share of messages that are cancels; the rest are limit orders."""
    near_fraction: float = field(default=0.6, metadata={"min": 0.0, "max": 1.0})
    """Share of limit orders and cancels near the touch (the rest spread over the book)."""
    near_mean_ticks: float = field(default=1.0, metadata={"min": 0.1, "max": 1000.0})
    """Mean distance behind the fair quote of a near limit order, ticks (geometric)."""
    span_bps: float = field(default=150.0, metadata={"min": 1.0, "max": 5000.0})
    """How far from mid far limit orders reach, bps (log-uniform distance)."""
    size_sigma: float = field(default=0.4, metadata={"min": 0.0, "max": 3.0})
    """Lognormal sigma of limit order sizes."""
    size_scale_bps: float = field(default=25.0, metadata={"min": 0.1, "max": 1000.0})
    """Distance at which level sizes grow by ``2**size_exponent``, bps."""
    size_exponent: float = field(default=0.35, metadata={"min": 0.0, "max": 3.0})
    """Exponent of level-size growth with distance from mid."""
    market_size: float = field(default=0.3, metadata={"min": 0.01, "max": 100.0})
    """Mean market order size in near-touch level sizes."""
    market_size_sigma: float = field(default=1.0, metadata={"min": 0.0, "max": 3.0})
    """Lognormal sigma of market order sizes."""
    bias_ticks: float = field(default=2.0, metadata={"min": 0.1, "max": 1000.0})
    """Scale of the buy/sell bias toward the latent price: P(buy) = logistic(gap / (bias_ticks + half spread))."""
    latency_us: int = field(default=2000, metadata={"min": 0, "max": 10_000_000})
    """Simulated receive latency added to venue time, microseconds."""
    latency_jitter_us: int = field(default=400, metadata={"min": 0, "max": 10_000_000})
    """Mean extra latency (exponential), microseconds."""
    start_time: str = "2026-01-01T00:00:00Z"
    """Virtual start time (ISO 8601, UTC) when not paced against the wall clock."""
    speed: float = field(default=1.0, metadata={"min": 0.01, "max": 10000.0})
    """Paced mode: virtual seconds per wall second."""
    wake_ms: float = field(default=25.0, metadata={"min": 1.0, "max": 1000.0})
    """Paced mode: how often the feed wakes to emit what is due, milliseconds."""
    duration_s: float = field(default=0.0, metadata={"min": 0.0})
    """``run()`` stops after this much virtual time, seconds; 0 runs until cancelled."""
    bursts: BurstParams = field(default_factory=BurstParams)
    """Activity bursts."""
    regimes: RegimeParams = field(default_factory=RegimeParams)
    """Volatility and drift regimes."""
    episodes: EpisodeParams = field(default_factory=EpisodeParams)
    """Labelled episodes."""

    def __post_init__(self) -> None:
        if self.market_fraction + self.cancel_fraction >= 1.0:
            raise ValueError(
                f"sim.market_fraction + sim.cancel_fraction = "
                f"{self.market_fraction + self.cancel_fraction}: must be below 1 (the rest are limit orders)"
            )
        self.universe()  # refuses unknown symbols now rather than at first use

    def universe(self) -> list[SymbolSpec]:
        """The symbol specs this run simulates, in watchlist order.

        Raises:
            ValueError: when ``symbols`` names a symbol outside :data:`UNIVERSE`.
        """
        if not self.symbols:
            return list(UNIVERSE[: self.symbol_count])
        by_name = {s.symbol: s for s in UNIVERSE}
        missing = [s for s in self.symbols if s not in by_name]
        if missing:
            raise ValueError(f"unknown sim symbols {missing}; choose from {sorted(by_name)}")
        return [by_name[s] for s in self.symbols]

    def start_ns(self) -> int:
        """``start_time`` as Unix nanoseconds.

        >>> SimParams().start_ns()
        1767225600000000000
        """
        dt = datetime.fromisoformat(self.start_time.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000
