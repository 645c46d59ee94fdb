"""Replay feed: re-emits a recording as if it were live, with pause, speed and seek.

:class:`ReplayFeed` reads a recording (one file or a rotated set) and, in
receive order, hands every raw message to ``sink.on_raw`` (REST snapshots as
``"rest:<market key>"``, exactly as the recorder tap received them) and
every event the pluggable decoders produce to ``sink.on_event``.

Pacing follows the recorded receive times scaled by :attr:`ReplayFeed.speed`
(``0`` = as fast as possible). :meth:`ReplayFeed.seek` jumps to a receive
time using the recording's book checkpoints: it emits each market's
checkpoint as a :class:`BookSnapshot`, then fast-forwards through the
messages between the checkpoint and the target, so the engine's books equal
what they were live at that moment.

Seek warm-up: with :attr:`ReplayFeed.warmup_ns` set, a seek restores from
the checkpoints at or before ``target - warmup_ns`` (or, past
:attr:`ReplayFeed.warmup_max_messages` messages before the target, the first
checkpoint after that bound) and
replays from there, so every per-second history (chart series, flow
windows, volatility, detectors' rolling statistics) holds the minutes before
the target, as if the replay had played from the start. With a
:class:`SeekStage` attached, that replay goes into a private engine the
stage provides (no screen, no alerts) and the stage swaps it in when the
target is reached: the user sees the old position, then the new one.

Decoders are chosen by connection-id prefix
(:class:`~tapescope.engine.recorder.decode.DecoderRegistry`); a decoder with
an ``on_checkpoint(checkpoint)`` method is told about each checkpoint loaded
by a seek so a stateful book-sync can continue from it.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from tapescope.engine.events import BookSnapshot, FeedState
from tapescope.engine.health import ConnectionHealth
from tapescope.engine.instrument import ContractKind, Instrument
from tapescope.engine.recorder.checkpoint import Checkpoint
from tapescope.engine.recorder.decode import (
    DecoderFactory,
    DecoderRegistry,
    FunctionDecoder,
    RecordDecoder,
)
from tapescope.engine.recorder.reader import (
    GapMarker,
    Message,
    Record,
    Recording,
    RestSnapshot,
    SeekPoint,
)
from tapescope.engine.recorder.writer import REST_CONN_PREFIX
from tapescope.feeds.base import EventSink, Feed
from tapescope.feeds.sim import codec as sim_codec

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Records read from disk per chunk (read in a worker thread).
CHUNK = 5000
#: Unpaced playback yields to the event loop once per this many messages.
UNPACED_YIELD_EVERY = 500
#: Longest single sleep while pacing, so pause/seek/speed changes act promptly (s).
MAX_SLEEP_S = 0.1


class SeekStage(Protocol):
    """Where a seek's warm-up is played: a private engine swapped in once the target is reached."""

    def begin(self, checkpoints: Mapping[str, Checkpoint]) -> EventSink:
        """A fresh sink (engine) for the seek about to be applied; replaces any earlier one.

        Args:
            checkpoints: per market, the checkpoint its book is restored from
                (markets absent replay from the session start).
        """

    def commit(self) -> None:
        """The seek reached its target: make the engine :meth:`begin` returned the live one."""

    def abort(self) -> None:
        """The seek ended without reaching its target (superseded, cancelled, failed): drop the engine."""

    def checkpoint_passed(self, key: str, msg_id: int) -> None:
        """Market ``key`` has just applied every message up to checkpoint ``msg_id`` (live or staged engine)."""


@dataclass(frozen=True, slots=True)
class SeekReport:
    """What the last seek replayed."""

    target_ns: int
    """Receive time sought."""
    from_ns: int
    """Receive time whose checkpoints were restored (at or before it; ``target_ns`` without warm-up)."""
    resume_id: int
    """First message id replayed (the earliest market's checkpoint, or the session start)."""
    target_id: int
    """First message id not replayed (playback continues there)."""
    bounded: bool
    """True when :attr:`ReplayFeed.warmup_max_messages` shortened the warm-up."""

    @property
    def messages(self) -> int:
        """Message ids replayed to reach the target (records between them included)."""
        return max(self.target_id - self.resume_id, 0)


def sim_decoder(prefix: str) -> RecordDecoder:
    """Decoder for the simulator's frames (one encoded event per frame)."""
    decode = sim_codec.decode
    return FunctionDecoder(lambda conn_id, recv_ns, payload: [decode(payload)])


#: Decoders for recordings of the simulator (connection ``sim#0``).
SIM_DECODERS: dict[str, DecoderFactory] = {"sim#": sim_decoder}


def instruments_from_meta(rec: Recording) -> list[Instrument]:
    """Instruments stored in a recording's meta, or plain ones built from its market keys."""
    stored = rec.meta.get("instruments") or []
    out = []
    for d in stored:
        try:
            out.append(
                Instrument(
                    d["venue"], d["symbol"], float(d.get("tick_size", 0.01)), float(d.get("lot_size", 0.001)),
                    ContractKind(d.get("kind", "spot")), float(d.get("contract_size", 1.0)),
                )
            )
        except (KeyError, ValueError, TypeError):
            log.warning("recording has a malformed instrument entry %r; using defaults", d)
            out = []
            break
    if out:
        return out
    return [Instrument(*k.split(":", 1)) for k in rec.symbols if ":" in k]


class ReplayFeed(Feed):
    """A recording played back through the feed interface."""

    name = "replay"

    def __init__(
        self,
        path: Path | str,
        decoders: Mapping[str, DecoderFactory],
        *,
        speed: float = 1.0,
        start_ns: int | None = None,
        end_ns: int | None = None,
        instruments: Sequence[Instrument] | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_wait_s: float = 0.0,
    ) -> None:
        """Open the recording (read-only) and prepare playback.

        Args:
            path: recording file or rotated set.
            decoders: decoder factories by connection-id prefix.
            speed: playback speed (1 = real time, 10 = ten times faster, 0 = no pacing).
            start_ns: begin at this receive time (a seek before the first message).
            end_ns: stop after this receive time.
            instruments: override the instruments stored in the recording.
            clock: seconds clock used for pacing (tests inject one).
            max_wait_s: longest pause between two messages in playback (wall) seconds; a
                longer silence in the recording (a disconnect, a night) is skipped. 0 = no limit.

        Raises:
            RecordingError: the recording cannot be opened (specific subclass).
        """
        self.path = Path(path)
        self.recording = Recording.open(self.path)
        self._factories = dict(decoders)
        self.registry = DecoderRegistry(self._factories)
        """Current decoders (recreated by every seek)."""
        self.speed = max(float(speed), 0.0)
        """Playback speed; 0 plays as fast as possible."""
        self.end_ns = end_ns
        self.max_wait_s = max(float(max_wait_s), 0.0)
        """Longest wait between messages during playback (0 = as recorded)."""
        self._instruments = list(instruments) if instruments is not None else instruments_from_meta(self.recording)
        self._clock = clock
        self._running = asyncio.Event()
        self._running.set()
        self._seek_to: int | None = start_ns
        self._wake = asyncio.Event()
        self.position_ns = self.recording.first_recv_ns()
        """Receive time of the last record emitted."""
        self.emitted = 0
        """Raw records emitted (messages and REST snapshots)."""
        self.gaps_seen = 0
        """Recorder gap markers passed (messages lost while recording)."""
        self.finished = False
        """True once the recording (or ``end_ns``) was reached."""
        self._anchor: tuple[float, int] | None = None
        self.warmup_ns = 0
        """Receive-time history a seek replays before its target, ns (0: from the nearest checkpoint)."""
        self.warmup_max_messages = 0
        """Most messages a seek's warm-up replays (0 = no bound). The restore moves to the first
        checkpoint after the bound (a book is exact only from a checkpoint), so the history may
        be up to one checkpoint interval shorter; with no checkpoint between the bound and the
        target, the nearest one before the target is used and the bound may be exceeded."""
        self.stage: SeekStage | None = None
        """Private engine for seeks (``None``: a seek replays straight into the run's sink)."""
        self.last_seek: SeekReport | None = None
        """What the last applied seek replayed."""
        self._applying: int | None = None
        self._marks: dict[int, tuple[str, ...]] | None = None
        self._cp_index: tuple[dict[int, tuple[str, ...]], list[int]] | None = None
        # Held by every read in a worker thread and by close(): a cancelled run leaves
        # its read running, and closing SQLite under it crashes the process.
        self._io = threading.Lock()
        self._health: dict[str, ConnectionHealth] = {
            c: ConnectionHealth(c, url=f"replay://{self.path.name}", state=FeedState.LIVE)
            for c in self.recording.conn_ids()
        }

    @property
    def instruments(self) -> list[Instrument]:
        """The markets recorded."""
        return list(self._instruments)

    @property
    def paused(self) -> bool:
        """True while paused."""
        return not self._running.is_set()

    # -- controls ----------------------------------------------------------------

    def pause(self) -> None:
        """Stop emitting (the position is kept)."""
        self._running.clear()
        self._wake.set()

    def resume(self) -> None:
        """Continue from the current position."""
        self._anchor = None
        self._running.set()
        self._wake.set()

    @property
    def seek_pending(self) -> int | None:
        """Receive time of a seek asked for and not yet applied (or still warming up), else ``None``."""
        return self._seek_to if self._seek_to is not None else self._applying

    def toggle_pause(self) -> None:
        """Pause when playing, play when paused."""
        self.resume() if self.paused else self.pause()

    def set_speed(self, speed: float) -> None:
        """Change the playback speed (takes effect at once; 0 = unpaced)."""
        self.speed = max(float(speed), 0.0)
        self._anchor = None
        self._wake.set()

    def seek(self, t_ns: int) -> None:
        """Jump to receive time ``t_ns`` (works while paused; the books are rebuilt at once)."""
        self._seek_to = t_ns
        self._wake.set()

    def connection_health(self) -> list[ConnectionHealth]:
        """Per recorded connection: frames and bytes replayed so far; DISCONNECTED once finished."""
        state = FeedState.DISCONNECTED if self.finished else FeedState.LIVE
        out = []
        for h in self._health.values():
            h.state = state
            h.reason = "end of recording" if self.finished else ("paused" if self.paused else "")
            out.append(h.copy())
        return out

    def close(self) -> None:
        """Close the recording files (after any read still running in a worker thread)."""
        with self._io:
            self.recording.close()

    async def _in_thread(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in a worker thread, holding the read lock :meth:`close` waits for."""

        def locked() -> T:
            with self._io:
                return fn(*args)

        return await asyncio.to_thread(locked)

    # -- playback ----------------------------------------------------------------

    async def run(self, sink: EventSink) -> None:
        """Play the recording into ``sink`` until its end (or ``end_ns``), or until cancelled."""
        rec = self.recording
        next_id = rec.first_id
        if self.stage is not None and self._marks is None:
            # Where each market's checkpoints lie, so the stage can note the engine's
            # state there (CVD seeds for later seeks).
            self._marks = (await self._in_thread(self._checkpoint_index))[0]
        while True:
            if self._seek_to is not None:
                next_id = await self._apply_seek(sink)
            if self.end_ns is not None and self.position_ns > self.end_ns:
                break
            chunk = await self._in_thread(lambda a=next_id: list(rec.iter_records(a, a + CHUNK - 1)))
            if not chunk:
                break
            for record in chunk:
                if isinstance(record, Message):
                    if self.end_ns is not None and record.recv_ns > self.end_ns:
                        self.finished = True
                        return
                    if (self.speed <= 0.0 and self._seek_to is None and self._running.is_set()
                            and self.emitted % UNPACED_YIELD_EVERY):
                        # As fast as possible (headless replay): no coroutine per message;
                        # _pace still runs every UNPACED_YIELD_EVERY messages to yield.
                        self._anchor = None
                    elif not await self._pace(record.recv_ns):
                        break  # a seek arrived
                    self._emit(record, sink)
                    next_id = record.id + 1
                else:
                    if self._seek_to is not None:
                        break  # the seek is applied at the top of the loop
                    self._emit(record, sink)
        self.finished = True

    def _emit(self, record: Record, sink: EventSink, skip_until: Mapping[str, int] | None = None) -> None:
        if isinstance(record, Message):
            sink.on_raw(record.conn_id, record.recv_ns, record.payload)
            self.position_ns = record.recv_ns
            self.emitted += 1
            h = self._health.get(record.conn_id)
            if h is not None:
                h.messages += 1
                h.bytes += len(record.payload)
                h.last_recv_ns = record.recv_ns
        elif isinstance(record, RestSnapshot):
            sink.on_raw(REST_CONN_PREFIX + record.symbol, record.recv_ns, record.payload)
            self.emitted += 1
        elif isinstance(record, GapMarker):
            self.gaps_seen += 1
            log.warning("replay passes a recorder gap: %d messages were not recorded", record.dropped)
        msg_id = record.id if isinstance(record, Message) else record.after_msg_id
        for ev in self.registry.decode(record):
            if skip_until is not None and msg_id <= skip_until.get(ev[0], 0):
                continue  # already inside the market's checkpoint
            sink.on_event(ev)
        marks = self._marks
        if marks is not None and isinstance(record, Message):
            keys = marks.get(msg_id)
            if keys is not None:
                passed = self.stage.checkpoint_passed  # type: ignore[union-attr]
                for key in keys:
                    passed(key, msg_id)

    async def _pace(self, recv_ns: int) -> bool:
        """Wait until ``recv_ns`` is due (and while paused). False when a seek interrupts."""
        while True:
            if self._seek_to is not None:
                return False
            if not self._running.is_set():
                self._wake.clear()
                await self._wake.wait()
                continue
            if self.speed <= 0.0:
                self._anchor = None
                if self.emitted % UNPACED_YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # stay cooperative when unpaced
                return self._seek_to is None
            now = self._clock()
            if self._anchor is None:
                self._anchor = (now, recv_ns)
            wall0, recv0 = self._anchor
            delay = wall0 + (recv_ns - recv0) / 1e9 / self.speed - now
            if delay <= 0.0:
                return True
            if self.max_wait_s and delay > self.max_wait_s:
                # Skip the silence: pretend the message was due max_wait_s from now.
                self._anchor = (now + self.max_wait_s, recv_ns)
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(delay, MAX_SLEEP_S))
            except TimeoutError:
                pass

    async def _warm_up(self, first: int, last: int) -> None:
        """Decode records ``first..last`` without emitting anything (decoder state only)."""
        rec = self.recording
        decode = self.registry.decode
        while first <= last:
            end = min(first + CHUNK - 1, last)
            chunk = await self._in_thread(lambda a=first, b=end: list(rec.iter_records(a, b)))
            for record in chunk:
                decode(record)
            first = end + 1
            await asyncio.sleep(0)

    def warmup_start(self, t_ns: int) -> tuple[int, bool]:
        """Receive time a seek to ``t_ns`` restores from, and whether the message bound shortened it.

        ``max(first, t_ns - warmup_ns)``; when more than :attr:`warmup_max_messages`
        messages lie between it and the target, the first checkpoint after the
        bound instead (or the target itself: restore from the nearest checkpoint).
        Runtime complexity: ``O(log n + log c)`` (indexed look-ups; the
        checkpoint times are read once).
        """
        rec = self.recording
        if self.warmup_ns <= 0:
            return t_ns, False
        start = max(t_ns - self.warmup_ns, rec.first_recv_ns())
        cap = self.warmup_max_messages
        if cap > 0:
            target_id = rec.id_at(t_ns)
            lo_id = target_id - cap
            if lo_id > rec.id_at(start):
                msg = rec.message(lo_id)
                if msg is not None and msg.recv_ns > start:
                    # Restore from the first checkpoint at or after the bound, so the
                    # restore does not add up to an interval more; with none before
                    # the target, from the nearest one (a book is exact only from one).
                    times = self._checkpoint_index()[1]
                    i = bisect.bisect_left(times, msg.recv_ns)
                    return (times[i] if i < len(times) and times[i] < t_ns else t_ns), True
        return start, False

    def _checkpoint_index(self) -> tuple[dict[int, tuple[str, ...]], list[int]]:
        """The recording's checkpoints, read once: market keys by message id, and receive times ascending.

        Runtime complexity: ``O(c log c)`` the first time, ``O(1)`` after.
        """
        if self._cp_index is None:
            marks: dict[int, tuple[str, ...]] = {}
            times: list[int] = []
            for key, recv, msg_id in self.recording.checkpoints():
                marks[msg_id] = (*marks.get(msg_id, ()), key)
                times.append(recv)
            self._cp_index = (marks, sorted(times))
        return self._cp_index

    async def _apply_seek(self, sink: EventSink) -> int:
        """Restore checkpoints before the seek target and replay to it; return the next id.

        With a warm-up the restore point lies :attr:`warmup_ns` before the
        target (see :meth:`warmup_start`); with a :attr:`stage` the replay goes
        into the stage's private engine, committed when the target is reached.
        Runtime complexity: ``O(levels + m)`` for ``m`` messages replayed.
        """
        try:
            while True:
                t = self._seek_to
                assert t is not None
                self._seek_to = None
                self._applying = t
                next_id = await self._seek(t, sink)
                if next_id is not None:
                    return next_id
                # Superseded by a newer seek (a held arrow key): start that one instead.
        finally:
            self._applying = None

    async def _seek(self, t: int, sink: EventSink) -> int | None:
        """Apply one seek; ``None`` when a newer seek arrived during its warm-up (nothing committed)."""
        rec = self.recording
        keys = [i.key for i in self._instruments]
        start, bounded = await self._in_thread(self.warmup_start, t)
        sp = await self._in_thread(rec.seek, start, keys)
        target_id = sp.target_id if start == t else await self._in_thread(rec.id_at, t)
        if self.stage is None:
            return await self._replay_to(t, start, bounded, sp, target_id, sink)
        out = self.stage.begin(sp.checkpoints)
        try:
            next_id = await self._replay_to(t, start, bounded, sp, target_id, out)
        except BaseException:
            self.stage.abort()  # cancelled or failed: nothing was committed
            raise
        if next_id is None:
            self.stage.abort()  # superseded by a newer seek
        return next_id

    async def _replay_to(self, t: int, start: int, bounded: bool, sp: SeekPoint, target_id: int,
                         out: EventSink) -> int | None:
        """Restore ``sp``'s checkpoints into ``out`` and replay up to ``target_id`` (see :meth:`_seek`)."""
        rec = self.recording
        self.registry = DecoderRegistry(self._factories)
        decoders = self.registry.decoders()
        if any(getattr(d, "needs_warmup", False) for d in decoders) and sp.resume_id > rec.first_id:
            # Stateful decoders (venue book syncs) that cannot resume from a
            # checkpoint re-read the stream silently up to it: O(messages before t).
            await self._warm_up(rec.first_id, sp.resume_id - 1)
        for key, cp in sp.checkpoints.items():
            for dec in decoders:
                hook = getattr(dec, "on_checkpoint", None)
                if hook is not None:
                    hook(cp)
            out.on_event(BookSnapshot(key, cp.recv_ns, cp.recv_ns, cp.bids, cp.asks, cp.seq))
        skip = {k: cp.msg_id for k, cp in sp.checkpoints.items()}
        first = sp.resume_id
        while first < target_id:
            last = min(first + CHUNK - 1, target_id - 1)
            chunk = await self._in_thread(lambda a=first, b=last: list(rec.iter_records(a, b)))
            for record in chunk:
                self._emit(record, out, skip)
            first = last + 1
            await asyncio.sleep(0)
            if self._seek_to is not None and self.stage is not None:
                return None  # the staged engine is dropped unseen
        if self.stage is not None:
            self.stage.commit()
        self.position_ns = t
        self._anchor = None
        self.last_seek = SeekReport(t, start, sp.resume_id, target_id, bounded)
        log.info("replay sought to %d (replayed messages %d..%d%s)", t, sp.resume_id, target_id - 1,
                 ", warm-up bounded" if bounded else "")
        return target_id
