"""The recording commands through typer: arguments reach the entry points, exit codes come back."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tapescope.engine.recorder.config import RecordConfig
from tapescope.feeds.sim import SimParams
from tapescope.tui.cli_recording import register
from tapescope.tui.replay import CSV_COLUMNS, replay_headless


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory: pytest.TempPathFactory, record_sim) -> Path:
    params = SimParams(seed=4, symbols=("BTC-SIM", "ETH-SIM"), duration_s=90.0)
    return record_sim(tmp_path_factory.mktemp("cli") / "sim.db", params, RecordConfig(checkpoint_interval_s=10.0))


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_replay_headless_command(cli: typer.Typer, sim_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "ev.csv"
    res = CliRunner().invoke(cli, ["replay", str(sim_db), "--headless", "--out", str(out), "--from", "+20s",
                                   "--to", "+70s", "--symbols", "BTC-SIM"])
    assert res.exit_code == 0, res.output
    assert "replayed " in res.output and "sim:BTC-SIM" in res.output
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS and all(r[2] == "sim:BTC-SIM" for r in rows[1:])
    from tapescope.engine.recorder.reader import Recording

    with Recording.open(sim_db) as rec:
        t0 = rec.first_recv_ns()
    replay_headless(sim_db, tmp_path / "same.csv", from_ns=t0 + 20 * 10**9, to_ns=t0 + 70 * 10**9, symbols=["BTC-SIM"])
    with (tmp_path / "same.csv").open(newline="") as fh:
        assert list(csv.reader(fh)) == rows


def test_replay_usage_errors(cli: typer.Typer, sim_db: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["replay", str(sim_db), "--headless"])
    assert res.exit_code == 2 and "--out" in res.output
    res = CliRunner().invoke(cli, ["replay", str(sim_db), "--headless", "--out", str(tmp_path / "x.csv"),
                                   "--symbols", "NOPE"])
    assert res.exit_code == 2 and "NOPE" in res.output


def test_export_command(cli: typer.Typer, sim_db: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["export", str(sim_db), "--kind", "book", "--out", str(tmp_path / "b.csv"),
                                   "--levels", "3", "--symbols", "ETH-SIM"])
    assert res.exit_code == 0, res.output
    with (tmp_path / "b.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {r["symbol"] for r in rows} == {"sim:ETH-SIM"}
