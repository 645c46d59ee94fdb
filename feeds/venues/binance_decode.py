"""Binance wire format: decode combined-stream frames into routed messages.

Pure functions and one small message class, shared by the spot and USD-M
protocols (:mod:`tapescope.feeds.venues.binance`) and their book syncs
(:mod:`tapescope.feeds.venues.binance_sync`).

What a frame becomes:

* ``depthUpdate``: :class:`MsgKind.DEPTH <tapescope.feeds.venues.base.MsgKind>`
  with a :class:`BinanceDepth` for that symbol's book sync.
* ``trade`` / ``aggTrade``: an engine :class:`~tapescope.engine.events.Trade`
  (``m`` true means the buyer was the maker, so the taker sold: side -1).
* ``bookTicker``: ``IGNORED`` with the parsed dict as payload (the live path
  drops it; conformance tests use it as the oracle for the book top).
* ``{"result": null, "id": n}``: ``CONTROL`` (subscription ack).
* ``{"code": c, "msg": m}`` or ``{"error": {...}}``: ``ERROR`` with sanitised text.

Anything malformed raises :class:`~tapescope.feeds.venues.base.BadMessage`
with a short reason. Decoding is on the hot path, so levels are parsed in one
loop that converts and validates at once and allocates only the
``(price, size)`` tuples.

>>> lv = parse_levels([["100.5", "2"], ["100.0", "0"]], "b")
>>> lv
[(100.5, 2.0), (100.0, 0.0)]
>>> parse_levels([["100.5", "-1"]], "b")
Traceback (most recent call last):
...
tapescope.feeds.venues.base.BadMessage: bad level in b: ['100.5', '-1']
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from tapescope.feeds.venues.base import BadMessage

#: Positive infinity, bound once for the level checks.
_INF = math.inf
#: Milliseconds to nanoseconds.
MS_TO_NS = 1_000_000
#: Longest error or reason text handed to the health screen.
MAX_TEXT = 160

_str = str
_list = list
_int = int
_float = float


def sanitise(text: Any, limit: int = MAX_TEXT) -> str:
    """One printable ASCII line of at most ``limit`` characters.

    Venue text and frame excerpts end up on the health screen and in logs, so
    control characters (terminal escapes) and non-ASCII are replaced.

    >>> sanitise("bad\\x1b[31m frame\\n")
    'bad?[31m frame?'
    >>> len(sanitise("x" * 500))
    160
    """
    s = text if isinstance(text, str) else repr(text)
    out = "".join(c if " " <= c <= "~" else "?" for c in s[: limit + 1])
    return out if len(out) <= limit else out[: limit - 3] + "..."


def parse_levels(levels: Any, name: str) -> list[tuple[float, float]]:
    """Parse ``[[price, qty], ...]`` strings into float tuples, validating each.

    Prices must be finite and positive, sizes finite and non-negative (0
    deletes), both JSON strings as Binance sends them.

    Runtime complexity: ``O(k)`` for ``k`` levels.

    Raises:
        BadMessage: not a list of ``[str, str]`` pairs, or a bad number.
    """
    if levels.__class__ is not _list:
        raise BadMessage(f"{name} is not a list")
    out: list[tuple[float, float]] = []
    app = out.append
    try:
        for lv in levels:
            p, q = lv
            fp = _float(p)
            fq = _float(q)
            # One chained test per level: NaN fails every comparison, so
            # ``not (0 < x < inf)`` catches NaN, inf, zero/negative prices.
            if not (0.0 < fp < _INF and 0.0 <= fq < _INF) or lv.__class__ is not _list \
                    or p.__class__ is not _str or q.__class__ is not _str:
                raise ValueError
            app((fp, fq))
    except (TypeError, ValueError):
        raise BadMessage(f"bad level in {name}: {sanitise(lv, 60)}") from None
    return out


class BinanceDepth:
    """One ``depthUpdate`` for one symbol, with levels already parsed.

    Spot events have no ``pu`` (it is ``-1`` here) and no ``T`` (it equals ``E``).
    """

    __slots__ = ("E", "T", "U", "u", "pu", "bids", "asks")

    def __init__(
        self,
        E: int,
        T: int,
        U: int,
        u: int,
        pu: int,
        bids: list[tuple[float, float]],
        asks: list[tuple[float, float]],
    ) -> None:
        self.E = E
        """Event time, ms."""
        self.T = T
        """Transaction time, ms (futures; equals ``E`` on spot)."""
        self.U = U
        """First update id in the event."""
        self.u = u
        """Last update id in the event."""
        self.pu = pu
        """Previous event's ``u`` (futures only; ``-1`` on spot)."""
        self.bids = bids
        """Changed bids ``(price, size)``, absolute sizes, 0 deletes."""
        self.asks = asks
        """Changed asks ``(price, size)``, absolute sizes, 0 deletes."""

    def __repr__(self) -> str:
        return (
            f"BinanceDepth(E={self.E}, U={self.U}, u={self.u}, pu={self.pu}, "
            f"bids={len(self.bids)}, asks={len(self.asks)})"
        )


def _id(data: dict, name: str) -> int:
    """A required non-negative integer field (bools are refused)."""
    v = data[name]
    if v.__class__ is not _int or v < 0:
        raise BadMessage(f"bad {name}: {sanitise(v, 40)}")
    return v


def decode_depth(data: dict) -> BinanceDepth:
    """Build a :class:`BinanceDepth` from a ``depthUpdate`` payload.

    Raises:
        BadMessage: missing or mistyped fields, bad levels, ``U > u``.
        KeyError: a required field is absent (the caller turns it into BadMessage).
    """
    E = data["E"]
    U = data["U"]
    u = data["u"]
    pu = data.get("pu", -1)
    T = data.get("T", E)
    # One combined test on the hot path; the slow path below names the culprit.
    if (
        E.__class__ is not _int or U.__class__ is not _int or u.__class__ is not _int
        or pu.__class__ is not _int or T.__class__ is not _int or E < 0 or U < 0 or U > u
    ):
        for name in ("E", "U", "u"):
            _id(data, name)
        for name, v in (("pu", pu), ("T", T)):
            if v.__class__ is not _int:
                raise BadMessage(f"bad {name}: {sanitise(v, 40)}")
        raise BadMessage(f"depth U={U} > u={u}")
    return BinanceDepth(E, T, U, u, pu, parse_levels(data["b"], "b"), parse_levels(data["a"], "a"))


def parse_price(v: Any, name: str) -> float:
    """A positive finite price or non-negative size sent as a string.

    >>> parse_price("1.5", "p")
    1.5

    Raises:
        BadMessage: not a numeric string, negative, NaN or infinite.
    """
    if v.__class__ is not _str:
        raise BadMessage(f"bad {name}: {sanitise(v, 40)}")
    try:
        f = _float(v)
    except ValueError:
        raise BadMessage(f"bad {name}: {sanitise(v, 40)}") from None
    if not 0.0 <= f < _INF:
        raise BadMessage(f"bad {name}: {sanitise(v, 40)}")
    return f


def loads(payload: bytes | str) -> Any:
    """``orjson.loads`` with failures turned into :class:`BadMessage`.

    >>> loads(b'{"a":1}')
    {'a': 1}
    >>> loads(b'{"a":')
    Traceback (most recent call last):
    ...
    tapescope.feeds.venues.base.BadMessage: bad JSON (5 bytes)
    """
    try:
        return orjson.loads(payload)
    except (orjson.JSONDecodeError, TypeError):
        raise BadMessage(f"bad JSON ({len(payload) if hasattr(payload, '__len__') else '?'} bytes)") from None


def error_text(obj: dict) -> str | None:
    """Sanitised text of a Binance error frame, or ``None`` if ``obj`` is not one.

    >>> error_text({"code": 2, "msg": "Invalid request: unknown variable", "id": 3})
    'code 2: Invalid request: unknown variable (id 3)'
    >>> error_text({"error": {"code": -1121, "msg": "Invalid symbol."}, "id": 1})
    'code -1121: Invalid symbol. (id 1)'
    >>> error_text({"result": None, "id": 1}) is None
    True
    """
    err = obj.get("error")
    if isinstance(err, dict):
        src = err
    elif "code" in obj and "msg" in obj:
        src = obj
    else:
        return None
    text = f"code {sanitise(src.get('code'), 20)}: {sanitise(src.get('msg'), 100)}"
    if "id" in obj:
        text += f" (id {sanitise(obj['id'], 20)})"
    return sanitise(text)
