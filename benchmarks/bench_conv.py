"""Micro-benchmark: float32 CONV_2D layers on numlite vs LiteRT (XNNPACK), printed as ratios.

Usage: ``python benchmarks/bench_conv.py [--threads 1 2] [--rounds 4] [--int8] [--coretype SkylakeX]``
(``--int8``: the int8 twins, per-channel weights, against LiteRT's default XNNPACK path).
Each layer is a single-op model; numlite and LiteRT run in alternating phases in one process
and the medians of all invokes are compared.  Timings on shared machines are noisy: read the
ratio, not the ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import numlite
from numlite.builder import ModelBuilder
from numlite.ops.base import conv_output_size

# (name, input NHWC, (Cout, KH, KW), stride, padding, dilation)
LAYERS = [
    ("mnv1 pw 112x112x32->64", (1, 112, 112, 32), (64, 1, 1), 1, "SAME", 1),
    ("mnv1 conv0 224x224x3->32 3x3 s2", (1, 224, 224, 3), (32, 3, 3), 2, "SAME", 1),
    ("incv3 147x147x32->64 3x3", (1, 147, 147, 32), (64, 3, 3), 1, "SAME", 1),
    ("incv3 149x149x32->32 3x3 VALID", (1, 149, 149, 32), (32, 3, 3), 1, "VALID", 1),
    ("incv3 35x35x48->64 5x5 SAME", (1, 35, 35, 48), (64, 5, 5), 1, "SAME", 1),
    ("incv3 35x35x64->96 3x3 SAME", (1, 35, 35, 64), (96, 3, 3), 1, "SAME", 1),
    ("incv3 17x17x128->128 1x7", (1, 17, 17, 128), (128, 1, 7), 1, "SAME", 1),
    ("incv3 17x17x768->192 1x1", (1, 17, 17, 768), (192, 1, 1), 1, "SAME", 1),
    ("mnv1 pw 7x7x1024->1024", (1, 7, 7, 1024), (1024, 1, 1), 1, "SAME", 1),
    ("pw strided 28x28x256->512 s2", (1, 28, 28, 256), (512, 1, 1), 2, "SAME", 1),
]


def conv_model(shape, filt, stride, padding, dilation, act="RELU6", seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    n, h, w, cin = shape
    cout, kh, kw = filt
    pad = 0 if padding == "SAME" else 1
    oh = conv_output_size(h, kh, stride, dilation, pad)
    ow = conv_output_size(w, kw, stride, dilation, pad)
    mb = ModelBuilder()
    x = mb.input("x", shape, np.float32)
    wt = mb.const("w", rng.standard_normal((cout, kh, kw, cin)).astype(np.float32) * 0.1)
    b = mb.const("b", rng.standard_normal(cout).astype(np.float32))
    y = mb.tensor("y", (n, oh, ow, cout), np.float32)
    mb.op("CONV_2D", [x, wt, b], [y], padding=padding, stride_w=stride, stride_h=stride,
          dilation_w_factor=dilation, dilation_h_factor=dilation, fused_activation_function=act)
    mb.output(y)
    return mb.build()


def conv_model_int8(shape, filt, stride, padding, dilation, act="RELU6", seed=0) -> bytes:
    """The int8 twin of ``conv_model``: per-channel int8 weights, int32 bias, int8 activations."""
    rng = np.random.default_rng(seed)
    n, h, w, cin = shape
    cout, kh, kw = filt
    pad = 0 if padding == "SAME" else 1
    oh = conv_output_size(h, kh, stride, dilation, pad)
    ow = conv_output_size(w, kw, stride, dilation, pad)
    ws = (rng.uniform(0.5, 2.0, cout) * 1e-3).astype(np.float32)
    s_in, s_out = 0.02, 0.05
    mb = ModelBuilder()
    x = mb.input("x", shape, np.int8, quantization=dict(scale=[s_in], zero_point=[-3]))
    wt = mb.const("w", rng.integers(-127, 128, (cout, kh, kw, cin)).astype(np.int8),
                  quantization=dict(scale=ws, zero_point=[0] * cout, quantized_dimension=0))
    b = mb.const("b", rng.integers(-5000, 5000, cout).astype(np.int32),
                 quantization=dict(scale=ws * np.float32(s_in), zero_point=[0] * cout))
    y = mb.tensor("y", (n, oh, ow, cout), np.int8, quantization=dict(scale=[s_out], zero_point=[5]))
    mb.op("CONV_2D", [x, wt, b], [y], padding=padding, stride_w=stride, stride_h=stride,
          dilation_w_factor=dilation, dilation_h_factor=dilation, fused_activation_function=act)
    mb.output(y)
    return mb.build()


def _phase(it, seconds: float) -> list[float]:
    """Invoke for about ``seconds``; per-invoke times after a few warm-up invokes."""
    inv, pc = it.invoke, time.perf_counter
    for _ in range(3):
        inv()
    times: list[float] = []
    end = pc() + seconds
    while pc() < end or len(times) < 5:
        t0 = pc()
        inv()
        times.append(pc() - t0)
    return times


def bench(model: bytes, shape, threads: int, rounds: int, seconds: float = 0.15,
          int8: bool = False) -> tuple[float, float]:
    """Median invoke time of numlite and LiteRT.  The runtimes alternate in phases (ABAB...)
    rather than invoke by invoke: both keep worker threads spinning for a while after a job,
    and with 2 threads on 2 cores one runtime's spinning workers would slow the other."""
    from ai_edge_litert.interpreter import Interpreter

    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    if int8:
        x = np.random.default_rng(1).integers(-128, 128, shape).astype(np.int8)
    its = []
    for cls in (numlite.Interpreter, Interpreter):
        it = cls(model_content=model, num_threads=threads)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        its.append(it)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        ours += _phase(its[0], seconds)
        theirs += _phase(its[1], seconds)
    return statistics.median(ours), statistics.median(theirs)


def force_openblas_coretype(name: str) -> str:
    """Experiment: re-run OpenBLAS's DYNAMIC_ARCH kernel selection with ``OPENBLAS_CORETYPE``
    set (e.g. SkylakeX on AVX-512 CPUs OpenBLAS does not recognise, such as AMD Zen 5, which
    it runs with its AVX2 Haswell kernels).  Returns the core name now in use."""
    import ctypes
    import glob
    import os

    base = os.path.dirname(os.path.dirname(np.__file__))
    lib = ctypes.CDLL(glob.glob(os.path.join(base, "numpy.libs", "*openblas*"))[0])
    os.environ["OPENBLAS_CORETYPE"] = name
    lib.gotoblas_dynamic_quit()
    lib.gotoblas_dynamic_init()
    get = lib.scipy_openblas_get_corename64_
    get.restype = ctypes.c_char_p
    return get().decode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=0.15, help="length of one phase of one runtime")
    ap.add_argument("--only", default="")
    ap.add_argument("--int8", action="store_true", help="int8 twins of the layers (per-channel weights)")
    ap.add_argument("--coretype", default="", help="force an OpenBLAS core type (experiment), e.g. SkylakeX")
    args = ap.parse_args()
    if args.coretype:
        print("OpenBLAS core:", force_openblas_coretype(args.coretype))
    print(f"{'layer':36s} thr {'numlite ms':>10s} {'LiteRT ms':>10s} {'ratio':>6s}")
    for name, shape, filt, stride, padding, dil in LAYERS:
        if args.only and args.only not in name:
            continue
        model = (conv_model_int8 if args.int8 else conv_model)(shape, filt, stride, padding, dil)
        for t in args.threads:
            a, b = bench(model, shape, t, args.rounds, args.seconds, args.int8)
            print(f"{name:36s} {t:3d} {a * 1e3:10.3f} {b * 1e3:10.3f} {a / b:6.2f}", flush=True)


if __name__ == "__main__":
    main()
