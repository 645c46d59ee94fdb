"""``tapescope bench --venues``: per-venue adapter throughput on the recorded streams.

For each venue adapter (:data:`~tapescope.tui.venuebench_cases.CASES`) the same
recorded frames, loaded into memory, go through four paths in the same run:

* ``baseline``: bare ``orjson.loads`` + float conversion + ``SortedDict``
  set/delete (no validation, sequence, checksum or metrics);
* ``ours_book``: :class:`~tapescope.feeds.venues.offline.OfflineDriver`: the
  venue's :class:`VenueProtocol` ``decode``, its :class:`BookSync`
  (sequence/checksum rules; REST snapshot served from the capture) and the
  engine :class:`~tapescope.engine.book.Book` apply with the cross check (what
  cryptofeed does: parse, normalise, keep the book);
* ``ours``: the same plus the engine :class:`~tapescope.engine.market.Market`
  (``on_event``: book, cross check, flow metrics, tape), the full app path;
* ``cryptofeed``: cryptofeed's own handler for the venue
  (:mod:`tapescope.tui.venuebench_cf`), when cryptofeed is installed
  (``pip install tapescope[bench]``), with its checksum validation on where
  ours validates too (OKX, Kraken).

The paths run in ``repeats`` interleaved rounds on fresh state and each keeps
its fastest round (the machine may be shared), so ratios are more stable than
absolute figures. Every path's final top of book is compared per symbol:
the comparison is only meaningful when all of them maintained the same book.

Target (issue "Live venue feeds"): ours at least 8x cryptofeed on Binance
USD-M. It is reported, never asserted in tests.

No Textual import; the table is drawn with rich.
"""

from __future__ import annotations

import gc
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tapescope.engine.flow import FlowParams
from tapescope.engine.health import SymbolHealth
from tapescope.engine.market import Market
from tapescope.feeds.venues.base import MsgKind
from tapescope.feeds.venues.offline import OfflineDriver
from tapescope.tui.venuebench_cases import CASES, Stream, Tops, VenueCase, load_stream
from tapescope.tui.venuebench_cf import cryptofeed_status, make_cf_run

__all__ = [
    "TARGET_VS_CRYPTOFEED", "VenueBenchParams", "VenueBenchReport", "VenueResult",
    "bench_venues", "default_data_dir", "measure_venue", "print_venue_report", "run_venue_bench", "venue_table",
]

#: Required ours/cryptofeed messages/s ratio on Binance USD-M.
TARGET_VS_CRYPTOFEED = 8.0
#: Venue the cryptofeed target applies to.
TARGET_VENUE = "binance-usdm"
#: Relative tolerance when comparing top-of-book prices and sizes across paths.
_REL_TOL = 1e-9


def default_data_dir() -> Path:
    """``shared/data`` beside the repository root (``../shared/data``, where CI has it)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass(frozen=True, slots=True)
class VenueBenchParams:
    """What ``tapescope bench --venues`` measures."""

    venues: tuple[str, ...] = ()
    """Venue ids to measure (empty: every case)."""
    repeats: int = field(default=5, metadata={"min": 1, "max": 50})
    """Interleaved rounds; each path keeps its fastest (the machine may be shared)."""
    limit: int = field(default=0, metadata={"min": 0, "max": 10_000_000})
    """Use only the first ``limit`` frames of each stream (0: all; small for smoke tests)."""
    cryptofeed: bool = True
    """Also run cryptofeed's handler when it is installed."""
    data_dir: str = ""
    """Folder holding the captures (empty: :func:`default_data_dir`)."""


@dataclass(slots=True)
class VenueResult:
    """One venue's measurements."""

    venue: str
    """Venue id."""
    note: str
    """What the stream is."""
    frames: int
    """Frames in the measured stream (every path gets all of them)."""
    baseline_msgs_per_s: float
    """Bare orjson + SortedDict, best round."""
    ours_book_msgs_per_s: float
    """Our decode + sync + engine Book apply (no metrics), best round."""
    ours_msgs_per_s: float
    """Our decode + sync + Market (book, flow metrics, tape), best round."""
    cryptofeed_msgs_per_s: float | None
    """cryptofeed's handler, best round (None: not run)."""
    cryptofeed_note: str
    """``"ok"``, ``"not installed"``, ``"disabled"`` or the error it raised."""
    ours_vs_baseline: float
    """``ours / baseline`` messages/s."""
    ours_vs_cryptofeed: float | None
    """``ours / cryptofeed`` messages/s (None when cryptofeed did not run)."""
    ours_book_vs_cryptofeed: float | None
    """``ours_book / cryptofeed`` messages/s: the like-for-like ratio (same work)."""
    book_events: int
    """Book snapshots and deltas our path applied (last round)."""
    cryptofeed_callbacks: int
    """Book callbacks cryptofeed made (last round): proof it maintained books."""
    tops: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Symbol -> ``{"baseline", "ours_book", "ours", "cryptofeed"}`` final (best bid, best ask)."""
    books_match: bool = False
    """Every path that ran ends with the same top of book on every symbol."""
    cryptofeed_matches: bool | None = None
    """cryptofeed's final tops equal ours (None when it did not run)."""


@dataclass(slots=True)
class VenueBenchReport:
    """Everything ``tapescope bench --venues`` measured."""

    params: VenueBenchParams
    """What was asked."""
    results: list[VenueResult]
    """One per venue, in case order."""
    cryptofeed: str
    """``cryptofeed X.Y.Z`` or ``not installed``."""
    python: str
    """Interpreter and platform."""
    engine_path: str = "decode + BookSync + Market.on_event (book, cross check, flow metrics, tape)"
    """What the ``ours`` column includes."""
    target_vs_cryptofeed: float = TARGET_VS_CRYPTOFEED
    """Required ours/cryptofeed on :data:`TARGET_VENUE`."""

    @property
    def meets_target(self) -> bool | None:
        """Our parse + normalise + book apply reaches the target multiple of cryptofeed on
        Binance USD-M (like for like: :attr:`VenueResult.ours_book_vs_cryptofeed`; None: not measured)."""
        r = next((r for r in self.results if r.venue == TARGET_VENUE), None)
        if r is None or r.ours_book_vs_cryptofeed is None:
            return None
        return r.ours_book_vs_cryptofeed >= self.target_vs_cryptofeed

    def result(self, venue: str) -> VenueResult:
        """The result of ``venue``."""
        return next(r for r in self.results if r.venue == venue)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        d = asdict(self)
        d["meets_target"] = self.meets_target
        return d


# -- the paths -------------------------------------------------------------------


class _ServedDriver(OfflineDriver):
    """:class:`OfflineDriver` (decode, sync, engine Book, cross check) that also serves
    REST snapshot requests from the capture, as the live layer would fetch them."""

    def __init__(self, protocol, instruments, rest: dict[str, str]) -> None:
        super().__init__(protocol, instruments)
        self.rest = rest

    def _apply(self, key: str, out, recv_ns: int) -> None:
        super()._apply(key, out, recv_ns)
        if out.need_snapshot:
            sync = self.syncs[key]
            body = self.rest.get(sync.instrument.symbol)
            if body is not None:
                super()._apply(key, sync.on_rest_snapshot(body, recv_ns), recv_ns)


def _ours_book(case: VenueCase, stream: Stream):
    """Path ``ours_book``: ``(run(frames), tops)`` over a fresh :class:`_ServedDriver`."""
    driver = _ServedDriver(case.protocol(), case.instruments, stream.rest)

    def tops() -> Tops:
        return {k.partition(":")[2]: (b.best_bid(), b.best_ask()) for k, b in driver.books.items()}

    return driver.feed_all, tops


def _ours(case: VenueCase, stream: Stream, analysis: bool = False):
    """Path ``ours``: fresh protocol, syncs and Markets; ``(run(frames), tops, applied)``.

    ``analysis`` attaches ``MarketAnalysis`` to every Market (profiling; not a report column).
    """
    proto = case.protocol()
    syncs, markets = {}, {}
    for inst in case.instruments:
        syncs[inst.key] = proto.new_sync(inst, SymbolHealth(inst.key))
        markets[inst.key] = Market(inst, FlowParams())
        if analysis:
            from tapescope.engine.analysis import MarketAnalysis

            MarketAnalysis.attach(markets[inst.key])
    rest = stream.rest
    depth, event = MsgKind.DEPTH, MsgKind.EVENT
    decode = proto.decode
    applied = [0]

    def deliver(key: str, out) -> None:
        on_event = markets[key].on_event
        for ev in out.events:
            on_event(ev)
        applied[0] += len(out.events)
        if out.need_snapshot:
            # The live layer would fetch it; the capture holds the body it got.
            body = rest.get(syncs[key].instrument.symbol)
            if body is not None:
                deliver(key, syncs[key].on_rest_snapshot(body, 0))

    def run(frames: list[tuple[int, str]]) -> None:
        for recv_ns, text in frames:
            for r in decode(text, recv_ns):
                kind = r.kind
                if kind is depth:
                    deliver(r.key, syncs[r.key].on_depth(r.payload, recv_ns))
                elif kind is event:
                    m = markets.get(r.payload.symbol)
                    if m is not None:
                        m.on_event(r.payload)

    def tops() -> Tops:
        return {m.instrument.symbol: (m.book.best_bid(), m.book.best_ask()) for m in markets.values()}

    return run, tops, applied


def _time(fn, arg) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t0


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return all(abs(x - y) <= _REL_TOL * max(abs(x), abs(y), 1.0) for x, y in zip(a, b, strict=True))


def _tops_equal(x: Tops, y: Tops) -> bool:
    return x.keys() == y.keys() and all(_same(x[k][0], y[k][0]) and _same(x[k][1], y[k][1]) for k in x)


def measure_venue(case: VenueCase, stream: Stream, repeats: int, use_cf: bool) -> VenueResult:
    """Run the four paths ``repeats`` times interleaved on ``stream``; keep each path's best."""
    frames = stream.frames
    cf_frames = [(ns / 1e9, text) for ns, text in frames]
    best = dict.fromkeys(("baseline", "ours_book", "ours", "cryptofeed"), float("inf"))
    cf_note = "disabled"
    if use_cf:
        cf_note = "ok" if cryptofeed_status() != "not installed" else "not installed"
    if case.cryptofeed is None and cf_note == "ok":
        cf_note = "no handler"
    tops: dict[str, Tops] = {}
    applied, callbacks = 0, 0
    for _ in range(repeats):
        step, btops = case.baseline(stream.rest)

        def base_run(fr, step=step):
            for _, text in fr:
                step(text)

        best["baseline"] = min(best["baseline"], _time(base_run, frames))
        tops["baseline"] = btops()
        run, otops = _ours_book(case, stream)
        best["ours_book"] = min(best["ours_book"], _time(run, frames))
        tops["ours_book"] = otops()
        run, otops, count = _ours(case, stream)
        best["ours"] = min(best["ours"], _time(run, frames))
        tops["ours"], applied = otops(), count[0]
        if cf_note == "ok":
            try:
                cf = make_cf_run(case.cryptofeed, stream.rest)
                best["cryptofeed"] = min(best["cryptofeed"], _time(cf.feed_all, cf_frames))
            except Exception as exc:  # noqa: BLE001 - a foreign library: report, do not crash the bench
                cf_note = f"failed: {type(exc).__name__}: {exc}"[:120]
                continue
            tops["cryptofeed"], callbacks = cf.tops(), cf.callbacks[0]
    n = len(frames)

    def rate(name: str) -> float:
        return n / best[name] if best[name] not in (0.0, float("inf")) else 0.0

    cf_rate = rate("cryptofeed") if cf_note == "ok" else None
    ours, base, ours_book = rate("ours"), rate("baseline"), rate("ours_book")
    cf_match = _tops_equal(tops["ours"], tops["cryptofeed"]) if "cryptofeed" in tops and cf_note == "ok" else None
    return VenueResult(
        venue=case.venue,
        note=case.note,
        frames=n,
        baseline_msgs_per_s=base,
        ours_book_msgs_per_s=ours_book,
        ours_msgs_per_s=ours,
        cryptofeed_msgs_per_s=cf_rate,
        cryptofeed_note=cf_note,
        ours_vs_baseline=ours / base if base else 0.0,
        ours_vs_cryptofeed=ours / cf_rate if cf_rate else None,
        ours_book_vs_cryptofeed=ours_book / cf_rate if cf_rate else None,
        book_events=applied,
        cryptofeed_callbacks=callbacks if cf_note == "ok" else 0,
        tops={
            sym: {name: list(t[sym]) for name, t in tops.items() if name != "cryptofeed" or cf_note == "ok"}
            for sym in tops["ours"]
        },
        books_match=_tops_equal(tops["ours"], tops["baseline"])
        and _tops_equal(tops["ours"], tops["ours_book"])
        and cf_match is not False,
        cryptofeed_matches=cf_match,
    )


def run_venue_bench(params: VenueBenchParams | None = None) -> VenueBenchReport:
    """Measure every selected venue.

    Raises:
        FileNotFoundError: the capture folder does not exist.
        ValueError: an unknown venue id was asked for.
    """
    params = params or VenueBenchParams()
    data = Path(params.data_dir) if params.data_dir else default_data_dir()
    if not data.is_dir():
        raise FileNotFoundError(f"captures not found at {data}")
    known = {c.venue for c in CASES}
    unknown = set(params.venues) - known
    if unknown:
        raise ValueError(f"unknown venues {sorted(unknown)}; known: {sorted(known)}")
    results = []
    for case in CASES:
        if params.venues and case.venue not in params.venues:
            continue
        stream = load_stream(case, data, params.limit)
        results.append(measure_venue(case, stream, params.repeats, params.cryptofeed))
    return VenueBenchReport(
        params=params,
        results=results,
        cryptofeed=cryptofeed_status(),
        python=f"{platform.python_implementation()} {platform.python_version()} on {sys.platform}",
    )


# -- rendering -------------------------------------------------------------------


def venue_table(report: VenueBenchReport) -> Table:
    """The report as a rich table (one row per venue)."""
    t = Table(title=f"venue adapters on recorded streams, msgs/s (best of {report.params.repeats})")
    cols = ("venue", "frames", "bare", "ours book", "ours+Market", "cryptofeed", "book/cf", "full/cf",
            "full/bare", "books")
    for col in cols:
        t.add_column(col, justify="left" if col in ("venue", "books") else "right")

    def x(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}x"

    for r in report.results:
        cf = f"{r.cryptofeed_msgs_per_s:,.0f}" if r.cryptofeed_msgs_per_s is not None else r.cryptofeed_note
        books = "same" if r.books_match else "DIFFER"
        if r.cryptofeed_matches is not None:
            books += f" (cf {r.cryptofeed_callbacks:,} cb)"
        t.add_row(
            r.venue, f"{r.frames:,}", f"{r.baseline_msgs_per_s:,.0f}", f"{r.ours_book_msgs_per_s:,.0f}",
            f"{r.ours_msgs_per_s:,.0f}", cf, x(r.ours_book_vs_cryptofeed), x(r.ours_vs_cryptofeed),
            x(r.ours_vs_baseline), books,
        )
    met = report.meets_target
    t.caption = (
        "bare = orjson + SortedDict; ours book = decode + BookSync + engine Book; "
        f"ours+Market = {report.engine_path}. {report.cryptofeed}. Target book/cf >= "
        f"{report.target_vs_cryptofeed:g}x on {TARGET_VENUE}: "
        + ("not measured" if met is None else ("met" if met else "NOT met"))
    )
    return t


def print_venue_report(report: VenueBenchReport, console: Console | None = None) -> None:
    """Print the table and each venue's stream note."""
    console = console or Console()
    console.print(venue_table(report))
    for r in report.results:
        console.print(f"  {r.venue}: {r.note}")


def bench_venues(params: VenueBenchParams | None = None, console: Console | None = None) -> VenueBenchReport:
    """Run :func:`run_venue_bench` and print it (what ``tapescope bench --venues`` calls)."""
    report = run_venue_bench(params)
    print_venue_report(report, console)
    return report


if __name__ == "__main__":  # pragma: no cover - manual run
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venues", default="", help="comma-separated venue ids (default: all)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--no-cryptofeed", action="store_true")
    a = ap.parse_args()
    bench_venues(
        VenueBenchParams(
            venues=tuple(v for v in a.venues.split(",") if v),
            repeats=a.repeats,
            limit=a.limit,
            cryptofeed=not a.no_cryptofeed,
        )
    )
