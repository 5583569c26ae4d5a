"""numlite.quantize_report: per-tensor range, parameters and error of a quantized model against
its float model, checked against independent computations."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from util import run_numlite

import numlite
from numlite import models
from numlite.builder import ModelBuilder
from numlite.quantize import calibrate, calibrate_subgraphs, quantize_model
from numlite.quantize_report import TensorReport, format_report, quantization_report, report_json
from numlite.quantize_weights import quantize_float16

sys.path.insert(0, str(Path(__file__).parent))
from test_quantizer import mean_head_calibration, mean_head_model  # noqa: E402

F = mean_head_model()
CAL = mean_head_calibration(6)


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_rows_ranges_parameters_and_errors(mode):
    q = quantize_model(F, CAL, mode=mode)
    rows = quantization_report(F, q, CAL)
    assert [(r.name, r.op) for r in rows] == [("x", "input"), ("h", "CONV_2D"), ("m", "MEAN"),
                                              ("logits", "FULLY_CONNECTED"), ("p", "SOFTMAX")]
    fsg = numlite.load_model(model_content=F).subgraphs[0]
    qsg = numlite.load_model(model_content=q).subgraphs[0]
    ranges = calibrate(F, CAL)
    qt = {t.name: t for t in qsg.tensors}
    for r in rows:
        idx = next(t.index for t in fsg.tensors if t.name == r.name)
        assert (r.min, r.max) == ranges[idx]  # the calibrated range, over the same samples
        t = qt[r.name]
        assert r.dtype == ("INT16" if mode == "int16x8" else "INT8")
        assert (r.scale, r.zero_point) == (float(t.quantization.scale), int(t.quantization.zero_point))
        assert 0 < r.rmse <= r.max_abs_error and math.isfinite(r.snr_db)
    # the output's errors, computed here from the two models' outputs
    out = qt["p"].quantization
    sq, mx, sig, n = 0.0, 0.0, 0.0, 0
    for (x,) in CAL:
        xq = np.clip(np.round(x / qt["x"].quantization.scale) + qt["x"].quantization.zero_point,
                     *((-32768, 32767) if mode == "int16x8" else (-128, 127)))
        (pq,) = run_numlite(q, [xq.astype(np.int16 if mode == "int16x8" else np.int8)])
        (pf,) = run_numlite(F, [x])
        e = (pq.astype(np.float64) - out.zero_point) * out.scale - pf
        sq += float((e ** 2).sum())
        sig += float((pf.astype(np.float64) ** 2).sum())
        mx = max(mx, float(np.abs(e).max()))
        n += e.size
    last = rows[-1]
    assert last.rmse == pytest.approx(math.sqrt(sq / n), rel=1e-9)
    assert last.max_abs_error == pytest.approx(mx, rel=1e-9)
    assert last.snr_db == pytest.approx(10 * math.log10(sig / sq), rel=1e-9)
    # the input's error is its quantization's rounding: at most half a step
    assert rows[0].max_abs_error <= rows[0].scale / 2 * (1 + 1e-6)


def test_16x8_has_the_higher_snr_and_float_ops_are_reported_as_float():
    r8 = quantization_report(F, quantize_model(F, CAL), CAL)
    r16 = quantization_report(F, quantize_model(F, CAL, mode="int16x8"), CAL)
    assert all(b.snr_db > a.snr_db for a, b in zip(r8, r16))
    rf = quantization_report(F, quantize_model(F, CAL, float_ops={"SOFTMAX"}, io_dtype=np.float32), CAL)
    assert rf[-1].dtype == "FLOAT32" and rf[-1].scale is None and rf[-1].zero_point is None
    assert rf[-1].rmse > 0  # the error of its dequantized input carries through
    # an op kept in float in the middle: its own float32 output is reported, not its QUANTIZE
    rm = quantization_report(F, quantize_model(F, CAL, float_ops={"MEAN"}), CAL)
    assert [r.dtype for r in rm] == ["INT8", "INT8", "FLOAT32", "INT8", "INT8"]
    assert rm[2].rmse > 0 and rm[2].scale is None
    text = format_report(rf)
    assert text.splitlines()[0].split()[:4] == ["tensor", "op", "type", "min"]
    assert "FLOAT32" in text and "lowest SNR" in text


def test_weight_only_model_exact_tensors_and_json():
    f = models.build("mobilenet_v1_tiny")
    shape = models.input_shape("mobilenet_v1_tiny")
    cal = [[models.synthetic_image(shape, k)] for k in range(2)]
    rows = quantization_report(f, quantize_float16(f), cal)
    assert rows[0].name == "input" and rows[0].snr_db == math.inf and rows[0].rmse == 0
    assert all(r.dtype == "FLOAT32" for r in rows)
    assert all(r.snr_db > 40 for r in rows[1:])  # float16 weights: about 3 decimal digits
    doc = json.loads(json.dumps(report_json(rows)))
    assert doc[0]["snr_db"] == "inf" and doc[0]["scale"] is None
    assert set(doc[1]) == {f.name for f in TensorReport.__dataclass_fields__.values()}
    assert "inf" in format_report(rows).splitlines()[2]


def test_report_errors():
    q = quantize_model(F, CAL)
    with pytest.raises(ValueError, match="at least one sample"):
        quantization_report(F, q, [])
    with pytest.raises(ValueError, match="has 2 arrays"):
        quantization_report(F, q, [[CAL[0][0], CAL[0][0]]])


# -- control flow: every subgraph is reported ------------------------------------------------------
def _fc(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) @ w.T.astype(np.float64) + b


def _consts(m, s: int) -> dict[str, np.ndarray]:
    return {t.name: np.asarray(t.data) for t in m.subgraphs[s].tensors if t.is_constant}


def _dequantize(m, s: int, i: int, q: np.ndarray) -> np.ndarray:
    qp = m.subgraphs[s].tensors[i].quantization
    return (q.astype(np.float64) - qp.zero_point) * qp.scale


@pytest.mark.parametrize("mode", ["int8", "int16x8"])
def test_while_body_and_cond_rows(mode):
    """The WHILE model of test_quantize_control_flow (h = relu(FC(h) + c), n times): rows for
    the cond's and the body's tensors, their ranges over every iteration computed here in numpy
    from the model's weights, and the error of the body's h over every iteration computed here
    from runs of both models stopped after 1, 2, ..., n iterations."""
    from test_quantize_control_flow import _loop_calibration, loop_model

    from numlite.ops.quant import round_half_away

    f = loop_model("RELU", "fc")
    cal = _loop_calibration(10, seed=3)
    q = quantize_model(f, cal, mode=mode)
    rows = quantization_report(f, q, cal)
    assert [r.subgraph for r in rows] == sorted(r.subgraph for r in rows)
    by = {(r.subgraph, r.name): r for r in rows}
    assert [(r.name, r.op) for r in rows if r.subgraph == 0] == [
        ("x", "input"), ("pre", "FULLY_CONNECTED"), ("c", "MUL"), ("h_out", "WHILE"), ("c_out", "WHILE"),
        ("y", "FULLY_CONNECTED")]
    assert [(r.name, r.op, r.subgraph_name) for r in rows if r.subgraph == 1] == [("ch", "input", "cond"),
                                                                                   ("cc", "input", "cond")]
    assert [(r.name, r.op, r.subgraph_name) for r in rows if r.subgraph == 2] == [
        ("bh", "input", "body"), ("bc", "input", "body"), ("r", "FULLY_CONNECTED", "body"), ("s", "ADD", "body"),
        ("h", "RELU", "body")]
    # ranges over every run, from the weights
    fm = numlite.load_model(model_content=f)
    main, body = _consts(fm, 0), _consts(fm, 2)
    seen: dict[str, list[np.ndarray]] = {k: [] for k in ("ch", "bh", "r", "s", "h")}
    for x, n in cal:
        h, c = _fc(x, main["w0"], main["b0"]), 0.5 * x.astype(np.float64)
        seen["ch"].append(h)
        for _ in range(int(n)):
            seen["bh"].append(h)
            r = _fc(h, body["wr"], body["br"])
            s = r + c
            h = np.maximum(s, 0.0)
            seen["r"].append(r)
            seen["s"].append(s)
            seen["h"].append(h)
            seen["ch"].append(h)  # the cond runs once more than the body
    sub = {"ch": 1}
    for name, vals in seen.items():
        row = by[(sub.get(name, 2), name)]
        assert row.min == pytest.approx(min(float(v.min()) for v in vals), abs=1e-5), name
        assert row.max == pytest.approx(max(float(v.max()) for v in vals), abs=1e-5), name
    # the calibration ranges are the report's, subgraph by subgraph
    ranges = calibrate_subgraphs(f, cal)
    for r in rows:
        idx = next(t.index for t in fm.subgraphs[r.subgraph].tensors if t.name == r.name)
        assert (r.min, r.max) == ranges[(r.subgraph, idx)]
    # the body's h after k iterations is the WHILE's h_out of a run of k iterations (the body's
    # output and the WHILE's output share their parameters: checked, then used)
    qm = numlite.load_model(model_content=q)
    qsg = qm.subgraphs[0]
    h_out = next(t.index for t in qsg.tensors if t.name == "h_out")
    h_body = next(t.index for t in qm.subgraphs[2].tensors if t.name == "h")
    qp, bp = qsg.tensors[h_out].quantization, qm.subgraphs[2].tensors[h_body].quantization
    assert (qp.scale, qp.zero_point) == (bp.scale, bp.zero_point) == (by[(2, "h")].scale, by[(2, "h")].zero_point)
    fi = numlite.Interpreter(model_content=f, experimental_preserve_all_tensors=True)
    qi = numlite.Interpreter(model_content=q, experimental_preserve_all_tensors=True)
    f_out = next(t.index for t in fm.subgraphs[0].tensors if t.name == "h_out")
    xs = qsg.tensors[qsg.inputs[0]].quantization
    dt = np.int8 if mode == "int8" else np.int16
    sig = noise = emax = 0.0
    for x, n in cal:
        xq = np.clip(round_half_away(x / np.float64(np.float32(xs.scale))) + xs.zero_point,
                     np.iinfo(dt).min, np.iinfo(dt).max).astype(dt)
        for k in range(1, int(n) + 1):
            for it, feed in ((fi, x), (qi, xq)):
                it.allocate_tensors()
                it.set_tensor(it.get_input_details()[0]["index"], feed)
                it.set_tensor(it.get_input_details()[1]["index"], np.array(k, np.int32))
                it.invoke()
            hf = fi.get_tensor(f_out).astype(np.float64)
            e = _dequantize(qm, 0, h_out, qi.get_tensor(h_out)) - hf
            sig += float((hf ** 2).sum())
            noise += float((e ** 2).sum())
            emax = max(emax, float(np.abs(e).max()))
    count = sum(int(n) for _, n in cal) * 4
    row = by[(2, "h")]
    assert row.rmse == pytest.approx(math.sqrt(noise / count), rel=1e-9)
    assert row.max_abs_error == pytest.approx(emax, rel=1e-9)
    assert row.snr_db == pytest.approx(10 * math.log10(sig / noise), rel=1e-9)
    assert 0 < row.max_abs_error < 0.1


def _counting_loop(offset: int) -> bytes:
    """h = x; repeat n + offset times: h = h * 0.5 + 0.25; y = h * 2"""
    mb = ModelBuilder()
    x = mb.input("x", (1, 3), np.float32)
    n = mb.input("n", (), np.int32)
    lim = mb.tensor("lim", (), np.int32)
    mb.op("ADD", [n, mb.const("offset", np.array(offset, np.int32))], [lim])
    outs = [mb.tensor("i_out", (), np.int32), mb.tensor("lim_out", (), np.int32),
            mb.tensor("h_out", (1, 3), np.float32)]
    mb.op("WHILE", [mb.const("zero", np.array(0, np.int32)), lim, x], outs, cond_subgraph_index=1,
          body_subgraph_index=2)
    y = mb.tensor("y", (1, 3), np.float32)
    mb.op("MUL", [outs[2], mb.const("two", np.array(2.0, np.float32))], [y])
    mb.output(y)
    mb.new_subgraph("cond")
    ci, cn = mb.input("ci", (), np.int32), mb.input("cn", (), np.int32)
    mb.input("ch", (1, 3), np.float32)
    go = mb.tensor("go", (), np.bool_)
    mb.op("LESS", [ci, cn], [go])
    mb.output(go)
    mb.new_subgraph("body")
    bi, bn, bh = mb.input("bi", (), np.int32), mb.input("bn", (), np.int32), mb.input("bh", (1, 3), np.float32)
    half = mb.tensor("half", (1, 3), np.float32)
    mb.op("MUL", [bh, mb.const("k", np.array(0.5, np.float32))], [half])
    h = mb.tensor("h", (1, 3), np.float32)
    mb.op("ADD", [half, mb.const("quarter", np.array(0.25, np.float32))], [h])
    ni = mb.tensor("ni", (), np.int32)
    mb.op("ADD", [bi, mb.const("one", np.array(1, np.int32))], [ni])
    mb.output(ni, bn, h)
    return mb.build()


def test_runs_are_paired_in_order():
    """A 'quantized' model (here a float one, to know the answer) whose loop stops one iteration
    earlier: the body's first runs are the same in both, so the body's rows have no error; the
    range is over every run of the float model; the output, one iteration short, differs."""
    a, b = _counting_loop(0), _counting_loop(-1)
    cal = [[np.array([[8.0, -4.0, 1.0]], np.float32), np.array(3, np.int32)]]
    rows = {(r.subgraph, r.name): r for r in quantization_report(a, b, cal)}
    body_h = rows[(2, "h")]
    # h after 1, 2, 3 iterations: 8 -> 4.25, 2.375, 1.4375; -4 -> -1.75, -0.625, -0.0625;
    # 1 -> 0.75, 0.625, 0.5625
    assert (body_h.min, body_h.max) == (-1.75, 4.25)
    assert body_h.rmse == 0.0 and body_h.snr_db == math.inf and body_h.dtype == "FLOAT32"
    assert rows[(1, "ch")].min == -4.0  # the cond's first run sees x itself
    y = rows[(0, "y")]
    # float: 2 * h3; 'quantized': 2 * h2
    want = 2 * np.array([2.375 - 1.4375, -0.625 + 0.0625, 0.625 - 0.5625])
    assert y.max_abs_error == pytest.approx(float(np.abs(want).max()))
    assert y.rmse == pytest.approx(math.sqrt(float((want ** 2).mean())))


def test_if_branch_rows_come_from_the_calls_that_took_them():
    """IF (then: tanh(2 h), else: h - 3, h = FC(x)): each branch's rows hold the samples that ran
    it, computed here from the weights; the subgraph names and the sg column in the table."""
    from test_quantize_control_flow import if_model

    f = if_model()
    rng = np.random.default_rng(9)
    cal = [[np.array(k % 3 == 0), rng.uniform(-1, 1, (1, 4)).astype(np.float32)] for k in range(12)]
    q = quantize_model(f, cal)
    rows = quantization_report(f, q, cal)
    by = {(r.subgraph, r.name): r for r in rows}
    assert {(r.subgraph, r.subgraph_name) for r in rows} == {(0, "main"), (1, "then"), (2, "else")}
    w = _consts(numlite.load_model(model_content=f), 0)
    h = {True: [], False: []}
    for c, x in cal:
        h[bool(c)].append(_fc(x, w["w"], w["b"]))
    then, else_ = np.concatenate(h[True]), np.concatenate(h[False])
    for key, vals in (((1, "th"), then), ((1, "t2"), 2 * then), ((1, "to"), np.tanh(2 * then)),
                      ((2, "eh"), else_), ((2, "eo"), else_ - 3)):
        assert by[key].min == pytest.approx(vals.min(), abs=1e-5), key
        assert by[key].max == pytest.approx(vals.max(), abs=1e-5), key
    assert by[(1, "to")].scale == 1 / 128 and by[(1, "to")].op == "TANH"  # the TANH's own output, pinned
    assert all(0 < r.rmse <= r.max_abs_error for r in rows)
    text = format_report(rows).splitlines()
    assert text[0].split()[:3] == ["sg", "tensor", "op"]
    assert text[2].split()[:3] == ["0", "x", "input"]  # (the bool condition c is not a float tensor)
    assert [line.split()[:2] for line in text[2:-2]] == [[str(r.subgraph), r.name] for r in rows]
    assert text[-1] == "subgraphs: 0 'main', 1 'then', 2 'else'"
    worst = min(rows, key=lambda r: r.snr_db)
    where = f"({worst.op})" if worst.subgraph == 0 else f"({worst.op}, subgraph {worst.subgraph})"
    assert text[-2] == f"{len(rows)} tensors; lowest SNR {worst.snr_db:.1f} dB at {worst.name!r} {where}"
    # one subgraph: no sg column, no subgraph line
    single = format_report(quantization_report(F, quantize_model(F, CAL), CAL)).splitlines()
    assert single[0].split()[0] == "tensor" and not single[-1].startswith("subgraphs")
    doc = report_json(rows)
    assert doc[-1]["subgraph"] == 2 and doc[-1]["subgraph_name"] == "else"
