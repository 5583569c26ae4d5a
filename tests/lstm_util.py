"""Builders of single-op LSTM models for the LSTM tests (float, hybrid, integer)."""

from __future__ import annotations

from typing import Any

import numpy as np

import numlite
from numlite.builder import ModelBuilder

GATES = ("i", "f", "c", "o")


def quantize_sym(w: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.abs(w).max() / 127.0) or 1.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def lstm_weights(n_input: int, n_cell: int, n_output: int, *, cifg: bool = False, peephole: bool = False,
                 projection: bool = False, proj_bias: bool = False, layer_norm: bool = False, n_aux: int = 0,
                 seed: int = 0, diag: bool = False) -> dict[str, Any]:
    """Random float weights of one direction (keys: wx_g, wh_g, p_g, b_g, pw, pb, ln_g, aw_g)."""
    rng = np.random.default_rng(seed)
    w: dict[str, Any] = {}
    gates = GATES[1:] if cifg else GATES
    for g in gates:
        w[f"wx_{g}"] = rng.uniform(-0.5, 0.5, (n_cell, n_input)).astype(np.float32)
        w[f"wh_{g}"] = (rng.uniform(-0.5, 0.5, (n_cell,)) if diag else
                        rng.uniform(-0.5, 0.5, (n_cell, n_output))).astype(np.float32)
        w[f"b_{g}"] = rng.uniform(-0.3, 0.3, (n_cell,)).astype(np.float32)
        if layer_norm:
            w[f"ln_{g}"] = rng.uniform(0.5, 1.5, (n_cell,)).astype(np.float32)
        if n_aux:
            w[f"aw_{g}"] = rng.uniform(-0.5, 0.5, (n_cell, n_aux)).astype(np.float32)
    if peephole:
        for g in ("f", "o") if cifg else ("i", "f", "o"):
            w[f"p_{g}"] = rng.uniform(-0.5, 0.5, (n_cell,)).astype(np.float32)
    if projection:
        w["pw"] = rng.uniform(-0.5, 0.5, (n_output, n_cell)).astype(np.float32)
        if proj_bias:
            w["pb"] = rng.uniform(-0.2, 0.2, (n_output,)).astype(np.float32)
    return w


def _const(mb: ModelBuilder, name: str, v: np.ndarray, hybrid: bool) -> int:
    if hybrid and v.dtype == np.float32 and name.split("_")[0] in ("wx", "wh", "p", "pw", "aw"):
        q, s = quantize_sym(v)
        return mb.const(name, q, quantization={"scale": s, "zero_point": 0})
    return mb.const(name, v)


def direction_inputs(mb: ModelBuilder, w: dict[str, Any], n_batch: int, n_cell: int, n_output: int,
                     hybrid: bool = False, prefix: str = "") -> dict[str, int]:
    """Constants and variable states of one direction; returns slot name -> tensor index (-1 if absent)."""
    idx: dict[str, int] = {}
    for key in [f"{k}_{g}" for k in ("wx", "wh", "b", "ln", "aw") for g in GATES] + \
               [f"p_{g}" for g in ("i", "f", "o")] + ["pw", "pb"]:
        idx[key] = _const(mb, prefix + key, w[key], hybrid) if key in w else -1
    idx["h"] = mb.tensor(prefix + "h_state", (n_batch, n_output), np.float32, is_variable=True)
    idx["c"] = mb.tensor(prefix + "c_state", (n_batch, n_cell), np.float32, is_variable=True)
    return idx


def lstm_slots(d: dict[str, int], layer_norm_slots: bool = True) -> list[int]:
    """The 20 (24) input slots after the input of LSTM / UNIDIRECTIONAL_SEQUENCE_LSTM."""
    s = [d[f"wx_{g}"] for g in GATES] + [d[f"wh_{g}"] for g in GATES] + [d[f"p_{g}"] for g in ("i", "f", "o")]
    s += [d[f"b_{g}"] for g in GATES] + [d["pw"], d["pb"], d["h"], d["c"]]
    if layer_norm_slots:
        s += [d[f"ln_{g}"] for g in GATES]
    return s


def uni_model(x_shape: tuple[int, ...], w: dict[str, Any], n_cell: int, n_output: int, *, time_major: bool = True,
              hybrid: bool = False, op: str = "UNIDIRECTIONAL_SEQUENCE_LSTM", version: int = 1,
              layer_norm_slots: bool = True, **options: Any) -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", x_shape, np.float32)
    if op == "LSTM":
        n_batch = x_shape[0]
        out_shape = (n_batch, n_output)
    else:
        n_batch = x_shape[1] if time_major else x_shape[0]
        out_shape = (*x_shape[:2], n_output)
        options["time_major"] = time_major
    d = direction_inputs(mb, w, n_batch, n_cell, n_output, hybrid)
    y = mb.tensor("y", out_shape, np.float32)
    table = "LSTMOptions" if op == "LSTM" else "UnidirectionalSequenceLSTMOptions"
    mb.op(op, [x, *lstm_slots(d, layer_norm_slots)], [y], version=version, options_table=table, **options)
    mb.output(y)
    return mb.build()


def run_twice(model: bytes, feeds: list[list[np.ndarray]], litert: bool, ref: bool = False) -> list[list[np.ndarray]]:
    """Invoke one interpreter once per feed list (the variable states carry over)."""
    if litert:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        kw = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if ref else {}
        it = Interpreter(model_content=model, **kw)
    else:
        it = numlite.Interpreter(model_content=model)
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    res = []
    for feed in feeds:
        for d, v in zip(ins, feed):
            it.set_tensor(d["index"], v)
        it.invoke()
        res.append([it.get_tensor(d["index"]) for d in outs])
    return res


def compare(model: bytes, feeds: list[list[np.ndarray]], rtol: float, atol: float, ref: bool = False,
            exact: bool = False) -> list[list[np.ndarray]]:
    ours = run_twice(model, feeds, litert=False)
    theirs = run_twice(model, feeds, litert=True, ref=ref)
    for k, (a_list, b_list) in enumerate(zip(ours, theirs)):
        for j, (a, b) in enumerate(zip(a_list, b_list)):
            assert a.shape == b.shape and a.dtype == b.dtype, (k, j, a.shape, b.shape, a.dtype, b.dtype)
            if exact:
                np.testing.assert_array_equal(a, b, err_msg=f"invoke {k} output {j}")
            else:
                np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"invoke {k} output {j}")
    return ours


def bidi_model(x_shape: tuple[int, ...], wf: dict[str, Any], wb: dict[str, Any], n_cell: int, n_out_f: int,
               n_out_b: int, *, time_major: bool = True, merge_outputs: bool = False, hybrid: bool = False,
               aux_features: int = 0, aux_weights: bool = False, version: int = 1, **options: Any) -> bytes:
    mb = ModelBuilder()
    x = mb.input("x", x_shape, np.float32)
    n_batch = x_shape[1] if time_major else x_shape[0]
    df = direction_inputs(mb, wf, n_batch, n_cell, n_out_f, hybrid, "fw_")
    db = direction_inputs(mb, wb, n_batch, n_cell, n_out_b, hybrid, "bw_")
    aux = mb.input("aux", (*x_shape[:2], aux_features), np.float32) if aux_features else -1
    lead = tuple(x_shape[:2])
    if merge_outputs:
        outs = [mb.tensor("y", (*lead, n_out_f + n_out_b), np.float32)]
    else:
        outs = [mb.tensor("y_fw", (*lead, n_out_f), np.float32), mb.tensor("y_bw", (*lead, n_out_b), np.float32)]
    ins = [x] + lstm_slots(df, False)[:17] + lstm_slots(db, False)[:17] + [df["h"], df["c"], db["h"], db["c"], aux]
    ins += [df[f"aw_{g}"] if aux_weights else -1 for g in GATES] + [db[f"aw_{g}"] if aux_weights else -1 for g in GATES]
    mb.op("BIDIRECTIONAL_SEQUENCE_LSTM", ins, outs, version=version, options_table="BidirectionalSequenceLSTMOptions",
          merge_outputs=merge_outputs, time_major=time_major, **options)
    mb.output(*outs)
    return mb.build()
