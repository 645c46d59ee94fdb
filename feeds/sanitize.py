"""Sanitise text that came from the network before it can reach a terminal.

Venue error messages, refused-subscription texts and symbols end up in the
status bar, the health screen and log files. A hostile or broken peer could
put terminal escape sequences in them (cursor moves, OSC 52 clipboard writes,
window-title changes), bidi overrides that reorder what the user reads, or
megabytes of text. Everything here is pure and cheap on the common case
(short printable ASCII goes through untouched).

>>> sanitize("bad \\x1b[31mred\\x1b[0m request\\n")
'bad red request'
>>> sanitize("x" * 300, max_len=10)
'xxxxxxxxx…'
>>> sanitize_symbol("BTC-USDT\\x1b]0;pwn\\x07")
'BTC-USDT??0?pwn?'
"""

from __future__ import annotations

import re
import unicodedata

#: Default longest sanitised text, in characters (one status line).
MAX_TEXT = 200
#: Default longest sanitised symbol.
MAX_SYMBOL = 40
#: Marker appended when text was cut.
ELLIPSIS = "…"

#: ANSI/ECMA-48 escape sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST),
#: DCS/SOS/PM/APC strings (ESC P/X/^/_ ... ST), and two-character ESC sequences.
#: Their C1 single-byte forms (U+009B CSI, U+009D OSC, ...) are matched too.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI ... final byte (final may be missing at end)
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC/DCS/...
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (charset selection, ESC c reset, ...)
)
#: Runs of whitespace (newlines and tabs included) collapse to one space.
_SPACES = re.compile(r"\s+")
#: Characters allowed in a symbol shown to the user.
_SYMBOL_OK = re.compile(r"[^A-Za-z0-9/_.:\-]")


def _strip_unprintable(text: str) -> str:
    """Drop control, format (bidi overrides, zero-width), surrogate and unassigned code points."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n\r")


def sanitize(text: object, max_len: int = MAX_TEXT) -> str:
    """Make network text safe and short enough for one terminal line.

    Removes escape sequences and every Unicode control/format character
    (C0, DEL, C1, bidi overrides, zero-width marks), collapses whitespace to
    single spaces, and cuts the result to ``max_len`` characters with ``…``.

    Args:
        text: anything; ``bytes`` are decoded as UTF-8 with replacement, other
            objects go through ``str()``.
        max_len: longest result in characters (at least 1).

    Returns:
        The sanitised single-line text.

    >>> sanitize(b"\\xff\\xfeok")
    '��ok'
    >>> sanitize("a\\u202egnp.exe")
    'agnp.exe'
    >>> sanitize("\\x1b]52;c;ZXZpbA==\\x07clipboard")
    'clipboard'
    """
    if isinstance(text, bytes | bytearray | memoryview):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    max_len = max(1, max_len)
    # Bound the work before running regexes over a possibly huge payload.
    if len(text) > 4 * max_len + 64:
        text = text[: 4 * max_len + 64]
        cut = True
    else:
        cut = False
    if not (text.isascii() and text.isprintable()):
        text = _ESCAPES.sub("", text)
        text = _strip_unprintable(text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > max_len or (cut and len(text) == max_len):
        text = text[: max_len - 1] + ELLIPSIS
    return text


def sanitize_symbol(symbol: object, max_len: int = MAX_SYMBOL) -> str:
    """Make a symbol from the network safe to show: letters, digits and ``/_.:-`` only.

    Every other character becomes ``?`` (so a mangled symbol stays visibly
    mangled rather than silently changed), then the result is cut to
    ``max_len`` characters.

    >>> sanitize_symbol("XBT/USD")
    'XBT/USD'
    >>> sanitize_symbol("BTC USDT\\n")
    'BTC?USDT?'
    """
    text = symbol.decode("utf-8", errors="replace") if isinstance(symbol, bytes) else str(symbol)
    text = _SYMBOL_OK.sub("?", text[: max_len + 1])
    if len(text) > max_len:
        text = text[: max_len - 1] + ELLIPSIS
    return text
