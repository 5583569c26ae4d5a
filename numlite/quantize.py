"""Post-training full-integer quantization: a float32 .tflite model in, its int8 twin out,
written the way TensorFlow's converter writes ``optimizations=[DEFAULT]`` with a
representative dataset and ``supported_ops=[TFLITE_BUILTINS_INT8]``.

    from numlite.quantize import quantize_model
    int8_model = quantize_model(float_model, ([img] for img in images), io_dtype=np.uint8)

Algorithm:

1. **Calibrate.**  Run the float model on numlite's ``Interpreter`` with
   ``experimental_preserve_all_tensors=True`` over every calibration sample and record the
   global min and max of every float32 tensor that is not a constant (inputs included).
2. **Same-scale groups.**  Ops whose int8 kernels require the output to carry their input's
   parameters (RESHAPE, MAX_POOL_2D, AVERAGE_POOL_2D, CONCATENATION: TFLite refuses differing
   scales there) join their data inputs and output into one group (union-find); a group gets
   the parameters of the union of its members' ranges.  Ops whose output parameters TFLite
   fixes (SOFTMAX and LOGISTIC: scale 1/256, zero point -128; TANH: 1/128, 0) pin them, and a
   group holding such a tensor takes its parameters.  An input whose parameters still differ
   from what its op needs (two pinned tensors meeting) gets a requantizing ``QUANTIZE``.
3. **Activation parameters** (int8, asymmetric, per tensor): the range is widened to include 0,
   ``scale = (max - min) / 255`` and ``zero_point = round(-128 - min / scale)`` clamped to
   [-128, 127], so that real 0 is exactly representable.  A tensor whose range is a point
   gets scale 1.
4. **Weights** (CONV_2D, FULLY_CONNECTED: ``quantized_dimension`` 0; DEPTHWISE_CONV_2D: 3) are
   int8 symmetric: ``scale[c] = max|w[c]| / 127``, zero point 0, values rounded half away from
   zero and clamped to [-127, 127]; ``per_channel=False`` uses one scale for the whole tensor.
   A channel of zeros gets the smallest scale of the others.  **Biases** are int32 with
   ``scale[c] = input_scale * weight_scale[c]`` (computed in double from the float32 scales
   stored in the file, as TFLite checks it) and zero point 0.  Other float constants (an ADD
   operand, a CONCATENATION part) are quantized like activations over their own values.
5. **I/O.**  ``io_dtype=np.int8``: the model's inputs and outputs are int8 tensors.
   ``np.uint8``: a uint8 input (same scale, zero point + 128) feeds a ``QUANTIZE`` to int8, and
   a ``QUANTIZE`` turns each int8 output into uint8, as the converter does with
   ``inference_input_type=tf.uint8``.  ``np.float32``: ``QUANTIZE`` after each input and
   ``DEQUANTIZE`` before each output.  Graph inputs and outputs keep their float names; the
   int8 tensors next to them get an ``_int8`` suffix.
6. **Write** every op with its float options (fused activations kept: the kernels clamp in the
   quantized domain) and the op version TFLite gives its int8 form, with
   :class:`numlite.builder.ModelBuilder`.

Limits: one subgraph; the ops in :data:`SUPPORTED_OPS` (the ops of MobileNet v1/v2 and
Inception v3, LOGISTIC, TANH, SUB, MUL, MAXIMUM, MINIMUM, RELU, RELU6, LEAKY_RELU, and the
data-movement ops PAD, SQUEEZE, EXPAND_DIMS, TRANSPOSE, SLICE, STRIDED_SLICE, RESIZE_BILINEAR,
which with MAXIMUM / MINIMUM keep their input's parameters); weights must be constant.  Anything else raises
:class:`QuantizationError` naming every offending op and node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .builder import ModelBuilder
from .graph import Model, Subgraph, Tensor, load_model
from .ops.quant import round_half_away

__all__ = ["SUPPORTED_OPS", "QuantizationError", "activation_params", "calibrate", "quantize_model"]


class QuantizationError(ValueError):
    """The float model cannot be quantized (an unsupported op, bad calibration data, ...)."""


# op -> version of its int8 form (TFLite's op_version rules for int8 inputs and outputs)
INT8_VERSIONS: dict[str, int] = {
    "CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4, "ADD": 2, "AVERAGE_POOL_2D": 2,
    "MAX_POOL_2D": 2, "CONCATENATION": 2, "RESHAPE": 1, "SOFTMAX": 2, "MEAN": 2, "LOGISTIC": 2, "TANH": 2,
    "SUB": 2, "MUL": 2, "MAXIMUM": 2, "MINIMUM": 2, "RELU": 2, "RELU6": 2, "LEAKY_RELU": 1, "PAD": 2,
    "SQUEEZE": 1, "EXPAND_DIMS": 1, "TRANSPOSE": 2, "SLICE": 2, "STRIDED_SLICE": 2, "RESIZE_BILINEAR": 2,
}
SUPPORTED_OPS = frozenset(INT8_VERSIONS)
QUANTIZE_VERSION, DEQUANTIZE_VERSION = 1, 2

# data inputs that must share the output's parameters (others, e.g. RESHAPE's shape, are not)
SAME_SCALE_INPUTS: dict[str, slice] = {
    "RESHAPE": slice(0, 1), "MAX_POOL_2D": slice(0, 1), "AVERAGE_POOL_2D": slice(0, 1),
    "CONCATENATION": slice(0, None), "PAD": slice(0, 1), "SQUEEZE": slice(0, 1), "EXPAND_DIMS": slice(0, 1),
    "TRANSPOSE": slice(0, 1), "SLICE": slice(0, 1), "STRIDED_SLICE": slice(0, 1), "RESIZE_BILINEAR": slice(0, 1),
    "MAXIMUM": slice(0, 2), "MINIMUM": slice(0, 2),
}
# ops whose int8 output parameters TFLite fixes: (scale, zero_point)
FIXED_OUTPUT: dict[str, tuple[float, int]] = {
    "SOFTMAX": (1.0 / 256, -128), "LOGISTIC": (1.0 / 256, -128), "TANH": (1.0 / 128, 0),
}
# weight input slot -> quantized dimension
WEIGHT_DIM: dict[str, int] = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3}
INPUT, WEIGHTS, BIAS = 0, 1, 2

QMIN, QMAX = -128, 127


def activation_params(lo: float, hi: float) -> tuple[float, int]:
    """int8 asymmetric (scale, zero_point) for the real range [lo, hi] (step 3 of the module
    docstring); the scale is returned as the float32 value the file will hold."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise QuantizationError(f"calibration range [{lo}, {hi}] is not finite")
    if hi - lo <= 0.0:
        return 1.0, 0
    scale = (hi - lo) / (QMAX - QMIN)
    zp = QMIN - lo / scale
    zp_int = int(min(max(round_half_away(np.float64(zp)), QMIN), QMAX))
    return float(np.float32(scale)), zp_int


def calibrate(float_model: bytes, calibration: Iterable[Any], num_threads: int = 1) -> dict[int, tuple[float, float]]:
    """Run ``float_model`` on numlite over ``calibration`` (an iterable of samples, each a list
    of input arrays in the model's input order, or one array for a one-input model) and return
    ``{tensor index: (min, max)}`` for every non-constant float32 tensor of subgraph 0."""
    from .interpreter import Interpreter

    it = Interpreter(model_content=float_model, experimental_preserve_all_tensors=True, num_threads=num_threads)
    sg = it._model.subgraphs[0]
    watch = [t.index for t in sg.tensors if t.dtype is np.float32 and not t.is_constant]
    ins = it.get_input_details()
    lo = {i: np.inf for i in watch}
    hi = {i: -np.inf for i in watch}
    allocated_for: list[tuple[int, ...]] | None = None
    n = 0
    for k, sample in enumerate(calibration):
        feeds = [sample] if isinstance(sample, np.ndarray) else list(sample)
        if len(feeds) != len(ins):
            raise QuantizationError(f"calibration sample {k} has {len(feeds)} arrays; the model has {len(ins)} inputs")
        shapes = [tuple(np.shape(f)) for f in feeds]
        if shapes != allocated_for:
            for d, s in zip(ins, shapes):
                if tuple(d["shape"]) != s:
                    it.resize_tensor_input(d["index"], list(s))
            it.allocate_tensors()
            allocated_for = shapes
        for j, (d, f) in enumerate(zip(ins, feeds)):
            a = np.asarray(f)
            if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                raise QuantizationError(f"calibration sample {k}, input {j} ({d['name']!r}) has NaN or infinite "
                                        "values")
            it.set_tensor(d["index"], np.asarray(a, d["dtype"]))
        it.invoke()
        for i in watch:
            v = it.tensor(i)()
            if v.size:
                lo[i] = min(lo[i], float(v.min()))
                hi[i] = max(hi[i], float(v.max()))
        n += 1
    if n == 0:
        raise QuantizationError("the calibration data set is empty")
    bad = [sg.tensors[i].name for i in watch if not (np.isfinite(lo[i]) and np.isfinite(hi[i]))]
    if bad:
        raise QuantizationError(f"calibration produced non-finite values (or empty tensors) in {bad[:5]}")
    return {i: (lo[i], hi[i]) for i in watch}


class _Groups:
    """Union-find over tensor indices."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, t: int) -> int:
        p = self.parent.setdefault(t, t)
        if p != t:
            p = self.parent[t] = self.find(p)
        return p

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _check_supported(m: Model) -> Subgraph:
    if len(m.subgraphs) != 1:
        raise QuantizationError(f"numlite's quantizer handles one subgraph; this model has {len(m.subgraphs)}")
    sg = m.subgraphs[0]
    bad: dict[str, list[int]] = {}
    for op in sg.operators:
        if op.op_name not in SUPPORTED_OPS:
            bad.setdefault(op.op_name, []).append(op.index)
    if bad:
        listed = "; ".join(f"{name} (nodes {nodes})" for name, nodes in bad.items())
        raise QuantizationError(f"cannot quantize {listed}: the quantizer supports {sorted(SUPPORTED_OPS)}")
    for op in sg.operators:
        for i in op.inputs:
            if i >= 0 and sg.tensors[i].dtype is not np.float32 and not sg.tensors[i].is_constant:
                raise QuantizationError(f"{op.op_name} (node {op.index}) input {sg.tensors[i].name!r} is "
                                        f"{sg.tensors[i].type_name}, not FLOAT32: not a float model")
        if op.op_name in WEIGHT_DIM:
            w = op.inputs[WEIGHTS]
            if not sg.tensors[w].is_constant or sg.tensors[w].dtype is not np.float32:
                raise QuantizationError(f"{op.op_name} (node {op.index}): weights {sg.tensors[w].name!r} must be "
                                        "a float32 constant")
            if len(op.inputs) > BIAS and op.inputs[BIAS] >= 0 and not sg.tensors[op.inputs[BIAS]].is_constant:
                raise QuantizationError(f"{op.op_name} (node {op.index}): the bias must be a constant")
    return sg


def _is_float_value(t: Tensor) -> bool:
    return t.dtype is np.float32


def _tensor_params(sg: Subgraph, ranges: dict[int, tuple[float, float]]) -> dict[int, tuple[float, int]]:
    """Steps 2-3: int8 (scale, zero_point) of every float tensor that is not a weight or bias."""
    fixed: dict[int, tuple[float, int]] = {}
    for op in sg.operators:
        if op.op_name in FIXED_OUTPUT:
            fixed[op.outputs[0]] = FIXED_OUTPUT[op.op_name]
    weights = {op.inputs[k] for op in sg.operators if op.op_name in WEIGHT_DIM
               for k in (WEIGHTS, BIAS) if k < len(op.inputs) and op.inputs[k] >= 0}
    value_range = dict(ranges)
    for t in sg.tensors:
        if t.is_constant and _is_float_value(t) and t.index not in weights and t.data.size:
            value_range[t.index] = (float(t.data.min()), float(t.data.max()))
    groups = _Groups()
    for op in sg.operators:
        sl = SAME_SCALE_INPUTS.get(op.op_name)
        if sl is None:
            continue
        for i in op.inputs[sl]:
            if i >= 0 and _is_float_value(sg.tensors[i]):
                groups.union(i, op.outputs[0])
    members: dict[int, list[int]] = {}
    for t in value_range:
        members.setdefault(groups.find(t), []).append(t)
    for t in fixed:
        members.setdefault(groups.find(t), [])
        if t not in members[groups.find(t)]:
            members[groups.find(t)].append(t)
    params: dict[int, tuple[float, int]] = {}
    for ts in members.values():
        pinned = sorted(t for t in ts if t in fixed)
        if pinned:
            p = fixed[pinned[0]]
        else:
            lo = min(value_range[t][0] for t in ts)
            hi = max(value_range[t][1] for t in ts)
            p = activation_params(lo, hi)
        for t in ts:
            params[t] = fixed.get(t, p)
    return params


def _weight_scales(w: np.ndarray, dim: int, per_channel: bool) -> np.ndarray:
    a = np.abs(w.astype(np.float64))
    if per_channel:
        axes = tuple(k for k in range(w.ndim) if k != dim)
        m = a.max(axis=axes) if axes else a
    else:
        m = np.array([a.max() if a.size else 0.0])
    scales = m / 127.0
    pos = scales[scales > 0]
    scales = np.where(scales > 0, scales, pos.min() if pos.size else 1.0)
    return scales.astype(np.float32)


def _quantize_weights(w: np.ndarray, dim: int, per_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    scales = _weight_scales(w, dim, per_channel)
    shape = [1] * w.ndim
    if per_channel:
        shape[dim] = -1
    q = round_half_away(w.astype(np.float64) / scales.astype(np.float64).reshape(shape))
    return np.clip(q, -127, 127).astype(np.int8), scales


def _quantize_values(x: np.ndarray, scale: float, zp: int, dtype: Any = np.int8) -> np.ndarray:
    info = np.iinfo(dtype)
    q = round_half_away(x.astype(np.float64) / np.float64(np.float32(scale))) + zp
    return np.clip(q, info.min, info.max).astype(dtype)


def _qdict(scale: Any, zp: Any, dim: int = 0) -> dict[str, Any]:
    return {"scale": np.atleast_1d(np.asarray(scale, np.float32)),
            "zero_point": np.atleast_1d(np.asarray(zp, np.int64)), "quantized_dimension": dim}


def quantize_model(float_model: bytes, calibration: Iterable[Sequence[np.ndarray] | np.ndarray], *,
                   io_dtype: Any = np.int8, per_channel: bool = True, num_threads: int = 1) -> bytes:
    """The int8 twin of ``float_model`` (see the module docstring for the algorithm).

    Args:
      float_model: bytes of a float32 .tflite model (one subgraph, ops in ``SUPPORTED_OPS``).
      calibration: samples, each a list of input arrays in the model's input order (or one
        array for a one-input model); min/max are taken over all of them.
      io_dtype: ``np.int8``, ``np.uint8`` or ``np.float32``: the type of the model's inputs and
        outputs.
      per_channel: per-output-channel weight scales (TFLite's default) or one scale per tensor.
      num_threads: threads for the calibration runs.
    """
    io = np.dtype(io_dtype)
    if io not in (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.float32)):
        raise QuantizationError(f"io_dtype must be np.int8, np.uint8 or np.float32, not {io_dtype!r}")
    m = load_model(model_content=float_model)
    sg = _check_supported(m)
    for i in (*sg.inputs, *sg.outputs):
        if sg.tensors[i].dtype is not np.float32:
            raise QuantizationError(f"graph input/output {sg.tensors[i].name!r} is {sg.tensors[i].type_name}; "
                                    "the quantizer expects a float32 model")
    ranges = calibrate(float_model, calibration, num_threads=num_threads)
    params = _tensor_params(sg, ranges)
    return _Writer(m, sg, params, io, per_channel).write()


class _Writer:
    """Step 5-6: emit the int8 graph."""

    def __init__(self, m: Model, sg: Subgraph, params: dict[int, tuple[float, int]], io: np.dtype,
                 per_channel: bool):
        self.m, self.sg, self.params, self.io, self.per_channel = m, sg, params, io, per_channel
        self.mb = ModelBuilder(f"{m.description} (int8, numlite.quantize)" if m.description else "numlite int8")
        self.tmap: dict[int, int] = {}  # float tensor -> its int8 (or int32 constant) twin
        self.requant: dict[tuple[int, float, int], int] = {}
        self.io_names = {sg.tensors[i].name for i in (*sg.inputs, *sg.outputs)} if io != np.int8 else set()

    # -- tensors -------------------------------------------------------------------------
    def _name(self, t: Tensor) -> str:
        return f"{t.name}_int8" if t.name in self.io_names else t.name

    def _sig(self, t: Tensor) -> tuple[int, ...] | None:
        return t.shape_signature if t.shape_signature != t.shape else None

    def act(self, i: int) -> int:
        """The int8 tensor standing for float tensor ``i`` (created on first use)."""
        if i < 0:
            return -1
        if i in self.tmap:
            return self.tmap[i]
        t = self.sg.tensors[i]
        if not _is_float_value(t):  # int32 shapes, axes: copied as they are
            if t.is_constant:
                j = self.mb.const(t.name, np.array(t.data))
            else:
                j = self.mb.tensor(t.name, t.shape, t.dtype, shape_signature=self._sig(t))
        else:
            scale, zp = self.params[i]
            q = _qdict(scale, zp)
            if t.is_constant:
                j = self.mb.const(self._name(t), _quantize_values(np.asarray(t.data), scale, zp), quantization=q)
            else:
                j = self.mb.tensor(self._name(t), t.shape, np.int8, quantization=q, shape_signature=self._sig(t))
        self.tmap[i] = j
        return j

    def requantized(self, i: int, want: tuple[float, int]) -> int:
        """Float tensor ``i`` as int8 with parameters ``want`` (a QUANTIZE if they differ)."""
        j = self.act(i)
        if self.params.get(i) == want or i < 0:
            return j
        key = (i, *want)
        if key not in self.requant:
            t = self.sg.tensors[i]
            k = self.mb.tensor(f"{t.name}_requantized", t.shape, np.int8, quantization=_qdict(*want))
            self.mb.op("QUANTIZE", [j], [k], version=QUANTIZE_VERSION)
            self.requant[key] = k
        return self.requant[key]

    def weights(self, op_name: str, w_index: int, b_index: int, in_scale: float) -> tuple[int, int]:
        wt = self.sg.tensors[w_index]
        dim = WEIGHT_DIM[op_name]
        qw, scales = _quantize_weights(np.asarray(wt.data), dim, self.per_channel)
        qdim = dim if self.per_channel else 0
        wi = self.mb.const(wt.name, qw, quantization=_qdict(scales, np.zeros(scales.size, np.int64), qdim))
        bi = -1
        if b_index >= 0:
            bt = self.sg.tensors[b_index]
            b = np.asarray(bt.data, np.float64).reshape(-1)
            bscale = np.float64(np.float32(in_scale)) * scales.astype(np.float64)  # one per channel, or one
            qb = round_half_away(b / bscale)
            qb = np.clip(qb, np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)
            bi = self.mb.const(bt.name, qb.reshape(bt.shape),
                               quantization=_qdict(bscale.astype(np.float32), np.zeros(bscale.size, np.int64), 0))
        return wi, bi

    # -- graph ---------------------------------------------------------------------------
    def write(self) -> bytes:
        sg, mb, io = self.sg, self.mb, self.io
        graph_in: dict[int, int] = {}
        for i in sg.inputs:
            t = sg.tensors[i]
            scale, zp = self.params[i]
            if io == np.int8:
                j = mb.input(t.name, t.shape, np.int8, quantization=_qdict(scale, zp), shape_signature=self._sig(t))
                self.tmap[i] = j
            else:
                q = _qdict(scale, zp + 128) if io == np.uint8 else None
                j = mb.input(t.name, t.shape, io.type, quantization=q, shape_signature=self._sig(t))
                mb.op("QUANTIZE", [j], [self.act(i)], version=QUANTIZE_VERSION)
            graph_in[i] = j
        for op in sg.operators:
            self._op(op)
        graph_out: dict[int, int] = {}
        for i in sg.outputs:
            t = sg.tensors[i]
            j = self.act(i)
            if io != np.int8:
                scale, zp = self.params[i]
                if io == np.uint8:
                    k = mb.tensor(t.name, t.shape, np.uint8, quantization=_qdict(scale, zp + 128),
                                  shape_signature=self._sig(t))
                    mb.op("QUANTIZE", [j], [k], version=QUANTIZE_VERSION)
                else:
                    k = mb.tensor(t.name, t.shape, np.float32, shape_signature=self._sig(t))
                    mb.op("DEQUANTIZE", [j], [k], version=DEQUANTIZE_VERSION)
                j = k
            mb.output(j)
            graph_out[i] = j
        for s in self.m.signature_defs:
            mb.signature(s.key, {n: graph_in[i] for n, i in s.inputs.items()},
                         {n: graph_out[i] for n, i in s.outputs.items()})
        return mb.build()

    def _op(self, op: Any) -> None:
        sg = self.sg
        name = op.op_name
        opts = {k: v for k, v in (op.options or {}).items() if v is not None}
        out = op.outputs[0]
        out_q = self.params[out]
        version = INT8_VERSIONS[name]
        if name in WEIGHT_DIM:
            x = op.inputs[INPUT]
            b = op.inputs[BIAS] if len(op.inputs) > BIAS else -1
            wi, bi = self.weights(name, op.inputs[WEIGHTS], b, self.params[x][0])
            inputs = [self.act(x), wi] + ([bi] if len(op.inputs) > BIAS else [])
            if name == "FULLY_CONNECTED" and len(op.inputs) <= BIAS:
                version = 6  # two inputs (no bias slot)
            elif name == "FULLY_CONNECTED" and opts.get("keep_num_dims"):
                version = 5
        elif name in SAME_SCALE_INPUTS:
            sl = SAME_SCALE_INPUTS[name]
            idx = range(len(op.inputs))[sl]
            inputs = [self.requantized(i, out_q) if k in idx and i >= 0 and _is_float_value(sg.tensors[i])
                      else self.act(i) for k, i in enumerate(op.inputs)]
        else:
            inputs = [self.act(i) for i in op.inputs]
        outputs = [self.act(o) for o in op.outputs]
        self.mb.op(name, inputs, outputs, version=version, **opts)
