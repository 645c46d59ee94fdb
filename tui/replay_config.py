"""Replay settings: the ``[replay]`` section (speed, seek steps, silences, headless progress)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """``[replay]``: how ``tapescope replay`` plays a recording."""

    speed: float = field(default=1.0, metadata={"min": 0.0, "max": 100.0})
    """Initial playback speed (1 = as recorded, 0 = as fast as possible)."""
    seek_short_s: float = field(default=10.0, metadata={"min": 0.1, "max": 86_400.0})
    """Seconds of receive time the left/right keys jump."""
    seek_long_s: float = field(default=60.0, metadata={"min": 1.0, "max": 86_400.0})
    """Seconds of receive time shift+left/right jump."""
    max_wait_s: float = field(default=5.0, metadata={"min": 0.0, "max": 3600.0})
    """Longest wait between two messages in paced playback (wall seconds); longer silences are skipped (0 = as recorded)."""
    warmup_s: float = field(default=300.0, metadata={"min": 0.0, "max": 86_400.0})
    """Seconds of history a seek replays before its target (silently, then shown), so the chart,
    flow windows, volatility and detectors hold the minutes before it: at least the chart
    (two seconds per column: 300 s fills 150 columns) and the 5-minute flow windows. Each second
    costs the detectors' per-second work (about 0.5 ms per market), so this bounds a seek in a
    quiet recording as warmup_max_messages does in a busy one. 0 = from the nearest checkpoint only."""
    warmup_max_messages: int = field(default=30_000, metadata={"min": 0, "max": 100_000_000})
    """Most messages a seek's warm-up replays (0 = no bound): keeps a seek in a busy recording
    under one second (the engine with every detector runs about 45k-60k messages per CPU second
    here); a busy stretch then gets a shorter history."""
    progress_every: int = field(default=20_000, metadata={"min": 100, "max": 10_000_000})
    """Messages between progress updates of ``tapescope replay --headless``."""
