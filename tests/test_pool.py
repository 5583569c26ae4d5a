"""AVERAGE_POOL_2D and MAX_POOL_2D (float32) against LiteRT.

Tolerance: max pooling is exact; average pooling sums in a different order than XNNPACK (and
divides rather than multiplying by a reciprocal), so rtol=1e-5, atol=1e-6 on values in [-3, 3].
"""

import numpy as np
import pytest
from util import In, Out, assert_matches_litert, rand, run_litert, run_numlite, single_op_model

OPS = ["AVERAGE_POOL_2D", "MAX_POOL_2D"]


def pool_model(op, shape, f, s, padding, act="NONE"):
    return single_op_model(op, [In(shape)], Out(), padding=padding, stride_h=s[0], stride_w=s[1],
                           filter_height=f[0], filter_width=f[1], fused_activation_function=act)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape,f,s,padding", [
    ((1, 5, 5, 2), (3, 3), (1, 1), "SAME"),
    ((2, 7, 6, 3), (3, 2), (2, 2), "SAME"),
    ((1, 7, 6, 3), (3, 2), (2, 3), "VALID"),
    ((1, 8, 9, 4), (2, 2), (2, 2), "VALID"),
    ((1, 9, 9, 5), (3, 3), (2, 2), "VALID"),     # Inception's 3x3 s2 max pool, small
    ((1, 9, 9, 5), (3, 3), (2, 2), "SAME"),
    ((1, 10, 11, 3), (5, 4), (3, 2), "SAME"),
    ((1, 6, 6, 2), (1, 1), (2, 2), "VALID"),     # both passes are strided views
    ((1, 6, 6, 2), (1, 3), (2, 1), "SAME"),      # one trivial pass
    ((1, 6, 7, 2), (4, 1), (1, 3), "SAME"),
    ((1, 3, 3, 1), (5, 5), (1, 1), "SAME"),      # filter bigger than the input
    ((1, 2, 4, 3), (4, 6), (2, 3), "SAME"),
    ((1, 7, 7, 16), (7, 7), (2, 2), "VALID"),    # global (MobileNet)
    ((2, 3, 3, 4), (5, 5), (5, 5), "SAME"),      # one window covering all: global path
    ((1, 1, 1, 3), (1, 1), (1, 1), "VALID"),
])
def test_pool_geometry(op, shape, f, s, padding):
    assert_matches_litert(pool_model(op, shape, f, s, padding), [rand(shape, seed=3, lo=-3, hi=3)],
                          rtol=1e-5, atol=1e-6)


# TFLite's float pools clamp for the three clamping activations and ignore TANH / SIGN_BIT.
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1", "TANH", "SIGN_BIT"])
def test_pool_activation(op, act):
    shape = (1, 6, 5, 3)
    assert_matches_litert(pool_model(op, shape, (2, 3), (1, 2), "SAME", act), [rand(shape, seed=4, lo=-8, hi=8)],
                          rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", OPS)
def test_pool_global_with_activation(op):
    shape = (2, 4, 4, 8)
    assert_matches_litert(pool_model(op, shape, (4, 4), (1, 1), "VALID", "RELU6"), [rand(shape, seed=5, lo=-8, hi=8)],
                          rtol=1e-5, atol=1e-6)


def test_avg_pool_same_divides_by_valid_cells():
    x = np.ones((1, 4, 4, 1), np.float32)
    out = run_numlite(pool_model("AVERAGE_POOL_2D", x.shape, (3, 3), (1, 1), "SAME"), [x])[0]
    np.testing.assert_array_equal(out, np.ones_like(out))  # zero padding would pull the edges down


def test_max_pool_negative_inputs_with_padding():
    x = -1.0 - rand((1, 5, 5, 2), seed=6, lo=0, hi=1)  # all < 0: a zero padding value would win
    assert_matches_litert(pool_model("MAX_POOL_2D", x.shape, (3, 3), (2, 2), "SAME"), [x])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape,f,s", [((1, 2, 2, 1), 3, 1), ((1, 1, 4, 1), 3, 1), ((1, 2, 3, 1), 5, 2)])
def test_pool_valid_filter_bigger_than_input(op, shape, f, s):
    # The output is empty.  LiteRT's reference kernels agree; its XNNPACK path invents a 1x1
    # output here, so compare with the reference kernels.
    m = pool_model(op, shape, (f, f), (s, s), "VALID")
    out = assert_matches_litert(m, [rand(shape)], ref=True)[0]
    assert out.size == 0


@pytest.mark.parametrize("op", OPS)
def test_pool_batch_and_repeat_invoke(op):
    import numlite

    shape = (3, 8, 8, 4)
    m = pool_model(op, shape, (3, 3), (2, 2), "SAME")
    it = numlite.Interpreter(model_content=m)
    it.allocate_tensors()
    i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    for seed in (1, 2):
        x = rand(shape, seed=seed)
        it.set_tensor(i, x)
        it.invoke()
        ref = run_numlite(m, [x])[0]
        np.testing.assert_array_equal(it.get_tensor(o), ref)


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize("op", OPS)
def test_pool_rejects_rank3(op):
    m = pool_model(op, (4, 4, 1), (2, 2), (1, 1), "VALID")
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*rank 4"):
        run_numlite(m, [np.zeros((4, 4, 1), np.float32)])


@pytest.mark.parametrize("op", OPS)
def test_pool_rejects_zero_stride(op):
    m = pool_model(op, (1, 4, 4, 1), (2, 2), (0, 1), "VALID")
    with pytest.raises(RuntimeError, match=rf"{op} \(node 0\).*stride"):
        run_numlite(m, [np.zeros((1, 4, 4, 1), np.float32)])


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_huge_filters_cost_no_more_than_the_input(op):
    """A filter far larger than the input (hostile, or a global pool written that way): only the
    taps that can reach the input are visited at prepare, so it neither hangs nor differs.
    Compared with BUILTIN_REF: LiteRT 2.3's default average pool gives other values for a
    1000-wide filter (rows whose window is cut by the padding), its reference kernel agrees."""
    import time

    x = rand((1, 5, 6, 2), seed=3)
    for f in (1000, 2**31 - 1):
        m = single_op_model(op, [In((1, 5, 6, 2))], Out((1, 5, 6, 2)), padding="SAME", stride_w=1, stride_h=2,
                            filter_width=f, filter_height=7)
        t = time.perf_counter()
        ours = run_numlite(m, [x])[0]
        assert time.perf_counter() - t < 5
        if f == 1000:
            np.testing.assert_allclose(ours, run_litert(m, [x], ref=True)[0], rtol=1e-6)
