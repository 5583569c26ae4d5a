"""benchmarks/bench_models.py: its transformer blocks run on LiteRT and match it, its BLAS floor
finds the products numlite runs, and its main runs end to end on one small model (so the script
cannot rot unnoticed)."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest
from util import run_litert, run_numlite

import numlite

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
import bench_models as bm  # noqa: E402


@pytest.fixture(scope="module")
def blocks() -> tuple[bytes, bytes]:
    return bm.transformer_block(), bm.transformer_int8()


def _x() -> np.ndarray:
    return np.random.default_rng(7).standard_normal((1, 64, 256)).astype(np.float32)


def test_transformer_float_matches_litert(blocks: tuple[bytes, bytes]) -> None:
    x = _x()
    ours = run_numlite(blocks[0], [x])[0]
    for ref in (True, False):  # reference kernels and the default (XNNPACK) path
        theirs = run_litert(blocks[0], [x], ref=ref)[0]
        assert ours.shape == theirs.shape == (1, 64, 256)
        # float32 sums in another order through two layer norms, 6 GEMMs, softmax and GELU:
        # measured <= 3.6e-6 on outputs of magnitude ~5
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_transformer_int8_matches_litert(blocks: tuple[bytes, bytes]) -> None:
    float_model, int8_model = blocks
    it = numlite.Interpreter(model_content=int8_model)
    d, o = it.get_input_details()[0], it.get_output_details()[0]
    assert d["dtype"] == np.int8 and o["dtype"] == np.int8
    x = _x()
    xq = bm.quantize_input(x, d)
    ours = run_numlite(int8_model, [xq])[0]
    np.testing.assert_array_equal(ours, run_litert(int8_model, [xq], ref=True)[0])  # bit-exact
    # XNNPACK requantizes its own way: measured at most 2 steps away
    assert np.abs(ours.astype(np.int32) - run_litert(int8_model, [xq])[0]).max() <= 4
    # the int8 block computes what the float block does (measured correlation 0.986): a writer
    # bug (a wrong scale, a misplaced parameter) would break that
    scale, zp = o["quantization"]
    deq = (ours.astype(np.float64) - zp) * scale
    assert np.corrcoef(deq.ravel(), run_numlite(float_model, [x])[0].ravel())[0, 1] > 0.95


def test_floor_gemms(tmp_path) -> None:
    from numlite import models

    it = numlite.Interpreter(model_content=models.build("mobilenet_v1_tiny"))
    it.allocate_tensors()
    gemms = bm.gemm_shapes(it._main)
    convs = sum(op.op_name == "CONV_2D" for op in it._model.subgraphs[0].operators)
    assert sum(g.op == "CONV_2D" for g in gemms) == convs
    # 3x3 stride 2 on 96x96x3, 8 output channels: im2col [48*48, 27] x [27, 8]; numlite runs it
    # as one tile with the bias folded in as a 28th row of the weights
    first = gemms[0]
    assert (first.a, first.b, first.adj_b) == ((48 * 48, 28), (8, 28), True)
    first = bm.gemm_shapes(it._main, tiled=False)[0]
    assert (first.a, first.b, first.adj_b) == ((48 * 48, 27), (8, 27), True)
    bm.floor_fn(gemms)()

    lstm = bm.synthetic_model("lstm256x50", str(tmp_path))
    it = numlite.Interpreter(model_path=lstm)
    it.allocate_tensors()
    gemms = bm.gemm_shapes(it._main)
    assert gemms[0].a == (50, 64) and len(gemms) == 51
    assert {g.weight for g in gemms[1:]} == {gemms[1].weight} and gemms[1].a == (1, 256)


def test_machine_without_threadpoolctl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    line = bm.machine_line(bm.machine())
    assert "threadpoolctl not installed" in line and line.startswith("CPU: ")


def test_main_one_model(tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for k in bm.OPENBLAS_VARS:
        monkeypatch.delenv(k, raising=False)
    out = tmp_path / "r.json"
    assert bm.main(["--models", "transformer", "--runs", "2", "--warmup", "1", "--profile-runs", "1",
                    "--threads", "1", "--json", str(out), "--openblas-both"]) == 0
    text = capsys.readouterr().out
    assert "| transformer | 1 |" in text and "geometric mean numlite / LiteRT" in text
    assert "unset already" in text and "CPU: " in text
    r = json.loads(out.read_text())
    row = r["rows"][0]
    assert row["model"] == "transformer" and row["gemms"] == 8
    assert row["numlite_ms"] > 0 and row["litert_ms"] > 0 and row["floor_ms"] > 0
    assert "FULLY_CONNECTED" in row["by_op_ms"] and row["max_abs_diff"] < 1e-3
    assert r["geomean"]["1"]["ratio_models"] == 1
