"""Headless replay: the CSV holds exactly what the engine raised live; windows, symbols, progress."""

from __future__ import annotations

import asyncio
import csv
import doctest
import importlib
import io
from pathlib import Path

import pytest

from tapescope.engine.recorder.config import RecordConfig
from tapescope.engine.recorder.reader import Recording
from tapescope.feeds.sim import SimFeed, SimParams
from tapescope.tui.record import record_session
from tapescope.tui.replay import (
    CSV_COLUMNS,
    AlertTap,
    ReplayProgress,
    alert_row,
    analysis_hub,
    recording_decoders,
    replay_headless,
)
from tapescope.tui.replay_time import NS_PER_S

PARAMS = SimParams(seed=3, symbols=("BTC-SIM", "ETH-SIM"), duration_s=150.0)


class LiveTap(AlertTap):
    """The live session's alerts, as CSV rows (and the hub's books for checkpoints)."""

    @property
    def markets(self):
        return self.hub.markets


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[str]]]:
    path = tmp_path_factory.mktemp("hl") / "sim.db"
    feed = SimFeed(PARAMS, realtime=False)
    feed.inject("spoof", "sim:ETH-SIM", at_ns=feed.start_ns + 40 * NS_PER_S)
    feed.inject("wall", "sim:BTC-SIM", at_ns=feed.start_ns + 30 * NS_PER_S)
    rows: list[list[str]] = []
    tap = LiveTap(analysis_hub(feed.instruments), lambda k, item: rows.append(alert_row(k, item)))
    res = asyncio.run(record_session([feed], path, RecordConfig(checkpoint_interval_s=10.0), hub=tap,
                                     out=io.StringIO(), handle_signals=False))
    assert res.exit_code == 0, res.error
    return path, rows


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_csv_equals_the_live_sessions_detector_events_and_verdicts(session, tmp_path: Path) -> None:
    path, live_rows = session
    seen: list[ReplayProgress] = []
    s = replay_headless(path, tmp_path / "ev.csv", progress=seen.append)
    table = _read(tmp_path / "ev.csv")
    assert tuple(table[0]) == CSV_COLUMNS
    assert table[1:] == live_rows
    types = {r[3] for r in live_rows}
    assert types == {"detector", "signal"}, types
    with Recording.open(path) as rec:
        assert s.messages == rec.message_count
        assert (s.first_ns, s.last_ns) == (rec.first_recv_ns(), rec.last_recv_ns())
    assert s.detector_events == sum(r[3] == "detector" for r in live_rows)
    assert s.signals == sum(r[3] == "signal" for r in live_rows)
    assert s.actionable == sum(r[8] == "1" for r in live_rows)
    assert s.markets == ("sim:BTC-SIM", "sim:ETH-SIM") and s.gaps == 0 and s.rate > 0
    # Progress: every 20k messages, then once at the end at 100 %.
    assert len(seen) == s.messages // 20_000 + 1
    assert [p.messages for p in seen[:-1]] == [20_000 * (i + 1) for i in range(len(seen) - 1)]
    assert all(a.fraction <= b.fraction for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1].fraction == 1.0 and seen[-1].alerts == len(live_rows)


def test_symbols_filter_keeps_one_market(session, tmp_path: Path) -> None:
    path, live_rows = session
    s = replay_headless(path, tmp_path / "eth.csv", symbols=["eth-sim"])
    rows = _read(tmp_path / "eth.csv")[1:]
    assert s.markets == ("sim:ETH-SIM",)
    # Markets are independent, so one market alone raises what it raised beside the other.
    assert rows == [r for r in live_rows if r[2] == "sim:ETH-SIM"] and rows
    with pytest.raises(ValueError, match="DOGE-SIM"):
        replay_headless(path, tmp_path / "x.csv", symbols=["DOGE-SIM"])


def test_time_window(session, tmp_path: Path) -> None:
    path, _ = session
    with Recording.open(path) as rec:
        t0 = rec.first_recv_ns()
        inside = [m.recv_ns for m in rec.iter_messages() if t0 + 60 * NS_PER_S <= m.recv_ns <= t0 + 90 * NS_PER_S]
    s = replay_headless(path, tmp_path / "w.csv", from_ns=t0 + 60 * NS_PER_S, to_ns=t0 + 90 * NS_PER_S)
    rows = _read(tmp_path / "w.csv")[1:]
    # Messages in the window are played; before it only the fast-forward from a checkpoint (<= 10 s).
    assert s.last_ns == inside[-1] and s.first_ns == t0 + 60 * NS_PER_S
    assert len(inside) <= s.messages <= len(inside) * 3 // 2
    assert all(int(r[0]) <= t0 + 90 * NS_PER_S for r in rows)


def test_unknown_venue_is_refused() -> None:
    with pytest.raises(ValueError, match="nowhere"):
        recording_decoders(["nowhere"], [])


@pytest.mark.parametrize("name", ["tapescope.tui.replay", "tapescope.tui.replay_time", "tapescope.tui.replay_cli",
                                  "tapescope.tui.replay_controls"])
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CAPTURE = DATA / "binance_usdm" / "btcusdt_20240808.gz"


@pytest.mark.skipif(not CAPTURE.is_file(), reason=f"shared capture data not found at {DATA}")
def test_headless_replay_of_an_imported_binance_capture(tmp_path: Path) -> None:
    from tapescope.engine.instrument import Instrument
    from tapescope.feeds.importer import import_captures

    res = asyncio.run(import_captures([CAPTURE], tmp_path / "um.db", "binance-usdm", symbols=["BTCUSDT"]))
    usdm = [Instrument("binance-usdm", "BTCUSDT", tick_size=0.1)]
    s = replay_headless(res.files[0], tmp_path / "um.csv", instruments=usdm, symbols=["BTCUSDT"])
    rows = _read(tmp_path / "um.csv")[1:]
    # Every frame plus the REST snapshot; decoders chosen from the recorded venue.
    assert s.messages == 93_954 and s.markets == ("binance-usdm:BTCUSDT",)
    assert len(rows) == s.detector_events + s.signals and s.detector_events > 0
    assert all(r[2] == "binance-usdm:BTCUSDT" for r in rows)
    assert [int(r[0]) for r in rows] == sorted(int(r[0]) for r in rows)
    assert s.last_ns == 1_723_161_599_833_492_584  # the capture's last receive time


def test_cli_entry_parses_the_window_and_reports(session, tmp_path: Path) -> None:
    from tapescope.tui.replay_cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, run_replay_headless

    path, _ = session
    with Recording.open(path) as rec:
        t0 = rec.first_recv_ns()
    out = io.StringIO()
    code = run_replay_headless(path, tmp_path / "cli.csv", from_text="+60s", to_text="+1m30s", stream=out)
    assert code == EXIT_OK, out.getvalue()
    replay_headless(path, tmp_path / "ns.csv", from_ns=t0 + 60 * NS_PER_S, to_ns=t0 + 90 * NS_PER_S)
    assert _read(tmp_path / "cli.csv") == _read(tmp_path / "ns.csv")
    assert out.getvalue().startswith("replayed ") and "msg/s" in out.getvalue()
    out = io.StringIO()
    assert run_replay_headless(path, tmp_path / "x.csv", from_text="yesterday", stream=out) == EXIT_USAGE
    assert "not a time" in out.getvalue()
    out = io.StringIO()
    assert run_replay_headless(path, tmp_path / "x.csv", from_text="+90s", to_text="+10s", stream=out) == EXIT_USAGE
    out = io.StringIO()
    assert run_replay_headless(tmp_path / "missing.db", tmp_path / "x.csv", stream=out) == EXIT_FAILED
    assert "missing.db" in out.getvalue()


def test_export_signals_uses_the_same_pipeline(session, tmp_path: Path) -> None:
    from tapescope.engine.recorder.decode import DecoderRegistry
    from tapescope.engine.recorder.export import export
    from tapescope.feeds.replay import SIM_DECODERS, instruments_from_meta
    from tapescope.tui.replay import signal_fn

    path, live_rows = session
    with Recording.open(path) as rec:
        insts = instruments_from_meta(rec)
    n = export(path, tmp_path / "sig.csv", "signals", decoders=DecoderRegistry(SIM_DECODERS), signal_fn=signal_fn(insts))
    table = _read(tmp_path / "sig.csv")
    assert n == len(live_rows) and tuple(table[0]) == CSV_COLUMNS and table[1:] == live_rows


def test_build_replay_for_the_app(session) -> None:
    from tapescope.tui.replay_cli import build_replay
    from tapescope.tui.replay_config import ReplaySettings

    path, _ = session
    feed, hub = build_replay(path, settings=ReplaySettings(speed=5.0, max_wait_s=2.0), symbols=["BTC-SIM"])
    assert feed.speed == 5.0 and feed.max_wait_s == 2.0 and hub.keys == ["sim:BTC-SIM"]
    assert [i.key for i in feed.instruments] == ["sim:BTC-SIM"]
    assert hub.markets["sim:BTC-SIM"].analysis is not None
    feed.close()
