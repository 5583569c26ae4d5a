"""How much each tensor lost to quantization: a float model and its quantized twin, run side by
side on numlite over the same samples.

    from numlite.quantize_report import quantization_report, format_report
    rows = quantization_report(float_model, int8_model, samples)
    print(format_report(rows))

Algorithm:

1. Run both models on numlite with ``experimental_preserve_all_tensors=True`` over every sample.
   The float model gets the samples as they are; a quantized model's integer inputs get them
   quantized with the input's scale and zero point (round half away from zero, clamped).
2. Match every non-constant float32 tensor of the float model (graph inputs, then op outputs in
   execution order) with its twin in the quantized model by name: ``NAME`` when an op other than
   DEQUANTIZE computes it in float32 there (an op kept in float), else ``NAME_int8`` /
   ``NAME_int16`` (the quantizer's I/O and float-op suffixes), else ``NAME``, else ``NAME_float``
   (a dequantized copy).  A tensor with no twin (folded away) is left out.
3. Dequantize the twin (``scale * (q - zero_point)``; float twins as they are) and compare it with
   the float values: the recorded range (min / max of the float values, what calibration records
   over the same samples), RMSE, the largest absolute error and the SNR in dB
   (``10 log10(sum f^2 / sum (f - d)^2)``; infinite when the twin is exact).

Limits: subgraph 0 only; per-channel quantized tensors (weights) are not reported (activations are
per tensor); the quantized model must take the same inputs in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .ops.quant import round_half_away

__all__ = ["TensorReport", "format_report", "quantization_report", "report_json"]


@dataclass
class TensorReport:
    """One tensor's quantization: its float range and parameters, and the error of its twin."""

    name: str
    op: str  # the float model's op that writes it ("input" for a graph input)
    dtype: str  # the twin's type: INT8, INT16, UINT8, or FLOAT32 (kept in float)
    min: float
    max: float
    scale: float | None
    zero_point: int | None
    rmse: float
    max_abs_error: float
    snr_db: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: infinities as the strings ``"inf"`` / ``"-inf"``."""
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float) and math.isinf(v):
                d[k] = "inf" if v > 0 else "-inf"
        return d


def _feed(d: dict[str, Any], x: np.ndarray) -> np.ndarray:
    dt = np.dtype(d["dtype"])
    if dt.kind == "f":
        return np.asarray(x, dt)
    scale, zp = d["quantization"]
    if not scale:
        raise ValueError(f"quantized model input {d['name']!r} is {dt.name} without quantization parameters")
    info = np.iinfo(dt)
    q = round_half_away(np.asarray(x, np.float64) / np.float64(np.float32(scale))) + zp
    return np.clip(q, info.min, info.max).astype(dt)


def quantization_report(float_model: bytes, quantized_model: bytes, samples: Iterable[Any], *,
                        num_threads: int = 1) -> list[TensorReport]:
    """Per-tensor range, parameters and error of ``quantized_model`` against ``float_model`` over
    ``samples`` (each a list of input arrays in input order, or one array for a one-input model;
    see the module docstring)."""
    from .interpreter import Interpreter

    fi = Interpreter(model_content=float_model, experimental_preserve_all_tensors=True, num_threads=num_threads)
    qi = Interpreter(model_content=quantized_model, experimental_preserve_all_tensors=True, num_threads=num_threads)
    fsg, qsg = fi._model.subgraphs[0], qi._model.subgraphs[0]
    by_name: dict[str, int] = {}
    for t in qsg.tensors:
        by_name.setdefault(t.name, t.index)

    made_by = {o: op.op_name for op in qsg.operators for o in op.outputs}

    def twin(name: str) -> int | None:
        j = by_name.get(name)
        if j is not None and qsg.tensors[j].dtype is np.float32 and made_by.get(j, "DEQUANTIZE") != "DEQUANTIZE":
            return j  # computed in float32 by the op itself (a float op): its own values
        for cand in (f"{name}_int8", f"{name}_int16", name, f"{name}_float"):
            j = by_name.get(cand)
            if j is None:
                continue
            t = qsg.tensors[j]
            if t.dtype is np.float32 or (t.quantization is not None and t.quantization.is_quantized
                                         and t.quantization.scales.size == 1):
                return j
        return None

    producer = {o: op.op_name for op in fsg.operators for o in op.outputs}
    order = list(fsg.inputs) + [o for op in fsg.operators for o in op.outputs]
    pairs: list[tuple[int, int]] = []
    seen: set[int] = set()
    for i in order:
        t = fsg.tensors[i]
        if i in seen or t.dtype is not np.float32 or t.is_constant:
            continue
        seen.add(i)
        j = twin(t.name)
        if j is not None:
            pairs.append((i, j))
    fins, qins = fi.get_input_details(), qi.get_input_details()
    if len(fins) != len(qins):
        raise ValueError(f"the float model has {len(fins)} inputs, the quantized one {len(qins)}")
    acc = {i: [np.inf, -np.inf, 0.0, 0.0, 0.0, 0] for i, _ in pairs}  # min, max, sum f^2, sum e^2, max|e|, n
    shapes: list[tuple[int, ...]] | None = None
    n = 0
    for sample in samples:
        feeds = [np.asarray(sample)] if isinstance(sample, np.ndarray) else [np.asarray(a) for a in sample]
        if len(feeds) != len(fins):
            raise ValueError(f"a sample has {len(feeds)} arrays; the model has {len(fins)} inputs")
        if [f.shape for f in feeds] != shapes:
            shapes = [f.shape for f in feeds]
            for it, ds in ((fi, fins), (qi, qins)):
                for d, f in zip(ds, feeds):
                    it.resize_tensor_input(d["index"], list(f.shape))
                it.allocate_tensors()
        for d, f in zip(fins, feeds):
            fi.set_tensor(d["index"], np.asarray(f, d["dtype"]))
        for d, f in zip(qins, feeds):
            qi.set_tensor(d["index"], _feed(d, f))
        fi.invoke()
        qi.invoke()
        for i, j in pairs:
            f = fi.tensor(i)().astype(np.float64)
            q = qi.tensor(j)()
            qt = qsg.tensors[j]
            if qt.dtype is np.float32:
                d = q.astype(np.float64)
            else:
                d = (q.astype(np.float64) - qt.quantization.zero_point) * np.float64(qt.quantization.scale)
            if f.shape != d.shape or not f.size:
                continue
            a = acc[i]
            e = d - f
            a[0], a[1] = min(a[0], float(f.min())), max(a[1], float(f.max()))
            a[2] += float(np.dot(f.ravel(), f.ravel()))
            a[3] += float(np.dot(e.ravel(), e.ravel()))
            a[4] = max(a[4], float(np.abs(e).max()))
            a[5] += f.size
        n += 1
    if n == 0:
        raise ValueError("the report needs at least one sample")
    rows = []
    for i, j in pairs:
        lo, hi, sig, noise, emax, count = acc[i]
        if not count:
            continue
        qt = qsg.tensors[j]
        quantized = qt.dtype is not np.float32
        if noise == 0.0:
            snr = math.inf
        elif sig == 0.0:
            snr = -math.inf
        else:
            snr = 10.0 * math.log10(sig / noise)
        rows.append(TensorReport(
            name=fsg.tensors[i].name, op=producer.get(i, "input"), dtype=qt.type_name, min=lo, max=hi,
            scale=float(qt.quantization.scale) if quantized else None,
            zero_point=int(qt.quantization.zero_point) if quantized else None,
            rmse=math.sqrt(noise / count), max_abs_error=emax, snr_db=snr))
    return rows


def report_json(rows: Sequence[TensorReport]) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (:meth:`TensorReport.as_dict`)."""
    return [r.as_dict() for r in rows]


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else "..." + name[-(width - 3):]


def format_report(rows: Sequence[TensorReport], name_width: int = 40) -> str:
    """The rows as a fixed-width text table, with the worst SNR named at the end."""
    head = (f"{'tensor':<{name_width}} {'op':<17} {'type':<7} {'min':>10} {'max':>10} {'scale':>10} {'zp':>6} "
            f"{'rmse':>10} {'max|err|':>10} {'SNR dB':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        scale = f"{r.scale:10.4g}" if r.scale is not None else f"{'-':>10}"
        zp = f"{r.zero_point:6d}" if r.zero_point is not None else f"{'-':>6}"
        snr = f"{r.snr_db:7.1f}" if math.isfinite(r.snr_db) else f"{'inf' if r.snr_db > 0 else '-inf':>7}"
        lines.append(f"{_short(r.name, name_width):<{name_width}} {_short(r.op, 17):<17} {r.dtype:<7} "
                     f"{r.min:10.4g} {r.max:10.4g} {scale} {zp} {r.rmse:10.3g} {r.max_abs_error:10.3g} {snr}")
    finite = [r for r in rows if math.isfinite(r.snr_db)]
    if finite:
        worst = min(finite, key=lambda r: r.snr_db)
        lines.append(f"{len(rows)} tensors; lowest SNR {worst.snr_db:.1f} dB at {worst.name!r} ({worst.op})")
    else:
        lines.append(f"{len(rows)} tensors")
    return "\n".join(lines)
