"""Record types a recording yields: messages, REST snapshots, gap markers, and the seek point.

Returned by :class:`tapescope.engine.recorder.reader.Recording` (which
re-exports them) and consumed by the decoder, the exporter and replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from tapescope.engine.recorder.checkpoint import Checkpoint


class Message(NamedTuple):
    """One recorded raw message."""

    id: int
    """Session-wide message number (1-based, increasing)."""
    conn_id: str
    """Connection it arrived on."""
    recv_ns: int
    """Local receive time, ns."""
    payload: bytes | str
    """The frame exactly as received."""


class RestSnapshot(NamedTuple):
    """A REST snapshot body, received after message ``after_msg_id``."""

    symbol: str
    """Market key."""
    recv_ns: int
    """Local receive time, ns."""
    after_msg_id: int
    """Id of the last message received before it."""
    payload: bytes | str
    """The body exactly as received."""


class GapMarker(NamedTuple):
    """Messages the recorder dropped (queue full) after message ``after_msg_id``."""

    from_ns: int
    """Receive time of the first dropped message."""
    to_ns: int
    """Receive time of the last dropped message."""
    dropped: int
    """How many were dropped."""
    after_msg_id: int
    """Id of the last message written before the gap."""


#: What :meth:`Recording.iter_records` yields.
Record = Message | RestSnapshot | GapMarker


@dataclass(frozen=True, slots=True)
class SeekPoint:
    """Where to resume a replay to reach time ``t_ns``."""

    t_ns: int
    """The requested receive time."""
    checkpoints: dict[str, Checkpoint]
    """Per market, the latest checkpoint at or before ``t_ns`` (markets without one are absent)."""
    resume_id: int
    """Replay messages with ``id >= resume_id``; a market's own messages apply only after its checkpoint's ``msg_id``."""
    target_id: int
    """First message id with ``recv_ns >= t_ns`` (one past the last when ``t_ns`` is beyond the end)."""
