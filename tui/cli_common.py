"""What every CLI module shares: the usage-error exit status and the one-line failure."""

from __future__ import annotations

import typer

#: Exit status: the command did what was asked.
EXIT_OK = 0
#: Exit status: the work failed part-way or its input could not be read (what was committed is intact).
EXIT_FAILED = 1
#: Exit status for refused configuration, bad arguments, and output that could not be created.
EXIT_USAGE = 2


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on stderr and exit with status 2."""
    typer.echo(f"tapescope: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)
