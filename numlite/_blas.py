"""Control of the BLAS thread count behind NumPy's matmul, without extra dependencies.

NumPy's wheels bundle OpenBLAS (``scipy_openblas``), whose thread count can be set through
its C API.  ``set_threads(n)`` finds the library NumPy already loaded and calls it; where no
known BLAS is found (MKL, Accelerate, a source build) it does nothing and returns False.

"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")

_lib_set = None
_lib_get = None
_lib = None
_searched = False


def _find() -> None:
    global _lib_set, _lib_get, _searched
    _searched = True
    base = os.path.dirname(os.path.dirname(np.__file__))
    cands = []
    for d in (os.path.join(base, "numpy.libs"), os.path.join(base, "numpy", ".dylibs"),
              os.path.join(os.path.dirname(np.__file__), ".libs")):
        cands += glob.glob(os.path.join(d, "*openblas*"))
    for path in cands:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for s in _SETTERS:
            if hasattr(lib, s):
                _lib_set = getattr(lib, s)
                _lib_set.argtypes = [ctypes.c_int]
                _lib_set.restype = None
                break
        for g in _GETTERS:
            if hasattr(lib, g):
                _lib_get = getattr(lib, g)
                _lib_get.restype = ctypes.c_int
                break
        if _lib_set is not None:
            global _lib
            _lib = lib
            return


def set_threads(n: int) -> bool:
    """Set the BLAS thread count; True if a controllable BLAS was found."""
    if not _searched:
        _find()
    if _lib_set is None:
        return False
    _lib_set(int(n))
    return True


def get_threads() -> int | None:
    if not _searched:
        _find()
    return int(_lib_get()) if _lib_get is not None else None


def corename() -> str | None:
    """The name of the OpenBLAS kernel set in use (e.g. 'Haswell', 'SkylakeX'), if known."""
    if not _searched:
        _find()
    for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
        f = getattr(_lib, name, None) if _lib is not None else None
        if f is not None:
            f.restype = ctypes.c_char_p
            return f().decode(errors="replace")
    return None

