"""The App's alert timer: every market once per round, a slice per tick, one bell per round."""

from __future__ import annotations

from types import SimpleNamespace

from tapescope.tui.alert_actions import ALERT_BATCH, AlertActions


class FakePanels:
    """Records the keys of every scan; each scan raises an alert that rings the bell."""

    def __init__(self, owner: AlertActions) -> None:
        self.owner = owner
        self.scans: list[list[str] | None] = []
        self.sink = SimpleNamespace(version=0, log=[])

    def scan(self, hub, now, snapshot_of, keys=None):
        self.scans.append(keys)
        self.owner.round_bell()   # what AlertSink.publish does for a severe enough alert
        return []


class FakeApp(AlertActions):
    def __init__(self, n: int) -> None:
        self.hub = SimpleNamespace(keys=[f"sim:M{i:02d}" for i in range(n)])
        self.panels = FakePanels(self)
        self.dashboard = SimpleNamespace(alerts=())
        self._clock = lambda: 0
        self._last = None
        self._alerts_version = 0
        self._alert_next = 0
        self.bells = 0

    def bell(self) -> None:
        self.bells += 1

    def summary_snapshot(self, key: str):
        # WatchlistActions provides it in the App; FakePanels.scan never reads a snapshot.
        raise AssertionError("not expected to be read")


def test_slices_cover_every_market_once_per_round_and_ring_once() -> None:
    app = FakeApp(20)
    keys = app.hub.keys
    for _ in range(3):                                  # ceil(20 / 8) ticks: one round
        app.scan_alerts_batch()
    assert app.panels.scans == [keys[0:ALERT_BATCH], keys[ALERT_BATCH:2 * ALERT_BATCH],
                                keys[2 * ALERT_BATCH:20]]
    assert app.bells == 1                               # three slices alerted, one bell
    app.scan_alerts_batch()                             # the next round starts over
    assert app.panels.scans[-1] == keys[0:ALERT_BATCH] and app.bells == 2
    app.scan_alerts()                                   # a full scan is a round of its own
    assert app.panels.scans[-1] is None and app.bells == 3
