"""The config loader: shipped file vs dataclasses, precedence, sources, and each refusal."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path

import pytest

from tapescope.tui import config as cfgmod
from tapescope.tui.config import (
    Config,
    ConfigError,
    default_config_text,
    load_config,
    register_section,
    registered_sections,
)
from tapescope.tui.settings import AppSettings, KeySettings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user.toml"
    monkeypatch.setenv("TAPESCOPE_CONFIG_FILE", str(path))
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------- shipped file vs dataclasses


def _expected_table(cls: type) -> dict:
    """The TOML table a dataclass's defaults correspond to."""
    inst = cls()
    out = {}
    for f in dataclasses.fields(inst):
        value = getattr(inst, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = _expected_table(type(value))
        elif isinstance(value, dict):
            out[f.name] = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
        elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
            out[f.name] = [dataclasses.asdict(v) for v in value]
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        elif isinstance(value, Enum):
            out[f.name] = value.value
        else:
            out[f.name] = value
    return out


def _normalise(value):
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def test_shipped_file_is_the_package_resource() -> None:
    assert default_config_text() == (ROOT / "config.toml").read_text(encoding="utf-8")
    assert (ROOT / "tui" / "config.toml").resolve() == (ROOT / "config.toml").resolve()


@pytest.mark.parametrize("section", list(registered_sections()))
def test_config_toml_matches_registered_dataclass(section: str) -> None:
    shipped = tomllib.loads(default_config_text())
    cls = registered_sections()[section]
    assert section in shipped, f"[{section}] missing from config.toml"
    if cls is None:
        assert shipped[section] == {}, f"[{section}] is reserved in this build and must be empty"
        return
    if isinstance(cls, dict):
        # A group section: one sub-table per dataclass, plus the section's own keys under "".
        table = dict(shipped[section])
        own = {k: table.pop(k) for k in list(table) if not isinstance(table[k], dict)}
        assert set(table) == set(cls) - {""}, f"[{section}] sub-tables differ from the registry"
        if "" in cls:
            assert _normalise(own) == _normalise(_expected_table(cls[""])), f"[{section}] own keys"
        else:
            assert own == {}, f"[{section}] has keys outside its tables"
        for sub, sub_cls in cls.items():
            if sub == "":
                continue
            if sub_cls is None:
                assert shipped[section][sub] == {}, f"[{section}.{sub}] is reserved and must be empty"
            else:
                assert _normalise(shipped[section][sub]) == _normalise(_expected_table(sub_cls)), sub
        return
    assert _normalise(shipped[section]) == _normalise(_expected_table(cls))


def test_every_shipped_section_is_registered() -> None:
    shipped = tomllib.loads(default_config_text())
    assert set(shipped) <= set(registered_sections())


def test_every_ui_setting_has_a_docstring_comment_in_config_toml() -> None:
    lines = (ROOT / "config.toml").read_text(encoding="utf-8").splitlines()
    for section, cls in (("app", AppSettings), ("keys", KeySettings)):
        start = lines.index(f"[{section}]")
        block = []
        for line in lines[start + 1:]:
            if line.startswith("["):
                break
            block.append(line)
        for f in dataclasses.fields(cls):
            i = next(n for n, line in enumerate(block) if line.startswith(f"{f.name} = "))
            # The key sits under a comment, possibly shared by a run of keys.
            j = i - 1
            while j >= 0 and " = " in block[j] and not block[j].startswith("#"):
                j -= 1
            assert j >= 0 and block[j].startswith("#"), f"{section}.{f.name} has no comment"


def test_defaults_equal_dataclass_defaults() -> None:
    cfg = load_config()
    assert cfg.app == AppSettings()
    assert cfg.keys == KeySettings()
    assert all(source == "default" for _, _, source in cfg.items())


# ------------------------------------------------------------------ precedence


def test_precedence_defaults_user_file_config_file_flags(tmp_path: Path, no_user_file: Path) -> None:
    no_user_file.write_text("[app]\nfps = 20\ntheme = \"tapescope-light\"\nsize_digits = 2\n")
    extra = write(tmp_path, "extra.toml", "[app]\nfps = 30\ntheme = \"tapescope-contrast\"\n")
    cfg = load_config(extra, {"app": {"fps": 45, "theme": None}})
    assert (cfg.app.fps, cfg.app.theme, cfg.app.size_digits, cfg.app.tape_rows) == (
        45, "tapescope-contrast", 2, 200)
    assert cfg.sources["app.fps"] == "--fps flag"
    assert cfg.sources["app.theme"] == str(extra)
    assert cfg.sources["app.size_digits"] == str(no_user_file)
    assert cfg.sources["app.tape_rows"] == "default"
    assert cfg.files == ("default", str(no_user_file), str(extra))


def test_env_variable_names_the_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "elsewhere.toml", "[keys]\nquit = \"ctrl+q\"\n")
    monkeypatch.setenv("TAPESCOPE_CONFIG_FILE", str(path))
    assert cfgmod.user_config_file() == path
    assert load_config().keys.quit == "ctrl+q"


def test_missing_user_file_is_skipped() -> None:
    assert load_config().files == ("default",)


def test_int_accepted_for_float_field(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "c.toml", "[app]\nwatchlist_interval = 2\n"))
    assert cfg.app.watchlist_interval == 2.0 and isinstance(cfg.app.watchlist_interval, float)


# -------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bogus]\nx = 1\n", "{f}: [bogus]: unknown section; known sections: app, keys"),
        ("[ap]\nfps = 1\n", "{f}: [ap]: unknown section (did you mean [app]?)"),
        ("[app]\nfsp = 10\n", "{f}: app.fsp: unknown key (did you mean 'fps'?); known keys: fps, theme"),
        ("[app]\nfps = \"fast\"\n", "{f}: app.fps = 'fast': expected an integer"),
        ("[app]\nfps = 10.5\n", "{f}: app.fps = 10.5: expected an integer"),
        ("[app]\nfps = true\n", "{f}: app.fps = True: expected an integer"),
        ("[app]\nfps = 0\n", "{f}: app.fps = 0: expected a value from 1 to 60"),
        ("[app]\nfps = 61\n", "{f}: app.fps = 61: expected a value from 1 to 60"),
        ("[app]\ntheme = \"pink\"\n",
         "{f}: app.theme = 'pink': expected one of 'tapescope-dark', 'tapescope-light', 'tapescope-contrast'"),
        ("[app]\nwatchlist_interval = \"1s\"\n", "{f}: app.watchlist_interval = '1s': expected a number"),
        ("[keys]\nquit = 1\n", "{f}: keys.quit = 1: expected a string"),
        ("app = 3\n", "{f}: app = 3: expected a table"),
        ("[app\nfps = 1\n", "{f}: invalid TOML: "),
    ],
)
def test_each_error_kind_names_file_key_value_and_expectation(tmp_path: Path, text: str,
                                                              message: str) -> None:
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(message.format(f=path))
    assert "\n" not in str(info.value)
    assert info.value.source == str(path)


def test_error_attributes(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.toml", "[app]\nsize_digits = 9\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert (err.source, err.key, err.value, err.expected) == (
        str(path), "app.size_digits", 9, "expected a value from 2 to 6")


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: file not found"):
        load_config(path)


def test_bad_flag_value_names_the_flag() -> None:
    with pytest.raises(ConfigError, match=r"^--fps flag: app\.fps = 500: expected a value from 1 to 60$"):
        load_config(None, {"app": {"fps": 500}})


def test_error_in_user_file_names_the_user_file(no_user_file: Path) -> None:
    no_user_file.write_text("[app]\nfps = -1\n")
    with pytest.raises(ConfigError, match=f"^{no_user_file}: app.fps = -1"):
        load_config()


# ------------------------------------------------------- registry mechanics


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True, slots=True)
class Inner:
    """Nested table."""

    a: int = field(default=1, metadata={"min": 0})
    """A."""
    b: str = "x"
    """B."""


@dataclass(frozen=True, slots=True)
class Probe:
    """A section registered by a test, exercising every supported field type."""

    n: int = 1
    """Int."""
    ratio: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0})
    """Ratio."""
    names: tuple[str, ...] = ("a",)
    """List of strings."""
    windows: tuple[int, ...] = field(default=(1, 5), metadata={"min": 1})
    """Each item range-checked."""
    colour: Colour = Colour.RED
    """Enum."""
    maybe: float | None = None
    """Optional."""
    inner: Inner = field(default_factory=Inner)
    """Nested table, merged key by key."""
    items: tuple[Inner, ...] = ()
    """Array of tables."""

    def __post_init__(self) -> None:
        if self.n > 100 and self.ratio > 0.9:
            raise ValueError("n > 100 needs ratio <= 0.9")


@pytest.fixture
def probe_section(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(cfgmod._REGISTRY, "probe", Probe)
    return "[probe]\n"


def test_registered_section_types_and_nested_merge(tmp_path: Path, probe_section: str,
                                                   no_user_file: Path) -> None:
    no_user_file.write_text(probe_section + "inner = { a = 5 }\n")
    extra = write(tmp_path, "c.toml", probe_section + 'names = ["p", "q"]\ncolour = "blue"\n'
                  "maybe = 2\nwindows = [2, 3]\n"
                  '[probe.inner]\nb = "y"\n[[probe.items]]\na = 7\n')
    cfg = load_config(extra)
    p = cfg.section("probe")
    assert p == Probe(names=("p", "q"), colour=Colour.BLUE, maybe=2.0, windows=(2, 3),
                      inner=Inner(5, "y"), items=(Inner(7, "x"),))
    assert cfg.sources["probe.inner.a"] == str(no_user_file)
    assert cfg.sources["probe.inner.b"] == str(extra)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = \"green\"\n", "probe.colour = 'green': expected one of 'red', 'blue'"),
        ("windows = [1, 0]\n", "probe.windows = (1, 0): expected a value >= 1"),
        ("names = [1]\n", "probe.names[0] = 1: expected a string"),
        ("names = \"a\"\n", "probe.names = 'a': expected a list of a string"),
        ("maybe = \"x\"\n", "probe.maybe = 'x': expected a number or nothing"),
        ("inner = { c = 1 }\n", "probe.inner.c: unknown key"),
        ("n = 101\nratio = 0.95\n", "configuration: probe: n > 100 needs ratio <= 0.9"),
    ],
)
def test_registered_section_refusals(tmp_path: Path, probe_section: str, text: str, message: str) -> None:
    path = write(tmp_path, "c.toml", probe_section + text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)


def test_reserved_section_must_stay_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cfgmod._REGISTRY, "future", "tapescope.engine.not_built_yet:Params")
    assert registered_sections()["future"] is None
    load_config(write(tmp_path, "ok.toml", "[future]\n"))
    path = write(tmp_path, "c.toml", "[future]\nx = 1\n")
    with pytest.raises(ConfigError, match=r"\[future\]: this section is not available in this build"):
        load_config(path)


def test_register_section_refuses_a_non_dataclass() -> None:
    with pytest.raises(TypeError):
        register_section("nope", int)


def test_register_section_adds_a_section(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cfgmod, "_REGISTRY", dict(cfgmod._REGISTRY))
    register_section("probe2", Inner)
    cfg = load_config(write(tmp_path, "c.toml", "[probe2]\na = 3\n"))
    assert cfg.section("probe2") == Inner(3, "x")


def test_items_flatten_every_leaf() -> None:
    cfg = load_config()
    keys = [k for k, _, _ in cfg.items()]
    assert "app.fps" in keys and "keys.quit" in keys
    assert isinstance(cfg, Config)


def test_group_sections_load_as_dicts_of_instances(tmp_path: Path) -> None:
    groups = {name: cls for name, cls in registered_sections().items() if isinstance(cls, dict)}
    cfg = load_config()
    for name, classes in groups.items():
        loaded = cfg.section(name)
        assert set(loaded) == {sub for sub, c in classes.items() if c is not None}
        for sub, inst in loaded.items():
            assert type(inst) is classes[sub]


@pytest.fixture
def probe_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cfgmod._REGISTRY, "grp", {"one": Inner, "two": Probe, "later": "x.not_built:Y"})


def test_group_section_merge_sources_and_refusals(tmp_path: Path, probe_group, no_user_file: Path) -> None:
    no_user_file.write_text("[grp.one]\na = 4\n")
    extra = write(tmp_path, "c.toml", '[grp.one]\nb = "z"\n[grp.two]\nn = 3\n[grp.later]\n')
    cfg = load_config(extra)
    assert cfg.section("grp") == {"one": Inner(4, "z"), "two": Probe(n=3)}
    assert cfg.sources["grp.one.a"] == str(no_user_file) and cfg.sources["grp.two.n"] == str(extra)
    assert ("grp.two.inner.a", 1, "default") in cfg.items()
    for text, message in [
        ("[grp.three]\n", "grp.three: unknown table; known tables: one, two, later"),
        ("[grp]\none = 1\n", "grp.one = 1: expected a table [grp.one]"),
        ("[grp.one]\nc = 1\n", "grp.one.c: unknown key"),
        ("[grp.later]\nx = 1\n", "[grp.later]: this table is not available in this build"),
    ]:
        with pytest.raises(ConfigError) as info:
            load_config(write(tmp_path, "bad.toml", text))
        assert message in str(info.value), (text, str(info.value))


def test_fixed_length_tuple(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    @dataclass(frozen=True)
    class Pairs:
        """Fixed-length tuples in a dict."""

        bands: dict[str, tuple[float, float]] = field(default_factory=dict)
        """Per-symbol bands."""

    monkeypatch.setitem(cfgmod._REGISTRY, "pairs", Pairs)
    cfg = load_config(write(tmp_path, "ok.toml", '[pairs]\nbands = { "x:A" = [0.5, 1] }\n'))
    assert cfg.section("pairs").bands == {"x:A": (0.5, 1.0)}
    with pytest.raises(ConfigError, match=r"pairs\.bands\.x:A = \[0\.5\]: expected a list of 2 values"):
        load_config(write(tmp_path, "bad.toml", '[pairs]\nbands = { "x:A" = [0.5] }\n'))


def test_group_section_own_keys_load_validate_and_show_their_source(tmp_path: Path, no_user_file: Path) -> None:
    cfg = load_config(write(tmp_path, "v.toml", '[venues]\ndefault_venue = "okx"\n'))
    own = cfg.section("venues")[""]
    assert own.default_venue == "okx"
    assert cfg.sources["venues.default_venue"].endswith("v.toml")
    assert ("venues.default_venue", "okx", cfg.sources["venues.default_venue"]) in cfg.items()
    with pytest.raises(ConfigError, match="backoff_base_s"):
        load_config(write(tmp_path, "w.toml", '[venues]\nbackoff_base_s = "soon"\n'))
