"""A recording process killed with SIGKILL leaves a valid file holding all committed batches."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tapescope.engine.recorder.reader import Recording
from tapescope.engine.recorder.synthetic import synthetic_stream

#: The child: record an endless synthetic stream, report each committed count on stdout.
CHILD = """
import asyncio, sys
from pathlib import Path
from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.synthetic import synthetic_stream
from tapescope.engine.recorder.writer import Recorder

async def main(path):
    rec = Recorder(Path(path), RecordConfig(batch_interval_ms=50, batch_max_messages=2000))
    await rec.start()
    for n, (conn, recv, payload) in enumerate(synthetic_stream(10**9), start=1):
        rec.on_raw(conn, recv, payload)
        if n % 5000 == 0:
            await rec.flush()
            print("committed", rec.stats.written, flush=True)
        elif n % 500 == 0:
            await asyncio.sleep(0)

asyncio.run(main(sys.argv[1]))
"""


def test_sigkill_mid_recording_leaves_a_valid_file_with_every_committed_batch(tmp_path: Path) -> None:
    out = tmp_path / "killed.db"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    committed = 0
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while committed < 40_000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed = int(line.split()[1])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        stderr = proc.stderr.read() if proc.stderr else ""
    assert committed >= 40_000, f"child did not get going: {stderr[-2000:]}"
    assert proc.returncode == -signal.SIGKILL

    # The WAL is still there (no clean close), and the database is consistent.
    assert (tmp_path / "killed.db-wal").exists()
    con = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()

    with Recording.open(out) as rec:
        n = rec.message_count
        # Everything reported committed is there; at most the batches in flight are lost.
        assert n >= committed
        assert rec.ended_ns is None  # never closed cleanly, and says so
        expected = [p for _, _, p in synthetic_stream(n)]
        assert [m.payload for m in rec.iter_messages()] == expected
        assert [m.id for m in rec.iter_messages(n - 2)] == [n - 2, n - 1, n]
