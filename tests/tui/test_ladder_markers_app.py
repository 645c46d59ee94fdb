"""The real App on the real engine: an injected detector event shows on the ladder at its price."""

from __future__ import annotations

from tapescope.engine.detectors.base import DetectorEvent, DetectorKind
from tapescope.engine.events import NS_PER_S, Trade
from tapescope.tui.app import make_app
from tapescope.tui.config import load_config
from tapescope.tui.perf import frozen_market


def line(widget, y: int) -> str:
    return "".join(seg.text for seg in widget.render_line(y))


async def test_injected_spoof_is_marked_then_fades_out() -> None:
    config = load_config(read_user_file=False, overrides={"alerts": {"notify": False, "bell": False},
                                                          "markers": {"spoof_s": 9.0}})
    feed, hub = frozen_market(config, 30.0, seed=7)
    key = hub.keys[0]
    market = hub.markets[key]
    app = make_app(config, feed, hub, start_feed=False, clock=lambda: market.ts)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.refresh_frame()
        await pilot.pause()
        ladder = app.dashboard.ladder
        snap = app.dashboard.snapshot
        step = snap.ladder.step
        # A spoofed bid two rows under the best bid row, detected "now" (event time).
        row_price = snap.ladder.bids[2][0]
        now = market.ts
        market.analysis.micro.events.append(
            DetectorEvent(DetectorKind.SPOOF, now, 1, row_price + step * 0.25, 42.0, 0.9, "injected"))
        # One print moves the market on (and becomes the last trade): a sell at the best bid.
        bid = snap.best_bid[0]
        hub.on_event(Trade(key, now + 1, now + 1, bid, 0.25, -1, "inj-1"))
        app.refresh_frame()
        await pilot.pause()
        texts = [line(ladder, y) for y in range(ladder.size.height)]
        price_text = f"{row_price:,.{snap.instrument.price_decimals()}f}"
        marked = [t for t in texts if t.startswith("S")]
        assert len(marked) == 1 and price_text in marked[0]
        first = list(ladder.render_line(texts.index(marked[0])))[0]
        assert first.text == "S" and first.style.reverse  # fresh
        # The last trade is tagged on the best bid's row with its aggressor and size.
        bid_row = next(t for t in texts if f"{bid - bid % step:,.{snap.instrument.price_decimals()}f}" in t)
        assert bid_row.rstrip().endswith("▼0.250")
        # 7 s of event time later (of a 9 s life) the marker is old: lower case.
        hub.on_event(Trade(key, now + 7 * NS_PER_S, now + 7 * NS_PER_S, bid, 0.25, -1, "inj-2"))
        app.refresh_frame()
        await pilot.pause()
        texts = [line(ladder, y) for y in range(ladder.size.height)]
        assert [t for t in texts if t[:1] in ("S", "s")][0].startswith("s")
        # Past its life it is gone.
        hub.on_event(Trade(key, now + 10 * NS_PER_S, now + 10 * NS_PER_S, bid, 0.25, -1, "inj-3"))
        app.refresh_frame()
        await pilot.pause()
        assert not any(line(ladder, y)[:1] in ("S", "s") for y in range(ladder.size.height))
