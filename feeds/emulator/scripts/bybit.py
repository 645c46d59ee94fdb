"""Bybit v5 public streams, server side: ``op:subscribe`` with acks, snapshot on subscribe.

Dialect: ``{"op":"subscribe","req_id":..,"args":["orderbook.200.BTCUSDT","publicTrade.BTCUSDT"]}``
is answered ``{"success":true,"ret_msg":"","conn_id":..,"req_id":..,"op":"subscribe"}``;
a refused topic gets ``success:false`` with the topic in ``ret_msg``;
``{"op":"ping"}`` gets ``ret_msg:"pong"``. Subscribing a book topic whose
market already runs sends a ``snapshot`` of the true book with the current
``u``/``seq`` right after the ack, as Bybit does, so a resubscription after
a gap really rebuilds the book. Frames go out under the topic name the client
subscribed (a capture's ``orderbook.200`` serves ``orderbook.50`` too).

Script: :func:`load_jsonl` reads the cryptofeed v2 capture and keeps the
connection(s) of one category (``linear`` or ``spot``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson

from tapescope.feeds.captures import read_capture
from tapescope.feeds.emulator.scripts.base import Dialect, Script, ScriptFrame, Session, TruthBook

#: Topic prefix -> emulator channel.
_CHANNELS = {"orderbook": "book", "publicTrade": "trade", "tickers": "ticker"}


def topic_channel(topic: str) -> tuple[str, str]:
    """``"orderbook.200.BTCUSDT"`` -> ``("BTCUSDT", "book")``.

    >>> topic_channel("publicTrade.ETHUSDT"), topic_channel("kline.1.X")
    (('ETHUSDT', 'trade'), ('X', 'other'))
    """
    kind, _, rest = topic.partition(".")
    return rest.rpartition(".")[2], _CHANNELS.get(kind, "other")


class BybitDialect(Dialect):
    """Bybit v5 public (linear or spot) server."""

    venues = ("bybit-linear", "bybit-spot")

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.books: dict[str, TruthBook] = {}
        """Symbol -> true book (levels ``[price, size]`` as sent)."""
        self.heads: dict[str, dict[str, Any]] = {}
        """Symbol -> ``u``, ``seq``, ``ts``, ``cts`` of the last book frame."""

    def on_connect(self, session: Session) -> list[str]:
        return []

    def on_client_frame(self, session: Session, text: str) -> list[str]:
        try:
            req = orjson.loads(text)
            op = req["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [self.error_frame("Invalid request")]
        conn_id = f"emu-{session.ident}"
        req_id = req.get("req_id", "")
        if op == "ping":
            return [orjson.dumps({"success": True, "ret_msg": "pong", "conn_id": conn_id, "req_id": req_id, "op": "ping"}).decode()]
        if op not in ("subscribe", "unsubscribe"):
            return [orjson.dumps({"success": False, "ret_msg": f"Invalid op: {op}", "conn_id": conn_id, "op": op}).decode()]
        refused: list[str] = []
        snaps: list[str] = []
        for topic in req.get("args", []):
            symbol, channel = topic_channel(topic)
            if op == "unsubscribe":
                session.subs.pop((symbol, channel), None)
                continue
            if channel == "book" and self.take_refusal(symbol):
                refused.append(topic)
                continue
            session.subs[(symbol, channel)] = topic
            if channel == "book" and symbol in self.books:
                snaps.append(self._snapshot_frame(symbol, topic))
        ack = {
            "success": not refused,
            "ret_msg": (self.refuse_text or f"Invalid topic :[{','.join(refused)}]") if refused else "",
            "conn_id": conn_id,
            "req_id": req_id,
            "op": op,
        }
        return [orjson.dumps(ack).decode(), *snaps]

    def _snapshot_frame(self, symbol: str, topic: str) -> str:
        book, head = self.books[symbol], self.heads[symbol]
        depth = int(topic.split(".")[1]) if topic.count(".") == 2 else 200
        data = {"s": symbol, "b": book.top_bids(depth), "a": book.top_asks(depth), "u": head["u"], "seq": head["seq"]}
        msg = {"topic": topic, "type": "snapshot", "ts": head["ts"], "data": data, "cts": head["cts"]}
        return orjson.dumps(msg).decode()

    def render(self, session: Session, frame: ScriptFrame) -> str:
        topic = session.subs[(frame.symbol, frame.channel)]
        if frame.text and frame.data.get("topic") == topic:
            return frame.text
        return orjson.dumps({**frame.data, "topic": topic}).decode()

    def apply(self, frame: ScriptFrame) -> None:
        if frame.channel != "book":
            return
        msg = frame.data
        data = msg["data"]
        book = self.books.get(frame.symbol)
        if book is None:
            book = self.books[frame.symbol] = TruthBook()
        if msg["type"] == "snapshot":
            book.clear()
        for bid, levels in ((True, data["b"]), (False, data["a"])):
            for lvl in levels:
                book.put(bid, float(lvl[0]), None if float(lvl[1]) == 0 else list(lvl))
        self.heads[frame.symbol] = {"u": data["u"], "seq": data.get("seq", 0), "ts": msg.get("ts", 0), "cts": msg.get("cts", 0)}

    def error_frame(self, text: str) -> str:
        return orjson.dumps({"success": False, "ret_msg": text, "conn_id": "emu", "op": "subscribe"}).decode()

    def snapshot(self, symbol: str, depth: int = 200) -> dict[str, Any]:
        """The true book now: ``{"bids": [[p, s], ...], "asks": [...]}``, best first."""
        book = self.books.get(symbol, TruthBook())
        return {"bids": book.top_bids(depth), "asks": book.top_asks(depth)}


@functools.lru_cache(maxsize=4)
def load_jsonl(path: str, category: str = "linear", channels: tuple[str, ...] = ("book", "trade")) -> Script:
    """Script from the cryptofeed v2 Bybit capture, keeping one category's connections (cached, read-only).

    Args:
        path: ``BYBIT.jsonl``.
        category: ``"linear"`` or ``"spot"`` (chosen by the connection URL).
        channels: Channels to keep.
    """
    conns: set[str] = set()
    frames: list[ScriptFrame] = []
    for rec in read_capture(Path(path)):
        if rec.kind == "connect" and rec.url.rstrip("/").endswith("/" + category):
            conns.add(rec.conn)
        elif rec.kind == "recv" and rec.conn in conns and rec.data.startswith('{"topic"'):
            msg = orjson.loads(rec.data)
            symbol, channel = topic_channel(msg["topic"])
            if channel in channels:
                frames.append(ScriptFrame(symbol, channel, msg, rec.data))
    return Script(f"bybit-{category}", frames)
