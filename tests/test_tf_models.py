"""Whole models TensorFlow's converter wrote (tests/data/tf, made by scripts/make_tf_fixtures.py
where TensorFlow is installed; CI needs no TensorFlow) against LiteRT.

For every fixture LiteRT runs: the inputs the fixture script recorded in MANIFEST.json (each
case is a sequence of invocations on one interpreter, so state carried by variables and resource
variables must evolve the same; dynamic-shape fixtures have cases at several batch sizes and
sequence lengths), outputs compared after every invoke.

Tolerances:
- float32 models: rtol 1e-4, atol 1e-5.  numlite's GEMMs (BLAS) and LiteRT's (XNNPACK / ruy)
  sum in different orders, and NumPy's tanh / logistic differ from Eigen's by an ulp or two;
  the recurrences keep those differences bounded (measured: at most 1e-7 here).
- dynamic-range (``_drq``) models: atol 1e-3.  Both quantize activations per batch row, then
  compute exact integer dot products; a value an ulp away from a rounding boundary can land one
  quantization step apart (one step of a |x| <= 1 activation is 1/127 of the row's range,
  scaled by the weights: measured 1.2e-4 on simplernn_drq), which later steps carry along.
- int8 models: bit-exact with LiteRT's reference kernels (BUILTIN_REF).
"""

import json
import os

import numpy as np
import pytest

import numlite

DATA = os.path.join(os.path.dirname(__file__), "data", "tf")
MANIFEST = json.load(open(os.path.join(DATA, "MANIFEST.json")))["models"] if os.path.isdir(DATA) else {}


def _cases():
    for name, entry in sorted(MANIFEST.items()):
        if entry.get("litert", {}).get("runs"):
            yield pytest.param(name, entry, id=name)


def _array(spec):
    return np.array(spec["data"], dtype=spec["dtype"]).reshape(spec["shape"])


def _run(it, invocations):
    results = []
    allocated = None
    for call in invocations:
        feeds = [_array(spec) for spec in call]
        shapes = [list(f.shape) for f in feeds]
        if shapes != allocated:
            for d, shape in zip(it.get_input_details(), shapes):
                if list(d["shape"]) != shape:
                    it.resize_tensor_input(d["index"], shape)
            it.allocate_tensors()
            allocated = shapes
        for d, v in zip(it.get_input_details(), feeds):
            it.set_tensor(d["index"], v)
        it.invoke()
        results.append([np.array(it.get_tensor(d["index"])) for d in it.get_output_details()])
    return results


@pytest.mark.parametrize("name,entry", list(_cases()))
def test_tf_model_matches_litert(name, entry):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = os.path.join(DATA, entry["file"])
    int8 = "int8" in name
    assert entry.get("cases"), f"{name}: MANIFEST.json records no inputs"
    for c, case in enumerate(entry["cases"]):
        ours = numlite.Interpreter(model_path=path)
        ref = Interpreter(model_path=path,
                          experimental_op_resolver_type=OpResolverType.BUILTIN_REF if int8 else OpResolverType.AUTO)
        got, want = _run(ours, case["invocations"]), _run(ref, case["invocations"])
        for call, (a_outs, b_outs) in enumerate(zip(got, want)):
            for k, (a, b) in enumerate(zip(a_outs, b_outs)):
                msg = f"{name} case {c} invoke {call} output {k}"
                assert a.shape == b.shape and a.dtype == b.dtype, f"{msg}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
                if a.dtype.kind != "f" or int8:
                    np.testing.assert_array_equal(a, b, err_msg=msg)
                elif "drq" in name:
                    np.testing.assert_allclose(a, b, rtol=0, atol=1e-3, err_msg=msg)
                else:
                    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=msg)


def test_every_fixture_is_listed():
    files = {f for f in os.listdir(DATA) if f.endswith(".tflite")} if os.path.isdir(DATA) else set()
    assert files == {e["file"] for e in MANIFEST.values()}
