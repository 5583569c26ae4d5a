"""Regression tests for what the fuzz campaign (fuzz/) found: each input rebuilt by code, with
the error numlite must give now (a documented one, naming what is wrong) instead of a crash."""

from __future__ import annotations

import numpy as np
import pytest
from test_strings import _string_model

import numlite


def test_set_tensor_of_a_str_with_lone_surrogates_is_a_plain_value_error():
    """fuzz_strings: a ``str`` that is not valid Unicode (lone surrogates, as ``surrogateescape``
    decoding makes from non-UTF-8 bytes) escaped set_tensor as UnicodeEncodeError; now a
    ValueError naming the element, as LiteRT's plain ValueError."""
    it = numlite.Interpreter(model_content=_string_model())
    it.allocate_tensors()
    idx = it.get_input_details()[0]["index"]
    for value in (np.array(["ok", "\udcff\udcfe"], object), np.array(["ok", "a\udc80b"])):
        with pytest.raises(ValueError, match="string element 1 .*UTF-8") as ei:
            it.set_tensor(idx, value)
        assert not isinstance(ei.value, UnicodeError)
    it.set_tensor(idx, np.array([b"\xff\xfe", "\u00e9".encode()], object))  # bytes: any values
    it.invoke()
    assert list(it.get_tensor(it.get_output_details()[0]["index"])) == [b"\xff\xfe", "\u00e9".encode()]
