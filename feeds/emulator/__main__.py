"""Run the loopback exchange standalone: ``python -m tapescope.feeds.emulator --venue binance-usdm``.

Serves a generated Binance market (or a capture, ``--capture``) on 127.0.0.1
until interrupted and logs the websocket and REST URLs to point a feed at,
e.g. a user config with ``[venues.binance-usdm] ws_url = "ws://127.0.0.1:PORT"``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from tapescope.feeds.captures import companion_http
from tapescope.feeds.emulator.faults import Fault, FaultKind
from tapescope.feeds.emulator.scripts.base import Script
from tapescope.feeds.emulator.server import Emulator

log = logging.getLogger("tapescope.feeds.emulator")


def load_script(venue: str, capture: str | None, symbols: list[str], events: int) -> Script:
    """The script to serve: a capture for the venue, or a generated Binance market."""
    if capture is None:
        from tapescope.feeds.emulator.scripts.binance import generate

        if not venue.startswith("binance"):
            raise SystemExit(f"generated markets exist for binance venues only; give --capture for {venue}")
        return generate(venue, symbols, events, seed=1)
    path = str(Path(capture))
    if venue.startswith("binance"):
        from tapescope.feeds.emulator.scripts import binance

        if path.endswith(".gz"):
            return binance.load_hftbacktest(path, venue, ("book", "trade"))
        http = companion_http(path)
        if http is None:
            raise SystemExit(f"no .http snapshot file beside {path}")
        return binance.load_cryptofeed(path, str(http), venue)
    if venue.startswith("bybit"):
        from tapescope.feeds.emulator.scripts import bybit

        return bybit.load_jsonl(path, venue.split("-")[1])
    if venue == "okx":
        from tapescope.feeds.emulator.scripts import okx

        return okx.load_cryptofeed(path)
    if venue == "kraken":
        from tapescope.feeds.emulator.scripts import kraken

        return kraken.load_v1(path)
    from tapescope.feeds.emulator.scripts import coinbase

    return coinbase.load_jsonl(path)


async def serve(args: argparse.Namespace) -> None:
    """Run the emulator until cancelled."""
    script = load_script(args.venue, args.capture, args.symbols.split(","), args.events)
    faults = [Fault(FaultKind(kind), at=int(at)) for kind, _, at in (f.partition("@") for f in args.fault)]
    async with Emulator(args.venue, script, faults, rate=args.rate) as emu:
        log.info("%s emulator: ws %s  rest %s  (%d frames at %g/s)", args.venue, emu.ws_url, emu.rest_url,
                 len(script.frames), args.rate)
        await emu.wait_done()
        log.info("timeline done; connections stay open until interrupted")
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m tapescope.feeds.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--venue", default="binance-usdm")
    parser.add_argument("--capture", help="capture file to serve (default: a generated Binance market)")
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT", help="generated market symbols")
    parser.add_argument("--events", type=int, default=100_000, help="generated diffs per symbol")
    parser.add_argument("--rate", type=float, default=200.0, help="frames per second (0: as fast as possible)")
    parser.add_argument("--fault", action="append", default=[], help="KIND@BOOK_FRAME, e.g. drop@500 (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
