"""Recurrent TFLite ops -> ONNX's ``LSTM`` (registered into ``onnx_graph.CONVERTERS`` / ``OWN_CHECKS``).

UNIDIRECTIONAL_SEQUENCE_LSTM, BIDIRECTIONAL_SEQUENCE_LSTM and LSTM (one step) in float32 become
one ONNX ``LSTM`` node each (two for a bidirectional LSTM whose backward direction reads the
auxiliary input), between the few Transposes / Reshapes that lay TFLite's tensors out as ONNX
wants them:

1. Weights.  TFLite's gate slots are input, forget, cell, output (``numlite.ops._lstm.DirSpec``);
   ONNX's ``W`` ``[D, 4H, K]``, ``R`` ``[D, 4H, H]`` and ``B`` ``[D, 8H]`` (``Wb`` then ``Rb``) are
   in the order i, o, f, c and the peepholes ``P`` ``[D, 3H]`` in the order i, o, f.  TFLite's
   gate bias becomes ``Wb``; ``Rb`` is zero.  Both multiply as ``x @ W_g^T`` / ``h @ R_g^T``.
   The peepholes read the old cell state for i and f and the new one for o, in both.
2. CIFG (no input gate; TFLite's ``i = 1 - f``): the input gate is given the forget gate's
   weights, bias and peephole negated, since ``1 - sigmoid(z) = sigmoid(-z)`` (exact in reals; in
   float32 ``sigmoid(-z)`` is if anything the more accurate form).
3. Activations: the fused activation is the cell gate's and the cell output's (ONNX's ``g`` and
   ``h``): TANH -> Tanh, RELU -> Relu; the gates' ``f`` is Sigmoid.  NONE does not map (LiteRT
   then multiplies the output gate with the cell *gate*, not the cell state), nor do RELU6,
   RELU_N1_TO_1, SIGN_BIT (no ONNX LSTM activation is a clamp).
4. Layout: ONNX Runtime's LSTM supports ``layout`` 0 only (time-major ``[T, B, K]``; it refuses
   ``layout=1``), so a batch-major input is transposed in and ``Y`` transposed out.  ``Y``
   ``[T, D, B, H]`` is squeezed (unidirectional), split (bidirectional, separate outputs) or
   reshaped to ``[T, B, 2H]`` forward features first (``merge_outputs``).  LSTM (one step): the
   ``[B, K]`` input is one time step.
5. Bidirectional: one ``direction="bidirectional"`` node; with aux weights the aux input is
   concatenated to the input along the features and its weights to ``W`` (a direction without
   aux weights gets zero columns, which add exactly 0); without aux weights the aux input is the
   backward direction's input (as LiteRT), which takes a ``forward`` and a ``reverse`` node.
6. Recurrent state.  The output and cell states are variable tensors TFLite reads at the start
   and overwrites with the last step's values.  Delegate: the variables are ordinary partition
   inputs (``initial_h`` / ``initial_c``, reshaped to ``[D, B, H]``) and ``Y_h`` / ``Y_c``,
   reshaped back, go to ``OnnxBuilder.state_updates``, which the delegate copies into the
   variables after each run.  A later node of the same partition that reads the same variable
   gets the updated value.
7. ``numlite export`` (whole-model ONNX: variables are no graph inputs): the initial states are
   a fresh interpreter's (the variable's initial data, else zeros: the inputs are then simply
   omitted, which ONNX defines as zeros and keeps a dynamic batch free), so the exported graph
   computes one invoke after ``reset_all_variables``; the final states are not graph outputs.
   The converter tells the two apart by ``OnnxBuilder.external`` (True only in the delegate,
   which declares its large initializers external; ``export`` embeds every initializer).

Not mapped (stay on numlite's kernels): hybrid (int8 weights, ``asymmetric_quantize_inputs``)
and full-integer forms; ``cell_clip`` or ``proj_clip`` != 0 (ONNX's ``clip`` clamps the gates'
pre-activations, not the cell state); projection (the recurrence would need the projected state,
which ONNX's LSTM cannot take) and layer normalization (ONNX's LSTM has neither); diagonal
(1-D) recurrent weights (version 4); non-constant, sparse or non-float32 weights; empty sizes;
the activations of 3.

Accuracy: ONNX Runtime sums the products in its own order (MLAS) and uses its own sigmoid /
tanh; as with LiteRT (``numlite.ops._lstm``, step 5) the gates keep those float32 rounding
differences from growing along the sequence in well-conditioned LSTMs (tests: <= 6e-7 absolute).
A large LSTM with strong random recurrent weights can be chaotic over many invokes; there numlite's
own kernel and LiteRT drift apart just as far (``benchmarks/bench_sequence.py``'s ``lstm512x20``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ..graph import Operator, Subgraph, Tensor
from ..ops._lstm import DirSpec
from ..ops.bidirectional_sequence_lstm import AUX_INPUT, BW, FW
from ..ops.unidirectional_sequence_lstm import INPUT, SPEC
from .onnx_graph import CONVERTERS, F32, OWN_CHECKS, OnnxBuilder, constants, name

ACT_RELU, ACT_TANH = 1, 4
ACTIVATIONS = {ACT_RELU: "Relu", ACT_TANH: "Tanh"}
G_I, G_F, G_C, G_O = range(4)  # TFLite's gate slots
ONNX_GATES = (G_I, G_O, G_F, G_C)  # ONNX's W / R / B order



@dataclass
class _State:
    """A state variable's latest value in the graph being built: direction ``d`` of ``y``
    (``Y_h`` / ``Y_c``, ``[D, B, H]``) of ``n_dirs``; ``value``: its name in the variable's
    shape (export: made when first read)."""

    y: str
    d: int
    n_dirs: int
    value: str | None = None


#: per builder: variable tensor -> its latest value (no reference back to the builder, the weak key)
_STATES: weakref.WeakKeyDictionary[OnnxBuilder, dict[int, _State]] = weakref.WeakKeyDictionary()


def _exporting(b: OnnxBuilder) -> bool:
    """``numlite export`` (variables are not graph inputs) rather than the delegate; see 7."""
    return not b.external


def _slot(op: Operator, i: int | None) -> int:
    return op.inputs[i] if i is not None and 0 <= i < len(op.inputs) else -1


def _opt(op: Operator, key: str, default: float = 0.0) -> float:
    return float(op.options.get(key) or default) if op.options is not None else default


# -- support check ----------------------------------------------------------------------------------
def _float(ten: Tensor) -> bool:
    return ten.dtype is not None and np.dtype(ten.dtype) == F32 and not ten.quantization.is_quantized


def _options_ok(op: Operator) -> bool:
    if op.options is None:
        return False
    act = int(op.options.get("fused_activation_function") or 0)
    return act in ACTIVATIONS and _opt(op, "cell_clip") == 0.0 and _opt(op, "proj_clip") == 0.0


def _direction_ok(op: Operator, sg: Subgraph, sp: DirSpec, n_input: int, n_batch: int, n_aux: int) -> int | None:
    """The cell count of one direction if it maps (float32 constant weights, no projection,
    layer norm or diagonal weights, float32 variable states of the right size), else None."""
    known = constants(sg)
    tensors = sg.tensors
    cifg = _slot(op, sp.wx[G_I]) < 0
    gates = (G_F, G_C, G_O) if cifg else (G_I, G_F, G_C, G_O)
    if cifg and (_slot(op, sp.wh[G_I]) >= 0 or _slot(op, sp.bias[G_I]) >= 0):
        return None
    if _slot(op, sp.proj_w) >= 0 or _slot(op, sp.proj_b) >= 0:
        return None
    if sp.ln is not None and any(_slot(op, i) >= 0 for i in sp.ln):
        return None
    peeps = [_slot(op, sp.peep[k]) for k in ((1, 2) if cifg else (0, 1, 2))]
    if any(p < 0 for p in peeps) and any(p >= 0 for p in peeps):
        return None
    wo = _slot(op, sp.wx[G_O])
    if wo < 0 or len(tensors[wo].shape) != 2:
        return None
    n_cell = int(tensors[wo].shape[0])
    want: list[tuple[int, tuple[int, ...]]] = []
    for g in gates:
        want += [(_slot(op, sp.wx[g]), (n_cell, n_input)), (_slot(op, sp.wh[g]), (n_cell, n_cell)),
                 (_slot(op, sp.bias[g]), (n_cell,))]
    want += [(p, (n_cell,)) for p in peeps if p >= 0]
    if sp.aux_w is not None and n_aux and _slot(op, sp.aux_w[G_F]) >= 0:
        want += [(_slot(op, sp.aux_w[g]), (n_cell, n_aux)) for g in gates]
    for t, shape in want:
        if t < 0 or t not in known:
            return None
        ten = tensors[t]
        if not _float(ten) or ten.sparsity is not None or tuple(ten.shape) != shape:
            return None
    for t in (_slot(op, sp.h), _slot(op, sp.c)):
        if t < 0 or not tensors[t].is_variable or not _float(tensors[t]):
            return None
        if int(np.prod(tensors[t].shape, dtype=np.int64)) != n_batch * n_cell:
            return None
    return n_cell if n_cell > 0 else None


def _io_ok(op: Operator, sg: Subgraph, rank: int) -> tuple[int, int, int] | None:
    """(steps, batch, features) of the input if the input and outputs are float32, else None."""
    x = sg.tensors[op.inputs[INPUT]]
    if not _float(x) or len(x.shape) != rank or not all(_float(sg.tensors[t]) for t in op.outputs):
        return None
    if rank == 2:
        steps, (batch, k) = 1, x.shape
    else:
        time_major = bool(op.options.get("time_major"))
        steps, batch, k = (x.shape if time_major else (x.shape[1], x.shape[0], x.shape[2]))
    return (int(steps), int(batch), int(k)) if steps > 0 and batch > 0 and k > 0 else None


def _check_uni(op: Operator, sg: Subgraph) -> bool:
    rank = 2 if op.op_name == "LSTM" else 3
    if len(op.inputs) not in (20, 24) or len(op.outputs) != 1 or not _options_ok(op):
        return False
    if op.op_name == "LSTM" and int(op.options.get("kernel_type") or 0) != 0:
        return False
    io = _io_ok(op, sg, rank)
    return io is not None and _direction_ok(op, sg, SPEC, io[2], io[1], 0) is not None


def _check_bidi(op: Operator, sg: Subgraph) -> bool:
    if len(op.inputs) != 48 or not _options_ok(op):
        return False
    if len(op.outputs) != (1 if op.options.get("merge_outputs") else 2):
        return False
    io = _io_ok(op, sg, 3)
    if io is None:
        return False
    _, batch, k = io
    aux = _slot(op, AUX_INPUT)
    n_aux = 0
    if aux >= 0:
        a, x = sg.tensors[aux], sg.tensors[op.inputs[INPUT]]
        if not _float(a) or len(a.shape) != 3 or tuple(a.shape[:2]) != tuple(x.shape[:2]) or a.shape[2] <= 0:
            return False
        n_aux = int(a.shape[2])
        if _slot(op, FW.aux_w[G_F]) < 0 and (n_aux != k or _slot(op, BW.aux_w[G_F]) >= 0):
            return False  # the backward direction reads the aux input (and ignores its aux weights)
    elif any(_slot(op, i) >= 0 for i in (*FW.aux_w, *BW.aux_w)):
        return False
    nf = _direction_ok(op, sg, FW, k, batch, n_aux)
    nb = _direction_ok(op, sg, BW, k, batch, n_aux)
    return nf is not None and nf == nb


# -- conversion -------------------------------------------------------------------------------------
@dataclass
class _Dir:
    """One direction's ONNX weights (``W`` ``[4H, K]``, ``R`` ``[4H, H]``, ``B`` ``[8H]``, ``P``
    ``[3H]`` or None) and its state variables."""

    w: np.ndarray
    r: np.ndarray
    bias: np.ndarray
    p: np.ndarray | None
    h: int
    c: int


def _direction(b: OnnxBuilder, op: Operator, sp: DirSpec, n_aux: int) -> _Dir:
    """Steps 1, 2 and 5 of the module docstring: TFLite's per-gate tensors in ONNX's order."""
    def val(i: int) -> np.ndarray:
        return np.asarray(b.value(_slot(op, i)), np.float32)

    cifg = _slot(op, sp.wx[G_I]) < 0
    n_cell = val(sp.wx[G_O]).shape[0]
    has_aux = n_aux > 0 and sp.aux_w is not None and _slot(op, sp.aux_w[G_F]) >= 0

    def gate(g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if cifg and g == G_I:  # i = 1 - sigmoid(z_f) = sigmoid(-z_f)
            w, r, bias = gate(G_F)
            return -w, -r, -bias
        w = val(sp.wx[g])
        if n_aux:
            aux = val(sp.aux_w[g]) if has_aux else np.zeros((n_cell, n_aux), np.float32)
            w = np.concatenate([w, aux], axis=1)
        return w, val(sp.wh[g]), val(sp.bias[g]).reshape(-1)

    ws, rs, bs = zip(*(gate(g) for g in ONNX_GATES))
    bias = np.concatenate([*bs, np.zeros(4 * n_cell, np.float32)])
    p = None
    if _slot(op, sp.peep[2]) >= 0:
        pf, po = val(sp.peep[1]).reshape(-1), val(sp.peep[2]).reshape(-1)
        pi = -pf if cifg else val(sp.peep[0]).reshape(-1)
        p = np.concatenate([pi, po, pf])
    return _Dir(np.concatenate(ws), np.concatenate(rs), bias, p, _slot(op, sp.h), _slot(op, sp.c))


def _read_state(b: OnnxBuilder, t: int, n_batch: int, n_cell: int) -> str | None:
    """The variable ``t``'s value at this node as ``[1, B, H]``, or None (export: zeros)."""
    latest = _STATES.get(b, {}).get(t)
    if latest is not None:
        if latest.value is None:
            latest.value = _state_value(b, t, latest)
        src = latest.value
    elif not _exporting(b):
        src = name(t)  # a partition input (``b.tensor`` would embed a variable's initial data)
    elif b.sg.tensors[t].data is not None:
        src = b.const(np.asarray(b.sg.tensors[t].data, np.float32))
    else:
        return None
    return b.node("Reshape", [src, b.const(np.array([1, n_batch, n_cell], np.int64))])


def _state_value(b: OnnxBuilder, t: int, st: _State) -> str:
    """``st``'s direction of ``Y_h`` / ``Y_c`` in the shape of variable ``t``."""
    y, d = st.y, st.d
    if st.n_dirs > 1:
        y = b.node("Slice", [y, b.const(np.array([d], np.int64)), b.const(np.array([d + 1], np.int64)),
                             b.const(np.array([0], np.int64))])
    return b.node("Reshape", [y, b.const(np.array(b.shapes[t], np.int64))])


def _write_state(b: OnnxBuilder, t: int, y: str, d: int, n_dirs: int) -> None:
    """Direction ``d`` of ``y`` is variable ``t``'s new value: a state update (delegate) or, in
    export, a value made only if a later node reads the variable."""
    st = _STATES.setdefault(b, {})[t] = _State(y, d, n_dirs)
    if _exporting(b):
        return
    st.value = _state_value(b, t, st)
    b.state_updates[:] = [(v, n) for v, n in b.state_updates if v != t]
    b.state_updates.append((t, st.value))


def _lstm_node(b: OnnxBuilder, x: str, dirs: list[_Dir], direction: str, act: int, n_batch: int) -> str:
    """One ONNX LSTM node over the time-major ``x``; returns ``Y`` (``[T, D, B, H]``)."""
    n_cell = dirs[0].r.shape[1]
    inputs = [x, b.const(np.stack([d.w for d in dirs]), "W"), b.const(np.stack([d.r for d in dirs]), "R"),
              b.const(np.stack([d.bias for d in dirs]), "B"), ""]
    for which in ("h", "c"):
        parts = [_read_state(b, getattr(d, which), n_batch, n_cell) for d in dirs]
        if all(p is None for p in parts):
            inputs.append("")
            continue
        parts = [p if p is not None else b.const(np.zeros((1, n_batch, n_cell), np.float32)) for p in parts]
        inputs.append(parts[0] if len(parts) == 1 else b.node("Concat", parts, axis=0))
    if dirs[0].p is not None:
        inputs.append(b.const(np.stack([d.p for d in dirs]), "P"))
    y, yh, yc = b.fresh("lstm_Y"), b.fresh("lstm_Y_h"), b.fresh("lstm_Y_c")
    g = ACTIVATIONS[act]
    b.node("LSTM", inputs, [y, yh, yc], hidden_size=int(n_cell), direction=direction,
           activations=["Sigmoid", g, g] * len(dirs))
    for k, d in enumerate(dirs):
        _write_state(b, d.h, yh, k, len(dirs))
        _write_state(b, d.c, yc, k, len(dirs))
    return y


def _time_major(b: OnnxBuilder, t: int, time_major: bool) -> str:
    x = b.tensor(t)
    return x if time_major else b.node("Transpose", [x], perm=[1, 0, 2])


def _squeeze(b: OnnxBuilder, y: str, out: int, time_major: bool) -> None:
    """``[T, 1, B, H]`` -> output ``out`` (``[T, B, H]`` or ``[B, T, H]``)."""
    axes = b.const(np.array([1], np.int64))
    if time_major:
        b.node("Squeeze", [y, axes], [b.out(out)])
    else:
        b.node("Transpose", [b.node("Squeeze", [y, axes])], [b.out(out)], perm=[1, 0, 2])


def _act(op: Operator) -> int:
    return int(op.options.get("fused_activation_function") or 0)


def _convert_uni(b: OnnxBuilder, op: Operator) -> None:
    """UNIDIRECTIONAL_SEQUENCE_LSTM (rank-3 input) and LSTM (one step, ``[B, K]``)."""
    d = _direction(b, op, SPEC, 0)
    if op.op_name == "LSTM":
        n_batch = b.shapes[op.inputs[INPUT]][0]
        x = b.node("Unsqueeze", [b.tensor(op.inputs[INPUT]), b.const(np.array([0], np.int64))])
        y = _lstm_node(b, x, [d], "forward", _act(op), n_batch)
        b.node("Squeeze", [y, b.const(np.array([0, 1], np.int64))], [b.out(op.outputs[0])])
        return
    tm = bool(op.options.get("time_major"))
    n_batch = b.shapes[op.inputs[INPUT]][1 if tm else 0]
    y = _lstm_node(b, _time_major(b, op.inputs[INPUT], tm), [d], "forward", _act(op), n_batch)
    _squeeze(b, y, op.outputs[0], tm)


def _convert_bidi(b: OnnxBuilder, op: Operator) -> None:
    tm = bool(op.options.get("time_major"))
    n_batch = b.shapes[op.inputs[INPUT]][1 if tm else 0]
    x = _time_major(b, op.inputs[INPUT], tm)
    aux = _slot(op, AUX_INPUT)
    act = _act(op)
    if aux >= 0 and _slot(op, FW.aux_w[G_F]) < 0:  # the backward direction reads the aux input
        fw, bw = _direction(b, op, FW, 0), _direction(b, op, BW, 0)
        ys = [_lstm_node(b, x, [fw], "forward", act, n_batch),
              _lstm_node(b, _time_major(b, aux, tm), [bw], "reverse", act, n_batch)]
        y = b.node("Concat", ys, axis=1)
    else:
        n_aux = b.shapes[aux][2] if aux >= 0 else 0
        if n_aux:
            x = b.node("Concat", [x, _time_major(b, aux, tm)], axis=2)
        y = _lstm_node(b, x, [_direction(b, op, FW, n_aux), _direction(b, op, BW, n_aux)], "bidirectional", act,
                       n_batch)
    if op.options.get("merge_outputs"):  # [T, 2, B, H] -> [T, B, 2H] (or [B, T, 2H]), forward first
        yt = b.node("Transpose", [y], perm=[0, 2, 1, 3] if tm else [2, 0, 1, 3])
        b.node("Reshape", [yt, b.const(np.array([0, 0, -1], np.int64))], [b.out(op.outputs[0])])
        return
    halves = [b.fresh("lstm_fw"), b.fresh("lstm_bw")]
    b.node("Split", [y, b.const(np.array([1, 1], np.int64))], halves, axis=1)
    for half, out in zip(halves, op.outputs):
        _squeeze(b, half, out, tm)


for _op in ("UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM"):
    CONVERTERS[_op] = _convert_uni
    OWN_CHECKS[_op] = _check_uni
CONVERTERS["BIDIRECTIONAL_SEQUENCE_LSTM"] = _convert_bidi
OWN_CHECKS["BIDIRECTIONAL_SEQUENCE_LSTM"] = _check_bidi
