"""Coinbase Advanced Trade websocket, server side: ``type:subscribe`` per channel, connection sequence.

Dialect: ``{"type":"subscribe","channel":"level2","product_ids":[...]}`` is
answered by a ``subscriptions`` message listing everything the connection is
subscribed to; a refused product gets ``{"type":"error","message":..}``.
Every message on a connection carries that connection's own
``sequence_num`` (0, 1, 2, ...), heartbeats and acks included, so a dropped
frame shows as a jump exactly as on the venue. Subscribing ``level2`` for a
product that already runs sends an ``l2_data`` ``snapshot`` of the true book.

Script: :func:`load_jsonl` reads the cryptofeed v2 capture.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson

from tapescope.feeds.captures import read_capture
from tapescope.feeds.emulator.scripts.base import Dialect, Script, ScriptFrame, Session, TruthBook

#: Message channel -> (emulator channel, subscription channel name).
_CHANNELS = {
    "l2_data": ("book", "level2"),
    "market_trades": ("trade", "market_trades"),
    "ticker": ("ticker", "ticker"),
    "heartbeats": ("heartbeat", "heartbeats"),
}
#: Subscription channel name -> emulator channel.
_SUBS = {sub: chan for chan, sub in _CHANNELS.values()}


class CoinbaseDialect(Dialect):
    """Coinbase Advanced Trade server."""

    venues = ("coinbase",)

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.books: dict[str, TruthBook] = {}
        """product_id -> true book (levels ``[price, qty]`` strings)."""
        self.times: dict[str, tuple[str, str]] = {}
        """product_id -> (message timestamp, event_time) of the last book frame."""
        self.now = next((f.data.get("timestamp", "") for f in script.frames), "") or "1970-01-01T00:00:00Z"
        """Timestamp of the last frame of the timeline (the venue's clock for acks)."""

    def _stamp(self, session: Session, msg: dict[str, Any]) -> str:
        """Render a message without its sequence number (added by :meth:`stamp` when sent)."""
        msg.pop("sequence_num", None)
        return orjson.dumps(msg).decode()

    def stamp(self, session: Session, text: str) -> str:
        """Append the connection's next ``sequence_num`` (sends are serialised per connection)."""
        n = session.sequence
        session.sequence += 1
        if not text.endswith("}"):
            return text  # not an object (a corrupted frame): still consumes a number
        return f'{text[:-1]},"sequence_num":{n}}}'


    def on_connect(self, session: Session) -> list[str]:
        return []

    def on_client_frame(self, session: Session, text: str) -> list[str]:
        try:
            req = orjson.loads(text)
            kind, sub = req["type"], req["channel"]
            products = list(req.get("product_ids", []))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [orjson.dumps({"type": "error", "message": "Failed to parse request"}).decode()]
        channel = _SUBS.get(sub, "other")
        out: list[str] = []
        snaps: list[str] = []
        if channel == "heartbeat":
            products = [""]
        for product in products:
            if kind == "unsubscribe":
                session.subs.pop((product, channel), None)
                continue
            if channel == "book" and self.take_refusal(product):
                msg = self.refuse_text or f"failure to subscribe: unknown product {product}"
                out.append(orjson.dumps({"type": "error", "message": msg}).decode())
                continue
            session.subs[(product, channel)] = sub
            if channel == "book" and product in self.books:
                snaps.append(self._snapshot(session, product))
        listing: dict[str, list[str]] = {}
        for (product, _), name in session.subs.items():
            listing.setdefault(name, []).append(product)
        out.append(self._stamp(session, {
            "channel": "subscriptions", "timestamp": self.now,
            "events": [{"subscriptions": listing}],
        }))
        return out + snaps

    def _snapshot(self, session: Session, product: str) -> str:
        book = self.books[product]
        ts, event_time = self.times[product]
        updates = [
            {"side": "bid", "event_time": event_time, "price_level": p, "new_quantity": q} for p, q in book.top_bids(10**6)
        ] + [
            {"side": "offer", "event_time": event_time, "price_level": p, "new_quantity": q} for p, q in book.top_asks(10**6)
        ]
        return self._stamp(session, {
            "channel": "l2_data", "timestamp": ts,
            "events": [{"type": "snapshot", "product_id": product, "updates": updates}],
        })

    def render(self, session: Session, frame: ScriptFrame) -> str:
        return self._stamp(session, dict(frame.data))

    def on_dropped(self, session: Session, frame: ScriptFrame) -> None:
        session.sequence += 1  # the venue sent it; the client will see the jump

    def apply(self, frame: ScriptFrame) -> None:
        msg = frame.data
        self.now = msg.get("timestamp") or self.now
        if frame.channel != "book":
            return
        for ev in msg["events"]:
            product = ev["product_id"]
            book = self.books.get(product)
            if ev["type"] == "snapshot":
                book = self.books[product] = TruthBook()
            elif book is None:
                continue
            event_time = msg.get("timestamp", "")
            for u in ev["updates"]:
                bid = u["side"] == "bid"
                book.put(bid, float(u["price_level"]), None if float(u["new_quantity"]) == 0 else [u["price_level"], u["new_quantity"]])
                event_time = u.get("event_time", event_time)
            self.times[product] = (msg.get("timestamp", ""), event_time)

    def error_frame(self, text: str) -> str:
        return orjson.dumps({"type": "error", "message": text}).decode()

    def snapshot(self, symbol: str, depth: int = 10**6) -> dict[str, Any]:
        """The true book now: ``{"bids": [[price, qty], ...], "asks": [...]}``, best first."""
        book = self.books.get(symbol, TruthBook())
        return {"bids": book.top_bids(depth), "asks": book.top_asks(depth)}


def _frame(msg: dict[str, Any], text: str) -> ScriptFrame | None:
    chan = _CHANNELS.get(msg.get("channel", ""))
    if chan is None:
        return None
    channel = chan[0]
    events = msg.get("events") or [{}]
    ev = events[0]
    if channel == "heartbeat":
        symbol = ""
    elif channel == "trade":
        if ev.get("type") == "snapshot" or not ev.get("trades"):
            return None  # recent-history replay on subscribe, not market flow
        symbol = ev["trades"][0]["product_id"]
    else:
        symbol = ev.get("product_id", "")
    return ScriptFrame(symbol, channel, msg, text)


@functools.lru_cache(maxsize=4)
def load_jsonl(path: str, channels: tuple[str, ...] = ("book", "trade", "heartbeat")) -> Script:
    """Script from the cryptofeed v2 Coinbase capture (cached, read-only)."""
    frames: list[ScriptFrame] = []
    for rec in read_capture(Path(path)):
        if rec.kind != "recv":
            continue
        msg = orjson.loads(rec.data)
        frame = _frame(msg, rec.data)
        if frame is not None and frame.channel in channels:
            frames.append(frame)
    return Script("coinbase", frames)
