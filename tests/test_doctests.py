"""Run the doctests in engine, feeds and widgets modules (docstrings carry worked examples)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tapescope.engine
import tapescope.feeds
import tapescope.widgets


def _modules() -> list[str]:
    names = []
    for pkg in (tapescope.engine, tapescope.feeds, tapescope.widgets):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
