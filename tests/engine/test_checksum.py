"""OKX and Kraken checksum helpers against hand-built strings and a real OKX snapshot."""

from __future__ import annotations

import zlib
from pathlib import Path

import orjson
import pytest

from tapescope.engine.checksum import (
    kraken_checksum,
    kraken_checksum_string,
    kraken_digits,
    okx_checksum,
    okx_checksum_string,
    to_signed32,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_signed_conversion_boundaries() -> None:
    assert [to_signed32(v) for v in (0, 1, 2**31 - 1, 2**31, 2**32 - 1)] == [
        0,
        1,
        2**31 - 1,
        -(2**31),
        -1,
    ]


def test_okx_interleaves_and_carries_on_when_one_side_is_short() -> None:
    bids = [(f"{100 - i}", f"{i + 1}") for i in range(3)]
    asks = [(f"{200 + i}", "0.10") for i in range(30)]
    text = okx_checksum_string(bids, asks)
    expected = "100:1:200:0.10:99:2:201:0.10:98:3:202:0.10:" + ":".join(
        f"{200 + i}:0.10" for i in range(3, 25)
    )
    assert text == expected
    c = zlib.crc32(expected.encode())
    assert okx_checksum(bids, asks) == (c - 2**32 if c >= 2**31 else c)


def test_okx_uses_only_25_levels_and_strings_verbatim() -> None:
    bids = [(f"{1000 - i}.5", "1") for i in range(40)]
    asks = [(f"{2000 + i}.5", "1") for i in range(40)]
    assert okx_checksum(bids, asks) == okx_checksum(bids[:25], asks[:25])
    assert okx_checksum([("1.0", "1")], []) != okx_checksum([("1", "1")], [])


def test_kraken_digits_and_order_asks_then_bids() -> None:
    assert (
        kraken_digits("0.00000500") == "500"
        and kraken_digits("45285.2") == "452852"
        and kraken_digits("0.0") == ""
    )
    asks = [("0.05005", "0.00000500"), ("0.05010", "1.00000000")]
    bids = [("0.05000", "2.50000000")]
    text = kraken_checksum_string(asks, bids)
    assert text == "5005" + "500" + "5010" + "100000000" + "5000" + "250000000"
    assert kraken_checksum(asks, bids) == zlib.crc32(text.encode())  # unsigned
    many = [(f"{i}.0", "1.0") for i in range(1, 30)]
    assert kraken_checksum(many, many) == kraken_checksum(many[:10], many[:10])


@pytest.mark.skipif(not (DATA / "okx").is_dir(), reason=f"real captures not found at {DATA}")
def test_okx_checksum_of_the_captured_snapshots() -> None:
    """The 400-level snapshots are sorted best first, so their first 25 levels give the venue's checksum."""
    checked = 0
    for line in (DATA / "okx" / "OKX.ws.1.0").read_text().splitlines():
        if '"action":"snapshot"' in line:
            item = orjson.loads(line.split(": ", 1)[1])["data"][0]
            bids = [(lv[0], lv[1]) for lv in item["bids"]]
            asks = [(lv[0], lv[1]) for lv in item["asks"]]
            assert okx_checksum(bids, asks) == item["checksum"]
            checked += 1
    assert checked == 3
