"""Replay determinism: a recorded session replays to exactly the engine outputs it had live.

The engine outputs compared are, per market, at every 5 s of event time:
the whole flow snapshot (CVD, deltas, OFI, imbalance, spread...), the whole
analysis snapshot (detector state and events, signal verdicts, fused score,
volatility and levels monitors), the book, plus every detector event and
signal verdict in the order raised. Floats are compared bit for bit
(``float.hex``), so ``nan`` compares equal to itself and nothing is approximate.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import io
import os
import subprocess
import sys
from dataclasses import fields, is_dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from tapescope.engine.events import Event
from tapescope.engine.hub import Hub
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.config import RecordConfig
from tapescope.feeds.replay import SIM_DECODERS, ReplayFeed
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.tui.record import record_session
from tapescope.tui.replay import AlertTap, analysis_hub

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
DATA = ROOT.parent / "shared" / "data"
CAPTURE = DATA / "binance_usdm" / "btcusdt_20240808.gz"
USDM = [Instrument("binance-usdm", "BTCUSDT", tick_size=0.1)]
#: Event-time spacing of the snapshot samples, ns.
SAMPLE_NS = 5_000_000_000
PARAMS = SimParams(seed=7, symbols=("BTC-SIM", "ETH-SIM"), duration_s=240.0)


def canon(x: object) -> object:
    """A hashable, exactly comparable form: floats as hex (nan == nan), arrays as bytes."""
    if isinstance(x, float):
        return x.hex()
    if x is None or isinstance(x, (str, int, bool)):
        return x.value if isinstance(x, enum.Enum) else x
    if isinstance(x, enum.Enum):
        return canon(x.value)
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, np.generic):
        return canon(x.item())
    if is_dataclass(x):
        return (type(x).__name__, tuple((f.name, canon(getattr(x, f.name))) for f in fields(x)))
    if isinstance(x, dict):
        return tuple((canon(k), canon(v)) for k, v in x.items())
    if isinstance(x, (tuple, list)) or hasattr(x, "__iter__"):
        return tuple(canon(v) for v in x)
    raise TypeError(f"cannot canonicalise {type(x).__name__}")


class Probe:
    """Sink in front of an analysis hub: collects alerts and samples every market's outputs."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.alerts: list[object] = []
        self.samples: list[object] = []
        self.tap = AlertTap(hub, lambda key, item: self.alerts.append((key, canon(item))))
        self._next = -1

    @property
    def markets(self):  # the recorder's checkpoints come from these books
        return self.hub.markets

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        self.tap.on_raw(conn_id, recv_ns, payload)

    def on_event(self, ev: Event) -> None:
        self.tap.on_event(ev)
        if ev.ts >= self._next:
            self._next = (ev.ts // SAMPLE_NS + 1) * SAMPLE_NS
            self.samples.append(self.sample(ev.ts))

    def sample(self, ts: int) -> object:
        out = []
        for key, m in self.hub.markets.items():
            snap = m.snapshot()
            out.append((key, snap.version, canon(snap.flow), canon(snap.analysis), snap.state.value,
                        list(m.book.bids.items()), list(m.book.asks.items())))
        return (ts, tuple(out))

    def final(self) -> object:
        return self.sample(-1)

    def outputs(self) -> tuple[object, ...]:
        return (tuple(self.samples), tuple(self.alerts), self.final())


def digest(outputs: object) -> str:
    return hashlib.sha256(repr(outputs).encode()).hexdigest()


async def replay_outputs(path: Path, decoders, instruments=None) -> tuple[Probe, ReplayFeed]:
    feed = ReplayFeed(path, decoders, speed=0, instruments=instruments)
    probe = Probe(analysis_hub(feed.instruments))
    await feed.run(probe)
    feed.close()
    return probe, feed


# ---------------------------------------------------------------- simulator


@pytest.fixture(scope="module", params=["compressed", "paced"])
def sim_session(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Probe]:
    """The simulator recorded through the real record path, time-compressed or paced at 120x.

    Paced, the feed emits whatever is due at each wall-clock wake-up (its
    chunking depends on the machine's load), and event times start at the
    wall clock's now: the replay must still reproduce the session exactly.
    """
    path = tmp_path_factory.mktemp("det") / f"sim-{request.param}.db"
    if request.param == "paced":
        feed = SimFeed(replace(PARAMS, speed=120.0), realtime=True)
    else:
        feed = SimFeed(PARAMS, realtime=False)
    for kind in ("wall", "spoof", "absorption", "vacuum"):
        feed.inject(kind, "sim:BTC-SIM", at_ns=feed.start_ns + 60 * 10**9)
    probe = Probe(analysis_hub(feed.instruments))
    res = asyncio.run(record_session([feed], path, RecordConfig(checkpoint_interval_s=20.0), hub=probe,
                                     out=io.StringIO(), handle_signals=False))
    assert res.exit_code == 0, res.error
    return path, probe


async def test_sim_recording_replays_to_identical_engine_outputs(sim_session) -> None:
    path, live = sim_session
    replayed, feed = await replay_outputs(path, SIM_DECODERS)
    assert feed.registry.errors == 0 and feed.registry.undecoded == 0 and feed.gaps_seen == 0
    # The session is not trivially quiet: detectors fired and signals were judged.
    kinds = {item[0] for _, item in live.alerts}
    assert {"DetectorEvent", "Verdict"} <= kinds, kinds
    assert len(live.samples) >= 240 // 5
    assert replayed.tap.events == live.tap.events
    # Sample by sample first, so a failure names the first point of divergence.
    for i, (a, b) in enumerate(zip(live.samples, replayed.samples, strict=True)):
        assert a == b, f"sample {i} (event time {a[0]}) differs"
    assert live.alerts == replayed.alerts
    assert live.final() == replayed.final()


# ---------------------------------------------------------------- Binance USD-M capture


needs_data = pytest.mark.skipif(not CAPTURE.is_file(), reason=f"shared capture data not found at {DATA}")


@pytest.fixture(scope="module")
def usdm_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tapescope.feeds.importer import import_captures
    from tapescope.feeds.replay_venues import venue_decoders
    from tapescope.feeds.venues.binance import BinanceUsdmProtocol

    path = tmp_path_factory.mktemp("det") / "um.db"
    decs = venue_decoders([BinanceUsdmProtocol()], USDM)
    asyncio.run(import_captures([CAPTURE], path, "binance-usdm", symbols=["BTCUSDT"], decoders=decs,
                                config=RecordConfig(checkpoint_interval_s=30.0)))
    return path


def _usdm_decoders():
    from tapescope.feeds.replay_venues import venue_decoders
    from tapescope.feeds.venues.binance import BinanceUsdmProtocol

    return venue_decoders([BinanceUsdmProtocol()], USDM)


@pytest.fixture(scope="module")
def usdm_replayed(usdm_recording: Path) -> tuple[Probe, ReplayFeed]:
    return asyncio.run(replay_outputs(usdm_recording, _usdm_decoders(), USDM))


@needs_data
async def test_imported_capture_replays_twice_identically(usdm_recording: Path, usdm_replayed) -> None:
    a, fa = usdm_replayed
    b, fb = await replay_outputs(usdm_recording, _usdm_decoders(), USDM)
    assert fa.emitted == fb.emitted == 93_954  # every frame and the REST snapshot
    assert a.tap.events == b.tap.events > 27_000  # depth updates, trades, snapshot (bookTicker gives none)
    assert len(a.samples) >= 60 and a.alerts, "a real session raises detector events"
    for i, (x, y) in enumerate(zip(a.samples, b.samples, strict=True)):
        assert x == y, f"sample {i} (event time {x[0]}) differs"
    assert a.alerts == b.alerts
    assert a.final() == b.final()


@needs_data
async def test_imported_capture_replay_equals_the_capture_fed_directly(usdm_replayed) -> None:
    """The recording loses nothing: replaying it equals feeding the raw capture through the parser."""
    from tapescope.feeds.captures import read_capture
    from tapescope.feeds.replay_venues import VenueDecoder
    from tapescope.feeds.venues.binance import BinanceUsdmProtocol

    replayed, _ = usdm_replayed
    direct = Probe(analysis_hub(USDM))
    dec = VenueDecoder(BinanceUsdmProtocol(), USDM)
    for r in read_capture(CAPTURE):
        if r.kind == "http":
            evs = dec.on_snapshot(USDM[0].key, r.recv_ns, r.data)
        else:
            direct.on_raw("binance-usdm#0", r.recv_ns, r.data)
            evs = dec.on_message("binance-usdm#0", r.recv_ns, r.data)
        for ev in evs:
            direct.on_event(ev)
    assert direct.outputs() == replayed.outputs()


_CHILD = """
import asyncio, sys
sys.path.insert(0, {here!r})
import test_replay_determinism as t
from pathlib import Path
probe, _ = asyncio.run(t.replay_outputs(Path({path!r}), t._usdm_decoders(), t.USDM))
print(t.digest(probe.outputs()))
"""


@needs_data
def test_outputs_do_not_depend_on_hash_randomisation(usdm_recording: Path, usdm_replayed) -> None:
    """Interpreters with different string-hash seeds replay to the digest of this one."""
    code = _CHILD.format(here=str(HERE.parent), path=str(usdm_recording))
    digests = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                              timeout=600, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.append(proc.stdout.strip().splitlines()[-1])
    assert digests[0] == digests[1] == digest(usdm_replayed[0].outputs())
