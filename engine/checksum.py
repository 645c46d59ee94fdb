"""Venue order-book checksums (OKX v5 and Kraken), computed over level strings.

Both venues publish a CRC-32 of their top of book so a client can prove its
local copy matches. The checksum is taken over the price and size *strings*,
so these helpers take ``(price_str, size_str)`` pairs, best level first, and
never reformat them (see ``shared/data/PROTOCOLS.md`` sections 2 and 3).

* OKX: best 25 bids and asks interleaved ``bid:ask`` level by level, joined
  with ``:``; the CRC is read as a **signed** 32-bit integer.
* Kraken: best 10 asks (ascending) then best 10 bids (descending), each
  price and size with ``.`` removed and leading zeros stripped, concatenated;
  the CRC is **unsigned**.

Pure functions, no state. Runtime complexity: ``O(k)`` in the number of
levels used (at most 50 for OKX, 20 for Kraken).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

#: Levels per side in the OKX checksum.
OKX_DEPTH = 25
#: Levels per side in the Kraken checksum (v1 and v2).
KRAKEN_DEPTH = 10

#: A level as received: ``(price_str, size_str)``.
StrLevel = tuple[str, str]


def to_signed32(value: int) -> int:
    """Read an unsigned 32-bit integer as signed two's complement.

    >>> to_signed32(0), to_signed32(2**31 - 1), to_signed32(2**31), to_signed32(2**32 - 1)
    (0, 2147483647, -2147483648, -1)
    """
    return value - 0x1_0000_0000 if value >= 0x8000_0000 else value


def okx_checksum_string(
    bids: Sequence[StrLevel], asks: Sequence[StrLevel], depth: int = OKX_DEPTH
) -> str:
    """The string OKX hashes: ``bidPx:bidSz:askPx:askSz:...`` over the best ``depth`` levels.

    When one side is shorter its missing entries are skipped and the other
    side carries on.

    Args:
        bids: bid levels, best (highest) first.
        asks: ask levels, best (lowest) first.
        depth: levels per side.

    >>> okx_checksum_string([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")])
    '3366.1:7:3366.8:9:3366:6:3368:8'
    >>> okx_checksum_string([("1.5", "2")], [("1.6", "1"), ("1.7", "3")])
    '1.5:2:1.6:1:1.7:3'
    """
    parts: list[str] = []
    append = parts.append
    nb = min(len(bids), depth)
    na = min(len(asks), depth)
    for i in range(max(nb, na)):
        if i < nb:
            px, sz = bids[i]
            append(px)
            append(sz)
        if i < na:
            px, sz = asks[i]
            append(px)
            append(sz)
    return ":".join(parts)


def okx_checksum(bids: Sequence[StrLevel], asks: Sequence[StrLevel]) -> int:
    """OKX ``books`` checksum: signed CRC-32 of :func:`okx_checksum_string`.

    >>> okx_checksum([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")])
    -1881014294
    >>> okx_checksum([], [])
    0
    """
    return to_signed32(zlib.crc32(okx_checksum_string(bids, asks).encode("ascii")))


def kraken_digits(text: str) -> str:
    """A Kraken price or volume string as it enters the checksum.

    >>> kraken_digits("0.05005"), kraken_digits("0.00000500"), kraken_digits("45285.2")
    ('5005', '500', '452852')
    """
    return text.replace(".", "").lstrip("0")


def kraken_checksum_string(
    asks: Sequence[StrLevel], bids: Sequence[StrLevel], depth: int = KRAKEN_DEPTH
) -> str:
    """The string Kraken hashes: top ``depth`` asks then top ``depth`` bids, digits only.

    Args:
        asks: ask levels, best (lowest) first.
        bids: bid levels, best (highest) first.
        depth: levels per side.

    >>> kraken_checksum_string([("0.05005", "0.00000500")], [("0.05000", "1.00000000")])
    '50055005000100000000'
    """
    parts: list[str] = []
    append = parts.append
    for side in (asks, bids):
        for px, sz in side[:depth]:
            append(px.replace(".", "").lstrip("0"))
            append(sz.replace(".", "").lstrip("0"))
    return "".join(parts)


def kraken_checksum(asks: Sequence[StrLevel], bids: Sequence[StrLevel]) -> int:
    """Kraken ``book`` checksum: unsigned CRC-32 of :func:`kraken_checksum_string`.

    >>> kraken_checksum([("0.05005", "0.00000500")], [("0.05000", "1.00000000")])
    1806435574
    """
    return zlib.crc32(kraken_checksum_string(asks, bids).encode("ascii"))
