"""Parameters of the flow metrics and per-market history: the ``[flow]`` section of config.toml.

Defaults are detectors.md's (section Flow); every field is documented on the
line below it, with range constraints in ``metadata`` where they matter.
Cross-field rules are checked in ``__post_init__``, which raises
``ValueError`` naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _windows_ok(ws: tuple[int, ...]) -> bool:
    return bool(ws) and all(isinstance(w, int) and 1 <= w <= 86_400 for w in ws)


@dataclass(frozen=True, slots=True)
class FlowParams:
    """Tunable parameters of the flow metrics (config section ``[flow]``)."""

    session_reset: str = "00:00"
    """UTC time of day ``"HH:MM"`` at which CVD and the session open reset."""
    delta_windows: tuple[int, ...] = (10, 60, 300)
    """Rolling delta windows, seconds (each 1..86400)."""
    delta_flip_window: int = field(default=30, metadata={"min": 1, "max": 86_400})
    """Window of the rolling delta whose sign flips are detected, seconds."""
    delta_flip_k: float = field(default=1.5, metadata={"min": 0.0, "max": 100.0})
    """A flip needs ``|delta| > k * sigma`` of the delta's recent per-second history."""
    delta_flip_history: int = field(default=300, metadata={"min": 2, "max": 86_400})
    """Per-second delta samples kept for the flip's sigma."""
    delta_flip_min_history: int = field(default=30, metadata={"min": 2, "max": 86_400})
    """Samples needed before a flip can fire."""
    tbsr_window: int = field(default=60, metadata={"min": 1, "max": 86_400})
    """Taker buy/sell ratio window, seconds."""
    volume_bar_s: int = field(default=60, metadata={"min": 1, "max": 86_400})
    """Volume bar length, seconds of event time (bars start at multiples of it)."""
    volume_bars: int = field(default=20, metadata={"min": 1, "max": 10_000})
    """Closed bars averaged for the volume ratio."""
    volume_spike: float = field(default=2.5, metadata={"min": 1.0, "max": 1000.0})
    """Volume ratio at or above which the bar is a spike."""
    ofi_windows: tuple[int, ...] = (10, 60)
    """OFI summing windows, seconds (each 1..86400)."""
    ofi_levels: int = field(default=5, metadata={"min": 1, "max": 50})
    """Levels L of the multi-level OFI."""
    imbalance_levels: int = field(default=10, metadata={"min": 1, "max": 1000})
    """Levels N per side for the level imbalance."""
    imbalance_bps: float = field(default=10.0, metadata={"min": 0.0, "max": 10_000.0})
    """Band X around mid, basis points, for the bps imbalance."""
    spread_window: int = field(default=300, metadata={"min": 2, "max": 86_400})
    """Per-second spread samples kept for the mean, sigma and z-score."""
    spread_min_samples: int = field(default=10, metadata={"min": 2, "max": 86_400})
    """Samples needed before the spread z-score is defined."""
    spread_min_std_ticks: float = field(default=0.5, metadata={"min": 0.0, "max": 1000.0})
    """Floor on the spread sigma, ticks (keeps z finite when the spread never moved)."""
    spread_z: float = field(default=3.0, metadata={"min": 0.0, "max": 100.0})
    """Z-score above which the spread is widening."""
    trades_window: int = field(default=10, metadata={"min": 1, "max": 86_400})
    """Window for trades per second, seconds."""
    tape_trades: int = field(default=200, metadata={"min": 1, "max": 100_000})
    """Recent trades kept per market for the tape."""
    series_seconds: int = field(default=3600, metadata={"min": 1, "max": 604_800})
    """Seconds of per-second history (mid, CVD, delta) kept per market for charts."""
    cvd_slope_window: int = field(default=60, metadata={"min": 2, "max": 86_400})
    """Window of the CVD slope (watchlist), seconds: least-squares slope of the CVD over the last W closed seconds, per minute (at most ``series_seconds`` are held)."""

    def __post_init__(self) -> None:
        """Refuse inconsistent values (the config loader reports them with the key)."""
        # Accept lists from TOML while keeping the dataclass hashable.
        for name in ("delta_windows", "ofi_windows"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
            if not _windows_ok(getattr(self, name)):
                raise ValueError(f"{name}: expected a non-empty list of seconds in 1..86400, got {value!r}")
        self.session_offset_s()
        if self.delta_flip_min_history > self.delta_flip_history:
            raise ValueError("delta_flip_min_history must not exceed delta_flip_history")
        if self.spread_min_samples > self.spread_window:
            raise ValueError("spread_min_samples must not exceed spread_window")

    def session_offset_s(self) -> int:
        """Seconds after UTC midnight of the session boundary.

        >>> FlowParams(session_reset="08:30").session_offset_s()
        30600

        Raises:
            ValueError: if ``session_reset`` is not a valid ``"HH:MM"``.
        """
        text = self.session_reset
        hh, sep, mm = text.partition(":")
        if not (sep and len(hh) == 2 and len(mm) == 2 and hh.isdigit() and mm.isdigit()):
            raise ValueError(f"session_reset: expected 'HH:MM', got {text!r}")
        h, m = int(hh), int(mm)
        if h > 23 or m > 59:
            raise ValueError(f"session_reset: expected a UTC time 00:00..23:59, got {text!r}")
        return h * 3600 + m * 60
