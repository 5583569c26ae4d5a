"""Mutated models of the operators added with the full operator set: never a crash or a hang.

For one model of each family (built by the op's own test module), seeded random corruptions -
byte and word overwrites with extreme values, truncations - must load and run with only the
errors ``test_verifier.assert_safe`` allows (ModelError / ValueError / RuntimeError) or run
cleanly, each within a time bound.  Custom options in FlexBuffers (detection), raw structs
(MediaPipe), control flow with branch subgraphs (STABLEHLO_CASE) and dynamic outputs (UNIQUE,
SEGMENT_SUM) are all in the corpus.
"""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
from test_complex_random import multinomial_model, rfft_model
from test_detection import nms_model, ssd_model
from test_index_space_ops import dus_model, unique_model
from test_segment_ops import segment_model
from test_stablehlo import case_model, pad_model
from test_transpose_conv import tc_model
from test_verifier import assert_safe

import numlite
import numlite.custom.mediapipe as mediapipe

CORPUS = {
    "transpose_conv": lambda: tc_model((1, 3, 3, 2), np.ones((4, 3, 3, 2), np.float32), (1, 6, 6, 4),
                                       bias=np.zeros(4, np.float32), padding="SAME", stride_w=2, stride_h=2),
    "ssd_detection_postprocess": lambda: ssd_model(True)[0],
    "nms_v5": lambda: nms_model(8, 4, True),
    "unique": lambda: unique_model(6, np.int32),
    "segment_sum": lambda: segment_model((5, 2), 3),
    "dynamic_update_slice": lambda: dus_model((4, 4), (2, 2), np.float32),
    "rfft2d": lambda: rfft_model((4, 8), (4, 8)),
    "multinomial": lambda: multinomial_model((2, 5), 3),
    "stablehlo_pad": lambda: pad_model((2, 3), [1, 0], [0, 2], [1, 1]),
    "stablehlo_case": lambda: case_model([1, 2]),
}


def _mutations(data: bytes, rng: np.random.Generator, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        b = bytearray(data)
        kind = rng.integers(0, 3)
        if kind == 0:
            for p in rng.integers(0, len(b), 3):
                b[p] = int(rng.integers(0, 256))
        elif kind == 1:
            p = int(rng.integers(0, len(b) - 4))
            v = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, len(b), 0, 1, 0x10000][int(rng.integers(0, 7))]
            struct.pack_into("<I", b, p, v)
        else:
            del b[int(rng.integers(1, len(b))):]
        out.append(bytes(b))
    return out


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_mutated_models_fail_cleanly(name):
    data = CORPUS[name]()
    assert assert_safe(data) == "ran", "the unmutated model must run"
    rng = np.random.default_rng(sum(map(ord, name)))
    outcomes: dict[str, int] = {}
    for m in _mutations(data, rng, 120):
        t0 = time.perf_counter()
        r = assert_safe(m)
        assert time.perf_counter() - t0 < 5, f"a mutated {name} model took {time.perf_counter() - t0:.1f} s"
        outcomes[r] = outcomes.get(r, 0) + 1
    assert outcomes.get("error", 0) + outcomes.get("run-error", 0) > 0, outcomes


def test_mediapipe_ops_with_mutated_raw_options():
    """MediaPipe's pooling ops read a raw C struct: every truncation and overwrite of it is an
    error naming the op or a defined result."""
    from test_mediapipe_ops import custom_model
    from util import In, Out

    opts = struct.pack("<6i", 2, 2, 2, 2, 2, 0)  # padding VALID, strides 2, filter 2x2, no activation
    rng = np.random.default_rng(7)
    for k in range(200):
        b = bytearray(opts)
        if k % 3 == 0:
            del b[int(rng.integers(0, len(b))):]
        else:
            struct.pack_into("<i", b, 4 * int(rng.integers(0, 6)), int(rng.integers(-2**31, 2**31)))
        model = custom_model("MaxPoolingWithArgmax2D", [In((1, 4, 4, 2))],
                             [Out((1, 2, 2, 2)), Out((1, 2, 2, 2))], bytes(b))
        t0 = time.perf_counter()
        try:
            it = numlite.Interpreter(model_content=model, custom_ops=mediapipe.OPS)
            it.allocate_tensors()
            it.set_tensor(0, np.ones((1, 4, 4, 2), np.float32))
            it.invoke()
        except (ValueError, RuntimeError) as e:
            assert "MaxPoolingWithArgmax2D" in str(e) or "ModelError" in type(e).__name__, e
        assert time.perf_counter() - t0 < 5
