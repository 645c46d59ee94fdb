"""What every CLI module shares: the usage-error exit status and the one-line failure."""

from __future__ import annotations

import typer

#: Exit status for refused configuration and other expected user errors.
EXIT_USAGE = 2


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on stderr and exit with status 2."""
    typer.echo(f"tapescope: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)
