"""The profile's value area while the numba kernel module is absent, half-imported or ready."""

from __future__ import annotations

import sys
import types

import numpy as np

from tapescope.engine import profile

KERNELS = "tapescope.engine.profile_kernels"
WEIGHTS = np.array([1.0, 2.0, 4.0, 10.0, 6.0, 5.0, 1.0, 1.0])


def test_value_area_uses_python_while_the_kernel_module_is_still_being_imported(monkeypatch) -> None:
    # What sys.modules holds while the warm-up thread runs ``from numba import njit``:
    # the module object, before READY (or value_area) is defined.
    half = types.ModuleType(KERNELS)
    monkeypatch.setitem(sys.modules, KERNELS, half)
    # POC at bin 3; the 70 % area grows by the larger neighbouring pair: (3, 3, 5).
    assert profile._value_area(WEIGHTS, 0.7) == (3, 3, 5)


def test_value_area_uses_the_kernel_once_ready(monkeypatch) -> None:
    ready = types.ModuleType(KERNELS)
    ready.READY = True
    ready.value_area = lambda w, fraction: ("kernel", len(w), fraction)
    monkeypatch.setitem(sys.modules, KERNELS, ready)
    assert profile._value_area(WEIGHTS, 0.7) == ("kernel", 8, 0.7)
