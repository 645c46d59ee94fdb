"""Per-symbol bundle of the information and level metrics, behind three update calls.

:class:`LevelsMonitor` owns, for one symbol, :class:`Vpin`,
:class:`VolumeProfile`, :class:`TpoProfile`, :class:`Vwap`, :class:`Velocity`,
:class:`OpenInterestTracker` and :class:`Zones`, and routes plain inputs to
them: mids (``on_mid``), trades (``on_trade``) and open interest (``on_oi``).
Zones take their HVN bands from the session volume profile each time a
snapshot is built (the profile's statistics are computed at the frame rate,
not per trade). The OI quadrant and the zones' bars use the mid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tapescope.engine.open_interest import (
    OpenInterestConfig,
    OpenInterestSnapshot,
    OpenInterestTracker,
)
from tapescope.engine.profile import (
    ProfileConfig,
    TpoProfile,
    TpoSnapshot,
    VolumeProfile,
    VolumeProfileSnapshot,
)
from tapescope.engine.velocity import Velocity, VelocityConfig, VelocitySnapshot
from tapescope.engine.vpin import Vpin, VpinConfig, VpinSnapshot
from tapescope.engine.vwap import Vwap, VwapConfig, VwapSnapshot
from tapescope.engine.zones import Zones, ZonesConfig, ZonesSnapshot

if TYPE_CHECKING:
    from tapescope.engine.events import Trade
    from tapescope.engine.market import Market


@dataclass(frozen=True, slots=True)
class LevelsSnapshot:
    """Outputs of :class:`LevelsMonitor`."""

    vpin: VpinSnapshot = field(default_factory=VpinSnapshot)
    """VPIN and its z-score."""
    profile: VolumeProfileSnapshot = field(default_factory=VolumeProfileSnapshot)
    """Session and rolling volume profiles."""
    tpo: TpoSnapshot = field(default_factory=TpoSnapshot)
    """Session TPO profile."""
    vwap: VwapSnapshot = field(default_factory=VwapSnapshot)
    """Session, rolling and anchored VWAP with bands."""
    velocity: VelocitySnapshot = field(default_factory=VelocitySnapshot)
    """Mid velocity, trade rate and their acceleration."""
    open_interest: OpenInterestSnapshot = field(default_factory=OpenInterestSnapshot)
    """OI buckets, spikes and quadrant."""
    zones: ZonesSnapshot = field(default_factory=ZonesSnapshot)
    """Supply and demand zones."""

    def reference_levels(self) -> tuple[float, ...]:
        """Reference prices for level-based signals, ascending and distinct.

        The session value-area edges, session HVNs, the TPO value-area edges and
        every zone's edges (POC and VWAP are separate fields of the signals'
        features). O(levels log levels).

        >>> LevelsSnapshot().reference_levels()
        ()
        """
        p, t = self.profile.session, self.tpo.stats
        out = {p.val, p.vah, t.val, t.vah, *p.hvn}
        for z in self.zones.zones:
            out.update((z.low, z.high))
        return tuple(sorted(x for x in out if x == x))


class LevelsMonitor:
    """Information and level metrics of one symbol.

    >>> m = LevelsMonitor("sim:BTC", tick=0.5)
    >>> m.on_mid(0, 100.25)
    >>> m.on_trade(1, 100.5, 2.0, 1)
    >>> m.snapshot().vwap.session.vwap
    100.5
    """

    def __init__(
        self,
        symbol: str,
        tick: float,
        vpin: VpinConfig | None = None,
        profile: ProfileConfig | None = None,
        vwap: VwapConfig | None = None,
        velocity: VelocityConfig | None = None,
        open_interest: OpenInterestConfig | None = None,
        zones: ZonesConfig | None = None,
    ) -> None:
        self.symbol = symbol
        self.vpin = Vpin(vpin)
        self.profile = VolumeProfile(tick, profile)
        self.tpo = TpoProfile(tick, profile)
        self.vwap = Vwap(vwap)
        self.velocity = Velocity(velocity)
        self.open_interest = OpenInterestTracker(open_interest)
        self.zones = Zones(zones)
        self._nodes_from: VolumeProfileSnapshot | None = None
        self._last_mid = (-1, math.nan)  # (second, mid) of the last on_mid

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Route a mid to velocity, the OI quadrant and the zones' bars. O(1) amortised."""
        # Each keeps the last mid of a whole second, OI bucket or zone bar (all
        # whole seconds), so the same mid again within the same second changes
        # nothing: skip it (most book updates do not move the mid).
        key = (ts_ns // 1_000_000_000, mid)
        if key == self._last_mid:
            return
        self._last_mid = key
        self.velocity.on_mid(ts_ns, mid)
        self.open_interest.on_price(ts_ns, mid)
        self.zones.on_price(ts_ns, mid)

    def on_trade(self, ts_ns: int, price: float, qty: float, side: int) -> None:
        """Route a trade to VPIN, the profiles, VWAP and the trade rate. O(1) amortised."""
        self.vpin.on_trade(ts_ns, price, qty, side)
        self.profile.on_trade(ts_ns, price, qty, side)
        self.tpo.on_price(ts_ns, price)
        self.vwap.on_trade(ts_ns, price, qty, side)
        self.velocity.on_trade(ts_ns, price, qty, side)

    def on_oi(self, ts_ns: int, open_interest: float) -> None:
        """Record an open-interest sample. O(1)."""
        self.open_interest.on_oi(ts_ns, open_interest)

    def set_anchor(self, ts_ns: int) -> None:
        """Anchor the anchored VWAP (see :meth:`Vwap.set_anchor`). O(history seconds)."""
        self.vwap.set_anchor(ts_ns)

    def clear_anchor(self) -> None:
        """Remove the VWAP anchor. O(1)."""
        self.vwap.clear_anchor()

    def snapshot(self) -> LevelsSnapshot:
        """All outputs. O(profile bins) when trades arrived since the last call, else O(1) per part."""
        prof = self.profile.snapshot()
        if prof is not self._nodes_from:
            self._nodes_from = prof
            self.zones.set_nodes(prof.session.hvn, self.profile.step)
        return LevelsSnapshot(
            vpin=self.vpin.snapshot(),
            profile=prof,
            tpo=self.tpo.snapshot(),
            vwap=self.vwap.snapshot(),
            velocity=self.velocity.snapshot(),
            open_interest=self.open_interest.snapshot(),
            zones=self.zones.snapshot(),
        )


class LevelsAnalyzer:
    """Attaches a :class:`LevelsMonitor` to a Market (its ``Analyzer`` hook).

    ``market.analyzers.append(LevelsAnalyzer(monitor))``: valid book updates
    feed the mid, trades feed the trade metrics, and a new open-interest value
    on the market (``market.open_interest_ts`` moved; the Market does not call
    analyzers for OI events) is forwarded with its own timestamp at the next
    hook call.
    """

    def __init__(self, monitor: LevelsMonitor) -> None:
        self.monitor = monitor
        """The wrapped monitor; read ``monitor.snapshot()`` at the frame rate."""
        self._oi_ts = 0

    def _poll_oi(self, market: Market) -> None:
        ts = market.open_interest_ts
        if ts != self._oi_ts:
            self._oi_ts = ts
            self.monitor.on_oi(ts, market.open_interest)

    def on_book(self, ts: int, market: Market) -> None:
        """Feed the mid of the just-updated book. O(1)."""
        if market.open_interest_ts != self._oi_ts:
            self._poll_oi(market)
        # The Market calls analyzers right after FlowMetrics.on_book recorded this
        # book's touch: the same prices ``book.mid()`` would read, without its calls.
        flow = market.flow
        bid, ask = flow.bid, flow.ask
        if bid != -math.inf and ask != math.inf:
            self.monitor.on_mid(ts, (bid + ask) * 0.5)

    def on_trade(self, trade: Trade, market: Market) -> None:
        """Feed a trade. O(1) amortised."""
        self._poll_oi(market)
        self.monitor.on_trade(trade.ts, trade.price, trade.qty, trade.side)

    def on_second(self, ts_s: int, market: Market) -> None:
        """Forward a pending OI sample. O(1)."""
        self._poll_oi(market)
