"""typer commands for recordings: ``replay`` and ``export``.

``tui/cli.py`` adds them with one call, ``cli_recording.register(app)``;
each command parses its arguments and calls one function of
:mod:`tapescope.tui.replay_cli` or :mod:`tapescope.tui.recording_cli`, then
exits with its status (0 done, 1 files unreadable/unwritable, 2 bad
arguments). Settings come from ``ctx.obj.load()`` (the CLI's global
options) when there is one: ``[replay]``, ``[record]``, ``[flow]``,
``[detectors]`` sections; the shipped defaults otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tapescope.tui.cli_common import EXIT_USAGE


def _sections(ctx: typer.Context) -> dict[str, Any]:
    loader = getattr(ctx.obj, "load", None)
    if not callable(loader):
        return {}
    return dict(getattr(loader(), "sections", {}) or {})


def _split(symbols: str | None) -> list[str] | None:
    return [s for s in symbols.split(",") if s.strip()] if symbols else None


def _analysis(sections: dict[str, Any]) -> Any:
    from tapescope.engine.analysis import AnalysisParams

    kwargs = {k: sections[k] for k in ("detectors", "signals") if sections.get(k) is not None}
    return AnalysisParams(**kwargs) if kwargs else None


def replay(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Recording to play (a file, or the first of a rotated set).")],
    headless: Annotated[bool, typer.Option(
        "--headless", help="No dashboard: play as fast as possible and write detector events and "
                           "signals to --out.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="CSV to write with --headless.")] = None,
    from_: Annotated[str | None, typer.Option(
        "--from", help="Start at: +90s, 12:34:56 or 2024-08-08T12:34:56 (UTC).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Stop after this time (same forms).")] = None,
    symbols: Annotated[str | None, typer.Option(
        "--symbols", help="Comma-separated markets to replay (default: all recorded).")] = None,
    speed: Annotated[float | None, typer.Option(
        "--speed", min=0.0, max=100.0, help="Initial speed (0 = as fast as possible); overrides [replay] speed.")] = None,
) -> None:
    """Replay a recording in the dashboard (space, +/-, arrows, g), or headless to CSV."""
    from dataclasses import replace

    from tapescope.tui.replay_cli import resolve_window, run_replay_headless
    from tapescope.tui.replay_config import ReplaySettings

    sections = _sections(ctx)
    settings = sections.get("replay") or ReplaySettings()
    if speed is not None:
        settings = replace(settings, speed=speed)
    if headless:
        if out is None:
            typer.echo("tapescope replay: --headless needs --out FILE.csv", err=True)
            raise typer.Exit(EXIT_USAGE)
        raise typer.Exit(run_replay_headless(path, out, from_text=from_, to_text=to, symbols=_split(symbols),
                                             settings=settings, flow=sections.get("flow"),
                                             analysis=_analysis(sections)))
    from tapescope.engine.recorder.errors import RecordingError
    from tapescope.tui.replay_cli import build_replay
    from tapescope.tui.replay_controls import ReplayController

    try:
        lo, hi = resolve_window(path, from_, to)
        feed, hub = build_replay(path, settings=settings, flow=sections.get("flow"), analysis=_analysis(sections),
                                 from_ns=lo, to_ns=hi, symbols=_split(symbols))
    except (ValueError, RecordingError) as exc:
        typer.echo(f"tapescope replay: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    from tapescope.tui.app import make_app

    cfg = ctx.obj.load()
    make_app(cfg, feed, hub, replay=ReplayController(feed, hub, settings=settings)).run()
    feed.close()


def export_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Recording to export from.")],
    kind: Annotated[str, typer.Option("--kind", "--what", help="trades, book, messages or signals.")],
    out: Annotated[Path, typer.Option("--out", help="File to create (never overwritten).")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet (needs pyarrow).")] = "csv",
    symbols: Annotated[str | None, typer.Option("--symbols", help="Comma-separated markets.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First receive time (+90s, 12:34:56...).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last receive time.")] = None,
    levels: Annotated[int, typer.Option("--levels", min=1, max=1000, help="Book levels per side (book).")] = 5,
) -> None:
    """Export trades, book tops, raw messages or detector events and signals to CSV or Parquet."""
    from tapescope.tui.recording_cli import run_export

    raise typer.Exit(run_export(path, out, kind, fmt=fmt, symbols=_split(symbols), from_text=from_, to_text=to,
                                levels=levels, analysis=_analysis(_sections(ctx))))


def register(app: typer.Typer) -> None:
    """Add ``replay`` and ``export`` to the CLI's Typer app (``import``/``inspect`` are in tui.commands)."""
    app.command("replay")(replay)
    app.command("export")(export_)
