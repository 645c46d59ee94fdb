"""Kraken spot websocket v2, server side: ``method:subscribe``, checksummed book, instrument precisions.

Dialect: ``{"method":"subscribe","params":{"channel":"book","symbol":[...],"depth":N,"snapshot":true}}``
gets one ack per symbol (``{"method":"subscribe","result":{...},"success":true}``)
then a ``book`` ``snapshot`` of the true book (best ``N`` levels) with its
CRC-32 ``checksum``; a refused pair gets ``success:false`` with the pair in
``error``. The ``instrument`` channel answers each pair's
``price_precision``/``qty_precision``; ``{"method":"ping"}`` gets ``pong``;
heartbeats reach every subscribed connection.

Script: :func:`load_v1` turns the cryptofeed v1 capture (Kraken WS v1,
``[chanId, {...}, "book-N", "PAIR"]``) into v2 ``book`` messages: levels
become ``{"price": number, "qty": number}``, the v1 checksum ``c`` becomes
``checksum`` (the algorithm is the same once numbers are written with the
pair's precision, which is taken from the v1 strings).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson

from tapescope.engine.checksum import kraken_checksum
from tapescope.feeds.captures import read_capture
from tapescope.feeds.emulator.scripts.base import Dialect, Script, ScriptFrame, Session, TruthBook


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


class KrakenDialect(Dialect):
    """Kraken spot websocket v2 server."""

    venues = ("kraken",)

    def __init__(self, script: Script) -> None:
        super().__init__(script)
        self.books: dict[str, TruthBook] = {}
        """Pair -> true book (levels ``(price_str, qty_str)``)."""
        self.precision: dict[str, tuple[int, int]] = dict(script.snapshots.get("precision", {}))
        """Pair -> (price_precision, qty_precision)."""
        self.depth: int = int(script.snapshots.get("depth", 1000))
        """Depth the script's book was recorded at (the true book is truncated to it)."""

    def on_connect(self, session: Session) -> list[str]:
        return []

    def wants(self, session: Session, frame: ScriptFrame) -> bool:
        if frame.channel == "heartbeat":
            return bool(session.subs)
        return super().wants(session, frame)

    def on_client_frame(self, session: Session, text: str) -> list[str]:
        try:
            req = orjson.loads(text)
            method = req["method"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return [orjson.dumps({"error": "Malformed request", "success": False}).decode()]
        req_id = req.get("req_id")
        if method == "ping":
            return [orjson.dumps({"method": "pong", "req_id": req_id}).decode()]
        params = req.get("params", {})
        chan = params.get("channel", "")
        if method not in ("subscribe", "unsubscribe"):
            return [orjson.dumps({"error": f"Unsupported method {method}", "method": method, "success": False}).decode()]
        if chan == "instrument":
            pairs = [{"symbol": p, "price_precision": pp, "qty_precision": qp} for p, (pp, qp) in self.precision.items()]
            session.subs[("", "instrument")] = chan
            return [
                orjson.dumps({"method": method, "result": {"channel": chan, "snapshot": True}, "success": True, "req_id": req_id}).decode(),
                orjson.dumps({"channel": "instrument", "type": "snapshot", "data": {"assets": [], "pairs": pairs}}).decode(),
            ]
        channel = {"book": "book", "trade": "trade", "ticker": "ticker"}.get(chan, "other")
        out: list[str] = []
        for pair in params.get("symbol", []):
            if method == "unsubscribe":
                session.subs.pop((pair, channel), None)
                out.append(orjson.dumps({"method": method, "result": {"channel": chan, "symbol": pair}, "success": True, "req_id": req_id}).decode())
                continue
            if channel == "book" and self.take_refusal(pair):
                err = self.refuse_text or f"Currency pair not supported {pair}"
                out.append(orjson.dumps({"error": err, "method": method, "success": False, "symbol": pair, "req_id": req_id}).decode())
                continue
            depth = int(params.get("depth", 10))
            session.subs[(pair, channel)] = chan
            session.state[f"depth:{pair}"] = depth
            result = {"channel": chan, "symbol": pair, "snapshot": True}
            if channel == "book":
                result["depth"] = depth
            out.append(orjson.dumps({"method": method, "result": result, "success": True, "req_id": req_id}).decode())
            if channel == "book" and pair in self.books:
                out.append(self._snapshot_frame(pair, depth))
        return out

    def _snapshot_frame(self, pair: str, depth: int) -> str:
        book = self.books[pair]
        bids, asks = book.top_bids(depth), book.top_asks(depth)
        item = {
            "symbol": pair,
            "bids": [{"price": float(p), "qty": float(q)} for p, q in bids],
            "asks": [{"price": float(p), "qty": float(q)} for p, q in asks],
            "checksum": kraken_checksum(asks, bids),
        }
        return orjson.dumps({"channel": "book", "type": "snapshot", "data": [item]}).decode()

    def render(self, session: Session, frame: ScriptFrame) -> str:
        if frame.text:
            return frame.text
        data = frame.data
        if frame.channel == "book":
            # Drop the v1 strings the script keeps beside the v2 levels.
            items = [{k: v for k, v in d.items() if not k.startswith("_")} for d in data["data"]]
            data = {**data, "data": items}
        return orjson.dumps(data).decode()

    def apply(self, frame: ScriptFrame) -> None:
        if frame.channel != "book":
            return
        msg = frame.data
        item = msg["data"][0]
        pair = item["symbol"]
        book = self.books.get(pair)
        if msg["type"] == "snapshot":
            book = self.books[pair] = TruthBook()
        elif book is None:
            return
        for bid, levels in ((True, item["_b"]), (False, item["_a"])):
            for p, q in levels:
                book.put(bid, float(p), None if float(q) == 0 else (p, q))
        # Kraken's rule: after each message keep only the subscribed depth per side.
        for side, keep in ((book.bids, sorted(book.bids, reverse=True)[: self.depth]), (book.asks, sorted(book.asks)[: self.depth])):
            if len(side) > self.depth:
                kept = set(keep)
                for p in [p for p in side if p not in kept]:
                    del side[p]

    def corrupt_size(self, frame: ScriptFrame) -> ScriptFrame:
        """Claim a wrong size for the best bid, which the top-10 checksum always covers."""
        book = self.books.get(frame.symbol)
        if frame.channel != "book" or not book or not book.bids:
            return super().corrupt_size(frame)
        p, q = book.top_bids(1)[0]
        item = dict(frame.data["data"][0])
        item["bids"] = [lv for lv in item["bids"] if lv["price"] != float(p)] + [{"price": float(p), "qty": float(q) + 1}]
        return ScriptFrame(frame.symbol, frame.channel, {**frame.data, "data": [item]}, "")

    def error_frame(self, text: str) -> str:
        return orjson.dumps({"error": text, "success": False}).decode()

    def snapshot(self, symbol: str, depth: int = 1000) -> dict[str, Any]:
        """The true book now: ``{"bids": [(price, qty), ...], "asks": [...]}`` strings, best first."""
        book = self.books.get(symbol, TruthBook())
        return {"bids": book.top_bids(depth), "asks": book.top_asks(depth)}


def _v2_levels(levels: list[list[str]]) -> list[dict[str, float]]:
    return [{"price": float(lv[0]), "qty": float(lv[1])} for lv in levels]


@functools.lru_cache(maxsize=4)
def load_v1(path: str) -> Script:
    """Script of v2 book messages from the cryptofeed v1 Kraken capture (cached, read-only).

    The v1 strings are kept beside the v2 levels (``_b``/``_a``, not sent) so the
    emulator's true book and checksums use them exactly; ``snapshots`` holds the
    per-pair precisions and the recorded depth.
    """
    frames: list[ScriptFrame] = []
    precision: dict[str, tuple[int, int]] = {}
    depth = 1000
    for rec in read_capture(Path(path)):
        if rec.kind != "recv" or not rec.data.startswith("["):
            continue
        msg = orjson.loads(rec.data)
        channel_name, pair = msg[-2], msg[-1]
        if not str(channel_name).startswith("book-"):
            continue
        depth = int(channel_name.split("-")[1])
        parts = msg[1:-2]
        bids: list[list[str]] = []
        asks: list[list[str]] = []
        checksum = None
        snapshot = False
        for part in parts:
            if "as" in part or "bs" in part:
                snapshot = True
                asks += part.get("as", [])
                bids += part.get("bs", [])
            asks += part.get("a", [])
            bids += part.get("b", [])
            if "c" in part:
                checksum = int(part["c"])
        for lv in bids + asks:
            pp, qp = precision.get(pair, (0, 0))
            precision[pair] = (max(pp, _decimals(lv[0])), max(qp, _decimals(lv[1])))
        item: dict[str, Any] = {"symbol": pair, "bids": _v2_levels(bids), "asks": _v2_levels(asks)}
        if checksum is not None:
            item["checksum"] = checksum
        v2 = {"channel": "book", "type": "snapshot" if snapshot else "update", "data": [item]}
        text = orjson.dumps(v2).decode()
        item["_b"], item["_a"] = [lv[:2] for lv in bids], [lv[:2] for lv in asks]
        frames.append(ScriptFrame(pair, "book", v2, text))
    # Snapshots carry no v1 checksum; compute v2's from the levels as sent.
    for f in frames:
        item = f.data["data"][0]
        if f.data["type"] == "snapshot" and "checksum" not in item:
            asks = sorted(item["_a"], key=lambda lv: float(lv[0]))[:depth]
            bids = sorted(item["_b"], key=lambda lv: -float(lv[0]))[:depth]
            item["checksum"] = kraken_checksum([tuple(a) for a in asks], [tuple(b) for b in bids])
            f.text = orjson.dumps({**f.data, "data": [{k: v for k, v in item.items() if not k.startswith("_")}]}).decode()
    return Script("kraken", frames, {"precision": precision, "depth": depth})
