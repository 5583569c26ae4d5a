"""Helpers for tests: single-op models, and running a model on numlite and on LiteRT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import numlite
from numlite.builder import ModelBuilder


class In:
    """A graph input of a single-op model (``In((1, 4), np.float32)``)."""

    def __init__(self, shape: Sequence[int], dtype: Any = np.float32, quant: dict | None = None,
                 shape_signature: Sequence[int] | None = None):
        self.shape, self.dtype, self.quant, self.sig = tuple(shape), dtype, quant, shape_signature


class Out:
    def __init__(self, shape: Sequence[int] = (), dtype: Any = np.float32, quant: dict | None = None):
        self.shape, self.dtype, self.quant = tuple(shape), dtype, quant


class Const:
    def __init__(self, value: Any, dtype: Any = None, quant: dict | None = None):
        self.value = np.asarray(value, dtype=dtype)
        self.quant = quant


def single_op_model(op: str, inputs: Sequence[Any], outputs: Sequence[Out] | Out, version: int = 1,
                    **options: Any) -> bytes:
    """A model with one operator.  ``inputs``: In / Const / np.ndarray (constant) / None (-1)."""
    mb = ModelBuilder()
    idx = []
    for k, spec in enumerate(inputs):
        if spec is None:
            idx.append(-1)
        elif isinstance(spec, In):
            idx.append(mb.input(f"in{k}", spec.shape, spec.dtype, quantization=spec.quant,
                                shape_signature=spec.sig))
        elif isinstance(spec, Const):
            idx.append(mb.const(f"c{k}", spec.value, quantization=spec.quant))
        else:
            idx.append(mb.const(f"c{k}", np.asarray(spec)))
    outs = [outputs] if isinstance(outputs, Out) else list(outputs)
    oidx = [mb.tensor(f"out{k}", o.shape, o.dtype, quantization=o.quant) for k, o in enumerate(outs)]
    mb.op(op, idx, oidx, version=version, **options)
    mb.output(*oidx)
    return mb.build()


def run(interp_cls: Any, model: bytes, feeds: Sequence[np.ndarray], **kw: Any) -> list[np.ndarray]:
    it = interp_cls(model_content=model, **kw)
    ins = it.get_input_details()
    for d, v in zip(ins, feeds):
        if tuple(d["shape"]) != tuple(np.shape(v)):
            it.resize_tensor_input(d["index"], list(np.shape(v)))
    it.allocate_tensors()
    for d, v in zip(ins, feeds):
        it.set_tensor(d["index"], v)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def run_numlite(model: bytes, feeds: Sequence[np.ndarray], **kw: Any) -> list[np.ndarray]:
    return run(numlite.Interpreter, model, feeds, **kw)


def run_litert(model: bytes, feeds: Sequence[np.ndarray], ref: bool = False, **kw: Any) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if ref:
        kw["experimental_op_resolver_type"] = OpResolverType.BUILTIN_REF
    return run(Interpreter, model, feeds, **kw)


def assert_matches_litert(model: bytes, feeds: Sequence[np.ndarray], rtol: float = 1e-5,
                          atol: float = 1e-6, ref: bool = False, **kw: Any) -> list[np.ndarray]:
    """Run on both runtimes; outputs must agree in shape, dtype and value (within tolerance;
    exactly for integer outputs)."""
    ours = run_numlite(model, feeds, **kw)
    theirs = run_litert(model, feeds, ref=ref)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"output {k}: shape {a.shape} != LiteRT {b.shape}"
        assert a.dtype == b.dtype, f"output {k}: dtype {a.dtype} != LiteRT {b.dtype}"
        if np.issubdtype(a.dtype, np.floating):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"output {k}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"output {k}")
    return ours


def rand(shape: Sequence[int], dtype: Any = np.float32, seed: int = 0, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(dtype), np.integer):
        return rng.integers(int(lo), int(hi) + 1, size=shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) > 0.5
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def invoke_peak_bytes(it: Any) -> int:
    """Peak bytes Python allocates (``tracemalloc``) during one ``it.invoke()``: the check that a
    prepared step allocates nothing that grows with the tensors."""
    import tracemalloc

    tracemalloc.start()
    try:
        it.invoke()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def numlite_command(argv: Sequence[str], catch_exit: bool = True) -> int:
    """``numlite ARGV`` in process: the exit code; argparse's ``SystemExit`` (usage errors,
    ``--help``) becomes the code too unless ``catch_exit`` is false."""
    from numlite.tools.cli import main

    if not catch_exit:
        return main(list(argv))
    try:
        return main(list(argv))
    except SystemExit as e:
        return int(e.code or 0)


def randomize_recurrent_biases(model: Any, rng: np.random.Generator) -> None:
    """Keras initialises recurrent biases to zero (LSTM's forget gate to one): random ones, so
    that a conversion's bias handling (GRU's input and recurrent biases) is checked.  Layers
    wrapped in Bidirectional too."""
    for layer in model.layers:
        inner = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]
        for ly in inner:
            cell = getattr(ly, "cell", None)
            if cell is not None and getattr(cell, "bias", None) is not None:
                cell.bias.assign(rng.uniform(-0.5, 0.5, cell.bias.shape))
