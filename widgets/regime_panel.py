"""Regime panel: volatility forecast and regime, trend, VPIN and spread state, one line each.

A dumb renderer of engine snapshots (style.md section 3): it receives a
:class:`~tapescope.engine.regime.VolatilitySnapshot` (GARCH forecast and vol
regime, realised-vol state, Kalman trend and market regime), a
:class:`~tapescope.engine.vpin.VpinSnapshot` and the
:class:`~tapescope.engine.snapshot.FlowSnapshot` (spread statistics), and
draws five lines::

    GARCH   σ 42.3%  1h ±0.452%  MEDIUM  fit
    Vol     EXPANDING  1m 51.2%  5m 38.0%  ×1.35  z+1.8
    Trend   ▲ TREND_UP  +0.42bp/s  t+3.4
    VPIN    0.312  z+2.1  bucket 40%
    Spread  1.0t  0.50bp  z+0.4

Values are quantised (3 significant digits, z to one decimal, the bucket
fill in 10 % steps) and the widget repaints only when its text changes, so a
quiet regime costs no terminal bytes (architecture.md rule 4). States are
spelled out, so nothing depends on colour alone.

| Component class | Used for |
|---|---|
| ``regime--label`` | line labels |
| ``regime--up`` | uptrend |
| ``regime--down`` | downtrend |
| ``regime--calm`` | low volatility, compressed, range |
| ``regime--alert`` | high volatility, expanding, volatile, VPIN or spread alarms |
"""

from __future__ import annotations

import math
from typing import NamedTuple

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tapescope.engine.regime import MarketRegime, VolatilitySnapshot
from tapescope.engine.snapshot import FlowSnapshot
from tapescope.engine.volatility import SECONDS_PER_YEAR, VolRegime, VolState
from tapescope.engine.vpin import VpinSnapshot

#: Placeholder for an undefined value.
MISSING = "—"
#: |z| at or above which VPIN and realised-vol z-scores are flagged.
Z_ALERT = 2.0
#: Horizon of the per-horizon GARCH move shown next to the annualised forecast, seconds.
HORIZON_S = 3600

Part = tuple[str, str]


class RegimeLine(NamedTuple):
    """One line: a label and value parts, each with a tone."""

    label: str
    """Line label."""
    parts: tuple[Part, ...]
    """``(text, tone)``; tone is ``""``, ``"up"``, ``"down"``, ``"calm"`` or ``"alert"``."""


def _pct(x: float) -> str:
    """An annualised fraction as a percentage with 3 significant digits.

    >>> _pct(0.4234), _pct(1.5), _pct(0.0567), _pct(0.5), _pct(0.99996), _pct(float("nan"))
    ('42.3%', '150%', '5.67%', '50.0%', '100%', '—')
    """
    if not math.isfinite(x):
        return MISSING
    p = x * 100
    text = f"{p:#.3g}"
    return f"{p:.0f}%" if text.endswith(".") or "e" in text else text + "%"


def _z(z: float) -> str:
    return MISSING if not math.isfinite(z) else f"{z:+.1f}"


def _window(seconds: int) -> str:
    """``60`` -> ``1m``, ``3600`` -> ``1h``.

    >>> _window(60), _window(300), _window(3600), _window(45)
    ('1m', '5m', '1h', '45s')
    """
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


_VOL_TONE = {VolRegime.LOW: "calm", VolRegime.HIGH: "alert"}
_STATE_TONE = {VolState.COMPRESSED: "calm", VolState.EXPANDING: "alert"}
_REGIME = {
    MarketRegime.TREND_UP: ("▲ TREND_UP", "up"),
    MarketRegime.TREND_DOWN: ("▼ TREND_DOWN", "down"),
    MarketRegime.RANGE: ("↔ RANGE", "calm"),
    MarketRegime.VOLATILE: ("≈ VOLATILE", "alert"),
    MarketRegime.UNKNOWN: ("? UNKNOWN", ""),
}


def garch_line(vol: VolatilitySnapshot) -> RegimeLine:
    """GARCH forecast, annualised and over :data:`HORIZON_S`, with the vol regime.

    >>> from tapescope.engine.volatility import GarchSnapshot
    >>> v = VolatilitySnapshot(garch=GarchSnapshot(fitted=True, forecast_ann=0.5),
    ...                        vol_regime=VolRegime.HIGH)
    >>> "".join(t for t, _ in garch_line(v).parts)
    'σ 50.0%  1h ±0.534%  HIGH  fit'
    """
    g = vol.garch
    ann = g.forecast_ann
    horizon = ann * math.sqrt(HORIZON_S / SECONDS_PER_YEAR) if math.isfinite(ann) else math.nan
    source = "fit" if g.fitted else ("ewma" if math.isfinite(ann) else "")
    parts: list[Part] = [
        (f"σ {_pct(ann)}", ""),
        (f"  {_window(HORIZON_S)} ±{_pct(horizon)}" if math.isfinite(horizon) else "", ""),
        (f"  {vol.vol_regime.name}", _VOL_TONE.get(vol.vol_regime, "")),
    ]
    if source:
        parts.append((f"  {source}", "calm"))
    return RegimeLine("GARCH", tuple(p for p in parts if p[0]))


def vol_state_line(vol: VolatilitySnapshot) -> RegimeLine:
    """Realised-vol state, the realised windows, short/long ratio and the short z-score.

    >>> from tapescope.engine.volatility import RealisedVolSnapshot
    >>> r = RealisedVolSnapshot(vols=((60, 0.512), (300, 0.38)), ratio=1.347,
    ...                         state=VolState.EXPANDING, short_z=2.34)
    >>> "".join(t for t, _ in vol_state_line(VolatilitySnapshot(realised=r)).parts)
    'EXPANDING  1m 51.2%  5m 38.0%  ×1.35  z+2.3'
    """
    r = vol.realised
    parts: list[Part] = [(r.state.name, _STATE_TONE.get(r.state, ""))]
    for window, value in r.vols:
        parts.append((f"  {_window(window)} {_pct(value)}", ""))
    parts.append((f"  ×{r.ratio:.2f}" if math.isfinite(r.ratio) else f"  ×{MISSING}", ""))
    alarm = math.isfinite(r.short_z) and abs(r.short_z) >= Z_ALERT
    parts.append((f"  z{_z(r.short_z)}", "alert" if alarm else ""))
    return RegimeLine("Vol", tuple(parts))


def trend_line(vol: VolatilitySnapshot) -> RegimeLine:
    """Market regime with the Kalman slope (bp/s) and its t-statistic.

    >>> from tapescope.engine.kalman import TrendSnapshot
    >>> v = VolatilitySnapshot(trend=TrendSnapshot(slope_bps=-0.4249, tstat=-3.41),
    ...                        regime=MarketRegime.TREND_DOWN)
    >>> "".join(t for t, _ in trend_line(v).parts)
    '▼ TREND_DOWN  -0.425bp/s  t-3.4'
    """
    t = vol.trend
    label, tone = _REGIME.get(vol.regime, (vol.regime.name, ""))
    slope = MISSING if not math.isfinite(t.slope_bps) else f"{t.slope_bps:+.3g}bp/s"
    return RegimeLine("Trend", ((label, tone), (f"  {slope}", ""), (f"  t{_z(t.tstat)}", "")))


def vpin_line(vpin: VpinSnapshot) -> RegimeLine:
    """VPIN, its z-score (flagged at :data:`Z_ALERT`) and the current bucket's fill in 10 % steps.

    >>> "".join(t for t, _ in vpin_line(VpinSnapshot(vpin=0.3124, z=2.06, fill=0.47)).parts)
    '0.312  z+2.1  bucket 40%'
    """
    value = MISSING if not math.isfinite(vpin.vpin) else f"{vpin.vpin:.3f}"
    alarm = math.isfinite(vpin.z) and vpin.z >= Z_ALERT
    fill = int(min(max(vpin.fill, 0.0), 1.0) * 10) * 10
    return RegimeLine("VPIN", ((value, ""), (f"  z{_z(vpin.z)}", "alert" if alarm else ""),
                               (f"  bucket {fill}%", "calm")))


def spread_line(flow: FlowSnapshot, live: bool = True) -> RegimeLine:
    """Spread in ticks and bps with its z-score; the engine's widening flag is spelled out.

    >>> "".join(t for t, _ in spread_line(FlowSnapshot(spread_ticks=2.0, spread_bps=0.5,
    ...                                                 spread_z=3.4, spread_widening=True)).parts)
    '2.0t  0.50bp  z+3.4  WIDENING'
    """
    if not live:
        return RegimeLine("Spread", ((MISSING, ""),))
    ticks = MISSING if not math.isfinite(flow.spread_ticks) else f"{flow.spread_ticks:.1f}t"
    bps = MISSING if not math.isfinite(flow.spread_bps) else f"{flow.spread_bps:.2f}bp"
    parts: list[Part] = [(ticks, ""), (f"  {bps}", ""), (f"  z{_z(flow.spread_z)}", "")]
    if flow.spread_widening:
        parts.append(("  WIDENING", "alert"))
    return RegimeLine("Spread", tuple(parts))


def regime_lines(vol: VolatilitySnapshot | None, vpin: VpinSnapshot | None,
                 flow: FlowSnapshot | None, live: bool = True) -> list[RegimeLine]:
    """All lines of the panel; a missing input shows ``—`` on its lines.

    >>> [line.label for line in regime_lines(None, None, None)]
    ['GARCH', 'Vol', 'Trend', 'VPIN', 'Spread']
    """
    vol = vol if vol is not None else VolatilitySnapshot()
    return [
        garch_line(vol), vol_state_line(vol), trend_line(vol),
        vpin_line(vpin if vpin is not None else VpinSnapshot()),
        spread_line(flow if flow is not None else FlowSnapshot(), live),
    ]


class RegimePanel(Widget):
    """Volatility, regime, VPIN and spread state of the focused market."""

    COMPONENT_CLASSES = {"regime--label", "regime--up", "regime--down", "regime--calm",
                         "regime--alert"}

    DEFAULT_CSS = """
    RegimePanel {
        height: 5;
        & > .regime--label { color: $foreground-muted; }
        & > .regime--up { color: $regime-up; text-style: bold; }
        & > .regime--down { color: $regime-down; text-style: bold; }
        & > .regime--calm { color: $regime-calm; }
        & > .regime--alert { color: $alert; text-style: bold; }
    }
    """

    volatility: reactive[VolatilitySnapshot | None] = reactive(None, repaint=False)
    """Volatility monitor output (GARCH, realised state, trend, regimes)."""
    vpin: reactive[VpinSnapshot | None] = reactive(None, repaint=False)
    """VPIN output."""
    flow: reactive[FlowSnapshot | None] = reactive(None, repaint=False)
    """Flow metrics (for the spread line)."""
    live: reactive[bool] = reactive(True, repaint=False)
    """Whether the book is ``LIVE`` (the spread line is blanked otherwise)."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[RegimeLine] = regime_lines(None, None, None)
        self.repaints = 0
        """Times the text changed and a repaint was requested."""

    @property
    def plain(self) -> str:
        """The text currently shown, one line per row (for tests)."""
        return "\n".join(f"{line.label:<7} " + "".join(t for t, _ in line.parts)
                         for line in self._lines)

    def watch_volatility(self) -> None:
        self._rebuild()

    def watch_vpin(self) -> None:
        self._rebuild()

    def watch_flow(self) -> None:
        self._rebuild()

    def watch_live(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        lines = regime_lines(self.volatility, self.vpin, self.flow, self.live)
        if lines != self._lines:
            self._lines = lines
            self.repaints += 1
            self.refresh()

    def render(self) -> Text:
        styles = {tone: self.get_component_rich_style(f"regime--{tone}")
                  for tone in ("label", "up", "down", "calm", "alert")}
        text = Text(no_wrap=True, overflow="crop")
        for n, line in enumerate(self._lines):
            if n:
                text.append("\n")
            text.append(f"{line.label:<7} ", styles["label"])
            for part, tone in line.parts:
                text.append(part, styles[tone] if tone else None)
        return text
