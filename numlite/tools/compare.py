"""``numlite compare``: two executions that keep every intermediate tensor, compared tensor by
tensor, with the op where they part.

    numlite compare m.tflite                        numlite vs LiteRT (reference kernels), one model
    numlite compare float.tflite int8.tflite        a float model vs its quantized twin, on numlite

The same in Python::

    from numlite.tools.compare import compare
    report = compare("mobilenet_v2.tflite", "mobilenet_v2_int8.tflite", seed=0)
    report["verdict"]          # "outputs match ..." or "first divergence at op #i NAME (tensor 'x'): ..."
    report["records"]          # one dict per compared tensor, in execution order
    report["divergence"]       # the record where the error first rises (None when they match)

``compare(model_a, model_b=None, *, reference=None, inputs=None, seed=0, snr_threshold=None,
tolerance=1e-5, litert_resolver="ref", threads=1) -> dict`` (models: paths or ``bytes``;
``inputs``: ``{input name: array}`` or a list in the model's input order; missing inputs are
seeded random values as ``numlite run`` draws them).

How it works:

1. **Two executions.**  One model: numlite and LiteRT, both with
   ``experimental_preserve_all_tensors=True``; LiteRT with
   ``OpResolverType.BUILTIN_REF`` (its reference kernels, which numlite matches bit-exactly
   for quantized models; ``litert_resolver="auto"`` uses LiteRT's default, optimised ones).
   LiteRT is the reference (``reference="numlite"`` swaps the roles).  Two models: the float
   model is the reference and the quantized one is compared against it (whichever order they
   are given in; when both or neither are quantized, the first is the reference), both run on
   numlite (``reference="litert"``: both on LiteRT).
2. **Same inputs.**  Given or seeded random inputs are made for the reference; for two models
   a float input is quantized (scale, zero point, round half away from zero, clamped) where
   the other model's input is int8/uint8/int16.  Inputs correspond by name (an ``_int8`` /
   ``_int16`` suffix ignored) or else by position; a different count, shape or an unconvertible type is exit 5.
3. **Tensors matched.**  One model: by tensor index.  Two models: by name (the quantized
   twin's ``NAME_int8`` / ``NAME_int16`` / ``NAME_requantized`` tensors, which ``numlite.quantize`` writes at
   the model's edges and before same-scale ops, stand for the float ``NAME``); the tensors
   still unmatched are paired by position: the k-th tensor produced in execution order in one
   model with the k-th in the other, not counting outputs of QUANTIZE / DEQUANTIZE ops (which
   only the quantized twin has), when both models produce equally many and the shapes agree.
   Constants are not compared; graph inputs and every op output (subgraph 0) are.
4. **Per tensor**, in execution order (graph inputs, then each op's outputs in op order):
   values are made real (quantized tensors dequantized with their own scale and zero point,
   per channel where they have several), and we report the max abs error, the error in
   quantized steps (max abs error / the quantized tensor's scale), and the SNR
   ``10*log10(sum(ref^2) / sum(err^2))`` in dB (inf when equal), the SNR of the op's inputs
   (the lowest of its compared, non-constant inputs; inf for graph inputs) and the drop
   between the two.
5. **Divergence.**  A tensor *diverges* when its SNR is below ``snr_threshold`` (two
   models; default 15 dB: healthy int8 layers sit at 20-45 dB, MobileNet v2's deepest at 21.6)
   or, for one model, when any value differs on an integer tensor or a float tensor's max abs
   error exceeds ``tolerance * (1 + max|ref|)`` (and, with ``snr_threshold`` given, its SNR is
   below it as well).  ``first_below`` is the first diverging
   tensor in execution order; ``divergence``, the verdict's op, is the diverging tensor whose
   SNR drops most below its inputs' SNR - where the error first rises, rather than where it
   has merely grown past the threshold (earliest on ties, so for one model it is the first
   tensor that differs while its inputs agree).
"""

from __future__ import annotations

import argparse
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import (
    BAD_INPUT,
    BAD_MODEL,
    EXIT_CODES_HELP,
    FAILED,
    MISSING_EXTRA,
    USAGE,
    CLIError,
    load_model,
    make_interpreter,
    optional_import,
    print_json,
    random_input,
)

DEFAULT_SNR_THRESHOLD = 15.0  # dB, float vs quantized: healthy int8 layers sit at 20-45 dB
DEFAULT_TOLERANCE = 1e-5  # numlite vs LiteRT on float tensors: err <= tol * (1 + max|ref|)
_QUANT_OPS = ("QUANTIZE", "DEQUANTIZE")
_TWIN_SUFFIXES = ("_int8", "_int16", "_requantized")

EPILOG = """examples:
  numlite compare model_int8.tflite                      numlite vs LiteRT's reference kernels
  numlite compare model_int8.tflite --litert-resolver auto --json > diff.json
  numlite compare float.tflite int8.tflite --input input=image.npy --plot snr.png
  numlite compare float.tflite int8.tflite --snr-threshold 20 --reference litert

""" + EXIT_CODES_HELP


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare every intermediate tensor: numlite vs LiteRT, or a float model vs its int8 twin",
        description="Run two executions that keep every intermediate tensor and compare them tensor by tensor: "
                    "one model on numlite and on LiteRT, or a float model and its quantized twin. Prints per "
                    "tensor the max abs error, the error in quantized steps and the SNR, and names the op where "
                    "the error first rises.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="the .tflite model (one model: numlite vs LiteRT)")
    p.add_argument("model2", nargs="?", help="a second model: its float or quantized twin")
    p.add_argument("--reference", choices=("litert", "numlite"),
                   help="one model: the runtime compared against (default litert); "
                        "two models: the runtime both run on (default numlite)")
    p.add_argument("--litert-resolver", choices=("ref", "auto"), default="ref",
                   help="LiteRT's kernels: ref = BUILTIN_REF, the reference kernels (default); auto = its default")
    p.add_argument("--input", action="append", nargs="+", metavar="NAME=FILE.npy", default=[],
                   help="an input from a .npy file (NAME may be left out for a one-input model); "
                        "inputs not given are seeded random")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    p.add_argument("--snr-threshold", type=float, metavar="DB",
                   help=f"a tensor diverges below this SNR (default {DEFAULT_SNR_THRESHOLD:g} dB for two models; "
                        "one model: any difference)")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help="one model: float tensors diverge when max abs error > TOL * (1 + max|ref|) "
                        f"(default {DEFAULT_TOLERANCE:g})")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--plot", metavar="FILE.png", help="plot the SNR per tensor in execution order (needs matplotlib)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    p.set_defaults(func=command)


# -- executions ----------------------------------------------------------------------------------
@dataclass
class _Side:
    """One model on one runtime: its graph, interpreter, and after ``run`` every tensor's value."""

    label: str  # "numlite" / "LiteRT" / the model's file name
    source: str | bytes
    runtime: str  # "numlite" | "litert"
    graph: Any = None  # numlite.graph.Subgraph 0
    it: Any = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    values: dict[int, np.ndarray] = field(default_factory=dict)
    unreadable: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.source if isinstance(self.source, str) else f"<{len(self.source)} bytes>"


def _load_graph(source: str | bytes) -> Any:
    import numlite

    if isinstance(source, (bytes, bytearray, memoryview)):
        try:
            return numlite.load_model(model_content=bytes(source)).subgraphs[0]
        except ValueError as e:
            raise CLIError(f"model bytes: {e}", BAD_MODEL) from None
    return load_model(os.fspath(source)).subgraphs[0]


def _litert_module() -> Any:
    try:
        return optional_import("ai_edge_litert.interpreter", "litert", "ai-edge-litert")
    except CLIError:
        raise CLIError("comparing with LiteRT needs ai-edge-litert, which is not installed: pip install "
                       "ai-edge-litert (or compare two models on numlite)", MISSING_EXTRA) from None


def _open(side: _Side, threads: int, resolver: str) -> None:
    import numlite

    if side.graph is None:
        side.graph = _load_graph(side.source)
    if side.runtime == "numlite":
        if isinstance(side.source, str):
            side.it = make_interpreter(side.source, threads, experimental_preserve_all_tensors=True)
        else:
            from ._common import optional_custom_ops

            side.it = numlite.Interpreter(model_content=bytes(side.source), num_threads=threads,
                                          experimental_preserve_all_tensors=True, custom_ops=optional_custom_ops())
    else:
        lite = _litert_module()
        kw: dict[str, Any] = {"experimental_preserve_all_tensors": True, "num_threads": threads}
        if resolver == "ref":
            kw["experimental_op_resolver_type"] = lite.OpResolverType.BUILTIN_REF
        src = {"model_path": side.source} if isinstance(side.source, str) else {"model_content": bytes(side.source)}
        try:
            with warnings.catch_warnings():  # "preserve_all_tensors ... for debugging purposes only"
                warnings.simplefilter("ignore", UserWarning)
                side.it = lite.Interpreter(**src, **kw)
        except (RuntimeError, ValueError) as e:
            raise CLIError(f"LiteRT cannot load {side.name}: {e}", FAILED) from None
    try:
        side.it.allocate_tensors()
    except (RuntimeError, ValueError) as e:
        if side.runtime == "numlite":
            raise
        raise CLIError(f"LiteRT cannot prepare {side.name}: {e}", FAILED) from None
    side.inputs = side.it.get_input_details()


def _run(side: _Side, feeds: list[np.ndarray]) -> None:
    it = side.it
    try:
        resized = False
        for d, v in zip(side.inputs, feeds):
            if tuple(int(s) for s in d["shape"]) != v.shape:
                it.resize_tensor_input(d["index"], list(v.shape))
                resized = True
        if resized:
            it.allocate_tensors()
    except (RuntimeError, ValueError) as e:
        shapes = ", ".join(f"'{d['name']}' {list(v.shape)}" for d, v in zip(side.inputs, feeds))
        raise CLIError(f"{side.label} cannot take inputs of shape {shapes}: {str(e).strip()}", BAD_INPUT) from None
    try:
        for d, v in zip(it.get_input_details(), feeds):
            it.set_tensor(d["index"], v)
    except ValueError as e:
        raise CLIError(f"{side.label}: {str(e).strip()}", BAD_INPUT) from None
    try:
        it.invoke()
    except (RuntimeError, ValueError) as e:
        if side.runtime == "numlite":
            raise
        raise CLIError(f"LiteRT failed to run {side.name}: {str(e).strip()}", FAILED) from None
    side.details = it.get_tensor_details()
    for d in side.details:
        i = int(d["index"])
        if i >= len(side.graph.tensors):  # LiteRT's own temporaries (hybrid kernels add them)
            continue
        t = side.graph.tensors[i]
        if t.is_constant:
            continue
        try:
            v = it.get_tensor(i)
        except (RuntimeError, ValueError, TypeError):  # LiteRT refuses some tensors
            side.unreadable.append(i)
            continue
        side.values[i] = np.asarray(v)


# -- inputs --------------------------------------------------------------------------------------
def _stem(name: str) -> str:
    for s in _TWIN_SUFFIXES:
        if name.endswith(s):
            return name[: -len(s)]
    return name


def _is_quantized_int(d: dict[str, Any]) -> bool:
    return np.dtype(d["dtype"]).kind in "iu" and len(d["quantization_parameters"]["scales"]) > 0


def _quantize(x: np.ndarray, d: dict[str, Any]) -> np.ndarray:
    from numlite.ops.quant import round_half_away

    scale, zp = d["quantization"]
    if not scale:
        qp = d["quantization_parameters"]
        scale, zp = float(qp["scales"][0]), int(qp["zero_points"][0])
    dt = np.dtype(d["dtype"])
    info = np.iinfo(dt)
    q = round_half_away(x.astype(np.float64) / np.float64(np.float32(scale))) + zp
    return np.clip(q, info.min, info.max).astype(dt)


def _dequantize_input(q: np.ndarray, d: dict[str, Any], dtype: Any) -> np.ndarray:
    scale, zp = d["quantization"]
    return ((q.astype(np.float64) - zp) * scale).astype(dtype)


def _pair_inputs(ref: _Side, test: _Side) -> list[int]:
    """For each reference input, the position of the test model's input that corresponds."""
    r, t = ref.inputs, test.inputs
    if len(r) != len(t):
        raise CLIError(f"the models' inputs do not correspond: {ref.label} has {len(r)} input(s), "
                       f"{test.label} has {len(t)}", BAD_INPUT)
    by_name = {_stem(d["name"]): k for k, d in enumerate(t)}
    pairs = [by_name.get(_stem(d["name"]), -1) for d in r]
    if sorted(pairs) != list(range(len(t))):
        pairs = list(range(len(t)))  # names differ: by position
    for k, d in enumerate(r):
        e = t[pairs[k]]
        rs, ts = [int(v) for v in d["shape"]], [int(v) for v in e["shape"]]
        rd, td = np.dtype(d["dtype"]), np.dtype(e["dtype"])
        convertible = rd == td or (rd.kind == "f" and (td.kind == "f" or _is_quantized_int(e))) or (
            td.kind == "f" and _is_quantized_int(d))
        if rs != ts or not convertible:
            raise CLIError(f"the models' inputs do not correspond: '{d['name']}' {rd.name}{rs} in {ref.label} vs "
                           f"'{e['name']}' {td.name}{ts} in {test.label}", BAD_INPUT)
    return pairs


def _convert_input(v: np.ndarray, src: dict[str, Any] | None, dst: dict[str, Any]) -> np.ndarray:
    """``v`` (typed for ``src``) as ``dst`` takes it: quantized, dequantized or cast."""
    dt = np.dtype(dst["dtype"])
    if v.dtype == dt:
        return v
    if v.dtype.kind == "f" and _is_quantized_int(dst):
        return _quantize(v, dst)
    if v.dtype.kind in "iu" and dt.kind == "f" and src is not None and _is_quantized_int(src):
        return _dequantize_input(v, src, dt)
    if v.dtype.kind == "f" and dt.kind == "f":
        return v.astype(dt)
    raise CLIError(f"input '{dst['name']}' takes {dt.name}, given {v.dtype.name}", BAD_INPUT)


def _load_npy(path: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise CLIError(f"{path}: no such input file", BAD_INPUT)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise CLIError(f"{path}: not a readable .npy file ({str(e).strip()})", BAD_INPUT) from None


def _given_inputs(specs: list[str], names: list[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            if len(names) != 1:
                raise CLIError(f"--input {spec}: give NAME=FILE.npy (the model's inputs: {names})", BAD_INPUT)
            name, path = names[0], spec
        out[name] = _load_npy(path)
    return out


def _make_feeds(ref: _Side, test: _Side, pairs: list[int], given: Any, seed: int, same_model: bool
                ) -> tuple[list[np.ndarray], list[np.ndarray], list[dict[str, Any]]]:
    """Reference feeds, test feeds (in each model's input order), and a description of each."""
    rng = np.random.default_rng(seed)
    n = len(ref.inputs)
    by_name: dict[str, np.ndarray] = {}
    if isinstance(given, dict):
        by_name = {str(k): np.asarray(v) for k, v in given.items()}
    elif given is not None:
        given = list(given)
        if len(given) != n:
            raise CLIError(f"{n} input(s) expected, {len(given)} given", BAD_INPUT)
        by_name = {d["name"]: np.asarray(v) for d, v in zip(ref.inputs, given)}
    known = {d["name"]: k for k, d in enumerate(ref.inputs)}
    for k, d in enumerate(test.inputs):
        known.setdefault(d["name"], pairs.index(k))
        known.setdefault(_stem(d["name"]), pairs.index(k))
    for name in by_name:
        if name not in known:
            raise CLIError(f"no input named '{name}'; the model's inputs: {[d['name'] for d in ref.inputs]}", BAD_INPUT)
    ref_feeds: list[np.ndarray] = []
    test_feeds: list[np.ndarray] = [np.empty(0)] * n
    described = []
    for k, d in enumerate(ref.inputs):
        e = test.inputs[pairs[k]]
        v = next((a for name, a in by_name.items() if known[name] == k), None)
        if v is None:
            rv, source = random_input(d, rng), f"random (seed {seed})"
            tv = _convert_input(rv, d, e)
        else:
            source = "given"
            if v.dtype.kind == "O" or v.dtype.kind not in "biuf":
                raise CLIError(f"input '{d['name']}': a {v.dtype.name} array cannot be fed", BAD_INPUT)
            if same_model and v.dtype != np.dtype(d["dtype"]):
                raise CLIError(f"input '{d['name']}' takes {np.dtype(d['dtype']).name}, given {v.dtype.name}",
                               BAD_INPUT)
            if v.dtype == np.dtype(d["dtype"]):
                rv = _convert_input(v, None, d)
                tv = _convert_input(rv, d, e)
            else:  # given in the other model's type
                tv = _convert_input(v, None, e)
                rv = _convert_input(tv, e, d)
        ref_feeds.append(rv)
        test_feeds[pairs[k]] = tv
        described.append({"name": d["name"], "shape": list(rv.shape), "dtype": rv.dtype.name, "source": source,
                          "compared_as": e["name"], "compared_dtype": tv.dtype.name})
    return ref_feeds, test_feeds, described


# -- matching and metrics ------------------------------------------------------------------------
def _order(graph: Any) -> list[tuple[int, int, str]]:
    """(tensor, op index or -1, op name) for the graph inputs, then each op's outputs, in order."""
    seen: set[int] = set()
    out = []
    for i in graph.inputs:
        if i >= 0 and i not in seen:
            seen.add(i)
            out.append((i, -1, "(input)"))
    for op in graph.operators:
        for i in op.outputs:
            if i >= 0 and i not in seen:
                seen.add(i)
                out.append((i, op.index, op.op_name))
    return out


def _match(ref: _Side, test: _Side, same_model: bool) -> tuple[dict[int, tuple[int, str]], int]:
    """test tensor -> (ref tensor, rule); and the number of test tensors left unmatched."""
    test_order = _order(test.graph)
    if same_model:
        return {i: (i, "index") for i, _, _ in test_order}, 0
    ref_order = _order(ref.graph)
    ref_shape = {i: tuple(ref.graph.tensors[i].shape) for i, _, _ in ref_order}
    by_name: dict[str, int] = {}
    for i, _, _ in ref_order:
        by_name.setdefault(ref.graph.tensors[i].name, i)
    matched: dict[int, tuple[int, str]] = {}
    for i, _, _ in test_order:
        t = test.graph.tensors[i]
        for name, rule in ((t.name, "name"), (_stem(t.name), "name")):
            j = by_name.get(name)
            if j is not None and ref_shape[j] == tuple(t.shape):
                matched[i] = (j, rule)
                break
    # by position, for what names did not match
    r_seq = [i for i, _, op in ref_order if op not in _QUANT_OPS]
    t_seq = [i for i, _, op in test_order if op not in _QUANT_OPS]
    if len(r_seq) == len(t_seq):
        used = {j for j, _ in matched.values()}
        for i, j in zip(t_seq, r_seq):
            if i not in matched and j not in used and ref_shape[j] == tuple(test.graph.tensors[i].shape):
                matched[i] = (j, "position")
    return matched, sum(1 for i, _, _ in test_order if i not in matched)


def _real(v: np.ndarray, d: dict[str, Any]) -> np.ndarray | None:
    """The real values of a tensor (dequantized when quantized); None when not numeric."""
    if v.dtype.kind == "b":
        return v.astype(np.float64)
    if v.dtype.kind not in "iuf":
        return None
    x = v.astype(np.float64)
    qp = d["quantization_parameters"]
    scales = np.asarray(qp["scales"], np.float64)
    if v.dtype.kind in "iu" and scales.size:
        zps = np.asarray(qp["zero_points"], np.float64)
        if scales.size > 1 and x.ndim:
            shape = [1] * x.ndim
            shape[int(qp["quantized_dimension"])] = -1
            scales, zps = scales.reshape(shape), zps.reshape(shape)
        x = (x - zps) * scales
    return x


def _step(v: np.ndarray, d: dict[str, Any]) -> np.ndarray | None:
    """The quantized step (scale) of a quantized tensor, broadcastable to it; None otherwise."""
    scales = np.asarray(d["quantization_parameters"]["scales"], np.float64)
    if v.dtype.kind not in "iu" or not scales.size:
        return None
    if scales.size > 1 and v.ndim:
        shape = [1] * v.ndim
        shape[int(d["quantization_parameters"]["quantized_dimension"])] = -1
        return scales.reshape(shape)
    return scales.reshape(()) if scales.size == 1 else None


def snr_db(ref: np.ndarray, err: np.ndarray) -> float:
    """10*log10(sum(ref^2) / sum(err^2)); inf when err is all zero, -inf when ref is."""
    e = float(np.sum(np.square(err)))
    if e == 0.0:
        return math.inf
    s = float(np.sum(np.square(ref)))
    return 10.0 * math.log10(s / e) if s > 0 else -math.inf


def _metrics(rv: np.ndarray, rd: dict[str, Any], tv: np.ndarray, td: dict[str, Any]) -> dict[str, Any] | None:
    r, t = _real(rv, rd), _real(tv, td)
    if r is None or t is None or r.shape != t.shape:
        return None
    both_nan = np.isnan(r) & np.isnan(t)
    if both_nan.any():
        r, t = np.where(both_nan, 0.0, r), np.where(both_nan, 0.0, t)
    err = t - r
    err = np.where(np.isnan(err), np.inf, err)
    abs_err = np.abs(err)
    max_err = float(abs_err.max()) if abs_err.size else 0.0
    step = _step(tv, td)
    if step is None:
        step = _step(rv, rd)
    steps = float((abs_err / step).max()) if step is not None and abs_err.size else None
    if rv.dtype == tv.dtype and rv.dtype.kind in "biu":
        differing = int(np.count_nonzero(rv != tv))
    else:
        differing = int(np.count_nonzero(abs_err))
    finite_ref = r[np.isfinite(r)]
    return {"max_abs_error": max_err, "max_abs_ref": float(np.abs(finite_ref).max()) if finite_ref.size else 0.0,
            "error_steps": steps, "snr_db": snr_db(np.where(np.isfinite(r), r, 0.0), err), "differing": differing}


def _fmt_db(v: float | None) -> str:
    if v is None:
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.1f}"


# -- the comparison ------------------------------------------------------------------------------
def compare(model_a: str | bytes, model_b: str | bytes | None = None, *, reference: str | None = None,
            inputs: Any = None, seed: int = 0, snr_threshold: float | None = None,
            tolerance: float = DEFAULT_TOLERANCE, litert_resolver: str = "ref", threads: int = 1) -> dict[str, Any]:
    """Compare two executions tensor by tensor (see the module docstring).

    Returns a dict: ``mode`` ("numlite-vs-litert" / "float-vs-quantized" / "two-models"),
    ``reference`` and ``compared`` (model, runtime), ``inputs`` (name, shape, dtype, source),
    ``snr_threshold``, ``tolerance``, ``records`` (one per compared tensor in execution order:
    ``position, op_index, op, tensor, tensor_index, ref_tensor, ref_tensor_index, matched_by,
    shape, dtype, ref_dtype, size, max_abs_error, max_abs_ref, error_steps, differing, snr_db,
    inputs_snr_db, snr_drop_db, diverged``), ``skipped`` (counts by reason), ``first_below``,
    ``divergence`` (records, or None), ``outputs_match`` (bool) and ``verdict`` (one line).
    """
    if reference not in (None, "litert", "numlite"):
        raise CLIError(f"reference must be 'litert' or 'numlite', not {reference!r}", USAGE)
    if litert_resolver not in ("ref", "auto"):
        raise CLIError(f"litert_resolver must be 'ref' or 'auto', not {litert_resolver!r}", USAGE)

    def label(src: str | bytes, fallback: str) -> str:
        return os.path.basename(src) if isinstance(src, str) else fallback

    if model_b is None:
        mode = "numlite-vs-litert"
        ref_rt = reference or "litert"
        test_rt = "numlite" if ref_rt == "litert" else "litert"
        names = {"litert": "LiteRT", "numlite": "numlite"}
        ref = _Side(names[ref_rt], model_a, ref_rt)
        test = _Side(names[test_rt], model_a, test_rt)
    else:
        rt = reference or "numlite"
        la, lb = label(model_a, "model A"), label(model_b, "model B")
        if la == lb:
            la, lb = f"{la} (A)", f"{lb} (B)"
        ref = _Side(la, model_a, rt)
        test = _Side(lb, model_b, rt)
    for side in (ref, test) if model_b is not None else ():
        side.graph = _load_graph(side.source)
    if model_b is not None:
        qa, qb = _quantized_share(ref.graph), _quantized_share(test.graph)
        if qa > qb and qb == 0:  # the float model is the reference, whichever order they come in
            ref, test = test, ref
        float_vs_quant = _quantized_share(test.graph) > 0 and _quantized_share(ref.graph) == 0
        mode = "float-vs-quantized" if float_vs_quant else "two-models"
    for side in sorted((ref, test), key=lambda sd: sd.runtime != "numlite"):  # numlite first: its errors
        _open(side, threads, litert_resolver)  # name every op it lacks (exit 4)
    pairs = _pair_inputs(ref, test) if model_b is not None else list(range(len(ref.inputs)))
    ref_feeds, test_feeds, described = _make_feeds(ref, test, pairs, inputs, seed, model_b is None)
    _run(ref, ref_feeds)
    _run(test, test_feeds)

    threshold = snr_threshold if snr_threshold is not None else (
        None if model_b is None else DEFAULT_SNR_THRESHOLD)
    matched, unmatched = _match(ref, test, model_b is None)
    ref_details = {int(d["index"]): d for d in ref.details}
    test_details = {int(d["index"]): d for d in test.details}
    skipped = {"unreadable_reference": 0, "unreadable_compared": 0, "unmatched": unmatched, "not_comparable": 0}
    records: list[dict[str, Any]] = []
    snr_of: dict[int, float] = {}
    for i, op_index, op_name in _order(test.graph):
        if i not in matched:
            continue
        j, rule = matched[i]
        if j not in ref.values:
            skipped["unreadable_reference"] += 1
            continue
        if i not in test.values:
            skipped["unreadable_compared"] += 1
            continue
        tv, rv = test.values[i], ref.values[j]
        m = _metrics(rv, ref_details[j], tv, test_details[i])
        if m is None:
            skipped["not_comparable"] += 1
            continue
        if op_index >= 0:
            op = test.graph.operators[op_index]
            ins = [snr_of[k] for k in op.inputs if k in snr_of]
            in_snr = min(ins) if ins else math.inf
        else:
            in_snr = math.inf
        drop = in_snr - m["snr_db"]
        if math.isnan(drop):
            drop = 0.0
        if model_b is None:
            exact = rv.dtype.kind in "biu" or tv.dtype.kind in "biu"
            tol = tolerance * (1.0 + m["max_abs_ref"])
            diverged = m["differing"] > 0 if exact else m["max_abs_error"] > tol
            if threshold is not None:
                diverged = diverged and m["snr_db"] < threshold
        else:
            diverged = m["snr_db"] < threshold
        snr_of[i] = m["snr_db"]
        tt, rt_ = test.graph.tensors[i], ref.graph.tensors[j]
        records.append({
            "position": len(records), "op_index": op_index, "op": op_name, "tensor": tt.name, "tensor_index": i,
            "ref_tensor": rt_.name, "ref_tensor_index": j, "matched_by": rule, "shape": list(tv.shape),
            "dtype": tv.dtype.name, "ref_dtype": rv.dtype.name, "size": int(tv.size), **m,
            "inputs_snr_db": in_snr, "snr_drop_db": drop, "diverged": bool(diverged)})
    first_below = next((r for r in records if r["diverged"]), None)
    divergence = None
    for r in records:
        if r["diverged"] and (divergence is None or r["snr_drop_db"] > divergence["snr_drop_db"]):
            divergence = r
    out_names = {test.graph.tensors[i].name for i in test.graph.outputs}
    outputs = [r for r in records if r["tensor"] in out_names]
    report = {
        "mode": mode,
        "reference": {"model": ref.name, "runtime": ref.runtime, "label": ref.label},
        "compared": {"model": test.name, "runtime": test.runtime, "label": test.label},
        "litert_resolver": ("BUILTIN_REF" if litert_resolver == "ref" else "AUTO")
        if "litert" in (ref.runtime, test.runtime) else None,
        "inputs": described, "snr_threshold": threshold, "tolerance": tolerance if model_b is None else None,
        "records": records, "skipped": skipped, "first_below": first_below, "divergence": divergence,
        "outputs": [{"tensor": r["tensor"], "snr_db": r["snr_db"], "max_abs_error": r["max_abs_error"],
                     "error_steps": r["error_steps"]} for r in outputs],
        "outputs_match": divergence is None,
    }
    report["verdict"] = _verdict(report)
    return report


def _quantized_share(graph: Any) -> int:
    """How many non-constant tensors of the graph are quantized integers."""
    return sum(1 for t in graph.tensors if not t.is_constant and np.dtype(t.dtype).kind in "iu"
               and t.quantization.scales.size > 0)


def _verdict(rep: dict[str, Any]) -> str:
    recs = rep["records"]
    d = rep["divergence"]
    if d is None:
        if rep["mode"] == "numlite-vs-litert":
            nd = sum(r["differing"] for r in recs)
            if not nd:
                return f"outputs match: {len(recs)} tensors compared, 0 values differ"
            return (f"outputs match: {len(recs)} tensors compared, float differences within tolerance ({nd} values "
                    f"differ slightly; lowest SNR {_fmt_db(min(r['snr_db'] for r in recs))} dB)")
        if not recs:
            return "outputs match: no tensors could be compared"
        low = min(recs, key=lambda r: r["snr_db"])
        return (f"outputs match: every tensor's SNR >= {rep['snr_threshold']:g} dB (lowest "
                f"{_fmt_db(low['snr_db'])} dB at op #{low['op_index']} {low['op']}, tensor '{low['tensor']}')")
    where = f"op #{d['op_index']} {d['op']}" if d["op_index"] >= 0 else "the graph input"
    text = (f"first divergence at {where} (tensor '{d['tensor']}'): SNR {_fmt_db(d['snr_db'])} dB, "
            f"inputs {_fmt_db(d['inputs_snr_db'])} dB")
    if rep["mode"] == "numlite-vs-litert":
        steps = f", max {d['error_steps']:g} step(s)" if d["error_steps"] is not None else ""
        text += f"; {d['differing']} of {d['size']} values differ{steps}, max abs error {d['max_abs_error']:.3g}"
    f = rep["first_below"]
    if f is not None and f is not d:
        text += f" (first tensor below: op #{f['op_index']} {f['op']}, SNR {_fmt_db(f['snr_db'])} dB)"
    return text


# -- output --------------------------------------------------------------------------------------
def _short(name: str, width: int) -> str:
    return name if len(name) <= width else "..." + name[-(width - 3):]


def format_report(rep: dict[str, Any]) -> str:
    lines = []
    ref, cmp_ = rep["reference"], rep["compared"]
    if rep["mode"] == "numlite-vs-litert":
        kernels = f"; {rep['litert_resolver']} kernels" if rep["litert_resolver"] else ""
        lines.append(f"compare: {cmp_['label']} vs {ref['label']} (reference{kernels}) on {ref['model']}")
    else:
        lines.append(f"compare: {cmp_['model']} vs {ref['model']} (reference), both on {ref['runtime']}")
    for d in rep["inputs"]:
        also = f"; fed to {cmp_['label']} as {d['compared_dtype']} '{d['compared_as']}'" if (
            d["compared_as"] != d["name"] or d["compared_dtype"] != d["dtype"]) else ""
        lines.append(f"input '{d['name']}' {d['dtype']}{d['shape']}: {d['source']}{also}")
    lines.append("")
    lines.append(f"{'#':>5}  {'op':<22} {'tensor':<40} {'shape':<16} {'max|err|':>9} {'steps':>6} "
                 f"{'SNR dB':>7} {'in dB':>6}")
    div = rep["divergence"]
    for r in rep["records"]:
        mark = ">>" if r is div else (" *" if r["diverged"] else "  ")
        op = f"{r['op_index']} {r['op']}" if r["op_index"] >= 0 else r["op"]
        steps = "-" if r["error_steps"] is None else f"{r['error_steps']:.3g}"
        lines.append(f"{mark}{r['position']:>3}  {_short(op, 22):<22} {_short(r['tensor'], 40):<40} "
                     f"{_short(str(r['shape']).replace(' ', ''), 16):<16} {r['max_abs_error']:>9.3g} {steps:>6} "
                     f"{_fmt_db(r['snr_db']):>7} {_fmt_db(r['inputs_snr_db']):>6}")
    sk = rep["skipped"]
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in sk.items() if v]
    if rep["mode"] != "numlite-vs-litert":
        crit = f"SNR < {rep['snr_threshold']:g} dB"
    else:
        crit = f"any difference on integer tensors, > {rep['tolerance']:g}*(1+max|ref|) on floats"
        if rep["snr_threshold"] is not None:
            crit += f", and SNR < {rep['snr_threshold']:g} dB"
    lines.append("")
    lines.append(f"{len(rep['records'])} tensors compared ({sum(r['diverged'] for r in rep['records'])} diverge: "
                 f"{crit}); constants not compared" + (f"; skipped: {', '.join(parts)}" if parts else ""))
    lines.append(rep["verdict"])
    return "\n".join(lines)


def plot(rep: dict[str, Any], path: str) -> None:
    """The SNR per tensor in execution order, the threshold and the divergence, as a PNG."""
    optional_import("matplotlib", "plot", "matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    recs = rep["records"]
    finite = [r["snr_db"] for r in recs if math.isfinite(r["snr_db"])]
    top = (max(finite) if finite else 0.0) + 10.0
    bottom = min(finite) - 5.0 if finite else -10.0
    ys = [top if r["snr_db"] == math.inf else (bottom if r["snr_db"] == -math.inf else r["snr_db"]) for r in recs]
    fig = Figure(figsize=(max(8.0, len(recs) * 0.12), 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs = list(range(len(recs)))
    ax.plot(xs, ys, "-o", markersize=3, linewidth=1, label="SNR")
    inf_x = [x for x, r in zip(xs, recs) if r["snr_db"] == math.inf]
    if inf_x:
        ax.plot(inf_x, [top] * len(inf_x), "^", color="green", markersize=5, label="equal (inf)")
    if rep["snr_threshold"] is not None:
        ax.axhline(rep["snr_threshold"], color="gray", linestyle="--", linewidth=1,
                   label=f"threshold {rep['snr_threshold']:g} dB")
    d = rep["divergence"]
    if d is not None:
        ax.plot([d["position"]], [ys[d["position"]]], "o", color="red", markersize=8,
                label=f"divergence: #{d['op_index']} {d['op']}")
    ax.set_xlabel("tensor, in execution order")
    ax.set_ylabel("SNR (dB)")
    ax.set_title(f"{rep['compared']['label']} vs {rep['reference']['label']}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def command(args: argparse.Namespace) -> int:
    specs = [s for group in args.input for s in group]
    model2 = args.model2
    if model2 is None:  # `compare A --input x=f.npy B`: argparse gave B to --input
        models_given = [s for s in specs if "=" not in s and s.lower().endswith(".tflite")]
        if len(models_given) == 1:
            model2 = models_given[0]
            specs.remove(model2)
    if args.threads < 1:
        raise CLIError("--threads must be >= 1", USAGE)
    if args.plot:
        optional_import("matplotlib", "plot", "matplotlib")  # fail before the runs
    given = None
    if specs:
        names = _input_names(args.model)
        given = _given_inputs(specs, names)
    rep = compare(args.model, model2, reference=args.reference, inputs=given, seed=args.seed,
                  snr_threshold=args.snr_threshold, tolerance=args.tolerance,
                  litert_resolver=args.litert_resolver, threads=args.threads)
    if args.plot:
        plot(rep, args.plot)
        rep["plot"] = args.plot
    if args.json:
        print_json(rep)
    else:
        print(format_report(rep))
        if args.plot:
            print(f"plot: {args.plot}")
    return 0


def _input_names(path: str) -> list[str]:
    g = _load_graph(path)
    return [g.tensors[i].name for i in g.inputs]
