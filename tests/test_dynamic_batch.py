"""The shape chain Keras exports for a dynamic batch, resized to several batch sizes.

    x [-1, 4, 4, 3] -> SHAPE -> STRIDED_SLICE[0:1] (shrink) -> PACK([batch, 48]) -> RESHAPE(x)
      -> ADD(bias) -> y [batch, 48]

SHAPE publishes its value at prepare, so STRIDED_SLICE and PACK fold to constants and
RESHAPE gets a known shape for every batch size; only RESHAPE and ADD are left to invoke.
Compared with LiteRT after ``resize_tensor_input`` (float data movement + one add: exact).
"""

import numpy as np
import pytest
from util import rand

import numlite
from numlite.builder import ModelBuilder
from numlite.ops.base import PrepareError


def keras_chain(pinned: bool = False, with_signature: bool = False) -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", (1, 4, 4, 3), np.float32, shape_signature=(-1, 4, 4, 3))
    if pinned:  # a model converted with a fixed batch: the reshape target is a constant
        packed = mb.const("target", np.array([1, 48], np.int32))
    else:
        shape = mb.tensor("shape", (4,), np.int32)
        mb.op("SHAPE", [x], [shape], out_type="INT32")
        batch = mb.tensor("batch", (), np.int32)
        mb.op("STRIDED_SLICE", [shape, mb.const("b", np.array([0], np.int32)), mb.const("e", np.array([1], np.int32)),
                                mb.const("s", np.array([1], np.int32))], [batch], shrink_axis_mask=1)
        packed = mb.tensor("packed", (2,), np.int32)
        mb.op("PACK", [batch, mb.const("f", np.array(48, np.int32))], [packed], values_count=2, axis=0)
    flat = mb.tensor("flat", (1, 48), np.float32, shape_signature=(-1, 48))
    mb.op("RESHAPE", [x, packed], [flat])
    y = mb.tensor("y", (1, 48), np.float32, shape_signature=(-1, 48))
    mb.op("ADD", [flat, mb.const("bias", np.linspace(-1, 1, 48, dtype=np.float32))], [y])
    mb.output(y)
    if with_signature:
        mb.signature("serving_default", {"x": x}, {"y": y})
    return mb.build()


def run_resized(cls, model: bytes, x: np.ndarray, **kw):
    it = cls(model_content=model, **kw)
    d = it.get_input_details()[0]
    it.resize_tensor_input(d["index"], list(x.shape), strict=True)
    it.allocate_tensors()
    it.set_tensor(d["index"], x)
    it.invoke()
    o = it.get_output_details()[0]
    return it, it.get_tensor(o["index"]), o


@pytest.mark.parametrize("batch", [1, 3, 7])
def test_dynamic_batch_matches_litert(batch):
    from ai_edge_litert.interpreter import Interpreter

    m = keras_chain()
    x = rand((batch, 4, 4, 3), seed=batch)
    it, ours, od = run_resized(numlite.Interpreter, m, x)
    _, theirs, lod = run_resized(Interpreter, m, x)
    assert ours.shape == theirs.shape == (batch, 48)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(od["shape"], lod["shape"])
    np.testing.assert_array_equal(od["shape_signature"], [-1, 48])
    # the shape chain folded away: only RESHAPE and ADD run at invoke, the ADD in place inside the RESHAPE's step
    ex = it._main
    assert [ex.kernels[n].op_name for n in ex.step_nodes] == ["RESHAPE"]
    assert [ex.kernels[n].op_name for n in ex.absorbed] == ["ADD"]


def test_resize_repeatedly_on_one_interpreter():
    from ai_edge_litert.interpreter import Interpreter

    m = keras_chain()
    ours, theirs = numlite.Interpreter(model_content=m), Interpreter(model_content=m)
    for batch in (3, 1, 7, 2):
        x = rand((batch, 4, 4, 3), seed=batch)
        res = []
        for it in (ours, theirs):
            i = it.get_input_details()[0]["index"]
            it.resize_tensor_input(i, [batch, 4, 4, 3])
            it.allocate_tensors()
            it.set_tensor(i, x)
            it.invoke()
            res.append(it.get_tensor(it.get_output_details()[0]["index"]))
        np.testing.assert_array_equal(res[0], res[1])


def test_signature_runner_resizes():
    m = keras_chain(with_signature=True)
    it = numlite.Interpreter(model_content=m)
    run = it.get_signature_runner()
    for batch in (2, 5):
        x = rand((batch, 4, 4, 3), seed=batch)
        y = run(x=x)["y"]
        np.testing.assert_array_equal(y, x.reshape(batch, 48) + np.linspace(-1, 1, 48, dtype=np.float32))


def test_pinned_batch_names_the_op_that_pins_it():
    it = numlite.Interpreter(model_content=keras_chain(pinned=True))
    it.resize_tensor_input(it.get_input_details()[0]["index"], [3, 4, 4, 3])
    msg = r"RESHAPE \(node 0\): new shape \[1, 48\] has 48 elements, the input has 144"
    with pytest.raises(PrepareError, match=msg):
        it.allocate_tensors()
