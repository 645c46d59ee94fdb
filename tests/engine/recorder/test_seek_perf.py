"""Seeking in a one-hour recording rebuilds the books in well under a second."""

from __future__ import annotations

import time
from pathlib import Path

from tapescope.engine.recorder.bench import bench_seek, make_long_recording, rebuild_books
from tapescope.engine.recorder.reader import Recording
from tapescope.engine.recorder.synthetic import books_from, synthetic_stream


def test_seek_in_a_one_hour_recording_is_under_a_second(tmp_path: Path) -> None:
    path = tmp_path / "hour.db"
    rate = 30.0  # msg/s: 108,000 messages over one hour of receive time
    n = make_long_recording(path, hours=1.0, rate=rate, checkpoint_s=60.0)
    assert n == 108_000
    result = bench_seek(path, time.perf_counter_ns, seeks=10)
    assert result.span_s >= 3599
    assert max(result.seek_s) < 1.0, result.to_text()
    assert result.open_s < 1.0
    # And the rebuilt book is the true one at that time.
    msgs = list(synthetic_stream(n, step_ns=int(1e9 / rate)))
    t = msgs[77_777][1] + 1
    with Recording.open(path) as rec:
        got = rebuild_books(rec, t)
    oracle = books_from(msgs[:77_778])
    for k, book in oracle.items():
        assert list(got[k].bids.items()) == list(book.bids.items())
        assert list(got[k].asks.items()) == list(book.asks.items())
