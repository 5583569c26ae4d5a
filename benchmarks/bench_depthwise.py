"""Micro-benchmark: numlite's DEPTHWISE_CONV_2D vs LiteRT (XNNPACK) on MobileNet v1 / v2 (3x3)
and MediaPipe palm-detection (5x5) shapes.

Single-op models (SAME, bias, RELU6) run on both runtimes with the same ``num_threads``;
runs are interleaved and medians reported, with the ratio numlite / LiteRT.  ``--int8`` runs
int8 models instead (per-channel weights, realistic scales, as a converter writes them); their
outputs are checked against LiteRT's default kernels to within one step.

    python benchmarks/bench_depthwise.py [--threads 1 2] [--runs 50] [--int8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import numlite
from numlite.builder import ModelBuilder

# (H=W, C, stride, name); 3x3 (MobileNet v1 unless marked v2; "x5" layers of v1 are listed once)
# or 5x5 (palm_detection_full, "palm")
SHAPES = [
    (112, 32, 1, "v1 dw1"), (112, 64, 2, "v1 dw2"), (56, 128, 1, "v1 dw3"), (56, 128, 2, "v1 dw4"),
    (28, 256, 1, "v1 dw5"), (28, 256, 2, "v1 dw6"), (14, 512, 1, "v1 dw7-11 (x5)"), (14, 512, 2, "v1 dw12"),
    (7, 1024, 1, "v1 dw13"),
    (112, 96, 2, "v2"), (56, 144, 1, "v2"), (56, 144, 2, "v2"), (28, 192, 1, "v2"), (14, 576, 1, "v2"),
    (14, 576, 2, "v2"), (7, 960, 1, "v2"),
    (96, 32, 1, "palm 5x5"), (96, 32, 2, "palm 5x5"), (48, 64, 1, "palm 5x5"), (24, 128, 1, "palm 5x5"),
    (12, 256, 1, "palm 5x5"), (6, 256, 1, "palm 5x5"),
]
V1_COUNT = {"v1 dw7-11 (x5)": 5}


def kernel_size(name: str) -> int:
    return 5 if "5x5" in name else 3


def model(h: int, c: int, s: int, k: int = 3) -> bytes:
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    x = mb.input("x", (1, h, h, c), np.float32)
    w = mb.const("w", rng.uniform(-1, 1, (1, k, k, c)).astype(np.float32))
    b = mb.const("b", rng.uniform(-1, 1, (c,)).astype(np.float32))
    ho = (h + s - 1) // s
    y = mb.tensor("y", (1, ho, ho, c), np.float32)
    mb.op("DEPTHWISE_CONV_2D", [x, w, b], [y], padding="SAME", stride_w=s, stride_h=s, depth_multiplier=1,
          fused_activation_function="RELU6")
    mb.output(y)
    return mb.build()


def model_int8(h: int, c: int, s: int, k: int = 3) -> bytes:
    rng = np.random.default_rng(0)
    mb = ModelBuilder()
    s_in, s_out = 0.02, 0.03
    x = mb.input("x", (1, h, h, c), np.int8, quantization={"scale": [s_in], "zero_point": [-128]})
    ws = rng.uniform(0.002, 0.02, c)
    w = mb.const("w", rng.integers(-127, 128, (1, k, k, c)).astype(np.int8),
                 quantization={"scale": ws, "zero_point": [0] * c, "quantized_dimension": 3})
    b = mb.const("b", rng.integers(-3000, 3000, c).astype(np.int32),
                 quantization={"scale": np.float32(s_in) * ws.astype(np.float32), "zero_point": [0] * c})
    ho = (h + s - 1) // s
    y = mb.tensor("y", (1, ho, ho, c), np.int8, quantization={"scale": [s_out], "zero_point": [-128]})
    mb.op("DEPTHWISE_CONV_2D", [x, w, b], [y], version=3, padding="SAME", stride_w=s, stride_h=s,
          depth_multiplier=1, fused_activation_function="RELU6")
    mb.output(y)
    return mb.build()


def ready(cls, m: bytes, x: np.ndarray, nt: int):
    it = cls(model_content=m, num_threads=nt)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it


def main() -> None:
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--int8", action="store_true", help="int8 models (per-channel weights)")
    args = ap.parse_args()
    for nt in args.threads:
        print(f"num_threads={nt}: median us per invoke ({'int8' if args.int8 else 'float32'})")
        print(f"{'shape':>22} {'layer':>16} {'numlite':>9} {'LiteRT':>9} {'ratio':>6}")
        v1n = v1l = 0.0
        for h, c, s, name in SHAPES:
            rng = np.random.default_rng(1)
            if args.int8:
                m = model_int8(h, c, s, kernel_size(name))
                x = rng.integers(-128, 128, (1, h, h, c)).astype(np.int8)
            else:
                m = model(h, c, s, kernel_size(name))
                x = rng.uniform(-1, 1, (1, h, h, c)).astype(np.float32)
            a, b = ready(numlite.Interpreter, m, x, nt), ready(LiteRT, m, x, nt)
            oa = a.get_tensor(a.get_output_details()[0]["index"])
            ob = b.get_tensor(b.get_output_details()[0]["index"])
            if args.int8:
                assert np.abs(oa.astype(np.int32) - ob).max() <= 1
            else:
                np.testing.assert_allclose(oa, ob, rtol=1e-4, atol=1e-4)
            ta, tb = [], []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                a.invoke()
                t1 = time.perf_counter()
                b.invoke()
                t2 = time.perf_counter()
                ta.append(t1 - t0)
                tb.append(t2 - t1)
            ma, mbt = np.median(ta) * 1e6, np.median(tb) * 1e6
            if name.startswith("v1"):
                k = V1_COUNT.get(name, 1)
                v1n += k * ma
                v1l += k * mbt
            k = kernel_size(name)
            print(f"{f'{h}x{h}x{c} k{k} s{s}':>22} {name:>16} {ma:9.0f} {mbt:9.0f} {ma / mbt:6.2f}")
        print(f"{'v1 all 13 layers':>39} {v1n:9.0f} {v1l:9.0f} {v1n / v1l:6.2f}\n")


if __name__ == "__main__":
    main()
