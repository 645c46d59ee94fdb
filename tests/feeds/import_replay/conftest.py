"""Shared pieces of the import-then-replay tests: capture list, raw readers, CLI import, replay.

Every capture in ``../shared/data`` is imported once per test session by the
real ``tapescope import`` command (:func:`imported`) and played back by the
feed the dashboard's replay mode builds (``tools.replay``). The raw readers
here deliberately do not use :mod:`tapescope.feeds.captures`: they split the
lines with plain string operations so the tests' expected counts are computed
independently of the importer.

Tests taking a ``capture_name`` argument run once per capture.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, Event
from tapescope.feeds.replay_venues import VenueDecoder
from tapescope.tui.cli import app
from tapescope.tui.replay_cli import build_replay
from tapescope.tui.replay_config import ReplaySettings

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"

#: capture name -> (file under shared/data, ``--venue``)
CAPTURES = {
    "okx": ("okx/OKX.ws.1.0", "okx"),
    "kraken": ("kraken/KRAKEN.ws.50.0", "kraken"),
    "coinbase": ("coinbase/COINBASE.jsonl", "coinbase"),
    "bybit": ("bybit/BYBIT.jsonl", "bybit"),
    "binance_spot": ("binance_spot/btcusdt_20240808.gz", "binance-spot"),
    "binance_usdm_cf": ("binance_usdm/BINANCE_FUTURES.ws.1.0", "binance-usdm"),
    "binance_usdm_hft": ("binance_usdm/btcusdt_20240808.gz", "binance-usdm"),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests that take ``capture_name`` once per capture."""
    if "capture_name" in metafunc.fixturenames:
        metafunc.parametrize("capture_name", list(CAPTURES))


def raw_frames(rel: str) -> list[tuple[str, str]]:
    """``(connection, payload)`` of every received frame, read with plain string splitting."""
    path = DATA / rel
    out: list[tuple[str, str]] = []
    if rel.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                payload = line.rstrip("\n").split(" ", 1)[1]
                if payload.startswith('{"stream"'):
                    out.append(("ws", payload))
    elif rel.endswith(".jsonl"):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                if rec["t"] == "recv":
                    out.append((rec["conn"], rec["data"]))
    else:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                head = line.split(": ", 1)[0]
                if head.replace(".", "").isdigit():  # "<ts>: <json>" is a received frame
                    out.append(("ws", line.rstrip("\n").split(": ", 1)[1]))
    return out


def rest_depth(rel: str) -> dict[str, int]:
    """``symbol -> lastUpdateId`` of the REST depth snapshots of a Binance capture."""
    out: dict[str, int] = {}
    path = DATA / rel
    if rel.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                payload = line.split(" ", 1)[1]
                if not payload.startswith('{"stream"'):
                    out["BTCUSDT"] = json.loads(payload)["lastUpdateId"]
    else:
        http = path.with_name(path.name.replace(".ws.1.0", ".http.0.0"))
        for line in http.read_text().splitlines():
            if " -> " not in line:
                continue
            url, body = line.split(" -> ", 1)[0], line.split(": ", 1)[1]
            out[url.split("symbol=")[1].split("&")[0].upper()] = json.loads(body)["lastUpdateId"]
    return out


def run_cli(*args: str) -> str:
    """Run one ``tapescope`` command and insist on exit status 0; returns its output.

    The commands call ``asyncio.run``, so they run in a thread without the test's event loop.
    """
    with ThreadPoolExecutor(1) as pool:
        res = pool.submit(CliRunner().invoke, app, list(args)).result()
    assert res.exit_code == 0, res.output
    return res.output


class Sink:
    """Keeps engine books from the replayed events and lets a test look at every book event."""

    def __init__(self, check=None) -> None:
        self.books: dict[str, Book] = {}
        self.kinds: Counter[tuple[str, str]] = Counter()
        self.check = check
        self.raw = 0

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        self.raw += 1

    def on_event(self, ev: Event) -> None:
        self.kinds[(type(ev).__name__, ev[0])] += 1
        if isinstance(ev, BookSnapshot):
            book = self.books[ev.symbol] = Book()
            book.apply_snapshot(ev.bids, ev.asks, ev.seq)
        elif isinstance(ev, BookDelta):
            self.books[ev.symbol].apply_delta(ev.bids, ev.asks, ev.seq)
        else:
            return
        if self.check is not None:
            self.check(ev, self.books[ev.symbol])

    def count(self, kind: type, key: str | None = None) -> int:
        """Events of one type (optionally of one market) seen."""
        return sum(n for (k, s), n in self.kinds.items() if k == kind.__name__ and (key is None or s == key))


async def replay(path: Path, sink: Sink, from_ns: int | None = None) -> list[VenueDecoder]:
    """Play ``path`` to the end the way ``tapescope replay`` builds it; return the venue decoders."""
    feed, _hub = build_replay(path, settings=ReplaySettings(speed=0.0), from_ns=from_ns)
    try:
        await feed.run(sink)
        assert feed.finished and feed.registry.errors == 0 and feed.registry.undecoded == 0
        assert feed.emitted == sink.raw
        return [d for d in feed.registry.decoders() if isinstance(d, VenueDecoder)]
    finally:
        feed.close()


def healths(decoders: list[VenueDecoder]) -> list:
    """Health records of every market of every decoder (a market may have one per wire variant)."""
    return [h for d in decoders for h in d.health.values()]


@pytest.fixture(scope="session")
def tools() -> SimpleNamespace:
    """The helpers above (skips when the shared captures are absent)."""
    if not DATA.is_dir():
        pytest.skip(f"shared capture data not found at {DATA}")
    return SimpleNamespace(DATA=DATA, CAPTURES=CAPTURES, raw_frames=raw_frames, rest_depth=rest_depth,
                           run_cli=run_cli, Sink=Sink, replay=replay, healths=healths)


@pytest.fixture(scope="session")
def imported(tools: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory):
    """``name -> recording`` imported through ``tapescope import`` (each capture once per session)."""
    cache: dict[str, Path] = {}
    folder = tmp_path_factory.mktemp("imports")

    def get(name: str) -> Path:
        if name not in cache:
            rel, venue = CAPTURES[name]
            out = folder / f"{name}.db"
            run_cli("import", str(DATA / rel), "--venue", venue, "--out", str(out))
            cache[name] = out
        return cache[name]

    return get
