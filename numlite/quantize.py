"""Post-training full-integer quantization: a float32 .tflite model in, its int8 (or 16x8) twin
out, written the way TensorFlow's converter writes ``optimizations=[DEFAULT]`` with a
representative dataset and ``supported_ops=[TFLITE_BUILTINS_INT8]`` (or
``[EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]`` for ``mode="int16x8"``).

    from numlite.quantize import quantize_model
    int8_model = quantize_model(float_model, ([img] for img in images), io_dtype=np.uint8)
    x16_model = quantize_model(float_model, samples, mode="int16x8", float_ops={"SOFTMAX"})

Algorithm:

1. **Calibrate.**  Run the float model on numlite's ``Interpreter`` with
   ``experimental_preserve_all_tensors=True`` over every calibration sample and record the
   global min and max of every float32 tensor that is not a constant (inputs included).  Each
   sample is checked first: one array per input, the input's dtype, its shape (only the batch
   axis and the axes the model leaves dynamic may differ), no NaN or infinity.
   An UNIDIRECTIONAL_SEQUENCE_LSTM's integer form also needs ranges of values inside the op
   (every step's cell state, the gate sums before a layer norm, ``o * tanh(c)`` before a
   projection): the quantizer reads the op's states before each run of its subgraph (an invoke
   for subgraph 0, each run of a WHILE body or IF branch otherwise) and its input after,
   and re-runs that run in float64 from the float weights (:func:`_lstm_trace`, ~40 lines),
   checking the re-run's output against the kernel's.  This keeps the float kernel free of
   calibration hooks (its fast path stays as it is, and no hook API is needed for one op);
   the price is a second statement of the float LSTM's arithmetic, which the check guards.
   Subgraphs that control-flow ops run (a WHILE's cond and body, an IF's branches, a CALL_ONCE's
   init) are recorded after every run of theirs, every loop iteration included: the quantizer
   wraps the ``invoke`` of each executor the calibration interpreter creates for them
   (:func:`_watch_runs`; the runtime itself is unchanged).  A subgraph with float tensors that
   never ran (an IF branch no sample takes) is refused by name.
2. **Float ops.**  Ops named in ``float_ops`` (by op name, node index or output tensor name),
   and with ``allow_float=True`` every op the chosen mode cannot quantize, stay float32: each
   quantized tensor they read goes through a ``DEQUANTIZE`` and each tensor they write that a
   quantized op reads through a ``QUANTIZE`` (consecutive float ops pass float32 between them),
   as TensorFlow's converter does with its denylist / ``TFLITE_BUILTINS`` fallback.
   Ops that read and write no float32 tensor (integer position arithmetic: ZEROS_LIKE, CUMSUM,
   int32 ADD / SUB, CAST int -> int, SHAPE of an integer tensor, comparisons of token ids) are
   copied unchanged, and integer graph inputs and outputs (token ids) stay as they are.  A CAST
   between integers and float32 always stays (no integer kernel turns a count into a real
   value): int -> float32 is followed by a QUANTIZE of its calibrated output, float32 -> int is
   preceded by a DEQUANTIZE.  NEG and SQUARE, which LiteRT has no integer kernel for, are
   written as MUL (by a constant -1 stored exactly, by the input itself).
3. **Same-scale groups.**  Ops whose integer kernels require the output to carry their input's
   parameters (RESHAPE, pools, CONCATENATION, PAD, TRANSPOSE, slices, ...) join their data
   inputs and output into one group (union-find); a group gets the parameters of the union of
   its members' ranges.  Ops whose output parameters TFLite fixes pin them (int8: SOFTMAX and
   LOGISTIC 1/256, -128; TANH 1/128, 0; int16: all three 1/32768, 0), and a group holding such
   a tensor takes its parameters (int8 also L2_NORMALIZATION 1/128, 0 and LOG_SOFTMAX 16/256,
   127).  An input whose parameters still differ from what its op needs (two pinned tensors
   meeting) gets a requantizing ``QUANTIZE``.  **Control flow** (:func:`_ties`): LiteRT's
   WHILE and IF kernels copy stored values between subgraphs, so a WHILE's loop variable as the
   op's input, the cond's and the body's input, the body's output and the op's output are one
   group, as are an IF's inputs with its branches' inputs and its outputs with its branches'
   outputs, and every value assigned to or read from one resource variable (in any subgraph,
   the CALL_ONCE init included).  Such a group holding a pinned tensor (a LOGISTIC output fed
   back as the state) takes the pinned parameters when they cover the group's range (the value
   the loop starts from included), else parameters over that range, and the pinned tensor gets
   a ``QUANTIZE`` where it crosses (at the end of the body or branch, or before the WHILE).
   Integer loop counters and conditions are copied unchanged.  A GATHER's table is a member of
   its group, so the whole table decides it, not only the rows calibration looked up.  A SELECT / SELECT_V2
   whose constant branch lies far outside the computed one (an attention mask's -1e9) does not
   let the constant take the range: see :func:`_select_range`.
4. **Activation parameters**, per tensor.  int8, asymmetric: the range is widened to include 0,
   ``scale = (max - min) / 255`` and ``zero_point = round(-128 - min / scale)`` clamped to
   [-128, 127], so that real 0 is exactly representable.  int16 (16x8), symmetric as LiteRT's
   int16 kernels require: ``scale = max(|min|, |max|) / 32767``, zero point 0.  A tensor whose
   range is a point gets scale 1, unless it is 0 everywhere and an ADD or SQUARED_DIFFERENCE
   reads it: it then takes the parameters of the op's other input (scale 1 beside a narrow sum
   would ask LiteRT's kernel for an output multiplier above 1, which aborts it).
5. **Weights** (CONV_2D, FULLY_CONNECTED, TRANSPOSE_CONV: ``quantized_dimension`` 0;
   DEPTHWISE_CONV_2D: 3) are int8 symmetric in both modes: ``scale[c] = max|w[c]| / 127``, zero
   point 0, values rounded half away from zero and clamped to [-127, 127]; ``per_channel=False``
   uses one scale for the whole tensor.  A channel of zeros gets the smallest scale of the
   others.  **Biases** are int32 (int8) or int64 (16x8, as LiteRT's 16x8 kernels take them) with
   ``scale[c] = input_scale * weight_scale[c]`` (computed in double from the float32 scales
   stored in the file, as TFLite checks it) and zero point 0.  PRELU's alpha is int8 in both
   modes (asymmetric, over its own values).  Other float constants (an ADD operand, a
   CONCATENATION part) are quantized like activations over their own values.
6. **I/O.**  ``io_dtype`` = the activation type (the default): the model's inputs and outputs
   are int8 / int16 tensors.  ``np.uint8`` (int8 mode): a uint8 input (same scale, zero point
   + 128) feeds a ``QUANTIZE`` to int8, and a ``QUANTIZE`` turns each int8 output into uint8,
   as the converter does with ``inference_input_type=tf.uint8``.  ``np.float32``: ``QUANTIZE``
   after each input and ``DEQUANTIZE`` before each output.  Graph inputs and outputs keep their
   float names; the integer tensors next to them get an ``_int8`` / ``_int16`` suffix (as do the
   quantized twins of tensors a float op writes).
6b. **LSTM** (int8 mode; UNIDIRECTIONAL_SEQUENCE_LSTM and LSTM's full kernel, one step per
   invoke; :meth:`_Writer._lstm`, :func:`_lstm_params`): TFLite's 8x8_16 form,
   as TensorFlow's converter writes an int8 Keras LSTM: int8 input / output / output state (the
   output and the output state one group), int8 symmetric weights with one scale per tensor,
   int16 symmetric peephole weights and layer-norm coefficients, int32 biases (``s_x * s_W``;
   with layer norm ``s_ln / 1024``; projection ``s_hidden * s_Wp``), an int16 cell state with a
   power-of-two scale covering its calibrated range, and the five intermediates the kernel
   reads.  In any subgraph (an LSTM in a WHILE body or an IF branch is calibrated over each
   of its runs).  Refused (or kept float): an activation other than tanh, diagonal recurrent weights,
   peephole with a projection to fewer outputs than cells (LiteRT's integer kernel misindexes
   the peephole there).  16x8 has no LSTM (LiteRT's kernel takes int8 input only);
   BIDIRECTIONAL_SEQUENCE_LSTM and UNIDIRECTIONAL_SEQUENCE_RNN have hybrid kernels only.
7. **Write** every op with its float options (fused activations kept: the kernels clamp in the
   quantized domain; int16 ADD / SUB with ``pot_scale_int16=False``, the general-scale kernel;
   an ADD input whose scale is too wide for LiteRT's kernel to rescale to the output's is
   requantized to the output's parameters, or refused when its calibrated range does not fit
   them: :meth:`_Writer._rescalable`)
   and the op version TFLite gives its integer form, with :class:`numlite.builder.ModelBuilder`.

Limits: the ops in :data:`SUPPORTED_OPS` (int8) / :data:`SUPPORTED_OPS_16X8` (16x8: those with
an int16 kernel in LiteRT); weights must be constant; WHILE / IF / CALL_ONCE and resource
variable ops are quantized with their subgraphs, never kept float (name the ops inside them in
``float_ops``: op names apply in every subgraph, ``(subgraph, node)`` pairs pick one node); an
LSTM's state in a control-flow subgraph is calibrated as the model runs deployed (on LiteRT and
numlite): carried from one WHILE iteration to the next, reset at each eval of the IF / WHILE op
(calibration preserves every tensor to read it, which alone would carry it on); a resource
variable is tied only where its VAR_HANDLE is in the same subgraph as the op that reads or
assigns it.  EXP (version 2 in both
modes) is a lookup table of ``exp`` over the input's calibrated range (int16: both zero points 0,
as LiteRT's prepare requires, which the symmetric 16x8 parameters give).  A model that is already
quantized (integer activations, int8 / float16 weights, a QUANTIZE or DEQUANTIZE op) is refused.
Anything else raises :class:`QuantizationError` naming every offending op and node, and how to
keep it in float.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .builder import ModelBuilder
from .graph import BUILTIN_CODES, Model, Subgraph, Tensor, load_model
from .ops.quant import round_half_away

__all__ = ["MODES", "SUPPORTED_OPS", "SUPPORTED_OPS_16X8", "QuantizationError", "activation_params",
           "already_quantized", "calibrate", "calibrate_subgraphs", "check_sample", "quantize_model"]


class QuantizationError(ValueError):
    """The float model cannot be quantized (an unsupported op, bad calibration data, ...)."""


# op -> version of its int8 form (TFLite's op_version rules for int8 inputs and outputs).  NEG and
# SQUARE have no integer kernel in LiteRT and are written as MUL (by a constant -1, by themselves).
INT8_VERSIONS: dict[str, int] = {
    "CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4, "ADD": 2, "AVERAGE_POOL_2D": 2,
    "MAX_POOL_2D": 2, "CONCATENATION": 2, "RESHAPE": 1, "SOFTMAX": 2, "MEAN": 2, "LOGISTIC": 2, "TANH": 2,
    "SUB": 2, "MUL": 2, "MAXIMUM": 2, "MINIMUM": 2, "RELU": 2, "RELU6": 2, "LEAKY_RELU": 1, "PAD": 2,
    "SQUEEZE": 1, "EXPAND_DIMS": 1, "TRANSPOSE": 2, "SLICE": 2, "STRIDED_SLICE": 2, "RESIZE_BILINEAR": 2,
    "PRELU": 1, "TRANSPOSE_CONV": 3,
    "GATHER": 2, "BATCH_MATMUL": 2, "RSQRT": 2, "SQRT": 2, "SQUARED_DIFFERENCE": 2, "SUM": 2, "DIV": 1,
    "GELU": 2, "SELECT": 2, "SELECT_V2": 1, "HARD_SWISH": 1, "SPLIT": 2, "SPLIT_V": 2, "UNPACK": 2, "PACK": 2,
    "TILE": 3, "L2_NORMALIZATION": 2, "REDUCE_MAX": 2, "REDUCE_MIN": 2, "ELU": 1, "ABS": 2, "LOG": 2,
    "LOG_SOFTMAX": 2, "DEPTH_TO_SPACE": 2, "SPACE_TO_DEPTH": 2, "RESIZE_NEAREST_NEIGHBOR": 2, "GATHER_ND": 1,
    "ARG_MAX": 2, "ARG_MIN": 2, "SHAPE": 1, "NEG": 2, "SQUARE": 2, "EXP": 2,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": 1, "LSTM": 1,
    "FILL": 3, "REVERSE_V2": 3, "DYNAMIC_UPDATE_SLICE": 1, "WHILE": 1, "IF": 1, "CALL_ONCE": 1,
    "VAR_HANDLE": 1, "READ_VARIABLE": 1, "ASSIGN_VARIABLE": 1,
}
# op -> version of its 16x8 form (int16 activations, int8 weights; TFLite's op_version rules).
# Every op here has an int16 kernel in LiteRT (tflite/kernels/*.cc); CONV_2D / DEPTHWISE_CONV_2D /
# FULLY_CONNECTED / TRANSPOSE_CONV take an int64 bias, ADD / SUB run their general-scale int16
# kernel (pot_scale_int16 false), PRELU takes an int8 alpha.  Not here (int8 kernels only):
# SQUARED_DIFFERENCE, HARD_SWISH, L2_NORMALIZATION, ELU, LOG_SOFTMAX, DEPTH_TO_SPACE, SPACE_TO_DEPTH,
# UNIDIRECTIONAL_SEQUENCE_LSTM (TFLite's op versioning names an int16 form, version 5, but LiteRT
# registers versions 1-4 and its kernel's integer path takes int8 input only).
INT16_VERSIONS: dict[str, int] = {
    "CONV_2D": 4, "DEPTHWISE_CONV_2D": 5, "FULLY_CONNECTED": 7, "ADD": 3, "AVERAGE_POOL_2D": 3,
    "MAX_POOL_2D": 3, "CONCATENATION": 3, "RESHAPE": 1, "SOFTMAX": 3, "MEAN": 3, "LOGISTIC": 3, "TANH": 3,
    "SUB": 5, "MUL": 4, "MAXIMUM": 4, "MINIMUM": 4, "RELU": 3, "RELU6": 3, "LEAKY_RELU": 2, "PAD": 3,
    "SQUEEZE": 1, "EXPAND_DIMS": 1, "TRANSPOSE": 5, "SLICE": 4, "STRIDED_SLICE": 2, "RESIZE_BILINEAR": 4,
    "PRELU": 1, "TRANSPOSE_CONV": 3,
    "GATHER": 4, "BATCH_MATMUL": 3, "RSQRT": 3, "SQRT": 2, "SUM": 1, "DIV": 1, "GELU": 1, "SELECT": 1,
    "SELECT_V2": 1, "SPLIT": 4, "SPLIT_V": 1, "UNPACK": 4, "PACK": 3, "TILE": 1, "REDUCE_MAX": 3,
    "REDUCE_MIN": 3, "ABS": 3, "LOG": 2, "RESIZE_NEAREST_NEIGHBOR": 4, "GATHER_ND": 3, "SHAPE": 1, "NEG": 4,
    "SQUARE": 4, "EXP": 2,
    "FILL": 3, "REVERSE_V2": 1, "DYNAMIC_UPDATE_SLICE": 4, "WHILE": 1, "IF": 1, "CALL_ONCE": 1,
    "VAR_HANDLE": 1, "READ_VARIABLE": 1, "ASSIGN_VARIABLE": 1,
}
SUPPORTED_OPS = frozenset(INT8_VERSIONS)
SUPPORTED_OPS_16X8 = frozenset(INT16_VERSIONS)
MODES = ("int8", "int16x8")
# ops written as another op: name -> the op in the file
REWRITTEN = {"NEG": "MUL", "SQUARE": "MUL"}
# ops with a float side kept as they are, between DEQUANTIZE / QUANTIZE, whatever float_ops says:
# CAST converts between integers and real values, which no integer kernel does (TensorFlow's
# converter keeps it too)
BOUNDARY_OPS = frozenset({"CAST"})

# data inputs that must share the output's parameters (others, e.g. RESHAPE's shape, are not): the
# integer kernels copy or compare the stored values (all the op's float outputs join the group)
SAME_SCALE_INPUTS: dict[str, slice] = {
    "RESHAPE": slice(0, 1), "MAX_POOL_2D": slice(0, 1), "AVERAGE_POOL_2D": slice(0, 1),
    "CONCATENATION": slice(0, None), "PAD": slice(0, 1), "SQUEEZE": slice(0, 1), "EXPAND_DIMS": slice(0, 1),
    "TRANSPOSE": slice(0, 1), "SLICE": slice(0, 1), "STRIDED_SLICE": slice(0, 1), "RESIZE_BILINEAR": slice(0, 1),
    "MAXIMUM": slice(0, 2), "MINIMUM": slice(0, 2),
    "GATHER": slice(0, 1), "GATHER_ND": slice(0, 1), "SELECT": slice(1, 3), "SELECT_V2": slice(1, 3),
    "SPLIT": slice(1, 2), "SPLIT_V": slice(0, 1), "UNPACK": slice(0, 1), "PACK": slice(0, None),
    "TILE": slice(0, 1), "REDUCE_MAX": slice(0, 1), "REDUCE_MIN": slice(0, 1), "DEPTH_TO_SPACE": slice(0, 1),
    "SPACE_TO_DEPTH": slice(0, 1), "RESIZE_NEAREST_NEIGHBOR": slice(0, 1),
    "FILL": slice(1, 2), "REVERSE_V2": slice(0, 1), "DYNAMIC_UPDATE_SLICE": slice(0, 2),
}
# ops that run other subgraphs: LiteRT's kernels pass the stored values through unchanged, so the
# tensors on both sides of each boundary share one set of parameters (see _ties); resource
# variables likewise: every value assigned to a variable and every read of it, in any subgraph
CONTROL_FLOW = frozenset({"WHILE", "IF", "CALL_ONCE"})
TIED_OPS = CONTROL_FLOW | {"ASSIGN_VARIABLE", "READ_VARIABLE"}
# ops whose output parameters TFLite fixes: (scale, zero_point), per activation type
FIXED_OUTPUT: dict[str, tuple[float, int]] = {
    "SOFTMAX": (1.0 / 256, -128), "LOGISTIC": (1.0 / 256, -128), "TANH": (1.0 / 128, 0),
    "L2_NORMALIZATION": (1.0 / 128, 0), "LOG_SOFTMAX": (16.0 / 256, 127),
}
FIXED_OUTPUT_16: dict[str, tuple[float, int]] = {
    "SOFTMAX": (1.0 / 32768, 0), "LOGISTIC": (1.0 / 32768, 0), "TANH": (1.0 / 32768, 0),
}
# op -> (input slot, weight slot, bias slot, weights' quantized dimension)
WEIGHT_OPS: dict[str, tuple[int, int, int, int]] = {
    "CONV_2D": (0, 1, 2, 0), "FULLY_CONNECTED": (0, 1, 2, 0), "DEPTHWISE_CONV_2D": (0, 1, 2, 3),
    "TRANSPOSE_CONV": (2, 1, 3, 0),
}
WEIGHT_DIM: dict[str, int] = {k: v[3] for k, v in WEIGHT_OPS.items()}
INPUT, WEIGHTS, BIAS = 0, 1, 2
# constant inputs that are int8 whatever the activation type (op -> slot)
INT8_CONSTANTS: dict[str, int] = {"PRELU": 1}

QMIN, QMAX = -128, 127

# UNIDIRECTIONAL_SEQUENCE_LSTM's and LSTM's input slots (TFLite's 20- or 24-input layout, LSTM's full
# kernel: one step, input [batch, features]) and their integer form
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
LSTM_OPS = frozenset({LSTM, "LSTM"})
LSTM_WX, LSTM_WH, LSTM_PEEP, LSTM_BIAS = (1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11), (12, 13, 14, 15)
LSTM_PW, LSTM_PB, LSTM_H, LSTM_C, LSTM_LN = 16, 17, 18, 19, (20, 21, 22, 23)
LSTM_CONSTS = (*LSTM_WX, *LSTM_WH, *LSTM_PEEP, *LSTM_BIAS, LSTM_PW, LSTM_PB, *LSTM_LN)
LSTM_PEEP_GATE = {0: 0, 1: 1, 3: 2}  # gate -> its peephole slot's position in LSTM_PEEP
ACT_TANH = 4
Q3_12 = 2.0 ** -12  # the gate pre-activations' scale in LiteRT's integer LSTM without layer norm
CELL_EXP_RANGE = (-15, -9)  # cell-state scales 2**e whose tanh LiteRT's integer LSTM computes


@dataclass(frozen=True)
class _Scheme:
    mode: str
    dtype: np.dtype  # activations
    versions: dict[str, int]
    fixed: dict[str, tuple[float, int]]
    bias: type
    suffix: str

    @property
    def supported(self) -> frozenset[str]:
        return frozenset(self.versions)


SCHEMES = {
    "int8": _Scheme("int8", np.dtype(np.int8), INT8_VERSIONS, FIXED_OUTPUT, np.int32, "_int8"),
    "int16x8": _Scheme("int16x8", np.dtype(np.int16), INT16_VERSIONS, FIXED_OUTPUT_16, np.int64, "_int16"),
}


#: the largest magnitude of a range the quantizer takes: LiteRT's integer kernels derive their
#: rescaling factors from the scales in float32 and int32 (an int16 LOGISTIC / TANH casts
#: ``input_scale * 3 * 4096`` to int32, which a range beyond about 5.7e9 overflows; an int8 ADD
#: multiplies its output scale by 2**20 in float32, infinite beyond about 8e34), so a wider range
#: gives parameters the kernels cannot use (numlite's refuse them at prepare, LiteRT aborts or
#: computes garbage)
MAX_MAGNITUDE = float(2**31)
#: the smallest scale written: float32's smallest normal number (a narrower range would give a
#: subnormal scale, or 0 once stored as float32, and a zero scale makes LiteRT's kernels divide by
#: it: an ADD's input multiplier is 0 and its prepare aborts)
MIN_SCALE = float(np.finfo(np.float32).tiny)


def activation_params(lo: float, hi: float, dtype: Any = np.int8) -> tuple[float, int]:
    """(scale, zero_point) for the real range [lo, hi] (step 4 of the module docstring): int8
    asymmetric, or int16 symmetric with zero point 0; the scale is returned as the float32 value
    the file will hold, at least ``MIN_SCALE``.  A range that is not finite, or reaches beyond
    ``MAX_MAGNITUDE``, is a ``QuantizationError``."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise QuantizationError(f"calibration range [{lo}, {hi}] is not finite")
    if max(-lo, hi) > MAX_MAGNITUDE:
        raise QuantizationError(f"calibration range [{lo:.4g}, {hi:.4g}] reaches beyond +-2**31: LiteRT's integer "
                                "kernels cannot rescale values this large (check the calibration data, or keep "
                                "the ops computing them in float)")
    if np.dtype(dtype) == np.int16:
        m = max(-lo, hi)
        return (1.0, 0) if m <= 0.0 else (float(np.float32(max(m / 32767.0, MIN_SCALE))), 0)
    if hi - lo <= 0.0:
        return 1.0, 0
    scale = max((hi - lo) / (QMAX - QMIN), MIN_SCALE)
    zp = QMIN - lo / scale
    zp_int = int(min(max(round_half_away(np.float64(zp)), QMIN), QMAX))
    return float(np.float32(scale)), zp_int


def already_quantized(m: Model) -> str | None:
    """Why ``m`` counts as already quantized (integer or float16 values where a float model has
    float32: quantized activations, int8 / float16 weights, QUANTIZE / DEQUANTIZE ops), or None."""
    for sg in m.subgraphs:
        for op in sg.operators:
            if op.op_name in ("QUANTIZE", "DEQUANTIZE"):
                return f"it has a {op.op_name} op (node {op.index})"
        for t in sg.tensors:
            if t.dtype is np.float16 and t.is_constant:
                return f"constant {t.name!r} is FLOAT16 (float16 weights)"
            if t.dtype in (np.int8, np.uint8, np.int16) and t.quantization is not None and \
                    t.quantization.is_quantized:
                kind = "weights" if t.is_constant else "activations"
                return f"tensor {t.name!r} is quantized {t.type_name} ({kind})"
    return None


def check_sample(k: int, sample: Any, details: Sequence[dict[str, Any]], signatures: Sequence[tuple[int, ...]]
                 ) -> list[np.ndarray]:
    """Calibration sample ``k`` as one array per input, checked against the inputs' ``details``
    (``get_input_details()``) and shape signatures: count, dtype, shape (only the batch axis and
    the axes the model leaves dynamic may differ), finite values.  QuantizationError names the
    sample, the input and what was expected."""
    feeds = [sample] if isinstance(sample, np.ndarray) else list(sample)
    if len(feeds) != len(details):
        raise QuantizationError(f"calibration sample {k} has {len(feeds)} arrays; the model has {len(details)} inputs "
                                f"{[d['name'] for d in details]}")
    out = []
    for j, (d, sig, f) in enumerate(zip(details, signatures, feeds)):
        a = np.asarray(f)
        want = np.dtype(d["dtype"])
        where = f"calibration sample {k}, input {j} ({d['name']!r})"
        if a.dtype != want:
            raise QuantizationError(f"{where}: dtype {a.dtype}, expected {want} (convert with .astype)")
        shape = tuple(int(s) for s in d["shape"])
        ok = a.ndim == len(shape) and all(g == s or n == 0 or sg < 0
                                          for n, (g, s, sg) in enumerate(zip(a.shape, shape, sig)))
        if not ok:
            free = ", ".join("N" if n == 0 or sg < 0 else str(s) for n, (s, sg) in enumerate(zip(shape, sig)))
            raise QuantizationError(f"{where}: shape {list(a.shape)}, expected [{free}]")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise QuantizationError(f"{where} has NaN or infinite values")
        out.append(a)
    return out


def calibrate(float_model: bytes, calibration: Iterable[Any], num_threads: int = 1) -> dict[int, tuple[float, float]]:
    """Run ``float_model`` on numlite over ``calibration`` (an iterable of samples, each a list
    of input arrays in the model's input order, or one array for a one-input model; checked by
    :func:`check_sample`) and return ``{tensor index: (min, max)}`` for every non-constant
    float32 tensor of subgraph 0 (:func:`calibrate_subgraphs` gives every subgraph's)."""
    return {t: r for (s, t), r in _calibrate(float_model, calibration, num_threads)[0].items() if s == 0}


def calibrate_subgraphs(float_model: bytes, calibration: Iterable[Any], num_threads: int = 1
                        ) -> dict[tuple[int, int], tuple[float, float]]:
    """:func:`calibrate` over every subgraph: ``{(subgraph, tensor index): (min, max)}``, the
    ranges of a control-flow subgraph taken over all its runs (every iteration of a WHILE loop,
    every call of a branch)."""
    return _calibrate(float_model, calibration, num_threads)[0]


Key = tuple[int, int]  # (subgraph index, tensor index)
Ranges = dict[Key, tuple[float, float]]
Internal = dict[Key, dict[str, tuple[float, float]]]


def _watch_runs(it: Any, after: Callable[[Any], None], before: Callable[[Any], None] | None = None) -> None:
    """Call ``before(ex)`` and ``after(ex)`` around every run of each executor that interpreter
    ``it``'s runtime creates for a control-flow call (a WHILE's cond and body, an IF's branches,
    a CALL_ONCE's init: every subgraph but 0), by wrapping the runtime's ``executor_for_call``
    and each executor's ``invoke``.  Install it before the first ``allocate_tensors`` (control-
    flow kernels create their executors when prepared).  The wrappers live on ``it`` only and
    only look at the executor's buffers: the runtime computes what it computes without them."""
    rt = it._runtime
    make = rt.executor_for_call
    wrapped: set[int] = set()

    def wrap(ex: Any) -> None:
        if id(ex) in wrapped or ex.subgraph.index == 0:
            return
        wrapped.add(id(ex))
        run = ex.invoke

        def invoke() -> None:
            if before is not None:
                before(ex)
            run()
            after(ex)

        ex.invoke = invoke

    def executor_for_call(index: int) -> Any:
        ex = make(index)
        if ex is not None:
            wrap(ex)
        return ex

    rt.executor_for_call = executor_for_call


class _Recorder:
    """Running min / max of the watched float32 tensors of every subgraph.  Subgraph 0 is read
    after each invoke; every other subgraph right after each run of its executor
    (:func:`_watch_runs`)."""

    def __init__(self, it: Any) -> None:
        self.model = it._model
        self.watch = [[t.index for t in sg.tensors if t.dtype is np.float32 and not t.is_constant]
                      for sg in self.model.subgraphs]
        self.lo = [dict.fromkeys(w, np.inf) for w in self.watch]
        self.hi = [dict.fromkeys(w, -np.inf) for w in self.watch]
        self.runs = [0] * len(self.watch)
        #: tensors declared other than FLOAT32 - of no fixed type (VARIANT, RESOURCE), or an integer,
        #: bool or sub-byte type - that an op may write float values into (numlite's kernels give
        #: an output the type they compute), with their declared type (None: no NumPy type)
        self.untyped = [[(t.index, t.dtype) for t in sg.tensors if t.dtype is not np.float32 and not t.is_constant]
                        for sg in self.model.subgraphs]
        #: declared float32 tensors that the kernels computed as another type (a comparison's
        #: output declared FLOAT32 is BOOL in numlite, as in LiteRT), and ones declared otherwise
        #: that they computed as float (a LOGISTIC into a VARIANT, a CONV_2D into a UINT4 tensor:
        #: the quantizer would copy it as no float value, with its declared type and no
        #: quantization parameters, and quantize the ops reading it as if it held integers):
        #: (subgraph, tensor) -> dtype
        self.mistyped: dict[Key, np.dtype] = {}
        _watch_runs(it, lambda ex: self.record(ex.subgraph.index, ex.buffers))

    def record(self, s: int, buffers: Sequence[np.ndarray | None]) -> None:
        lo, hi = self.lo[s], self.hi[s]
        self.runs[s] += 1
        for i in self.watch[s]:
            v = buffers[i]
            if v is not None and v.dtype != np.float32:
                self.mistyped.setdefault((s, i), v.dtype)
            elif v is not None and v.size:
                lo[i] = min(lo[i], float(v.min()))
                hi[i] = max(hi[i], float(v.max()))
        for i, declared in self.untyped[s]:
            v = buffers[i]
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and (declared is None or v.dtype != declared):
                self.mistyped.setdefault((s, i), v.dtype)

    def ranges(self) -> Ranges:
        sgs = self.model.subgraphs
        if self.mistyped:
            (s, i), dt = next(iter(self.mistyped.items()))
            t = sgs[s].tensors[i]
            raise QuantizationError(f"tensor {t.name!r}" + (f" (subgraph {s})" if s else "")
                                    + f" is declared {t.type_name} but its op computes {np.dtype(dt).name}: the "
                                    "file's tensor types disagree with its ops, and the quantizer goes by them")
        idle = [sg for sg, w, n in zip(sgs, self.watch, self.runs) if w and n == 0]
        if idle:
            names = ", ".join(f"{sg.index} {sg.name!r}" for sg in idle)
            raise QuantizationError(f"subgraph {names} never ran on the calibration data (an IF branch never "
                                    "taken, a WHILE loop that never iterates), so its tensors have no range: "
                                    "give samples that run it")
        bad = [sgs[s].tensors[i].name + (f" (subgraph {s})" if s else "") for s, w in enumerate(self.watch)
               for i in w if not (np.isfinite(self.lo[s][i]) and np.isfinite(self.hi[s][i]))]
        if bad:
            raise QuantizationError(f"calibration produced non-finite values (or empty tensors) in {bad[:5]}")
        return {(s, i): (self.lo[s][i], self.hi[s][i]) for s, w in enumerate(self.watch) for i in w}


def _calibrate(float_model: bytes, calibration: Iterable[Any], num_threads: int = 1, lstm_nodes: Collection[Key] = ()
               ) -> tuple[Ranges, Internal]:
    """:func:`calibrate_subgraphs`, and for each UNIDIRECTIONAL_SEQUENCE_LSTM / LSTM node in
    ``lstm_nodes`` (``(subgraph, node)`` pairs) the ranges of the values inside it that its integer
    form quantizes (``{(subgraph, node): {name: (min, max)}}``, names as :func:`_lstm_trace`
    returns them).  The states an LSTM starts from are read before each run of its subgraph
    (they carry over from the previous run as the model runs deployed: in subgraph 0 from one
    sample to the next; in a WHILE body from one iteration to the next, reset at each eval of
    the WHILE / IF op, as LiteRT and numlite run it without ``experimental_preserve_all_tensors``),
    its input and output after; in subgraph 0 a run
    is an invoke, in another subgraph each run of its executor (:func:`_watch_runs`)."""
    from .interpreter import Interpreter

    it = Interpreter(model_content=float_model, experimental_preserve_all_tensors=True, num_threads=num_threads)
    it._runtime.release_callees = True  # control-flow subgraphs' state as deployed (not preserved)
    rec = _Recorder(it)
    sgs = it._model.subgraphs
    lstms: dict[int, list[Any]] = {}
    for s, k in sorted(lstm_nodes):
        lstms.setdefault(s, []).append(sgs[s].operators[k])
    internal: Internal = {(s, op.index): {} for s, ops in lstms.items() for op in ops}
    sample = [0]
    started: dict[int, list[list[tuple[np.ndarray, np.ndarray]]]] = {}  # executor -> stack of its runs' states

    def states(ex: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.array(ex.buffers[op.inputs[LSTM_H]]), np.array(ex.buffers[op.inputs[LSTM_C]]))
                for op in lstms.get(ex.subgraph.index, ())]

    def before(ex: Any) -> None:
        if ex.subgraph.index in lstms:
            started.setdefault(id(ex), []).append(states(ex))

    def after(ex: Any, h_c: list[tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        s = ex.subgraph.index
        if s not in lstms:
            return
        if h_c is None:
            h_c = started[id(ex)].pop()
        sg = sgs[s]
        for op, (h0, c0) in zip(lstms[s], h_c):
            y = ex.buffers[op.outputs[0]]
            trace = _lstm_trace(sg, op, ex.buffers[op.inputs[0]], h0, c0)
            gap = float(np.max(np.abs(trace.pop("y") - y))) if y.size else 0.0
            if not gap <= 1e-3 * max(1.0, float(np.max(np.abs(y))) if y.size else 1.0):
                node = op.index if s == 0 else (s, op.index)
                raise QuantizationError(f"{_where(sg, op)}: the quantizer's re-run of the float LSTM differs from "
                                        f"numlite's kernel by {gap:.3g} on calibration sample {sample[0]}; keep it "
                                        f"in float32 with float_ops={{{node}}}")
            r = internal[(s, op.index)]
            for name, v in trace.items():
                if v.size:
                    a, b = r.get(name, (np.inf, -np.inf))
                    r[name] = (min(a, float(v.min())), max(b, float(v.max())))

    if any(s for s in lstms):
        _watch_runs(it, after, before)
    ins = it.get_input_details()
    sigs = [tuple(int(s) for s in sgs[0].tensors[d["index"]].shape_signature) for d in ins]
    allocated_for: list[tuple[int, ...]] | None = None
    n = 0
    for k, data in enumerate(calibration):
        sample[0] = k
        feeds = check_sample(k, data, ins, sigs)
        shapes = [f.shape for f in feeds]
        if shapes != allocated_for:
            for d, sh in zip(ins, shapes):
                it.resize_tensor_input(d["index"], list(sh))
            it.allocate_tensors()
            allocated_for = shapes
        for d, f in zip(ins, feeds):
            it.set_tensor(d["index"], f)
        main_states = states(it._main)
        it.invoke()
        rec.record(0, it._main.buffers)
        after(it._main, main_states)
        n += 1
    if n == 0:
        raise QuantizationError("the calibration data set is empty")
    return rec.ranges(), internal


def _lstm_trace(sg: Subgraph, op: Any, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """Re-run one invoke of the float UNIDIRECTIONAL_SEQUENCE_LSTM (or LSTM: one step) ``op`` (float64, from its input
    ``x`` and the states ``h``, ``c`` it started from) and return what its integer form needs
    ranges for: ``cell`` (the cell state after every step), ``hidden`` (``o * tanh(c)``, the
    projection's input), ``gate0``..``gate3`` (with layer norm: each gate's sum of its input,
    recurrent and peephole products, before the norm), and ``y`` (the output, to check the re-run
    against the kernel).  The fused activation is tanh (the only one the integer form has)."""
    ins = list(op.inputs) + [-1] * (24 - len(op.inputs))

    def w(slot: int) -> np.ndarray | None:
        i = ins[slot]
        return None if i < 0 else np.asarray(sg.tensors[i].data, np.float64)

    o = op.options or {}
    one_step = op.op_name == "LSTM"  # [batch, features]: one time step
    tm = bool(o.get("time_major")) or one_step
    xs = np.asarray(x, np.float64)
    xs = xs[None] if one_step else xs if tm else xs.transpose(1, 0, 2)
    wx, wh = [w(k) for k in LSTM_WX], [w(k) for k in LSTM_WH]
    peep, bias, ln = [w(k) for k in LSTM_PEEP], [w(k) for k in LSTM_BIAS], [w(k) for k in LSTM_LN]
    pw, pb = w(LSTM_PW), w(LSTM_PB)
    cell_clip, proj_clip = float(o.get("cell_clip") or 0.0), float(o.get("proj_clip") or 0.0)
    n_batch = xs.shape[1]
    h = np.asarray(h, np.float64).reshape(n_batch, -1)
    c = np.asarray(c, np.float64).reshape(n_batch, -1)
    out: dict[str, list[np.ndarray]] = {"cell": [], "hidden": [], "y": []}

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-v))

    def gate(k: int, xt: np.ndarray, h: np.ndarray, c: np.ndarray) -> np.ndarray:
        a = xt @ wx[k].T + h @ wh[k].T
        p = peep[LSTM_PEEP_GATE[k]] if k in LSTM_PEEP_GATE else None
        if p is not None:
            a = a + p * c
        if ln[k] is not None:
            out.setdefault(f"gate{k}", []).append(a)
            a = (a - a.mean(-1, keepdims=True)) / np.sqrt(a.var(-1, keepdims=True) + 1e-8) * ln[k]
        return a + bias[k] if bias[k] is not None else a

    for xt in xs:
        f = sigmoid(gate(1, xt, h, c))
        i = 1.0 - f if wx[0] is None else sigmoid(gate(0, xt, h, c))
        c = f * c + i * np.tanh(gate(2, xt, h, c))
        if cell_clip > 0:
            c = np.clip(c, -cell_clip, cell_clip)
        hidden = sigmoid(gate(3, xt, h, c)) * np.tanh(c)
        h = hidden
        if pw is not None:
            h = hidden @ pw.T + (pb if pb is not None else 0.0)
            if proj_clip > 0:
                h = np.clip(h, -proj_clip, proj_clip)
        out["cell"].append(c)
        out["hidden"].append(hidden)
        out["y"].append(h)
    res = {k: np.stack(v) for k, v in out.items()}
    if one_step:
        res["y"] = res["y"][0]
    elif not tm:
        res["y"] = res["y"].transpose(1, 0, 2)
    return res


@dataclass(frozen=True)
class _LstmQuant:
    """The parameters of an integer LSTM that are not those of a float tensor of the model."""

    cell_exp: int  # cell state scale 2**cell_exp
    hidden: tuple[float, int]  # intermediate 4 (o * tanh(c), int8)
    gates: tuple[float, float, float, float]  # intermediates 0-3 (int16, zero point 0)


def _lstm_params(sg: Subgraph, op: Any, ranges: Ranges, internal: dict[str, tuple[float, float]],
                 params: dict[int, tuple[float, int]]) -> _LstmQuant:
    """TensorFlow's choices for the 8x8_16 LSTM: the cell state int16 with the power-of-two scale
    that covers its calibrated range (``2**ceil(log2 max|c|) / 32768``, kept within the scales
    whose tanh LiteRT's kernel computes, ``2**-15`` to ``2**-9``: a cell state beyond 64
    saturates); with layer norm the gate sums int16 symmetric over their ranges, otherwise the
    fixed Q3.12 the kernel uses; the hidden value (the projection's input) int8 *symmetric* over
    its range, else the output state's parameters (the kernel then writes it to the state as it
    is).  TensorFlow makes the hidden value asymmetric, but LiteRT's kernel stores it with the
    zero point negated (b/246629213; the projection's bias compensates), so a zero point ``z``
    shifts the representable range by ``-2 z`` steps and clips the values at its top: measured 26
    output steps off the float result with ``z = -25``.  Zero point 0 avoids that."""
    lo, hi = internal.get("cell", (0.0, 0.0))
    c_lo, c_hi = ranges.get(op.inputs[LSTM_C], (lo, hi))
    m = max(-lo, hi, -c_lo, c_hi, 0.0)
    e = CELL_EXP_RANGE[0] if m <= 0 else int(np.ceil(np.log2(m))) - 15
    e = min(max(e, CELL_EXP_RANGE[0]), CELL_EXP_RANGE[1])
    projection = len(op.inputs) > LSTM_PW and op.inputs[LSTM_PW] >= 0
    hidden = params[op.outputs[0]]
    if projection:  # symmetric: LiteRT stores the hidden value with the zero point's sign flipped
        h_lo, h_hi = internal["hidden"]
        hm = max(-h_lo, h_hi, 0.0)
        hidden = (float(np.float32(hm / 127.0)), 0) if hm > 0 else (1.0, 0)
    gates = tuple(activation_params(*internal[f"gate{k}"], np.int16)[0] if f"gate{k}" in internal else Q3_12
                  for k in range(4))
    return _LstmQuant(e, hidden, gates)  # type: ignore[arg-type]


def _lstm_problem(sg: Subgraph, op: Any) -> str | None:
    """Why the float UNIDIRECTIONAL_SEQUENCE_LSTM ``op`` has no integer twin in LiteRT, or None."""
    where = _where(sg, op)
    ins = list(op.inputs) + [-1] * (24 - len(op.inputs))
    o = op.options or {}
    rank = 2 if op.op_name == "LSTM" else 3
    if len(op.inputs) not in (20, 24) or len(sg.tensors[op.inputs[0]].shape) != rank:
        return f"{where}: expects 20 or 24 inputs (the full kernel) and a rank-{rank} input"
    if int(o.get("fused_activation_function") or 0) != ACT_TANH:
        return f"{where}: LiteRT's integer LSTM computes tanh; this one's activation is not TANH"
    if o.get("diagonal_recurrent_tensors") or len(sg.tensors[ins[LSTM_WH[3]]].shape) != 2:
        return f"{where}: diagonal recurrent weights have no integer kernel in LiteRT"
    for k in LSTM_CONSTS:
        t = sg.tensors[ins[k]] if ins[k] >= 0 else None
        if t is not None and (not t.is_constant or t.dtype is not np.float32):
            return f"{where}: input {k} {t.name!r} (weights) must be a float32 constant"
    for k in (LSTM_H, LSTM_C):
        t = sg.tensors[ins[k]] if ins[k] >= 0 else None
        if t is None or not t.is_variable or t.dtype is not np.float32:
            return f"{where}: input {k} (the {'output' if k == LSTM_H else 'cell'} state) must be a float32 variable"
    if ins[LSTM_PEEP[2]] >= 0 and ins[LSTM_PW] >= 0:
        n_cell, n_out = sg.tensors[ins[LSTM_PW]].shape[1], sg.tensors[ins[LSTM_PW]].shape[0]
        if n_out != n_cell:
            return (f"{where}: peephole weights with a projection from {n_cell} cells to {n_out} outputs: LiteRT's "
                    "integer kernel walks the peephole weights by the output size (a result far from the float one)")
    return None


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


def _where(sg: Subgraph, op: Any) -> str:
    """``NAME (node k)``, with the subgraph named when it is not the main one."""
    return f"{op.op_name} (node {op.index}" + (f" of subgraph {sg.index} {sg.name!r})" if sg.index else ")")


def _select_float_ops(m: Model, float_ops: Collection[Any]) -> list[set[int]]:
    """Node indices, per subgraph, named by ``float_ops``: op names (``"SOFTMAX"``, in every
    subgraph), node indices of subgraph 0, ``(subgraph, node)`` pairs, output tensor names."""
    sgs = m.subgraphs
    chosen: list[set[int]] = [set() for _ in sgs]
    tensor_names: dict[str, list[Key]] = {}
    for sg in sgs:
        for op in sg.operators:
            for o in op.outputs:
                if o >= 0:
                    tensor_names.setdefault(sg.tensors[o].name, []).append((sg.index, op.index))
    unknown: list[Any] = []
    for sel in float_ops:
        if isinstance(sel, (int, np.integer)) and not isinstance(sel, bool):
            if 0 <= int(sel) < len(sgs[0].operators):
                chosen[0].add(int(sel))
            else:
                unknown.append(sel)
        elif isinstance(sel, tuple) and len(sel) == 2 and all(isinstance(v, (int, np.integer)) for v in sel):
            s, k = int(sel[0]), int(sel[1])
            if 0 <= s < len(sgs) and 0 <= k < len(sgs[s].operators):
                chosen[s].add(k)
            else:
                unknown.append(sel)
        elif isinstance(sel, str):
            found = [(sg.index, op.index) for sg in sgs for op in sg.operators if op.op_name == sel.upper()]
            found = found or tensor_names.get(sel, [])
            if not found and sel.upper() not in BUILTIN_CODES:
                unknown.append(sel)
            for s, k in found:
                chosen[s].add(k)
        else:
            raise QuantizationError(f"float_ops entries are op names, node indices, (subgraph, node) pairs or output "
                                    f"tensor names, not {type(sel).__name__}")
    if unknown:
        raise QuantizationError(f"float_ops {unknown} match no op name, node index (0..{len(sgs[0].operators) - 1}) or "
                                "op output tensor of the model")
    return chosen


def _check_supported(m: Model, scheme: _Scheme, float_ops: Collection[Any] = (), allow_float: bool = False
                     ) -> list[set[int]]:
    """The nodes of each subgraph that stay float (step 2)."""
    why = already_quantized(m)
    if why:
        raise QuantizationError(f"the model is already quantized: {why}; quantize the float32 model instead")
    for sg in m.subgraphs:  # calibration records what such a tensor held last; the writer keeps its data
        for op in sg.operators:
            for o in op.outputs:
                if o >= 0 and sg.tensors[o].is_constant:
                    raise QuantizationError(f"{_where(sg, op)} writes {sg.tensors[o].name!r}, a tensor with constant "
                                            "data: the quantizer takes constants as the file stores them")
    floats = _select_float_ops(m, float_ops)
    for sg in m.subgraphs:
        for k in sorted(floats[sg.index]):
            op = sg.operators[k]
            if op.op_name in CONTROL_FLOW:
                raise QuantizationError(f"{_where(sg, op)} cannot stay float: the subgraphs it runs are quantized "
                                        "with it; name the ops inside them in float_ops instead")
            if op.op_name in TIED_OPS:
                raise QuantizationError(f"{_where(sg, op)} cannot stay float: a resource variable holds one type "
                                        "in every subgraph, and the others are quantized")
    bad: dict[str, dict[int, list[int]]] = {}
    problems: list[str] = []
    if not any(_touches_float(sg, op) for sg in m.subgraphs for op in sg.operators):
        raise QuantizationError("nothing to quantize: no op of the model reads or writes a float32 tensor")
    for sg in m.subgraphs:
        for op in sg.operators:
            if op.index in floats[sg.index] or not _touches_float(sg, op):
                continue  # kept float by request, or an integer-only op (kept as it is)
            if op.op_name in BOUNDARY_OPS:
                floats[sg.index].add(op.index)
                continue
            reason = None
            if op.op_name not in scheme.supported:
                bad.setdefault(op.op_name, {}).setdefault(sg.index, []).append(op.index)
                reason = "unsupported"
            else:
                reason = _op_problem(sg, op)
                if reason is not None:
                    problems.append(reason)
            if reason is not None and allow_float:
                floats[sg.index].add(op.index)
    if allow_float:
        return floats
    hint = ("; keep them in float32 with float_ops={...} (op names, node indices or output tensor names) or "
            "allow_float=True (numlite quantize --float-ops NAMES / --allow-float)")
    if bad:
        def nodes(per_sg: dict[int, list[int]]) -> str:
            return "; ".join(f"nodes {ks}" + (f" of subgraph {s} {m.subgraphs[s].name!r}" if s else "")
                             for s, ks in sorted(per_sg.items()))

        listed = "; ".join(f"{name} ({nodes(per_sg)})" for name, per_sg in bad.items())
        extra = ""
        if scheme.mode == "int16x8":
            no16 = sorted(n for n in bad if n in SUPPORTED_OPS)
            extra = f" ({no16} have no int16 kernel in LiteRT)" if no16 else ""
        raise QuantizationError(f"cannot quantize {listed} to {scheme.mode}{extra}: the quantizer supports "
                                f"{sorted(scheme.supported)}{hint}")
    if problems:
        raise QuantizationError(f"cannot quantize {problems[0]}" + (f" (and {len(problems) - 1} more)"
                                                                     if len(problems) > 1 else "") + hint)
    return floats


def _check_signatures(m: Model) -> None:
    """Each signature's inputs and outputs must be inputs and outputs of its subgraph: the
    quantized model's signatures name the quantized graph's inputs and outputs."""
    for sig in m.signature_defs:
        sg = m.subgraphs[sig.subgraph_index]
        for what, named, have in (("input", sig.inputs, sg.inputs), ("output", sig.outputs, sg.outputs)):
            for n, i in named.items():
                if i not in have:
                    raise QuantizationError(f"signature {sig.key!r}: its {what} {n!r} is tensor {i}, not an {what} "
                                            f"of subgraph {sig.subgraph_index} (its {what}s: {list(have)})")


def _op_problem(sg: Subgraph, op: Any) -> str | None:
    """Why ``op``, of a supported type, cannot be quantized here (non-constant weights, ...), or None."""
    where = _where(sg, op)
    stored = ([op.inputs[k] for k in WEIGHT_OPS[op.op_name][1:3] if k < len(op.inputs)] if op.op_name in WEIGHT_OPS
              else [op.inputs[k] for k in LSTM_CONSTS if k < len(op.inputs)] if op.op_name in LSTM_OPS else [])
    boundary = {*sg.inputs, *sg.outputs}
    for i in stored:  # stored as int8 weights / int32 biases, without activation parameters
        if i >= 0 and i in boundary and sg.tensors[i].is_constant:
            return f"{where}: its weights or bias {sg.tensors[i].name!r} is also an input or output of the graph"
    if op.op_name in WEIGHT_OPS:
        _, ws, bs, _ = WEIGHT_OPS[op.op_name]
        w = sg.tensors[op.inputs[ws]]
        if not w.is_constant or w.dtype is not np.float32:
            return f"{where}: weights {w.name!r} must be a float32 constant"
        if len(op.inputs) > bs and op.inputs[bs] >= 0 and not sg.tensors[op.inputs[bs]].is_constant:
            return f"{where}: the bias must be a constant"
    if op.op_name in LSTM_OPS:
        return _lstm_problem(sg, op)
    if op.op_name in INT8_CONSTANTS:
        a = op.inputs[INT8_CONSTANTS[op.op_name]]
        if a < 0 or not sg.tensors[a].is_constant:
            return f"{where}: its alpha must be a float32 constant"
    sl = SAME_SCALE_INPUTS.get(op.op_name)
    if sl is not None:  # the values it passes through share one type (and one set of parameters)
        values = [sg.tensors[i] for i in (*op.inputs[sl], *op.outputs) if i >= 0]
        if len({_is_float_value(t) for t in values}) > 1:
            listed = ", ".join(f"{t.name!r} {t.type_name}" for t in values)
            return f"{where}: the values it passes through are of mixed types ({listed})"
    return None


def depthwise_multiplier(input_shape: Any, filter_shape: Any) -> int | None:
    """DEPTHWISE_CONV_2D's multiplier as the float kernels (LiteRT's and numlite's) take it, from
    the shapes (output channels / input channels); None where the shapes do not give one.  The
    quantizers write it into the option, which the int16x8 and hybrid kernels loop over instead:
    a float model whose option disagrees (the float kernels ignore it) quantizes to the same
    computation."""
    try:
        cin, cout = int(input_shape[-1]), int(filter_shape[-1])
    except (TypeError, IndexError, ValueError):
        return None
    return cout // cin if cin > 0 and cout > 0 and cout % cin == 0 else None


def _is_float_value(t: Tensor) -> bool:
    return t.dtype is np.float32


def _touches_float(sg: Subgraph, op: Any) -> bool:
    """Whether ``op`` reads or writes a float32 tensor (an op that does not, such as integer
    position arithmetic or a SHAPE of an integer tensor, is copied unchanged)."""
    return any(i >= 0 and _is_float_value(sg.tensors[i]) for i in (*op.inputs, *op.outputs))


def _ties(m: Model, floats: Sequence[Collection[int]]) -> list[list[Key]]:
    """The float32 tensors that must share one set of parameters because an op passes stored
    values between them unchanged: for WHILE, loop variable ``j`` as the op's input, the cond's
    and the body's input, the body's output and the op's output; for IF, input ``j + 1`` and both
    branches' input ``j``, and output ``j`` with both branches' output ``j``; for a resource
    variable (``container`` / ``shared_name`` of the VAR_HANDLE whose handle an op reads, in the
    same subgraph), every ASSIGN_VARIABLE's value and every READ_VARIABLE's output, in any
    subgraph (a CALL_ONCE's init subgraph assigns the first value)."""
    ties: list[list[Key]] = []
    variables: dict[tuple[str, str], list[Key]] = {}
    for sg in m.subgraphs:
        handles = {op.outputs[0]: (str((op.options or {}).get("container") or ""),
                                   str((op.options or {}).get("shared_name") or ""))
                   for op in sg.operators if op.op_name == "VAR_HANDLE"}
        for op in sg.operators:
            if op.index in floats[sg.index]:
                continue
            o = op.options or {}
            if op.op_name in ("ASSIGN_VARIABLE", "READ_VARIABLE") and op.inputs[0] in handles:
                value = op.inputs[1] if op.op_name == "ASSIGN_VARIABLE" else op.outputs[0]
                variables.setdefault(handles[op.inputs[0]], []).append((sg.index, value))
            elif op.op_name == "WHILE":
                cond = m.subgraphs[int(o.get("cond_subgraph_index") or 0)]
                body = m.subgraphs[int(o.get("body_subgraph_index") or 0)]
                for j, (i, out) in enumerate(zip(op.inputs, op.outputs)):
                    tie = [(sg.index, i), (sg.index, out), (cond.index, cond.inputs[j]), (body.index, body.inputs[j]),
                           (body.index, body.outputs[j])]
                    ties.append(tie)
            elif op.op_name == "IF":
                branches = [m.subgraphs[int(o.get(k) or 0)] for k in ("then_subgraph_index", "else_subgraph_index")]
                for j, i in enumerate(op.inputs[1:]):
                    ties.append([(sg.index, i)] + [(b.index, b.inputs[j]) for b in branches])
                for j, out in enumerate(op.outputs):
                    ties.append([(sg.index, out)] + [(b.index, b.outputs[j]) for b in branches])
    ties.extend(variables.values())
    return [[k for k in tie if k[1] >= 0 and _is_float_value(m.subgraphs[k[0]].tensors[k[1]])] for tie in ties]


def _covers(p: tuple[float, int], lo: float, hi: float, dtype: np.dtype) -> bool:
    """Whether parameters ``p`` represent [lo, hi] (to within one step)."""
    info = np.iinfo(dtype)
    scale, zp = p
    return scale * (info.min - zp) - scale <= lo and hi <= scale * (info.max - zp) + scale


def _model_params(m: Model, ranges: Ranges, scheme: _Scheme | None = None,
                  floats: Sequence[Collection[int]] | None = None) -> tuple[dict[Key, tuple[float, int]],
                                                                            dict[Key, tuple[float, int]]]:
    """Steps 3-4 over every subgraph: (scale, zero_point) of every float tensor that is not a
    weight or bias, and the parameters each tensor tied across a control-flow boundary must be
    passed with (its group's: a tensor an op pins to other parameters is requantized there).

    A group of tied tensors holding a pinned tensor (a LOGISTIC output fed back as a loop
    variable) takes the pinned parameters when they cover the group's calibrated range (the
    values the loop starts from included), and otherwise parameters over that range, the pinned
    tensor then being requantized where it crosses the boundary."""
    scheme = scheme or SCHEMES["int8"]
    floats = floats if floats is not None else [()] * len(m.subgraphs)
    fixed: dict[Key, tuple[float, int]] = {}
    weights: set[Key] = set()
    int8_consts: set[Key] = set()
    value_range: dict[Key, tuple[float, float]] = dict(ranges)
    groups = _Groups()
    rescaling: list[tuple[Key, Key]] = []  # the two inputs of each ADD / SQUARED_DIFFERENCE (step 4)
    for sg in m.subgraphs:
        s = sg.index
        quantized = [op for op in sg.operators if op.index not in floats[s]]
        rescaling += [((s, op.inputs[0]), (s, op.inputs[1])) for op in quantized
                      if op.op_name in ("ADD", "SQUARED_DIFFERENCE") and len(op.inputs) == 2]
        for op in quantized:
            if op.op_name in scheme.fixed:
                fixed[(s, op.outputs[0])] = scheme.fixed[op.op_name]
        w = {op.inputs[k] for op in quantized if op.op_name in WEIGHT_OPS
             for k in WEIGHT_OPS[op.op_name][1:3] if k < len(op.inputs) and op.inputs[k] >= 0}
        w |= {op.inputs[k] for op in quantized if op.op_name in LSTM_OPS for k in LSTM_CONSTS
              if k < len(op.inputs) and op.inputs[k] >= 0}
        weights |= {(s, t) for t in w}
        int8_consts |= {(s, op.inputs[INT8_CONSTANTS[op.op_name]]) for op in quantized if op.op_name in INT8_CONSTANTS}
        for t in sg.tensors:
            if t.is_constant and _is_float_value(t) and t.index not in w and t.data.size:
                value_range[(s, t.index)] = (float(t.data.min()), float(t.data.max()))
        readers: dict[int, list[Any]] = {}
        for op in sg.operators:
            for i in op.inputs:
                readers.setdefault(i, []).append(op)
        for op in quantized:
            if op.op_name in ("SELECT", "SELECT_V2"):
                after = readers.get(op.outputs[0], [])
                gap = None
                if after and all(r.op_name == "SOFTMAX" and r.index not in floats[s] for r in after):
                    step = scheme.fixed["SOFTMAX"][0]
                    gap = float(np.log(2.0 / step)) / max(float((r.options or {}).get("beta", 1.0)) for r in after)
                _select_range(sg, op, value_range, gap)
        for op in quantized:
            if op.op_name in LSTM_OPS:  # the output and the output state are one value (TensorFlow's choice too)
                groups.union((s, op.inputs[LSTM_H]), (s, op.outputs[0]))
            sl = SAME_SCALE_INPUTS.get(op.op_name)
            if sl is None:
                continue
            outs = [o for o in op.outputs if o >= 0 and _is_float_value(sg.tensors[o])]
            for t in [i for i in op.inputs[sl] if i >= 0 and _is_float_value(sg.tensors[i])] + outs[1:]:
                groups.union((s, t), (s, outs[0]))
    tied: set[Key] = set()
    for tie in _ties(m, floats):
        tied |= set(tie)
        for k in tie[1:]:
            groups.union(k, tie[0])
    members: dict[Key, list[Key]] = {}
    for k in value_range:
        if k not in int8_consts:
            members.setdefault(groups.find(k), []).append(k)
    for k in fixed:
        ks = members.setdefault(groups.find(k), [])
        if k not in ks:
            ks.append(k)
    params: dict[Key, tuple[float, int]] = {}
    shared: dict[Key, tuple[float, int]] = {}
    zeros: set[Key] = set()  # groups whose every calibrated value is 0 (step 4)
    for root, ks in members.items():
        pinned = sorted(k for k in ks if k in fixed)
        known = [value_range[k] for k in ks if k in value_range]
        lo = min((r[0] for r in known), default=0.0)
        hi = max((r[1] for r in known), default=0.0)
        if known and lo == hi == 0.0 and not pinned and not tied.intersection(ks):
            zeros.add(root)
        if pinned and (not tied.intersection(ks) or _covers(fixed[pinned[0]], lo, hi, scheme.dtype)):
            p = fixed[pinned[0]]
        else:
            p = _named_params(m, ks, lo, hi, scheme.dtype)
        for k in ks:
            params[k] = fixed.get(k, p)
            if k in tied:
                shared[k] = p
    # A group whose calibrated values are all 0 holds them exactly with any parameters; the
    # scale 1 of a point range would make an ADD or SQUARED_DIFFERENCE reading it rescale by more
    # than LiteRT's kernels allow (their output multiplier must stay below 1: an int16 ADD input
    # scale over 2**14 times the output's aborts), so it takes the parameters of the op's other
    # input, as if it were not there.
    for pair in rescaling:
        for k, other in (pair, pair[::-1]):
            root = groups.find(k)
            if root in zeros and other in params and groups.find(other) not in zeros:
                for member in members[root]:
                    params[member] = params[other]
                zeros.discard(root)
    for k in int8_consts:
        if k in value_range:
            params[k] = _named_params(m, [k], *value_range[k], np.int8)
    return params, shared


def _named_params(m: Model, keys: Sequence[Key], lo: float, hi: float, dtype: Any) -> tuple[float, int]:
    """``activation_params`` of the values of tensors ``keys`` (one group), its error naming them."""
    try:
        return activation_params(lo, hi, dtype)
    except QuantizationError as e:
        names = [repr(m.subgraphs[s].tensors[t].name) + (f" (subgraph {s})" if s else "") for s, t in sorted(keys)[:3]]
        more = f" and {len(keys) - 3} more tied to them" if len(keys) > 3 else ""
        raise QuantizationError(f"tensor {', '.join(names)}{more}: {e}") from None


def _in_subgraph(d: dict[Key, Any], s: int) -> dict[int, Any]:
    return {t: v for (g, t), v in d.items() if g == s}


def _select_range(sg: Subgraph, op: Any, value_range: dict[Key, tuple[float, float]], gap: float | None) -> None:
    """SELECT / SELECT_V2 with a constant branch beyond the computed one's range (an attention
    mask's fill value such as -1e9): one -1e9 would take every step of the 8 bits.  Instead the
    calibrated range of the computed branch, widened toward the constant by ``gap`` (or by its
    own span when ``gap`` is None), decides the group's parameters, and the constant is clamped
    into it; the output's own calibrated range (which holds the fill value) is replaced by the
    result.  A following SOFTMAX needs the masked entries ``gap = ln(2 / output step) / beta``
    below every real score, so that they round to probability 0 (int8: 6.2, int16: 11.1)."""
    data = [(sg.index, i) for i in op.inputs[1:3] if i >= 0 and _is_float_value(sg.tensors[i])]
    consts = [i for i in data if sg.tensors[i[1]].is_constant and i in value_range]
    computed = [i for i in data if not sg.tensors[i[1]].is_constant and i in value_range]
    if not consts or not computed:
        return
    lo = min(value_range[i][0] for i in computed)
    hi = max(value_range[i][1] for i in computed)
    g = max(hi - lo, 0.0) if gap is None else gap
    clo = min(value_range[i][0] for i in consts)
    chi = max(value_range[i][1] for i in consts)
    lo2, hi2 = min(lo, max(clo, lo - g)), max(hi, min(chi, hi + g))
    for i in consts:
        c_lo, c_hi = value_range[i]
        value_range[i] = (min(max(c_lo, lo2), hi2), min(max(c_hi, lo2), hi2))
    value_range[(sg.index, op.outputs[0])] = (lo2, hi2)


def _weight_scales(w: np.ndarray, dim: int, per_channel: bool, floor: Any = None) -> np.ndarray:
    """Symmetric int8 scales of ``w`` (per channel along ``dim``, or one), each at least ``floor``
    (one value, or one per channel) and ``MIN_SCALE``."""
    a = np.abs(w.astype(np.float64))
    if per_channel:
        axes = tuple(k for k in range(w.ndim) if k != dim)
        m = a.max(axis=axes) if axes else a
    else:
        m = np.array([a.max() if a.size else 0.0])
    scales = m / 127.0
    pos = scales[scales > 0]
    scales = np.where(scales > 0, scales, pos.min() if pos.size else 1.0)
    if floor is not None:
        scales = np.maximum(scales, floor)
    return np.maximum(scales, MIN_SCALE).astype(np.float32)  # not 0 once stored as float32


#: the largest accumulator an int16x8 op with an int64 bias may reach: LiteRT's int64
#: ``MultiplyByQuantizedMultiplier`` assumes ``|x| < 2**47`` (it multiplies by a 16-bit multiplier
#: in int64), numlite's kernels sum exactly up to 2**53, and a bias of 2**40 that the output range
#: covers (at most 2**15 steps) leaves the output multiplier at 2**-25 or more (below 2**-31 the
#: kernels' multiplier is 0: the op outputs zeros)
ACC16_LIMIT = 2**40


def _bias_limit(bias: type, per_channel: int) -> float:
    """The largest magnitude a quantized bias of type ``bias`` may take beside ``per_channel``
    int8 weights per output channel: int32's maximum; for int64 (int16x8) what keeps
    ``|bias| + 32768 * 127 * per_channel`` within :data:`ACC16_LIMIT` (at least int32's maximum)."""
    if np.dtype(bias) != np.int64:
        return float(np.iinfo(bias).max)
    return float(max(ACC16_LIMIT - 32768 * 127 * per_channel, np.iinfo(np.int32).max))


def _quantize_weights(w: np.ndarray, dim: int, per_channel: bool, floor: Any = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    scales = _weight_scales(w, dim, per_channel, floor)
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
                   mode: str = "int8", io_dtype: Any = None, per_channel: bool = True, num_threads: int = 1,
                   float_ops: Collection[Any] = (), allow_float: bool = False) -> bytes:
    """The int8 (or 16x8) twin of ``float_model`` (see the module docstring for the algorithm).

    Args:
      float_model: bytes of a float32 .tflite model (control-flow subgraphs are quantized too).
      calibration: samples, each a list of input arrays in the model's input order (or one
        array for a one-input model); min/max are taken over all of them.
      mode: ``"int8"`` (int8 activations and weights) or ``"int16x8"`` (int16 activations with
        zero point 0, int8 weights, int64 biases).
      io_dtype: the type of the model's inputs and outputs: the activation type (default),
        ``np.float32``, or ``np.uint8`` (int8 mode only).
      per_channel: per-output-channel weight scales (TFLite's default) or one scale per tensor.
      num_threads: threads for the calibration runs.
      float_ops: ops to keep in float32 (op names such as ``"SOFTMAX"``, in every subgraph;
        node indices of subgraph 0; ``(subgraph, node)`` pairs; or the names of the ops' output
        tensors), behind DEQUANTIZE / QUANTIZE.
      allow_float: keep every op the mode cannot quantize in float32 instead of refusing it.

    The model's TFLite metadata and associated files (labels...) are carried over.
    """
    if mode not in SCHEMES:
        raise QuantizationError(f"mode must be one of {list(MODES)}, not {mode!r}")
    scheme = SCHEMES[mode]
    io = scheme.dtype if io_dtype is None else np.dtype(io_dtype)
    allowed = [scheme.dtype, np.dtype(np.float32)] + ([np.dtype(np.uint8)] if mode == "int8" else [])
    if io not in allowed:
        raise QuantizationError(f"io_dtype for mode {mode!r} must be one of {[d.name for d in allowed]}, "
                                f"not {io_dtype!r}")
    m = load_model(model_content=float_model)
    _check_signatures(m)
    floats = _check_supported(m, scheme, float_ops, allow_float)
    lstm_nodes = [(g.index, op.index) for g in m.subgraphs for op in g.operators
                  if op.op_name in LSTM_OPS and op.index not in floats[g.index]]
    ranges, internal = _calibrate(float_model, calibration, num_threads=num_threads, lstm_nodes=lstm_nodes)
    all_params, shared = _model_params(m, ranges, scheme, floats)
    params = [_in_subgraph(all_params, g.index) for g in m.subgraphs]
    lstm: list[dict[int, _LstmQuant]] = [{} for _ in m.subgraphs]
    for s, k in lstm_nodes:
        g = m.subgraphs[s]
        lq = lstm[s][k] = _lstm_params(g, g.operators[k], _in_subgraph(ranges, s), internal[(s, k)], params[s])
        params[s][g.operators[k].inputs[LSTM_C]] = (2.0 ** lq.cell_exp, 0)
    kind = "int8" if scheme.mode == "int8" else "16x8"
    mb = ModelBuilder(f"{m.description} ({kind}, numlite.quantize)" if m.description else f"numlite {kind}")
    for g in m.subgraphs[1:]:
        mb.new_subgraph(g.name)
    writers = [_Writer(m, g, params[g.index], io if g.index == 0 else scheme.dtype, per_channel, scheme,
                       floats[g.index], lstm[g.index], mb=mb, shared=_in_subgraph(shared, g.index),
                       ranges=_in_subgraph(ranges, g.index))
               for g in m.subgraphs]
    ends: list[tuple[dict[int, int], dict[int, int]]] = []
    for w in writers:
        mb.use_subgraph(w.sg.index)
        ends.append(w.write_graph())
    for sig in m.signature_defs:
        graph_in, graph_out = ends[sig.subgraph_index]
        mb.signature(sig.key, {n: graph_in[i] for n, i in sig.inputs.items()},
                     {n: graph_out[i] for n, i in sig.outputs.items()}, subgraph=sig.subgraph_index)
    from .metadata import carry_over

    # TFLite metadata (normalization, labels: they describe the float values, as for the
    # converter's quantized models) and the associated files come along
    return carry_over(float_model, mb.build())


def _quantize_version(dtype: np.dtype) -> int:
    return 2 if dtype == np.int16 else 1


def _dequantize_version(dtype: np.dtype) -> int:
    return 3 if dtype == np.int16 else 2


class _Writer:
    """Steps 6-7: emit the integer graph, float ops between DEQUANTIZE and QUANTIZE."""

    def __init__(self, m: Model, sg: Subgraph, params: dict[int, tuple[float, int]], io: np.dtype,
                 per_channel: bool, scheme: _Scheme | None = None, floats: Collection[int] = (),
                 lstm: dict[int, _LstmQuant] | None = None, mb: ModelBuilder | None = None,
                 shared: dict[int, tuple[float, int]] | None = None,
                 ranges: dict[int, tuple[float, float]] | None = None):
        self.scheme = scheme = scheme or SCHEMES["int8"]
        self.ranges = ranges or {}  # calibrated (min, max) of the subgraph's float activations
        self.m, self.sg, self.params, self.io, self.per_channel = m, sg, params, io, per_channel
        self.qdt = scheme.dtype
        kind = "int8" if scheme.mode == "int8" else "16x8"
        self.mb = mb or ModelBuilder(f"{m.description} ({kind}, numlite.quantize)" if m.description
                                     else f"numlite {kind}")
        # tensors tied across a control-flow boundary -> the parameters they cross it with
        self.shared = shared or {}
        self.floats = set(floats)
        self.tmap: dict[int, int] = {}  # float tensor -> its quantized (or int32 constant) twin
        self.fmap: dict[int, int] = {}  # float tensor -> its float32 form (float ops, float I/O)
        self.requant: dict[tuple[int, float, int], int] = {}
        self.io_names = {sg.tensors[i].name for i in (*sg.inputs, *sg.outputs)} if io != self.qdt else set()
        self.float_made = {o for op in sg.operators if op.index in self.floats for o in op.outputs}
        self.int8_consts = {op.inputs[INT8_CONSTANTS[op.op_name]] for op in sg.operators
                            if op.op_name in INT8_CONSTANTS and op.index not in self.floats}
        self.lstm = lstm or {}
        # an integer LSTM's cell state is int16 and its output state int8, whatever the mode
        self.int16_states = {sg.operators[k].inputs[LSTM_C] for k in self.lstm}
        self.int8_consts |= {sg.operators[k].inputs[LSTM_H] for k in self.lstm}

    # -- tensors -------------------------------------------------------------------------
    def _qname(self, t: Tensor) -> str:
        renamed = t.name in self.io_names or t.index in self.float_made or (t.is_constant and t.index in self.fmap)
        return f"{t.name}{self.scheme.suffix}" if renamed else t.name

    def _sig(self, t: Tensor) -> tuple[int, ...] | None:
        return t.shape_signature if t.shape_signature != t.shape else None

    def _qtype(self, i: int) -> np.dtype:
        if i in self.int16_states:
            return np.dtype(np.int16)
        return np.dtype(np.int8) if i in self.int8_consts else self.qdt

    def act(self, i: int) -> int:
        """The quantized tensor standing for float tensor ``i`` (created on first use; a QUANTIZE
        when ``i`` is computed in float)."""
        if i < 0:
            return -1
        if i in self.tmap:
            return self.tmap[i]
        t = self.sg.tensors[i]
        if not _is_float_value(t):  # int32 shapes, axes: copied as they are
            if t.is_constant:
                j = self.mb.const(t.name, np.array(t.data))
            else:
                j = self.mb.tensor(t.name, t.shape, t.dtype, shape_signature=self._sig(t), type_name=t.type_name)
        else:
            dt = self._qtype(i)
            if i not in self.params and t.is_constant:
                # a constant in a weights slot that another op also reads as an activation (a
                # RELU of FULLY_CONNECTED's weights): parameters from its own values
                v = np.asarray(t.data, np.float64)
                lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
                self.params[i] = activation_params(lo, hi, dt)
            scale, zp = self.params[i]
            q = _qdict(scale, zp)
            if t.is_constant:
                j = self.mb.const(self._qname(t), _quantize_values(np.asarray(t.data), scale, zp, dt), quantization=q)
            else:
                j = self.mb.tensor(self._qname(t), t.shape, dt, quantization=q, shape_signature=self._sig(t),
                                   is_variable=t.is_variable)
                if i in self.fmap:
                    self.mb.op("QUANTIZE", [self.fmap[i]], [j], version=_quantize_version(dt))
        self.tmap[i] = j
        return j

    def flt(self, i: int) -> int:
        """The float32 tensor standing for tensor ``i`` (a DEQUANTIZE of its quantized twin when
        a quantized op computes it)."""
        if i < 0:
            return -1
        t = self.sg.tensors[i]
        if not _is_float_value(t):
            return self.act(i)
        if i in self.fmap:
            return self.fmap[i]
        if t.is_variable:  # state an op kept in float reads and writes (an LSTM's): float32 itself
            j = self.fmap[i] = self.mb.tensor(t.name, t.shape, np.float32, shape_signature=self._sig(t),
                                              is_variable=True)
            return j
        if t.is_constant:
            name = f"{t.name}_float" if i in self.tmap else t.name
            j = self.mb.const(name, np.array(t.data, np.float32))
        else:
            q = self.act(i)
            j = self.mb.tensor(f"{t.name}_float", t.shape, np.float32, shape_signature=self._sig(t))
            self.mb.op("DEQUANTIZE", [q], [j], version=_dequantize_version(self._qtype(i)))
        self.fmap[i] = j
        return j

    def requantized(self, i: int, want: tuple[float, int]) -> int:
        """Float tensor ``i`` quantized with parameters ``want`` (a QUANTIZE if they differ)."""
        j = self.act(i)
        if self.params.get(i) == want or i < 0:
            return j
        key = (i, *want)
        if key not in self.requant:
            t = self.sg.tensors[i]
            k = self.mb.tensor(f"{t.name}_requantized", t.shape, self.qdt, quantization=_qdict(*want),
                               shape_signature=self._sig(t))
            self.mb.op("QUANTIZE", [j], [k], version=_quantize_version(self.qdt))
            self.requant[key] = k
        return self.requant[key]

    def weights(self, op_name: str, w_index: int, b_index: int, in_scale: float) -> tuple[int, int]:
        wt = self.sg.tensors[w_index]
        dim = WEIGHT_DIM[op_name]
        w = np.asarray(wt.data)
        b = np.asarray(self.sg.tensors[b_index].data, np.float64).reshape(-1) if b_index >= 0 else None
        floor = None
        bias_max = _bias_limit(self.scheme.bias, w.size // max(int(w.shape[dim]), 1))
        if b is not None and b.size:
            # a bias too large for its integer type at input scale x weight scale would be clipped:
            # the weight scale is raised until it fits (TensorFlow's converter does the same), the
            # weights then a little coarser (they are tiny beside the bias there)
            need = np.abs(b) / (np.float64(np.float32(in_scale)) * bias_max) * (1 + 1e-6)
            floor = need if self.per_channel and need.size == w.shape[dim] else need.max()
        qw, scales = _quantize_weights(w, dim, self.per_channel, floor)
        qdim = dim if self.per_channel else 0
        wi = self.mb.const(wt.name, qw, quantization=_qdict(scales, np.zeros(scales.size, np.int64), qdim))
        bi = -1
        if b is not None:
            bt = self.sg.tensors[b_index]
            bscale = np.float64(np.float32(in_scale)) * scales.astype(np.float64)  # one per channel, or one
            qb = round_half_away(b / bscale)
            qb = np.clip(qb, -bias_max, bias_max).astype(self.scheme.bias)
            bi = self.mb.const(bt.name, qb.reshape(bt.shape),
                               quantization=_qdict(bscale.astype(np.float32), np.zeros(bscale.size, np.int64), 0))
        return wi, bi

    # -- graph ---------------------------------------------------------------------------
    def write_graph(self) -> tuple[dict[int, int], dict[int, int]]:
        """Write this subgraph into the builder's current subgraph; its inputs and outputs
        (float tensor -> written tensor).  A subgraph a control-flow op runs passes each output
        with the parameters it is tied to (a QUANTIZE where the op computing it pinned others)."""
        sg, mb, io = self.sg, self.mb, self.io
        read_quantized = {i for op in sg.operators if op.index not in self.floats for i in op.inputs}
        graph_in: dict[int, int] = {}
        for i in sg.inputs:
            t = sg.tensors[i]
            if not _is_float_value(t):  # integer inputs (token ids, ...) stay as they are
                graph_in[i] = self.tmap[i] = mb.input(t.name, t.shape, t.dtype, shape_signature=self._sig(t),
                                                      type_name=t.type_name)
                continue
            scale, zp = self.params[i]
            if io == self.qdt:
                j = mb.input(t.name, t.shape, self.qdt, quantization=_qdict(scale, zp), shape_signature=self._sig(t))
                self.tmap[i] = j
            elif io == np.float32:
                j = mb.input(t.name, t.shape, np.float32, shape_signature=self._sig(t))
                self.fmap[i] = j
                if i in read_quantized:
                    self.act(i)  # the QUANTIZE right after the input
            else:
                j = mb.input(t.name, t.shape, io.type, quantization=_qdict(scale, zp + 128),
                             shape_signature=self._sig(t))
                mb.op("QUANTIZE", [j], [self.act(i)], version=_quantize_version(self.qdt))
            graph_in[i] = j
        for op in sg.operators:
            if op.index in self.floats or not _touches_float(sg, op):
                self._float_op(op)  # an integer-only op is written as it is
            else:
                self._op(op)
        graph_out: dict[int, int] = {}
        for i in sg.outputs:
            t = sg.tensors[i]
            if sg.index and i in self.shared:
                j = self.requantized(i, self.shared[i])
            elif io == self.qdt or not _is_float_value(t):
                j = self.act(i)
            elif io == np.float32:
                if i in self.fmap and not t.is_constant and (i in self.float_made or i in sg.inputs):
                    j = self.fmap[i]
                else:
                    j = mb.tensor(t.name, t.shape, np.float32, shape_signature=self._sig(t))
                    mb.op("DEQUANTIZE", [self.act(i)], [j], version=_dequantize_version(self.qdt))
            else:
                scale, zp = self.params[i]
                j = mb.tensor(t.name, t.shape, np.uint8, quantization=_qdict(scale, zp + 128),
                              shape_signature=self._sig(t))
                mb.op("QUANTIZE", [self.act(i)], [j], version=_quantize_version(self.qdt))
            mb.output(j)
            graph_out[i] = j
        return graph_in, graph_out

    def _options(self, op: Any) -> dict[str, Any]:
        return {k: v for k, v in (op.options or {}).items() if v is not None}

    def _float_op(self, op: Any) -> None:
        inputs = [self.flt(i) for i in op.inputs]
        outputs = []
        for o in op.outputs:
            t = self.sg.tensors[o]
            if _is_float_value(t):
                j = self.mb.tensor(t.name, t.shape, np.float32, shape_signature=self._sig(t))
                self.fmap[o] = j
            else:
                j = self.act(o)
            outputs.append(j)
        if op.custom_code is not None:
            opts = bytes(op.custom_options) if op.custom_options is not None else None
            self.mb.op(f"custom:{op.custom_code}", inputs, outputs, version=op.version, custom_options=opts)
        else:
            # the file's own options table (some ops' table names do not follow from the op's name:
            # BIDIRECTIONAL_SEQUENCE_LSTM's, UNIDIRECTIONAL_SEQUENCE_RNN's)
            self.mb.op(op.op_name, inputs, outputs, version=op.version, options_table=op.options_type,
                       **self._options(op))

    def _op(self, op: Any) -> None:
        sg = self.sg
        name = op.op_name
        opts = self._options(op)
        out = op.outputs[0] if op.outputs else -1  # ASSIGN_VARIABLE has none
        out_q = self.params.get(out)  # None for an integer output (ARG_MAX, SHAPE)
        version = max(self.scheme.versions[name], op.version)
        if name == "RESIZE_NEAREST_NEIGHBOR" and self.qdt == np.int8 and \
                (opts.get("align_corners") or opts.get("half_pixel_centers")):
            version = max(version, 3)
        if name in LSTM_OPS:
            self._lstm(op, version, opts)
            return
        if name in TIED_OPS:  # values cross into callees / variables with the parameters they are tied to
            first = {"IF": 1, "ASSIGN_VARIABLE": 1, "READ_VARIABLE": 1}.get(name, 0)
            inputs = [self.requantized(i, self.shared[i]) if k >= first and i in self.shared else self.act(i)
                      for k, i in enumerate(op.inputs)]
            self.mb.op(name, inputs, [self.act(o) for o in op.outputs], version=op.version,
                       options_table=op.options_type, **opts)
            return
        if name in WEIGHT_OPS:
            xs, ws, bs, _ = WEIGHT_OPS[name]
            x = op.inputs[xs]
            b = op.inputs[bs] if len(op.inputs) > bs else -1
            wi, bi = self.weights(name, op.inputs[ws], b, self.params[x][0])
            inputs = [wi if k == ws else bi if k == bs else self.act(i) for k, i in enumerate(op.inputs)]
            if name == "FULLY_CONNECTED" and self.qdt == np.int8:
                if len(op.inputs) <= bs:
                    version = max(version, 6)  # two inputs (no bias slot)
                elif opts.get("keep_num_dims"):
                    version = max(version, 5)
            if name == "TRANSPOSE_CONV" and opts.get("fused_activation_function") not in (None, 0, "NONE"):
                version = max(version, 4)
            if name == "DEPTHWISE_CONV_2D":
                multiplier = depthwise_multiplier(sg.tensors[x].shape, sg.tensors[op.inputs[ws]].shape)
                if multiplier is not None:
                    opts["depth_multiplier"] = multiplier
        elif name in SAME_SCALE_INPUTS:
            sl = SAME_SCALE_INPUTS[name]
            idx = range(len(op.inputs))[sl]
            inputs = [self.requantized(i, out_q) if k in idx and i >= 0 and _is_float_value(sg.tensors[i])
                      else self.act(i) for k, i in enumerate(op.inputs)]
        elif name == "NEG":  # x * -1 (LiteRT's integer NEG negates the stored values, zero point and all)
            x = sg.tensors[op.inputs[0]]
            p = activation_params(-1.0, 0.0, self.qdt)  # -1 exactly: int8 (1/255, 127) -> -128, int16 -> -32767
            neg_one = self.mb.const(f"{x.name}_neg_one", _quantize_values(np.array([-1.0]), *p, self.qdt),
                                    quantization=_qdict(*p))
            inputs = [self.act(op.inputs[0]), neg_one]
            opts = {"fused_activation_function": "NONE"}
        elif name == "SQUARE":  # x * x
            inputs = [self.act(op.inputs[0])] * 2
            opts = {"fused_activation_function": "NONE"}
        else:
            inputs = [self.act(i) for i in op.inputs]
        if name == "ADD" and out_q is not None and len(op.inputs) == 2:
            inputs = self._rescalable(op, inputs, out_q)
        name = REWRITTEN.get(name, name)
        if name in ("ADD", "SUB") and self.qdt == np.int16:
            opts["pot_scale_int16"] = False  # the general-scale int16 kernel (scales need not be powers of 2)
        outputs = [self.act(o) for o in op.outputs]
        self.mb.op(name, inputs, outputs, version=version, **opts)

    def _rescalable(self, op: Any, inputs: list[int], out_q: tuple[float, int]) -> list[int]:
        """``inputs`` of ADD ``op`` such that LiteRT's integer ADD can rescale them: it brings both
        to twice the larger input scale, then to the output's, a multiplier that must stay below
        1 (prepare aborts otherwise), so no input scale may reach ``2**(left_shift - 1)`` times the
        output's (2**14 for int16, 2**19 for int8).  An input that does (a tensor pinned to fixed
        parameters, such as TANH's, meeting a sum of a much narrower calibrated range) is
        requantized to the output's parameters when its calibrated range fits them; otherwise
        the op cannot be written, and the error says so."""
        limit = out_q[0] * 2.0 ** (14 if self.qdt == np.int16 else 19)
        out = list(inputs)
        for k, i in enumerate(op.inputs[:2]):
            p = self.params.get(i)
            if i < 0 or p is None or p[0] < limit:
                continue
            t = self.sg.tensors[i]
            if t.is_constant:
                v = np.asarray(t.data, np.float64)
                lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
            else:
                lo, hi = self.ranges.get(i, (0.0, 0.0))
            if not _covers(out_q, lo, hi, self.qdt):
                raise QuantizationError(
                    f"{_where(self.sg, op)}: input {t.name!r} has scale {p[0]:.4g}, at least "
                    f"2**{14 if self.qdt == np.int16 else 19} times the output's {out_q[0]:.4g}, and its calibrated "
                    f"range [{lo:.4g}, {hi:.4g}] does not fit the output's parameters: LiteRT's integer ADD cannot "
                    f"rescale it; calibrate on representative data, or keep the op in float (float_ops)")
            out[k] = self.requantized(i, out_q)
        return out

    def _lstm(self, op: Any, version: int, opts: dict[str, Any]) -> None:
        """The 8x8_16 UNIDIRECTIONAL_SEQUENCE_LSTM (TensorFlow's int8 form): int8 input, output and
        output state; int8 symmetric weights with one scale per tensor (input, recurrent,
        projection), int16 symmetric peephole weights and layer-norm coefficients; int32 gate
        biases at ``s_x * s_W`` (with layer norm: ``s_ln / 1024``, the norm's bias) and a
        projection bias at ``s_hidden * s_Wp``; the int16 cell state and five intermediates from
        :class:`_LstmQuant`."""
        sg, mb, lq = self.sg, self.mb, self.lstm[op.index]
        ins = list(op.inputs)
        new = list(ins)
        new[0] = self.act(ins[0])
        sx = self.params[ins[0]][0]
        scales: dict[int, float] = {}

        def sym(slot: int, dtype: Any) -> None:
            t = sg.tensors[ins[slot]]
            v = np.asarray(t.data, np.float64)
            qmax = np.iinfo(dtype).max
            m = float(np.abs(v).max()) if v.size else 0.0
            s = float(np.float32(m / qmax)) if m > 0 else 1.0
            q = np.clip(round_half_away(v / np.float64(s)), -qmax, qmax).astype(dtype)
            new[slot], scales[slot] = mb.const(t.name, q, quantization=_qdict(s, 0)), s

        def bias(slot: int, scale: float) -> None:
            t = sg.tensors[ins[slot]]
            q = round_half_away(np.asarray(t.data, np.float64) / scale)
            info = np.iinfo(np.int32)
            new[slot] = mb.const(t.name, np.clip(q, info.min, info.max).astype(np.int32),
                                 quantization=_qdict(np.float32(scale), 0))

        present = [k for k in range(len(ins)) if ins[k] >= 0]
        for k in present:
            if k in (*LSTM_WX, *LSTM_WH, LSTM_PW):
                sym(k, np.int8)
            elif k in (*LSTM_PEEP, *LSTM_LN):
                sym(k, np.int16)
        layer_norm = any(k in present for k in LSTM_LN)
        f32 = np.float64  # products of the float32 scales stored in the file, in double
        for g, k in enumerate(LSTM_BIAS):
            if k in present:
                bias(k, f32(np.float32(scales[LSTM_LN[g]])) / 1024 if layer_norm
                     else f32(np.float32(sx)) * f32(np.float32(scales[LSTM_WX[g]])))
        if LSTM_PB in present:
            bias(LSTM_PB, f32(np.float32(lq.hidden[0])) * f32(np.float32(scales[LSTM_PW])))
        new[LSTM_H], new[LSTM_C] = self.act(ins[LSTM_H]), self.act(ins[LSTM_C])
        name = sg.tensors[op.outputs[0]].name
        inter = [mb.tensor(f"{name}/{gate}_gate_intermediate", (), np.int16, quantization=_qdict(s, 0))
                 for gate, s in zip(("input", "forget", "cell", "output"), lq.gates)]
        inter.append(mb.tensor(f"{name}/hidden_intermediate", (), np.int8, quantization=_qdict(*lq.hidden)))
        mb.op(op.op_name, new, [self.act(op.outputs[0])], version=version, intermediates=inter,
              options_table=op.options_type, **opts)
