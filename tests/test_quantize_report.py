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
from numlite.quantize import calibrate, quantize_model
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
