"""Readers for the public exchange-capture formats in ``shared/data``.

Three formats, one record type (:class:`CaptureRecord`), all yielded lazily
in file order:

* hftbacktest gz (``btcusdt_20240808.gz``): ``<recv_ns> <raw json>`` per line.
  Stream messages use Binance's ``{"stream", "data"}`` envelope; the single
  line without an envelope is the REST depth snapshot, yielded as ``http``.
* cryptofeed v1 (``*.ws.N.0``, ``*.http.N.0``): ``<url> <-> <ts>`` (connect),
  ``<url> <- <ts>: <json>`` (sent), ``<ts>: <json>`` (received), and
  ``<url> -> <ts>: <json>`` (REST body). Split on the first ``": "``.
* cryptofeed v2 jsonl (``*.jsonl``): one JSON object per line with ``t`` in
  ``header | http | connect | send | recv``; ``data`` is the raw payload string.

Timestamps become integer nanoseconds by exact decimal arithmetic (a float
would lose the microsecond digits of a 10-digit epoch).

Malformed lines raise :class:`CaptureError` naming the file and line, because
a capture is trusted test and import input: silently skipping would hide a
broken file.
"""

from __future__ import annotations

import gzip
import heapq
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import orjson

#: Record kinds, in the words of the cryptofeed formats.
KINDS = ("connect", "send", "recv", "http")


class CaptureError(ValueError):
    """A capture line that does not follow its format."""


class CaptureRecord(NamedTuple):
    """One line of a capture."""

    kind: str
    """``connect``, ``send``, ``recv`` or ``http``."""
    recv_ns: int
    """Local time of the line, ns since the epoch."""
    conn: str
    """Connection id (v2), connection URL (v1) or ``"ws"`` (hftbacktest)."""
    data: str
    """Raw payload text exactly as captured (``""`` for ``connect``)."""
    url: str = ""
    """Request URL of an ``http`` record, or the address of a ``connect``."""


def seconds_to_ns(text: str) -> int:
    """Exact conversion of a decimal seconds string to integer ns.

    >>> seconds_to_ns("1626992741.301402")
    1626992741301402000
    >>> seconds_to_ns("12")
    12000000000
    """
    whole, _, frac = text.strip().partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise ValueError(f"not a decimal timestamp: {text!r}")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])


def read_hftbacktest(path: str | Path) -> Iterator[CaptureRecord]:
    """Read an hftbacktest ``<recv_ns> <json>`` capture (gzip or plain)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            stamp, sep, payload = line.partition(" ")
            if not sep or not stamp.isdigit():
                raise CaptureError(f"{path}:{lineno}: expected '<ns> <json>'")
            # The REST snapshot is the one line without the stream envelope.
            kind = "recv" if payload.startswith('{"stream"') else "http"
            yield CaptureRecord(kind, int(stamp), "ws", payload)


def read_cryptofeed_v1(path: str | Path) -> Iterator[CaptureRecord]:
    """Read a cryptofeed v1 raw capture (``*.ws.N.0`` or ``*.http.N.0``)."""
    conn = ""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            try:
                if " <-> " in line.split(": ", 1)[0]:
                    url, stamp = line.rsplit(" <-> ", 1)
                    conn = url
                    yield CaptureRecord("connect", seconds_to_ns(stamp), url, "", url)
                    continue
                head, sep, payload = line.partition(": ")
                if not sep:
                    raise ValueError("no ': ' separator")
                if " <- " in head:
                    url, stamp = head.rsplit(" <- ", 1)
                    yield CaptureRecord("send", seconds_to_ns(stamp), url, payload, url)
                elif " -> " in head:
                    url, stamp = head.rsplit(" -> ", 1)
                    yield CaptureRecord("http", seconds_to_ns(stamp), url, payload, url)
                else:
                    yield CaptureRecord("recv", seconds_to_ns(head), conn, payload)
            except ValueError as exc:
                raise CaptureError(f"{path}:{lineno}: {exc}") from None


def read_cryptofeed_jsonl(path: str | Path) -> Iterator[CaptureRecord]:
    """Read a cryptofeed v2 jsonl capture; the header line is skipped."""
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
                kind = rec["t"]
                if kind == "header":
                    continue
                if kind not in KINDS:
                    raise ValueError(f"unknown record type {kind!r}")
                stamp = rec["ts"]
                recv_ns = (
                    round(stamp * 1e9) if isinstance(stamp, float) else int(stamp) * 1_000_000_000
                )
                yield CaptureRecord(
                    kind,
                    recv_ns,
                    str(rec.get("conn", "")),
                    str(rec.get("data", "")),
                    str(rec.get("url", rec.get("addr", ""))),
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise CaptureError(f"{path}:{lineno}: {exc}") from None


def read_capture(path: str | Path) -> Iterator[CaptureRecord]:
    """Read any supported capture, choosing the reader by file name.

    ``.gz`` is hftbacktest, ``.jsonl`` cryptofeed v2, anything else cryptofeed v1.
    """
    name = str(path)
    if name.endswith(".gz"):
        return read_hftbacktest(path)
    if name.endswith(".jsonl"):
        return read_cryptofeed_jsonl(path)
    return read_cryptofeed_v1(path)


def merged(*streams: Iterable[CaptureRecord]) -> Iterator[CaptureRecord]:
    """Merge captures (e.g. a ``.ws`` file and its ``.http`` companion) by time.

    Stable: records with equal times keep the order of the arguments.
    """
    return heapq.merge(*streams, key=lambda r: r.recv_ns)


def companion_http(ws_path: str | Path) -> Path | None:
    """The ``.http.N.0`` file recorded beside a cryptofeed v1 ``.ws.N.0`` file, if any.

    >>> companion_http("/nonexistent/BINANCE_FUTURES.ws.1.0") is None
    True
    """
    p = Path(ws_path)
    if ".ws." not in p.name:
        return None
    prefix = p.name.split(".ws.")[0] + ".http."
    for candidate in sorted(p.parent.glob(prefix + "*")) if p.parent.exists() else []:
        return candidate
    return None
