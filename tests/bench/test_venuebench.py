"""Smoke test of ``tapescope bench --venues``: report structure and book agreement, not timings."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from tapescope.engine.book import Book
from tapescope.tui.venuebench import (
    VenueBenchParams,
    VenueBenchReport,
    print_venue_report,
    run_venue_bench,
)
from tapescope.tui.venuebench_cases import CASES, load_stream
from tapescope.tui.venuebench_cf import cryptofeed_status

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"captures not found at {DATA}")

#: Frames per stream: enough for Binance's REST bridge and every venue's first snapshots.
LIMIT = 400


@pytest.fixture(scope="module")
def report() -> VenueBenchReport:
    return run_venue_bench(VenueBenchParams(repeats=1, limit=LIMIT, data_dir=str(DATA)))


def _independent_tops(venue: str) -> dict:
    """Top of book from a plain engine ``Book`` fed by a hand-written loop over the same frames.

    Independent of the bench paths: Binance from the REST body plus the ``pu``-chained
    diffs with ``u >= lastUpdateId``; Bybit replaying snapshot/delta frames.
    """
    import orjson

    case = next(c for c in CASES if c.venue == venue)
    stream = load_stream(case, DATA, LIMIT)
    books: dict[str, Book] = {}
    for _, text in stream.frames:
        m = orjson.loads(text)
        if venue == "binance-usdm":
            d = m["data"]
            book = books.get(d["s"])
            if book is None:
                snap = orjson.loads(stream.rest[d["s"]])
                book = books[d["s"]] = Book()
                book.apply_snapshot(
                    [(float(p), float(q)) for p, q in snap["bids"]],
                    [(float(p), float(q)) for p, q in snap["asks"]],
                    snap["lastUpdateId"],
                )
                last = snap["lastUpdateId"]
            if d["u"] < last:
                continue
            last = d["u"]
        else:
            d = m["data"]
            book = books.setdefault(d["s"], Book())
            if m["type"] == "snapshot":
                book.clear()
        book.apply_delta(
            [(float(p), float(q)) for p, q in d["b"]], [(float(p), float(q)) for p, q in d["a"]], 0
        )
    return {s: (b.best_bid(), b.best_ask()) for s, b in books.items()}


def test_report_structure(report: VenueBenchReport) -> None:
    assert [r.venue for r in report.results] == [c.venue for c in CASES]
    for r in report.results:
        assert 0 < r.frames <= LIMIT
        assert r.baseline_msgs_per_s > 0 and r.ours_msgs_per_s > 0 and r.ours_book_msgs_per_s > 0
        assert r.ours_vs_baseline == pytest.approx(r.ours_msgs_per_s / r.baseline_msgs_per_s)
        assert r.book_events > 0
        # Every path ended with the same book on every symbol.
        assert r.books_match, r.tops
        assert set(r.tops) == {i.symbol for c in CASES if c.venue == r.venue for i in c.instruments}
    d = report.to_dict()
    assert d["results"][0]["venue"] == "binance-usdm" and "meets_target" in d
    out = io.StringIO()
    print_venue_report(report, Console(file=out, width=160))
    text = out.getvalue()
    assert "binance-usdm" in text and "coinbase" in text and "bare" in text


@pytest.mark.parametrize("venue", ["binance-usdm", "bybit-linear"])
def test_ours_equals_an_independent_book(report: VenueBenchReport, venue: str) -> None:
    expected = _independent_tops(venue)
    got = report.result(venue).tops
    for sym, (bid, ask) in expected.items():
        assert tuple(got[sym]["ours"][0]) == bid and tuple(got[sym]["ours"][1]) == ask


def test_cryptofeed_column(report: VenueBenchReport) -> None:
    status = cryptofeed_status()
    assert report.cryptofeed == status
    for r in report.results:
        if status == "not installed":
            assert r.cryptofeed_note == "not installed" and r.cryptofeed_msgs_per_s is None
            continue
        # cryptofeed really kept the books: it called back and its tops equal ours.
        assert r.cryptofeed_note == "ok", r.cryptofeed_note
        assert r.cryptofeed_callbacks > 0
        assert r.cryptofeed_matches is True, r.tops
        assert r.ours_vs_cryptofeed == pytest.approx(r.ours_msgs_per_s / r.cryptofeed_msgs_per_s)
    if status != "not installed":
        assert report.meets_target is not None


def test_unknown_venue_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown venues"):
        run_venue_bench(VenueBenchParams(venues=("nope",), data_dir=str(DATA)))
