"""Binance spot and USD-M futures, server side: combined streams, SUBSCRIBE, REST depth.

Dialect: subscriptions come from the combined-stream URL
(``/stream?streams=btcusdt@depth@100ms/btcusdt@trade``) or from
``{"method":"SUBSCRIBE","params":[...],"id":n}`` frames (answered with
``{"result":null,"id":n}``). Frames go out in the ``{"stream","data"}``
envelope under the name the client subscribed (a capture's ``@depth@0ms``
is served to a client that asked for ``@depth@100ms``; ``trade`` and
``aggTrade`` are converted into each other). The venue's true book is kept
from the initial REST snapshot plus every diff sent, so
``GET /fapi/v1/depth`` (``/api/v3/depth`` on spot) answers a fresh snapshot
with ``lastUpdateId`` = the last diff's ``u`` at any time, as the real venue
does, and a client's resync after a gap really converges.

Scripts: the hftbacktest capture (:func:`load_hftbacktest`), the cryptofeed
v1 captures (:func:`load_cryptofeed`) and generated markets
(:func:`generate`).
"""

from __future__ import annotations

import functools
import random
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from tapescope.feeds.captures import read_capture
from tapescope.feeds.emulator.scripts.base import Dialect, Script, ScriptFrame, Session

#: Stream suffix -> emulator channel.
_CHANNELS = {"depth": "book", "trade": "trade", "aggTrade": "trade", "bookTicker": "ticker"}


def stream_channel(stream: str) -> tuple[str, str]:
    """``"btcusdt@depth@100ms"`` -> ``("BTCUSDT", "book")``.

    >>> stream_channel("ethusdt@aggTrade"), stream_channel("x@kline_1m")
    (('ETHUSDT', 'trade'), ('X', 'other'))
    """
    sym, _, rest = stream.partition("@")
    return sym.upper(), _CHANNELS.get(rest.split("@")[0], "other")


class BinanceDialect(Dialect):
    """Binance spot / USD-M futures server."""

    venues = ("binance-usdm", "binance-spot")

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.futures = script.venue != "binance-spot"
        """USD-M rules (``pu`` field, bridge keeps ``u == lastUpdateId``)."""
        self.books: dict[str, tuple[dict[float, tuple[str, str]], dict[float, tuple[str, str]]]] = {}
        """Symbol -> (bids, asks), price -> (price text, size text): the venue's true book."""
        self.ids: dict[str, int] = {}
        """Symbol -> update id of the true book."""
        self.times: dict[str, tuple[int, int]] = {}
        """Symbol -> (E, T) of the last applied diff."""
        for sym, snap in script.snapshots.items():
            bids = {float(p): (p, q) for p, q in snap["bids"]}
            asks = {float(p): (p, q) for p, q in snap["asks"]}
            self.books[sym] = (bids, asks)
            self.ids[sym] = int(snap["lastUpdateId"])
            self.times[sym] = (int(snap.get("E", 0)), int(snap.get("T", 0)))

    # -- subscriptions -------------------------------------------------------

    def _subscribe(self, session: Session, streams: list[str]) -> str:
        """Add streams; returns the refusal text if a book stream was refused."""
        refused = ""
        for stream in streams:
            sym, channel = stream_channel(stream)
            if channel == "book" and self.take_refusal(sym):
                refused = self.refuse_text or f"Invalid request: stream {stream} refused"
                continue
            session.subs[(sym, channel)] = stream
        return refused

    def on_connect(self, session: Session) -> list[str]:
        parts = urlsplit(session.path)
        streams: list[str] = []
        if parts.path.startswith("/ws/"):
            streams = [parts.path[4:]]
        for value in parse_qs(parts.query).get("streams", []):
            streams.extend(s for s in value.split("/") if s)
        refused = self._subscribe(session, streams)
        return [self.error_frame(refused)] if refused else []

    def on_client_frame(self, session: Session, text: str) -> list[str]:
        try:
            req = orjson.loads(text)
            method, params, ident = req["method"], req.get("params", []), req.get("id")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [orjson.dumps({"code": 3, "msg": "Invalid JSON"}).decode()]
        if method == "SUBSCRIBE":
            refused = self._subscribe(session, list(params))
            if refused:
                return [orjson.dumps({"code": 2, "msg": refused, "id": ident}).decode()]
        elif method == "UNSUBSCRIBE":
            for stream in params:
                session.subs.pop(stream_channel(stream), None)
        elif method == "LIST_SUBSCRIPTIONS":
            return [orjson.dumps({"result": list(session.subs.values()), "id": ident}).decode()]
        else:
            return [orjson.dumps({"code": 2, "msg": f"Invalid request: unknown method {method}", "id": ident}).decode()]
        return [orjson.dumps({"result": None, "id": ident}).decode()]

    def error_frame(self, text: str) -> str:
        return orjson.dumps({"code": 2, "msg": text}).decode()

    # -- frames --------------------------------------------------------------

    def render(self, session: Session, frame: ScriptFrame) -> str:
        name = session.subs[(frame.symbol, frame.channel)]
        data = frame.data
        if frame.channel == "trade":
            data = _as_trade_kind(data, "aggTrade" if "@aggTrade" in name else "trade")
        elif frame.text and frame.text.startswith('{"stream":"' + name + '"'):
            return frame.text
        return orjson.dumps({"stream": name, "data": data}).decode()

    def apply(self, frame: ScriptFrame) -> None:
        if frame.channel != "book":
            return
        d = frame.data
        sym = frame.symbol
        book = self.books.get(sym)
        if book is None:
            book = self.books[sym] = ({}, {})
            self.ids[sym] = 0
        u = int(d["u"])
        last = self.ids[sym]
        # Diffs older than the book are already in it (the capture's first events
        # predate its snapshot); the bridge rule differs between spot and futures.
        if u < last or (not self.futures and u == last):
            return
        for side, levels in ((book[0], d["b"]), (book[1], d["a"])):
            for p, q in levels:
                if float(q) == 0.0:
                    side.pop(float(p), None)
                else:
                    side[float(p)] = (p, q)
        self.ids[sym] = u
        self.times[sym] = (int(d.get("E", 0)), int(d.get("T", 0)))

    def snapshot(self, symbol: str, limit: int = 1000) -> dict[str, Any]:
        """The venue's REST depth answer for ``symbol`` now (best ``limit`` levels per side)."""
        bids, asks = self.books.get(symbol, ({}, {}))
        top_b = sorted(bids, reverse=True)[:limit]
        top_a = sorted(asks)[:limit]
        body: dict[str, Any] = {"lastUpdateId": self.ids.get(symbol, 0)}
        if self.futures:
            e, t = self.times.get(symbol, (0, 0))
            body["E"], body["T"] = e, t
        body["bids"] = [list(bids[p]) for p in top_b]
        body["asks"] = [list(asks[p]) for p in top_a]
        return body

    def rest(self, path: str, query: dict[str, str]) -> tuple[int, bytes]:
        want = "/fapi/v1/depth" if self.futures else "/api/v3/depth"
        if path != want:
            return 404, orjson.dumps({"code": -1, "msg": "not found"})
        sym = query.get("symbol", "").upper()
        if sym not in self.books:
            return 400, orjson.dumps({"code": -1121, "msg": "Invalid symbol."})
        try:
            limit = int(query.get("limit", "1000"))
        except ValueError:
            return 400, orjson.dumps({"code": -1100, "msg": "Illegal characters found in parameter 'limit'"})
        return 200, orjson.dumps(self.snapshot(sym, max(1, min(limit, 5000))))


def _as_trade_kind(data: dict[str, Any], kind: str) -> dict[str, Any]:
    """Convert a ``trade`` payload to ``aggTrade`` or back (same price, size, time, side)."""
    if data.get("e") == kind:
        return data
    out = {"e": kind, "E": data.get("E", 0), "s": data["s"], "p": data["p"], "q": data["q"]}
    if kind == "aggTrade":
        tid = data.get("t", data.get("a", 0))
        out.update(a=tid, f=tid, l=tid, T=data.get("T", data.get("E", 0)), m=data["m"])
    else:
        out.update(t=data.get("a", 0), T=data.get("T", 0), X="MARKET", m=data["m"])
    return out


def _frame_from_envelope(text: str, channels: tuple[str, ...]) -> ScriptFrame | None:
    env = orjson.loads(text)
    sym, channel = stream_channel(env["stream"])
    if channel not in channels:
        return None
    return ScriptFrame(sym, channel, env["data"], text)


@functools.lru_cache(maxsize=8)
def load_hftbacktest(path: str, venue: str, channels: tuple[str, ...] = ("book", "trade")) -> Script:
    """Script from an hftbacktest Binance capture (stream lines + one in-line REST snapshot).

    The result is cached and shared: treat it as read-only.

    Args:
        path: The ``.gz`` capture.
        venue: ``"binance-usdm"`` or ``"binance-spot"``.
        channels: Which channels to keep (``book``, ``trade``, ``ticker``).
    """
    frames: list[ScriptFrame] = []
    snapshot = None
    for rec in read_capture(Path(path)):
        if rec.kind == "http":
            snapshot = orjson.loads(rec.data)
        elif rec.kind == "recv":
            frame = _frame_from_envelope(rec.data, channels)
            if frame is not None:
                frames.append(frame)
    symbol = next(f.symbol for f in frames if f.channel == "book")
    return Script(venue, frames, {symbol: snapshot} if snapshot else {})


@functools.lru_cache(maxsize=8)
def load_cryptofeed(ws_path: str, http_path: str, venue: str = "binance-usdm", channels: tuple[str, ...] = ("book", "trade")) -> Script:
    """Script from a cryptofeed v1 Binance capture and its ``.http`` snapshots (cached, read-only)."""
    frames: list[ScriptFrame] = []
    for rec in read_capture(Path(ws_path)):
        if rec.kind == "recv" and rec.data.startswith('{"stream"'):
            frame = _frame_from_envelope(rec.data, channels)
            if frame is not None:
                frames.append(frame)
    snaps: dict[str, Any] = {}
    for rec in read_capture(Path(http_path)):
        if rec.kind == "http":
            sym = parse_qs(urlsplit(rec.url).query)["symbol"][0].upper()
            snaps[sym] = orjson.loads(rec.data)
    return Script(venue, frames, snaps)


def generate(
    venue: str,
    symbols: list[str],
    n_events: int,
    seed: int = 0,
    levels: int = 50,
    trade_every: int = 3,
) -> Script:
    """A generated Binance market: random-walk books with consistent U/u/pu ids and trades.

    Every diff changes a few levels near the touch and keeps the book uncrossed;
    update ids rise by a random step per event (sparse, like futures).

    Args:
        venue: ``"binance-usdm"`` or ``"binance-spot"``.
        symbols: Upper-case symbols; frames of all symbols interleave round-robin.
        n_events: Book diffs per symbol.
        seed: RNG seed (the same seed gives the same script).
        levels: Levels per side in the starting book.
        trade_every: One trade after every this many diffs (0: none).
    """
    rng = random.Random(seed)
    futures = venue != "binance-spot"
    state: dict[str, dict[str, Any]] = {}
    snaps: dict[str, Any] = {}
    for i, sym in enumerate(symbols):
        mid = 10_000 * (i + 1)
        bids = {mid - k: rng.randint(1, 50) for k in range(1, levels + 1)}
        asks = {mid + k: rng.randint(1, 50) for k in range(1, levels + 1)}
        last = 1000 + i
        state[sym] = {"bids": bids, "asks": asks, "u": last, "t": 1}
        snaps[sym] = {
            "lastUpdateId": last,
            "bids": [[f"{p:.2f}", f"{q:.3f}"] for p, q in sorted(bids.items(), reverse=True)],
            "asks": [[f"{p:.2f}", f"{q:.3f}"] for p, q in sorted(asks.items())],
        }
    frames: list[ScriptFrame] = []
    t_ms = 1_700_000_000_000
    depth_name = "depth@100ms"
    for n in range(n_events):
        for sym in symbols:
            st = state[sym]
            t_ms += 7
            bids, asks = st["bids"], st["asks"]
            best_bid, best_ask = max(bids), min(asks)
            b_upd: list[list[str]] = []
            a_upd: list[list[str]] = []
            for _ in range(rng.randint(1, 4)):
                side_bid = rng.random() < 0.5
                book, upd = (bids, b_upd) if side_bid else (asks, a_upd)
                # Quotes may improve into the spread or rest behind the touch, so the
                # mid wanders both ways; they never reach the other side (no cross).
                if side_bid:
                    p = min(best_bid + rng.randint(-5, 2), best_ask - 1)
                else:
                    p = max(best_ask + rng.randint(-2, 5), best_bid + 1)
                q = 0 if (rng.random() < 0.25 and len(book) > 5) else rng.randint(1, 80)
                if q == 0:
                    book.pop(p, None)
                else:
                    book[p] = q
                upd.append([f"{p:.2f}", f"{q:.3f}"])
                best_bid, best_ask = max(bids), min(asks)
            first = st["u"] + 1
            u = st["u"] + rng.randint(1, 5)
            data: dict[str, Any] = {"e": "depthUpdate", "E": t_ms, "s": sym, "U": first, "u": u}
            if futures:
                data = {"e": "depthUpdate", "E": t_ms, "T": t_ms - 1, "s": sym, "U": first, "u": u, "pu": st["u"]}
            data["b"], data["a"] = b_upd, a_upd
            st["u"] = u
            text = orjson.dumps({"stream": f"{sym.lower()}@{depth_name}", "data": data}).decode()
            frames.append(ScriptFrame(sym, "book", data, text))
            if trade_every and n % trade_every == 0:
                buy = rng.random() < 0.5
                price = min(asks) if buy else max(bids)
                trade = {
                    "e": "trade", "E": t_ms, "T": t_ms, "s": sym, "t": st["t"],
                    "p": f"{price:.2f}", "q": f"{rng.randint(1, 9) / 10:.3f}", "m": not buy,
                }
                st["t"] += 1
                frames.append(ScriptFrame(sym, "trade", trade, ""))
    return Script(venue, frames, snaps)
