"""Ring buffers on numpy for event-time rolling windows.

Three structures, all fixed-size and allocation-free after construction:

* :class:`SecondRing`: one bucket per whole second of event time, with a
  running sum per configured window. Adding to the open second is one float
  addition; closing a second costs ``O(w)`` for ``w`` windows; skipping more
  seconds than the ring holds costs one ``O(capacity)`` fill, never
  ``O(gap)``. The open second lives in a plain Python float (:attr:`cur`) so
  the per-event path does no numpy scalar arithmetic.
* :class:`ValueRing`: the last ``capacity`` values of a series (per-second
  samples, closed bars), with ``O(1)`` append, mean and standard deviation.
* :class:`RecordRing`: the last ``capacity`` rows of a structured numpy array
  (per-second chart history), ``O(1)`` append, ordered copy on request.

Running sums drift by floating-point rounding when values are added and
later subtracted; each ring recomputes its sums exactly from the buffer once
per lap (every ``capacity`` steps), so the drift never accumulates and the
amortised cost stays ``O(1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

NAN = math.nan


class SecondRing:
    """Per-second sums of a quantity with running totals over rolling windows.

    A window of ``W`` seconds is the open (current, partial) second plus the
    ``W - 1`` whole seconds before it, all by event time. Seconds are integers
    (``ts_ns // 1_000_000_000``).

    >>> r = SecondRing((1, 3))
    >>> r.add(100, 2.0); r.add(100, 1.0); r.add(101, 5.0)
    >>> r.total(0), r.total(1)     # (101 only), (99..101)
    (5.0, 8.0)
    >>> r.add(103, 1.0)            # 101 still inside the 3 s window (101..103)
    >>> r.total(1)
    6.0
    >>> r.advance(200); r.total(1)
    0.0

    Runtime complexity: :meth:`add` to the open second ``O(1)``; closing a
    second ``O(w)``; a jump of ``g`` seconds ``O(min(g, capacity) * w)``
    (one ``O(capacity)`` fill when ``g >= capacity``); a late add ``O(w)``.
    """

    __slots__ = ("windows", "capacity", "buckets", "closed", "nonzero", "cur", "sec", "late", "dropped")

    def __init__(self, windows: Sequence[int], capacity: int | None = None) -> None:
        """Create an empty ring.

        Args:
            windows: window lengths in seconds (each >= 1); :meth:`total`
                takes an index into this sequence.
            capacity: seconds of buckets kept; defaults to the longest
                window and must be at least that.

        Raises:
            ValueError: on an empty or non-positive window, or a capacity
                shorter than the longest window.
        """
        ws = tuple(int(w) for w in windows)
        if not ws or min(ws) < 1:
            raise ValueError(f"windows must be positive seconds, got {windows!r}")
        cap = max(ws) if capacity is None else int(capacity)
        if cap < max(ws):
            raise ValueError(f"capacity {cap} shorter than the longest window {max(ws)}")
        self.windows: tuple[int, ...] = ws
        """Window lengths in seconds."""
        self.capacity: int = cap
        """Number of per-second buckets."""
        self.buckets: np.ndarray = np.zeros(cap)
        """Closed seconds' sums, slot ``second % capacity``; the open second's slot is 0."""
        self.closed: list[float] = [0.0] * len(ws)
        """Per window: sum over its ``W - 1`` closed seconds (excludes :attr:`cur`)."""
        self.nonzero: list[int] = [0] * len(ws)
        """Per window: closed seconds with a non-zero sum. When it drops to 0 the
        window's sum is set to exactly 0, so rounding residue never outlives the
        values (a ratio of two emptied windows is ``nan``, not ``1e-17 / x``)."""
        self.cur: float = 0.0
        """Sum of the open second. Callers that advanced the ring may add to it directly."""
        self.sec: int = -1
        """The open second (-1 before the first add or advance)."""
        self.late: int = 0
        """Values added to an already-closed second still inside the ring."""
        self.dropped: int = 0
        """Values too old for the ring (ignored)."""

    def add(self, sec: int, value: float) -> None:
        """Add ``value`` at second ``sec``, advancing the ring if ``sec`` is newer.

        A value for a closed second still inside the ring is booked into that
        second (and every window that still covers it); an older one is
        counted in :attr:`dropped` and ignored. ``O(1)`` for the open second.

        >>> r = SecondRing((5,)); r.add(10, 1.0); r.add(12, 2.0); r.add(11, 4.0)
        >>> r.total(0), r.value(11), r.late
        (7.0, 4.0, 1)
        """
        if sec == self.sec:
            self.cur += value
        elif sec > self.sec:
            self.advance(sec)
            self.cur += value
        else:
            self._add_late(sec, value)

    def _add_late(self, sec: int, value: float) -> None:
        age = self.sec - sec
        if age >= self.capacity:
            self.dropped += 1
            return
        self.late += 1
        slot = sec % self.capacity
        before = float(self.buckets[slot])
        after = before + value
        self.buckets[slot] = after
        dnz = (after != 0.0) - (before != 0.0)
        closed, nonzero = self.closed, self.nonzero
        for i, w in enumerate(self.windows):
            # Window i covers closed seconds of age 1 .. w-1.
            if age < w:
                closed[i] += value
                nonzero[i] += dnz
                if nonzero[i] == 0:
                    closed[i] = 0.0

    def advance(self, sec: int) -> None:
        """Make ``sec`` the open second, closing every second before it.

        Runtime complexity: ``O(min(g, capacity) * w)`` for a jump of ``g``
        seconds; ``O(capacity)`` (one numpy fill) when ``g >= capacity``.

        >>> r = SecondRing((3,)); r.add(10, 1.0); r.advance(12); r.total(0), r.sec
        (1.0, 12)
        """
        h = self.sec
        if sec <= h:
            return
        if h < 0 or sec - h >= self.capacity:
            # Nothing in the ring can still be inside any window.
            self.buckets.fill(0.0)
            self.closed = [0.0] * len(self.windows)
            self.nonzero = [0] * len(self.windows)
            self.cur = 0.0
            self.sec = sec
            return
        step = self.step
        for _ in range(sec - h):
            step()

    def step(self) -> None:
        """Close the open second and open the next one. ``O(w)``.

        >>> r = SecondRing((2,)); r.add(7, 3.0); r.step(); r.sec, r.total(0), r.cur
        (8, 3.0, 0.0)
        """
        h = self.sec
        if h < 0:
            raise ValueError("ring not started: call add() or advance() first")
        cap = self.capacity
        buckets = self.buckets
        cur = self.cur
        buckets[h % cap] = cur
        nh = h + 1
        closed, nonzero = self.closed, self.nonzero
        joins = cur != 0.0
        for i, w in enumerate(self.windows):
            # Second h joins the closed part; second nh - w leaves it (for
            # w == 1 that is h itself, so the window stays empty).
            leaving = float(buckets[(nh - w) % cap])
            n = nonzero[i] + joins - (leaving != 0.0)
            nonzero[i] = n
            closed[i] = closed[i] + cur - leaving if n else 0.0
        buckets[nh % cap] = 0.0
        self.cur = 0.0
        self.sec = nh
        if nh % cap == 0:
            self._resum()

    def _resum(self) -> None:
        """Recompute the closed sums exactly from the buckets. ``O(capacity * w)``."""
        h, cap, buckets = self.sec, self.capacity, self.buckets
        for i, w in enumerate(self.windows):
            vals = buckets[np.arange(h - w + 1, h) % cap]
            self.closed[i] = float(vals.sum())
            self.nonzero[i] = int(np.count_nonzero(vals))

    def total(self, i: int = 0) -> float:
        """Sum over window ``i`` (open second included). ``O(1)``.

        >>> r = SecondRing((1, 2)); r.add(1, 2.0); r.add(2, 3.0); r.total(0), r.total(1)
        (3.0, 5.0)
        """
        return self.closed[i] + self.cur

    def totals(self) -> list[float]:
        """Sums over every window, in :attr:`windows` order. ``O(w)``.

        >>> r = SecondRing((1, 2)); r.add(1, 2.0); r.add(2, 3.0); r.totals()
        [3.0, 5.0]
        """
        cur = self.cur
        return [c + cur for c in self.closed]

    def value(self, sec: int) -> float:
        """Sum booked at second ``sec`` (0 outside the ring or in the future). ``O(1)``.

        >>> r = SecondRing((3,)); r.add(1, 2.0); r.add(2, 3.0); r.value(1), r.value(2), r.value(9)
        (2.0, 3.0, 0.0)
        """
        if sec == self.sec:
            return self.cur
        if sec > self.sec or self.sec - sec >= self.capacity or self.sec < 0:
            return 0.0
        return float(self.buckets[sec % self.capacity])

    def _check(self) -> None:
        """Assert invariants: open slot empty, closed sums equal the buckets they cover."""
        if self.sec < 0:
            assert self.cur == 0.0 and not self.buckets.any()
            return
        h, cap = self.sec, self.capacity
        assert self.buckets[h % cap] == 0.0, "open second's slot must be empty"
        for i, w in enumerate(self.windows):
            vals = self.buckets[np.arange(h - w + 1, h) % cap]
            exact = float(vals.sum())
            scale = 1.0 + float(np.abs(self.buckets).sum())
            assert abs(self.closed[i] - exact) <= 1e-9 * scale, (w, self.closed[i], exact)
            assert self.nonzero[i] == int(np.count_nonzero(vals)), (w, self.nonzero[i])
            if self.nonzero[i] == 0:
                assert self.closed[i] == 0.0


class ValueRing:
    """The last ``capacity`` values of a series, with running mean and std.

    >>> v = ValueRing(3)
    >>> for x in (1.0, 2.0, 3.0, 4.0): v.append(x)
    >>> v.last().tolist(), v.mean(), round(v.std(), 6)
    ([2.0, 3.0, 4.0], 3.0, 0.816497)
    >>> v.last(2).tolist()
    [3.0, 4.0]

    ``std`` is the population standard deviation (``ddof=0``). Sums are kept
    relative to a shift (the mean at the last exact recomputation) so that
    series with a large mean and a small spread keep their precision.

    Runtime complexity: :meth:`append`, :meth:`mean`, :meth:`std` ``O(1)``
    amortised; :meth:`fill` ``O(min(count, capacity))``; :meth:`last` ``O(k)``.
    """

    __slots__ = ("capacity", "buf", "n", "pos", "_shift", "_sum", "_sumsq")

    def __init__(self, capacity: int) -> None:
        """Create an empty ring holding at most ``capacity`` (>= 1) values."""
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity: int = int(capacity)
        """Maximum number of values kept."""
        self.buf: np.ndarray = np.zeros(self.capacity)
        """Storage; the oldest value is at ``pos`` once the ring is full."""
        self.n: int = 0
        """Number of values held."""
        self.pos: int = 0
        """Slot the next value goes to."""
        self._shift = 0.0
        self._sum = 0.0
        self._sumsq = 0.0

    def __len__(self) -> int:
        return self.n

    def append(self, x: float) -> None:
        """Append ``x``, evicting the oldest value when full. ``O(1)`` amortised.

        >>> v = ValueRing(2); v.append(1.0); v.append(2.0); v.append(3.0); v.last().tolist()
        [2.0, 3.0]
        """
        pos = self.pos
        if self.n == 0:
            # Anchor the shift on the first value so precision holds from the start.
            self._shift = x
        d = x - self._shift
        if self.n == self.capacity:
            old = float(self.buf[pos]) - self._shift
            self._sum += d - old
            self._sumsq += d * d - old * old
        else:
            self.n += 1
            self._sum += d
            self._sumsq += d * d
        self.buf[pos] = x
        pos += 1
        if pos == self.capacity:
            pos = 0
            self._resum()
        self.pos = pos

    def fill(self, x: float, count: int) -> None:
        """Append ``x`` ``count`` times. ``O(min(count, capacity))``.

        >>> v = ValueRing(3); v.append(6.0); v.fill(0.0, 2); v.last().tolist(), v.mean()
        ([6.0, 0.0, 0.0], 2.0)
        """
        if count <= 0:
            return
        if count >= self.capacity:
            self.buf.fill(x)
            self.n = self.capacity
            self.pos = 0
            self._resum()
            return
        for _ in range(count):
            self.append(x)

    def clear(self) -> None:
        """Forget every value. ``O(1)``.

        >>> v = ValueRing(3); v.append(1.0); v.clear(); len(v)
        0
        """
        self.n = 0
        self.pos = 0
        self._shift = self._sum = self._sumsq = 0.0

    def _resum(self) -> None:
        vals = self._values()
        self._shift = float(vals.mean()) if self.n else 0.0
        d = vals - self._shift
        self._sum = float(d.sum())
        self._sumsq = float((d * d).sum())

    def _values(self) -> np.ndarray:
        """Held values in slot order (not time order)."""
        return self.buf if self.n == self.capacity else self.buf[: self.n]

    def mean(self) -> float:
        """Mean of the held values (``nan`` when empty). ``O(1)``.

        >>> v = ValueRing(3); v.fill(2.0, 2); v.append(5.0); v.mean()
        3.0
        """
        if self.n == 0:
            return NAN
        return self._shift + self._sum / self.n

    def std(self) -> float:
        """Population standard deviation (``nan`` when empty). ``O(1)``.

        >>> v = ValueRing(4); v.fill(1.0, 2); v.fill(3.0, 2); v.std()
        1.0
        """
        n = self.n
        if n == 0:
            return NAN
        m = self._sum / n
        var = self._sumsq / n - m * m
        return math.sqrt(var) if var > 0.0 else 0.0

    def last(self, k: int | None = None) -> np.ndarray:
        """The last ``k`` values (all when ``None``), oldest first, as a read-only copy. ``O(k)``.

        >>> v = ValueRing(3); v.append(1.0); v.append(2.0); v.last(5).tolist(), v.last(1).tolist()
        ([1.0, 2.0], [2.0])
        """
        n = self.n
        k = n if k is None else max(0, min(int(k), n))
        idx = (np.arange(self.pos - k, self.pos)) % self.capacity
        out = self.buf[idx]
        out.flags.writeable = False
        return out

    def _check(self) -> None:
        """Assert invariants: counters in range, running sums match the buffer."""
        assert 0 <= self.n <= self.capacity and 0 <= self.pos < self.capacity
        if self.n < self.capacity:
            assert self.pos == self.n
        d = self._values() - self._shift
        scale = 1.0 + float(np.abs(d).sum())
        assert abs(self._sum - float(d.sum())) <= 1e-9 * scale
        assert abs(self._sumsq - float((d * d).sum())) <= 1e-9 * scale * scale


class RecordRing:
    """The last ``capacity`` rows of a structured array (e.g. per-second history).

    >>> dt = np.dtype([("t", "i8"), ("x", "f8")])
    >>> r = RecordRing(dt, 2)
    >>> r.append((1, 0.5)); r.append((2, 1.5)); r.append((3, 2.5))
    >>> r.ordered()["t"].tolist(), r.count
    ([2, 3], 3)

    Runtime complexity: :meth:`append` ``O(1)``; :meth:`ordered` ``O(n)``.
    """

    __slots__ = ("dtype", "capacity", "buf", "n", "pos", "count")

    def __init__(self, dtype: np.dtype, capacity: int) -> None:
        """Create an empty ring of ``capacity`` (>= 1) rows of ``dtype``."""
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.dtype = np.dtype(dtype)
        """Row dtype."""
        self.capacity: int = int(capacity)
        """Maximum rows kept."""
        self.buf: np.ndarray = np.zeros(self.capacity, dtype=self.dtype)
        """Storage."""
        self.n: int = 0
        """Rows held."""
        self.pos: int = 0
        """Slot of the next row."""
        self.count: int = 0
        """Rows ever appended (a version number for caches)."""

    def append(self, row: tuple) -> None:
        """Append one row (a tuple in field order). ``O(1)``.

        >>> r = RecordRing(np.dtype([("t", "i8")]), 2); r.append((4,)); r.n, r.count
        (1, 1)
        """
        self.buf[self.pos] = row
        self.pos = (self.pos + 1) % self.capacity
        if self.n < self.capacity:
            self.n += 1
        self.count += 1

    def ordered(self) -> np.ndarray:
        """A read-only copy of the held rows, oldest first. ``O(n)``.

        >>> r = RecordRing(np.dtype([("t", "i8")]), 2)
        >>> for t in (1, 2, 3): r.append((t,))
        >>> r.ordered()["t"].tolist()
        [2, 3]
        """
        if self.n < self.capacity:
            out = self.buf[: self.n].copy()
        else:
            out = np.concatenate((self.buf[self.pos :], self.buf[: self.pos]))
        out.flags.writeable = False
        return out

    def _check(self) -> None:
        """Assert counters are consistent."""
        assert 0 <= self.n <= self.capacity and 0 <= self.pos < self.capacity
        assert self.count >= self.n
        if self.n < self.capacity:
            assert self.pos == self.n
