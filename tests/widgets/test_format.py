"""Formatting helpers: quantisation and compact numbers, against hand-written values."""

from __future__ import annotations

import math

import pytest

from tapescope.widgets.format import fmt_fixed, fmt_price, fmt_signed, fmt_size, fmt_time, quantise


@pytest.mark.parametrize(("x", "digits", "expected"), [
    (1234.5, 3, 1230.0), (1234.5, 2, 1200.0), (0.012345, 3, 0.0123), (-987.6, 2, -990.0),
    (5.0, 3, 5.0), (0.0, 3, 0.0),
])
def test_quantise(x: float, digits: int, expected: float) -> None:
    assert quantise(x, digits) == pytest.approx(expected)


@pytest.mark.parametrize(("x", "digits", "expected"), [
    (0.5, 3, "0.500"), (12.0, 3, "12.0"), (12.04, 3, "12.0"), (12.06, 3, "12.1"), (999.0, 3, "999"),
    (1500.0, 2, "1.5k"), (2_500_000.0, 3, "2.50M"), (3.2e9, 2, "3.2G"), (0.000123, 2, "0.00012"),
])
def test_fmt_size(x: float, digits: int, expected: str) -> None:
    assert fmt_size(x, digits) == expected


def test_quantised_sizes_hide_small_changes() -> None:
    # The point of quantising: 1234.1 and 1234.4 draw the same text.
    assert fmt_size(1234.1) == fmt_size(1234.4) == "1.23k"


def test_signed_and_fixed_and_price() -> None:
    assert fmt_signed(-1234.0, 2) == "-1.2k"
    assert fmt_signed(0.0001, 3) == "+0.000100"
    assert fmt_fixed(1.005, 1) == "1.0" and fmt_fixed(-0.25, 2, signed=True) == "-0.25"
    assert fmt_price(65432.1, 1) == "65,432.1"
    assert fmt_price(math.inf, 2) == "—"


def test_fmt_time_utc() -> None:
    # 2026-01-01T00:00:01.5Z
    assert fmt_time(1_767_225_601_500_000_000) == "00:00:01.500"
