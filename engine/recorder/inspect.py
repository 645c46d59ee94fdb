"""Summarise a recording: what, when, how much, and what is missing.

:func:`inspect` reads a recording (read-only) and returns a
:class:`RecordingSummary`: venues, symbols, duration, message counts by
connection and by type, gap markers, checkpoints, snapshots and size per
hour. Type classification is pluggable (``classify(conn_id, payload)``);
without it, messages are counted by connection only, which needs no
payload reads.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tapescope.engine.events import NS_PER_S
from tapescope.engine.recorder.errors import CorruptRecordingError
from tapescope.engine.recorder.reader import GapMarker, Recording

#: ``(conn_id, payload) -> type name`` used to count messages by type.
Classifier = Callable[[str, bytes | str], str]
#: Nanoseconds per hour (size-per-hour buckets).
NS_PER_HOUR = 3600 * NS_PER_S


@dataclass(frozen=True, slots=True)
class HourStat:
    """Volume recorded in one clock hour of receive time."""

    hour_ns: int
    """Start of the hour (receive time, ns, aligned to the Unix hour)."""
    messages: int
    """Messages received in the hour."""
    payload_bytes: int
    """Payload bytes received in the hour."""
    disk_bytes: int
    """Estimated bytes on disk: payload bytes scaled by the files' overall overhead."""


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    """What :func:`inspect` found."""

    files: list[tuple[Path, int]]
    """``(file, size in bytes)`` in order."""
    schema_version: int
    """Schema version of the first file."""
    app_version: str
    """tapescope version that wrote it."""
    venues: list[str]
    """Venue ids."""
    symbols: list[str]
    """Market keys."""
    started_ns: int | None
    """Session start as recorded."""
    ended_ns: int | None
    """Session end; None when the recorder did not close cleanly (killed, crashed)."""
    first_recv_ns: int
    """Receive time of the first message."""
    last_recv_ns: int
    """Receive time of the last message."""
    messages: int
    """Total messages."""
    payload_bytes: int
    """Total payload bytes."""
    by_conn: dict[str, int]
    """Messages per connection id."""
    by_type: dict[str, int]
    """Messages per type (per connection when no classifier was given)."""
    gaps: list[GapMarker]
    """Recorder overflow markers."""
    checkpoints: int
    """Book checkpoints stored."""
    snapshots: int
    """REST snapshots stored."""
    per_hour: list[HourStat] = field(default_factory=list)
    """Volume per receive-time hour."""
    instruments: list[dict[str, object]] = field(default_factory=list)
    """Instrument entries stored in meta (tick, lot, kind, source); empty in older recordings."""

    @property
    def duration_s(self) -> float:
        """Seconds between the first and last message."""
        return (self.last_recv_ns - self.first_recv_ns) / NS_PER_S

    @property
    def dropped(self) -> int:
        """Messages lost to recorder overflow."""
        return sum(g.dropped for g in self.gaps)

    @property
    def disk_bytes(self) -> int:
        """Total size of the files."""
        return sum(size for _, size in self.files)

    @property
    def clean(self) -> bool:
        """True when the recording was closed cleanly."""
        return self.ended_ns is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (paths as strings, gaps and hours as dicts)."""
        return {
            "files": [{"path": str(p), "bytes": n} for p, n in self.files],
            "schema_version": self.schema_version,
            "app_version": self.app_version,
            "venues": self.venues,
            "symbols": self.symbols,
            "started_ns": self.started_ns,
            "ended_ns": self.ended_ns,
            "clean": self.clean,
            "first_recv_ns": self.first_recv_ns,
            "last_recv_ns": self.last_recv_ns,
            "duration_s": self.duration_s,
            "messages": self.messages,
            "payload_bytes": self.payload_bytes,
            "disk_bytes": self.disk_bytes,
            "by_conn": self.by_conn,
            "by_type": self.by_type,
            "gaps": [g._asdict() for g in self.gaps],
            "dropped": self.dropped,
            "checkpoints": self.checkpoints,
            "snapshots": self.snapshots,
            "instruments": self.instruments,
            "per_hour": [
                {"hour_ns": h.hour_ns, "messages": h.messages, "payload_bytes": h.payload_bytes,
                 "disk_bytes": h.disk_bytes}
                for h in self.per_hour
            ],
        }

    def to_text(self) -> str:
        """Human-readable multi-line report (for ``tapescope inspect``)."""
        rate = self.messages / self.duration_s if self.duration_s > 0 else 0.0
        lines = [
            f"files      {len(self.files)} ({_human(self.disk_bytes)}): " + ", ".join(p.name for p, _ in self.files),
            f"written by tapescope {self.app_version}, schema {self.schema_version}"
            + ("" if self.clean else "; NOT closed cleanly (last batch may be missing)"),
            f"venues     {', '.join(self.venues) or '-'}",
            f"symbols    {', '.join(self.symbols) or '-'}",
            f"duration   {self.duration_s:,.1f} s, {self.messages:,} messages ({rate:,.0f}/s), "
            f"{_human(self.payload_bytes)} payload",
            f"checkpoints {self.checkpoints:,}, REST snapshots {self.snapshots:,}",
            f"gaps       {len(self.gaps)} ({self.dropped:,} messages dropped by the recorder)",
            *(["instruments:"] if self.instruments else []),
            *(f"  {_instrument_line(i)}" for i in self.instruments),
            "by type:",
            *(f"  {name:<32} {n:>12,}" for name, n in sorted(self.by_type.items(), key=lambda kv: -kv[1])),
            "per hour:",
            *(
                f"  +{(h.hour_ns - self.per_hour[0].hour_ns) // NS_PER_HOUR:>3}h {h.messages:>12,} msgs "
                f"{_human(h.disk_bytes):>10} on disk"
                for h in self.per_hour
            ),
        ]
        return "\n".join(lines)


def _instrument_line(entry: dict[str, object]) -> str:
    """One instrument of the summary: key, tick, lot, kind and where the numbers came from.

    >>> _instrument_line({"venue": "okx", "symbol": "BTC-USDT", "tick_size": 0.1, "lot_size": 1e-08,
    ...                   "kind": "spot", "source": "table"})
    'okx:BTC-USDT                     tick 0.1  lot 1e-08  spot  (table)'
    >>> _instrument_line({"venue": "sim", "symbol": "X"})
    'sim:X                            tick ?  lot ?  ?'
    """
    def num(value: object) -> str:
        return f"{value:g}" if isinstance(value, (int, float)) else "?"

    key = f"{entry.get('venue', '?')}:{entry.get('symbol', '?')}"
    source = entry.get("source")
    return (f"{key:<32} tick {num(entry.get('tick_size'))}  lot {num(entry.get('lot_size'))}  "
            f"{entry.get('kind', '?')}" + (f"  ({source})" if source else ""))


def message_type(conn_id: str, payload: bytes | str) -> str:
    """Best-effort message type of a venue frame, prefixed with the connection's venue.

    Reads the fields venues use to say what a frame is: Binance ``data.e``
    or ``e``, Bybit ``topic``, OKX ``arg.channel``, Coinbase ``channel``,
    Kraken v1 channel names inside arrays, and the simulator's one-letter
    array tags. Anything else is ``json``, ``text`` or ``binary``.

    >>> message_type("binance-usdm#0", b'{"stream":"x@trade","data":{"e":"trade"}}')
    'binance-usdm:trade'
    >>> message_type("bybit#1", '{"topic":"orderbook.200.BTCUSDT","type":"delta"}')
    'bybit:orderbook'
    >>> message_type("bybit#1", '{"success":true,"op":"subscribe"}')
    'bybit:event-subscribe'
    >>> message_type("binance-spot#0", '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT"}}')
    'binance-spot:bookTicker'
    >>> message_type("okx#0", '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update"}')
    'okx:books'
    >>> message_type("kraken#0", '[336,{"a":[]},"book-1000","XBT/CHF"]')
    'kraken:book'
    >>> message_type("x#0", bytes([255, 0])), message_type("x#0", "pong")
    ('x:binary', 'x:text')
    """
    venue = conn_id.split("#", 1)[0]
    try:
        msg = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return f"{venue}:{'text' if isinstance(payload, str) or payload.isascii() else 'binary'}"
    kind = "json"
    if isinstance(msg, dict):
        data = msg.get("data")
        arg = msg.get("arg")
        if isinstance(data, dict) and isinstance(data.get("e"), str):
            kind = data["e"]
        elif isinstance(data, dict) and isinstance(msg.get("stream"), str) and "@" in msg["stream"]:
            kind = msg["stream"].split("@")[1]  # Binance spot bookTicker carries no "e"
        elif isinstance(msg.get("e"), str):
            kind = msg["e"]
        elif isinstance(msg.get("topic"), str):
            kind = msg["topic"].split(".", 1)[0]
        elif isinstance(arg, dict) and isinstance(arg.get("channel"), str):
            kind = arg["channel"] if "event" not in msg else f"event-{msg['event']}"
        elif isinstance(msg.get("channel"), str):
            kind = msg["channel"]
        elif isinstance(msg.get("event"), str):
            kind = f"event-{msg['event']}"
        elif isinstance(msg.get("op"), str):
            kind = f"event-{msg['op']}"  # Bybit replies to subscribe/ping
        elif "lastUpdateId" in msg:
            kind = "rest-depth"
        elif isinstance(msg.get("type"), str):
            kind = msg["type"]
    elif isinstance(msg, list):
        names = [x for x in msg if isinstance(x, str)]
        if names and len(names[0]) == 1 and msg and msg[0] == names[0]:
            kind = names[0]  # the simulator's tagged arrays
        elif names:
            kind = names[0].split("-", 1)[0]
    return f"{venue}:{kind}"


def _human(n: float) -> str:
    """Bytes as ``"12.3 MB"``.

    >>> _human(999), _human(12_345_678)
    ('999 B', '12.3 MB')
    """
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def inspect(path: Path | str, classify: Classifier | None = None) -> RecordingSummary:
    """Summarise the recording at ``path`` (a file or a rotated set), read-only.

    Args:
        path: the recording.
        classify: optional ``(conn_id, payload) -> type``; reads every payload.

    Runtime complexity: ``O(n)`` index scans; ``O(total payload)`` with ``classify``.

    Raises:
        RecordingError: any subclass from :meth:`Recording.open` (empty recordings included).
    """
    try:
        return _summarise(path, classify)
    except sqlite3.DatabaseError as exc:
        raise CorruptRecordingError(f"{path}: damaged ({exc})") from None


def _summarise(path: Path | str, classify: Classifier | None) -> RecordingSummary:
    with Recording.open(path) as rec:
        by_conn: Counter[str] = Counter()
        hours: dict[int, list[int]] = {}
        payload_bytes = checkpoints = snapshots = 0
        for _path, conn, names in rec.part_connections():
            for cid, n in conn.execute("SELECT conn, count(*) FROM messages GROUP BY conn"):
                by_conn[names.get(cid, f"#{cid}")] += n
            for hour, n, size in conn.execute(
                "SELECT recv_ns / ?, count(*), sum(length(CAST(payload AS BLOB))) FROM messages GROUP BY 1",
                (NS_PER_HOUR,),
            ):
                slot = hours.setdefault(hour * NS_PER_HOUR, [0, 0])
                slot[0] += n
                slot[1] += size
                payload_bytes += size
            checkpoints += conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
            snapshots += conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
        if classify is None:
            by_type = dict(by_conn)
        else:
            types: Counter[str] = Counter()
            for msg in rec.iter_messages():
                types[classify(msg.conn_id, msg.payload)] += 1
            by_type = dict(types)
        files = [(p, p.stat().st_size) for p in rec.files]
        disk = sum(s for _, s in files)
        scale = disk / payload_bytes if payload_bytes else 0.0
        per_hour = [HourStat(h, n, b, int(b * scale)) for h, (n, b) in sorted(hours.items())]
        return RecordingSummary(
            files=files,
            schema_version=rec.meta["schema_version"],
            app_version=str(rec.meta.get("app_version", "?")),
            venues=rec.venues,
            symbols=rec.symbols,
            started_ns=rec.started_ns,
            ended_ns=rec.ended_ns,
            first_recv_ns=rec.first_recv_ns(),
            last_recv_ns=rec.last_recv_ns(),
            messages=rec.message_count,
            payload_bytes=payload_bytes,
            by_conn=dict(by_conn),
            by_type=by_type,
            gaps=rec.gaps(),
            checkpoints=checkpoints,
            snapshots=snapshots,
            per_hour=per_hour,
            instruments=[dict(i) for i in rec.meta.get("instruments") or [] if isinstance(i, dict)],
        )
