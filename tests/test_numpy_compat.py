"""What numlite guarantees on every NumPy it supports (see the README's "Supported platforms").

CI runs the whole suite on each CPython from 3.10 up, on the oldest NumPy ``pyproject.toml``
admits, and on NumPy 1.26 with ``NPY_PROMOTION_STATE=weak_and_warn`` (which warns wherever
NumPy 1's value-based casting and NumPy 2's NEP 50 rules give different dtypes).  The tests here
pin the pieces that differ between NumPy versions, so a failure names the cause directly.
"""

import warnings

import numpy as np
import pytest
from util import In, Out, run_litert, run_numlite, single_op_model

from numlite.ops._shape import reshaped

# float -> int CAST edge values: nan, infinities, values past either limit, the largest float32
# below 2**31 and the float32 nearest 2**31 - 1 (which rounds up to 2**31)
EDGES = [np.nan, np.inf, -np.inf, 3e9, -3e9, 2147483520.0, 2147483647.0, -2147483648.0, 1e20, -1e20,
         255.9, 256.0, -0.9, -1.0, 2.7, -2.7, 0.0]


def _expected_cast(x: np.ndarray, dst) -> np.ndarray:
    """numlite's (and LiteRT 2.3's) float -> int CAST, computed in Python integers: truncate
    toward zero, saturate at the type's limits, nan gives the maximum."""
    info = np.iinfo(dst)
    vals = []
    for v in x.astype(np.float64).tolist():
        if v != v:
            vals.append(info.max)
        elif v in (np.inf, -np.inf):
            vals.append(info.max if v > 0 else info.min)
        else:
            vals.append(min(max(int(v), info.min), info.max))
    return np.array(vals, dst)


@pytest.mark.parametrize("src", [np.float32, np.float16, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("dst", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64],
                         ids=lambda d: np.dtype(d).name)
def test_cast_float_to_int_saturates_on_every_numpy(src, dst):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float16 overflows to inf: that is the point
        x = np.array(EDGES, src)
    m = single_op_model("CAST", [In(x.shape, src)], Out(x.shape, dst))
    ours = run_numlite(m, [x])[0]
    np.testing.assert_array_equal(ours, _expected_cast(x, dst), err_msg=f"numpy {np.__version__}")
    np.testing.assert_array_equal(ours, run_litert(m, [x])[0])


def test_reshaped_is_a_view_and_never_copies():
    a = np.arange(24, dtype=np.float32)
    v = reshaped(a, (2, 3, 4))
    assert v.shape == (2, 3, 4) and np.shares_memory(v, a) and a.shape == (24,)
    v[1, 2, 3] = -1
    assert a[23] == -1
    with pytest.raises((AttributeError, ValueError)):  # needs a copy: refused on every NumPy
        reshaped(a.reshape(4, 6).T, (24,))


def test_deprecations_from_numlite_are_errors():
    # pyproject.toml's filterwarnings: a deprecation attributed to a numlite module fails the test
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        with pytest.raises(category):
            warnings.warn_explicit("deprecated", category, "x.py", 1, module="numlite.ops.fake")
    with pytest.raises(UserWarning, match="value-based promotion"):
        warnings.warn_explicit("result dtype changed due to the removal of value-based promotion from NumPy.",
                               UserWarning, "x.py", 1, module="numlite")
    # ... but not one from another package that merely starts with the same letters
    with warnings.catch_warnings(record=True) as seen:  # keeps the filters in force; records
        warnings.warn_explicit("deprecated", DeprecationWarning, "x.py", 1, module="numlite_other")
    assert len(seen) == 1
