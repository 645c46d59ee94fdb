"""OKX v5 public streams, server side: ``op:subscribe`` with per-channel acks, checksummed snapshots.

Dialect: ``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}, ...]}``
gets one ``{"event":"subscribe","arg":{...},"connId":..}`` per channel; a
refused channel gets ``{"event":"error","code":"60018","msg":..}`` naming the
instId; the text ``ping`` gets ``pong``. Subscribing ``books`` for a market
that already runs sends a ``snapshot`` rebuilt from the true book with a
correct signed CRC-32 ``checksum`` (PROTOCOLS.md 2) and, when the script's
frames carry them, ``prevSeqId=-1``/``seqId``. So a checksum failure
injected by the emulator really recovers after the client resubscribes.

Script: :func:`load_cryptofeed` reads the cryptofeed v1 capture.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson

from tapescope.engine.checksum import okx_checksum
from tapescope.feeds.captures import read_capture
from tapescope.feeds.emulator.scripts.base import Dialect, Script, ScriptFrame, Session, TruthBook

#: OKX channel -> emulator channel.
_CHANNELS = {
    "books": "book", "books5": "book", "bbo-tbt": "book", "books-l2-tbt": "book", "books50-l2-tbt": "book",
    "trades": "trade", "tickers": "ticker", "open-interest": "oi",
}


class OkxDialect(Dialect):
    """OKX v5 public server."""

    venues = ("okx",)

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.books: dict[str, TruthBook] = {}
        """instId -> true book (levels ``[px, sz, "0", n]`` as sent)."""
        self.heads: dict[str, dict[str, Any]] = {}
        """instId -> ``ts`` and ``seqId`` of the last book frame."""

    def on_connect(self, session: Session) -> list[str]:
        return []

    def on_client_frame(self, session: Session, text: str) -> list[str]:
        conn_id = f"emu{session.ident}"
        if text == "ping":
            return ["pong"]
        try:
            req = orjson.loads(text)
            op, args = req["op"], req["args"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [orjson.dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text[:60]}", "connId": conn_id}).decode()]
        out: list[str] = []
        for arg in args:
            inst, chan = arg.get("instId", ""), arg.get("channel", "")
            channel = _CHANNELS.get(chan, "other")
            if op == "unsubscribe":
                session.subs.pop((inst, channel), None)
                out.append(orjson.dumps({"event": "unsubscribe", "arg": arg, "connId": conn_id}).decode())
                continue
            if channel == "book" and self.take_refusal(inst):
                msg = self.refuse_text or f"Wrong URL or channel:{chan},instId:{inst} doesn't exist."
                out.append(orjson.dumps({"event": "error", "code": "60018", "msg": msg, "connId": conn_id}).decode())
                continue
            session.subs[(inst, channel)] = chan
            out.append(orjson.dumps({"event": "subscribe", "arg": arg, "connId": conn_id}).decode())
            if channel == "book" and inst in self.books:
                out.append(self._snapshot_frame(inst, chan))
        return out

    def _snapshot_frame(self, inst: str, chan: str) -> str:
        book, head = self.books[inst], self.heads[inst]
        bids, asks = book.top_bids(400), book.top_asks(400)
        item: dict[str, Any] = {"asks": asks, "bids": bids, "ts": head["ts"]}
        item["checksum"] = okx_checksum([(b[0], b[1]) for b in bids], [(a[0], a[1]) for a in asks])
        if head.get("seqId") is not None:
            item["prevSeqId"] = -1
            item["seqId"] = head["seqId"]
        return orjson.dumps({"arg": {"channel": chan, "instId": inst}, "action": "snapshot", "data": [item]}).decode()

    def render(self, session: Session, frame: ScriptFrame) -> str:
        chan = session.subs[(frame.symbol, frame.channel)]
        if frame.text and frame.data["arg"].get("channel") == chan:
            return frame.text
        return orjson.dumps({**frame.data, "arg": {**frame.data["arg"], "channel": chan}}).decode()

    def apply(self, frame: ScriptFrame) -> None:
        if frame.channel != "book":
            return
        msg = frame.data
        item = msg["data"][0]
        book = self.books.get(frame.symbol)
        if msg.get("action") == "snapshot":
            book = self.books[frame.symbol] = TruthBook()
        elif book is None:
            return  # updates before the first snapshot: the venue's book is unknown here
        for bid, levels in ((True, item.get("bids", [])), (False, item.get("asks", []))):
            for lvl in levels:
                book.put(bid, float(lvl[0]), None if float(lvl[1]) == 0 else list(lvl))
        self.heads[frame.symbol] = {"ts": item.get("ts", "0"), "seqId": item.get("seqId")}

    def corrupt_size(self, frame: ScriptFrame) -> ScriptFrame:
        """Claim a wrong size for the best bid, which every checksum covers (deep levels may not be)."""
        book = self.books.get(frame.symbol)
        if frame.channel != "book" or not book or not book.bids:
            return super().corrupt_size(frame)
        best = list(book.top_bids(1)[0])
        best[1] = f"{float(best[1]) + 1:g}"
        msg = {**frame.data, "data": [dict(frame.data["data"][0])]}
        item = msg["data"][0]
        item["bids"] = [lv for lv in item.get("bids", []) if float(lv[0]) != float(best[0])] + [best]
        return ScriptFrame(frame.symbol, frame.channel, msg, "")

    def error_frame(self, text: str) -> str:
        return orjson.dumps({"event": "error", "code": "50001", "msg": text, "connId": "emu"}).decode()

    def snapshot(self, symbol: str, depth: int = 400) -> dict[str, Any]:
        """The true book now: ``{"bids": [[px, sz, "0", n], ...], "asks": [...]}``, best first."""
        book = self.books.get(symbol, TruthBook())
        return {"bids": book.top_bids(depth), "asks": book.top_asks(depth)}


@functools.lru_cache(maxsize=4)
def load_cryptofeed(path: str, channels: tuple[str, ...] = ("book", "trade")) -> Script:
    """Script from the cryptofeed v1 OKX capture (cached, read-only)."""
    frames: list[ScriptFrame] = []
    for rec in read_capture(Path(path)):
        if rec.kind != "recv" or not rec.data.startswith('{"arg"'):
            continue
        msg = orjson.loads(rec.data)
        if "data" not in msg:
            continue
        channel = _CHANNELS.get(msg["arg"].get("channel", ""), "other")
        if channel in channels:
            frames.append(ScriptFrame(msg["arg"]["instId"], channel, msg, rec.data))
    return Script("okx", frames)
