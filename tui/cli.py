"""The ``tapescope`` command line (typer): parse, load config, build, run. Nothing else.

No subcommand runs the live monitor; ``demo`` runs the dashboard on the
built-in simulated market; ``record`` writes raw feed messages to SQLite
headless; ``bench`` measures throughput and frame time; ``config`` prints the
effective configuration with the source of every value; ``locate`` prints
where config, data and logs live.
Expected errors (bad config, missing file) print one line and exit with
status 2; there is no traceback for them.

``tapescope`` and ``tapescope demo`` with no options skip typer's parsing
(:func:`main`): typer 0.29 builds a pydantic adapter for every parameter at
parse time, ~75 ms of CPU before the dashboard could even start loading.
They run the very same functions the typer commands run.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tapescope.tui import cli_recording, commands, paths
from tapescope.tui.cli_common import EXIT_USAGE, fail
from tapescope.tui.config import Config, ConfigError, load_config
from tapescope.tui.settings import THEME_NAMES
from tapescope.tui.startup import pause_gc, resume_gc

log = logging.getLogger(__name__)


app = typer.Typer(
    name="tapescope",
    help="Terminal market-microstructure monitor: depth ladder, tape, CVD and flow metrics.\n\n"
         "Without a command, opens the live monitor. Config precedence: shipped defaults < "
         "user file (tapescope locate) < --config FILE < flags.",
    add_completion=False,
    no_args_is_help=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@dataclass(frozen=True)
class GlobalOptions:
    """Options given before the subcommand."""

    config_file: Path | None
    """``--config``."""
    fps: int | None
    """``--fps``."""
    theme: str | None
    """``--theme``."""
    venue: str | None = None
    """``--venue``: default venue of bare symbols."""
    symbols: str | None = None
    """``--symbols``: comma-separated watchlist (``venue:SYMBOL`` or bare)."""

    def load(self) -> Config:
        """The effective configuration with these flags applied.

        Raises:
            typer.Exit: with status 2 after printing a refused configuration.
        """
        try:
            watchlist = [s.strip() for s in self.symbols.split(",") if s.strip()] if self.symbols else None
            return load_config(self.config_file, {
                # --fps is the rate the user wants, local or remote.
                "app": {"fps": self.fps, "remote_fps": self.fps, "theme": self.theme},
                "venues": {"default_venue": self.venue, "watchlist": watchlist},
            })
        except ConfigError as err:
            fail(f"config error: {err}")


ThemeName = Enum("ThemeName", {name: name for name in THEME_NAMES}, type=str)  # type: ignore[misc]


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(
        "--config", metavar="PATH", help="Config file applied over the defaults and the user file.",
        dir_okay=False)] = None,
    fps: Annotated[int | None, typer.Option(
        "--fps", min=1, max=60, help="Frames per second of the dashboard, local or over SSH (overrides [app] fps and "
                          "remote_fps).")] = None,
    theme: Annotated[ThemeName | None, typer.Option(  # type: ignore[valid-type]
        "--theme", help="Colour theme (overrides [app] theme).")] = None,
    venue: Annotated[str | None, typer.Option(
        "--venue", help="Venue of bare symbols, e.g. binance-usdm, bybit-linear, okx (overrides "
                        "[venues] default_venue).")] = None,
    symbols: Annotated[str | None, typer.Option(
        "--symbols", metavar="LIST", help="Watchlist: comma-separated SYMBOL or venue:SYMBOL, venues may "
                                          "be mixed (overrides [venues] watchlist).")] = None,
) -> None:
    """Open the live monitor (or run a subcommand)."""
    ctx.obj = GlobalOptions(config, fps, theme.value if theme is not None else None, venue, symbols)
    if ctx.invoked_subcommand not in (None, "demo"):
        # Only the dashboard's start runs with the collector paused (see main); a
        # recording or an evaluation may run for hours.
        resume_gc()
    if ctx.invoked_subcommand is None:
        _run_live(ctx.obj)


def _run(cfg: Config, feed: Any, hub: Any) -> None:
    from tapescope.tui.app import make_app
    from tapescope.tui.logs import configure_tui_logging

    configure_tui_logging(cfg.app.log_level, paths.log_file())
    make_app(cfg, feed, hub).run()


def _run_live(options: GlobalOptions) -> None:
    from tapescope.tui import wiring

    cfg = options.load()
    if not wiring.live_available():
        typer.echo("tapescope: live venues are not available in this build; "
                   "opening the simulated demo market.", err=True)
        _run(cfg, *wiring.build_demo(cfg))
        return
    _run(cfg, *wiring.build_live(cfg))


@app.command()
def demo(
    ctx: typer.Context,
    seed: Annotated[int | None, typer.Option(
        "--seed", min=0, help="Random seed of the simulated market (overrides [sim] seed).")] = None,
) -> None:
    """Open the dashboard on the built-in simulated market (no network, no config needed)."""
    _run_demo(ctx.obj, seed)


def _run_demo(options: GlobalOptions, seed: int | None) -> None:
    from tapescope.tui import wiring

    cfg = options.load()
    _run(cfg, *wiring.build_demo(cfg, seed=seed))


class ConfigFormat(StrEnum):
    """Output formats of ``tapescope config``."""

    table = "table"
    toml = "toml"


@app.command("config")
def show_config(
    ctx: typer.Context,
    fmt: Annotated[ConfigFormat, typer.Option(
        "--format", help="table: key, value, source; toml: a config file with the source of "
                         "each value as a comment.")] = ConfigFormat.table,
) -> None:
    """Print the effective configuration and where each value came from."""
    from tapescope.tui.config_view import config_table, config_toml

    cfg = ctx.obj.load()
    if fmt is ConfigFormat.toml:
        typer.echo(config_toml(cfg), nl=False)
        return
    from rich.console import Console

    Console().print(config_table(cfg))


@app.command()
def bench(
    messages: Annotated[int, typer.Option(
        "--messages", min=100, max=10_000_000, help="Frames in the generated venue stream.")] = 20_000,
    profile: Annotated[bool, typer.Option(
        "--profile", help="Also profile the engine path and list its hot spots.")] = False,
    profile_path: Annotated[str, typer.Option(
        "--profile-path", help="What --profile profiles: engine (decode + book + flow), full "
                               "(with every detector and signal) or tick (only the messages that "
                               "close a second: the p99).")] = "full",
    isolate: Annotated[bool, typer.Option(
        "--isolate/--no-isolate", help="Measure each path in a forked child (per-path peak RSS).")] = True,
    frames: Annotated[int, typer.Option(
        "--frames", min=0, max=10_000,
        help="Dashboard frames to time at 120x40 on a frozen simulated market (0 skips).")] = 100,
    venues: Annotated[bool, typer.Option(
        "--venues", help="Also time every venue adapter on its recorded capture beside the bare "
                         "baseline and cryptofeed (needs ../shared/data; cryptofeed via the bench extra).")] = False,
    recorder: Annotated[bool, typer.Option(
        "--recorder", help="Also measure the SQLite record rate, bytes on disk and seek time.")] = False,
    ssh_seconds: Annotated[float, typer.Option(
        "--ssh-seconds", min=0.0, max=600.0,
        help="Seconds of live demo traffic counted as terminal bytes/s at 120x40 (0 skips).")] = 0.0,
) -> None:
    """Measure parsing, book and engine throughput, and the dashboard's CPU time per frame."""
    from tapescope.tui.bench import BenchParams
    from tapescope.tui.bench import bench as run_bench

    if profile_path not in ("engine", "full", "tick"):
        raise typer.BadParameter("choose engine, full or tick", param_hint="--profile-path")
    run_bench(BenchParams(messages=messages, profile=profile, isolate=isolate, profile_path=profile_path))
    if frames:
        from tapescope.tui.perf import render_frame_time

        typer.echo(render_frame_time((120, 40), frames=frames).summary())
    if ssh_seconds:
        from tapescope.tui.sshbench import format_report, run_sshbench

        typer.echo(format_report(run_sshbench((120, 40), seconds=ssh_seconds,
                                              frames=max(frames, 10))))
    if venues:
        from tapescope.tui.venuebench import bench_venues

        bench_venues()
    if recorder:
        import time

        from tapescope.engine.recorder.bench import run_recorder_bench

        for line in run_recorder_bench(time.perf_counter_ns):
            typer.echo(line)


@app.command()
def record(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="SQLite file to write (rotated sets get .0001.db...).",
                                         dir_okay=False)],
    duration: Annotated[float | None, typer.Option(
        "--duration", min=0.0, help="Stop after this many seconds (default: until Ctrl+C).")] = None,
    demo_feed: Annotated[bool, typer.Option(
        "--demo", help="Record the built-in simulated market instead of live venues.")] = False,
) -> None:
    """Record raw feed messages to SQLite, headless (no dashboard)."""
    from dataclasses import asdict, is_dataclass

    from tapescope.tui import wiring
    from tapescope.tui.logs import configure_stderr_logging
    from tapescope.tui.record import run_record

    cfg = ctx.obj.load()
    configure_stderr_logging(cfg.app.log_level)
    if not demo_feed and not wiring.live_available():
        typer.echo("tapescope: live venues are not available in this build; "
                   "recording the simulated demo market.", err=True)
        demo_feed = True
    feed, hub = wiring.build_demo(cfg) if demo_feed else wiring.build_live(cfg)
    # The recording keeps the effective configuration it was made with.
    app_config = {name: ({k: asdict(v) for k, v in inst.items()} if isinstance(inst, dict)
                         else asdict(inst) if is_dataclass(inst) else inst)
                  for name, inst in cfg.sections.items()}
    code = run_record([feed], path, cfg.sections.get("record"), hub=hub, app_config=app_config,
                      duration_s=duration)
    raise typer.Exit(code)


class Location(StrEnum):
    """What ``tapescope locate`` can print."""

    all = "all"
    config = "config"
    data = "data"
    logs = "logs"


@app.command()
def locate(
    what: Annotated[Location, typer.Argument(help="Which path to print.")] = Location.all,
) -> None:
    """Print where the user config file, the data directory and the logs are."""
    found = {"config": paths.config_file(), "data": paths.data_dir(), "logs": paths.log_dir()}
    if what is Location.all:
        for name, path in found.items():
            typer.echo(f"{name:<7}{path}")
    else:
        typer.echo(str(found[what.value]))


commands.register(app)
cli_recording.register(app)


#: Command lines that open the dashboard without any option (see the module docstring).
PLAIN_DASHBOARD = ([], ["demo"])


def _run_plain(args: list[str]) -> int:
    """``tapescope`` or ``tapescope demo`` without options, as the typer commands run them."""
    options = GlobalOptions(config_file=None, fps=None, theme=None)
    try:
        if args:
            _run_demo(options, seed=None)
        else:
            _run_live(options)
    except typer.Exit as exit_:
        return exit_.exit_code
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the CLI, turning expected errors into one line.

    Args:
        argv: Arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    # The dashboard starts faster with the garbage collector paused
    # (tapescope.tui.startup): the App resumes it after its first frame, other
    # commands as soon as they are known, and this function on its way out.
    pause_gc()
    try:
        if args in PLAIN_DASHBOARD:
            return _run_plain(args)
        # Standalone mode prints usage errors itself and exits with click's status.
        app(args=args, prog_name="tapescope")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ConfigError as err:
        typer.echo(f"tapescope: config error: {err}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        resume_gc()
    return 0


if __name__ == "__main__":
    sys.exit(main())
