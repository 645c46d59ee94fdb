"""Fixtures for LiveFeed tests: a small Binance USD-M test protocol and a book-keeping sink.

The test protocol follows the documented USD-M sync rules (PROTOCOLS.md 1b:
buffer, REST snapshot, drop ``u < lastUpdateId``, bridge ``U <= id <= u``,
chain ``pu == prev u``) in as few lines as possible, so the live layer can be
exercised independently of the venue adapters.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from tapescope.engine.book import Book
from tapescope.engine.events import BookDelta, BookSnapshot, FeedState, StatusChange, Trade
from tapescope.engine.health import SymbolHealth
from tapescope.engine.instrument import Instrument
from tapescope.feeds.venues.base import (
    BadMessage,
    BookSync,
    MsgKind,
    Routed,
    SyncOutput,
    VenueProtocol,
)

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data"


def _levels(raw: Any) -> list[tuple[float, float]]:
    try:
        return [(float(p), float(q)) for p, q in raw]
    except (TypeError, ValueError) as exc:
        raise BadMessage(f"bad level: {str(raw)[:40]}") from exc


class MiniSync(BookSync):
    """USD-M book sync (futures rules)."""

    def __init__(self, instrument: Instrument, health: SymbolHealth) -> None:
        super().__init__(instrument, health)
        self.buffer: list[dict[str, Any]] = []
        self.last_u = -1
        self.asked = False
        self.synced_once = False

    def _state(self, out: SyncOutput, state: FeedState, reason: str, t: int) -> None:
        if self.health.state != state:
            self.health.state = state
            self.health.reason = reason
            out.events.append(StatusChange(self.instrument.key, t, t, state, reason))

    def on_depth(self, msg: Any, recv_ns: int) -> SyncOutput:
        out = SyncOutput()
        if self.last_u < 0:
            self.buffer.append(msg)
            if not self.asked:
                self.asked = True
                out.need_snapshot = True
            return out
        self._apply(msg, recv_ns, out)
        return out

    def _apply(self, msg: dict[str, Any], recv_ns: int, out: SyncOutput, bridge: bool = False) -> bool:
        if msg["u"] < self.last_u or (not bridge and msg["u"] == self.last_u):
            return True  # already in the book (a duplicate)
        if not bridge and msg["pu"] != self.last_u:
            reason = f"gap: pu={msg['pu']} != {self.last_u}"
            self.health.gaps += 1
            self.last_u = -1
            self.buffer = [msg]
            self.asked = True
            out.need_snapshot = True
            self._state(out, FeedState.RESYNCING, reason, recv_ns)
            return False
        key = self.instrument.key
        out.events.append(BookDelta(key, msg["E"] * 1_000_000, recv_ns, _levels(msg["b"]), _levels(msg["a"]), msg["u"]))
        self.last_u = msg["u"]
        return True

    def on_rest_snapshot(self, payload: bytes, recv_ns: int) -> SyncOutput:
        out = SyncOutput()
        try:
            snap = orjson.loads(payload)
            lid = int(snap["lastUpdateId"])
            bids, asks = _levels(snap["bids"]), _levels(snap["asks"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise BadMessage(f"bad snapshot: {type(exc).__name__}") from exc
        if self.buffer and lid < self.buffer[0]["U"]:
            out.need_snapshot = True  # older than the stream: fetch again
            return out
        kept = [m for m in self.buffer if m["u"] >= lid]
        if kept and not (kept[0]["U"] <= lid <= kept[0]["u"]):
            out.need_snapshot = True
            return out
        key = self.instrument.key
        out.events.append(BookSnapshot(key, 0, recv_ns, bids, asks, lid))
        self.last_u = lid
        self.buffer = []
        self.asked = False
        if self.synced_once:
            self.health.resyncs += 1
        self.synced_once = True
        for i, m in enumerate(kept):
            if not self._apply(m, recv_ns, out, bridge=i == 0):
                return out
        self._state(out, FeedState.LIVE, "in sync", recv_ns)
        return out

    def reset(self, state: FeedState, reason: str, recv_ns: int) -> SyncOutput:
        out = SyncOutput()
        self.buffer, self.last_u, self.asked = [], -1, False
        self._state(out, state, reason, recv_ns)
        return out


class MiniUsdm(VenueProtocol):
    """Binance USD-M wire format, test edition: SUBSCRIBE frames, REST depth."""

    venue = "binance-usdm"
    max_symbols_per_connection = 10
    stall_timeout_s = 5.0

    def connect_url(self, base_url: str, symbols: list[str]) -> str:
        return base_url + "/stream"

    def _params(self, symbols: list[str]) -> list[str]:
        return [f"{s.lower()}@{c}" for s in symbols for c in ("depth@100ms", "trade")]

    def subscribe_frames(self, symbols: list[str]) -> list[str]:
        return [orjson.dumps({"method": "SUBSCRIBE", "params": self._params(symbols), "id": 1}).decode()]

    def unsubscribe_frames(self, symbols: list[str]) -> list[str]:
        return [orjson.dumps({"method": "UNSUBSCRIBE", "params": self._params(symbols), "id": 2}).decode()]

    def snapshot_url(self, rest_base: str, symbol: str) -> str:
        return f"{rest_base}/fapi/v1/depth?symbol={symbol}&limit=1000"

    def decode(self, payload: bytes | str, recv_ns: int) -> list[Routed]:
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise BadMessage("bad json") from None
        if not isinstance(obj, dict):
            raise BadMessage("not an object")
        if "code" in obj:
            msg = str(obj.get("msg", ""))
            key = ""
            if "stream " in msg:
                key = f"{self.venue}:{msg.split('stream ')[1].split('@')[0].upper()}"
            return [Routed(MsgKind.ERROR, key, msg)]
        if "result" in obj:
            return [Routed(MsgKind.CONTROL, "", obj)]
        data = obj.get("data")
        if not isinstance(data, dict):
            raise BadMessage("no data")
        key = f"{self.venue}:{data.get('s')}"
        if data.get("e") == "depthUpdate":
            _levels(data.get("b")), _levels(data.get("a"))
            return [Routed(MsgKind.DEPTH, key, data)]
        if data.get("e") == "trade":
            try:
                t = Trade(key, data["T"] * 1_000_000, recv_ns, float(data["p"]), float(data["q"]), -1 if data["m"] else 1, str(data["t"]))
            except (KeyError, TypeError, ValueError):
                raise BadMessage("bad trade") from None
            return [Routed(MsgKind.EVENT, key, t)]
        return [Routed(MsgKind.IGNORED)]

    def new_sync(self, instrument: Instrument, health: SymbolHealth) -> BookSync:
        return MiniSync(instrument, health)


class BookSink:
    """Keeps a Book per market from the feed's events and records states and raw frames."""

    def __init__(self) -> None:
        self.books: dict[str, Book] = {}
        self.states: dict[str, list[FeedState]] = {}
        self.reasons: dict[str, list[str]] = {}
        self.trades: list[Trade] = []
        self.raw = 0
        self.rest_raw = 0
        self.crossed = 0
        self.changed = asyncio.Event()

    def on_event(self, ev: Any) -> None:
        if isinstance(ev, BookSnapshot):
            b = self.books.setdefault(ev.symbol, Book())
            b.apply_snapshot(ev.bids, ev.asks, ev.seq)
        elif isinstance(ev, BookDelta):
            b = self.books.setdefault(ev.symbol, Book())
            b.apply_delta(ev.bids, ev.asks, ev.seq)
            if b.is_crossed():
                self.crossed += 1
        elif isinstance(ev, StatusChange):
            self.states.setdefault(ev.symbol, []).append(ev.state)
            self.reasons.setdefault(ev.symbol, []).append(ev.reason)
        elif isinstance(ev, Trade):
            self.trades.append(ev)
        self.changed.set()

    def on_raw(self, conn_id: str, recv_ns: int, payload: bytes | str) -> None:
        # Websocket frames and REST snapshot bodies ("rest:<key>") are both tapped for the recorder.
        if conn_id.startswith("rest:"):
            self.rest_raw += 1
        else:
            self.raw += 1


@pytest.fixture
def mini_protocol() -> type[MiniUsdm]:
    return MiniUsdm


@pytest.fixture
def book_sink() -> BookSink:
    return BookSink()


@pytest.fixture
def shared_data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared captures not found at {DATA}")
    return DATA
