"""Rich tables for the ``tapescope bench`` report (:mod:`tapescope.tui.bench`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from tapescope.tui.bench import BenchReport


def report_table(report: BenchReport) -> Table:
    """The report as a rich table (one row per path)."""
    from tapescope.tui.bench import (  # bench imports this module
        FULL_TARGET_MSGS,
        FULL_TARGET_P99_US,
    )

    p = report.params
    table = Table(
        title=(
            f"tapescope bench: {p.messages:,} frames ({report.depth_messages:,} depth, {report.trades:,} trades), "
            f"{report.level_updates:,} level updates, ~{p.levels} levels/side"
        ),
        caption=(
            f"engine/bare-book = {report.engine_vs_book:.0%} (target >= {report.target:.0%}: "
            f"{'met' if report.meets_target else 'NOT met'}); books equal: {report.engine_books_match}\n"
            f"full/bare-book = {report.full_vs_book:.0%}; full pipeline target >= {FULL_TARGET_MSGS:,} msgs/s and "
            f"p99 < {FULL_TARGET_P99_US:.0f} us: {'met' if report.meets_full_target else 'NOT met'}; "
            f"books equal: {report.full_books_match}\n"
            + (
                f"memory per symbol: {report.memory.retained_mib:.2f} MiB retained "
                f"(peak {report.memory.peak_mib:.2f} MiB) after {report.memory.messages:,} frames; "
                f"{report.memory.method}\n" if report.memory else ""
            )
            + "load average {:.1f} / {:.1f} / {:.1f} (1/5/15 min); ".format(*report.load_avg)
            + f"numba kernels loaded before the paths in {report.kernel_warm_up_s:.2f} s; "
            + f"peak RSS: {report.rss_method}; {report.python}"
        ),
    )
    book = report.result("sorteddict").msgs_per_s
    book_cpu = report.result("sorteddict").cpu_msgs_per_s
    cols = ("path", "msgs/s", "vs book", "msgs/CPU s", "vs book (CPU)", "levels/s", "p50 us", "p99 us", "max us",
            "peak RSS MiB", "growth MiB")
    for col in cols:
        table.add_column(col, justify="left" if col == "path" else "right")
    for r in report.results:
        table.add_row(
            r.label, f"{r.msgs_per_s:,.0f}", f"{r.msgs_per_s / book:.0%}" if book else "-",
            f"{r.cpu_msgs_per_s:,.0f}", f"{r.cpu_msgs_per_s / book_cpu:.0%}" if book_cpu else "-",
            f"{r.levels_per_s:,.0f}" if r.level_updates else "-",
            f"{r.p50_us:.1f}", f"{r.p99_us:.1f}", f"{r.max_us:,.0f}", f"{r.peak_rss_mib:.1f}",
            f"{r.rss_growth_mib:.1f}",
        )
    return table


def hot_spot_table(report: BenchReport) -> Table:
    """The engine-path profile as a rich table."""
    table = Table(title=f"{report.profiled} path hot spots (cProfile, own time)")
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
