"""Sanitising network text: escapes, control and format characters, length bounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tapescope.feeds.sanitize import ELLIPSIS, sanitize, sanitize_symbol


def test_ansi_csi_osc_and_bare_escapes_are_removed() -> None:
    assert sanitize("\x1b[2J\x1b[H\x1b[1;31mALERT\x1b[0m") == "ALERT"
    assert sanitize("\x1b]0;owned title\x07after") == "after"
    assert (
        sanitize("\x1b]52;c;ZXZpbA==\x1b\\clip") == "clip"
    )  # OSC 52 clipboard write, ST-terminated
    assert sanitize("\x1bPq#0;2;0;0;0\x1b\\sixel") == "sixel"  # DCS
    assert sanitize("a\x1bcb") == "ab"  # ESC c: full terminal reset
    assert sanitize("\x9b31mC1 csi") == "C1 csi"
    assert sanitize("cut\x1b[") == "cut"


def test_control_and_format_characters_are_removed() -> None:
    assert sanitize("bell\x07 nul\x00 del\x7f") == "bell nul del"
    assert sanitize("line1\nline2\r\n\tend") == "line1 line2 end"
    assert (
        sanitize("evil\u202etxt.exe\u2066x\u200b") == "eviltxt.exex"
    )  # bidi override, isolate, zero-width space
    assert sanitize("  many     spaces  ") == "many spaces"


def test_length_is_bounded() -> None:
    out = sanitize("x" * 10_000, max_len=50)
    assert len(out) == 50 and out.endswith(ELLIPSIS)
    assert sanitize("short", max_len=50) == "short"
    assert len(sanitize("\x1b[31m" * 5000 + "y" * 5000, max_len=20)) <= 20
    assert sanitize("abc", max_len=0) == ELLIPSIS


def test_bytes_and_objects_are_accepted() -> None:
    assert sanitize(b"ok \xff") == "ok \ufffd"
    assert sanitize({"a": 1}) == "{'a': 1}"


def test_symbols_keep_only_safe_characters() -> None:
    assert sanitize_symbol("BTC-USDT-SWAP") == "BTC-USDT-SWAP"
    assert sanitize_symbol("XBT/USD") == "XBT/USD"
    assert sanitize_symbol("\x1b[31mBTC") == "??31mBTC"
    assert len(sanitize_symbol("A" * 500)) == 40


@settings(max_examples=300, derandomize=True)
@given(
    st.text(max_size=400) | st.binary(max_size=400).map(lambda b: b.decode("latin-1")),
    st.integers(1, 120),
)
def test_output_is_always_one_printable_bounded_line(text: str, max_len: int) -> None:
    out = sanitize(text, max_len)
    assert len(out) <= max_len
    assert "\x1b" not in out and "\n" not in out and "\r" not in out
    assert all(ch.isprintable() or ch == " " for ch in out)
