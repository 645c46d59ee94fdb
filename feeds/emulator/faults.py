"""Faults the loopback exchange injects on demand, and the frame mutations behind them.

A :class:`Fault` names what goes wrong and where: ``at`` counts the book
frames of the emulator's timeline (0 is the first book frame, optionally
only those of ``symbol``). The emulator checks each outgoing book frame
against its faults; every fault fires once (``REFUSE`` fires ``count`` times).

>>> Fault(FaultKind.DROP, at=3)
Fault(kind=<FaultKind.DROP: 'drop'>, at=3, symbol='', count=1, duration_s=0.0, text='')
>>> corrupt_json('{"a":[["1","2"]]}')
'{"a":[["'
>>> wrong_types('{"b":[["1.5","2"]],"u":7}')
'{"b":[[{"bad":true},null]],"u":7}'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson


class FaultKind(StrEnum):
    """What goes wrong."""

    DROP = "drop"
    """The frame is never sent (the venue's book still moves)."""
    DUPLICATE = "duplicate"
    """The frame is sent twice."""
    REORDER = "reorder"
    """The frame is held back and sent after the next frame of the same symbol and channel."""
    CORRUPT_JSON = "corrupt_json"
    """The frame is cut in half: not valid JSON."""
    WRONG_TYPES = "wrong_types"
    """The first price level of the frame has an object and a null instead of numbers."""
    BAD_CHECKSUM = "bad_checksum"
    """One size in the frame is altered, so a venue checksum no longer matches the book."""
    DISCONNECT = "disconnect"
    """The connection is closed by the venue right after the frame."""
    STALL = "stall"
    """The connection stays open but receives nothing more for ``duration_s`` (0: until it reconnects)."""
    BURST = "burst"
    """The next ``count`` frames go out at ten times the configured rate."""
    ERROR = "error"
    """A venue error frame (``text``) is sent before the frame."""
    REFUSE = "refuse"
    """The venue refuses the next ``count`` subscriptions of ``symbol``'s book."""
    REST_LIMIT = "rest_limit"
    """The next ``count`` REST requests get HTTP 429 with ``Retry-After: duration_s`` (when > 0)."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault to inject."""

    kind: FaultKind
    """What goes wrong."""
    at: int = 0
    """Index of the book frame it hits (counting only ``symbol``'s frames when set)."""
    symbol: str = ""
    """Venue symbol the fault is limited to (empty: any)."""
    count: int = 1
    """Frames in a burst; refusals for ``REFUSE``."""
    duration_s: float = 0.0
    """Stall length, seconds (0: until the client reconnects)."""
    text: str = ""
    """Error text for ``ERROR``/``REFUSE`` (a default is used when empty)."""


#: Number of frames a ``BURST`` fault speeds up by default.
DEFAULT_BURST = 500
#: Rate multiplier of a burst.
BURST_FACTOR = 10.0


def corrupt_json(text: str) -> str:
    """Cut a JSON text in half so it no longer parses."""
    return text[: max(1, len(text) // 2)]


def _first_level_list(node: Any) -> list[Any] | None:
    """The first list of price levels (a list whose items are ``[str, str, ...]``) in a JSON tree."""
    if isinstance(node, list):
        if node and all(isinstance(x, list) and len(x) >= 2 for x in node) and _numeric(node[0][0]):
            return node
        for item in node:
            found = _first_level_list(item)
            if found is not None:
                return found
    elif isinstance(node, dict):
        for value in node.values():
            found = _first_level_list(value)
            if found is not None:
                return found
    return None


def _numeric(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


#: (price key, size key) of venues whose levels are objects: Coinbase, Kraken v2.
_DICT_LEVELS = (("price_level", "new_quantity"), ("price", "qty"))


def _level_keys(item: Any) -> tuple[str, str] | None:
    if isinstance(item, dict):
        for keys in _DICT_LEVELS:
            if keys[0] in item and keys[1] in item:
                return keys
    return None


def _first_level_dicts(node: Any) -> list[dict[str, Any]] | None:
    """Object levels (Coinbase ``price_level``/``new_quantity``, Kraken v2 ``price``/``qty``)."""
    if isinstance(node, list):
        if node and _level_keys(node[0]) is not None:
            return node
        for item in node:
            found = _first_level_dicts(item)
            if found is not None:
                return found
    elif isinstance(node, dict):
        for value in node.values():
            found = _first_level_dicts(value)
            if found is not None:
                return found
    return None


def wrong_types(text: str) -> str:
    """Replace the first price level's price and size with an object and a null.

    Frames without a price level get their first string value replaced by a list.
    """
    tree = orjson.loads(text)
    levels = _first_level_list(tree)
    if levels is not None:
        levels[0] = [{"bad": True}, None] + list(levels[0][2:])
    elif (dicts := _first_level_dicts(tree)) is not None:
        pk, qk = _level_keys(dicts[0])  # type: ignore[misc]
        dicts[0][pk] = {"bad": True}
        dicts[0][qk] = None
    elif isinstance(tree, dict):
        for k, v in tree.items():
            if isinstance(v, str):
                tree[k] = [v]
                break
    return orjson.dumps(tree).decode()


def alter_size(data: Any) -> bool:
    """Change one size in a parsed frame in place (for a checksum mismatch).

    The size becomes ``size + 1`` written with the same decimals, so the frame
    stays well-formed and only the book content is wrong.

    Returns:
        True if a size was altered.
    """
    dicts = _first_level_dicts(data)
    if dicts is not None:
        qk = _level_keys(dicts[0])[1]  # type: ignore[index]
        dicts[0][qk] = _bump(dicts[0][qk])
        return True
    levels = _first_level_list(data)
    if levels is not None:
        lvl = levels[0]
        lvl[1] = _bump(lvl[1])
        return True
    return False


def _bump(size: Any) -> Any:
    """``size + 1`` keeping the textual precision.

    >>> _bump("0.500"), _bump("0"), _bump(2.5)
    ('1.500', '1', 3.5)
    """
    if isinstance(size, str):
        decimals = len(size.split(".")[1]) if "." in size else 0
        return f"{float(size) + 1:.{decimals}f}"
    return size + 1
