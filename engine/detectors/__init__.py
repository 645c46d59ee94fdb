"""Microstructure detectors: walls, fill/cancel attribution, spoofing, icebergs,
absorption, liquidity vacuums and spread widening (detectors.md, Microstructure).

Each detector is a small class fed with plain inputs (event time in ns, prices,
sizes) by the per-symbol Market, updated with work proportional to what the
event changed, and emitting :class:`~tapescope.engine.detectors.base.DetectorEvent`
records. None reads the wall clock.
"""
