"""Start-up helper: keep Python's cyclic garbage collector paused until the first frame.

Starting the dashboard allocates ~100k long-lived objects (modules, classes,
the configuration, seeded books) and almost no garbage. The collector does
not know that: its generational thresholds make it run about 130 young and
a dozen older collections, plus a full one, before the first frame, each
scanning objects that will live for the whole session (measured: ~0.06 s
of CPU during the imports alone; see ``python -m tapescope.tui.coldstart``).

:func:`pause_gc` turns automatic collection off; :func:`resume_gc` turns it
back on, only if :func:`pause_gc` was the one that turned it off. The CLI
pauses it for the commands that open the dashboard, and the App resumes it
right after its first frame with a live market is on screen (or at the
latest when it gives up waiting for one). Nothing is collected any later
than it would be otherwise: the next automatic collection simply comes
after the first frame instead of during the start.

>>> import gc
>>> was = gc.isenabled()
>>> pause_gc(); gc.isenabled()
False
>>> resume_gc(); gc.isenabled() == was
True
"""

from __future__ import annotations

import gc

__all__ = ["gc_paused", "pause_gc", "resume_gc"]

_paused = False


def pause_gc() -> None:
    """Turn automatic garbage collection off until :func:`resume_gc` (no-op if it is off). O(1)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_gc() -> None:
    """Turn automatic garbage collection back on if :func:`pause_gc` turned it off. O(1)."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def gc_paused() -> bool:
    """Whether :func:`pause_gc` has paused the collector and it is not resumed yet."""
    return _paused
