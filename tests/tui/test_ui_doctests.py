"""Run the doctests of the UI modules (tui, widgets, themes)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tapescope.themes
import tapescope.tui
import tapescope.widgets


def _modules() -> list[str]:
    names = []
    for pkg in (tapescope.tui, tapescope.widgets, tapescope.themes):
        names.append(pkg.__name__)
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
