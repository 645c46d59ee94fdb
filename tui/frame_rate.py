"""Adaptive frame rate of the dashboard: a lower rate over SSH, and a much lower one when idle.

Terminal bytes are a budget when the user watches over SSH (architecture.md
rule 4), and a dashboard that redraws ten times a second while nothing moves
spends CPU and bandwidth for nothing. :class:`FrameRateGovernor` decides the
rate of the App's frame timer:

- **active**: ``[app] fps`` on a local terminal, ``[app] remote_fps`` on a
  remote one (:func:`is_remote_terminal`: ``SSH_CONNECTION``/``SSH_TTY``/
  ``SSH_CLIENT`` set, or ``[app] remote = "on"``);
- **idle**: ``[app] idle_fps`` once neither a key press (or mouse click) nor a
  change of the focused market's snapshot has been seen for ``[app]
  idle_after_s`` seconds.

Any activity brings the active rate back at once. The governor is pure logic
on an injected clock (int ns): the App passes its wall clock, tests pass a
clock they move by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Environment variables an SSH server sets in the session of a remote login.
SSH_VARIABLES = ("SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT")


def is_remote_terminal(mode: str, environ: Mapping[str, str]) -> bool:
    """Whether the terminal is remote, for ``[app] remote`` = ``auto``, ``on`` or ``off``.

    ``auto`` trusts the variables sshd sets (:data:`SSH_VARIABLES`); a remote
    terminal reached another way (mosh, a web terminal) needs ``on``.

    Args:
        mode: ``"auto"``, ``"on"`` or ``"off"``.
        environ: The process environment (``os.environ``).

    Returns:
        True for a remote terminal.

    >>> is_remote_terminal("auto", {"SSH_CONNECTION": "10.0.0.2 51000 10.0.0.1 22"})
    True
    >>> is_remote_terminal("auto", {}), is_remote_terminal("on", {}), is_remote_terminal("off", {"SSH_TTY": "/dev/pts/1"})
    (False, True, False)
    """
    if mode == "on":
        return True
    if mode == "off":
        return False
    if mode != "auto":
        raise ValueError(f"remote mode must be auto, on or off, got {mode!r}")
    return any(environ.get(name) for name in SSH_VARIABLES)


@dataclass(frozen=True, slots=True)
class FramePolicy:
    """The rates the governor chooses between."""

    active_fps: float
    """Rate while the user or the market is active (local or remote rate)."""
    idle_fps: float
    """Rate once idle; at or above ``active_fps`` the governor never idles."""
    idle_after_ns: int
    """Quiet time before idling, ns; 0 never idles."""
    remote: bool = False
    """The terminal is remote (``active_fps`` is the remote rate)."""

    @property
    def can_idle(self) -> bool:
        """Idling would lower the rate."""
        return self.idle_after_ns > 0 and self.idle_fps < self.active_fps


class FrameRateGovernor:
    """Chooses the frame rate from user and market activity.

    >>> g = FrameRateGovernor(FramePolicy(10, 1, 5_000_000_000), now_ns=0)
    >>> g.fps, g.frame(4_000_000_000, changed=False), g.fps
    (10, False, 10)
    >>> g.frame(5_000_000_000, changed=False), g.fps, g.mode
    (True, 1, 'idle')
    >>> g.activity(5_100_000_000), g.fps, g.mode
    (True, 10, '')
    """

    __slots__ = ("policy", "idle", "_last_activity")

    def __init__(self, policy: FramePolicy, now_ns: int) -> None:
        """Start active at ``now_ns``.

        Args:
            policy: The rates.
            now_ns: Current time of the clock the caller will keep passing, ns.
        """
        self.policy = policy
        """The rates."""
        self.idle = False
        """Whether the idle rate is in force."""
        self._last_activity = now_ns

    @property
    def fps(self) -> float:
        """The frame rate in force."""
        return self.policy.idle_fps if self.idle else self.policy.active_fps

    @property
    def mode(self) -> str:
        """``"idle"``, ``"ssh"`` (active on a remote terminal) or ``""`` (active, local)."""
        if self.idle:
            return "idle"
        return "ssh" if self.policy.remote else ""

    def activity(self, now_ns: int) -> bool:
        """Record a key press, a click or a market change at ``now_ns``. O(1).

        Returns:
            True when this ends an idle period (the caller restarts its timer at :attr:`fps`).
        """
        self._last_activity = now_ns
        if self.idle:
            self.idle = False
            return True
        return False

    def frame(self, now_ns: int, changed: bool) -> bool:
        """Account for one frame: did the focused snapshot change since the last one? O(1).

        Returns:
            True when the rate changes (to idle, or back to active on a change).
        """
        if changed:
            return self.activity(now_ns)
        if now_ns < self._last_activity:
            # The wall clock stepped back (NTP): restart the quiet period rather than wait.
            self._last_activity = now_ns
        if self.idle or not self.policy.can_idle:
            return False
        if now_ns - self._last_activity >= self.policy.idle_after_ns:
            self.idle = True
            return True
        return False
