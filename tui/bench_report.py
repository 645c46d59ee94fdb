"""Rich tables for the ``tapescope bench`` report (:mod:`tapescope.tui.bench`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from tapescope.tui.bench import BenchReport


def report_table(report: BenchReport) -> Table:
    """The report as a rich table (one row per path)."""
    p = report.params
    table = Table(
        title=(
            f"tapescope bench: {p.messages:,} frames ({report.depth_messages:,} depth, {report.trades:,} trades), "
            f"{report.level_updates:,} level updates, ~{p.levels} levels/side"
        ),
        caption=(
            f"engine/bare-book = {report.engine_vs_book:.0%} (target >= {report.target:.0%}: "
            f"{'met' if report.meets_target else 'NOT met'}); books equal: {report.engine_books_match}\n"
            f"peak RSS: {report.rss_method}; {report.python}"
        ),
    )
    for col in ("path", "msgs/s", "levels/s", "p50 us", "p99 us", "max us", "peak RSS MiB", "growth MiB"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for r in report.results:
        table.add_row(
            r.label, f"{r.msgs_per_s:,.0f}", f"{r.levels_per_s:,.0f}" if r.level_updates else "-",
            f"{r.p50_us:.1f}", f"{r.p99_us:.1f}", f"{r.max_us:,.0f}", f"{r.peak_rss_mib:.1f}",
            f"{r.rss_growth_mib:.1f}",
        )
    return table


def hot_spot_table(report: BenchReport) -> Table:
    """The engine-path profile as a rich table."""
    table = Table(title="engine path hot spots (cProfile, own time)")
    for col in ("function", "calls", "own s", "cum s", "share"):
        table.add_column(col, justify="left" if col == "function" else "right")
    for h in report.hot_spots:
        table.add_row(h.function, f"{h.calls:,}", f"{h.tottime_s:.3f}", f"{h.cumtime_s:.3f}", f"{h.share:.1%}")
    return table


def print_report(report: BenchReport, console: Console | None = None) -> None:
    """Print the report (and the hot spots when profiled) with rich."""
    console = console or Console()
    console.print(report_table(report))
    if report.hot_spots:
        console.print(hot_spot_table(report))
