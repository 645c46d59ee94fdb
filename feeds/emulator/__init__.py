"""The loopback exchange emulator: real sockets on 127.0.0.1 speaking each venue's protocol.

Import :class:`~tapescope.feeds.emulator.server.Emulator` and the fault types
from here; per-venue scripts live in :mod:`tapescope.feeds.emulator.scripts`.
"""

from tapescope.feeds.emulator.faults import Fault, FaultKind
from tapescope.feeds.emulator.server import Emulator

__all__ = ["Emulator", "Fault", "FaultKind"]
