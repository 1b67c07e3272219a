"""The compiled loops of the blocks (``blocks/lib``), loaded with ctypes.

The per-sample work of a few Python blocks is a plain C loop in a shared library installed next
to this file (``_<name>.so``, no Python C API, so it does not depend on the interpreter's
version). Each block keeps a numpy way of doing the same, used and logged when its library is
not built; tests check that both give the same results.
"""
from __future__ import annotations

import ctypes
import os
from typing import Any, Callable

import numpy as np


def array_arg(dtype: Any, ndim: int = 1) -> Any:
    """A ctypes argument type that takes a C-contiguous numpy array of ``dtype`` and ``ndim``."""
    return np.ctypeslib.ndpointer(dtype, ndim=ndim, flags="C_CONTIGUOUS")


def load_library(name: str, declare: Callable[[ctypes.CDLL], None]) -> ctypes.CDLL | None:
    """The library ``_<name>.so`` installed next to this file, its functions' types declared by
    ``declare``; None when it is not built."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"_{name}.so")
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    declare(lib)
    return lib
