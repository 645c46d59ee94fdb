"""The engine and feeds never import the UI (architecture.md, style.md section 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("textual", "rich", "tapescope.tui", "tapescope.widgets", "tapescope.themes")
#: Bare top-level names that only resolve by accident when the repo root is on sys.path.
BARE = ("engine", "feeds", "tui", "widgets", "themes")


def imported_modules(path: Path) -> list[str]:
    """Every module name imported by ``path`` (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _py_files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


@pytest.mark.parametrize(
    "path", _py_files("engine", "feeds"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_engine_and_feeds_never_import_ui(path: Path) -> None:
    bad = [
        m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", _py_files("engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_never_imports_feeds(path: Path) -> None:
    bad = [
        m
        for m in imported_modules(path)
        if m == "tapescope.feeds" or m.startswith("tapescope.feeds.")
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize(
    "path",
    _py_files("engine", "feeds", "tui", "widgets", "themes"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_imports_use_the_package_name(path: Path) -> None:
    bad = [m for m in imported_modules(path) if m.split(".")[0] in BARE]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; use tapescope.<folder>"


def test_checker_catches_a_textual_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("import textual.app\nfrom rich.text import Text\n")
    assert imported_modules(probe) == ["textual.app", "rich.text"]


def test_engine_never_reads_the_wall_clock() -> None:
    """Event time is the engine's only clock; a replay must reproduce a live run."""
    banned = (
        "time.time",
        "time.monotonic",
        "time.perf_counter",
        "datetime.now",
        "datetime.utcnow",
        "time_ns",
    )
    offenders = []
    for path in _py_files("engine"):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(ROOT)}: {b}" for b in banned if b in text]
    assert not offenders, offenders
