"""Widgets and themes sit below the App: they never import tapescope.tui or feeds (architecture.md)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "widgets").rglob("*.py")) + sorted((ROOT / "themes").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_widgets_and_themes_do_not_import_the_app_or_feeds(path: Path) -> None:
    bad = [m for m in _imports(path)
           if m.startswith(("tapescope.tui", "tapescope.feeds"))
           or (path.parent.name == "themes" and m.startswith("tapescope.widgets"))]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_tcss_uses_variables_not_hex() -> None:
    import re

    for path in (ROOT / "themes").glob("*.tcss"):
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b", path.read_text(encoding="utf-8")), path
    # The built strings, not the source text: some DEFAULT_CSS are composed
    # (widgets.profile_draw.profile_css), and a module may define several widgets.
    checked = 0
    for path in sorted((ROOT / "widgets").glob("*.py")):
        module = importlib.import_module(f"tapescope.widgets.{path.stem}")
        for name, obj in vars(module).items():
            if isinstance(obj, type) and obj.__module__ == module.__name__ and "DEFAULT_CSS" in vars(obj):
                checked += 1
                assert not re.search(r"#[0-9a-fA-F]{3,8}\b", obj.DEFAULT_CSS), f"{path.name}:{name}"
    assert checked > 10, checked
