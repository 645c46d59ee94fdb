"""Venue recordings through the real parsers: import with checkpoints, replay, seek (Binance USD-M capture)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapescope.engine.events import Event, Trade
from tapescope.engine.instrument import Instrument
from tapescope.engine.recorder.checkpoint import BookTracker
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.captures import read_capture
from tapescope.feeds.importer import import_captures
from tapescope.feeds.replay import ReplayFeed
from tapescope.feeds.replay_venues import venue_decoders
from tapescope.feeds.venues.binance import BinanceUsdmProtocol
from tapescope.feeds.venues.offline import OfflineDriver

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SRC = DATA / "binance_usdm" / "btcusdt_20240808.gz"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared capture data not found at {DATA}")

KEY = "binance-usdm:BTCUSDT"
INSTRUMENTS = [Instrument("binance-usdm", "BTCUSDT", tick_size=0.1)]


def _decoders():
    return venue_decoders([BinanceUsdmProtocol()], INSTRUMENTS)


class Sink:
    def __init__(self) -> None:
        self.books = BookTracker()
        self.trades = 0

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        pass

    def on_event(self, ev: Event) -> None:
        self.trades += isinstance(ev, Trade)
        self.books.on_event(ev)


def _oracle_books(upto_records: int) -> OfflineDriver:
    """The venue engineers' offline driver fed the first ``upto_records`` capture records."""
    d = OfflineDriver(BinanceUsdmProtocol(), INSTRUMENTS)
    for i, r in enumerate(read_capture(SRC)):
        if i >= upto_records:
            break
        if r.kind == "http":
            d._apply(KEY, d.syncs[KEY].on_rest_snapshot(r.data.encode(), r.recv_ns), r.recv_ns)
        else:
            d.feed(r.data, r.recv_ns)
    return d


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    path = tmp_path_factory.mktemp("venue") / "um.db"
    res = asyncio.run(import_captures([SRC], path, "binance-usdm", symbols=["BTCUSDT"], decoders=_decoders(),
                                      config=RecordConfig(checkpoint_interval_s=30.0)))
    assert res.checkpoints >= 10
    return path


def _state(book) -> tuple:
    return book.seq, list(book.bids.items()), list(book.asks.items())


def test_import_checkpoints_equal_the_offline_driver_book(imported: Path) -> None:
    with Recording.open(imported) as rec:
        cps = rec.checkpoints(KEY)
        assert 10 <= len(cps) <= 12  # ~345 s, one per 30 s once in sync
        for _, recv_ns, msg_id in (cps[0], cps[len(cps) // 2], cps[-1]):
            cp = rec.checkpoint_at(KEY, recv_ns)
            # Records up to message msg_id, plus the REST snapshot line if it came before.
            n_records = msg_id + (1 if any(s.after_msg_id < msg_id for s in rec.snapshots()) else 0)
            d = _oracle_books(n_records)
            assert (cp.seq, cp.bids, cp.asks) == _state(d.books[KEY])


async def test_replay_through_the_parser_reproduces_the_live_book(imported: Path) -> None:
    feed = ReplayFeed(imported, _decoders(), speed=0)
    sink = Sink()
    await feed.run(sink)
    d = _oracle_books(10**9)
    assert sink.books.checkpoint_source(KEY) == _state(d.books[KEY])
    assert sink.trades == 21_313  # every trade of the capture (SOURCES.md)
    dec = feed.registry.decoders()[0]
    assert dec.health[KEY].gaps == 0 and dec.malformed == 0
    feed.close()


async def test_seek_in_a_venue_recording_then_play_on(imported: Path) -> None:
    with Recording.open(imported) as rec:
        msgs = list(rec.iter_messages())
    t = msgs[len(msgs) * 2 // 3].recv_ns
    feed = ReplayFeed(imported, _decoders(), speed=0, start_ns=t, end_ns=t)
    sink = Sink()
    await feed.run(sink)
    # Book at t: the driver fed every record received up to t.
    n = sum(1 for r in read_capture(SRC) if r.recv_ns <= t)
    assert sink.books.checkpoint_source(KEY) == _state(_oracle_books(n).books[KEY])
    feed.close()
    # Seek, then play to the end: the sync continues seamlessly after the checkpoint.
    feed = ReplayFeed(imported, _decoders(), speed=0, start_ns=t)
    sink = Sink()
    await feed.run(sink)
    assert sink.books.checkpoint_source(KEY) == _state(_oracle_books(10**9).books[KEY])
    feed.close()
