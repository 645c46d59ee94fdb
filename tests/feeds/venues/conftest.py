"""Fixtures shared by the venue adapter tests: capture loading, fuzzing, book comparison."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapescope.engine.book import Book
from tapescope.feeds.captures import read_capture
from tapescope.feeds.venues.base import BadMessage, MsgKind, Routed, VenueProtocol

#: ``../shared/data`` relative to the repo root.
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"

#: JSON leaves a fuzzer substitutes into real frames.
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "nan",
            "NaN",
            "inf",
            "1e999",
            "abc",
            "1_0",
            " 1",
            "0x10",
            "\x1b[31m",
            "1.5",
            "-0.0",
        ]
    ),
    st.text(max_size=12),
)
_JSON = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of a parsed JSON value."""
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _replace(obj: Any, path: tuple, value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = obj
    for p in path[:-1]:
        parent = parent[p]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return obj


def assert_routed(result: object) -> None:
    """A decoder result must be a list of well-formed :class:`Routed`."""
    assert isinstance(result, list)
    for r in result:
        assert isinstance(r, Routed)
        assert isinstance(r.kind, MsgKind)
        assert isinstance(r.key, str)
        if r.kind is MsgKind.ERROR:
            assert (
                isinstance(r.payload, str) and r.payload.isprintable() and "\x1b" not in r.payload
            )


@pytest.fixture
def fuzz() -> Callable[
    [Callable[[], VenueProtocol], list[str], Callable[[VenueProtocol], None] | None], None
]:
    """Return ``run(make_protocol, samples, prime=None)``: fuzz a decoder with random and mutated frames.

    Each example builds a fresh protocol (``prime`` may register syncs), then
    decodes (a) random bytes/text, (b) random JSON, (c) a real sample frame
    with one node replaced or deleted, (d) a sample cut short. Anything but a
    list of :class:`Routed` or a :class:`BadMessage` fails the test; routed
    DEPTH payloads are also pushed through the registered syncs.
    """

    def run(
        make: Callable[[], VenueProtocol],
        samples: list[str],
        prime: Callable[[VenueProtocol], Any] | None = None,
    ) -> None:
        parsed = [orjson.loads(s) for s in samples]

        def decode_all(frame: bytes | str) -> None:
            proto = make()
            syncs = prime(proto) if prime else {}
            for sample in samples[:2]:  # put the syncs in a live state first
                try:
                    for r in proto.decode(sample, 1):
                        if r.kind is MsgKind.DEPTH and r.key in syncs:
                            syncs[r.key].on_depth(r.payload, 1)
                except BadMessage:
                    pass
            try:
                result = proto.decode(frame, 2)
            except BadMessage as exc:
                assert str(exc).isprintable() and len(str(exc)) <= 200
                return
            assert_routed(result)
            for r in result:
                if r.kind is MsgKind.DEPTH and r.key in syncs:
                    syncs[r.key].on_depth(r.payload, 2)

        @settings(
            max_examples=250,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def inner(data: st.DataObject) -> None:
            mode = data.draw(st.sampled_from(["bytes", "text", "json", "mutate", "truncate"]))
            if mode == "bytes":
                frame: bytes | str = data.draw(st.binary(max_size=64))
            elif mode == "text":
                frame = data.draw(st.text(max_size=64))
            elif mode == "json":
                frame = json.dumps(data.draw(_JSON))
            elif mode == "truncate":
                sample = data.draw(st.sampled_from(samples))
                frame = sample[: data.draw(st.integers(0, max(len(sample) - 1, 0)))]
            else:
                obj = copy.deepcopy(data.draw(st.sampled_from(parsed)))
                path = data.draw(st.sampled_from(_paths(obj)))
                delete = bool(path) and data.draw(st.booleans())
                obj = _replace(obj, path, data.draw(_JSON), delete)
                frame = json.dumps(obj)
            decode_all(frame)

        inner()

    return run


def recv_frames(rel: str, conn: str | None = None) -> list[tuple[int, str]]:
    """``(recv_ns, payload)`` of every received frame of a capture (optionally one connection)."""
    return [
        (r.recv_ns, r.data)
        for r in read_capture(DATA / rel)
        if r.kind == "recv" and (conn is None or r.conn == conn)
    ]


@pytest.fixture
def frames() -> Callable[[str, str | None], list[tuple[int, str]]]:
    """Loader of a capture's received frames (see :func:`recv_frames`)."""
    return recv_frames


def same_book(a: Book, b: Book) -> bool:
    """Both books hold exactly the same levels."""
    return dict(a.bids) == dict(b.bids) and dict(a.asks) == dict(b.asks)


@pytest.fixture
def books_equal() -> Callable[[Book, Book], bool]:
    """Book equality helper."""
    return same_book
