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
    progress_every: int = field(default=20_000, metadata={"min": 100, "max": 10_000_000})
    """Messages between progress updates of ``tapescope replay --headless``."""
