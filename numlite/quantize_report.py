"""How much each tensor lost to quantization: a float model and its quantized twin, run side by
side on numlite over the same samples.

    from numlite.quantize_report import quantization_report, format_report
    rows = quantization_report(float_model, int8_model, samples)
    print(format_report(rows))

Algorithm:

1. Run both models on numlite with ``experimental_preserve_all_tensors=True`` over every sample.
   The float model gets the samples as they are; a quantized model's integer inputs get them
   quantized with the input's scale and zero point (round half away from zero, clamped), except
   the inputs that have the float model's type (token ids, loop counts, conditions: as they are).
   Subgraph 0 is read after each invoke; every other subgraph (a WHILE's cond and body, an IF's
   branches, a CALL_ONCE's init) after each of its runs, as calibration records it
   (``numlite.quantize._watch_runs``): every loop iteration and every call, each run's values
   copied.
2. Subgraph ``s`` of the float model is paired with subgraph ``s`` of the quantized one (the
   quantizers keep the order and the names; a subgraph whose name differs is left out).  Within
   it, every non-constant float32 tensor of the float model (the subgraph's inputs, then op
   outputs in execution order) is matched with its twin by name: ``NAME`` when an op other than
   DEQUANTIZE computes it in float32 there (an op kept in float), else ``NAME_int8`` /
   ``NAME_int16`` (the quantizer's I/O and float-op suffixes), else ``NAME``, else ``NAME_float``
   (a dequantized copy).  A tensor with no twin (folded away) is left out.
3. Within one sample, the k-th run of a subgraph in the float model is compared with its k-th
   run in the quantized one.  Dequantize the twin (``scale * (q - zero_point)``; float twins as
   they are) and compare it with the float values: the recorded range (min / max of the float
   values over every run, what calibration records over the same samples), RMSE, the largest
   absolute error and the SNR in dB (``10 log10(sum f^2 / sum (f - d)^2)``; infinite when the
   twin is exact).  Where the quantized model runs a subgraph fewer times than the float one (a
   loop condition or branch computed from quantized values), the runs it lacks count in the
   range but not in the errors; a tensor never compared is left out.

Rows come subgraph by subgraph (0 first), each naming its subgraph (``subgraph``,
``subgraph_name``).

Limits: per-channel quantized tensors (weights) are not reported (activations are per tensor);
the quantized model must take the same inputs in the same order; the values of a subgraph's
every run are held until the sample's end (a long loop over large tensors takes memory).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .ops.quant import round_half_away

__all__ = ["TensorReport", "format_report", "quantization_report", "report_json"]


@dataclass
class TensorReport:
    """One tensor's quantization: its float range and parameters, and the error of its twin."""

    subgraph: int  # the subgraph index (0: the main graph)
    subgraph_name: str
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


def _feed(d: dict[str, Any], x: np.ndarray, float_dtype: Any) -> np.ndarray:
    dt = np.dtype(d["dtype"])
    if dt.kind == "f" or dt == np.dtype(float_dtype):  # float, or an input the quantizer left as it was (ids, counts)
        return np.asarray(x, dt)
    scale, zp = d["quantization"]
    if not scale:
        raise ValueError(f"quantized model input {d['name']!r} is {dt.name} without quantization parameters")
    info = np.iinfo(dt)
    q = round_half_away(np.asarray(x, np.float64) / np.float64(np.float32(scale))) + zp
    return np.clip(q, info.min, info.max).astype(dt)


def _pairs(fsg: Any, qsg: Any) -> list[tuple[int, int]]:
    """(float tensor, its twin) for every non-constant float32 tensor of ``fsg`` that has a twin
    in ``qsg`` (step 2), in order: the subgraph's inputs, then op outputs in execution order."""
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

    order = list(fsg.inputs) + [o for op in fsg.operators for o in op.outputs]
    pairs: list[tuple[int, int]] = []
    seen: set[int] = set()
    for i in order:
        t = fsg.tensors[i]
        if i < 0 or i in seen or t.dtype is not np.float32 or t.is_constant:
            continue
        seen.add(i)
        j = twin(t.name)
        if j is not None:
            pairs.append((i, j))
    return pairs


class _Stats:
    """Running range of the float values and error of the twin's dequantized values."""

    __slots__ = ("lo", "hi", "signal", "noise", "emax", "count")

    def __init__(self) -> None:
        self.lo, self.hi = math.inf, -math.inf
        self.signal = self.noise = self.emax = 0.0
        self.count = 0

    def add_range(self, f: np.ndarray | None) -> None:
        if f is not None and f.size:
            self.lo, self.hi = min(self.lo, float(f.min())), max(self.hi, float(f.max()))

    def add_error(self, f: np.ndarray | None, d: np.ndarray | None) -> None:
        if f is None or d is None or f.shape != d.shape or not f.size:
            return
        f = f.astype(np.float64)
        e = d - f
        self.signal += float(np.dot(f.ravel(), f.ravel()))
        self.noise += float(np.dot(e.ravel(), e.ravel()))
        self.emax = max(self.emax, float(np.abs(e).max()))
        self.count += f.size


def quantization_report(float_model: bytes, quantized_model: bytes, samples: Iterable[Any], *,
                        num_threads: int = 1) -> list[TensorReport]:
    """Per-tensor range, parameters and error of ``quantized_model`` against ``float_model`` over
    ``samples`` (each a list of input arrays in input order, or one array for a one-input model),
    every subgraph included (see the module docstring)."""
    from .interpreter import Interpreter
    from .quantize import _watch_runs

    fi = Interpreter(model_content=float_model, experimental_preserve_all_tensors=True, num_threads=num_threads)
    qi = Interpreter(model_content=quantized_model, experimental_preserve_all_tensors=True, num_threads=num_threads)
    for it in (fi, qi):  # control-flow subgraphs' state as deployed (preserving alone would carry it on)
        it._runtime.release_callees = True
    fsgs, qsgs = fi._model.subgraphs, qi._model.subgraphs
    # subgraph s of the float model and subgraph s of the quantized one (the quantizers keep the
    # order and the names)
    same = [s for s in range(min(len(fsgs), len(qsgs))) if s == 0 or fsgs[s].name == qsgs[s].name]
    pairs = {s: _pairs(fsgs[s], qsgs[s]) for s in same}
    stats = {(s, i): _Stats() for s in same for i, _ in pairs[s]}
    # every run of every subgraph but 0 in this sample: the values of its paired tensors
    fruns: dict[int, list[list[np.ndarray | None]]] = {s: [] for s in same if s}
    qruns: dict[int, list[list[np.ndarray | None]]] = {s: [] for s in same if s}

    def snapshot(runs: dict[int, list[list[np.ndarray | None]]], side: int) -> Callable[[Any], None]:
        def after(ex: Any) -> None:
            s = ex.subgraph.index
            if s in runs:
                runs[s].append([_copy(ex.buffers[p[side]]) for p in pairs[s]])
        return after

    _watch_runs(fi, snapshot(fruns, 0))
    _watch_runs(qi, snapshot(qruns, 1))
    fins, qins = fi.get_input_details(), qi.get_input_details()
    if len(fins) != len(qins):
        raise ValueError(f"the float model has {len(fins)} inputs, the quantized one {len(qins)}")
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
        for d, fd, f in zip(qins, fins, feeds):
            qi.set_tensor(d["index"], _feed(d, f, fd["dtype"]))
        for runs in (*fruns.values(), *qruns.values()):
            runs.clear()  # (constant folding may have run a subgraph while allocating)
        fi.invoke()
        qi.invoke()
        runs_of = {0: ([[fi._main.buffers[i] for i, _ in pairs[0]]], [[qi._main.buffers[j] for _, j in pairs[0]]])}
        runs_of.update({s: (fruns[s], qruns[s]) for s in fruns})
        for s, (fr, qr) in runs_of.items():
            qsg = qsgs[s]
            for k, fvals in enumerate(fr):
                qvals = qr[k] if k < len(qr) else None  # runs are paired in order
                for m, (i, j) in enumerate(pairs[s]):
                    st = stats[(s, i)]
                    st.add_range(fvals[m])
                    if qvals is not None:
                        st.add_error(fvals[m], _dequantized(qsg.tensors[j], qvals[m]))
        n += 1
    if n == 0:
        raise ValueError("the report needs at least one sample")
    rows = []
    for s in same:
        fsg, qsg = fsgs[s], qsgs[s]
        producer = {o: op.op_name for op in fsg.operators for o in op.outputs}
        for i, j in pairs[s]:
            st = stats[(s, i)]
            if not st.count:
                continue
            qt = qsg.tensors[j]
            quantized = qt.dtype is not np.float32
            if st.noise == 0.0:
                snr = math.inf
            elif st.signal == 0.0:
                snr = -math.inf
            else:
                snr = 10.0 * math.log10(st.signal / st.noise)
            rows.append(TensorReport(
                subgraph=s, subgraph_name=fsg.name or "", name=fsg.tensors[i].name, op=producer.get(i, "input"),
                dtype=qt.type_name, min=st.lo, max=st.hi,
                scale=float(qt.quantization.scale) if quantized else None,
                zero_point=int(qt.quantization.zero_point) if quantized else None,
                rmse=math.sqrt(st.noise / st.count), max_abs_error=st.emax, snr_db=snr))
    return rows


def _copy(v: np.ndarray | None) -> np.ndarray | None:
    return None if v is None else np.array(v)


def _dequantized(qt: Any, q: np.ndarray | None) -> np.ndarray | None:
    if q is None:
        return None
    if qt.dtype is np.float32:
        return q.astype(np.float64)
    return (q.astype(np.float64) - qt.quantization.zero_point) * np.float64(qt.quantization.scale)


def report_json(rows: Sequence[TensorReport]) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts (:meth:`TensorReport.as_dict`)."""
    return [r.as_dict() for r in rows]


def _short(name: str, width: int) -> str:
    return name if len(name) <= width else "..." + name[-(width - 3):]


def format_report(rows: Sequence[TensorReport], name_width: int = 40) -> str:
    """The rows as a fixed-width text table, with the worst SNR named at the end.  When the rows
    come from more than one subgraph, a ``sg`` column gives each row's subgraph index and a last
    line names the subgraphs."""
    several = len({r.subgraph for r in rows}) > 1
    sg_head = f"{'sg':>3} " if several else ""
    head = (f"{sg_head}{'tensor':<{name_width}} {'op':<17} {'type':<7} {'min':>10} {'max':>10} {'scale':>10} "
            f"{'zp':>6} {'rmse':>10} {'max|err|':>10} {'SNR dB':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        scale = f"{r.scale:10.4g}" if r.scale is not None else f"{'-':>10}"
        zp = f"{r.zero_point:6d}" if r.zero_point is not None else f"{'-':>6}"
        snr = f"{r.snr_db:7.1f}" if math.isfinite(r.snr_db) else f"{'inf' if r.snr_db > 0 else '-inf':>7}"
        sg = f"{r.subgraph:>3} " if several else ""
        lines.append(f"{sg}{_short(r.name, name_width):<{name_width}} {_short(r.op, 17):<17} {r.dtype:<7} "
                     f"{r.min:10.4g} {r.max:10.4g} {scale} {zp} {r.rmse:10.3g} {r.max_abs_error:10.3g} {snr}")
    finite = [r for r in rows if math.isfinite(r.snr_db)]
    if finite:
        worst = min(finite, key=lambda r: r.snr_db)
        where = f", subgraph {worst.subgraph}" if several else ""
        lines.append(f"{len(rows)} tensors; lowest SNR {worst.snr_db:.1f} dB at {worst.name!r} ({worst.op}{where})")
    else:
        lines.append(f"{len(rows)} tensors")
    if several:
        names = {r.subgraph: r.subgraph_name for r in rows}
        lines.append("subgraphs: " + ", ".join(f"{s} {n!r}" for s, n in sorted(names.items())))
    return "\n".join(lines)
