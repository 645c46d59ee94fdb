"""The import-then-replay checks fail on a damaged capture (so the passing runs mean something).

One message of a capture is corrupted (a checksum off by one) or dropped (a
depth update, a Bybit delta, a Coinbase frame); the damaged copy is imported
with ``tapescope import`` and replayed: the venue's check must report it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

# -- the checks fail on a damaged capture ------------------------------------------------------------


def _bump(m: re.Match) -> str:
    return m.group(0)[: m.start(1) - m.start(0)] + str(int(m.group(1)) + 1) + m.group(0)[m.end(1) - m.start(0):]


#: name -> (line selector, mutation, nth matching line at or after line 100). ``None`` drops the line.
MUTATIONS = {
    "okx": ('"action":"update"', lambda ln: re.sub(r'"checksum":(-?\d+)', _bump, ln, count=1), 5),
    "kraken": ('"c":"', lambda ln: re.sub(r'"c":"(\d+)"', _bump, ln, count=1), 5),
    "binance_usdm_cf": ("sushiusdt@depth", None, 20),
    "bybit": ('orderbook.200.ETHUSDT\\",\\"type\\":\\"delta', None, 20),
    "coinbase": ('l2_data', None, 20),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
async def test_a_damaged_capture_fails_its_check_after_import_and_replay(tools, name: str, tmp_path: Path) -> None:
    rel, venue = tools.CAPTURES[name]
    select, mutate, nth = MUTATIONS[name]
    src = tools.DATA / rel
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, ln in enumerate(lines) if i >= 100 and select in ln]
    at = hits[nth]
    lines[at:at + 1] = [] if mutate is None else [mutate(lines[at])]
    assert (mutate is None) or lines[at] != src.read_text(encoding="utf-8").splitlines(keepends=True)[at]
    bad = tmp_path / src.name
    bad.write_text("".join(lines), encoding="utf-8")
    for companion in src.parent.glob(src.name.split(".ws.")[0] + ".http.*"):
        shutil.copy(companion, tmp_path / companion.name)
    out = tmp_path / "bad.db"
    tools.run_cli("import", str(bad), "--venue", venue, "--out", str(out))
    decs = await tools.replay(out, tools.Sink())
    hs = tools.healths(decs)
    failures = sum(h.checksum_failures for h in hs)
    gaps = sum(h.gaps for h in hs) + sum(getattr(d.protocol, "gaps", 0) for d in decs)
    if name in ("okx", "kraken"):
        assert failures == 1
    else:
        assert gaps >= 1 and failures == 0
