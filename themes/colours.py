"""Colour checks for themes: 256-colour quantisation, WCAG contrast, colour-vision simulation.

Used by the theme tests (and handy when designing a palette) to prove a theme
stays readable where tapescope is often watched: a 256-colour terminal over
SSH, by someone who may not tell red from green.

* :func:`to_256` maps a hex colour to the xterm-256 colour a 256-colour
  terminal will actually show (Rich's own downgrade, which Textual uses).
* :func:`contrast_ratio` is the WCAG 2.x ratio of relative luminances
  (1 to 21; 4.5 is the AA threshold for normal text, 7 for AAA).
* :func:`simulate_cvd` applies the Machado, Oliveira and Fernandes (2009)
  full-severity matrices for protanopia, deuteranopia and tritanopia in
  linear RGB.
* :func:`delta_e` is the CIE76 distance in CIELAB (about 2.3 is a just
  noticeable difference; 20 and more reads as clearly different colours).
"""

from __future__ import annotations

import math

from rich.color import Color, ColorSystem

#: Machado et al. (2009) simulation matrices at severity 1.0, applied to linear RGB.
CVD_MATRICES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}

RGB = tuple[int, int, int]


def parse_rgb(colour: str) -> RGB:
    """``#rrggbb`` (or any colour Rich parses) as an ``(r, g, b)`` triple.

    >>> parse_rgb("#ff8000")
    (255, 128, 0)
    """
    triplet = Color.parse(colour).get_truecolor()
    return triplet.red, triplet.green, triplet.blue


def to_256(colour: str) -> RGB:
    """The RGB a 256-colour terminal shows for ``colour`` (Rich's downgrade).

    >>> to_256("#56b4e9")
    (95, 175, 215)
    """
    triplet = Color.parse(colour).downgrade(ColorSystem.EIGHT_BIT).get_truecolor()
    return triplet.red, triplet.green, triplet.blue


def _linear(c: float) -> float:
    c /= 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _encode(c: float) -> float:
    c = min(1.0, max(0.0, c))
    return 255.0 * (12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055)


def relative_luminance(rgb: RGB) -> float:
    """WCAG relative luminance in [0, 1].

    >>> relative_luminance((255, 255, 255)), relative_luminance((0, 0, 0))
    (1.0, 0.0)
    """
    r, g, b = (_linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio between two colours, 1 to 21.

    >>> round(contrast_ratio((255, 255, 255), (0, 0, 0)), 1)
    21.0
    """
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def simulate_cvd(rgb: RGB, kind: str) -> tuple[float, float, float]:
    """How ``rgb`` looks with a full colour-vision deficiency ``kind`` (sRGB 0-255 floats).

    Args:
        rgb: The colour.
        kind: ``"protanopia"``, ``"deuteranopia"`` or ``"tritanopia"``.

    >>> [round(c) for c in simulate_cvd((128, 128, 128), "deuteranopia")]  # greys are unchanged
    [128, 128, 128]
    """
    m = CVD_MATRICES[kind]
    lin = [_linear(c) for c in rgb]
    out = [sum(m[i][j] * lin[j] for j in range(3)) for i in range(3)]
    return _encode(out[0]), _encode(out[1]), _encode(out[2])


def _lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = (_linear(c) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """CIE76 colour difference of two sRGB colours (0-255 floats).

    >>> round(delta_e((0, 0, 0), (255, 255, 255)), 3)  # black to white: L* 0 -> 100
    100.0
    """
    la, lb = _lab(a), _lab(b)
    return math.dist(la, lb)
