"""Seek benchmark of the dashboard's replay: a seek with its warm-up into the full engine, timed.

``tapescope bench --recorder`` times the book rebuild alone; a dashboard seek
also replays ``[replay] warmup_s`` of history (bounded by
``warmup_max_messages``) through every detector and signal before it shows
the target. This module times exactly that: a paused :class:`ReplayFeed` with
a :class:`ReplayController` as its seek stage, seeking to random times, from
``seek_to`` to the commit that swaps the warmed-up markets in.

Run ``python -m tapescope.tui.replay_seekbench`` (``--help`` for options):
by default a synthetic one-hour recording at 200 messages/s (the recorder
benchmark's), or ``--sim SECONDS`` a simulator recording (a realistic
detector load). This module may read the wall clock (the engine may not):
it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tapescope.engine.recorder.bench import make_long_recording
from tapescope.engine.recorder.decode import DecoderFactory, FunctionDecoder
from tapescope.engine.recorder.reader import Recording
from tapescope.engine.recorder.synthetic import decode_synthetic
from tapescope.feeds.replay import SIM_DECODERS, ReplayFeed
from tapescope.tui.replay import analysis_hub
from tapescope.tui.replay_config import ReplaySettings
from tapescope.tui.replay_controls import ReplayController

#: Decoders of :func:`~tapescope.engine.recorder.bench.make_long_recording` recordings.
SYNTHETIC_DECODERS: dict[str, DecoderFactory] = {"t#": lambda prefix: FunctionDecoder(decode_synthetic)}


@dataclass(frozen=True, slots=True)
class WarmSeekBench:
    """Result of :func:`bench_warm_seek`."""

    messages: int
    """Messages in the recording."""
    span_s: float
    """Receive-time span of the recording, s."""
    settings: ReplaySettings
    """Warm-up settings used."""
    wall_s: list[float]
    """Per seek: wall seconds from ``seek_to`` to the commit."""
    cpu_s: list[float]
    """Per seek: CPU seconds of this process over the same interval."""
    replayed: list[int]
    """Per seek: message ids replayed (checkpoint restore + warm-up)."""
    bounded: int
    """Seeks whose warm-up the message bound shortened."""

    def to_text(self) -> str:
        """One-line report."""
        w, c, r = sorted(self.wall_s), sorted(self.cpu_s), sorted(self.replayed)
        mid = len(w) // 2
        return (f"warm seek ({self.settings.warmup_s:g} s, <= {self.settings.warmup_max_messages:,} msgs): "
                f"{self.messages:,} msgs over {self.span_s / 3600:.2f} h; {len(w)} seeks: wall median "
                f"{w[mid] * 1e3:.0f} ms, max {w[-1] * 1e3:.0f} ms; CPU median {c[mid] * 1e3:.0f} ms, "
                f"max {c[-1] * 1e3:.0f} ms; replayed median {r[mid]:,} msgs, max {r[-1]:,}; "
                f"{self.bounded} bounded")


async def _run(path: Path, decoders: Mapping[str, DecoderFactory], settings: ReplaySettings,
               seeks: int, seed: int) -> WarmSeekBench:
    feed = ReplayFeed(path, decoders, speed=0)
    feed.pause()
    hub = analysis_hub(feed.instruments)
    ctl = ReplayController(feed, hub, settings=settings)
    done = asyncio.Event()
    ctl.on_commit = lambda markets: done.set()
    task = asyncio.create_task(feed.run(hub))
    rec = feed.recording
    lo, hi = rec.first_recv_ns(), rec.last_recv_ns()
    rng = random.Random(seed)
    wall, cpu, replayed, bounded = [], [], [], 0
    try:
        for _ in range(seeks):
            t = rng.randint(lo, hi)
            done.clear()
            w0, c0 = time.perf_counter(), time.process_time()
            ctl.seek_to(t)
            await done.wait()
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
            rep = feed.last_seek
            assert rep is not None
            replayed.append(rep.messages)
            bounded += rep.bounded
        return WarmSeekBench(rec.message_count, (hi - lo) / 1e9, settings, wall, cpu, replayed, bounded)
    finally:
        task.cancel()
        feed.close()


def bench_warm_seek(path: Path, decoders: Mapping[str, DecoderFactory], settings: ReplaySettings | None = None,
                    seeks: int = 20, seed: int = 7) -> WarmSeekBench:
    """Time ``seeks`` dashboard seeks (warm-up included) to random times of ``path``."""
    return asyncio.run(_run(path, decoders, settings or ReplaySettings(), seeks, seed))


def _sim_recording(path: Path, seconds: float) -> None:
    from tapescope.engine.recorder.config import RecordConfig
    from tapescope.feeds.sim import SimFeed, SimParams
    from tapescope.tui.record import record_session

    params = SimParams(seed=3, symbols=("BTC-SIM", "ETH-SIM"), duration_s=seconds)
    res = asyncio.run(record_session([SimFeed(params, realtime=False)], path, RecordConfig(),
                                     out=io.StringIO(), handle_signals=False))
    if res.exit_code != 0:
        raise RuntimeError(f"sim recording failed: {res.error}")


def main(argv: list[str] | None = None) -> int:
    """Command line: build a recording, time the seeks, print one line (or ``--file`` an existing one)."""
    ap = argparse.ArgumentParser(prog="python -m tapescope.tui.replay_seekbench", description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=1.0, help="synthetic recording span (default 1)")
    ap.add_argument("--rate", type=float, default=200.0, help="synthetic messages/s (default 200)")
    ap.add_argument("--sim", type=float, default=0.0, metavar="SECONDS", help="use a simulator recording instead")
    ap.add_argument("--seeks", type=int, default=20)
    defaults = ReplaySettings()
    ap.add_argument("--warmup-s", type=float, default=defaults.warmup_s)
    ap.add_argument("--max-messages", type=int, default=defaults.warmup_max_messages)
    args = ap.parse_args(argv)
    settings = ReplaySettings(warmup_s=args.warmup_s, warmup_max_messages=args.max_messages)
    with tempfile.TemporaryDirectory(prefix="tapescope-seek-") as tmp:
        path = Path(tmp) / "long.db"
        if args.sim > 0:
            _sim_recording(path, args.sim)
            decoders: Mapping[str, DecoderFactory] = SIM_DECODERS
        else:
            make_long_recording(path, args.hours, args.rate)
            decoders = SYNTHETIC_DECODERS
        with Recording.open(path) as rec:
            kind = "sim" if args.sim > 0 else "synthetic"
            sys.stdout.write(f"{kind} recording: {rec.message_count:,} messages\n")
        sys.stdout.write(bench_warm_seek(path, decoders, settings, args.seeks).to_text() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
