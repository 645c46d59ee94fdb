"""The wheel's package list matches the package folders on disk (style.md section 11)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("engine", "feeds", "tui", "widgets", "themes")


def _declared() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(data["tool"]["setuptools"]["packages"])


def _on_disk() -> set[str]:
    found = set()
    for folder in FOLDERS:
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).parts
            found.add(".".join(("tapescope", *rel)))
    return found


def test_every_package_folder_is_listed_in_pyproject() -> None:
    assert _on_disk() == _declared()


def test_package_dir_maps_the_five_folders() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = data["tool"]["setuptools"]["package-dir"]
    assert mapping == {f"tapescope.{f}": f for f in FOLDERS}


def test_tests_have_no_init_files() -> None:
    assert not list((ROOT / "tests").rglob("__init__.py"))


def test_installed_package_resolves_to_the_repo_folders() -> None:
    import tapescope.engine
    import tapescope.feeds

    assert Path(tapescope.engine.__file__).parent.name == "engine"
    assert Path(tapescope.feeds.__file__).parent.name == "feeds"
