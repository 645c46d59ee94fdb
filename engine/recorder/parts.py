"""The files of one recording: resolving a rotated set, checking it joins up, and querying a part.

:func:`resolve_parts` finds the files from any name of the set; the
:class:`Part` records :class:`tapescope.engine.recorder.reader.Recording`
keeps per open file; :func:`check_set` refuses parts that do not form one
session; :func:`fetch` maps SQLite damage to :class:`CorruptRecordingError`.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapescope.engine.recorder.errors import (
    CorruptRecordingError,
    MissingPartError,
    NotARecordingError,
)

#: Name of a numbered part of a rotated set: ``stem.0001.db``.
PART_RE = re.compile(r"^(?P<stem>.+)\.(?P<num>\d{4,})\.db$")


@dataclass(slots=True)
class Part:
    """One open file of a recording."""

    path: Path
    """The file."""
    conn: sqlite3.Connection
    """Read-only connection to it."""
    meta: dict[str, Any]
    """Its metadata table."""
    first_id: int
    """First message id in it (0 when it holds none)."""
    last_id: int
    """Last message id in it (0 when it holds none)."""
    conn_names: dict[int, str] = field(default_factory=dict)
    """Connection number -> connection id."""


def resolve_parts(path: Path | str) -> list[Path]:
    """Files of the recording at ``path``, in order.

    ``path`` may be a single file, one numbered part (``s.0002.db``: the whole
    set is opened), or the un-numbered name of a rotated set (``s.db`` when
    only ``s.0001.db``... exist).

    Raises:
        NotARecordingError: nothing matches.
        MissingPartError: the numbering has a hole.
    """
    path = Path(path)
    match = PART_RE.match(path.name)
    if match:
        stem = match.group("stem")
    elif path.exists():
        return [path]
    else:
        stem = path.name[:-3] if path.name.endswith(".db") else path.name
    parts = sorted(
        (int(m.group("num")), p)
        for p in path.parent.glob(f"{glob_escape(stem)}.*.db")
        if (m := PART_RE.match(p.name)) and m.group("stem") == stem
    )
    if not parts:
        raise NotARecordingError(f"{path}: no such recording")
    numbers = [n for n, _ in parts]
    expected = list(range(numbers[0], numbers[0] + len(numbers)))
    if numbers[0] != 1 or numbers != expected:
        missing = sorted(set(range(1, numbers[-1] + 1)) - set(numbers))
        raise MissingPartError(f"{path}: rotated set is missing part(s) {', '.join(f'{m:04d}' for m in missing)}")
    return [p for _, p in parts]


def glob_escape(text: str) -> str:
    """Escape glob metacharacters in a literal file name part.

    >>> glob_escape("a[1]*")
    'a[[]1[]][*]'
    """
    return re.sub(r"([*?\[\]])", r"[\1]", text)


def fetch(part: Part, sql: str, args: tuple[Any, ...]) -> list[Any]:
    """Run a query on one part; SQLite damage becomes :class:`CorruptRecordingError`."""
    try:
        return part.conn.execute(sql, args).fetchall()
    except sqlite3.DatabaseError as exc:
        raise CorruptRecordingError(f"{part.path}: damaged ({exc})") from None


def check_set(parts: list[Part]) -> None:
    """Parts must share a session id, be numbered 1..n and continue each other's ids.

    Raises:
        MissingPartError: they do not.
    """
    if len(parts) < 2:
        return
    session = parts[0].meta.get("session_id")
    prev_last = 0
    for i, part in enumerate(parts, start=1):
        if part.meta.get("session_id") != session:
            raise MissingPartError(f"{part.path}: belongs to another recording session than {parts[0].path}")
        if part.meta.get("file_index") != i:
            raise MissingPartError(f"{part.path}: is part {part.meta.get('file_index')} but sits at position {i}")
        if part.first_id:
            if prev_last and part.first_id != prev_last + 1:
                raise MissingPartError(
                    f"{part.path}: messages jump from {prev_last} to {part.first_id}; a part is missing"
                )
            prev_last = part.last_id
