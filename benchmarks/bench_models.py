"""numlite against LiteRT on real models: latency side by side, numlite's time by op type and the
BLAS floor (the model's matrix products alone).

    python benchmarks/bench_models.py [--models NAME ...] [--runs 10] [--threads 1 2] [--json PATH]
                                      [--openblas-both]

Models (``--models`` takes any of these names; default: all of them, in this order):

- MediaPipe's 14 published models (the mediapipe 0.10.14 wheel's, from the cache of
  ``tests/mediapipe_models.py``: downloaded once, then offline).  The three with MediaPipe's custom
  ops (face_landmark_with_attention, selfie_segmentation, selfie_segmentation_landscape) run on
  numlite only, with ``custom_ops=numlite.custom.mediapipe.OPS``: LiteRT lacks those ops, so their
  rows say "numlite only" and have no ratio.
- numlite's reference models (``numlite.models``): mobilenet_v1, mobilenet_v2, inception_v3 and
  their ``_int8`` twins (int8 I/O, calibrated and quantized by ``numlite.quantize``).
- ``lstm256x50``: the synthetic UNIDIRECTIONAL_SEQUENCE_LSTM of ``benchmarks/bench_sequence.py``
  (64 inputs, 256 cells, 50 steps, float32).
- ``transformer`` and ``transformer_int8``: one pre-LN transformer encoder block written with
  numlite's ``ModelBuilder`` (``transformer_block``: seq 64, d_model 256, 4 heads, MLP 1024 with
  GELU), float32 and int8 (``transformer_int8``: calibrated with ``numlite.quantize.calibrate``,
  int8 I/O).  ``numlite.quantize.quantize_model`` refuses this graph (it knows only the ops of the
  conv nets: no SUB, MUL, RSQRT, TRANSPOSE, BATCH_MATMUL, GELU), so ``transformer_int8`` writes the
  int8 graph itself, by the quantizer's rules (see its docstring).

Method, per model and thread count (``--threads``), in one process:

1. A numlite and an ``ai_edge_litert`` interpreter (LiteRT's default settings: its XNNPACK path)
   with the same ``num_threads`` and the same seeded input, and the model's BLAS floor (3.).
   After ``--warmup`` untimed runs of each, the three alternate in blocks (``bench.timed_block``:
   a 0.2 s quiet gap, one untimed call, then up to 5 timed calls) until each has ``--runs``
   timings, so all see the same machine load.  The table gives the medians, numlite / LiteRT
   (above 1: numlite is slower) and numlite / floor.  Output differences are those of the
   first invoke (a stateful model's outputs after hundreds of invokes carry their rounding).
2. numlite's time per op type, from ``Interpreter._main.profile(--profile-runs)`` (each step
   timed alone): the top 4 op types with their share of the profiled total.
3. BLAS floor: every matrix product numlite's kernels run for the model, at the shapes they run
   it, timed alone as one ``np.matmul(a, b, out=c)`` per product on random data, with BLAS set to
   the same thread count.  CONV_2D: ``[N*OH*OW, KH*KW*Cin_g] x [KH*KW*Cin_g, Cout_g]`` per group
   (the im2col GEMM; a 1x1 convolution needs no im2col but has the same shape), split into the
   row tiles numlite's kernel runs it in (``ops/_conv.py``: an im2col tile of about 1 MB (4 MB
   for int8), reused, so the GEMM reads it from cache; K + 1 where numlite folds the bias into
   the weights) - a single GEMM over a 25 MB im2col matrix streams it from memory and can take
   longer than numlite's whole layer; ``--untiled-floor`` times that single GEMM instead.
   TRANSPOSE_CONV and
   MediaPipe's Convolution2DTransposeBias: ``[N*H*W, Cin] x [Cin, KH*KW*Cout]``;
   FULLY_CONNECTED: ``[M, K] x [K, N]``; BATCH_MATMUL: its operands' shapes (adjoints as
   transposed views); UNIDIRECTIONAL_SEQUENCE_LSTM: ``[T*B, n_in] x [n_in, G*n_cell]`` once and
   ``T`` times ``[B, n_out] x [n_out, G*n_cell]`` (plus the projection).  Weights are transposed
   views as numlite keeps them.  int8 models: the float GEMMs numlite runs for them, in the
   dtype it runs them (float32; float64 where the int8 CONV_2D folds its requantization into the
   GEMM).  Not counted: depthwise convolutions, im2col copies, epilogues (bias, activation,
   requantization) - the floor is what BLAS alone needs, so numlite / floor says how much time
   goes elsewhere.
4. The machine line: the CPU (``/proc/cpuinfo``) and its vector extensions, the BLAS NumPy
   runs (threadpoolctl's ``threadpool_info()``: internal_api, version, architecture (the kernel
   OpenBLAS picked), num_threads; without threadpoolctl ``numpy.show_config``'s build info and
   numlite's probe of the OpenBLAS core), and ``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE``.
   ``--openblas-both``: when either is set, the whole measurement runs again in a subprocess
   with both removed from its environment (OpenBLAS reads them once, when it loads), and both
   tables are printed.

A model a runtime cannot run gets its error printed and the other numbers; the geometric means
(per thread count) take the models both runtimes ran.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import timed_block  # noqa: E402  (the interleaving shared with bench.py)
from bench_sequence import seeded_inputs, synthetic_model  # noqa: E402

BLOCK = 5
REFERENCE = ["mobilenet_v1", "mobilenet_v2", "inception_v3", "mobilenet_v1_int8", "mobilenet_v2_int8",
             "inception_v3_int8"]
OTHERS = ["lstm256x50", "transformer", "transformer_int8"]
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
CPU_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "neon", "asimd", "asimddp", "sve")


# --- the transformer block -------------------------------------------------------------------
def transformer_block(seq: int = 64, d_model: int = 256, heads: int = 4, d_ff: int = 1024, seed: int = 0,
                      params: dict[str, tuple[float, int]] | None = None) -> bytes:
    """One pre-LN transformer encoder block, ``[1, seq, d_model]`` in and out, as TensorFlow's
    converter writes one (seeded random weights):

    1. ``h = LN(x)``: MEAN (keep_dims), SUB, MUL (square), MEAN, ADD eps, RSQRT, MUL, MUL gamma, ADD beta.
    2. ``q, k, v = FC(h)`` (``keep_num_dims``), each RESHAPE'd to ``[1, seq, heads, dh]`` and
       TRANSPOSE'd to ``[1, heads, seq, dh]``; ``s = BATCH_MATMUL(q, k, adj_y)``, ``p = SOFTMAX(s,
       beta = 1/sqrt(dh))``, ``o = BATCH_MATMUL(p, v)``, TRANSPOSE and RESHAPE back, output FC,
       ``x1 = x + o``.
    3. ``y = x1 + FC(GELU(FC(LN(x1))))`` (d_ff hidden units, exact GELU).

    ``params`` (tensor name -> int8 scale and zero point, from calibrating the float block): the
    int8 block instead, written by ``numlite.quantize``'s rules: activations int8 per tensor;
    FC weights int8 symmetric per output channel, biases int32 at ``s_in * s_w[c]``; other
    constants (gamma, beta, eps) quantized over their own values; RESHAPE and TRANSPOSE outputs
    take their input's parameters; SOFTMAX's output is pinned to (1/256, -128); int8 I/O; op
    versions those of TFLite's int8 forms."""
    from numlite.builder import ModelBuilder
    from numlite.ops.quant import round_half_away
    from numlite.quantize import activation_params

    rng = np.random.default_rng(seed)
    q8 = params is not None
    qp: dict[str, tuple[float, int]] = dict(params or {})
    mb = ModelBuilder("numlite bench_models transformer block" + (" (int8)" if q8 else ""))
    dh = d_model // heads
    v8 = {"ADD": 2, "SUB": 2, "MUL": 2, "MEAN": 2, "RSQRT": 2, "GELU": 2, "TRANSPOSE": 2, "SOFTMAX": 2,
          "BATCH_MATMUL": 2, "FULLY_CONNECTED": 5, "RESHAPE": 1}

    def qdict(scale: Any, zp: Any, dim: int = 0) -> dict[str, Any]:
        return {"scale": np.atleast_1d(np.asarray(scale, np.float32)),
                "zero_point": np.atleast_1d(np.asarray(zp, np.int64)), "quantized_dimension": dim}

    def act(name: str, shape: tuple[int, ...], like: str | None = None, fixed: tuple[float, int] | None = None,
            graph_input: bool = False) -> int:
        make = mb.input if graph_input else mb.tensor
        if not q8:
            return make(name, shape, np.float32)
        qp[name] = fixed or qp[like or name]
        return make(name, shape, np.int8, quantization=qdict(*qp[name]))

    def const(name: str, value: np.ndarray) -> int:
        value = np.asarray(value, np.float32)
        if not q8:
            return mb.const(name, value)
        scale, zp = activation_params(float(value.min()), float(value.max()))
        q = round_half_away(value.astype(np.float64) / np.float64(np.float32(scale))) + zp
        return mb.const(name, np.clip(q, -128, 127).astype(np.int8), quantization=qdict(scale, zp))

    def op(name: str, inputs: list[int], outputs: list[int], **options: Any) -> None:
        mb.op(name, inputs, outputs, version=v8[name] if q8 else (5 if name == "FULLY_CONNECTED" else 1), **options)

    def fc(name: str, x: int, x_name: str, k: int, n: int) -> int:
        w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
        b = (0.1 * rng.standard_normal(n)).astype(np.float32)
        if q8:
            ws = np.abs(w.astype(np.float64)).max(axis=1) / 127.0
            ws = np.where(ws > 0, ws, 1.0).astype(np.float32)
            wq = np.clip(round_half_away(w / ws.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
            bs = np.float64(np.float32(qp[x_name][0])) * ws.astype(np.float64)
            bq = np.clip(round_half_away(b / bs), -2**31, 2**31 - 1).astype(np.int32)
            wi = mb.const(f"{name}/w", wq, quantization=qdict(ws, np.zeros(n, np.int64), 0))
            bi = mb.const(f"{name}/b", bq, quantization=qdict(bs.astype(np.float32), np.zeros(n, np.int64), 0))
        else:
            wi, bi = mb.const(f"{name}/w", w), mb.const(f"{name}/b", b)
        y = act(name, (1, seq, n))
        op("FULLY_CONNECTED", [x, wi, bi], [y], keep_num_dims=True)
        return y

    axis = mb.const("axis_last", np.array([2], np.int32))

    def layer_norm(name: str, x: int) -> int:
        full, red = (1, seq, d_model), (1, seq, 1)
        mu, xc, sq = act(f"{name}/mean", red), act(f"{name}/centred", full), act(f"{name}/square", full)
        op("MEAN", [x, axis], [mu], keep_dims=True)
        op("SUB", [x, mu], [xc])
        op("MUL", [xc, xc], [sq])
        var, ve, r = act(f"{name}/var", red), act(f"{name}/var_eps", red), act(f"{name}/rsqrt", red)
        op("MEAN", [sq, axis], [var], keep_dims=True)
        op("ADD", [var, const(f"{name}/eps", np.array([1e-5], np.float32))], [ve])
        op("RSQRT", [ve], [r])
        nrm, g, y = act(f"{name}/norm", full), act(f"{name}/scaled", full), act(name, full)
        op("MUL", [xc, r], [nrm])
        op("MUL", [nrm, const(f"{name}/gamma", 1 + 0.1 * rng.standard_normal(d_model))], [g])
        op("ADD", [g, const(f"{name}/beta", 0.1 * rng.standard_normal(d_model))], [y])
        return y

    def heads_of(name: str, t: int) -> int:
        r, tt = act(f"{name}/split", (1, seq, heads, dh), like=name), act(f"{name}/heads", (1, heads, seq, dh),
                                                                           like=name)
        op("RESHAPE", [t, mb.const(f"{name}/shape", np.array([1, seq, heads, dh], np.int32))], [r],
           new_shape=[1, seq, heads, dh])
        op("TRANSPOSE", [r, mb.const(f"{name}/perm", np.array([0, 2, 1, 3], np.int32))], [tt])
        return tt

    x = act("x", (1, seq, d_model), graph_input=True)
    h = layer_norm("ln1", x)
    q, k, v = (heads_of(n, fc(n, h, "ln1", d_model, d_model)) for n in ("q", "k", "v"))
    s, p, o = act("scores", (1, heads, seq, seq)), act("probs", (1, heads, seq, seq), fixed=(1 / 256, -128)), \
        act("attn", (1, heads, seq, dh))
    op("BATCH_MATMUL", [q, k], [s], adj_y=True)
    op("SOFTMAX", [s], [p], beta=float(1 / np.sqrt(dh)))
    op("BATCH_MATMUL", [p, v], [o])
    ot, o3 = act("attn/merge", (1, seq, heads, dh), like="attn"), act("attn/flat", (1, seq, d_model), like="attn")
    op("TRANSPOSE", [o, mb.const("attn/perm", np.array([0, 2, 1, 3], np.int32))], [ot])
    op("RESHAPE", [ot, mb.const("attn/shape", np.array([1, seq, d_model], np.int32))], [o3],
       new_shape=[1, seq, d_model])
    a = fc("out", o3, "attn", d_model, d_model)
    x1 = act("x1", (1, seq, d_model))
    op("ADD", [x, a], [x1])
    f1 = fc("ff1", layer_norm("ln2", x1), "ln2", d_model, d_ff)
    g = act("gelu", (1, seq, d_ff))
    op("GELU", [f1], [g], approximate=False)
    f2 = fc("ff2", g, "gelu", d_ff, d_model)
    y = act("y", (1, seq, d_model))
    op("ADD", [x1, f2], [y])
    mb.output(y)
    return mb.build()


def transformer_int8(calibration_samples: int = 8, seed: int = 0, **kw: Any) -> bytes:
    """The int8 twin of ``transformer_block(**kw)``: the float block is calibrated with
    ``numlite.quantize.calibrate`` on seeded standard-normal inputs (seeds 1000, 1001, ...),
    each tensor gets ``activation_params`` of its range, and the int8 graph is written."""
    from numlite.graph import load_model
    from numlite.quantize import activation_params, calibrate

    float_model = transformer_block(seed=seed, **kw)
    sg = load_model(model_content=float_model).subgraphs[0]
    shape = sg.tensors[sg.inputs[0]].shape
    samples = (np.random.default_rng(1000 + i).standard_normal(shape).astype(np.float32)
               for i in range(calibration_samples))
    ranges = calibrate(float_model, samples)
    params = {sg.tensors[i].name: activation_params(lo, hi) for i, (lo, hi) in ranges.items()}
    return transformer_block(seed=seed, params=params, **kw)


def quantize_input(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Float ``x`` in the dtype of input ``detail`` (quantized with its scale / zero point)."""
    dt = np.dtype(detail["dtype"])
    if dt.kind == "f":
        return x.astype(dt)
    scale, zp = detail["quantization"]
    from numlite.ops.quant import round_half_away

    info = np.iinfo(dt)
    return np.clip(round_half_away(x.astype(np.float64) / np.float64(scale)) + zp, info.min, info.max).astype(dt)


# --- the models ------------------------------------------------------------------------------
def mediapipe_models() -> dict[str, Callable[[], str]]:
    """name (file stem) -> a function giving its cached path."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import mediapipe_models as mpm  # the test suite's downloader and cache

    return {f[:-len(".tflite")]: (lambda f=f: str(mpm.model_path(f))) for f in sorted(mpm.MODELS)}


def all_names() -> list[str]:
    try:
        mp = list(mediapipe_models())
    except ImportError as e:  # tests/mediapipe_models.py needs pytest
        print(f"MediaPipe models unavailable: {e}", file=sys.stderr)
        mp = []
    return mp + REFERENCE + OTHERS


def model_file(name: str, tmp: str) -> tuple[str, list[np.ndarray] | None]:
    """The model's path and its input (None: ``seeded_inputs`` of its input details)."""
    from numlite import models

    if name in models.MODELS:
        path = os.path.join(tmp, name + ".tflite")
        with open(path, "wb") as f:
            f.write(models.build(name))
        return path, [models.sample_input(name, seed=0)]
    if name.startswith("lstm"):
        return synthetic_model(name, tmp), None
    if name in ("transformer", "transformer_int8"):
        path = os.path.join(tmp, name + ".tflite")
        with open(path, "wb") as f:
            f.write(transformer_block() if name == "transformer" else transformer_int8())
        return path, None  # float: seeded normal; int8: filled in by ``inputs_for``
    mp = mediapipe_models()
    if name not in mp:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(all_names())}")
    return mp[name](), None


def inputs_for(details: list[dict[str, Any]], given: list[np.ndarray] | None) -> list[np.ndarray]:
    if given is not None:
        return given
    rng = np.random.default_rng(0)
    out = []
    for d in details:
        dt = np.dtype(d["dtype"])
        if dt.kind == "f" or (dt in (np.int8, np.uint8) and d["quantization"][0]):
            out.append(quantize_input(rng.uniform(0.0, 1.0, d["shape"]) if d["shape"][-1] == 3
                                      else rng.standard_normal(d["shape"]), d))
        else:
            out.extend(seeded_inputs([d]))
    return out


def needs_mediapipe_ops(path: str) -> bool:
    from numlite.custom import mediapipe as mp_ops
    from numlite.graph import load_model

    m = load_model(model_path=path)
    return any(op.op_name in mp_ops.OPS for sg in m.subgraphs for op in sg.operators)


# --- BLAS floor ------------------------------------------------------------------------------
def _gemm_dtype(kernel: Any) -> np.dtype:
    """The dtype of the GEMM numlite's kernel runs (int8 CONV_2D may fuse its requantization into
    a float64 one; int16 FULLY_CONNECTED / BATCH_MATMUL run float64)."""
    inner = getattr(kernel, "quant", None)
    dt = getattr(inner, "adt", None) or getattr(kernel, "adt", None)
    if dt is None and getattr(kernel, "wide", False):
        dt = np.float64
    return np.dtype(dt or np.float32)


class Gemm(NamedTuple):
    """One matrix product: ``a @ b`` with ``a`` / ``b`` of these shapes, transposed views when
    ``adj_a`` / ``adj_b`` (``b`` is laid out as numlite keeps weights: ``adj_b`` means a transposed
    view of an ``[N, K]`` array).  Products with the same ``weight`` key share one right operand
    (the tiles of one convolution, an LSTM's steps); ``out_offset`` places the result in the
    shared output buffer (a convolution's tiles write consecutive rows of one output)."""

    op: str
    a: tuple[int, ...]
    b: tuple[int, ...]
    adj_a: bool
    adj_b: bool
    dtype: np.dtype
    weight: Any = None
    out_offset: int = 0

    @property
    def flops(self) -> float:
        m, k = (self.a[-1], self.a[-2]) if self.adj_a else (self.a[-2], self.a[-1])
        n = self.b[-2] if self.adj_b else self.b[-1]
        batch = int(np.prod(np.broadcast_shapes(self.a[:-2], self.b[:-2])))
        return 2.0 * batch * m * k * n


def _conv_gemms(ni: int, kernel: Any, shapes: list[tuple[int, ...]], dt: np.dtype, tiled: bool) -> list[Gemm]:
    """CONV_2D: ``[rows, KH*KW*Cin_g] x [KH*KW*Cin_g, Cout_g]`` per group.  ``tiled``: split into
    the row tiles numlite runs (its im2col buffer is one tile, written just before the GEMM reads
    it; ``K`` counts the bias row numlite folds into the weights), read from the kernel's
    ``geom`` / ``tiles`` / ``wmat`` where it has them; else one GEMM over all ``N*OH*OW`` rows."""
    node = kernel.node
    x, f, y = shapes[node.inputs[0]], shapes[node.inputs[1]], shapes[node.outputs[0]]
    cout, kh, kw, cin_g = f
    impl = getattr(kernel, "quant", None) or kernel
    groups = int(getattr(impl, "groups", 0) or max(1, x[3] // cin_g))
    k = kh * kw * cin_g
    rows = y[0] * y[1] * y[2]
    spans = [(0, rows)]
    geom, tiles, wmat = getattr(impl, "geom", None), getattr(impl, "tiles", None), getattr(impl, "wmat", None)
    if tiled and geom is not None and tiles:
        from numlite.ops._conv import tile_rows

        spans = [tile_rows(geom, t) for t in tiles]
        if wmat is not None and getattr(wmat, "ndim", 0) == 3:
            k = wmat.shape[1]
    return [Gemm("CONV_2D", (r1 - r0, k), (cout // groups, k), False, True, dt, (ni, gi), r0 * cout)
            for r0, r1 in spans for gi in range(groups)]


def gemm_shapes(executor: Any, tiled: bool = True) -> list[Gemm]:
    """Every matrix product numlite runs for the subgraph's live steps (module docstring, step 3)."""
    shapes = executor.shapes
    out: list[Gemm] = []
    for ni in executor.step_nodes:
        kernel = executor.kernels[ni]
        node = kernel.node
        name, ins = node.op_name, node.inputs
        dt = _gemm_dtype(kernel)
        if name == "CONV_2D":
            out += _conv_gemms(ni, kernel, shapes, dt, tiled)
        elif name in ("TRANSPOSE_CONV", "Convolution2DTransposeBias"):
            x, f = (shapes[ins[2]], shapes[ins[1]]) if name == "TRANSPOSE_CONV" else (shapes[ins[0]], shapes[ins[1]])
            cout, kh, kw, cin = f
            out.append(Gemm(name, (int(np.prod(x[:-1])), cin), (cin, kh * kw * cout), False, False, dt))
        elif name == "FULLY_CONNECTED":
            n, k = shapes[ins[1]]
            m = int(np.prod(shapes[ins[0]])) // max(k, 1)
            out.append(Gemm(name, (m, k), (n, k), False, True, dt))
        elif name == "BATCH_MATMUL":
            opts = node.options or {}
            out.append(Gemm(name, tuple(shapes[ins[0]]), tuple(shapes[ins[1]]), bool(opts.get("adj_x")),
                            bool(opts.get("adj_y")), dt))
        elif name == "UNIDIRECTIONAL_SEQUENCE_LSTM":
            x = shapes[ins[0]]
            t, b = (x[0], x[1]) if (node.options or {}).get("time_major", True) else (x[1], x[0])
            gates = sum(1 for s in (1, 2, 3, 4) if ins[s] >= 0)
            n_cell, n_in = shapes[ins[2]]
            n_out = shapes[ins[6]][1] if len(shapes[ins[6]]) == 2 else n_cell
            out.append(Gemm(name, (t * b, n_in), (gates * n_cell, n_in), False, True, dt))
            out += [Gemm(name, (b, n_out), (gates * n_cell, n_out), False, True, dt, (ni, "recurrent"))] * t
            if len(ins) > 16 and ins[16] >= 0:
                out += [Gemm(name, (b, n_cell), (n_out, n_cell), False, True, dt, (ni, "projection"))] * t
    return out


def floor_fn(gemms: list[Gemm], seed: int = 0) -> Callable[[], None]:
    """One call runs every product of ``gemms`` once on random operands: the left operands are
    views on the start of one buffer per dtype (as numlite's im2col tile buffer is reused), the
    outputs views at ``out_offset`` of another; the right ones (weights) are distinct arrays
    unless they share a ``weight`` key."""
    rng = np.random.default_rng(seed)
    need_a: dict[np.dtype, int] = defaultdict(int)
    need_o: dict[np.dtype, int] = defaultdict(int)
    weights: dict[Any, np.ndarray] = {}
    plans = []
    for g in gemms:
        key = g.weight if g.weight is not None else object()
        if key not in weights:
            weights[key] = rng.standard_normal(g.b).astype(g.dtype)
        bv = weights[key].swapaxes(-1, -2) if g.adj_b else weights[key]
        a_view = (*g.a[:-2], g.a[-1], g.a[-2]) if g.adj_a else g.a
        o_shape = np.broadcast_shapes(a_view[:-2], bv.shape[:-2]) + (a_view[-2], bv.shape[-1])
        need_a[g.dtype] = max(need_a[g.dtype], int(np.prod(g.a)))
        need_o[g.dtype] = max(need_o[g.dtype], g.out_offset + int(np.prod(o_shape)))
        plans.append((g, bv, o_shape))
    pools = {dt: rng.standard_normal(n).astype(dt) for dt, n in need_a.items()}
    outs = {dt: np.zeros(n, dt) for dt, n in need_o.items()}
    calls = []
    for g, bv, o_shape in plans:
        a = pools[g.dtype][:int(np.prod(g.a))].reshape(g.a)
        o = outs[g.dtype][g.out_offset:g.out_offset + int(np.prod(o_shape))].reshape(o_shape)
        calls.append((a.swapaxes(-1, -2) if g.adj_a else a, bv, o))
    mm = np.matmul

    def run() -> None:
        for a, b, o in calls:
            mm(a, b, out=o)
    return run


# --- one measurement -------------------------------------------------------------------------
def bench(path: str, threads: int, runs: int, warmup: int, profile_runs: int,
          given: list[np.ndarray] | None, custom: bool, tiled: bool = True, delegate: str | None = None
          ) -> dict[str, Any]:
    import numlite
    from numlite import _blas

    res: dict[str, Any] = {"threads": threads}
    kw: dict[str, Any] = {}
    if custom:
        from numlite.custom import mediapipe as mp_ops

        kw["custom_ops"] = mp_ops.OPS
    if delegate:
        kw["experimental_delegates"] = [numlite.load_delegate(delegate)]
    t0 = time.perf_counter()
    nl = numlite.Interpreter(model_path=path, num_threads=threads, **kw)
    nl.allocate_tensors()
    feeds = inputs_for(nl.get_input_details(), given)
    for d, v in zip(nl.get_input_details(), feeds):
        nl.set_tensor(d["index"], v)
    nl.invoke()
    res["numlite_load_first_ms"] = (time.perf_counter() - t0) * 1e3
    # outputs compared are the first invoke's: a stateful model (LSTM state carried across
    # invokes) would compare hundreds of invokes of accumulated rounding otherwise
    first_nl = [nl.get_tensor(d["index"]).copy() for d in nl.get_output_details()]
    res["partitions"] = [op.op_name for op in nl._runtime.operators[0]].count("DELEGATE")
    lt = None
    if custom:
        res["litert_error"] = "numlite only (MediaPipe custom ops)"
    else:
        try:
            from ai_edge_litert.interpreter import Interpreter as LiteRT

            t0 = time.perf_counter()
            lt = LiteRT(model_path=path, num_threads=threads)
            lt.allocate_tensors()
            for d, v in zip(lt.get_input_details(), feeds):
                lt.set_tensor(d["index"], v)
            lt.invoke()
            res["litert_load_first_ms"] = (time.perf_counter() - t0) * 1e3
            first_lt = [lt.get_tensor(d["index"]).copy() for d in lt.get_output_details()]
        except Exception as e:  # a model LiteRT cannot run
            res["litert_error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            lt = None
    gemms = gemm_shapes(nl._main, tiled)
    res["gemms"] = len(gemms)
    res["gemm_gflop"] = sum(g.flops for g in gemms) / 1e9
    floor = floor_fn(gemms) if gemms else None

    def floor_call() -> None:
        floor()  # type: ignore[misc]

    _blas.set_threads(threads)  # numlite set it already; the floor must run at the same count
    for _ in range(warmup):
        nl.invoke()
        if lt is not None:
            lt.invoke()
        if floor is not None:
            floor()
    t_nl: list[float] = []
    t_lt: list[float] = []
    t_fl: list[float] = []
    block = max(1, min(BLOCK, runs))
    while len(t_nl) < runs:
        timed_block(nl.invoke, t_nl, n=block)
        if lt is not None:
            timed_block(lt.invoke, t_lt, n=block)
        if floor is not None:
            _blas.set_threads(threads)
            timed_block(floor_call, t_fl, n=block)
    res["numlite_ms"] = statistics.median(t_nl) * 1e3
    if lt is not None:
        res["litert_ms"] = statistics.median(t_lt) * 1e3
        res["ratio"] = res["numlite_ms"] / res["litert_ms"]
        diffs, rels = [], []
        for a, b in zip(first_nl, first_lt):
            diffs.append(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0)))
            rels.append(diffs[-1] / max(float(np.max(np.abs(b.astype(np.float64)), initial=0.0)), 1e-30))
        res["max_abs_diff"] = max(diffs, default=0.0)
        res["max_rel_diff"] = max(rels, default=0.0)  # relative to each output's largest magnitude
    res["floor_ms"] = statistics.median(t_fl) * 1e3 if t_fl else 0.0
    res["numlite_over_floor"] = res["numlite_ms"] / res["floor_ms"] if res["floor_ms"] else None
    by_op: dict[str, float] = defaultdict(float)
    kernels = nl._main.kernels
    for node, seconds in nl._main.profile(profile_runs):
        by_op[kernels[node].node.op_name] += seconds
    res["by_op_ms"] = {k: v * 1e3 for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])}
    return res


# --- the machine -----------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpu": None, "flags": [], "cpu_threads": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), None)
        flags = next((ln.split(":", 1)[1].split() for ln in lines if ln.split(":")[0].strip() in
                      ("flags", "Features")), [])
        info["flags"] = [f for f in CPU_FLAGS if f in flags]
    except OSError:
        import platform

        info["cpu"] = platform.processor() or platform.machine()
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                        for i in threadpool_info() if i.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = None
        info["blas_note"] = "threadpoolctl not installed"
        try:
            cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            info["blas_build"] = {k: cfg.get(k) for k in ("name", "version", "openblas configuration")}
        except Exception:  # older NumPy: no dict mode
            info["blas_build"] = None
        from numlite import _blas

        info["openblas_core"] = _blas.corename()
    info["env"] = {k: os.environ.get(k) for k in OPENBLAS_VARS}
    try:
        info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        info["loadavg"] = None
    return info


def machine_line(info: dict[str, Any]) -> str:
    cpu = f"{info['cpu'] or 'unknown CPU'} ({', '.join(info['flags']) or 'no listed vector extensions'})"
    if info.get("blas"):
        blas = "; ".join(f"{b['internal_api']} {b['version']}, kernel {b['architecture']}, "
                         f"num_threads {b['num_threads']} (as last set)" for b in info["blas"])
    elif info.get("blas_note"):
        build = info.get("blas_build") or {}
        blas = (f"{info['blas_note']}; NumPy built with {build.get('name', '?')} {build.get('version', '')} "
                f"({build.get('openblas configuration') or 'no configuration string'}); OpenBLAS core "
                f"{info.get('openblas_core') or 'unknown'}")
    else:
        blas = "none found by threadpoolctl"
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items() if v is not None) or \
        "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
    load = f"; load average {' / '.join(map(str, info['loadavg']))} (1 / 5 / 15 min) at the end" \
        if info.get("loadavg") else ""
    return f"CPU: {cpu}; {info['cpu_threads']} CPU threads; BLAS: {blas}; {env}{load}"


# --- output ----------------------------------------------------------------------------------
def _ms(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def gmean(xs: list[float]) -> float:
    return float(np.exp(np.mean(np.log(xs))))


def geomeans(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for t in sorted({r["threads"] for r in rows}):
        ratios = [r["ratio"] for r in rows if r["threads"] == t and r.get("ratio")]
        floors = [r["numlite_over_floor"] for r in rows if r["threads"] == t and r.get("numlite_over_floor")]
        out[t] = {"ratio": gmean(ratios) if ratios else None, "ratio_models": len(ratios),
                  "ratio_max": max(ratios, default=None), "over_floor": gmean(floors) if floors else None,
                  "floor_models": len(floors)}
    return out


def table(rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    out = [machine_line(info), "",
           "| model | threads | numlite (ms) | LiteRT (ms) | numlite / LiteRT | BLAS floor (ms) | numlite / floor "
           "| numlite's time by op (top 4) |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['model']} | {r['threads']} | error: {r['error']} | | | | | |")
            continue
        total = sum(r["by_op_ms"].values()) or 1.0
        ops = ", ".join(f"{op} {100 * v / total:.0f}%" for op, v in list(r["by_op_ms"].items())[:4])
        lt = _ms(r.get("litert_ms")) if "litert_ms" in r else (
            "numlite only" if r.get("litert_error", "").startswith("numlite only") else "error")
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") else "n/a"
        nf = f"{r['numlite_over_floor']:.1f}" if r.get("numlite_over_floor") else "n/a"
        out.append(f"| {r['model']} | {r['threads']} | {_ms(r['numlite_ms'])} | {lt} | {ratio} | "
                   f"{_ms(r['floor_ms']) if r['floor_ms'] else 'no GEMM'} | {nf} | {ops} |")
    out.append("")
    for t, g in geomeans(rows).items():
        ratio = f"{g['ratio']:.2f} over {g['ratio_models']} models (max {g['ratio_max']:.2f})" if g["ratio"] else "n/a"
        floor = f"{g['over_floor']:.1f} over {g['floor_models']} models" if g["over_floor"] else "n/a"
        out.append(f"- {t} thread(s): geometric mean numlite / LiteRT {ratio}; numlite / BLAS floor {floor}")
    errs = [(r["model"], r["threads"], r["litert_error"]) for r in rows
            if r.get("litert_error") and not r["litert_error"].startswith("numlite only")]
    for m, t, e in errs:
        out.append(f"- {m} ({t} thread(s)): LiteRT could not run it: {e}")
    return "\n".join(out)


def run_all(names: list[str], threads: list[int], runs: int, warmup: int, profile_runs: int,
            tiled: bool = True, delegate: str | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="numlite-bench-models-") as tmp:
        for name in names:
            try:
                path, given = model_file(name, tmp)
                custom = needs_mediapipe_ops(path)
            except Exception as e:
                msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                print(f"{name}: cannot build or find it: {msg}", file=sys.stderr)
                rows += [{"model": name, "threads": t, "error": msg} for t in threads]
                continue
            for t in threads:
                print(f"{name}: {t} thread(s), {runs} interleaved runs ...", file=sys.stderr, flush=True)
                try:
                    r = bench(path, t, runs, warmup, profile_runs, given, custom, tiled, delegate)
                except Exception as e:
                    r = {"threads": t, "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
                    print(f"{name}: {r['error']}", file=sys.stderr)
                rows.append({"model": name, **r})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", help="model names (default: all; see the module docstring)")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per runtime (default 10)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--profile-runs", type=int, default=3, help="runs of numlite's per-step profile")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--untiled-floor", action="store_true",
                    help="time each CONV_2D's GEMM at its full N*OH*OW rows, not in numlite's row tiles")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--openblas-both", action="store_true",
                    help="also measure in a subprocess with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset")
    ap.add_argument("--delegate", metavar="NAME",
                    help="run numlite with this delegate (numlite.load_delegate(NAME), e.g. onnxruntime); the table "
                         "then also gives the partitions, the largest output difference relative to the output's "
                         "magnitude, and load to first result (in process) of both runtimes")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, ROOT)
    names = args.models or all_names()
    rows = run_all(names, args.threads, args.runs, args.warmup, args.profile_runs, not args.untiled_floor,
                   args.delegate)
    info = machine()
    print("\n" + table(rows, info))
    if args.delegate:
        print(f"\nWith numlite.load_delegate({args.delegate!r}): partitions, max |numlite - LiteRT| / max |LiteRT| "
              "over the outputs, load to first result in this process (construct, allocate, set inputs, invoke; "
              "imports already done):\n")
        print("| model | threads | partitions | max rel diff | load+first numlite (ms) | LiteRT (ms) |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            if "error" not in r:
                print(f"| {r['model']} | {r['threads']} | {r.get('partitions')} | "
                      f"{r['max_rel_diff']:.1e} | {r['numlite_load_first_ms']:.1f} | "
                      f"{_ms(r.get('litert_load_first_ms'))} |" if "max_rel_diff" in r else
                      f"| {r['model']} | {r['threads']} | {r.get('partitions')} | n/a | "
                      f"{r['numlite_load_first_ms']:.1f} | n/a |")
    result: dict[str, Any] = {"machine": info, "machine_line": machine_line(info), "runs": args.runs,
                              "delegate": args.delegate,
                              "floor": "untiled" if args.untiled_floor else "tiled",
                              "threads": args.threads, "rows": rows,
                              "geomean": {str(t): g for t, g in geomeans(rows).items()},
                              "python": sys.version.split()[0], "numpy": np.__version__}
    if args.openblas_both:
        set_vars = [k for k in OPENBLAS_VARS if k in os.environ]
        if not set_vars:
            print("\n--openblas-both: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset already: the table above "
                  "is the one without them.")
        else:
            env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
            with tempfile.TemporaryDirectory(prefix="numlite-bench-models-") as tmp:
                out_json = os.path.join(tmp, "unset.json")
                cmd = [sys.executable, os.path.abspath(__file__), "--models", *names, "--runs", str(args.runs),
                       "--warmup", str(args.warmup), "--profile-runs", str(args.profile_runs),
                       "--threads", *map(str, args.threads), "--json", out_json]
                cmd += ["--untiled-floor"] if args.untiled_floor else []
                print(f"\n--openblas-both: measuring again with {' and '.join(set_vars)} unset ...",
                      file=sys.stderr, flush=True)
                p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
                print(f"\n### With {' and '.join(set_vars)} unset (a subprocess)\n")
                print(p.stdout.strip())
                if p.returncode == 0 and os.path.exists(out_json):
                    with open(out_json) as f:
                        result["openblas_unset"] = json.load(f)
                else:
                    result["openblas_unset"] = {"error": f"subprocess exited with {p.returncode}"}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
