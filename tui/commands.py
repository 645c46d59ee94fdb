"""Data commands of the CLI: ``eval`` (simulated scenarios or a recording), ``import``, ``inspect``.

Registered on the typer app by :func:`register`; each stays a thin shell over
a library function (the scenario runner, the capture importer, the recording
inspector) and turns expected errors into one line and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tapescope.tui.cli_common import EXIT_FAILED, fail


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""
    app.command("eval")(evaluate)
    app.command("import")(import_)
    app.command("inspect")(inspect_)


def evaluate(
    ctx: typer.Context,
    recording: Annotated[Path | None, typer.Argument(
        help="A recording: evaluate its signals (hit rate and forward return at 10 s, 1 m, 5 m against "
             "the unconditional baseline). Without it, score detectors on simulated sessions.",
        dir_okay=False)] = None,
    scenarios: Annotated[int, typer.Option(
        "--scenarios", min=1, max=1000, help="Simulated sessions with labelled episodes to score.")] = 5,
    duration: Annotated[float, typer.Option(
        "--duration", min=10.0, help="Simulated seconds per scenario.")] = 900.0,
    symbols: Annotated[int, typer.Option("--symbols", min=1, max=10, help="Markets per scenario.")] = 4,
    seed: Annotated[int, typer.Option("--seed", min=0, help="First scenario's seed.")] = 2000,
    warmup: Annotated[float, typer.Option(
        "--warmup", min=0.0, help="Seconds at the start of each scenario left out of the regime scores "
        "(the classifier's own warm-up is reported as UNKNOWN and counts against coverage).")] = 0.0,
    regimes_only: Annotated[bool, typer.Option(
        "--regimes-only", help="Score only the regime classifier (no detectors): fast long runs.")] = False,
    vol_source: Annotated[str | None, typer.Option(
        "--vol-source", help="Volatility-regime source to score: garch or realised (default: [volatility.regime]).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", dir_okay=False, help="Also write the report as .csv or .json.")] = None,
    plot: Annotated[bool, typer.Option(
        "--plot", help="With a recording: also plot each signal's hit rate above its baseline per "
                       "forward horizon (honours NO_COLOR and COLUMNS).")] = False,
) -> None:
    """Score detectors (precision, recall, delay) and regimes (accuracy, confusion) on labelled simulated sessions."""
    from dataclasses import replace

    from rich.console import Console
    from rich.progress import Progress

    from tapescope.tui import wiring
    from tapescope.tui.eval_render import render_detection_report, render_regime_report
    from tapescope.tui.evaluate import (
        ScenarioParams,
        run_scenarios,
        volatility_regimes,
        write_report,
    )

    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        fail(f"--out {out}: use a .csv or .json file")
    if recording is not None:
        _evaluate_recording(ctx, recording, out, plot)
        return
    if plot:
        fail("--plot charts a recording's signals: give a recording (tapescope eval FILE.db --plot)")
    if vol_source not in (None, "garch", "realised"):
        fail(f"--vol-source {vol_source}: expected garch or realised")
    cfg = ctx.obj.load()
    analysis = wiring.analysis_params(cfg)
    if vol_source is not None and "regime" in analysis.volatility:
        vol = dict(analysis.volatility)
        vol["regime"] = replace(vol["regime"], source=vol_source)
        analysis = replace(analysis, volatility=vol)
    console = Console()
    params = ScenarioParams(scenarios=scenarios, duration_s=duration, symbols=symbols, seed=seed,
                            regime_warmup_s=warmup, detectors=not regimes_only)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("scenarios", total=scenarios)
        report = run_scenarios(params, flow=wiring.flow_params(cfg), analysis=analysis,
                               regimes=volatility_regimes(analysis.volatility),
                               progress=lambda done, total: progress.update(task, completed=done))
    if not regimes_only:
        console.print(render_detection_report(report))
    regimes = render_regime_report(report)
    if regimes is not None:
        console.print(regimes)
    if out is not None:
        try:
            write_report(report, out)
        except OSError as err:
            fail(f"cannot write {out}: {err.strerror or err}")
        console.print(f"written {out}")


def _evaluate_recording(ctx: typer.Context, recording: Path, out: Path | None, plot: bool = False) -> None:
    """``tapescope eval FILE.db``: replay the recording as fast as possible and score its signals."""
    import asyncio

    from rich.console import Console

    from tapescope.engine.recorder.errors import RecordingError
    from tapescope.tui import wiring
    from tapescope.tui.eval_render import render_signal_report
    from tapescope.tui.evaluate_session import evaluate_feed, write_signal_report
    from tapescope.tui.replay_cli import build_replay
    from tapescope.tui.replay_config import ReplaySettings

    cfg = ctx.obj.load()
    flow, analysis = wiring.flow_params(cfg), wiring.analysis_params(cfg)
    try:
        feed, _ = build_replay(recording, settings=ReplaySettings(speed=0.0), flow=flow, analysis=analysis)
        report = asyncio.run(evaluate_feed(feed, analysis, flow))
    except (RecordingError, ValueError) as err:
        typer.echo(f"tapescope eval: {err}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    console = Console()
    console.print(render_signal_report(report))
    if plot:
        from tapescope.tui.plots import hit_lifts, plot_width, signal_chart, use_colour

        typer.echo(signal_chart(hit_lifts(report.rows()), plot_width(), colour=use_colour()), nl=False)
    if out is not None:
        try:
            write_signal_report(report, out)
        except OSError as err:
            fail(f"cannot write {out}: {err.strerror or err}")
        console.print(f"written {out}")


def import_(
    captures: Annotated[list[Path], typer.Argument(
        help="Capture files of one venue: hftbacktest .gz, cryptofeed .ws (its .http companion is "
             "found automatically), or .jsonl.", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="New recording to write.")],
    venue: Annotated[str, typer.Option(
        "--venue", help="Venue of the capture: a venue id (binance-usdm, binance-spot, okx, kraken, coinbase, "
                        "bybit-linear, bybit-spot) or bybit for a capture holding both Bybit markets "
                        "(split by connection URL). Default: found from the capture's URLs (hftbacktest "
                        "files: from their Binance depth stream). A Kraken v1 capture is recognised by its "
                        "URL.")] = "",
    symbols: Annotated[str, typer.Option(
        "--symbols", help="Comma-separated SYMBOL or venue:SYMBOL to record as markets (default: the "
                          "symbols the capture subscribed to, or the hftbacktest file name's).")] = "",
) -> None:
    """Convert public exchange captures into a tapescope recording (replayable like a live one).

    The frames are decoded through the venue's own parser to write book
    checkpoints, and each market's tick and lot size are stored (from a REST
    instrument list in the capture, a built-in table, or the grid of its first
    book); the report lists them with their source.
    """
    from tapescope.tui.recording_cli import run_import

    raise typer.Exit(run_import(captures, out, venue, symbols=symbols.split(",")))


def inspect_(
    path: Annotated[Path, typer.Argument(help="Recording (.db, or the first file of a rotated set).",
                                         dir_okay=False)],
    types: Annotated[bool, typer.Option(
        "--types/--no-types", help="Count messages by venue message type (reads every payload).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    plot: Annotated[bool, typer.Option(
        "--plot", help="Also plot messages per minute over the session, silent minutes and recorder "
                       "drops marked (honours NO_COLOR and COLUMNS).")] = False,
) -> None:
    """Summarise a recording: venues, symbols, duration, message counts, gaps, size per hour."""
    from tapescope.tui.recording_cli import run_inspect

    if plot and as_json:
        fail("--plot draws text: use it without --json")
    code = run_inspect(path, as_json=as_json, types=types)
    if code == 0 and plot:
        from tapescope.engine.recorder.errors import RecordingError
        from tapescope.tui.plots import minute_rates, plot_width, rate_chart, use_colour

        try:
            rates = minute_rates(path)
        except RecordingError as err:
            typer.echo(f"tapescope inspect: {err}", err=True)
            raise typer.Exit(EXIT_FAILED) from None
        typer.echo(rate_chart(rates, plot_width(), colour=use_colour()), nl=False)
    raise typer.Exit(code)
