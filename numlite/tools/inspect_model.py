"""``numlite inspect``: what is in a model, in the TFLite model analyzer's layout, plus what
numlite knows about it (op versions, quantization, metadata, missing kernels, the arena plan).

    numlite inspect MODEL [--tensors] [--no-plan] [--json]

The same functions in Python:

- ``inspect_model(path, tensors=False, plan=True) -> dict``: everything the command prints
  (``--json`` prints exactly this dict).  Keys: ``model``, ``model_size``, ``schema_version``,
  ``description``, ``summary`` (the analyzer's opening sentence), ``subgraphs`` (per subgraph:
  ``index``, ``name``, ``inputs``, ``outputs``, ``analyzer`` (its ``Subgraph#i`` line), ``ops``
  (``index``, ``op``, ``version``, ``inputs``, ``outputs``, ``supported``, ``analyzer``),
  ``tensor_count``, ``tensors`` (all of them with ``tensors=True``, else the subgraph's inputs,
  outputs and variables: ``index``, ``name``, ``type``, ``shape``, ``shape_signature``,
  ``buffer``, ``ro_bytes``, ``variable``, ``sparse``, ``quantization``, ``analyzer``)),
  ``signature_defs``, ``signature_lines`` and ``stats_lines`` (the analyzer's lines), ``sizes``
  (the analyzer's model / non-data / data buffer sizes), ``ops_by_type``, ``unsupported``
  (``op``, ``version``, ``subgraph``, ``nodes``, ``reason``), ``interpreter_error``, ``metadata``
  (the metadata entries, and the parsed TFLite metadata when ``numlite.metadata`` exists) and
  ``plan`` (``None`` with ``plan=False``; else ``planned``, ``reason``, ``arena_bytes``,
  ``no_reuse_bytes``, ``lower_bound_bytes``, ``steps``, ``buffers``, ``drawing``, ``legend``).
- ``analyzer_text(path) -> str``: the TFLite model analyzer's report, character for character
  (``tf.lite.experimental.Analyzer.analyze`` / LiteRT's ``_pywrap_analyzer_wrapper``
  without the GPU check); it needs no kernels, only a model numlite can load.
- ``draw_plan(sizes, first_use, last_use, offsets, ...) -> dict``: the ASCII drawing of an
  arena plan: x is the execution step, y the arena offset, each buffer's lifetime x byte range
  filled with its letter (A = the biggest buffer); ``{"grid", "lines", "legend"}``.
- ``format_text(info) -> str``: the text the command prints for ``inspect_model``'s dict.

Text layout: first the analyzer's report, every analyzer line verbatim (a parser of the
analyzer's output keeps working); numlite's additions are appended to those lines after two
spaces (the op's version, ``NOT SUPPORTED`` for ops numlite cannot run, a tensor's
quantization) or come in sections of their own after it.  Without ``--tensors`` only each
subgraph's input, output and variable tensors are listed.

Exit codes: 0; 4 when the model has ops numlite cannot run (the report is printed in full
first); 1 when the plan was asked for and preparing the model failed (the report says why);
3 for a file that is not a usable model.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import re
from collections import Counter
from typing import Any

import numpy as np

from ._common import (
    EXIT_CODES_HELP,
    FAILED,
    MISSING_EXTRA,
    OK,
    UNSUPPORTED,
    USAGE,
    CLIError,
    _one_line,
    load_model,
    optional_custom_ops,
    print_json,
)

SPLITTER = "-" * 63
EPILOG = f"""examples:
  numlite inspect mobilenet_v1.tflite                 analyzer layout, op versions, the arena plan
  numlite inspect model.tflite --tensors              also every tensor, with its quantization
  numlite inspect model.tflite --no-plan              do not prepare the model (fast, no kernels run)
  numlite inspect model.tflite --json | jq .plan      the same as one JSON document

{EXIT_CODES_HELP}
  (inspect prints its whole report before exiting with 4 or 1)"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="the model analyzer's report, op support, quantization, arena plan",
                       description="Print a model's subgraphs, ops and tensors in the TFLite model analyzer's "
                                   "layout, then numlite's additions: op versions, quantization, metadata, ops "
                                   "numlite cannot run, and the memory plan of subgraph 0.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a .tflite file")
    p.add_argument("--tensors", action="store_true", help="list every tensor (default: inputs, outputs, variables)")
    p.add_argument("--no-plan", dest="plan", action="store_false",
                   help="do not prepare the model and plan its arena")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("--delegate", metavar="NAME",
                   help="show how this delegate partitions the model (numlite.load_delegate(NAME), e.g. onnxruntime)")
    p.add_argument("--delegate-option", metavar="KEY=VALUE", action="append", default=[],
                   help="a delegate option (repeatable; values are read as JSON when they parse, else as text)")
    p.set_defaults(func=command)


def _options(pairs: list[str]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CLIError(f"--delegate-option takes KEY=VALUE, got {pair!r}", USAGE)
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def command(args: argparse.Namespace) -> int:
    info = inspect_model(args.model, tensors=args.tensors, plan=args.plan, delegate=args.delegate,
                         delegate_options=_options(args.delegate_option))
    if args.json:
        print_json(info)
    else:
        print(format_text(info), end="")
    if info["unsupported"]:
        missing = ", ".join(f"{u['op']} v{u['version']}" for u in info["unsupported"])
        raise CLIError(f"numlite cannot run {len(info['unsupported'])} op type(s) of this model: {missing}",
                       UNSUPPORTED)
    if info["interpreter_error"]:
        raise CLIError(f"numlite cannot build an interpreter for this model: {info['interpreter_error']}", FAILED)
    plan = info["plan"]
    if plan is not None and not plan["planned"]:
        raise CLIError(f"the model failed to prepare: {plan['reason']}", FAILED)
    return OK


# -- the TFLite model analyzer (tensorflow/lite/python/analyzer_wrapper/model_analyzer.cc) ------
def _printable(text: str) -> str:
    """As the analyzer's ``get_printable_string``: every byte that is neither printable ASCII
    nor a newline becomes '.' (so a UTF-8 name shows one '.' per byte)."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(chr(b) if b == 10 or 32 <= b < 127 else "." for b in text.encode("utf-8", "replace"))


def _g(x: float) -> str:
    """A float as C++'s ``ostream << float`` writes it (``%g``)."""
    return f"{x:g}"


def _pct(part: int, whole: int) -> str:
    """``%05.2f`` of a percentage computed in float32, as the analyzer does."""
    if whole == 0:
        return "nan"
    v = np.float32(part) / np.float32(whole) * np.float32(100)
    return f"{float(v):05.2f}"


class _Analyzer:
    """The analyzer's report, piece by piece, from numlite's decoded FlatBuffer (``model.table``:
    which optional fields are present matters, e.g. ``shape_signature``)."""

    def __init__(self, model: Any, model_size: int):
        self.model = model
        self.size = model_size
        t = model.table
        self.buffers = t.get("buffers") or []
        self.sgs = t.get("subgraphs") or []
        self.codes = t.get("operator_codes") or []

    # pieces -----------------------------------------------------------------------------------
    def raw(self, buffer_idx: int) -> np.ndarray | None:
        if buffer_idx == 0 or buffer_idx >= len(self.buffers):
            return None
        return self.buffers[buffer_idx].get("data")

    def data_str(self, t: Any) -> str:
        """``get_tensor_data_str``: the first five values of a constant."""
        raw = self.raw(int(t.get("buffer") or 0))
        if raw is None:
            return ""
        b = np.asarray(raw, np.uint8).tobytes()
        if not b:
            return "[]"
        type_name = _type_name(t)
        size = 4 if type_name in ("INT32", "UINT32", "FLOAT32") else 1
        n = len(b) // size
        parts = []
        for i in range(min(5, n)):
            if type_name == "INT32":
                s = str(int(np.frombuffer(b, "<i4", 1, 4 * i)[0]))
            elif type_name == "UINT32":
                s = str(int(np.frombuffer(b, "<u4", 1, 4 * i)[0]))
            elif type_name == "FLOAT32":
                s = _g(float(np.frombuffer(b, "<f4", 1, 4 * i)[0]))
            elif type_name in ("INT8", "UINT8", "STRING"):  # written as a char
                s = chr(b[i]) if b[i] == 10 or 32 <= b[i] < 127 else "."
            else:
                s = "??"
            parts.append(s + (", " if i != n - 1 else ""))
        return "[" + "".join(parts) + ("..." if n > 5 else "") + "]"

    def tensor_str(self, idx: int, sg: int, with_data: bool = False) -> str:
        s = f"T#{sg}_{idx}" if sg != 0 and idx != -1 else f"T#{idx}"
        if with_data and idx != -1:
            t = self.sgs[sg]["tensors"][idx]
            if _type_name(t) == "INT32":
                s += self.data_str(t)
        return s

    def tensor_list(self, idxs: Any, sg: int, with_data: bool = False) -> str:
        return ", ".join(self.tensor_str(int(i), sg, with_data) for i in (idxs if idxs is not None else ()))

    def op_name(self, code: Any) -> str:
        from numlite.graph import BUILTIN_OPS

        builtin = max(int(code.get("builtin_code") or 0), int(code.get("deprecated_builtin_code") or 0))
        name = BUILTIN_OPS.get(builtin, "")
        return (code.get("custom_code") or "") if name == "CUSTOM" else name

    # lines ------------------------------------------------------------------------------------
    def summary(self) -> str:
        out = (f"Your TFLite model has '{len(self.sgs)}' subgraph(s). In the subgraph description below,\n"
               "T# represents the Tensor numbers. ")
        ops = (self.sgs[0].get("operators") or []) if self.sgs else []
        if ops:
            op = ops[0]
            verbose = lambda v: " and ".join(f"tensor #{int(i)}" for i in (v if v is not None else ()))  # noqa: E731
            out += (f"For example, in Subgraph#0, the {self.op_name(self.codes[int(op.get('opcode_index') or 0)])} "
                    f"op takes\n{verbose(op.get('inputs'))} as input and produces {verbose(op.get('outputs'))} "
                    "as output.\n\n")
        return out

    def subgraph_line(self, i: int) -> str:
        sg = self.sgs[i]
        name = f" {sg['name']}" if sg.get("name") is not None else ""
        ins, outs = self.tensor_list(sg.get("inputs"), i), self.tensor_list(sg.get("outputs"), i)
        return f"Subgraph#{i}{name}({ins}) -> [{outs}]"

    def op_line(self, i: int, j: int) -> str:
        op = self.sgs[i]["operators"][j]
        code = self.codes[int(op.get("opcode_index") or 0)]
        name = self.op_name(code)
        opts = op.get("builtin_options") or {}
        s = f"Op#{j} {name}({self.tensor_list(op.get('inputs'), i, with_data=True)}"
        if name == "CALL_ONCE":
            s += f"Subgraph#{int(opts.get('init_subgraph_index') or 0)}"
        elif name == "IF":
            s += (f", Then: Subgraph#{int(opts.get('then_subgraph_index') or 0)}"
                  f", Else: Subgraph#{int(opts.get('else_subgraph_index') or 0)}")
        elif name == "WHILE":
            s += (f", Cond: Subgraph#{int(opts.get('cond_subgraph_index') or 0)}"
                  f", Body: Subgraph#{int(opts.get('body_subgraph_index') or 0)}")
        return s + f") -> [{self.tensor_list(op.get('outputs'), i)}]"

    def ro_bytes(self, t: Any) -> int:
        raw = self.raw(int(t.get("buffer") or 0))
        return 0 if raw is None else int(raw.size)

    def tensor_line(self, i: int, j: int) -> str:
        t = self.sgs[i]["tensors"][j]
        sig, shape = t.get("shape_signature"), t.get("shape")
        if sig is not None:
            dims = "shape_signature:[" + ", ".join(str(int(d)) for d in sig) + "]"
        elif shape is not None:
            dims = "shape:[" + ", ".join(str(int(d)) for d in shape) + "]"
        else:
            dims = "shape:n/a"
        s = f"{self.tensor_str(j, i)}({t.get('name') or ''}) {dims}, type:{_type_name(t)}"
        ro = self.ro_bytes(t)
        if ro:
            s += f" RO {ro} bytes, buffer: {int(t.get('buffer') or 0)}, data:{self.data_str(t)}"
        return s

    def signature_lines(self) -> list[str]:
        sigs = self.model.table.get("signature_defs") or []
        if not sigs:
            return []
        out = [SPLITTER, f"Your TFLite model has '{len(sigs)}' signature_def(s).", ""]
        for k, s in enumerate(sigs):
            sg = int(s.get("subgraph_index") or 0)
            out += [f"Signature#{k} key: '{s.get('signature_key') or ''}'", f"- Subgraph: Subgraph#{sg}", "- Inputs: "]
            out += [f"    '{m.get('name') or ''}' : {self.tensor_str(int(m.get('tensor_index') or 0), sg)}"
                    for m in s.get("inputs") or []]
            out.append("- Outputs: ")
            out += [f"    '{m.get('name') or ''}' : {self.tensor_str(int(m.get('tensor_index') or 0), sg)}"
                    for m in s.get("outputs") or []]
            out.append("")
        return out

    def sizes(self) -> dict[str, Any]:
        total = zeros = 0
        for b in self.buffers:
            d = b.get("data")
            if d is None:
                continue
            if not np.any(np.asarray(d)):
                zeros += int(d.size)
            total += int(d.size)
        per_sg = [sum(self.ro_bytes(t) for t in (sg.get("tensors") or [])) for sg in self.sgs]
        return {"model_size": self.size, "non_data_buffer_size": self.size - total,
                "total_data_buffer_size": total, "zero_value_buffers": zeros, "subgraph_data_bytes": per_sg}

    def stats_lines(self) -> list[str]:
        s = self.sizes()
        size = self.size
        def line(label: str, n: int) -> str:
            return f"{label:>24}: {n:>10} bytes ({_pct(n, size)} %)"

        out = [SPLITTER, f"{'Model size':>24}: {size:>10} bytes",
               line("Non-data buffer size", s["non_data_buffer_size"]),
               line("Total data buffer size", s["total_data_buffer_size"])]
        if len(self.sgs) > 1:
            out += [f"          - {f'Subgraph#{i}':<12}: {n:>10} bytes ({_pct(n, size)} %)"
                    for i, n in enumerate(s["subgraph_data_bytes"])]
        zero_ratio = np.float32(s["zero_value_buffers"]) / np.float32(size) * np.float32(100) if size else 0.0
        out += [line("(Zero value buffers)", s["zero_value_buffers"]),
                "", "* Buffers of TFLite model are mostly used for constant tensors.",
                "  And zero value buffers are buffers filled with zeros."]
        if zero_ratio > 10.0:
            out.append("  (Consider use `converter._experimental_unfold_large_splat_constant` to save the model size.)")
        out += ["  Non-data buffers area are used to store operators, subgraphs and etc.",
                "  You can find more details from "
                "https://github.com/tensorflow/tensorflow/blob/master/tensorflow/lite/schema/schema.fbs"]
        return out


def _type_name(t: Any) -> str:
    from numlite.graph import TENSOR_TYPES

    return TENSOR_TYPES.get(int(t.get("type") or 0), "")


def _render_analyzer(an: _Analyzer, op_suffix: Any = None, tensor_suffix: Any = None,
                     tensor_filter: Any = None) -> str:
    """The analyzer's text; ``op_suffix(i, j)`` / ``tensor_suffix(i, j)`` append numlite's
    notes, ``tensor_filter(i) -> indices | None`` limits the tensors listed."""
    out = [an.summary()]
    for i, sg in enumerate(an.sgs):
        lines = [an.subgraph_line(i)]
        for j in range(len(sg.get("operators") or [])):
            lines.append("  " + an.op_line(i, j) + (op_suffix(i, j) if op_suffix else ""))
        lines += ["", f"Tensors of Subgraph#{i}"]
        n = len(sg.get("tensors") or [])
        shown = tensor_filter(i) if tensor_filter else None
        for j in (range(n) if shown is None else shown):
            lines.append("  " + an.tensor_line(i, j) + (tensor_suffix(i, j) if tensor_suffix else ""))
        if shown is not None and len(shown) < n:
            lines.append(f"  ... {n - len(shown)} more tensor(s): --tensors lists all {n}")
        out.append("\n".join(lines) + "\n\n")
    sig = an.signature_lines()
    if sig:
        out.append("\n".join(sig) + "\n")
    out.append("\n".join(an.stats_lines()) + "\n")
    return _printable("".join(out))


def analyzer_text(path: str) -> str:
    """The TFLite model analyzer's report on ``path``, as LiteRT's analyzer writes it."""
    model = load_model(path)
    return _render_analyzer(_Analyzer(model, os.path.getsize(path)))


# -- numlite's additions -------------------------------------------------------------------------
def _quantization(q: Any) -> dict[str, Any] | None:
    if q.scales.size == 0:
        return None
    d: dict[str, Any] = {"scales": q.scales, "zero_points": q.zero_points,
                         "quantized_dimension": int(q.quantized_dimension)}
    if q.scales.size == 1:
        d["scale"], d["zero_point"] = float(q.scales[0]), int(q.zero_points[0])
    return d


def _quant_str(q: dict[str, Any] | None) -> str:
    if q is None:
        return ""
    scales, zps = np.asarray(q["scales"]), np.asarray(q["zero_points"])
    if scales.size == 1:
        return f"scale={float(scales[0]):.6g} zero_point={int(zps[0])}"
    zp = (f"zero_point={int(zps[0])}" if zps.size and np.all(zps == zps[0])
          else f"zero_points {int(zps.min())}..{int(zps.max())}")
    return (f"per-channel: {scales.size} scales on axis {q['quantized_dimension']} "
            f"({float(scales.min()):.6g}..{float(scales.max()):.6g}), {zp}")


def _unsupported(model: Any, err: Any) -> list[dict[str, Any]]:
    """``UnsupportedOpError.missing`` with the subgraph and reason of each entry (from the
    error's lines, ``NAME version V at node(s) [...] of subgraph S: reason``)."""
    pat = re.compile(r"^\s*(.+?) version (\d+) at node\(s\) \[([\d, ]*)\] of subgraph (\d+): (.*)$")
    parsed = [m for m in (pat.match(ln) for ln in str(err).splitlines()[1:]) if m]
    out = []
    for k, (name, version, nodes) in enumerate(err.missing):
        sg, reason = None, ""
        if k < len(parsed) and parsed[k].group(1) == name and int(parsed[k].group(2)) == version:
            sg, reason = int(parsed[k].group(4)), parsed[k].group(5)
        if not reason:
            reason = _missing_reason(name, version, model)
        out.append({"op": name, "version": int(version), "subgraph": sg, "nodes": [int(n) for n in nodes],
                    "reason": reason})
    return out


def _missing_reason(name: str, version: int, model: Any) -> str:
    import numlite

    have = {r["op"]: r["versions"] for r in numlite.supported_ops() if not r["custom"]}
    from numlite.graph import BUILTIN_CODES

    if name not in BUILTIN_CODES:
        return "custom op not registered (numlite.register_op adds one)"
    if name in have:
        return f"supported versions: {have[name]}"
    return "op not implemented"


def _metadata(path: str, model: Any) -> dict[str, Any]:
    """The model's metadata entries (name -> bytes), ``min_runtime_version``, and the parsed
    TFLite metadata from ``numlite.metadata.read`` when that module exists."""
    entries = {name: int(np.asarray(v).size) for name, v in model.metadata.items()}
    out: dict[str, Any] = {"entries": entries}
    mrv = model.metadata.get("min_runtime_version")
    if mrv is not None:
        out["min_runtime_version"] = bytes(np.asarray(mrv, np.uint8)).split(b"\0")[0].decode("utf-8", "replace")
    out["tflite_metadata"] = None
    try:
        reader = importlib.import_module("numlite.metadata")
    except ModuleNotFoundError as e:
        if e.name not in ("numlite.metadata", "numlite"):
            raise
        if "TFLITE_METADATA" in entries:
            out["note"] = "numlite.metadata is not available: the TFLite metadata is not parsed"
        return out
    try:
        md = reader.read(model)
    except Exception as e:  # noqa: BLE001 - a bad metadata blob must not stop the report
        out["error"] = f"{type(e).__name__}: {_one_line(str(e))}"
        return out
    out["tflite_metadata"] = _as_dict(md) if md is not None else None
    # each output's labels, read from the label file in the model's archive
    for si, sg in enumerate(getattr(md, "subgraphs", None) or []):
        for oi in range(len(sg.outputs)):
            try:
                labels = md.labels_for_output(oi, si)
            except Exception as e:  # noqa: BLE001
                labels = None
                out["tflite_metadata"]["subgraphs"][si]["outputs"][oi]["labels_error"] = _one_line(str(e))
            out["tflite_metadata"]["subgraphs"][si]["outputs"][oi]["labels"] = labels
    return out


def _as_dict(obj: Any) -> Any:
    """A metadata object (dataclasses, objects with ``__dict__``, lists, dicts) as plain data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _as_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if not f.name.startswith("_")}
    if isinstance(obj, dict):
        return {str(k): _as_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_as_dict(v) for v in obj]
    if isinstance(obj, (str, bytes, int, float, bool, np.ndarray, np.generic)) or obj is None:
        return obj
    for m in ("to_dict", "as_dict"):
        if callable(getattr(obj, m, None)):
            return _as_dict(getattr(obj, m)())
    if hasattr(obj, "__dict__"):
        return {k: _as_dict(v) for k, v in vars(obj).items() if not k.startswith("_")}
    return str(obj)


def _plan(it: Any) -> dict[str, Any]:
    try:
        it.allocate_tensors()
        rep = dict(it.memory_report())
    except Exception as e:  # noqa: BLE001 - any prepare failure is reported, not raised
        return {"planned": False, "reason": f"{_one_line(str(e))}"}
    out: dict[str, Any] = {"planned": True, "reason": None, **rep, "steps": None, "buffers": None,
                           "drawing": None, "legend": None}
    if not hasattr(it, "memory_plan"):
        out["reason"] = "no drawing: this numlite has no Interpreter.memory_plan()"
        return out
    try:
        mp = it.memory_plan()
    except Exception as e:  # noqa: BLE001 - the numbers above stand without the drawing
        out["reason"] = f"no drawing: {_one_line(str(e))}"
        return out
    bufs = mp["buffers"]
    out["steps"], out["buffers"] = list(mp["steps"]), bufs
    names = [(f"T#{b['tensor']}({b['name']})" if b["kind"] == "tensor" else f"{b['name']} (node {b['node']})")
             for b in bufs]
    d = draw_plan([b["bytes"] for b in bufs], [b["first_step"] for b in bufs], [b["last_step"] for b in bufs],
                  [b["offset"] for b in bufs], arena_bytes=rep["arena_bytes"], steps=len(mp["steps"]), names=names)
    out["drawing"], out["legend"] = d["lines"], d["legend"]
    return out


def inspect_model(path: str, tensors: bool = False, plan: bool = True, delegate: str | None = None,
                  delegate_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``numlite inspect`` reports on ``path`` (see the module docstring); with
    ``delegate``, also how that delegate partitions subgraph 0 (``delegation``)."""
    import numlite

    model = load_model(path)
    size = os.path.getsize(path)
    an = _Analyzer(model, size)
    unsupported: list[dict[str, Any]] = []
    it, interpreter_error = None, None
    delegates = []
    if delegate:
        try:
            delegates = [numlite.load_delegate(delegate, delegate_options or None)]
        except ImportError as e:
            raise CLIError(str(e), MISSING_EXTRA) from None
        except ValueError as e:
            raise CLIError(str(e), USAGE) from None
    try:
        it = numlite.Interpreter(model_path=path, custom_ops=optional_custom_ops(), experimental_delegates=delegates)
    except numlite.UnsupportedOpError as e:
        unsupported = _unsupported(model, e)
    except Exception as e:  # noqa: BLE001 - the analyzer part needs no interpreter: report, go on
        interpreter_error = f"{type(e).__name__}: {_one_line(str(e))}"
    missing_nodes = {(u["subgraph"], u["op"], u["version"], n) for u in unsupported for n in u["nodes"]}

    def is_missing(sg: int, op: Any) -> bool:
        return ((sg, op.op_name, op.version, op.index) in missing_nodes
                or (None, op.op_name, op.version, op.index) in missing_nodes)

    subgraphs = []
    for sg in model.subgraphs:
        i = sg.index
        keep = sorted({*sg.inputs, *sg.outputs, *(t.index for t in sg.tensors if t.is_variable)})
        shown = range(len(sg.tensors)) if tensors else keep
        subgraphs.append({
            "index": i, "name": sg.name, "inputs": list(sg.inputs), "outputs": list(sg.outputs),
            "analyzer": an.subgraph_line(i),
            "ops": [{"index": op.index, "op": op.op_name, "version": op.version, "inputs": list(op.inputs),
                     "outputs": list(op.outputs), "supported": not is_missing(i, op),
                     "analyzer": an.op_line(i, op.index)}
                    for op in sg.operators],
            "tensor_count": len(sg.tensors),
            "tensors": [{"index": t.index, "name": t.name, "type": t.type_name, "shape": list(t.shape),
                         "shape_signature": list(t.shape_signature), "buffer": t.buffer,
                         "ro_bytes": an.ro_bytes(an.sgs[i]["tensors"][t.index]), "variable": t.is_variable,
                         "sparse": t.sparsity is not None, "quantization": _quantization(t.quantization),
                         "analyzer": an.tensor_line(i, t.index)}
                        for t in (sg.tensors[j] for j in shown)],
        })
    counts = Counter((op.op_name, op.version) for sg in model.subgraphs for op in sg.operators)
    missing_types = {(u["op"], u["version"]) for u in unsupported}
    ops_by_type = [{"op": name, "version": v, "count": c, "supported": (name, v) not in missing_types}
                   for (name, v), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if not plan:
        plan_info = None
    elif it is None:
        plan_info = {"planned": False, "reason": interpreter_error or
                     f"numlite cannot run {len(unsupported)} op type(s) of this model"}
    else:
        plan_info = _plan(it)
    return {
        "model": path, "model_size": size, "schema_version": model.version, "description": model.description,
        "summary": an.summary(), "subgraphs": subgraphs,
        "signature_defs": [{"key": s.key, "subgraph": s.subgraph_index, "inputs": dict(s.inputs),
                            "outputs": dict(s.outputs)} for s in model.signature_defs],
        "signature_lines": an.signature_lines(), "sizes": an.sizes(), "stats_lines": an.stats_lines(),
        "ops_by_type": ops_by_type, "unsupported": unsupported, "interpreter_error": interpreter_error,
        "metadata": _metadata(path, model),
        "plan": plan_info,
        "delegation": _delegation(it, delegate) if delegate and it is not None else None,
    }


def _delegation(it: Any, name: str) -> dict[str, Any]:
    """Subgraph 0's plan with the delegate: its partitions and the nodes numlite still runs."""
    plan = it._runtime.operators[0]
    parts = [{"node": op.index, "nodes": [n.index for n in op.nodes],
              "ops": dict(Counter(n.op_name for n in op.nodes)), "inputs": list(op.inputs),
              "outputs": list(op.outputs)} for op in plan if op.op_name == "DELEGATE"]
    return {"delegate": name, "partitions": parts,
            "numlite_nodes": [{"node": op.index, "op": op.op_name} for op in plan if op.op_name != "DELEGATE"]}


def _delegation_lines(d: dict[str, Any]) -> list[str]:
    parts, rest = d["partitions"], d["numlite_nodes"]
    taken = sum(len(p["nodes"]) for p in parts)
    out = [SPLITTER, f"Delegation by {d['delegate']!r}: {len(parts)} partition(s) of subgraph 0 take {taken} "
                     f"node(s); numlite runs {len(rest)}"]
    for p in parts:
        ops = ", ".join(f"{op} x{c}" for op, c in sorted(p["ops"].items(), key=lambda kv: (-kv[1], kv[0])))
        out.append(f"  DELEGATE node #{p['node']}: {len(p['nodes'])} node(s) {_ranges(p['nodes'])} ({ops}); "
                   f"reads {_short(p['inputs'], 6)}, writes {_short(p['outputs'], 6)}")
    if rest:
        out.append("  numlite: " + ", ".join(f"{r['op']} #{r['node']}" for r in rest[:12])
                   + (f", ... ({len(rest) - 12} more)" if len(rest) > 12 else ""))
    return out


def _ranges(nodes: list[int]) -> str:
    """``[0-26, 28]``: runs of consecutive node indices."""
    runs: list[list[int]] = []
    for n in sorted(nodes):
        if runs and runs[-1][1] + 1 == n:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return "[" + ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs) + "]"


# -- the arena drawing ---------------------------------------------------------------------------
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def draw_plan(sizes: list[int], first_use: list[int], last_use: list[int], offsets: list[int], *,
              arena_bytes: int | None = None, steps: int | None = None, width: int = 60, height: int = 20,
              names: list[str] | None = None, legend: int = 12) -> dict[str, Any]:
    """An ASCII picture of an arena plan.

    1. x: execution steps.  With ``steps <= width`` each step gets ``width // steps`` columns;
       otherwise each of ``width`` columns covers ``steps / width`` consecutive steps.
    2. y: arena offsets, 0 at the bottom; each of ``height`` rows covers ``arena / height``
       bytes (fewer rows for an arena of fewer bytes).
    3. A cell shows the biggest buffer that is alive during one of its steps and overlaps its
       byte range: the ``legend`` biggest buffers get the letters A, B, ... (A the biggest),
       the others '+'; '.' is unused arena.
    Returns ``{"grid": rows top first, "lines": the drawing with axes and legend,
    "legend": [{"letter", "index", "name", "bytes", "offset", "first_step", "last_step"}]}``.
    """
    n = len(sizes)
    live = [k for k in range(n) if sizes[k] > 0]
    arena = int(arena_bytes if arena_bytes is not None else max((offsets[k] + sizes[k] for k in live), default=0))
    nsteps = int(steps or 0)
    nsteps = max(nsteps, max((last_use[k] + 1 for k in live), default=0), 1)
    if not live or arena <= 0:
        return {"grid": [], "lines": ["(the arena is empty)"], "legend": []}
    per = max(1, width // nsteps) if nsteps <= width else 0
    cols = nsteps * per if per else width
    rows = max(1, min(height, arena))

    def col_steps(c: int) -> tuple[int, int]:
        if per:
            return c // per, c // per
        return c * nsteps // cols, max(c * nsteps // cols, (c + 1) * nsteps // cols - 1)

    order = sorted(live, key=lambda k: (-sizes[k], k))
    letter = {k: (LETTERS[r] if r < min(legend, len(LETTERS)) else "+") for r, k in enumerate(order)}
    grid = [["."] * cols for _ in range(rows)]  # grid[0] is the bottom row
    for k in reversed(order):  # smallest first: a cell keeps the biggest buffer that touches it
        lo_b, hi_b = offsets[k], offsets[k] + sizes[k]
        r0 = lo_b * rows // arena
        r1 = min(rows - 1, (hi_b * rows - 1) // arena)
        for c in range(cols):
            s0, s1 = col_steps(c)
            if first_use[k] <= s1 and s0 <= last_use[k]:
                for r in range(r0, r1 + 1):
                    grid[r][c] = letter[k]
    top_first = ["".join(row) for row in reversed(grid)]
    label_w = len(f"{arena:,}")
    lines = [f"arena offset (bytes; a row is {arena / rows:,.0f} bytes) over execution steps "
             f"(a column is {'1 step' if per else f'{nsteps / cols:.2g} steps'})"]
    for r, row in enumerate(top_first):
        k = rows - 1 - r  # grid row index
        label = f"{k * arena // rows:,}" if (r == 0 or k == 0 or k % 5 == 0) else ""
        lines.append(f"{label:>{label_w}} |{row}")
    lines.append(" " * label_w + " +" + "-" * cols)
    last = str(nsteps - 1)
    lines.append(" " * label_w + "  0" + last.rjust(cols - 1) + "  step")
    entries = []
    for r, k in enumerate(order[:min(legend, len(LETTERS))]):
        nm = names[k] if names else f"#{k}"
        entries.append({"letter": LETTERS[r], "index": k, "name": nm, "bytes": int(sizes[k]),
                        "offset": int(offsets[k]), "first_step": int(first_use[k]), "last_step": int(last_use[k])})
        short = nm if len(nm) <= 60 else nm[:28] + "..." + nm[-29:]
        span = f"step {first_use[k]}" if first_use[k] == last_use[k] else f"steps {first_use[k]}-{last_use[k]}"
        hidden = "" if any(LETTERS[r] in row for row in top_first) else " (too small to show)"
        lines.append(f"  {LETTERS[r]}  {sizes[k]:>{label_w},} bytes at {offsets[k]:>{label_w},}, {span}: "
                     f"{short}{hidden}")
    rest = len(order) - len(entries)
    if rest > 0:
        lines.append(f"  +  {rest} smaller buffer(s)")
    return {"grid": top_first, "lines": lines, "legend": entries}


# -- text ----------------------------------------------------------------------------------------
def format_text(info: dict[str, Any]) -> str:
    """The text ``numlite inspect`` prints for ``inspect_model``'s dict."""
    out = [info["summary"]]
    for sg in info["subgraphs"]:
        lines = [sg["analyzer"]]
        for op in sg["ops"]:
            note = f"  v{op['version']}" + ("" if op["supported"] else "  NOT SUPPORTED by numlite")
            lines.append("  " + op["analyzer"] + note)
        lines += ["", f"Tensors of Subgraph#{sg['index']}"]
        for t in sg["tensors"]:
            notes = [n for n in (_quant_str(t["quantization"]), "variable" if t["variable"] else "",
                                 "sparse" if t["sparse"] else "") if n]
            lines.append("  " + t["analyzer"] + ("  " + "; ".join(notes) if notes else ""))
        if len(sg["tensors"]) < sg["tensor_count"]:
            n = sg["tensor_count"]
            lines.append(f"  ... {n - len(sg['tensors'])} more tensor(s): --tensors lists all {n}")
        out.append("\n".join(lines) + "\n\n")
    if info["signature_lines"]:
        out.append("\n".join(info["signature_lines"]) + "\n")
    out.append("\n".join(info["stats_lines"]) + "\n")
    text = _printable("".join(out))

    extra = [SPLITTER, f"numlite: {sum(o['count'] for o in info['ops_by_type'])} op(s) in "
             f"{len(info['subgraphs'])} subgraph(s), by type and version"]
    for o in info["ops_by_type"]:
        extra.append(f"  {o['count']:5d}  {o['op']} v{o['version']}" + ("" if o["supported"] else "  NOT SUPPORTED"))
    if info["unsupported"]:
        extra += ["", f"numlite cannot run {len(info['unsupported'])} op type(s):"]
        for u in info["unsupported"]:
            where = f"Subgraph#{u['subgraph']}" if u["subgraph"] is not None else "the model"
            extra.append(f"  {u['op']} v{u['version']} at node(s) {u['nodes']} of {where}: {u['reason']}")
    elif info["interpreter_error"]:
        extra += ["", f"numlite cannot build an interpreter for this model: {info['interpreter_error']}"]
    else:
        extra += ["", "numlite has a kernel for every op."]
    extra += _metadata_lines(info["metadata"])
    if info.get("delegation"):
        extra += _delegation_lines(info["delegation"])
    if info["plan"] is not None:
        extra += _plan_lines(info["plan"])
    return text + _printable("\n".join(extra)) + "\n"


def _metadata_lines(md: dict[str, Any]) -> list[str]:
    if not md["entries"]:
        return []
    out = [SPLITTER, "Metadata: " + ", ".join(f"{k} ({v} bytes)" for k, v in md["entries"].items())]
    if "min_runtime_version" in md:
        out.append(f"  min_runtime_version: {md['min_runtime_version']}")
    for key in ("note", "error"):
        if md.get(key):
            out.append(f"  {md[key]}")
    tm = md.get("tflite_metadata")
    if tm:
        out += _tflite_metadata_lines(tm)
    return out


def _short(v: Any, n: int = 8) -> str:
    if isinstance(v, (list, tuple, np.ndarray)):
        v = list(v)
        body = ", ".join(_short(x) for x in v[:n])
        return f"[{body}{', ...' if len(v) > n else ''}]"
    if isinstance(v, float):
        return f"{v:.6g}"
    s = str(v)
    return s if len(s) <= 100 else s[:97] + "..."


def _tflite_metadata_lines(tm: Any) -> list[str]:
    """The parsed TFLite metadata (``numlite.metadata.ModelMetadata`` as a dict): name,
    description, version, author, license, then per input and output its content, normalization
    mean/std, min/max and labels (count and the first few), then the associated files."""
    if not isinstance(tm, dict) or "subgraphs" not in tm:
        return _generic_metadata_lines(tm)
    head = "TFLite metadata:" + (f" '{tm['name']}'" if tm.get("name") else "")
    head += "".join(f", {k} {tm[k]}" for k in ("version", "author", "license") if tm.get(k))
    out = [head]
    if tm.get("description"):
        out.append(f"  description: {_short(tm['description'], 200)}")
    many = len(tm["subgraphs"]) > 1
    for si, sg in enumerate(tm["subgraphs"]):
        for kind in ("input", "output"):
            for k, t in enumerate(sg.get(kind + "s") or []):
                parts = []
                if t.get("content"):
                    parts.append(t["content"] + (f" {t['color_space']}" if t.get("color_space") else ""))
                if t.get("mean") is not None or t.get("std") is not None:
                    parts.append(f"normalization mean {_short(t.get('mean'))} std {_short(t.get('std'))}")
                if t.get("min") is not None or t.get("max") is not None:
                    parts.append(f"min {_short(t.get('min'))} max {_short(t.get('max'))}")
                if t.get("score_threshold") is not None:
                    parts.append(f"score threshold {_short(t['score_threshold'])}")
                if t.get("labels"):
                    parts.append(f"labels: {len(t['labels'])} ({_short(t['labels'], 5)[1:-1]})")
                elif t.get("labels_error"):
                    parts.append(f"labels unreadable: {t['labels_error']}")
                files = [f["name"] for f in t.get("associated_files") or []]
                if files and not t.get("labels"):
                    parts.append("files " + ", ".join(files))
                if t.get("description"):
                    parts.append(_short(t["description"]))
                where = f" of Subgraph#{si}" if many else ""
                name = f" '{t['name']}'" if t.get("name") else ""
                out.append(f"  {kind} {k}{where}{name}" + (": " + "; ".join(parts) if parts else ""))
    if tm.get("files"):
        out.append("  associated files: " + ", ".join(tm["files"]))
    return out


def _generic_metadata_lines(tm: Any) -> list[str]:
    if not isinstance(tm, dict):
        return [f"  {_short(tm)}"]
    out = []
    nested = {}
    for k, v in tm.items():
        if v is None or v == [] or v == {} or v == "":
            continue
        if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
            nested[k] = v
        elif k == "labels" or k.endswith("labels"):
            out.append(f"  {k}: {len(v)} ({_short(v, 5)[1:-1]})" if isinstance(v, (list, tuple)) else f"  {k}: {v}")
        else:
            out.append(f"  {k}: {_short(v)}")
    for k, v in nested.items():
        items = v if isinstance(v, list) else [v]
        for n, item in enumerate(items):
            fields = []
            label = item.get("name") if isinstance(item, dict) else None
            for fk, fv in (item.items() if isinstance(item, dict) else []):
                if fk == "name" or fv is None or fv == [] or fv == {} or fv == "":
                    continue
                if isinstance(fv, (list, tuple)) and fv and isinstance(fv[0], str) and fk.endswith("labels"):
                    fields.append(f"{fk}: {len(fv)} ({_short(fv, 5)[1:-1]})")
                elif isinstance(fv, dict):
                    fields.append(f"{fk}: " + ", ".join(f"{a}={_short(b)}" for a, b in fv.items() if b is not None))
                else:
                    fields.append(f"{fk}={_short(fv)}")
            head = k[:-1] if k.endswith("s") and isinstance(v, list) else k
            named = f" '{label}'" if label else ""
            out.append(f"  {head} {n}{named}" + (": " + "; ".join(fields) if fields else ""))
    return out


def _plan_lines(p: dict[str, Any]) -> list[str]:
    if not p["planned"]:
        return [SPLITTER, f"Memory plan of Subgraph#0: not planned: {p['reason']}"]
    a, nr, lb = p["arena_bytes"], p["no_reuse_bytes"], p["lower_bound_bytes"]
    w = len(f"{max(a, nr, lb):,}")
    head = "Memory plan of Subgraph#0"
    if p.get("buffers") is not None:
        head += f" ({len(p['steps'])} step(s), {len(p['buffers'])} buffer(s) in the arena)"
    out = [SPLITTER, head,
           f"  arena:       {a:>{w},} bytes",
           f"  no reuse:    {nr:>{w},} bytes" + (f" (the arena is {a / nr:.1%} of it)" if nr else ""),
           f"  lower bound: {lb:>{w},} bytes" + (f" (the arena is {a / lb:.2f}x it)" if lb else "")]
    if p.get("drawing"):
        out += [""] + ["  " + ln for ln in p["drawing"]]
    elif p.get("reason"):
        out.append(f"  ({p['reason']})")
    return out


__all__ = ["add_parser", "analyzer_text", "command", "draw_plan", "format_text", "inspect_model"]
