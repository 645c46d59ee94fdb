"""The tapescope CLI: help, config printing with sources, locate, and one-line errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tapescope.tui import cli
from tapescope.tui.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [(), ("demo",), ("config",), ("locate",)])
def test_help_for_every_command(capsys, argv) -> None:
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0
    assert out.startswith("Usage: tapescope")
    assert "--help" in out


def test_top_level_help_lists_commands_and_global_flags(capsys) -> None:
    _, out, _ = run(capsys, "--help")
    for word in ("demo", "config", "locate", "--config", "--fps", "--theme", "precedence"):
        assert word in out


def test_config_toml_shows_sources_and_round_trips(capsys, tmp_path: Path) -> None:
    extra = tmp_path / "c.toml"
    extra.write_text("[app]\nsize_digits = 2\n")
    code, out, _ = run(capsys, "--config", str(extra), "--fps", "25", "config", "--format", "toml")
    assert code == 0
    assert "fps = 25  # --fps flag" in out
    assert f"size_digits = 2  # {extra}" in out
    assert 'theme = "tapescope-dark"  # default' in out
    parsed = tomllib.loads(out)
    assert parsed["app"]["fps"] == 25 and parsed["keys"]["quit"] == "q"


def test_config_table(capsys) -> None:
    code, out, _ = run(capsys, "--theme", "tapescope-light", "config")
    assert code == 0
    assert "app.theme" in out and "tapescope-light" in out and "--theme flag" in out


def test_bad_config_is_one_line_exit_2(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[app]\nfps = 0\n")
    code, out, err = run(capsys, "--config", str(bad), "config")
    assert code == 2
    assert err == f"tapescope: config error: {bad}: app.fps = 0: expected a value from 1 to 60\n"
    assert "Traceback" not in out + err


def test_bad_user_file_is_one_line_exit_2(capsys, isolated_config: Path) -> None:
    isolated_config.write_text("[app]\nnope = 1\n")
    code, _, err = run(capsys, "config")
    assert code == 2
    assert err.count("\n") == 1 and "app.nope: unknown key" in err


def test_missing_config_file(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "--config", str(tmp_path / "none.toml"), "config")
    assert code == 2 and "none.toml: file not found" in err


def test_bad_flag_is_a_usage_error(capsys) -> None:
    code, _, err = run(capsys, "--fps", "0", "config")
    assert code == 2 and "--fps" in err and "Traceback" not in err


def test_bench_profile_path_must_be_a_known_path(capsys) -> None:
    code, _, err = run(capsys, "bench", "--profile", "--profile-path", "nope", "--frames", "0")
    assert code == 2 and "--profile-path" in err and "engine, full or tick" in err


def test_locate(capsys, isolated_config: Path) -> None:
    code, out, _ = run(capsys, "locate")
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"config {isolated_config}"
    assert lines[1].startswith("data ") and lines[2].startswith("logs ")
    code, out, _ = run(capsys, "locate", "config")
    assert out == f"{isolated_config}\n"


def test_no_command_without_live_venues_runs_demo_with_notice(capsys, monkeypatch) -> None:
    from tapescope.tui import wiring

    ran: list = []
    monkeypatch.setattr(wiring, "live_available", lambda: False)
    monkeypatch.setattr(wiring, "build_demo", lambda cfg, seed=None: ("feed", "hub"))
    monkeypatch.setattr(cli, "_run", lambda cfg, feed, hub: ran.append((cfg.app.fps, feed, hub)))
    code, _, err = run(capsys, "--fps", "12")
    assert code == 0
    assert ran == [(12, "feed", "hub")]
    assert err == ("tapescope: live venues are not available in this build; "
                   "opening the simulated demo market.\n")


def test_demo_passes_seed(capsys, monkeypatch) -> None:
    from tapescope.tui import wiring

    seen: list = []
    monkeypatch.setattr(wiring, "build_demo", lambda cfg, seed=None: (seen.append(seed), "f", "h")[1:])
    monkeypatch.setattr(cli, "_run", lambda cfg, feed, hub: None)
    assert run(capsys, "demo", "--seed", "42")[0] == 0
    assert seen == [42]


def test_record_demo_writes_a_recording(capsys, tmp_path: Path) -> None:
    from tapescope.engine.recorder.reader import Recording

    path = tmp_path / "session.db"
    code, _, _ = run(capsys, "record", str(path), "--duration", "1.5", "--demo")
    assert code == 0 and path.is_file()
    with Recording.open(path) as rec:
        assert rec.message_count > 0
        assert all(key.startswith("sim:") for key in rec.symbols)
        # The effective configuration travels with the recording.
        assert rec.meta["config"]["app"]["fps"] == 10
        assert rec.meta["config"]["volatility"]["garch"]


def test_record_without_live_venues_records_the_demo_with_notice(capsys, monkeypatch, tmp_path) -> None:
    from tapescope.tui import record as record_mod
    from tapescope.tui import wiring

    calls: list = []
    monkeypatch.setattr(wiring, "live_available", lambda: False)
    monkeypatch.setattr(record_mod, "run_record",
                        lambda feeds, path, config, **kw: calls.append((feeds, path, config, kw)) or 0)
    code, _, err = run(capsys, "--config", str(_write(tmp_path, "[record]\nbatch_interval_ms = 500\n")),
                       "record", str(tmp_path / "x.db"), "--duration", "3")
    assert code == 0
    assert "recording the simulated demo market" in err
    (feeds, path, config, kw) = calls[0]
    assert [f.name for f in feeds] == ["sim"] and path == tmp_path / "x.db"
    assert config.batch_interval_ms == 500 and kw["duration_s"] == 3.0
    assert kw["app_config"]["record"]["batch_interval_ms"] == 500
    assert kw["hub"].keys == [i.key for i in feeds[0].instruments]


def test_bench_runs_engine_bench_and_frame_timing(capsys, monkeypatch) -> None:
    from tapescope.tui import bench as bench_mod
    from tapescope.tui import perf

    seen: list = []
    monkeypatch.setattr(bench_mod, "bench", lambda params: seen.append(params))
    monkeypatch.setattr(perf, "render_frame_time",
                        lambda size, frames: type("R", (), {"summary": lambda self: f"frames={frames} {size}"})())
    code, out, _ = run(capsys, "bench", "--messages", "500", "--profile", "--no-isolate", "--frames", "7")
    assert code == 0
    assert (seen[0].messages, seen[0].profile, seen[0].isolate) == (500, True, False)
    assert "frames=7 (120, 40)" in out


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return path


ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def test_eval_scenarios_prints_table_and_writes_json(capsys, tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    code, text, err = run(capsys, "eval", "--scenarios", "1", "--duration", "60", "--symbols", "1", "--out", str(out))
    assert code == 0, err
    assert "precision" in text and "recall" in text
    assert json.loads(out.read_text())["params"]["duration_s"] == 60


def test_eval_refuses_unknown_output_format(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "eval", "--scenarios", "1", "--out", str(tmp_path / "x.xlsx"))
    assert code == 2 and "use a .csv or .json" in err


def test_inspect_refuses_a_non_recording_in_one_line(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_text("hello")
    code, out, err = run(capsys, "inspect", str(bad))
    assert code == 1  # unreadable input: the recording commands' failure status
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not DATA.is_dir(), reason=f"real captures not found at {DATA}")
def test_import_then_inspect_a_real_capture(capsys, tmp_path: Path) -> None:
    cap = DATA / "binance_usdm" / "BINANCE_FUTURES.ws.1.0"
    out = tmp_path / "bf.db"
    code, text, err = run(capsys, "import", str(cap), str(cap.with_name("BINANCE_FUTURES.http.0.0")),
                          "--out", str(out), "--venue", "binance-usdm")
    assert code == 0, err
    code, shown, err = run(capsys, "inspect", str(out), "--json")
    assert code == 0, err
    doc = json.loads(shown)
    assert "binance-usdm" in json.dumps(doc)


def test_venue_and_symbols_flags_set_the_watchlist(capsys) -> None:
    code, out, err = run(capsys, "--venue", "bybit-linear", "--symbols", "BTCUSDT,okx:BTC-USDT-SWAP",
                         "config", "--format", "toml")
    assert code == 0, err
    assert 'default_venue = "bybit-linear"  # --default-venue flag' in out
    assert "okx:BTC-USDT-SWAP" in out


def test_eval_of_a_recording_scores_its_signals(capsys, tmp_path: Path) -> None:
    import asyncio

    from tapescope.feeds.sim import SimFeed, SimParams
    from tapescope.tui.record import record_session

    db = tmp_path / "sim.db"
    feed = SimFeed(SimParams(seed=4, symbol_count=1, duration_s=90.0), realtime=False)
    recorded = asyncio.run(record_session([feed], db, handle_signals=False))
    out = tmp_path / "signals.json"
    code, text, err = run(capsys, "eval", str(db), "--out", str(out))
    assert code == 0, err
    assert "verdicts over" in text and "market-seconds" in text
    doc = json.loads(out.read_text())
    # The replay went through every recorded message, over the whole 90 s session.
    assert doc["events"] == recorded.stats.written
    assert doc["horizons_s"] == [10, 60, 300] and 85 <= doc["seconds"] <= 91
    assert {row["horizon_s"] for row in doc["signals"]} <= {10, 60, 300}


def test_eval_of_a_non_recording_fails_in_one_line(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "x.db"
    bad.write_text("not sqlite")
    code, out, err = run(capsys, "eval", str(bad))
    assert code == 1 and "Traceback" not in out + err and len(err.strip().splitlines()) == 1
