"""Rich tables for ``tapescope eval``: detector scores, regime confusion, signal returns.

The CLI only prints what these return, so the report layout lives in one place.
"""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table

from tapescope.engine.evaluation import Confusion
from tapescope.tui.evaluate import EvalReport
from tapescope.tui.evaluate_session import SessionReport


def _num(x: object, fmt: str = "{:.3f}") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return fmt.format(x)


def render_detection_report(report: EvalReport) -> Table:
    """Precision, recall and median delay per detector kind.

    >>> from tapescope.engine.evaluation import DetectionScore
    >>> from tapescope.tui.evaluate import ScenarioParams
    >>> r = EvalReport(ScenarioParams(), {"wall": DetectionScore("wall", 4, 8, 3, 4, (1.0, 2.0, 4.0))}, 10)
    >>> t = render_detection_report(r)
    >>> [c.header for c in t.columns][:3], t.row_count
    (['detector', 'episodes', 'detections'], 1)
    """
    p = report.params
    table = Table(
        title=f"Detectors on {p.scenarios} scenario(s) x {p.duration_s:g} s x {p.symbols} "
        f"symbol(s), seeds {p.seed}..{p.seed + p.scenarios - 1}",
        caption=f"{report.events:,} events; match window [-{p.early_s:g} s, +{p.late_s:g} s], "
        f"same side, price within {p.level_tol_bps:g} bps (absorption {p.absorption_tol_bps:g})",
    )
    for name in ("detector", "episodes", "detections", "found", "precision", "recall"):
        table.add_column(name, justify="left" if name == "detector" else "right")
    table.add_column("median delay s", justify="right")
    for row in report.rows():
        table.add_row(
            str(row["detector"]),
            str(row["episodes"]),
            str(row["detections"]),
            str(row["found"]),
            _num(row["precision"]),
            _num(row["recall"]),
            _num(row["median_delay_s"], "{:.2f}"),
        )
    for kind, count in sorted(report.other_events.items()):
        table.add_row(f"[dim]{kind}[/]", "[dim]unlabelled[/]", str(count), "", "", "", "")
    return table


def render_confusion(title: str, c: Confusion) -> Table:
    """One confusion matrix: truth in rows, prediction in columns, with per-row recall."""
    table = Table(title=f"{title}: accuracy {_num(c.accuracy)} on {int(c.matrix.sum()):,} s")
    table.add_column("truth \\ predicted")
    for label in c.labels:
        table.add_column(label, justify="right")
    table.add_column("recall", justify="right")
    for i, label in enumerate(c.labels):
        row = c.matrix[i]
        total = int(row.sum())
        cells = [f"[bold]{int(v)}[/]" if i == j else str(int(v)) for j, v in enumerate(row)]
        table.add_row(label, *cells, _num(row[i] / total) if total else "-")
    return table


def render_regime_report(report: EvalReport) -> Group | None:
    """Market and volatility regime confusion matrices, or ``None`` when not scored."""
    reg = report.regimes
    if reg is None:
        return None
    caption = Table(show_header=False, box=None)
    head = (
        f"first {reg.warmup_s:g} s of each scenario excluded; {reg.scored_seconds:,} labelled "
        "market-seconds after it"
        if reg.warmup_s
        else f"{reg.scored_seconds:,} labelled market-seconds"
    )
    caption.add_row(
        f"{head}, predicted (not UNKNOWN) in {reg.market_coverage:.1%} (market) / "
        f"{reg.vol_coverage:.1%} (vol); counting UNKNOWN as wrong: market "
        f"{_num(reg.market_strict)}, vol {_num(reg.vol_strict)}"
    )
    if reg.market_settled is not None and reg.vol_settled is not None:
        caption.add_row(
            f"settled ({reg.settle_s:g} s or more after the label changed, i.e. without the "
            f"detection lag): market {_num(reg.market_settled.accuracy)} on "
            f"{int(reg.market_settled.matrix.sum()):,} s, vol {_num(reg.vol_settled.accuracy)} on "
            f"{int(reg.vol_settled.matrix.sum()):,} s"
        )
    return Group(
        render_confusion("Market regime", reg.market),
        render_confusion("Volatility regime", reg.vol),
        caption,
    )


def render_signal_report(report: SessionReport) -> Table:
    """Hit rate and mean forward return per generator and horizon against the baseline.

    A row is marked ``edge`` only when the mean return's 95 % interval lies
    wholly above the baseline mean; with several generators and horizons,
    expect about one in twenty such marks from noise alone.
    """
    table = Table(
        title=f"Signals: {report.verdicts:,} verdicts over {report.seconds:,} market-seconds",
        caption="mean returns in bps, signed by the signal's direction; 95 % intervals "
        "(Wilson for hit rates); baseline = the same direction mix on every second",
    )
    for name in ("generator", "signals", "horizon", "n", "hit rate", "hit 95 %"):
        table.add_column(name, justify="left" if name == "generator" else "right")
    for name in ("mean bps", "mean 95 %", "base hit", "base bps", "edge"):
        table.add_column(name, justify="right")
    for row in report.rows():
        table.add_row(
            str(row["generator"]),
            str(row["signals"]),
            f"{row['horizon_s']} s",
            str(row["n"]),
            _num(row["hit_rate"]),
            f"{_num(row['hit_lo'])}..{_num(row['hit_hi'])}",
            _num(row["mean_bps"], "{:+.2f}"),
            f"{_num(row['mean_lo_bps'], '{:+.2f}')}..{_num(row['mean_hi_bps'], '{:+.2f}')}",
            _num(row["baseline_hit_rate"]),
            _num(row["baseline_mean_bps"], "{:+.2f}"),
            "[green]yes[/]" if row["edge"] else "no",
        )
    return table
